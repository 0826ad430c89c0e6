#include "fedrad/coordinator/linear_svm.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace fedrad::coordinator {

using common::InvalidArgument;
using common::Result;
using common::Status;

namespace {

struct Evaluation {
  double objective = 0.0;  // f
  Eigen::VectorXd grad;    // ∇f, k + 1
  Eigen::MatrixXd hess;    // R + C H
};

}  // namespace

Status CheckLinearSvmParameters(const LinearSvmOptions& o, int num_features) {
  if (!(std::isfinite(o.c) && o.c > 0.0)) {
    return InvalidArgument("linear svm: C must be finite and > 0, got " + std::to_string(o.c));
  }
  if (o.regularize_bias && !(std::isfinite(o.bias_value) && o.bias_value > 0.0)) {
    return InvalidArgument("linear svm: bias_value must be finite and > 0, got " +
                           std::to_string(o.bias_value));
  }
  for (int j : o.columns) {
    if (j < 0 || j >= num_features) {
      return InvalidArgument("linear svm: column " + std::to_string(j) + " out of range [0, " +
                             std::to_string(num_features) + ")");
    }
  }
  const auto k = static_cast<Eigen::Index>(o.columns.empty() ? num_features : o.columns.size());
  if ((o.center.size() != 0 && o.center.size() != k) || o.scale.size() != o.center.size()) {
    return InvalidArgument("linear svm: center and scale must both be empty or have " +
                           std::to_string(k) + " entries");
  }
  if (!(o.tolerance > 0.0)) {
    return InvalidArgument("linear svm: tolerance must be > 0, got " + std::to_string(o.tolerance));
  }
  if (o.max_iterations < 1 || o.max_line_search_steps < 1) {
    return InvalidArgument("linear svm: max_iterations and max_line_search_steps must be >= 1");
  }
  if (o.loss == SvmLossKind::kHinge &&
      !(o.hinge_relative_accuracy >= 1e-12 && o.hinge_relative_accuracy < 1.0)) {
    return InvalidArgument("linear svm: hinge_relative_accuracy must be in [1e-12, 1), got " +
                           std::to_string(o.hinge_relative_accuracy));
  }
  if (!(o.armijo_sigma > 0.0 && o.armijo_sigma < 0.5)) {
    return InvalidArgument("linear svm: armijo_sigma must be in (0, 0.5), got " +
                           std::to_string(o.armijo_sigma));
  }
  return Status::Ok();
}

namespace {

// Newton direction d = -M⁻¹ g, with a tiny ridge when M is singular (only
// possible when the unregularised bias has no curvature).
Eigen::VectorXd NewtonDirection(Eigen::MatrixXd h, const Eigen::VectorXd& g) {
  Eigen::LDLT<Eigen::MatrixXd> ldlt(h);
  if (ldlt.info() != Eigen::Success || ldlt.vectorD().minCoeff() <= 0.0) {
    h.diagonal().array() += 1e-12 * std::max(1.0, h.diagonal().maxCoeff());
    ldlt.compute(h);
  }
  return -ldlt.solve(g);
}

// The statistics of the hinge-mode solver at one θ: the Huberised objective
// F_δ(θ) with its gradient and generalized Hessian, and bounds on the hinge
// objective f(θ).
struct HuberEvaluation {
  Eigen::VectorXd theta;
  double objective = 0.0;  // F_δ(θ)
  Eigen::VectorXd grad;    // ∇F_δ(θ)
  Eigen::MatrixXd hess;    // R + C H_δ
  double hinge_lower = 0.0;
  double hinge_upper = 0.0;   // f(θ) in [hinge_lower, hinge_upper]
  double num_positive = 0.0;  // n₊ = |{i : m_i > 0}|
};

// Relative size of the fine smoothing δ₀ used to evaluate the hinge loss.
constexpr double kFineDeltaRatio = 1e-8;
constexpr int kMaxHingeStages = 60;
// Smallest δ decrease factor per stage.
constexpr double kMinDeltaFactor = 0.01;
// Line-search step sizes evaluated in one round (fewer when k is large, so
// that a round's reply stays below kMaxRoundDoubles numbers per site).
constexpr int kMaxTrialsPerRound = 8;
constexpr double kMaxRoundDoubles = 1 << 20;

Result<LinearSvmModel> FitHinge(const LinearSvmOptions& o, Aggregator& aggregator,
                                LinearSvmModel model) {
  const std::int64_t rounds_at_start = aggregator.rounds();
  const auto k = static_cast<Eigen::Index>(model.columns.size());
  const double b_value = o.regularize_bias ? o.bias_value : 1.0;
  Eigen::VectorXd reg = Eigen::VectorXd::Ones(k + 1);  // diagonal of R
  reg[k] = o.regularize_bias ? 1.0 : 0.0;
  const double eps = o.hinge_relative_accuracy;
  const double reply_doubles = 3.0 * static_cast<double>(2 + (k + 1) + (k + 1) * (k + 1));
  const int trials_per_round = static_cast<int>(
      std::clamp(std::floor(kMaxRoundDoubles / reply_doubles), 1.0, double{kMaxTrialsPerRound}));

  // One round: the statistics at every point of `thetas`. With `gram`, also
  // Σ_i z_i z_iᵀ (k x k), read from the squared hinge's Hessian 2 Σ_{m>0} u uᵀ
  // at θ = 0, where every margin is 1 (only valid when thetas = {0}).
  auto evaluate = [&](const std::vector<Eigen::VectorXd>& thetas, double delta,
                      Eigen::MatrixXd* gram) -> Result<std::vector<HuberEvaluation>> {
    std::vector<site_agent::stats::StatRequest> requests;
    for (const Eigen::VectorXd& theta : thetas) {
      site_agent::stats::SvmRequest base;
      base.rows = o.rows;
      base.columns = model.columns;
      base.center = o.center;
      base.scale = o.scale;
      base.w = theta.head(k);
      base.bias_weight = theta[k];
      base.bias_value = b_value;
      site_agent::stats::SvmRequest huber = base;  // F_δ and its derivatives
      huber.loss = site_agent::stats::SvmLoss::kHuberHinge;
      huber.huber_delta = delta;
      site_agent::stats::SvmRequest fine = huber;  // Σ h_δ₀(m) ≈ Σ max(0, m)
      fine.huber_delta = kFineDeltaRatio * delta;
      requests.emplace_back(std::move(huber));
      requests.emplace_back(std::move(base));  // squared hinge: n₊ = |{m > 0}|
      requests.emplace_back(std::move(fine));
    }
    FEDRAD_ASSIGN_OR_RETURN(auto sums, aggregator.SumBatch(requests));
    if (sums.size() != requests.size()) {
      return common::Internal("linear svm: expected " + std::to_string(requests.size()) +
                              " arrays, got " + std::to_string(sums.size()));
    }
    using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    std::vector<HuberEvaluation> out;
    for (std::size_t j = 0; j < thetas.size(); ++j) {
      const std::vector<double>& huber = sums[3 * j];
      const std::vector<double>& squared = sums[3 * j + 1];
      const std::vector<double>& fine = sums[3 * j + 2];
      const Eigen::VectorXd& theta = thetas[j];
      const double quad = 0.5 * theta.dot(reg.asDiagonal() * theta);
      HuberEvaluation e;
      e.theta = theta;
      e.objective = quad + o.c * huber[0];
      e.grad = reg.asDiagonal() * theta +
               o.c * Eigen::Map<const Eigen::VectorXd>(huber.data() + 2, k + 1);
      e.hess = o.c * Eigen::Map<const RowMajor>(huber.data() + 3 + k, k + 1, k + 1);
      e.hess.diagonal() += reg;
      // Σ max(0, m) - Σ h_δ₀(m) is in [0, |{m > 0}| δ₀ / 2].
      e.hinge_lower = quad + o.c * fine[0];
      e.num_positive = squared[1];
      e.hinge_upper = e.hinge_lower + o.c * e.num_positive * 0.5 * kFineDeltaRatio * delta;
      if (!std::isfinite(e.objective) || !e.grad.allFinite() || !e.hess.allFinite() ||
          !std::isfinite(e.hinge_upper)) {
        return common::FailedPrecondition("linear svm: non-finite statistics from the sites");
      }
      if (gram != nullptr) {
        *gram =
            0.5 *
            Eigen::Map<const RowMajor>(squared.data() + 3 + k, k + 1, k + 1).topLeftCorner(k, k);
      }
      out.push_back(std::move(e));
    }
    return out;
  };

  double delta = 1.0;
  Eigen::MatrixXd gram;
  FEDRAD_ASSIGN_OR_RETURN(auto first, evaluate({Eigen::VectorXd::Zero(k + 1)}, delta, &gram));
  HuberEvaluation cur = std::move(first[0]);
  // At θ = 0 every margin is 1 = δ, so h'_δ = 1 and ∇F_δ[k] = -B Σ t_i.
  const double num_rows = cur.num_positive;  // every margin is 1 > 0
  const double sum_t = -cur.grad[k] / (o.c * b_value);
  // A bound on max_i ‖z_i‖²: the largest eigenvalue of Σ_i z_i z_iᵀ.
  double max_row_norm2 = 0.0;
  if (k > 0) {
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(gram, Eigen::EigenvaluesOnly);
    max_row_norm2 = std::max(0.0, eig.eigenvalues().maxCoeff()) * (1.0 + 1e-9) + 1e-300;
  }
  if (!o.regularize_bias && !(std::abs(sum_t) < num_rows - 0.5)) {
    return common::FailedPrecondition(
        "linear svm (hinge): a free (unregularised) bias needs rows of both classes (" +
        std::to_string(static_cast<long long>(std::llround(num_rows))) +
        " rows, Σt = " + std::to_string(static_cast<long long>(std::llround(sum_t))) + ")");
  }

  double lower = 0.0;                                      // certified lower bound on f*
  double upper = std::numeric_limits<double>::infinity();  // best f(θ) bound seen
  Eigen::VectorXd best = cur.theta;
  double best_gradient_norm = cur.grad.norm();
  // F_δ(θ) - LB(θ), the optimisation part of the lower bound at θ (see header).
  auto bound_gap = [&](const HuberEvaluation& e) {
    if (o.regularize_bias) return 0.5 * e.grad.squaredNorm();
    // Some hinge minimiser has |b*| <= 1 + ‖w*‖ max_i ‖z_i‖, ‖w*‖² <= 2 f* <= 2 U.
    const double bias_bound = 1.0 + std::sqrt(2.0 * upper * max_row_norm2);
    return 0.5 * e.grad.head(k).squaredNorm() +
           std::abs(e.grad[k]) * (bias_bound + std::abs(e.theta[k]));
  };
  auto update_bounds = [&](const std::vector<HuberEvaluation>& evals) {
    for (const HuberEvaluation& e : evals) {
      if (e.hinge_upper < upper) {
        upper = e.hinge_upper;
        best = e.theta;
        best_gradient_norm = e.grad.norm();
      }
    }
    for (const HuberEvaluation& e : evals) lower = std::max(lower, e.objective - bound_gap(e));
  };
  update_bounds({cur});

  int iterations = 0;
  int stage_iterations = 0;
  int stages = 1;
  // The end of the previous stage (θ, δ), for the extrapolated warm start.
  Eigen::VectorXd previous_theta;
  double previous_delta = 0.0;
  for (;;) {
    if (upper - lower <= eps * lower) break;  // certified: f(best) - f* <= eps f*
    const double opt_error = bound_gap(cur);
    const double smoothing = std::max(0.0, cur.hinge_upper - cur.objective);
    bool next_stage = opt_error <= std::max(0.1 * smoothing, 0.25 * eps * lower);
    if (!next_stage) {
      Eigen::MatrixXd m = cur.hess;
      if (!o.regularize_bias) {
        // A free bias has no curvature when no margin is in the quadratic
        // piece: damp it so that the step stays bounded.
        m(k, k) = std::max(m(k, k), 1e-3 * m.diagonal().maxCoeff());
      }
      const Eigen::VectorXd d = NewtonDirection(m, cur.grad);
      const double slope = cur.grad.dot(d);
      bool accepted = false;
      if (slope < 0.0 && d.norm() > 1e-15 * (1.0 + cur.theta.norm())) {
        if (++stage_iterations > o.max_iterations) {
          return common::FailedPrecondition(
              "linear svm (hinge): no convergence after " + std::to_string(o.max_iterations) +
              " Newton iterations at smoothing delta " + std::to_string(delta));
        }
        ++iterations;
        // Armijo line search with several step sizes t = 1, ½, ... per round;
        // of the accepted ones, the lowest F_δ wins.
        const double slack = 4.0 * std::numeric_limits<double>::epsilon() * std::abs(cur.objective);
        double t = 1.0;
        for (int tried = 0; tried < o.max_line_search_steps && !accepted;) {
          const int count = std::min(trials_per_round, o.max_line_search_steps - tried);
          std::vector<Eigen::VectorXd> points;
          std::vector<double> steps;
          for (int j = 0; j < count; ++j, t *= 0.5) {
            points.push_back(cur.theta + t * d);
            steps.push_back(t);
          }
          tried += count;
          FEDRAD_ASSIGN_OR_RETURN(auto evals, evaluate(points, delta, nullptr));
          update_bounds(evals);
          int chosen = -1;
          for (int j = 0; j < count; ++j) {
            const double f = evals[static_cast<std::size_t>(j)].objective;
            if (f <= cur.objective + o.armijo_sigma * steps[static_cast<std::size_t>(j)] * slope +
                         slack &&
                (chosen < 0 || f < evals[static_cast<std::size_t>(chosen)].objective)) {
              chosen = j;
            }
          }
          if (chosen >= 0) {
            cur = std::move(evals[static_cast<std::size_t>(chosen)]);
            accepted = true;
          }
        }
      }
      // No progress possible at this δ (round-off floor): go to a smaller δ
      // if the smoothing still dominates, else give up.
      if (!accepted) {
        if (smoothing <= 0.5 * eps * lower) {
          return common::FailedPrecondition("linear svm (hinge): cannot reach relative accuracy " +
                                            std::to_string(eps) + " (bound gap " +
                                            std::to_string(upper - lower) + ", lower bound " +
                                            std::to_string(lower) + ")");
        }
        next_stage = true;
      }
    }
    if (next_stage) {
      if (++stages > kMaxHingeStages) {
        return common::FailedPrecondition(
            "linear svm (hinge): no certified accuracy after " + std::to_string(kMaxHingeStages) +
            " smoothing stages (bound gap " + std::to_string(upper - lower) + ", lower bound " +
            std::to_string(lower) + ")");
      }
      // The smoothing error is about proportional to δ: aim at ½ eps f*.
      const double factor = smoothing > 0.0 && lower > 0.0 ? 0.5 * eps * lower / smoothing : 0.1;
      const double new_delta = delta * std::clamp(factor, kMinDeltaFactor, 0.3);
      // Warm starts: the current point, and (from the third stage on) the
      // linear extrapolation in δ of the last two stages' end points (the
      // Huberised minimiser is piecewise smooth in δ); the lower F wins.
      std::vector<Eigen::VectorXd> starts = {cur.theta};
      if (previous_theta.size() == k + 1 && trials_per_round >= 2) {
        starts.push_back(cur.theta + (new_delta - delta) / (delta - previous_delta) *
                                         (cur.theta - previous_theta));
      }
      previous_theta = cur.theta;
      previous_delta = delta;
      delta = new_delta;
      stage_iterations = 0;
      FEDRAD_ASSIGN_OR_RETURN(auto evals, evaluate(starts, delta, nullptr));
      update_bounds(evals);
      std::size_t chosen = 0;
      for (std::size_t j = 1; j < evals.size(); ++j) {
        if (evals[j].objective < evals[chosen].objective) chosen = j;
      }
      cur = std::move(evals[chosen]);
    }
  }
  model.w = best.head(k);
  model.bias_weight = best[k];
  model.intercept = b_value * best[k];
  model.objective = upper;
  model.objective_lower_bound = lower;
  model.huber_delta = delta;
  model.gradient_norm = best_gradient_norm;
  model.iterations = iterations;
  model.rounds = aggregator.rounds() - rounds_at_start;
  return model;
}

}  // namespace

Result<LinearSvmModel> LinearSvm::Fit(Aggregator& aggregator) const {
  const int p = aggregator.num_features();
  FEDRAD_RETURN_IF_ERROR(CheckLinearSvmParameters(options_, p));
  const std::int64_t rounds_at_start = aggregator.rounds();
  LinearSvmModel model;
  model.columns = options_.columns;
  if (model.columns.empty()) {
    for (int j = 0; j < p; ++j) model.columns.push_back(j);
  }
  if (options_.loss == SvmLossKind::kHinge) return FitHinge(options_, aggregator, model);
  const auto k = static_cast<Eigen::Index>(model.columns.size());
  const double b_value = options_.regularize_bias ? options_.bias_value : 1.0;
  Eigen::VectorXd reg = Eigen::VectorXd::Ones(k + 1);  // diagonal of R
  reg[k] = options_.regularize_bias ? 1.0 : 0.0;

  auto evaluate = [&](const Eigen::VectorXd& theta) -> Result<Evaluation> {
    site_agent::stats::SvmRequest request;
    request.rows = options_.rows;
    request.columns = model.columns;
    request.center = options_.center;
    request.scale = options_.scale;
    request.w = theta.head(k);
    request.bias_weight = theta[k];
    request.bias_value = b_value;
    FEDRAD_ASSIGN_OR_RETURN(auto sums, aggregator.Sum(request));
    Evaluation e;
    e.objective = 0.5 * theta.dot(reg.asDiagonal() * theta) + options_.c * sums[0];
    e.grad = reg.asDiagonal() * theta +
             options_.c * Eigen::Map<const Eigen::VectorXd>(sums.data() + 2, k + 1);
    e.hess =
        options_.c *
        Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
            sums.data() + 3 + k, k + 1, k + 1);
    e.hess.diagonal() += reg;
    if (!std::isfinite(e.objective) || !e.grad.allFinite() || !e.hess.allFinite()) {
      return common::FailedPrecondition("linear svm: non-finite statistics from the sites");
    }
    return e;
  };

  Eigen::VectorXd theta = Eigen::VectorXd::Zero(k + 1);
  FEDRAD_ASSIGN_OR_RETURN(Evaluation cur, evaluate(theta));
  const double grad0 = cur.grad.norm();
  int iteration = 0;
  while (cur.grad.norm() > options_.tolerance * grad0) {
    if (++iteration > options_.max_iterations) {
      return common::FailedPrecondition(
          "linear svm: no convergence after " + std::to_string(options_.max_iterations) +
          " Newton iterations (gradient norm " + std::to_string(cur.grad.norm()) + ")");
    }
    Eigen::MatrixXd h = cur.hess;
    Eigen::LDLT<Eigen::MatrixXd> ldlt(h);
    if (ldlt.info() != Eigen::Success || ldlt.vectorD().minCoeff() <= 0.0) {
      // Singular only when the unregularised bias has no active row: a tiny
      // ridge makes the step well defined.
      h.diagonal().array() += 1e-12 * std::max(1.0, h.diagonal().maxCoeff());
      ldlt.compute(h);
    }
    const Eigen::VectorXd d = -ldlt.solve(cur.grad);
    const double slope = cur.grad.dot(d);
    if (!(slope < 0.0) || d.norm() <= 1e-15 * (1.0 + theta.norm())) break;  // round-off floor
    double t = 1.0;
    bool accepted = false;
    for (int step = 0; step < options_.max_line_search_steps; ++step, t *= 0.5) {
      const Eigen::VectorXd trial = theta + t * d;
      FEDRAD_ASSIGN_OR_RETURN(Evaluation next, evaluate(trial));
      const double slack = 4.0 * std::numeric_limits<double>::epsilon() * std::abs(cur.objective);
      if (next.objective <= cur.objective + options_.armijo_sigma * t * slope + slack) {
        theta = trial;
        cur = std::move(next);
        accepted = true;
        break;
      }
    }
    if (!accepted) {
      return common::FailedPrecondition("linear svm: line search failed (gradient norm " +
                                        std::to_string(cur.grad.norm()) + ")");
    }
  }
  model.w = theta.head(k);
  model.bias_weight = theta[k];
  model.intercept = b_value * theta[k];
  model.objective = cur.objective;
  model.gradient_norm = cur.grad.norm();
  model.iterations = iteration;
  model.rounds = aggregator.rounds() - rounds_at_start;
  return model;
}

}  // namespace fedrad::coordinator

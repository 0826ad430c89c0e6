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
  if (o.loss == SvmLossKind::kHinge && !o.regularize_bias) {
    // With a free bias F_δ is not strongly convex and the stopping rule is
    // not a certificate (a test found a point 0.2% above the optimum).
    return InvalidArgument(
        "linear svm: the hinge loss needs regularize_bias = true (the free-bias hinge solver "
        "has no certified stopping rule yet)");
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

// The statistics of one hinge-mode round at θ: the Huberised objective
// F_δ(θ) with its gradient and generalized Hessian, and bounds on the hinge
// objective f(θ).
struct HuberEvaluation {
  double objective = 0.0;  // F_δ(θ)
  Eigen::VectorXd grad;    // ∇F_δ(θ)
  Eigen::MatrixXd hess;    // R + C H_δ
  double hinge_lower = 0.0;
  double hinge_upper = 0.0;  // f(θ) in [hinge_lower, hinge_upper]
};

// Relative size of the fine smoothing δ₀ used to evaluate the hinge loss.
constexpr double kFineDeltaRatio = 1e-8;
constexpr int kMaxHingeStages = 60;

Result<LinearSvmModel> FitHinge(const LinearSvmOptions& o, Aggregator& aggregator,
                                LinearSvmModel model) {
  const std::int64_t rounds_at_start = aggregator.rounds();
  const auto k = static_cast<Eigen::Index>(model.columns.size());
  const double b_value = o.regularize_bias ? o.bias_value : 1.0;
  Eigen::VectorXd reg = Eigen::VectorXd::Ones(k + 1);  // diagonal of R
  reg[k] = o.regularize_bias ? 1.0 : 0.0;
  const double eps = o.hinge_relative_accuracy;

  auto evaluate = [&](const Eigen::VectorXd& theta, double delta) -> Result<HuberEvaluation> {
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
    site_agent::stats::SvmRequest squared = base;  // |{m > 0}|
    site_agent::stats::SvmRequest fine = huber;    // Σ h_δ₀(m) ≈ Σ max(0, m)
    fine.huber_delta = kFineDeltaRatio * delta;
    FEDRAD_ASSIGN_OR_RETURN(auto sums, aggregator.SumBatch({huber, squared, fine}));
    if (sums.size() != 3) return common::Internal("linear svm: expected 3 arrays");
    const double quad = 0.5 * theta.dot(reg.asDiagonal() * theta);
    HuberEvaluation e;
    e.objective = quad + o.c * sums[0][0];
    e.grad = reg.asDiagonal() * theta +
             o.c * Eigen::Map<const Eigen::VectorXd>(sums[0].data() + 2, k + 1);
    e.hess =
        o.c *
        Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
            sums[0].data() + 3 + k, k + 1, k + 1);
    e.hess.diagonal() += reg;
    // Σ max(0, m) - Σ h_δ₀(m) is in [0, |{m > 0}| δ₀ / 2].
    e.hinge_lower = quad + o.c * sums[2][0];
    e.hinge_upper = e.hinge_lower + o.c * sums[1][1] * 0.5 * fine.huber_delta;
    if (!std::isfinite(e.objective) || !e.grad.allFinite() || !e.hess.allFinite() ||
        !std::isfinite(e.hinge_upper)) {
      return common::FailedPrecondition("linear svm: non-finite statistics from the sites");
    }
    return e;
  };

  double delta = 1.0;
  Eigen::VectorXd theta = Eigen::VectorXd::Zero(k + 1);
  FEDRAD_ASSIGN_OR_RETURN(HuberEvaluation cur, evaluate(theta, delta));
  double lower = 0.0;  // certified lower bound on f* (an estimate when the bias is free)
  double upper = std::numeric_limits<double>::infinity();  // best f(θ) bound seen
  Eigen::VectorXd best = theta;
  double best_gradient_norm = cur.grad.norm();
  int iterations = 0;
  int stage_iterations = 0;
  int stages = 1;
  for (;;) {
    Eigen::MatrixXd m = cur.hess;
    if (!o.regularize_bias) {
      // A free bias has no curvature when no margin is in the quadratic
      // piece: damp it so that the step stays bounded.
      m(k, k) = std::max(m(k, k), 1e-3 * m.diagonal().maxCoeff());
    }
    const Eigen::VectorXd d = NewtonDirection(m, cur.grad);
    // F_δ(θ) - F_δ* <= ½‖∇F_δ‖² when R = I (F_δ is 1-strongly convex);
    // with a free bias, the Newton decrement ½ gᵀM⁻¹g (local estimate).
    const double opt_error =
        o.regularize_bias ? 0.5 * cur.grad.squaredNorm() : std::max(0.0, -0.5 * cur.grad.dot(d));
    lower = std::max(lower, cur.objective - opt_error);  // f* >= F_δ* >= F_δ(θ) - opt_error
    if (cur.hinge_upper < upper) {
      upper = cur.hinge_upper;
      best = theta;
      best_gradient_norm = cur.grad.norm();
    }
    if (upper - lower <= eps * lower) break;  // certified: f(best) - f* <= eps f*
    const double smoothing = std::max(0.0, cur.hinge_upper - cur.objective);
    bool next_stage = opt_error <= std::max(0.1 * smoothing, 0.25 * eps * lower);
    if (!next_stage) {
      const double slope = cur.grad.dot(d);
      bool accepted = false;
      if (slope < 0.0 && d.norm() > 1e-15 * (1.0 + theta.norm())) {
        if (++stage_iterations > o.max_iterations) {
          return common::FailedPrecondition(
              "linear svm (hinge): no convergence after " + std::to_string(o.max_iterations) +
              " Newton iterations at smoothing delta " + std::to_string(delta));
        }
        ++iterations;
        double t = 1.0;
        for (int step = 0; step < o.max_line_search_steps; ++step, t *= 0.5) {
          const Eigen::VectorXd trial = theta + t * d;
          FEDRAD_ASSIGN_OR_RETURN(HuberEvaluation next, evaluate(trial, delta));
          const double slack =
              4.0 * std::numeric_limits<double>::epsilon() * std::abs(cur.objective);
          if (next.objective <= cur.objective + o.armijo_sigma * t * slope + slack) {
            theta = trial;
            cur = std::move(next);
            accepted = true;
            break;
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
      delta *= std::clamp(factor, 0.01, 0.3);
      stage_iterations = 0;
      FEDRAD_ASSIGN_OR_RETURN(cur, evaluate(theta, delta));
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

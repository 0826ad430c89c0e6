#include "fedrad/coordinator/lasso.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <string>

namespace fedrad::coordinator {

using common::InvalidArgument;
using common::Result;
using common::Status;

namespace {

// Sums from one logistic round, divided by N: the smooth part's value,
// gradient over (β0, β) and Hessian over {β0} ∪ cols.
struct Evaluation {
  double loss = 0.0;
  Eigen::VectorXd grad;  // p + 1
  Eigen::MatrixXd hess;  // (k + 1) x (k + 1)
  std::vector<int> cols;
};

Result<Evaluation> Evaluate(Aggregator& aggregator, const Standardization& st,
                            const site_agent::stats::RowSubset& rows, double intercept,
                            const Eigen::VectorXd& beta, const std::vector<int>& cols) {
  site_agent::stats::LogisticRequest request;
  request.rows = rows;
  request.center = st.mean;
  request.scale = st.sd;
  request.intercept = intercept;
  request.beta = beta;
  request.hessian_columns = cols;
  FEDRAD_ASSIGN_OR_RETURN(auto sums, aggregator.Sum(request));
  const Eigen::Index p = beta.size();
  const auto k = static_cast<Eigen::Index>(cols.size());
  Evaluation e;
  e.loss = sums[0] / st.n;
  e.grad = Eigen::Map<const Eigen::VectorXd>(sums.data() + 2, p + 1) / st.n;
  // The sites send H's upper triangle row by row (providers.hpp); mirror it.
  e.hess.resize(k + 1, k + 1);
  std::size_t at = static_cast<std::size_t>(3 + p);
  for (Eigen::Index a = 0; a <= k; ++a) {
    for (Eigen::Index b = a; b <= k; ++b) {
      const double value = sums[at++] / st.n;
      e.hess(a, b) = value;
      e.hess(b, a) = value;
    }
  }
  e.cols = cols;
  if (!std::isfinite(e.loss) || !e.grad.allFinite() || !e.hess.allFinite()) {
    return common::FailedPrecondition("lasso: non-finite statistics from the sites");
  }
  return e;
}

double KktResidual(const Evaluation& e, const Eigen::VectorXd& beta, double lambda) {
  double r = std::abs(e.grad[0]);
  for (Eigen::Index j = 0; j < beta.size(); ++j) {
    const double g = e.grad[j + 1];
    if (beta[j] != 0.0) {
      r = std::max(r, std::abs(g + lambda * (beta[j] > 0.0 ? 1.0 : -1.0)));
    } else {
      r = std::max(r, std::abs(g) - lambda);
    }
  }
  return r;
}

double SoftThreshold(double z, double gamma) {
  if (z > gamma) return z - gamma;
  if (z < -gamma) return z + gamma;
  return 0.0;
}

// Minimises gᵀd + ½ dᵀHd + λ Σ_{a≥1} |v_a + d_a| over d by cyclic coordinate
// descent (index 0 is the unpenalised intercept).
Eigen::VectorXd SolveQuadratic(const Eigen::VectorXd& g, const Eigen::MatrixXd& h,
                               const Eigen::VectorXd& v, double lambda) {
  const Eigen::Index m = v.size();
  Eigen::VectorXd d = Eigen::VectorXd::Zero(m);
  Eigen::VectorXd hd = Eigen::VectorXd::Zero(m);
  constexpr int kMaxSweeps = 100000;
  constexpr double kTolerance = 1e-28;
  for (int sweep = 0; sweep < kMaxSweeps; ++sweep) {
    double max_change = 0.0;
    for (Eigen::Index a = 0; a < m; ++a) {
      const double haa = h(a, a);
      if (!(haa > 1e-300)) continue;
      const double old_value = v[a] + d[a];
      const double grad_a = g[a] + hd[a];
      const double new_value =
          a == 0 ? old_value - grad_a / haa : SoftThreshold(haa * old_value - grad_a, lambda) / haa;
      const double delta = new_value - old_value;
      if (delta != 0.0) {
        d[a] += delta;
        hd += h.col(a) * delta;
        max_change = std::max(max_change, haa * delta * delta);
      }
    }
    if (max_change < kTolerance) break;
  }
  return d;
}

double L1(const Eigen::VectorXd& beta) { return beta.lpNorm<1>(); }

// ‖v_S + d_S‖₁ - ‖v_S‖₁ over the penalised indices a ≥ 1, term by term: where
// v_a + d_a keeps the sign of v_a the term is ±d_a exactly, so a step near
// convergence (|d| ~ 1e-9) is not lost to cancellation against ‖v_S‖₁ ~ 1.
double L1Change(const Eigen::VectorXd& v, const Eigen::VectorXd& d) {
  double change = 0.0;
  for (Eigen::Index a = 1; a < v.size(); ++a) {
    const double from = v[a];
    const double to = v[a] + d[a];
    if (from > 0.0 && to >= 0.0) {
      change += d[a];
    } else if (from < 0.0 && to <= 0.0) {
      change -= d[a];
    } else {
      change += std::abs(to) - std::abs(from);
    }
  }
  return change;
}

// True if v + d rounds to v in every component: the Newton step cannot move
// the iterate.
bool BelowRounding(const Eigen::VectorXd& v, const Eigen::VectorXd& d) {
  for (Eigen::Index a = 0; a < v.size(); ++a) {
    if (v[a] + d[a] != v[a]) return false;
  }
  return true;
}

std::string Format(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", value);
  return buf;
}

// A λ whose iteration stalls (no descent direction, a step below rounding or
// a failed line search) is accepted as converged when its KKT residual is
// within this multiple of kkt_tolerance: near a tight tolerance (1e-10) the
// remaining decrease of F is below the rounding of F and of the sites' sums.
constexpr double kStallAcceptFactor = 10.0;

}  // namespace

Status CheckLassoParameters(const LassoOptions& o) {
  if (o.lambdas.empty()) {
    if (o.nlambda < 1) {
      return InvalidArgument("lasso: nlambda must be >= 1, got " + std::to_string(o.nlambda));
    }
    if (!(o.lambda_min_ratio >= 0.0 && o.lambda_min_ratio < 1.0)) {
      return InvalidArgument(
          "lasso: lambda_min_ratio must be in [0, 1) (0 = glmnet default), got " +
          std::to_string(o.lambda_min_ratio));
    }
  }
  for (std::size_t i = 0; i < o.lambdas.size(); ++i) {
    if (!(std::isfinite(o.lambdas[i]) && o.lambdas[i] > 0.0)) {
      return InvalidArgument("lasso: lambdas[" + std::to_string(i) +
                             "] must be finite and > 0, got " + std::to_string(o.lambdas[i]));
    }
    if (i > 0 && !(o.lambdas[i] < o.lambdas[i - 1])) {
      return InvalidArgument("lasso: lambdas must be strictly decreasing (lambdas[" +
                             std::to_string(i) + "] >= lambdas[" + std::to_string(i - 1) + "])");
    }
  }
  if (!(o.kkt_tolerance > 0.0)) {
    return InvalidArgument("lasso: kkt_tolerance must be > 0, got " +
                           std::to_string(o.kkt_tolerance));
  }
  if (o.max_newton_iterations < 1 || o.max_line_search_steps < 1) {
    return InvalidArgument("lasso: max_newton_iterations and max_line_search_steps must be >= 1");
  }
  if (!(o.armijo_sigma > 0.0 && o.armijo_sigma < 0.5)) {
    return InvalidArgument("lasso: armijo_sigma must be in (0, 0.5), got " +
                           std::to_string(o.armijo_sigma));
  }
  return Status::Ok();
}

Result<LassoPath> Lasso::FitPath(Aggregator& aggregator) const {
  FEDRAD_RETURN_IF_ERROR(CheckLassoParameters(options_));
  const std::int64_t rounds_at_start = aggregator.rounds();
  const int p = aggregator.num_features();
  LassoPath path;
  FEDRAD_ASSIGN_OR_RETURN(path.standardization, ComputeStandardization(aggregator, options_.rows));
  const Standardization& st = path.standardization;
  if (st.n < 2.0 || st.sum_y < 1.0 || st.sum_y > st.n - 1.0) {
    return InvalidArgument("lasso: the training rows need both classes (N = " +
                           std::to_string(static_cast<long long>(st.n)) + ", positives = " +
                           std::to_string(static_cast<long long>(st.sum_y)) + ")");
  }
  std::vector<char> excluded(static_cast<std::size_t>(p));
  for (int j = 0; j < p; ++j) excluded[static_cast<std::size_t>(j)] = st.sd[j] == 0.0;

  // β = 0 with the optimal intercept: λ_max and the start of the path.
  const double ybar = st.sum_y / st.n;
  double intercept = std::log(ybar / (1.0 - ybar));
  Eigen::VectorXd beta = Eigen::VectorXd::Zero(p);
  FEDRAD_ASSIGN_OR_RETURN(Evaluation cur,
                          Evaluate(aggregator, st, options_.rows, intercept, beta, {}));
  path.lambda_max = p > 0 ? cur.grad.tail(p).cwiseAbs().maxCoeff() : 0.0;

  std::vector<double> lambdas = options_.lambdas;
  if (lambdas.empty()) {
    if (!(path.lambda_max > 0.0)) {
      return InvalidArgument("lasso: no feature varies over the training rows (lambda_max = 0)");
    }
    const double ratio = options_.lambda_min_ratio > 0.0 ? options_.lambda_min_ratio
                         : st.n >= p                     ? 1e-4
                                                         : 1e-2;
    const int m = options_.nlambda;
    for (int i = 0; i < m; ++i) {
      const double frac = m == 1 ? 0.0 : static_cast<double>(i) / (m - 1);
      lambdas.push_back(path.lambda_max * std::exp(frac * std::log(ratio)));
    }
  }

  Eigen::VectorXd grad_prev = cur.grad;
  double lambda_prev = std::max(path.lambda_max, lambdas.front());
  for (const double lambda : lambdas) {
    const std::int64_t rounds_before = aggregator.rounds();
    LassoPathPoint point;
    point.lambda = lambda;
    double residual = KktResidual(cur, beta, lambda);
    int iteration = 0;
    while (residual > options_.kkt_tolerance) {
      if (++iteration > options_.max_newton_iterations) {
        return common::FailedPrecondition(
            "lasso: no convergence at lambda = " + Format(lambda) + " after " +
            std::to_string(options_.max_newton_iterations) + " Newton iterations (KKT residual " +
            Format(residual) + ", tolerance " + Format(options_.kkt_tolerance) + ")");
      }
      // Working set: previous set ∪ strong set ∪ non-zeros ∪ KKT violators.
      std::set<int> set(cur.cols.begin(), cur.cols.end());
      for (int j = 0; j < p; ++j) {
        if (excluded[static_cast<std::size_t>(j)]) continue;
        if (beta[j] != 0.0 || std::abs(grad_prev[j + 1]) >= 2.0 * lambda - lambda_prev ||
            std::abs(cur.grad[j + 1]) > lambda) {
          set.insert(j);
        }
      }
      if (set.size() != cur.cols.size()) {
        FEDRAD_ASSIGN_OR_RETURN(cur, Evaluate(aggregator, st, options_.rows, intercept, beta,
                                              std::vector<int>(set.begin(), set.end())));
        residual = KktResidual(cur, beta, lambda);
        continue;
      }
      // Newton direction on {β0} ∪ S.
      const auto k = static_cast<Eigen::Index>(cur.cols.size());
      Eigen::VectorXd v(k + 1), g(k + 1);
      v[0] = intercept;
      g[0] = cur.grad[0];
      for (Eigen::Index a = 0; a < k; ++a) {
        const int j = cur.cols[static_cast<std::size_t>(a)];
        v[a + 1] = beta[j];
        g[a + 1] = cur.grad[j + 1];
      }
      const Eigen::VectorXd d = SolveQuadratic(g, cur.hess, v, lambda);
      const double delta = g.dot(d) + lambda * L1Change(v, d);
      const double f_now = cur.loss + lambda * L1(beta);
      // Stalled: accept the point if its residual is near the tolerance
      // (rounding), fail otherwise (genuine non-convergence).
      auto stall = [&](const char* what) -> Status {
        if (residual <= kStallAcceptFactor * options_.kkt_tolerance) {
          point.stalled = true;
          return Status::Ok();
        }
        return common::FailedPrecondition(
            std::string("lasso: ") + what + " at lambda = " + Format(lambda) + " (KKT residual " +
            Format(residual) + ", tolerance " + Format(options_.kkt_tolerance) + ", Newton step " +
            Format(d.cwiseAbs().maxCoeff()) + ", predicted decrease " + Format(delta) + ")");
      };
      if (!(delta < 0.0) || BelowRounding(v, d)) {
        FEDRAD_RETURN_IF_ERROR(
            stall(!(delta < 0.0) ? "no descent direction" : "Newton step below rounding"));
        break;
      }
      double t = 1.0;
      bool accepted = false;
      for (int step = 0; step < options_.max_line_search_steps; ++step, t *= 0.5) {
        const Eigen::VectorXd trial = v + t * d;
        Eigen::VectorXd trial_beta = beta;
        for (Eigen::Index a = 0; a < k; ++a)
          trial_beta[cur.cols[static_cast<std::size_t>(a)]] = trial[a + 1];
        FEDRAD_ASSIGN_OR_RETURN(Evaluation next, Evaluate(aggregator, st, options_.rows, trial[0],
                                                          trial_beta, cur.cols));
        const double f_trial = next.loss + lambda * L1(trial_beta);
        const double slack = 4.0 * std::numeric_limits<double>::epsilon() * std::abs(f_now);
        if (f_trial <= f_now + options_.armijo_sigma * t * delta + slack) {
          intercept = trial[0];
          beta = trial_beta;
          cur = std::move(next);
          accepted = true;
          break;
        }
      }
      if (!accepted) {
        FEDRAD_RETURN_IF_ERROR(stall("line search failed"));
        break;
      }
      residual = KktResidual(cur, beta, lambda);
    }
    point.intercept = intercept;
    point.beta = beta;
    point.beta_original = Eigen::VectorXd::Zero(p);
    point.intercept_original = intercept;
    for (int j = 0; j < p; ++j) {
      if (st.sd[j] > 0.0) {
        point.beta_original[j] = beta[j] / st.sd[j];
        point.intercept_original -= point.beta_original[j] * st.mean[j];
      }
    }
    point.objective = cur.loss + lambda * L1(beta);
    point.kkt_residual = residual;
    point.newton_iterations = iteration;
    point.rounds = aggregator.rounds() - rounds_before;
    path.points.push_back(std::move(point));
    grad_prev = cur.grad;
    lambda_prev = lambda;
  }
  path.rounds = aggregator.rounds() - rounds_at_start;
  return path;
}

}  // namespace fedrad::coordinator

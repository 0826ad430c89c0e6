#include "fedrad/coordinator/linear_svm.hpp"

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
  if (!(o.armijo_sigma > 0.0 && o.armijo_sigma < 0.5)) {
    return InvalidArgument("linear svm: armijo_sigma must be in (0, 0.5), got " +
                           std::to_string(o.armijo_sigma));
  }
  return Status::Ok();
}

Result<LinearSvmModel> LinearSvm::Fit(Aggregator& aggregator) const {
  const int p = aggregator.num_features();
  FEDRAD_RETURN_IF_ERROR(CheckLinearSvmParameters(options_, p));
  const std::int64_t rounds_at_start = aggregator.rounds();
  LinearSvmModel model;
  model.columns = options_.columns;
  if (model.columns.empty()) {
    for (int j = 0; j < p; ++j) model.columns.push_back(j);
  }
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

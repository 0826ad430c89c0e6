#include "fedrad/coordinator/platt.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace fedrad::coordinator {

using common::InvalidArgument;
using common::Result;
using common::Status;
using site_agent::stats::LinearScorer;
using site_agent::stats::RowSubset;

Status CheckPlattParameters(const PlattOptions& o) {
  if (o.max_iterations < 1) {
    return InvalidArgument("platt: max_iterations must be >= 1, got " +
                           std::to_string(o.max_iterations));
  }
  if (!(std::isfinite(o.tolerance) && o.tolerance > 0.0)) {
    return InvalidArgument("platt: tolerance must be finite and > 0, got " +
                           std::to_string(o.tolerance));
  }
  if (!(std::isfinite(o.hessian_ridge) && o.hessian_ridge >= 0.0)) {
    return InvalidArgument("platt: hessian_ridge must be finite and >= 0, got " +
                           std::to_string(o.hessian_ridge));
  }
  if (!(o.min_step > 0.0 && o.min_step < 1.0)) {
    return InvalidArgument("platt: min_step must be in (0, 1), got " + std::to_string(o.min_step));
  }
  return Status::Ok();
}

namespace {

struct PlattEvaluation {
  double loss = 0.0;
  double ga = 0.0, gb = 0.0;
  double haa = 0.0, hab = 0.0, hbb = 0.0;
};

}  // namespace

Result<PlattModel> FitPlatt(Aggregator& aggregator, const std::vector<RowSubset>& rows,
                            const std::vector<LinearScorer>& scorers, const PlattOptions& options) {
  FEDRAD_RETURN_IF_ERROR(CheckPlattParameters(options));
  if (rows.empty()) return InvalidArgument("platt: no parts (rows is empty)");
  if (rows.size() != scorers.size()) {
    return InvalidArgument("platt: rows has " + std::to_string(rows.size()) +
                           " parts but scorers has " + std::to_string(scorers.size()) +
                           " (one scorer per part)");
  }
  const std::int64_t rounds_at_start = aggregator.rounds();
  PlattModel model;

  // Class counts of every part: one round.
  std::vector<site_agent::stats::StatRequest> moments;
  for (const RowSubset& part : rows) {
    site_agent::stats::MomentsRequest request;
    request.rows = part;
    moments.emplace_back(request);
  }
  FEDRAD_ASSIGN_OR_RETURN(auto counts, aggregator.SumBatch(moments));
  for (const auto& c : counts) {
    if (c.size() < 2) return common::Internal("platt: short moments array");
    model.n_pos += c[1];
    model.n_neg += c[0] - c[1];
  }
  if (!(model.n_pos > 0.0) || !(model.n_neg > 0.0)) {
    return InvalidArgument("platt: the rows need both classes, got " +
                           std::to_string(static_cast<long long>(model.n_pos)) + " positive and " +
                           std::to_string(static_cast<long long>(model.n_neg)) + " negative");
  }
  const double target_pos = (model.n_pos + 1.0) / (model.n_pos + 2.0);
  const double target_neg = 1.0 / (model.n_neg + 2.0);

  auto evaluate = [&](double a, double b) -> Result<PlattEvaluation> {
    site_agent::stats::PlattRequest request;
    request.rows = rows;
    request.scorers = scorers;
    request.a = a;
    request.b = b;
    request.target_pos = target_pos;
    request.target_neg = target_neg;
    FEDRAD_ASSIGN_OR_RETURN(auto s, aggregator.Sum(request));
    if (s.size() != 7) return common::Internal("platt: expected 7 sums");
    for (double v : s) {
      if (!std::isfinite(v)) {
        return common::FailedPrecondition("platt: non-finite statistics from the sites");
      }
    }
    return PlattEvaluation{s[0], s[2], s[3], s[4], s[5], s[6]};
  };

  double a = 0.0;
  double b = std::log((model.n_neg + 1.0) / (model.n_pos + 1.0));
  FEDRAD_ASSIGN_OR_RETURN(PlattEvaluation cur, evaluate(a, b));
  int iteration = 0;
  while (std::max(std::abs(cur.ga), std::abs(cur.gb)) > options.tolerance) {
    if (++iteration > options.max_iterations) {
      return common::FailedPrecondition(
          "platt: no convergence after " + std::to_string(options.max_iterations) +
          " Newton iterations (gradient max-norm " +
          std::to_string(std::max(std::abs(cur.ga), std::abs(cur.gb))) + ")");
    }
    // Newton direction on H + σI (2 x 2, positive definite for σ > 0).
    const double h11 = cur.haa + options.hessian_ridge;
    const double h22 = cur.hbb + options.hessian_ridge;
    const double det = h11 * h22 - cur.hab * cur.hab;
    if (!(det > 0.0)) break;  // flat in some direction: nothing left to gain
    const double da = -(h22 * cur.ga - cur.hab * cur.gb) / det;
    const double db = -(-cur.hab * cur.ga + h11 * cur.gb) / det;
    const double slope = cur.ga * da + cur.gb * db;
    if (!(slope < 0.0)) break;  // round-off floor
    bool accepted = false;
    const double grad_norm = std::max(std::abs(cur.ga), std::abs(cur.gb));
    for (double step = 1.0; step >= options.min_step; step *= 0.5) {
      FEDRAD_ASSIGN_OR_RETURN(PlattEvaluation next, evaluate(a + step * da, b + step * db));
      // Armijo; or, near the optimum where the loss decrease (about g²/H)
      // falls below the rounding of the loss itself, the full Newton step
      // when it does not raise the loss beyond rounding and halves the
      // gradient: Newton converges quadratically there, so every site split
      // reaches the same (A, B) to the gradient tolerance instead of
      // stopping wherever the loss stopped changing in floating point.
      const double rounding = 1e-13 * std::max(1.0, std::abs(cur.loss));
      const bool armijo = next.loss < cur.loss + 1e-4 * step * slope;
      const bool newton_near_optimum =
          step == 1.0 && next.loss <= cur.loss + rounding &&
          std::max(std::abs(next.ga), std::abs(next.gb)) < 0.5 * grad_norm;
      if (armijo || newton_near_optimum) {
        a += step * da;
        b += step * db;
        cur = next;
        accepted = true;
        break;
      }
    }
    // As libsvm's sigmoid_train: a failed line search means the loss cannot
    // be decreased in floating point any more; keep the current point.
    if (!accepted) break;
  }
  model.a = a;
  model.b = b;
  model.loss = cur.loss;
  model.iterations = iteration;
  model.rounds = aggregator.rounds() - rounds_at_start;
  return model;
}

double PlattProbability(const PlattModel& model, double score) {
  const double f = model.a * score + model.b;
  const double e = std::exp(-std::abs(f));
  return f >= 0.0 ? e / (1.0 + e) : 1.0 / (1.0 + e);
}

}  // namespace fedrad::coordinator

// Pure evaluation kernels shared by the coordinator (the pooled evaluation,
// coordinator/evaluation.hpp and roc.hpp) and a site that evaluates a cohort
// it holds alone (LocalEvaluationRequest, providers.hpp). They live in
// fedrad_stats so that a site agent runs the same code as the coordinator
// without linking the coordinator library; the coordinator calls them too,
// so the single-site release and the pooled computation over that one site
// give the same numbers bit for bit.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/site_agent/stats/delong_site.hpp"

namespace fedrad::site_agent::stats {

// The grid ROC curve of one model from its per-class grid histograms
// (controls[k], cases[k], k = 0..G-1, non-negative integers): one point
// per occupied cell, ascending threshold t = GridScore(grid, k), tp / fp =
// cases / controls in cells ≥ k (the first point calls every row
// positive); the final (+inf, 0, 0) point is NOT included. Also
// twice_pairs = Σ_k cases_k·(2·controls below k + controls_k) (the
// Mann-Whitney count ×2) and tied_pairs = Σ_k cases_k·controls_k.
struct GridCurve {
  std::vector<double> threshold, tp, fp;
  std::int64_t n1 = 0, n0 = 0;
  std::int64_t twice_pairs = 0;
  std::int64_t tied_pairs = 0;
};
GridCurve GridCurveOf(const ScoreGrid& grid, const std::int64_t* controls,
                      const std::int64_t* cases);

// Why a recalibration fit has no result (LocalEvaluationLayout's reason code).
enum class RecalibrationFailure {
  kNone = 0,
  kTooFewRows = 1,       // fewer than 2 rows
  kNotIdentifiable = 2,  // logit(p) does not vary over the cohort
  kNotConverged = 3,     // no convergence (separated data?)
};
std::string RecalibrationNote(RecalibrationFailure failure);

struct RecalibrationFit {
  bool ok = false;
  double intercept = 0.0;  // α
  double slope = 0.0;      // β
  RecalibrationFailure failure = RecalibrationFailure::kNone;
};

// Logistic recalibration logit P(y = 1) = α + β·logit(p) (R:
// glm(y ~ qlogis(p), family = binomial)) by Newton from (0, 1) with Armijo
// backtracking, stopping when max |∂ℓ/∂(α, β)| ≤ tolerance · n.
// `platt_sums(α, β)` returns the PlattRequest array (providers.hpp) of the
// cohort at A = -β, B = -α, targets 1 / 0 (so ℓ is the negative
// log-likelihood; ∂ℓ/∂α = -∂ℓ/∂B, ∂ℓ/∂β = -∂ℓ/∂A, H_αα = H_BB, H_αβ = H_AB,
// H_ββ = H_AA): summed over sites by the coordinator, or the site's own.
// Its errors are passed on.
common::Result<RecalibrationFit> FitRecalibration(
    const std::function<common::Result<std::vector<double>>(double alpha, double beta)>& platt_sums,
    int max_iterations, double tolerance);

}  // namespace fedrad::site_agent::stats

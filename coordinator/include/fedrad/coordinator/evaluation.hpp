// Federated evaluation of a study's fitted models (issue 6, items 1-2):
// AUC with DeLong 95% CI, ROC curve, threshold metrics, paired DeLong tests
// between every pair of models, Brier score and calibration intercept/slope,
// on the cross-validation cohort and on external cohorts, from sums only.
// The method is docs/methods.md §10; the site side is
// site_agent/stats/providers.hpp (GridHistogramRequest,
// PlacementSumsRequest, ThresholdCountsRequest, PlattRequest) and the
// coordinator side of the ROC maths is roc.hpp (PooledRocAnalysis).
//
// Scores. Every model is evaluated on its probability p = P(y = 1): the
// Platt map of the model that scores the row (the outer fold's own Platt
// fit for out-of-fold scores, the final model's for external data) is
// folded into the linear scorer (ProbabilityScorer), so sites compute
// p = σ(s). A model without Platt scaling uses p = σ(v) of its decision
// value v (documented in the results as such; its AUC is that of v).
//
// Grid. p is rounded to the public grid of G points on [0, 1]
// (options.grid_size, resolution 1/(G-1); default delong_site.hpp's fine
// grid, 1e-5). Everything below is exact for the rounded probabilities;
// CohortMetrics::auc_error_bound bounds |AUC(grid) - AUC(unbinned)|.
//
// Fallback grid. options.fallback_grid_size (0 = none; else in
// [2, grid_size)) is a coarser public grid (the spec's
// evaluation.fallback_grid_points). When the rounds of a pooled cohort
// (mode "pooled_grid") are refused by a site's disclosure gate (the
// aggregator returns kPermissionDenied: a site whose policy checks its
// grid-histogram cells in secure rounds too finds a cell below its minimum),
// that cohort is evaluated again, once, on the fallback grid: every round of
// the cohort is rerun (its CV thresholds are then read off the fallback
// grid), CohortMetrics::grid is "fallback" and a note names the refusal. A
// refusal of the fallback rounds, or any refusal without a fallback grid, is
// returned (the caller's privacy.on_refusal applies). The refused round
// counts in `rounds` (it was sent). A site-local cohort never falls back (no
// histogram leaves the site).
//
// Cohorts and rounds. The Aggregator API cannot name a site, so every
// cohort comes with its own aggregator (EvaluationCohorts): the training
// sites (CV cohort), each external site alone, all external sites together.
// For one cohort, with R models scoring the same rows (paired):
//   round 1: GridHistogramRequest (the R models' per-class counts per grid
//            cell), and for external cohorts ThresholdCountsRequest at the
//            thresholds fixed on the CV cohort;
//   round 2: PlacementSumsRequest with the pooled round-1 histograms (all
//            R models at once: DeLong (co)variances, so every pair of
//            models can be tested), and for the CV cohort
//            ThresholdCountsRequest at the Youden thresholds read off the
//            round-1 histograms;
//   external cohorts, concurrently (same rounds): per model the logistic
//            recalibration logit P(y = 1) = α + β·logit(p) by Newton on
//            PlattRequest sums (one round per Newton step or line-search
//            trial, typically 4-8).
//   CV cohort: part f of every request applies outer fold f's model to the
//   held-out rows of fold f (RowSubset kind held-out, fold f): the
//   out-of-fold probabilities of the nested CV, pooled over the training
//   sites.
// A single external site (ExternalSiteCohort::local, what `fedrad simulate`
// and the live coordinator use) is asked one LocalEvaluationRequest
// (providers.hpp): it runs the rounds above on its own rows with the same
// kernels (evaluation_kernels.hpp; its PlacementSums against its own
// histograms, its own recalibration Newton) and releases only n1, n0, the
// placement sums, its grid ROC curve, the counts at the fixed thresholds
// and the calibration fit (mode "site_local"); the numbers are those of the
// pooled rounds over that site alone, bit for bit (same grid, same sums).
// Without `local` the grid rounds run over that one site (mode
// "pooled_grid").
// A cohort with one class only gets counts and threshold metrics, no AUC
// (NaN) and no round 2.
//
// Threshold. options.fixed_threshold, else per model Youden's J maximised
// over the CV cohort's grid ROC curve (ties: the lowest threshold; the
// threshold is a grid value). It is never tuned on external data. Rows are
// called positive when their (unrounded) probability p ≥ threshold
// (ThresholdCountsRequest), so TP/FP/TN/FN, accuracy, sensitivity,
// specificity, PPV and NPV are exact counts; they can differ from the grid
// curve's point at the same threshold by rows within half a grid cell below
// it.
//
// Brier score (external cohorts) = Σ (p - y)² / n. Calibration intercept α
// and slope β: maximum likelihood fit of logit P(y = 1) = α + β·logit(p) (R:
// glm(y ~ qlogis(p), family = binomial)), Newton from (0, 1) with Armijo
// backtracking, stopping when max |∂ℓ/∂(α, β)| ≤ calibration_tolerance · n.
// Absent (with a note) when logit(p) does not vary over the cohort (e.g. an
// intercept-only model) or the fit does not converge (separation).
// Calibration bins: equal-width bins of p (options.calibration_bins), empty
// bins omitted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/pipeline.hpp"
#include "fedrad/coordinator/results.hpp"
#include "fedrad/site_agent/stats/delong_site.hpp"
#include "fedrad/site_agent/stats/providers.hpp"

namespace fedrad::coordinator {

// A fitted model as the evaluation sees it: probability scorers, p = σ(s).
struct EvaluationModel {
  std::string name;                                          // e.g. "combined"
  std::string dataset;                                       // the sites' dataset of the model
  site_agent::stats::LinearScorer final_model;               // external cohorts
  std::vector<site_agent::stats::LinearScorer> fold_models;  // outer fold f's model (CV cohort)
};

// The fitted model's decision value v = wᵀz + b with its Platt map
// P = 1 / (1 + exp(A v + B)) folded in: w ← -A·w, b ← -(A·b + B), so that
// σ(s) = P. Without Platt: the decision value itself (p = σ(v)).
site_agent::stats::LinearScorer ProbabilityScorer(const FittedModel& model);

// The models of RunStudy's result (plan.models[m].dataset for run.models[m]).
common::Result<std::vector<EvaluationModel>> EvaluationModelsOf(const StudyPlan& plan,
                                                                const StudyRun& run);

struct ExternalSiteCohort {
  std::string site_id;
  Aggregator* aggregator = nullptr;  // over this one site
  // true: the site evaluates its cohort itself (one LocalEvaluationRequest,
  // mode "site_local": no histogram leaves it); false: the pooled grid
  // rounds over this one site (mode "pooled_grid"; its histograms leave it,
  // so a site's disclosure gate normally refuses them in the clear). The
  // aggregator must reach exactly this one site: a local evaluation is a
  // release, not a sum (both aggregators refuse it over several sites).
  bool local = false;
};

struct EvaluationCohorts {
  Aggregator* training = nullptr;  // the training sites: CV cohort (null: none)
  std::vector<ExternalSiteCohort> external_sites;
  Aggregator* external_pooled = nullptr;  // all external sites (null: not evaluated)
};

struct EvaluationOptions {
  std::int64_t grid_size = site_agent::stats::kFineGridSize;  // G, probability scale
  std::int64_t fallback_grid_size = 0;    // coarser grid after a refusal (0 = none)
  std::optional<double> fixed_threshold;  // else Youden's J on the CV cohort
  int calibration_bins = 10;              // B in [0, 1000]
  int calibration_max_iterations = 50;    // Newton steps
  double calibration_tolerance = 1e-10;   // on max |gradient| / n
  int max_curve_points = 2001;            // M: ROC points a local evaluation releases per model
};

struct ModelThreshold {
  std::string model;
  std::string rule;        // "youden_oof" | "probability"
  double threshold = 0.0;  // probability; p ≥ threshold is called positive
  double youden_j = 0.0;   // J on the CV grid curve at the threshold (NaN for "probability")
};

struct EvaluationResult {
  std::int64_t grid_size = 0;           // G (the fine grid)
  double grid_resolution = 0.0;         // 1 / (G - 1)
  std::int64_t fallback_grid_size = 0;  // options.fallback_grid_size
  std::vector<ModelThreshold> thresholds;
  // Per cohort in the order CV, external sites, external pooled; within a
  // cohort the models in input order.
  std::vector<CohortMetrics> metrics;
  // Per cohort, every pair a < b in input order.
  std::vector<DelongComparison> comparisons;
  std::int64_t rounds = 0;  // rounds over all cohorts' aggregators
  std::vector<std::string> notes;
};

// kInvalidArgument for bad options, no model, a model without one fold
// model per outer fold (when the CV cohort is evaluated), no CV cohort
// without a fixed threshold, or a null aggregator; aggregator errors are
// passed on naming the cohort.
common::Result<EvaluationResult> EvaluateModels(const std::vector<EvaluationModel>& models,
                                                int outer_folds, const EvaluationCohorts& cohorts,
                                                const EvaluationOptions& options);

}  // namespace fedrad::coordinator

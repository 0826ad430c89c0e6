// Statistic providers: pure functions from (local table, request) to a flat
// array of doubles. The coordinator's Aggregator sums these arrays
// element-wise over sites; every entry is therefore a sum over rows, so that
// the sum over sites equals the same statistic on the pooled table.
//
// Notation: the rows selected by the request's RowSubset are i = 1..n; x_i is
// the feature row, y_i in {0, 1} its label. When standardisation parameters
// (center c, scale s) are given, features enter as z_ij = (x_ij - c_j) / s_j,
// and a column with s_j == 0 (constant in the pooled data) enters as z_ij = 0.
//
// Layouts (all sums over the selected rows):
//
//   Moments (p features):   [n, Σ y_i, Σ x_i1 .. Σ x_ip, Σ x_i1² .. Σ x_ip²]
//                            size 2 + 2p.
//
//   Logistic at (β0, β), η_i = β0 + z_iᵀβ, π_i = 1 / (1 + exp(-η_i)),
//   with H = the requested Hessian columns S (k of them):
//     [ℓ, n, g_0, g_1 .. g_p, H's upper triangle]   size 2 + (p+1) + (k+1)(k+2)/2
//     (H is symmetric; its upper triangle with the diagonal, row by row:
//     H_00 .. H_0k, H_11 .. H_1k, .., H_kk; index 0 is the intercept)
//     ℓ   = Σ [log(1 + exp(η_i)) - y_i η_i]         (negative log-likelihood)
//     g_0 = Σ (π_i - y_i),  g_j = Σ (π_i - y_i) z_ij  (gradient of ℓ, all j)
//     H   = Σ π_i (1 - π_i) u_i u_iᵀ, u_i = (1, z_iS)  (Hessian of ℓ on {β0} ∪ S)
//
//   Squared-hinge SVM on the requested columns (k of them), labels
//   t_i = 2 y_i - 1, augmented row u_i = (z_iS, B) with B = bias_value, and
//   parameters θ = (w, w_b), margin m_i = 1 - t_i θᵀu_i, active set
//   I = {i : m_i > 0}:
//     [L, |I|, G (k+1), H (k+1)x(k+1) row-major]   size 2 + (k+1) + (k+1)²
//     L = Σ_I m_i²,  G = -2 Σ_I m_i t_i u_i,  H = 2 Σ_I u_i u_iᵀ
//   (H is the generalized Hessian of L: the Hessian restricted to the active
//   set; it is exact wherever no m_i is 0.)
//
//   Held-out binomial deviance of L coefficient vectors (β0_l, β_l), l = 1..L
//   (cross-validation; the rows are normally the held-out part of a fold):
//     [n, D_1 .. D_L]   size 1 + L
//     D_l = Σ_i -2 [y_i log p_il + (1 - y_i) log(1 - p_il)],
//     p_il = min(max(1 / (1 + exp(-η_il)), 1e-5), 1 - 1e-5),
//     η_il = β0_l + z_iᵀβ_l
//   (cv.glmnet's type.measure = "deviance" for family = "binomial", with its
//   clipping of p to [1e-5, 1 - 1e-5], so D_l is finite whatever the labels
//   of the rows: a site whose held-out rows are all negative is fine).
//
//   Huberised hinge SVM (SvmRequest with loss = kHuberHinge, δ = huber_delta
//   > 0), same u_i, t_i, θ, m_i as the squared hinge:
//     h(m) = 0 (m ≤ 0),  m² / (2δ) (0 < m ≤ δ),  m - δ/2 (m > δ)
//     [L, |Q|, G (k+1), H (k+1)x(k+1) row-major]   size 2 + (k+1) + (k+1)²
//     L = Σ_i h(m_i),  G = -Σ_i h'(m_i) t_i u_i,  H = (1/δ) Σ_Q u_i u_iᵀ,
//     Q = {i : 0 < m_i ≤ δ}  (the quadratic piece; h → hinge as δ → 0).
//
//   Linear scores (ScoreHistogramRequest, PlattRequest): a LinearScorer
//   gives s_i = wᵀz_i + b on its columns (z standardised with its own
//   center/scale, or raw when those are empty). Part l of a request applies
//   scorer l to the rows of rows[l] (e.g. the fold-l model to the held-out
//   rows of fold l).
//
//   Score histograms (L parts, B = bins): u_i = ½ + atan(s_i)/π in (0, 1),
//   bin b_i = min(floor(u_i B), B - 1);
//     [part 1: neg_1 .. neg_B, pos_1 .. pos_B, part 2: ...]   size 2 B L
//   neg_b / pos_b = number of rows of label 0 / 1 in bin b (a monotone map,
//   so ranks, hence the AUC up to ties within a bin, are preserved).
//
//   Platt scaling at (A, B) over the union of all parts' rows (scores s_i),
//   targets τ_i = target_pos if y_i = 1 else target_neg, f_i = A s_i + B,
//   q_i = 1 / (1 + exp(f_i))  (Platt's P(y = 1 | s)):
//     [ℓ, n, ∂ℓ/∂A, ∂ℓ/∂B, H_AA, H_AB, H_BB]   size 7
//     ℓ = Σ_i [τ_i f_i + log(1 + exp(-f_i))]  (= -Σ τ log q + (1-τ) log(1-q)),
//     ∂ℓ/∂f_i = τ_i - q_i,  ∂²ℓ/∂f_i² = q_i (1 - q_i),
//   evaluated without overflow for large |f_i| (Lin, Lin & Weng 2007).
//
// Every request names a `dataset`: the site's table for one model of a study
// (e.g. "clinical", "radiomics", "combined"; "" is the default when a site
// has a single table). Column indices are within that dataset's table.
//
// Evaluation requests (GridHistogramRequest, PlacementSumsRequest,
// ThresholdCountsRequest; issue 6, docs/methods.md §10): R models score the
// SAME rows (paired), each model with its own dataset (its columns) and one
// scorer per part. `dataset` names the table whose rows, labels and fold ids
// the parts select; every model's table must have the same rows (a study's
// datasets are built from one feature table: same row order, labels, folds;
// the provider checks row count, labels and fold ids). Model r's score of a
// row in part l is the probability
//   p = σ(s) = 1 / (1 + exp(-s)),  s = scorers[l] applied to the row.
// The coordinator folds a Platt map P(y = 1 | v) = 1 / (1 + exp(A v + B)) of
// an SVM decision value v = wᵀz + b into the scorer: w ← -A·w,
// intercept ← -(A·b + B); a model without Platt scaling is sent as is
// (p = σ(v)). Rows are stacked part by part.
//
//   Grid histograms (GridHistogramRequest, grid of G points on the
//   probability scale, delong_site.hpp):
//     entry (2r + c)·G + k = rows of label c whose model-r probability falls in
//     grid cell k                                          size 2·R·G
//   Placement sums (PlacementSumsRequest, given the pooled round-1 array):
//     PlacementSumsLayout of delong_site.hpp               size 2 + 2R + 2R²
//   Threshold counts and calibration sums (ThresholdCountsRequest, one
//   probability threshold t_r per model, B calibration bins), per model r a
//   block of 5 + 3B values (ThresholdCountsLayout):
//     [TP, FP, TN, FN, Σ (p - y)², n_1..n_B, Σp_1..Σp_B, Σy_1..Σy_B]
//     positive iff p ≥ t_r; bin b = min(floor(p·B), B - 1) (equal-width bins of
//     the probability); n_b rows, Σp_b their probabilities, Σy_b their cases.
//                                                          size R·(5 + 3B)
//
// Missing values (data_dictionary "missing": "impute", docs/methods.md §11):
// a site's table may hold NaN cells (a missing predictor). Every request
// that reads feature values carries `fill`, the values that replace them:
// MomentsRequest, LogisticRequest and DevianceRequest one per feature (p),
// SvmRequest and LinearScorer one per column they use (k), i.e. the same
// length as center/scale. A cell x_ij of a selected row that is NaN enters
// every statistic above as fill_j (before standardisation); the table itself
// is never changed or copied. A request that meets a NaN cell and has no
// fill fails with kFailedPrecondition naming the column (and, through
// Compute(datasets, ..), the dataset): a NaN never reaches a sum. Empty fill
// = no imputation (tables without NaN need none).
//
//   Imputation sums (ImputationSumsRequest), over the selected rows:
//     [n, o_1 .. o_p, Σ_obs x_1 .. Σ_obs x_p]           size 1 + 2p
//   o_j = number of rows whose cell j is observed (not NaN), Σ_obs x_j the
//   sum of those cells. The coordinator's imputation values (pipeline.hpp)
//   are the pooled means Σ_obs x_j / o_j, or the majority / most frequent
//   level read off them for 0/1 and dummy columns.
#pragma once

#include <Eigen/Dense>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/site_agent/stats/delong_site.hpp"
#include "fedrad/site_agent/stats/local_table.hpp"

namespace fedrad::site_agent::stats {

struct MomentsRequest {
  RowSubset rows;
  std::string dataset;   // the site's table for this request ("" = default)
  Eigen::VectorXd fill;  // empty or p: replaces NaN cells (see "Missing values")
};

struct LogisticRequest {
  RowSubset rows;
  Eigen::VectorXd center;            // p (standardisation)
  Eigen::VectorXd scale;             // p; 0 marks a constant column
  double intercept = 0.0;            // β0
  Eigen::VectorXd beta;              // p, on the standardised scale
  std::vector<int> hessian_columns;  // S: feature indices, distinct, in [0, p)
  std::string dataset;               // the site's table for this request ("" = default)
  Eigen::VectorXd fill;              // empty or p: replaces NaN cells
};

enum class SvmLoss { kSquaredHinge, kHuberHinge };

struct SvmRequest {
  RowSubset rows;
  SvmLoss loss = SvmLoss::kSquaredHinge;
  double huber_delta = 0.0;  // δ > 0 with kHuberHinge
  std::vector<int> columns;  // features used (distinct, in [0, p)); k of them
  Eigen::VectorXd center;    // empty (raw features) or k entries
  Eigen::VectorXd scale;     // empty or k entries; 0 marks a constant column
  Eigen::VectorXd w;         // k
  double bias_weight = 0.0;  // w_b
  double bias_value = 1.0;   // B (the constant appended to every row)
  std::string dataset;       // the site's table for this request ("" = default)
  Eigen::VectorXd fill;      // empty or k (per column): replaces NaN cells
};

struct DevianceRequest {
  RowSubset rows;
  Eigen::VectorXd center;      // p (standardisation)
  Eigen::VectorXd scale;       // p; 0 marks a constant column
  Eigen::VectorXd intercepts;  // L
  Eigen::MatrixXd betas;       // p x L, standardised scale, column l = β_l
  std::string dataset;         // the site's table for this request ("" = default)
  Eigen::VectorXd fill;        // empty or p: replaces NaN cells
};

// s = wᵀz + intercept on `columns`, z = (x - center) / scale (zero scale:
// z = 0; empty center/scale: raw features).
struct LinearScorer {
  std::vector<int> columns;  // k distinct indices in [0, p)
  Eigen::VectorXd center;    // empty or k
  Eigen::VectorXd scale;     // empty or k
  Eigen::VectorXd w;         // k
  double intercept = 0.0;
  Eigen::VectorXd fill;  // empty or k: replaces NaN cells (the model's imputation values)
};

struct ScoreHistogramRequest {
  std::vector<RowSubset> rows;        // L parts
  std::vector<LinearScorer> scorers;  // L, scorer l applies to rows[l]
  int bins = 512;                     // B in [2, 65536]
  std::string dataset;                // the site's table for this request ("" = default)
};

struct PlattRequest {
  std::vector<RowSubset> rows;        // parts, as ScoreHistogramRequest
  std::vector<LinearScorer> scorers;  // one per part
  double a = 0.0;                     // A
  double b = 0.0;                     // B
  double target_pos = 1.0;            // τ for label 1, in (0, 1]
  double target_neg = 0.0;            // τ for label 0, in [0, 1)
  std::string dataset;                // the site's table for this request ("" = default)
};

// One model of an evaluation request (see the header comment).
struct EvalModel {
  std::string dataset;                // the site's table holding this model's columns
  std::vector<LinearScorer> scorers;  // one per part; p = σ(s) (Platt folded in)
};

inline constexpr std::size_t kMaxEvalModels = 64;
inline constexpr int kMaxCalibrationBins = 1000;

// Round 1 of the pooled ROC/DeLong computation.
struct GridHistogramRequest {
  std::vector<RowSubset> rows;             // L parts
  std::vector<EvalModel> models;           // R in [1, kMaxEvalModels], L scorers each
  std::int64_t grid_size = kFineGridSize;  // G in [2, kMaxGridSize], probability scale
  std::string dataset;                     // the table whose rows the parts select
};

// Round 2: the same rows and models, and the pooled round-1 array.
struct PlacementSumsRequest {
  std::vector<RowSubset> rows;
  std::vector<EvalModel> models;
  std::int64_t grid_size = kFineGridSize;
  std::vector<double> pooled_histograms;  // 2·R·G, Σ over sites of the round-1 arrays
  std::string dataset;
};

// Counts at a probability threshold per model, Brier and calibration sums.
struct ThresholdCountsRequest {
  std::vector<RowSubset> rows;
  std::vector<EvalModel> models;
  std::vector<double> thresholds;  // R probability thresholds (finite)
  int calibration_bins = 10;       // B in [0, kMaxCalibrationBins]
  std::string dataset;
};

// Layout of a ThresholdCountsRequest result (R models, B bins).
struct ThresholdCountsLayout {
  int num_models = 0;
  int bins = 0;
  std::size_t Block() const { return 5 + 3 * static_cast<std::size_t>(bins); }
  std::size_t Tp(int r) const { return static_cast<std::size_t>(r) * Block(); }
  std::size_t Fp(int r) const { return Tp(r) + 1; }
  std::size_t Tn(int r) const { return Tp(r) + 2; }
  std::size_t Fn(int r) const { return Tp(r) + 3; }
  std::size_t SquaredError(int r) const { return Tp(r) + 4; }
  std::size_t BinCount(int r, int b) const { return Tp(r) + 5 + static_cast<std::size_t>(b); }
  std::size_t BinSumP(int r, int b) const {
    return BinCount(r, b) + static_cast<std::size_t>(bins);
  }
  std::size_t BinSumY(int r, int b) const {
    return BinCount(r, b) + 2 * static_cast<std::size_t>(bins);
  }
  std::size_t Size() const { return static_cast<std::size_t>(num_models) * Block(); }
};

// Single-site evaluation (issue 6 item 1a, docs/methods.md §10): a cohort
// held by ONE site (e.g. one external hospital) is evaluated by that site
// alone. The site scores its rows with the frozen models (as the other
// evaluation requests), rounds them to the grid, and computes locally what
// the pooled rounds would compute over it alone (GridHistogram, then
// PlacementSums against its own histograms, ThresholdCounts at the fixed
// thresholds, and per model the logistic recalibration fit by Newton on its
// own PlattRequest sums, evaluation_kernels.hpp FitRecalibration); it
// releases only the summaries below, never the histograms. The result is a
// release, not a sum: the coordinator sends it to one site only (the
// in-process and wire aggregators refuse it over several sites), in the
// clear (a secure round of one site would hide nothing); a site answers it
// only when its role in the approved spec is "external".
struct LocalEvaluationRequest {
  std::vector<RowSubset> rows;             // L parts (external cohorts: one, every row)
  std::vector<EvalModel> models;           // R in [1, kMaxEvalModels], L scorers each
  std::int64_t grid_size = kFineGridSize;  // G in [2, kMaxGridSize], probability scale
  std::vector<double> thresholds;          // R probability thresholds (fixed on training data)
  int calibration_bins = 10;               // B in [0, kMaxCalibrationBins]
  int calibration_max_iterations = 50;     // Newton steps, in [1, 1000]
  double calibration_tolerance = 1e-10;    // on max |gradient| / n, > 0
  int max_curve_points = 2001;             // M in [2, kMaxCurvePoints]
  std::string dataset;                     // the table whose rows the parts select
};

inline constexpr int kMaxCurvePoints = 100001;

// Layout of a LocalEvaluationRequest result (R models, B bins, M curve
// points), every entry finite:
//   [placement]  PlacementSumsLayout{R} (size 2 + 2R + 2R²): n1, n0 and the
//                integer-scaled DeLong placement sums of the site's rows
//                against its own histograms: the sufficient statistics of
//                AUC_r (= ΣP10_r / (2·N0·N1)) and of S10, S01 for every
//                model and pair of models (roc.hpp); all 0 except n1, n0
//                when a class is empty.
//   per model r: [tied_r, c_r, t_1..t_M, tp_1..tp_M, fp_1..fp_M]
//                tied_r = Σ_k cases_k·controls_k over grid cells (the AUC
//                binning bound is ½·tied_r/(N1·N0)); c_r ≤ M points of the
//                grid ROC curve, ascending threshold t (a grid value), tp/fp
//                = rows with grid score ≥ t; entries past c_r are 0. The
//                curve has one point per occupied grid cell; when there are
//                more than M, M of them are released (evenly spaced in
//                rank, the first and the last kept), which changes the plot
//                only (AUC and variances come from the placement sums). The
//                final (t = +inf, 0, 0) point is implied.
//   [counts]     ThresholdCountsLayout{R, B} at the request's thresholds
//   per model r: [ok_r, α_r, β_r, reason_r]  calibration intercept α and
//                slope β (ok_r = 1 when the fit converged; else ok_r = 0,
//                α = β = 0 and reason_r = 1: fewer than 2 rows, 2: logit(p)
//                does not vary, 3: no convergence).
struct LocalEvaluationLayout {
  int num_models = 0;
  int bins = 0;
  int curve_points = 0;  // M
  std::size_t Placement() const { return 0; }
  std::size_t PlacementSize() const {
    const auto r = static_cast<std::size_t>(num_models);
    return 2 + 2 * r + 2 * r * r;
  }
  std::size_t CurveBlock() const { return 2 + 3 * static_cast<std::size_t>(curve_points); }
  std::size_t Tied(int r) const {
    return PlacementSize() + static_cast<std::size_t>(r) * CurveBlock();
  }
  std::size_t CurveCount(int r) const { return Tied(r) + 1; }
  std::size_t CurveThreshold(int r, int q) const {
    return Tied(r) + 2 + static_cast<std::size_t>(q);
  }
  std::size_t CurveTp(int r, int q) const {
    return CurveThreshold(r, q) + static_cast<std::size_t>(curve_points);
  }
  std::size_t CurveFp(int r, int q) const {
    return CurveThreshold(r, q) + 2 * static_cast<std::size_t>(curve_points);
  }
  std::size_t Counts() const {
    return PlacementSize() + static_cast<std::size_t>(num_models) * CurveBlock();
  }
  std::size_t CountsSize() const { return ThresholdCountsLayout{num_models, bins}.Size(); }
  std::size_t CalibrationOk(int r) const {
    return Counts() + CountsSize() + 4 * static_cast<std::size_t>(r);
  }
  std::size_t CalibrationIntercept(int r) const { return CalibrationOk(r) + 1; }
  std::size_t CalibrationSlope(int r) const { return CalibrationOk(r) + 2; }
  std::size_t CalibrationReason(int r) const { return CalibrationOk(r) + 3; }
  std::size_t Size() const { return CalibrationOk(num_models); }
};

// Per feature: rows with an observed cell and the sum of those cells (see
// "Missing values" above).
struct ImputationSumsRequest {
  RowSubset rows;
  std::string dataset;  // the site's table for this request ("" = default)
};

using StatRequest =
    std::variant<MomentsRequest, LogisticRequest, SvmRequest, DevianceRequest,
                 ScoreHistogramRequest, PlattRequest, GridHistogramRequest, PlacementSumsRequest,
                 ThresholdCountsRequest, LocalEvaluationRequest, ImputationSumsRequest>;

// A site's tables by dataset name (one per model of a study).
using Datasets = std::map<std::string, LocalTable>;
// The same, not owned (the in-process aggregator's view of a site).
using DatasetViews = std::map<std::string, const LocalTable*>;

// The dataset a request names.
const std::string& DatasetOf(const StatRequest& request);
// Returns `request` with its dataset set to `dataset` and every RowSubset's
// outer_fold set to `outer_fold` (the ScopedAggregator's rewrite; an
// evaluation request's models' datasets are set to `dataset` too).
StatRequest Scoped(StatRequest request, const std::string& dataset, int outer_fold);
// Returns `request` with every fill set from imputation values (one per
// feature of the request's dataset): p values for moments, logistic and
// deviance requests, values[columns] for an SVM request and for every
// scorer (also an evaluation request's models', which must then be on the
// request's dataset). Which values: those of the request's row subset (a
// scorer's: that of its part): a subset of CV fold g (kTrainOfFold or
// kTestOfFold g) takes by_fold[g] (the values of fold g's training part),
// any other subset (or g outside by_fold) takes `all`. Empty values clear
// the fill. The ImputingAggregator's rewrite.
StatRequest WithFill(StatRequest request, const Eigen::VectorXd& all,
                     const std::vector<Eigen::VectorXd>& by_fold = {});

common::Result<std::vector<double>> ComputeMoments(const LocalTable& table,
                                                   const MomentsRequest& request);
common::Result<std::vector<double>> ComputeLogistic(const LocalTable& table,
                                                    const LogisticRequest& request);
common::Result<std::vector<double>> ComputeSvm(const LocalTable& table, const SvmRequest& request);
common::Result<std::vector<double>> ComputeDeviance(const LocalTable& table,
                                                    const DevianceRequest& request);
common::Result<std::vector<double>> ComputeScoreHistogram(const LocalTable& table,
                                                          const ScoreHistogramRequest& request);
common::Result<std::vector<double>> ComputePlatt(const LocalTable& table,
                                                 const PlattRequest& request);
common::Result<std::vector<double>> ComputeImputationSums(const LocalTable& table,
                                                          const ImputationSumsRequest& request);
// Evaluation requests: `rows_table` is the table of request.dataset,
// model_tables[r] that of request.models[r].dataset (same rows).
common::Result<std::vector<double>> ComputeGridHistogram(
    const LocalTable& rows_table, const std::vector<const LocalTable*>& model_tables,
    const GridHistogramRequest& request);
common::Result<std::vector<double>> ComputePlacementSums(
    const LocalTable& rows_table, const std::vector<const LocalTable*>& model_tables,
    const PlacementSumsRequest& request);
common::Result<std::vector<double>> ComputeThresholdCounts(
    const LocalTable& rows_table, const std::vector<const LocalTable*>& model_tables,
    const ThresholdCountsRequest& request);
// Defined in evaluation_kernels.cpp (it runs the other evaluation providers
// and FitRecalibration on this site's rows only).
common::Result<std::vector<double>> ComputeLocalEvaluation(
    const LocalTable& rows_table, const std::vector<const LocalTable*>& model_tables,
    const LocalEvaluationRequest& request);
// Dispatches on the request type (the request's dataset is ignored: `table`
// is used; for evaluation requests also for every model).
common::Result<std::vector<double>> Compute(const LocalTable& table, const StatRequest& request);
// Picks the request's dataset (and an evaluation request's models'
// datasets) from `datasets` (kNotFound naming it if the site has no such
// dataset) and dispatches.
common::Result<std::vector<double>> Compute(const Datasets& datasets, const StatRequest& request);
common::Result<std::vector<double>> Compute(const DatasetViews& datasets,
                                            const StatRequest& request);

// Size of the array each request produces on a table with p features (the
// same at every site; the aggregator checks it).
std::size_t ResultSize(const StatRequest& request, int num_features);

}  // namespace fedrad::site_agent::stats

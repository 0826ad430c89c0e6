// ROC analysis of R paired models: AUC, DeLong variance and 95% CI, paired
// DeLong tests, ROC curves, Youden's J and metrics at a threshold.
//
// Two entry points give the same RocAnalysis:
//   - PooledRocAnalysis: from the sums of the two site rounds of
//     fedrad/site_agent/stats/delong_site.hpp (pooled grid histograms and
//     pooled placement sums); exact for the scores rounded to the grid.
//   - LocalRocAnalysis: from raw scores held in one place (a cohort held by a
//     single site), exact and unbinned; the site releases only the result.
//
// Notation: N1 cases (label 1), N0 controls (label 0); for model r, case i
// and control j, ψ(x, y) = 1 if y < x, ½ if y = x, 0 otherwise;
//   V10_ir = (1/N0) Σ_j ψ(x_ir, y_jr),  V01_jr = (1/N1) Σ_i ψ(x_ir, y_jr).
//   AUC_r  = (1/N1) Σ_i V10_ir = (1/N0) Σ_j V01_jr   (Mann-Whitney, ties ½)
//   S10_rs = Σ_i (V10_ir - AUC_r)(V10_is - AUC_s) / (N1 - 1)
//   S01_rs = Σ_j (V01_jr - AUC_r)(V01_js - AUC_s) / (N0 - 1)
//   Cov_rs = S10_rs / N1 + S01_rs / N0     (DeLong et al. 1988; Var_r = Cov_rr)
//   95% CI = AUC_r ± z·sqrt(Var_r), z = qnorm(0.975), clipped to [0, 1]
//            (pROC ci.auc(method = "delong")).
//   Paired test of r against s: d = AUC_r - AUC_s,
//            σ² = Var_r + Var_s - 2 Cov_rs, Z = d/σ, p = 2Φ(-|Z|);
//            Z = 0 when d = σ = 0 (pROC roc.test(method = "delong",
//            paired = TRUE)); CI of d = d ± z·σ (not clipped).
// The sums are computed from the integer-scaled placements of
// delong_site.hpp (P10 = 2·N0·V10, P01 = 2·N1·V01); every centred numerator
// N·ΣPP - ΣP·ΣP is evaluated in exact 128-bit integer arithmetic, so no
// cancellation error enters the variances (σ² = 0 exactly for identical
// models). With fewer than 2 cases or 2 controls the variances, CIs, Z and p
// are NaN (as pROC).
//
// ROC curve and thresholds. A row is called positive at threshold t when its
// score is ≥ t (pooled mode: the score's grid value GridScore(k(s)) ≥ t).
// The curve has one point per distinct (grid) score value present in the
// cohort, ascending, with t = that value (the first point calls every row
// positive: sensitivity 1, specificity 0), plus a last point at t = +inf
// (sensitivity 0, specificity 1). Thresholds between two curve points give
// the counts of the upper point, so the curve is the ROC at every threshold
// (in pooled mode: at every grid threshold). Its (sensitivity, specificity)
// pairs are those of pROC's roc() with direction = "<" (pROC puts its
// thresholds half-way between distinct values).
// Youden's J = sensitivity + specificity - 1 is maximised over the curve;
// ties go to the lowest threshold.
#pragma once

#include <Eigen/Dense>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/site_agent/stats/delong_site.hpp"
#include "fedrad/site_agent/stats/evaluation_kernels.hpp"

namespace fedrad::coordinator {

// qnorm(0.975).
inline constexpr double kZ975 = 1.959963984540054;

struct RocPoint {
  double threshold = 0.0;  // positive iff score ≥ threshold
  double tp = 0.0;         // cases called positive
  double fp = 0.0;         // controls called positive
  double sensitivity = 0.0;
  double specificity = 0.0;
};

struct BinaryMetrics {
  double threshold = 0.0;  // the threshold asked for
  double tp = 0.0, fp = 0.0, tn = 0.0, fn = 0.0;
  double accuracy = 0.0;     // (tp + tn) / N
  double sensitivity = 0.0;  // tp / N1
  double specificity = 0.0;  // tn / N0
  double ppv = 0.0;          // tp / (tp + fp); NaN when nothing is called positive
  double npv = 0.0;          // tn / (tn + fn); NaN when nothing is called negative
};

struct ModelRoc {
  double auc = 0.0;
  double variance = 0.0;  // DeLong Var_r
  double ci_lower = 0.0, ci_upper = 0.0;
  // Pooled mode: ½ Σ_k cases_k·controls_k / (N1·N0), a bound on
  // |AUC(grid) - AUC(unbinned scores)| implied by the grid (0 if no cell
  // holds both classes). Local mode: 0.
  double binning_error_bound = 0.0;
  std::vector<RocPoint> curve;
  double youden_threshold = 0.0;
  double youden_j = 0.0;
};

struct DelongTest {
  int model_a = 0, model_b = 0;
  double auc_difference = 0.0;  // AUC_a - AUC_b
  double sd = 0.0;              // σ
  double z = 0.0;
  double p_value = 0.0;                   // two-sided
  double ci_lower = 0.0, ci_upper = 0.0;  // 95% CI of the difference
};

struct RocAnalysis {
  double n_cases = 0.0;     // N1
  double n_controls = 0.0;  // N0
  std::vector<ModelRoc> models;
  Eigen::MatrixXd covariance;  // R×R, Cov_rs above
  Eigen::MatrixXd s10, s01;    // R×R structural components
  // All pairs a < b in the order (0,1), (0,2), .., (0,R-1), (1,2), ..
  std::vector<DelongTest> comparisons;
};

// From the pooled round-1 histograms (site_agent::stats::GridHistograms,
// summed over sites; size 2·R·G) and the pooled round-2 placement sums
// (site_agent::stats::PlacementSums, summed; PlacementSumsLayout, size
// 2 + 2R + 2R²). Entries must be non-negative integers (within 1e-6).
// kInvalidArgument when sizes disagree, a class is empty, the models' blocks
// count different N1/N0, or the placement sums do not match the histograms
// (N1, N0, and Σ P10_r = Σ P01_r = the Mann-Whitney count of the histograms,
// each checked exactly).
common::Result<RocAnalysis> PooledRocAnalysis(const site_agent::stats::ScoreGrid& grid,
                                              int num_models,
                                              const std::vector<double>& pooled_histograms,
                                              const std::vector<double>& pooled_placement_sums);

// A single site's release (site_agent::stats::LocalEvaluationLayout): its
// placement sums against its own histograms (PlacementSumsLayout) and its
// grid ROC curves (GridCurveOf, without the +inf end; tied_pairs set). Gives
// exactly what PooledRocAnalysis gives on that site's histograms alone (the
// same integer sums enter the same formulas), except a curve the site
// thinned. kInvalidArgument for sizes, non-integers, an empty class,
// inconsistent sums or a curve that is not a ROC curve of the cohort.
common::Result<RocAnalysis> ReleasedRocAnalysis(
    int num_models, const std::vector<double>& placement_sums,
    const std::vector<site_agent::stats::GridCurve>& curves);

// Single-site (local) mode: exact and unbinned from raw scores (n × R,
// column r = model r) and labels in {0, 1}. kInvalidArgument for a bad
// label, a non-finite score, an empty class, or a cohort too large for exact
// integer sums (N1·(2·N0)² or N0·(2·N1)² ≥ 2^53).
common::Result<RocAnalysis> LocalRocAnalysis(const Eigen::MatrixXd& scores,
                                             const Eigen::VectorXd& labels);

// TP/FP/TN/FN and the derived metrics when rows with score ≥ threshold are
// called positive (pooled mode: grid value ≥ threshold), read off the curve.
BinaryMetrics MetricsAtThreshold(const ModelRoc& model, double threshold);

}  // namespace fedrad::coordinator

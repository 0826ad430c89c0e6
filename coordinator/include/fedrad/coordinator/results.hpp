// The results of a study as fedrad reports them (issue 6): the data model
// behind results.json (schema: docs/results.md), report.html and the
// terminal table. Filled by the coordinator from the federated evaluation
// (evaluation.hpp) and the fitted models; written by report.hpp. Every number
// here is an aggregate: no per-patient value appears anywhere in it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fedrad::coordinator {

// A cohort a model is evaluated on. kind "cv": the training sites' out-of-fold
// scores of the nested cross-validation; "external_site": one external site
// (name = its id); "external_pooled": all external sites together.
struct CohortRef {
  std::string kind;  // "cv" | "external_site" | "external_pooled"
  std::string name;  // "cv", the site id, or "external"
};

// Counts per site as the report shows them. Counts below the site's disclosure
// minimum are released as absent (std::nullopt) and shown as "<k".
struct SiteCohort {
  std::string site_id;
  std::string role;                      // "train" | "external"
  std::optional<std::int64_t> cases;     // label 1
  std::optional<std::int64_t> controls;  // label 0
  std::int64_t disclosure_minimum = 0;   // k of "<k"
  // A released count withheld by the coordinator so that a "<k" count of
  // another site of the same cohort cannot be recovered by subtracting the
  // released ones from the cohort total (complementary suppression).
  bool cases_withheld = false;
  bool controls_withheld = false;
};

// (Named apart from roc.hpp's RocPoint, which lives in the same namespace.)
struct RocCurvePoint {
  double threshold = 0.0;  // on the probability scale; +inf for the (0,0) end
  double fpr = 0.0;
  double tpr = 0.0;
};

struct CalibrationBin {
  double mean_predicted = 0.0;
  double observed_rate = 0.0;
  std::int64_t count = 0;
};

// One model on one cohort.
struct CohortMetrics {
  std::string model;
  CohortRef cohort;
  std::int64_t cases = 0;
  std::int64_t controls = 0;
  // "pooled_grid": from securely summed grid histograms and placement sums
  // (exact on the grid; auc_error_bound bounds the difference to the unbinned
  // AUC); "site_local": computed by the one site holding the cohort (exact).
  std::string mode;
  std::int64_t grid_points = 0;  // "pooled_grid": G of the probability grid, resolution 1/(G-1)
  // Which of the spec's grids (evaluation.grid_points / fallback_grid_points)
  // the cohort was evaluated on: "fine", or "fallback" when a site's
  // disclosure gate refused the fine grid's histograms.
  std::string grid = "fine";
  double auc_error_bound = 0.0;
  double auc = 0.0;
  double auc_se = 0.0;      // DeLong
  double auc_ci_low = 0.0;  // 95%, clipped to [0, 1]
  double auc_ci_high = 0.0;
  double threshold = 0.0;  // probability threshold used (fixed on training data)
  std::int64_t tp = 0, fp = 0, tn = 0, fn = 0;
  double accuracy = 0.0;
  double sensitivity = 0.0;
  double specificity = 0.0;
  std::optional<double> ppv;  // absent when no case is called positive
  std::optional<double> npv;
  std::optional<double> brier;  // external cohorts
  std::optional<double> calibration_intercept;
  std::optional<double> calibration_slope;
  std::vector<RocCurvePoint> roc;           // from (0,0) to (1,1)
  std::vector<CalibrationBin> calibration;  // external cohorts; may be empty
};

// Paired DeLong test between two models on the same cohort.
struct DelongComparison {
  CohortRef cohort;
  std::string model_a;
  std::string model_b;
  double auc_a = 0.0;
  double auc_b = 0.0;
  double z = 0.0;
  double p_value = 1.0;
};

struct SelectedFeature {
  std::string name;
  double coefficient = 0.0;  // SVM weight on the standardised feature
};

struct ModelResult {
  std::string name;
  std::vector<std::string> columns;  // the model's candidate columns
  double lambda = 0.0;               // chosen λ
  std::string lambda_rule;           // "lambda.min" | "lambda.1se"
  double c = 0.0;                    // chosen SVM C
  double svm_bias = 0.0;
  std::optional<double> platt_a;  // P(y=1|f) = 1 / (1 + exp(a f + b))
  std::optional<double> platt_b;
  std::string threshold_rule;  // e.g. "youden_oof" or "probability 0.5"
  double threshold = 0.5;
  std::vector<SelectedFeature> selected;
};

// What left one site (the privacy ledger): from the coordinator's counters
// and audit trail.
struct SiteLedger {
  std::string site_id;
  std::string role;
  std::int64_t rounds = 0;
  std::int64_t bytes_to = 0;
  std::int64_t bytes_from = 0;
  std::vector<std::string> statistic_kinds;  // e.g. "moments", "logistic", "score_histogram"
};

// Missing values imputed with a pooled statistic (data_dictionary
// "missing": "impute"; docs/methods.md §11): one study column.
struct ImputedColumn {
  std::string column;
  std::string statistic;     // "mean" | "majority" | "mode"
  double value = 0.0;        // the final model's value (from all training rows)
  double missing_cells = 0;  // among all training rows
};

struct StudyResults {
  std::string study_id;
  std::string spec_sha256;
  std::string fedrad_version;
  std::string started_utc;  // ISO 8601, e.g. 2026-11-27T07:00:00Z
  std::string finished_utc;
  std::string mode;  // "federated" | "pooled" | "simulated"
  bool secure_aggregation = false;
  int min_sites = 0;
  bool fewer_sites_allowed = false;
  std::string cv_scheme;  // e.g. "nested 5-fold"
  std::int64_t rounds = 0;
  std::vector<SiteCohort> sites;
  std::vector<ModelResult> models;
  std::vector<CohortMetrics> metrics;
  std::vector<DelongComparison> comparisons;
  std::vector<SiteLedger> ledger;
  // Missing values (empty: no imputation): every imputed column once, and
  // the total of missing cells imputed among the training rows.
  std::vector<ImputedColumn> imputation;
  double missing_cells_imputed = 0.0;
  std::vector<std::string> notes;  // e.g. "outside_cv selection: CV AUC is optimistic"
};

}  // namespace fedrad::coordinator

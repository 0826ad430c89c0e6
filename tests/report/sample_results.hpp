// A sample StudyResults for the report tests and fedrad_report_sample: three
// models (clinical, radiomics, combined) on the cross-validation cohort of
// three training sites (pooled grid) and one external site (site-local), with
// realistic numbers. The confusion-matrix metrics are derived from the counts
// and the DeLong p-values from Z, so the fixture is internally consistent.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "fedrad/coordinator/results.hpp"

namespace fedrad::testing {

namespace sample_detail {

using coordinator::CohortMetrics;
using coordinator::CohortRef;

// Fills tp/fp/tn/fn and the metrics that follow from them.
inline void SetConfusion(CohortMetrics& m, std::int64_t tp, std::int64_t fn, std::int64_t tn,
                         std::int64_t fp) {
  m.tp = tp;
  m.fn = fn;
  m.tn = tn;
  m.fp = fp;
  m.cases = tp + fn;
  m.controls = tn + fp;
  m.accuracy = static_cast<double>(tp + tn) / static_cast<double>(m.cases + m.controls);
  m.sensitivity = static_cast<double>(tp) / static_cast<double>(m.cases);
  m.specificity = static_cast<double>(tn) / static_cast<double>(m.controls);
  if (tp + fp > 0) m.ppv = static_cast<double>(tp) / static_cast<double>(tp + fp);
  if (tn + fn > 0) m.npv = static_cast<double>(tn) / static_cast<double>(tn + fn);
}

// A smooth ROC curve with the given AUC: tpr = fpr^θ, θ = 1/AUC − 1 (whose
// area is exactly AUC), from (0,0) (threshold +inf) to (1,1), 41 points.
inline void SetRoc(CohortMetrics& m) {
  const double theta = 1.0 / m.auc - 1.0;
  m.roc.push_back({std::numeric_limits<double>::infinity(), 0.0, 0.0});
  for (int k = 1; k <= 40; ++k) {
    const double fpr = k / 40.0;
    m.roc.push_back({1.0 - k / 41.0, fpr, std::pow(fpr, theta)});
  }
}

inline CohortMetrics Metrics(const std::string& model, const CohortRef& cohort, double auc,
                             double se, double threshold) {
  CohortMetrics m;
  m.model = model;
  m.cohort = cohort;
  m.auc = auc;
  m.auc_se = se;
  m.auc_ci_low = std::max(0.0, auc - 1.959963984540054 * se);
  m.auc_ci_high = std::min(1.0, auc + 1.959963984540054 * se);
  m.threshold = threshold;
  return m;
}

inline coordinator::DelongComparison Compare(const CohortRef& cohort, const CohortMetrics& a,
                                             const CohortMetrics& b, double z) {
  coordinator::DelongComparison c;
  c.cohort = cohort;
  c.model_a = a.model;
  c.model_b = b.model;
  c.auc_a = a.auc;
  c.auc_b = b.auc;
  c.z = z;
  c.p_value = std::erfc(std::fabs(z) / std::sqrt(2.0));  // 2Φ(−|Z|)
  return c;
}

}  // namespace sample_detail

inline coordinator::StudyResults SampleStudyResults() {
  using namespace coordinator;
  using sample_detail::Compare;
  using sample_detail::Metrics;
  using sample_detail::SetConfusion;
  using sample_detail::SetRoc;

  StudyResults r;
  r.study_id = "lung-nodule-malignancy-2026";
  r.spec_sha256 = "3f1c9a0e5b7d2c4e8f6a1b3d5c7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e";
  r.fedrad_version = "0.6.0";
  r.started_utc = "2026-11-27T07:00:00Z";
  r.finished_utc = "2026-11-27T07:41:12Z";
  r.mode = "federated";
  r.secure_aggregation = true;
  r.min_sites = 3;
  r.fewer_sites_allowed = false;
  r.cv_scheme = "nested 5-fold (inner 5-fold for lambda and C)";
  r.rounds = 214;
  r.notes = {
      "Threshold fixed by Youden's J on the out-of-fold scores; never tuned on "
      "external data.",
      "Cross-validation AUCs from a 1001-point score grid (site policy refused the "
      "fine grid)."};

  r.sites = {
      {"site_a", "train", 61, 118, 10},
      {"site_b", "train", 52, 101, 10},
      {"site_c", "train", std::nullopt, 56, 25},  // 24 cases: below k = 25
      {"hospital_d", "external", 48, 96, 10},
  };

  std::vector<std::string> clinical_columns = {
      "age", "sex", "smoking_pack_years", "nodule_diameter_mm", "spiculation", "upper_lobe"};
  std::vector<std::string> radiomics_columns;
  for (int k = 0; k < 107; ++k) radiomics_columns.push_back("radiomic_" + std::to_string(k));
  const std::vector<std::string> radiomics_selected = {
      "original_shape_Sphericity", "original_firstorder_Entropy", "wavelet-LLH_glcm_Correlation",
      "original_glszm_ZoneEntropy", "log-sigma-3mm_firstorder_Skewness"};
  for (std::size_t k = 0; k < radiomics_selected.size(); ++k) {
    radiomics_columns[k] = radiomics_selected[k];
  }
  std::vector<std::string> combined_columns = clinical_columns;
  combined_columns.insert(combined_columns.end(), radiomics_columns.begin(),
                          radiomics_columns.end());

  ModelResult clinical;
  clinical.name = "clinical";
  clinical.columns = clinical_columns;
  clinical.lambda = 0.0213;
  clinical.lambda_rule = "lambda.1se";
  clinical.c = 0.1;
  clinical.svm_bias = -0.412;
  clinical.platt_a = -1.874;
  clinical.platt_b = 0.733;
  clinical.threshold_rule = "youden_oof";
  clinical.threshold = 0.338;
  clinical.selected = {{"age", 0.412},
                       {"smoking_pack_years", 0.287},
                       {"nodule_diameter_mm", 0.655},
                       {"spiculation", 0.398}};

  ModelResult radiomics;
  radiomics.name = "radiomics";
  radiomics.columns = radiomics_columns;
  radiomics.lambda = 0.0374;
  radiomics.lambda_rule = "lambda.1se";
  radiomics.c = 0.03;
  radiomics.svm_bias = -0.388;
  radiomics.platt_a = -2.106;
  radiomics.platt_b = 0.691;
  radiomics.threshold_rule = "youden_oof";
  radiomics.threshold = 0.352;
  radiomics.selected = {{"original_shape_Sphericity", -0.523},
                        {"original_firstorder_Entropy", 0.471},
                        {"wavelet-LLH_glcm_Correlation", 0.214},
                        {"original_glszm_ZoneEntropy", 0.306},
                        {"log-sigma-3mm_firstorder_Skewness", -0.118}};

  ModelResult combined;
  combined.name = "combined";
  combined.columns = combined_columns;
  combined.lambda = 0.0291;
  combined.lambda_rule = "lambda.1se";
  combined.c = 0.03;
  combined.svm_bias = -0.455;
  combined.platt_a = -2.331;
  combined.platt_b = 0.702;
  combined.threshold_rule = "youden_oof";
  combined.threshold = 0.361;
  combined.selected = {{"age", 0.276},
                       {"nodule_diameter_mm", 0.418},
                       {"spiculation", 0.251},
                       {"original_shape_Sphericity", -0.437},
                       {"original_firstorder_Entropy", 0.389},
                       {"original_glszm_ZoneEntropy", 0.214}};
  r.models = {clinical, radiomics, combined};

  const CohortRef cv{"cv", "cv"};
  const CohortRef ext{"external_site", "hospital_d"};

  // Cross-validation: 137 cases, 275 controls, pooled grid of 1001 points.
  CohortMetrics cv_clinical = Metrics("clinical", cv, 0.712, 0.0262, clinical.threshold);
  SetConfusion(cv_clinical, 89, 48, 187, 88);
  CohortMetrics cv_radiomics = Metrics("radiomics", cv, 0.774, 0.0238, radiomics.threshold);
  SetConfusion(cv_radiomics, 98, 39, 198, 77);
  CohortMetrics cv_combined = Metrics("combined", cv, 0.811, 0.0221, combined.threshold);
  SetConfusion(cv_combined, 104, 33, 206, 69);
  for (CohortMetrics* m : {&cv_clinical, &cv_radiomics, &cv_combined}) {
    m->mode = "pooled_grid";
    m->grid_points = 1001;
    SetRoc(*m);
  }
  cv_clinical.auc_error_bound = 2.4e-4;
  cv_radiomics.auc_error_bound = 1.9e-4;
  cv_combined.auc_error_bound = 2.1e-4;

  // External site: 48 cases, 96 controls, computed at the site.
  CohortMetrics ext_clinical = Metrics("clinical", ext, 0.684, 0.0459, clinical.threshold);
  SetConfusion(ext_clinical, 30, 18, 60, 36);
  CohortMetrics ext_radiomics = Metrics("radiomics", ext, 0.742, 0.0423, radiomics.threshold);
  SetConfusion(ext_radiomics, 33, 15, 65, 31);
  CohortMetrics ext_combined = Metrics("combined", ext, 0.779, 0.0398, combined.threshold);
  SetConfusion(ext_combined, 35, 13, 69, 27);
  const double brier[] = {0.204, 0.189, 0.176};
  const double intercept[] = {-0.142, 0.087, -0.061};
  const double slope[] = {0.812, 0.874, 0.921};
  const std::vector<std::vector<CalibrationBin>> bins = {
      {{0.092, 0.125, 24},
       {0.211, 0.172, 29},
       {0.334, 0.310, 29},
       {0.467, 0.414, 29},
       {0.648, 0.581, 33}},
      {{0.081, 0.091, 22},
       {0.196, 0.233, 30},
       {0.327, 0.290, 31},
       {0.472, 0.433, 30},
       {0.689, 0.645, 31}},
      {{0.074, 0.050, 20},
       {0.188, 0.226, 31},
       {0.329, 0.313, 32},
       {0.481, 0.500, 30},
       {0.712, 0.677, 31}},
  };
  int k = 0;
  for (CohortMetrics* m : {&ext_clinical, &ext_radiomics, &ext_combined}) {
    m->mode = "site_local";
    SetRoc(*m);
    m->brier = brier[k];
    m->calibration_intercept = intercept[k];
    m->calibration_slope = slope[k];
    m->calibration = bins[static_cast<std::size_t>(k)];
    ++k;
  }
  r.metrics = {cv_clinical, cv_radiomics, cv_combined, ext_clinical, ext_radiomics, ext_combined};

  r.comparisons = {
      Compare(cv, cv_combined, cv_clinical, 3.42),
      Compare(cv, cv_combined, cv_radiomics, 1.87),
      Compare(cv, cv_radiomics, cv_clinical, 2.05),
      Compare(ext, ext_combined, ext_clinical, 2.31),
      Compare(ext, ext_combined, ext_radiomics, 1.12),
      Compare(ext, ext_radiomics, ext_clinical, 1.24),
  };

  const std::vector<std::string> train_kinds = {"moments",         "logistic",    "svm_hinge",
                                                "score_histogram", "delong_sums", "platt"};
  r.ledger = {
      {"site_a", "train", 214, 3184512, 1472360, train_kinds},
      {"site_b", "train", 214, 3184512, 1472360, train_kinds},
      {"site_c", "train", 214, 3184512, 1472360, train_kinds},
      {"hospital_d", "external", 3, 8816, 21504, {"roc_local", "calibration"}},
  };
  return r;
}

}  // namespace fedrad::testing

#include "fedrad/coordinator/study_results.hpp"

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <map>

#include "fedrad/common/version.hpp"
#include "fedrad/coordinator/report.hpp"

namespace fedrad::coordinator {

std::string UtcNow() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

namespace {

// The statistic kinds a study's rounds release (the privacy ledger).
std::vector<std::string> StatisticKinds(const protocols::StudySpec& spec) {
  std::vector<std::string> kinds = {"moments", "logistic", "deviance", "svm", "score_histogram"};
  if (spec.platt) kinds.push_back("platt");
  if (spec.has_data_dictionary && spec.data_dictionary.impute) kinds.push_back("imputation_sums");
  for (const char* kind : {"grid_histogram", "placement_sums", "threshold_counts"}) {
    kinds.emplace_back(kind);
  }
  return kinds;
}

ModelResult ModelResultOf(const protocols::StudySpec& spec, const std::string& name,
                          const std::vector<std::string>& columns, const FittedModel& model,
                          const std::optional<ModelThreshold>& threshold) {
  ModelResult result;
  result.name = name;
  result.columns = columns;
  result.lambda = model.lasso.lambda_chosen;
  result.lambda_rule = spec.lambda_1se ? "lambda.1se" : "lambda.min";
  result.c = model.svm_cv.c_chosen;
  result.svm_bias = model.svm.intercept;
  if (model.has_platt) {
    result.platt_a = model.platt.a;
    result.platt_b = model.platt.b;
  }
  if (threshold) {
    result.threshold_rule = threshold->rule == "youden_oof"
                                ? "youden_oof (Youden's J on out-of-fold probabilities)"
                                : threshold->rule;
    result.threshold = threshold->threshold;
  }
  for (std::size_t j = 0; j < model.svm.columns.size(); ++j) {
    const int column = model.svm.columns[j];
    SelectedFeature feature;
    feature.name = column >= 0 && static_cast<std::size_t>(column) < columns.size()
                       ? columns[static_cast<std::size_t>(column)]
                       : "column " + std::to_string(column);
    feature.coefficient = model.svm.w[static_cast<Eigen::Index>(j)];
    result.selected.push_back(std::move(feature));
  }
  return result;
}

}  // namespace

void WithholdComplementaryCounts(std::vector<SiteCohort>* sites) {
  for (const char* role : {"train", "external"}) {
    for (const bool cases : {true, false}) {
      std::vector<SiteCohort*> group;
      for (SiteCohort& site : *sites) {
        if (site.role == role) group.push_back(&site);
      }
      if (group.size() < 2) continue;  // one site: its total is its own count
      const auto value = [cases](SiteCohort* site) -> std::optional<std::int64_t>& {
        return cases ? site->cases : site->controls;
      };
      std::size_t hidden = 0;
      SiteCohort* smallest = nullptr;
      for (SiteCohort* site : group) {
        if (!value(site).has_value()) {
          ++hidden;
        } else if (smallest == nullptr || *value(site) < *value(smallest)) {
          smallest = site;
        }
      }
      // Two or more hidden counts only reveal their sum, which is below
      // their k's together; exactly one would follow from the total.
      if (hidden != 1 || smallest == nullptr) continue;
      value(smallest).reset();
      (cases ? smallest->cases_withheld : smallest->controls_withheld) = true;
    }
  }
}

common::Result<StudyResults> EvaluateStudy(const StudyReportInputs& in,
                                           const EvaluationCohorts& cohorts,
                                           const EvaluationOptions& options) {
  if (in.spec == nullptr || in.columns == nullptr || in.plan == nullptr || in.run == nullptr ||
      in.provenance == nullptr) {
    return common::InvalidArgument("EvaluateStudy: missing input");
  }
  const protocols::StudySpec& spec = *in.spec;
  FEDRAD_ASSIGN_OR_RETURN(std::vector<EvaluationModel> models,
                          EvaluationModelsOf(*in.plan, *in.run));
  // The spec's public grids (evaluation.grid_points, fallback_grid_points).
  EvaluationOptions effective = options;
  effective.grid_size = spec.evaluation.grid_points;
  effective.fallback_grid_size = spec.evaluation.fallback_grid_points;
  FEDRAD_ASSIGN_OR_RETURN(EvaluationResult evaluation,
                          EvaluateModels(models, in.plan->outer_folds, cohorts, effective));

  StudyResults results;
  results.study_id = spec.study_id;
  results.spec_sha256 = spec.sha256;
  results.fedrad_version = std::string(common::Version());
  results.started_utc = in.started_utc;
  results.finished_utc = UtcNow();
  results.mode = in.provenance->mode == "simulate" ? "simulated" : in.provenance->mode;
  results.secure_aggregation =
      in.provenance->mode == "federated" && spec.privacy.secure_aggregation;
  results.min_sites = spec.privacy.min_sites;
  results.fewer_sites_allowed = spec.privacy.allow_fewer_sites;
  results.cv_scheme = std::to_string(spec.folds) + "-fold " +
                      (spec.nested ? "nested cross-validation"
                                   : "cross-validation (selection outside the CV: optimistic)");
  results.rounds = in.run->rounds + evaluation.rounds;

  for (const KnownSiteCounts& counts : in.site_counts) {
    SiteCohort site;
    site.site_id = counts.site_id;
    site.role = counts.external ? "external" : "train";
    if (counts.disclosure_minimum >= 0) {  // released by the site itself
      site.disclosure_minimum = counts.disclosure_minimum;
      site.cases = counts.cases;
      site.controls = counts.controls;
    } else {
      site.disclosure_minimum = in.disclosure_minimum;
      if (counts.cases && *counts.cases >= in.disclosure_minimum) site.cases = counts.cases;
      if (counts.controls && *counts.controls >= in.disclosure_minimum) {
        site.controls = counts.controls;
      }
    }
    results.sites.push_back(std::move(site));
  }
  WithholdComplementaryCounts(&results.sites);

  std::map<std::string, ModelThreshold> thresholds;
  for (const ModelThreshold& t : evaluation.thresholds) thresholds[t.model] = t;
  for (std::size_t m = 0; m < in.run->models.size(); ++m) {
    const ModelRun& model = in.run->models[m];
    const auto columns = in.columns->find(model.name);
    const auto threshold = thresholds.find(model.name);
    results.models.push_back(ModelResultOf(
        spec, model.name,
        columns == in.columns->end() ? std::vector<std::string>{} : columns->second,
        model.final_model,
        threshold == thresholds.end() ? std::nullopt : std::optional(threshold->second)));
  }
  results.metrics = std::move(evaluation.metrics);
  results.comparisons = std::move(evaluation.comparisons);
  // Missing values imputed (study_runner.hpp ImputationSummary).
  results.imputation = ImputationSummary(spec, *in.columns, *in.run);
  for (const ImputedColumn& c : results.imputation)
    results.missing_cells_imputed += c.missing_cells;

  const std::vector<std::string> kinds = StatisticKinds(spec);
  for (const std::string& site : in.provenance->sites) {
    SiteLedger ledger;
    ledger.site_id = site;
    ledger.role = "train";
    ledger.rounds = results.rounds;
    ledger.bytes_to = in.provenance->bytes_to_each_site;
    ledger.bytes_from = in.provenance->bytes_from_each_site;
    ledger.statistic_kinds = kinds;
    results.ledger.push_back(std::move(ledger));
  }
  for (const auto& [site, reason] : in.provenance->excluded_sites) {
    results.notes.push_back("site " + site + " was excluded from the study: " + reason);
  }
  if (!spec.nested) {
    results.notes.push_back(
        "Feature selection and C were chosen on all training rows (outside_cv): the "
        "cross-validated metrics are optimistic.");
  }
  if (results.mode == "federated" && !results.secure_aggregation) {
    results.notes.push_back(
        "Secure aggregation was off: the coordinator saw each site's statistics.");
  }
  for (std::string& note : evaluation.notes) results.notes.push_back(std::move(note));
  return results;
}

common::Result<std::string> WriteStudyReport(const StudyResults& results,
                                             const std::string& out_dir) {
  const std::string base = out_dir.empty() ? std::string(".") : out_dir;
  FEDRAD_RETURN_IF_ERROR(WriteResultsJson(results, base + "/results.json"));
  FEDRAD_RETURN_IF_ERROR(WriteReportHtml(results, base + "/report.html"));
  return FormatResultsTable(results);
}

}  // namespace fedrad::coordinator

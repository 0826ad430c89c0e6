#include "fedrad/coordinator/study_runner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <system_error>
#include <variant>

#include "fedrad/common/csv.hpp"
#include "fedrad/common/files.hpp"
#include "fedrad/common/keys.hpp"
#include "fedrad/common/version.hpp"
#include "fedrad/coordinator/study_results.hpp"
#include "fedrad/site_agent/stats/feature_table.hpp"

namespace fedrad::coordinator {

namespace {

// A small JSON tree whose numbers are written as %.17g in the C locale
// (common::FormatDouble), so that files reproduce exactly and parse back to
// the same doubles. Non-finite numbers are written as null.
class Json {
 public:
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;

  Json() : value_(nullptr) {}
  Json(std::nullptr_t) : value_(nullptr) {}                           // NOLINT
  Json(bool b) : value_(b) {}                                         // NOLINT
  Json(int i) : value_(static_cast<std::int64_t>(i)) {}               // NOLINT
  Json(std::int64_t i) : value_(i) {}                                 // NOLINT
  Json(double d) : value_(d) {}                                       // NOLINT
  Json(const char* s) : value_(std::string(s)) {}                     // NOLINT
  Json(std::string s) : value_(std::move(s)) {}                       // NOLINT
  Json(Array a) : value_(std::make_shared<Array>(std::move(a))) {}    // NOLINT
  Json(Object o) : value_(std::make_shared<Object>(std::move(o))) {}  // NOLINT

  static Json Numbers(const std::vector<double>& values) {
    Array a;
    for (double v : values) a.emplace_back(v);
    return a;
  }
  static Json Numbers(const Eigen::VectorXd& values) {
    Array a;
    for (Eigen::Index i = 0; i < values.size(); ++i) a.emplace_back(values[i]);
    return a;
  }
  static Json Strings(const std::vector<std::string>& values) {
    Array a;
    for (const auto& v : values) a.emplace_back(v);
    return a;
  }

  std::string Dump() const {
    std::string out;
    Write(out, 0);
    out += '\n';
    return out;
  }

 private:
  bool IsScalar() const {
    return !std::holds_alternative<std::shared_ptr<Array>>(value_) &&
           !std::holds_alternative<std::shared_ptr<Object>>(value_);
  }

  void Write(std::string& out, int indent) const {
    if (std::holds_alternative<std::nullptr_t>(value_)) {
      out += "null";
    } else if (const bool* b = std::get_if<bool>(&value_)) {
      out += *b ? "true" : "false";
    } else if (const std::int64_t* i = std::get_if<std::int64_t>(&value_)) {
      out += std::to_string(*i);
    } else if (const double* d = std::get_if<double>(&value_)) {
      out += std::isfinite(*d) ? common::FormatDouble(*d) : "null";
    } else if (const std::string* s = std::get_if<std::string>(&value_)) {
      out += nlohmann::json(*s).dump();
    } else if (const auto* a = std::get_if<std::shared_ptr<Array>>(&value_)) {
      const Array& array = **a;
      bool flat = true;
      for (const Json& e : array) flat = flat && e.IsScalar();
      if (array.empty()) {
        out += "[]";
      } else if (flat) {  // arrays of scalars on one line
        out += '[';
        for (std::size_t k = 0; k < array.size(); ++k) {
          if (k > 0) out += ", ";
          array[k].Write(out, indent);
        }
        out += ']';
      } else {
        out += "[\n";
        for (std::size_t k = 0; k < array.size(); ++k) {
          out += std::string(static_cast<std::size_t>(indent + 2), ' ');
          array[k].Write(out, indent + 2);
          out += k + 1 < array.size() ? ",\n" : "\n";
        }
        out += std::string(static_cast<std::size_t>(indent), ' ') + ']';
      }
    } else {
      const Object& object = *std::get<std::shared_ptr<Object>>(value_);
      if (object.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      for (std::size_t k = 0; k < object.size(); ++k) {
        out += std::string(static_cast<std::size_t>(indent + 2), ' ');
        out += nlohmann::json(object[k].first).dump() + ": ";
        object[k].second.Write(out, indent + 2);
        out += k + 1 < object.size() ? ",\n" : "\n";
      }
      out += std::string(static_cast<std::size_t>(indent), ' ') + '}';
    }
  }

  std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, std::shared_ptr<Array>,
               std::shared_ptr<Object>>
      value_;
};

// Original units of a linear predictor on standardised features:
// b_j = β_j / sd_j (0 for a constant column), b0 = β0 - Σ b_j mean_j.
struct OriginalUnits {
  double intercept = 0.0;
  Eigen::VectorXd coefficients;
};

OriginalUnits ToOriginalUnits(double intercept, const Eigen::VectorXd& beta,
                              const Eigen::VectorXd& mean, const Eigen::VectorXd& sd) {
  OriginalUnits out;
  out.coefficients = Eigen::VectorXd::Zero(beta.size());
  out.intercept = intercept;
  for (Eigen::Index j = 0; j < beta.size(); ++j) {
    if (sd[j] > 0.0) out.coefficients[j] = beta[j] / sd[j];
    out.intercept -= out.coefficients[j] * mean[j];
  }
  return out;
}

Json StandardizationJson(const Standardization& s) {
  return Json::Object{{"n", s.n},
                      {"n_positive", s.sum_y},
                      {"mean", Json::Numbers(s.mean)},
                      {"sd", Json::Numbers(s.sd)}};
}

std::vector<std::string> Names(const std::vector<std::string>& columns,
                               const std::vector<int>& indices) {
  std::vector<std::string> names;
  for (int j : indices) {
    names.push_back(j >= 0 && static_cast<std::size_t>(j) < columns.size()
                        ? columns[static_cast<std::size_t>(j)]
                        : "#" + std::to_string(j));
  }
  return names;
}

Json ProvenanceJson(const protocols::StudySpec& spec, const RunProvenance& provenance) {
  Json::Object data;
  for (const auto& [site, sha] : provenance.data_sha256) data.emplace_back(site, sha);
  Json::Array excluded;
  for (const auto& [site, reason] : provenance.excluded_sites) {
    excluded.emplace_back(Json::Object{{"site", site}, {"reason", reason}});
  }
  return Json::Object{{"fedrad_version", std::string(common::Version())},
                      {"study_id", spec.study_id},
                      {"spec_sha256", spec.sha256},
                      {"feature_dictionary", spec.feature_dictionary_path},
                      {"mode", provenance.mode},
                      {"sites", Json::Strings(provenance.sites)},
                      {"excluded_sites", Json(std::move(excluded))},
                      {"data_sha256", Json(std::move(data))}};
}

// Missing values: the imputation rule of every study-table column the data
// dictionary makes ("clin_<feature>", "clin_<variable>_<level>"); any other
// column (radiomics) takes the mean.
std::map<std::string, ColumnImputation> ImputationRules(const protocols::StudySpec& spec) {
  std::map<std::string, ColumnImputation> rules;
  const protocols::StudyDataDictionary& dictionary = spec.data_dictionary;
  for (const std::string& feature : dictionary.features) {
    const auto variable =
        std::find_if(dictionary.variables.begin(), dictionary.variables.end(),
                     [&](const protocols::StudyVariable& v) { return v.name == feature; });
    ColumnImputation rule;
    if (variable == dictionary.variables.end()) {
      rule.statistic = ImputationStatistic::kMajority;  // derived: 0/1
    } else if (variable->type == protocols::VariableType::kCategorical) {
      const auto levels = static_cast<int>(variable->levels.size());
      for (int level = 1; level < levels; ++level) {
        ColumnImputation dummy;
        dummy.statistic = ImputationStatistic::kMode;
        dummy.group = feature;
        dummy.level = level;
        dummy.levels = levels;
        rules["clin_" + feature + "_" + variable->levels[static_cast<std::size_t>(level)]] = dummy;
      }
      continue;
    } else if (variable->type == protocols::VariableType::kBinary) {
      rule.statistic = ImputationStatistic::kMajority;
    }
    rules["clin_" + feature] = rule;
  }
  return rules;
}

// The imputation statistic of a study column ("mean" for a column the
// dictionary does not make).
std::string ImputationStatisticFor(const protocols::StudySpec& spec, const std::string& column) {
  const auto rules = ImputationRules(spec);
  const auto it = rules.find(column);
  return ImputationStatisticName(it == rules.end() ? ImputationStatistic::kMean
                                                   : it->second.statistic);
}

common::Result<Json> ModelJson(const protocols::StudySpec& spec,
                               const std::vector<std::string>& columns, const ModelRun& run,
                               std::int64_t study_rounds, const RunProvenance& provenance) {
  const FittedModel& fit = run.final_model;
  const LassoCvResult& cv = fit.lasso;
  const std::string where = "model \"" + run.name + "\": ";
  if (cv.path.points.empty() || cv.index_chosen < 0 ||
      static_cast<std::size_t>(cv.index_chosen) >= cv.path.points.size()) {
    return common::Internal(where + "the LASSO path has no point at the chosen lambda");
  }
  const LassoPathPoint& point = cv.path.points[static_cast<std::size_t>(cv.index_chosen)];
  const Standardization& st = cv.path.standardization;
  if (point.beta.size() != static_cast<Eigen::Index>(columns.size()) ||
      st.mean.size() != point.beta.size() || st.sd.size() != point.beta.size()) {
    return common::Internal(where + "LASSO coefficients do not match the model's " +
                            std::to_string(columns.size()) + " columns");
  }
  const OriginalUnits lasso_original = ToOriginalUnits(point.intercept, point.beta, st.mean, st.sd);

  Json::Array path_points;
  std::vector<double> path_lambda;
  std::vector<double> path_kkt;
  std::vector<double> path_objective;
  Json::Array path_nonzero;
  for (const LassoPathPoint& q : cv.path.points) {
    path_lambda.push_back(q.lambda);
    path_kkt.push_back(q.kkt_residual);
    path_objective.push_back(q.objective);
    path_nonzero.emplace_back(static_cast<std::int64_t>((q.beta.array() != 0.0).count()));
  }

  Json lasso = Json::Object{{"lambda_choice", spec.lambda_1se ? "lambda.1se" : "lambda.min"},
                            {"lambda", cv.lambda_chosen},
                            {"lambda_min", cv.lambda_min},
                            {"lambda_1se", cv.lambda_1se},
                            {"lambda_max", cv.path.lambda_max},
                            {"index_chosen", cv.index_chosen},
                            {"index_min", cv.index_min},
                            {"index_1se", cv.index_1se},
                            {"columns", Json::Strings(columns)},
                            {"standardization", StandardizationJson(st)},
                            {"intercept", point.intercept},
                            {"coefficients", Json::Numbers(point.beta)},
                            {"intercept_original", lasso_original.intercept},
                            {"coefficients_original", Json::Numbers(lasso_original.coefficients)},
                            {"path", Json::Object{{"lambda", Json::Numbers(path_lambda)},
                                                  {"cvm", Json::Numbers(cv.cvm)},
                                                  {"cvsd", Json::Numbers(cv.cvsd)},
                                                  {"nonzero", Json(std::move(path_nonzero))},
                                                  {"kkt_residual", Json::Numbers(path_kkt)},
                                                  {"objective", Json::Numbers(path_objective)}}},
                            {"fold_n", Json::Numbers(cv.fold_n)},
                            {"rounds", cv.rounds}};

  const std::vector<std::string> selected = Names(columns, fit.selected);
  Json svm;
  const auto k = static_cast<Eigen::Index>(fit.selected.size());
  if (k == 0) {
    svm = nullptr;  // intercept-only model (pipeline.hpp)
  } else {
    const Standardization& sst = fit.svm_standardization;
    if (fit.svm.w.size() != k || sst.mean.size() != k || sst.sd.size() != k) {
      return common::Internal(where + "SVM weights do not match the " + std::to_string(k) +
                              " selected columns");
    }
    const OriginalUnits svm_original =
        ToOriginalUnits(fit.svm.intercept, fit.svm.w, sst.mean, sst.sd);
    svm = Json::Object{{"loss", spec.hinge ? "hinge" : "squared_hinge"},
                       {"regularize_bias", spec.regularize_bias},
                       {"bias_value", spec.bias_value},
                       {"c", fit.svm_cv.c_chosen},
                       {"c_grid", Json::Numbers(fit.svm_cv.c_grid)},
                       {"cv_auc", Json::Numbers(fit.svm_cv.cv_auc)},
                       {"index_chosen", fit.svm_cv.index_chosen},
                       {"columns", Json::Strings(selected)},
                       {"standardization", StandardizationJson(sst)},
                       {"weights", Json::Numbers(fit.svm.w)},
                       {"bias_weight", fit.svm.bias_weight},
                       {"intercept", fit.svm.intercept},
                       {"weights_original", Json::Numbers(svm_original.coefficients)},
                       {"intercept_original", svm_original.intercept},
                       {"objective", fit.svm.objective},
                       {"iterations", fit.svm.iterations},
                       {"cv_rounds", fit.svm_cv.rounds},
                       {"rounds", fit.svm.rounds}};
  }

  Json platt = nullptr;
  if (fit.has_platt) {
    platt = Json::Object{{"a", fit.platt.a},
                         {"b", fit.platt.b},
                         {"loss", fit.platt.loss},
                         {"n_positive", fit.platt.n_pos},
                         {"n_negative", fit.platt.n_neg},
                         {"iterations", fit.platt.iterations},
                         {"rounds", fit.platt.rounds}};
  }

  Json::Array folds;
  for (const OuterFoldResult& f : run.cv.folds) {
    folds.emplace_back(Json::Object{{"fold", f.fold},
                                    {"n_test", f.n_test},
                                    {"auc", f.auc},
                                    {"lambda", f.lambda},
                                    {"c", f.c},
                                    {"selected", Json::Strings(Names(columns, f.selected))}});
  }
  Json performance = Json::Object{{"selection", run.cv.nested ? "nested" : "outside_cv"},
                                  {"optimistic", run.cv.optimistic},
                                  {"auc", run.cv.auc},
                                  {"folds", Json(std::move(folds))},
                                  {"neg_histogram", Json::Numbers(run.cv.neg_histogram)},
                                  {"pos_histogram", Json::Numbers(run.cv.pos_histogram)}};

  // Missing values: per column its statistic, the final model's value (from
  // all training rows) and the missing cells among them; null without.
  Json imputation(nullptr);
  if (fit.imputation.size() == static_cast<Eigen::Index>(columns.size()) &&
      run.missing_cells.size() == fit.imputation.size()) {
    Json::Array items;
    for (std::size_t j = 0; j < columns.size(); ++j) {
      const auto jj = static_cast<Eigen::Index>(j);
      items.emplace_back(Json::Object{{"column", columns[j]},
                                      {"statistic", ImputationStatisticFor(spec, columns[j])},
                                      {"value", fit.imputation[jj]},
                                      {"missing_cells", run.missing_cells[jj]}});
    }
    imputation = Json(std::move(items));
  }

  return Json(Json::Object{{"format", "fedrad-model-1"},
                           {"model", run.name},
                           {"imputation", std::move(imputation)},
                           {"selected_features", Json::Strings(selected)},
                           {"lasso", std::move(lasso)},
                           {"svm", std::move(svm)},
                           {"platt", std::move(platt)},
                           {"cv_performance", std::move(performance)},
                           {"rounds", fit.rounds},
                           {"study_rounds", study_rounds},
                           {"bytes_to_each_site", provenance.bytes_to_each_site},
                           {"bytes_from_each_site", provenance.bytes_from_each_site},
                           {"provenance", ProvenanceJson(spec, provenance)}});
}

std::string FormatShort(double value) {
  if (!std::isfinite(value)) return "n/a";
  return common::FormatDoubleShort(value);
}

std::string FormatBytes(std::int64_t bytes) {
  char buf[64];
  if (bytes >= (1 << 20)) {
    std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  } else if (bytes >= 1024) {
    std::snprintf(buf, sizeof(buf), "%.1f KiB", static_cast<double>(bytes) / 1024);
  } else {
    std::snprintf(buf, sizeof(buf), "%lld B", static_cast<long long>(bytes));
  }
  return buf;
}

struct LoadedSite {
  std::string name;
  site_agent::stats::FeatureTable table;
  site_agent::stats::Datasets datasets;
};

// The shared part of `fit --pooled` and `simulate`: the sites' tables are
// read, their datasets built, the study run and its outputs written.
common::Status RunInProcess(const std::string& spec_path,
                            const std::vector<std::pair<std::string, std::string>>& sites,
                            const std::vector<std::pair<std::string, std::string>>& externals,
                            const std::string& mode, const std::string& out_dir,
                            std::ostream& progress, const InProcessHooks& hooks) {
  const auto start = std::chrono::steady_clock::now();
  const std::string started_utc = UtcNow();
  FEDRAD_ASSIGN_OR_RETURN(protocols::StudySpec spec, protocols::LoadStudySpec(spec_path));
  if (hooks.prepare_spec) {
    if (auto s = hooks.prepare_spec(&spec); !s.ok()) return s.Wrap(spec_path);
  }
  const auto load_table = [&](const std::pair<std::string, std::string>& site)
      -> common::Result<site_agent::stats::FeatureTable> {
    if (hooks.load_table) return hooks.load_table(site.first, site.second, spec);
    return site_agent::stats::ReadFeatureTable(site.second, spec);
  };

  std::vector<LoadedSite> loaded(sites.size());
  for (std::size_t s = 0; s < sites.size(); ++s) {
    loaded[s].name = sites[s].first;
    FEDRAD_ASSIGN_OR_RETURN(loaded[s].table, load_table(sites[s]));
  }
  // Without a dictionary file the first table's feature columns are the
  // dictionary; every other site must have them too (BuildDatasets checks).
  if (spec.feature_dictionary.empty()) spec.feature_dictionary = loaded.front().table.columns;

  ModelColumns columns;
  for (const auto& model : spec.models) {
    auto resolved = protocols::ResolveModelColumns(model, spec.feature_dictionary);
    if (!resolved.ok()) {
      return common::InvalidArgument(spec_path + ": " + resolved.status().message());
    }
    columns.emplace(model.name, std::move(*resolved));
  }
  std::vector<const site_agent::stats::Datasets*> datasets;
  std::size_t cases = 0;
  for (LoadedSite& site : loaded) {
    FEDRAD_ASSIGN_OR_RETURN(site.datasets, site_agent::stats::BuildDatasets(site.table, spec));
    datasets.push_back(&site.datasets);
    cases += site.table.ids.size();
  }
  FEDRAD_ASSIGN_OR_RETURN(StudyPlan plan, MakeStudyPlan(spec, columns));
  FEDRAD_ASSIGN_OR_RETURN(InProcessAggregator aggregator,
                          InProcessAggregator::CreateMulti(datasets));

  progress << "study " << spec.study_id << " (" << mode << "): " << loaded.size() << " site"
           << (loaded.size() == 1 ? "" : "s") << ", " << cases << " cases, " << spec.models.size()
           << " model" << (spec.models.size() == 1 ? "" : "s") << ", " << spec.folds << "-fold "
           << (spec.nested ? "nested" : "outside_cv") << " CV\n"
           << std::flush;
  const ProgressFn on_progress = [&progress](const std::string& line) {
    progress << "  " << line << "\n" << std::flush;
  };
  FEDRAD_ASSIGN_OR_RETURN(StudyRun run, RunStudy(aggregator, plan, on_progress));

  RunProvenance provenance;
  provenance.mode = mode;
  for (const LoadedSite& site : loaded) {
    provenance.sites.push_back(site.name);
    provenance.data_sha256[site.name] = site.table.sha256;
  }
  provenance.bytes_to_each_site = aggregator.bytes_to_each_site();
  provenance.bytes_from_each_site = aggregator.bytes_from_each_site();
  provenance.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  FEDRAD_RETURN_IF_ERROR(WriteStudyOutputs(spec, columns, run, provenance, out_dir));

  progress << "done in " << FormatShort(provenance.wall_seconds) << " s, " << run.rounds
           << " rounds; traffic per site: " << FormatBytes(provenance.bytes_to_each_site) << " to, "
           << FormatBytes(provenance.bytes_from_each_site) << " from\n";
  for (const ModelRun& m : run.models) {
    const FittedModel& fit = m.final_model;
    progress << "  " << m.name << ": " << fit.selected.size() << " of " << columns.at(m.name).size()
             << " features selected, lambda " << FormatShort(fit.lasso.lambda_chosen) << ", C "
             << (fit.selected.empty() ? std::string("-") : FormatShort(fit.svm_cv.c_chosen))
             << ", CV AUC " << FormatShort(m.cv.auc)
             << (m.cv.optimistic ? " (optimistic: selection outside CV)"
                                 : (m.cv.nested ? " (nested)" : ""))
             << ", " << fit.rounds << " rounds\n"
             << "    " << (std::filesystem::path(out_dir) / m.name / "model.json").string() << "\n";
  }
  progress << "  summary: " << (std::filesystem::path(out_dir) / "study.json").string() << "\n"
           << std::flush;

  // Evaluation (docs/methods.md §10): the CV cohort on the training sites'
  // aggregator, each external site alone and all external sites together.
  std::vector<LoadedSite> external(externals.size());
  std::vector<InProcessAggregator> external_aggregators;
  std::vector<const site_agent::stats::Datasets*> external_datasets;
  for (std::size_t e = 0; e < externals.size(); ++e) {
    external[e].name = externals[e].first;
    FEDRAD_ASSIGN_OR_RETURN(external[e].table, load_table(externals[e]));
    FEDRAD_ASSIGN_OR_RETURN(external[e].datasets,
                            site_agent::stats::BuildDatasets(external[e].table, spec));
    external_datasets.push_back(&external[e].datasets);
  }
  external_aggregators.reserve(externals.size() + 1);
  EvaluationCohorts cohorts;
  cohorts.training = &aggregator;
  for (std::size_t e = 0; e < externals.size(); ++e) {
    FEDRAD_ASSIGN_OR_RETURN(InProcessAggregator one,
                            InProcessAggregator::CreateMulti({external_datasets[e]}));
    external_aggregators.push_back(std::move(one));
  }
  if (externals.size() > 1) {
    FEDRAD_ASSIGN_OR_RETURN(InProcessAggregator all,
                            InProcessAggregator::CreateMulti(external_datasets));
    external_aggregators.push_back(std::move(all));
  }
  for (std::size_t e = 0; e < externals.size(); ++e) {
    cohorts.external_sites.push_back({external[e].name, &external_aggregators[e], true});
  }
  if (externals.size() > 1) cohorts.external_pooled = &external_aggregators.back();

  StudyReportInputs inputs;
  inputs.spec = &spec;
  inputs.columns = &columns;
  inputs.plan = &plan;
  inputs.run = &run;
  inputs.provenance = &provenance;
  inputs.started_utc = started_utc;
  auto count = [](const LoadedSite& site, bool is_external) {
    KnownSiteCounts counts;
    counts.site_id = site.name;
    counts.external = is_external;
    const auto positives = static_cast<std::int64_t>(std::llround(site.table.y.sum()));
    counts.cases = positives;
    counts.controls = static_cast<std::int64_t>(site.table.y.size()) - positives;
    return counts;
  };
  for (const LoadedSite& site : loaded) inputs.site_counts.push_back(count(site, false));
  for (const LoadedSite& site : external) inputs.site_counts.push_back(count(site, true));
  progress << "evaluation: cross-validation cohort"
           << (externals.empty() ? std::string()
                                 : " and " + std::to_string(externals.size()) + " external site" +
                                       (externals.size() == 1 ? "" : "s"))
           << "\n"
           << std::flush;
  FEDRAD_ASSIGN_OR_RETURN(StudyResults results, EvaluateStudy(inputs, cohorts));
  FEDRAD_ASSIGN_OR_RETURN(std::string table, WriteStudyReport(results, out_dir));
  progress << "\n"
           << table << "\n  results: " << (std::filesystem::path(out_dir) / "results.json").string()
           << "\n  report:  " << (std::filesystem::path(out_dir) / "report.html").string() << "\n"
           << std::flush;
  return common::Status::Ok();
}

}  // namespace

common::Result<StudyPlan> MakeStudyPlan(const protocols::StudySpec& spec,
                                        const ModelColumns& columns) {
  StudyPlan plan;
  plan.outer_folds = spec.folds;
  plan.nested = spec.nested;

  ModelOptions& options = plan.options;
  options.lasso_cv.lasso.nlambda = spec.nlambda;
  options.lasso_cv.lasso.lambda_min_ratio = spec.lambda_min_ratio;
  options.lasso_cv.lasso.kkt_tolerance = spec.kkt_tolerance;
  options.lasso_cv.num_folds = spec.folds;
  options.lasso_cv.choice = spec.lambda_1se ? LambdaChoice::kOneSe : LambdaChoice::kMin;
  options.lasso_cv.fold_path =
      spec.fold_lambda_own ? FoldLambdaPath::kOwn : FoldLambdaPath::kMaster;

  options.svm_cv.svm.loss = spec.hinge ? SvmLossKind::kHinge : SvmLossKind::kSquaredHinge;
  options.svm_cv.svm.regularize_bias = spec.regularize_bias;
  options.svm_cv.svm.bias_value = spec.bias_value;
  options.svm_cv.c_grid = spec.c_grid;
  options.svm_cv.num_folds = spec.folds;
  options.svm_cv.standardize = true;
  options.svm_cv.histogram_bins = spec.histogram_bins;
  options.platt = spec.platt;

  if (spec.models.empty()) return common::InvalidArgument("study spec: no models");
  for (const auto& model : spec.models) {
    const auto it = columns.find(model.name);
    if (it == columns.end()) {
      return common::InvalidArgument("study plan: no resolved columns for model \"" + model.name +
                                     "\"");
    }
    if (it->second.empty()) {
      return common::InvalidArgument("study plan: model \"" + model.name + "\" has no columns");
    }
    StudyModelPlan entry;
    entry.name = model.name;
    entry.dataset = model.name;
    entry.num_features = static_cast<int>(it->second.size());
    entry.columns = it->second;
    if (spec.has_data_dictionary && spec.data_dictionary.impute) {
      const std::map<std::string, ColumnImputation> rules = ImputationRules(spec);
      for (const std::string& column : it->second) {
        const auto rule = rules.find(column);
        entry.imputation.push_back(rule == rules.end() ? ColumnImputation{} : rule->second);
      }
    }
    if (auto s = CheckModelOptions(options, entry.num_features); !s.ok()) {
      return common::InvalidArgument("model \"" + model.name + "\": " + s.ToString());
    }
    plan.models.push_back(std::move(entry));
  }
  return plan;
}

std::vector<ImputedColumn> ImputationSummary(const protocols::StudySpec& spec,
                                             const ModelColumns& columns, const StudyRun& run) {
  std::map<std::string, std::pair<double, double>> seen;  // column -> (value, missing)
  for (const ModelRun& m : run.models) {
    const auto it = columns.find(m.name);
    if (it == columns.end() || m.final_model.imputation.size() == 0 ||
        m.missing_cells.size() != m.final_model.imputation.size() ||
        static_cast<std::size_t>(m.missing_cells.size()) != it->second.size()) {
      continue;
    }
    for (std::size_t j = 0; j < it->second.size(); ++j) {
      const auto jj = static_cast<Eigen::Index>(j);
      seen.emplace(it->second[j],
                   std::make_pair(m.final_model.imputation[jj], m.missing_cells[jj]));
    }
  }
  std::vector<ImputedColumn> out;
  for (const std::string& column : spec.feature_dictionary) {
    const auto it = seen.find(column);
    if (it == seen.end()) continue;
    out.push_back(
        {column, ImputationStatisticFor(spec, column), it->second.first, it->second.second});
  }
  return out;
}

namespace {

// study.json "imputation" (null without): ImputationSummary and the total
// of missing cells imputed.
Json ImputationSummaryJson(const protocols::StudySpec& spec, const ModelColumns& columns,
                           const StudyRun& run) {
  const std::vector<ImputedColumn> summary = ImputationSummary(spec, columns, run);
  if (summary.empty()) return Json(nullptr);
  Json::Array items;
  double total = 0.0;
  for (const ImputedColumn& c : summary) {
    total += c.missing_cells;
    items.emplace_back(Json::Object{{"column", c.column},
                                    {"statistic", c.statistic},
                                    {"value", c.value},
                                    {"missing_cells", c.missing_cells}});
  }
  return Json(Json::Object{{"missing_cells_imputed", total},
                           {"scope", "training rows of each fit (final model: all)"},
                           {"columns", Json(std::move(items))}});
}

}  // namespace

common::Status WriteStudyOutputs(const protocols::StudySpec& spec, const ModelColumns& columns,
                                 const StudyRun& run, const RunProvenance& provenance,
                                 const std::string& out_dir) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return common::IoError(out_dir + ": cannot create the output folder: " + ec.message());

  Json::Array model_summaries;
  for (const ModelRun& m : run.models) {
    const auto it = columns.find(m.name);
    if (it == columns.end()) {
      return common::Internal("WriteStudyOutputs: no columns for model \"" + m.name + "\"");
    }
    FEDRAD_ASSIGN_OR_RETURN(Json model, ModelJson(spec, it->second, m, run.rounds, provenance));
    const std::string text = model.Dump();
    const std::filesystem::path dir = std::filesystem::path(out_dir) / m.name;
    std::filesystem::create_directories(dir, ec);
    if (ec) return common::IoError(dir.string() + ": cannot create folder: " + ec.message());
    FEDRAD_RETURN_IF_ERROR(common::WriteFileAtomic((dir / "model.json").string(), text));

    const FittedModel& fit = m.final_model;
    model_summaries.emplace_back(
        Json::Object{{"name", m.name},
                     {"file", m.name + "/model.json"},
                     {"columns", static_cast<std::int64_t>(it->second.size())},
                     {"selected", static_cast<std::int64_t>(fit.selected.size())},
                     {"lambda", fit.lasso.lambda_chosen},
                     {"c", fit.selected.empty() ? Json(nullptr) : Json(fit.svm_cv.c_chosen)},
                     {"cv_auc", m.cv.auc},
                     {"selection", m.cv.nested ? "nested" : "outside_cv"},
                     {"optimistic", m.cv.optimistic},
                     {"rounds", fit.rounds}});
  }
  Json study = Json::Object{{"format", "fedrad-study-1"},
                            {"study_id", spec.study_id},
                            {"models", Json(std::move(model_summaries))},
                            {"imputation", ImputationSummaryJson(spec, columns, run)},
                            {"rounds", run.rounds},
                            {"bytes_to_each_site", provenance.bytes_to_each_site},
                            {"bytes_from_each_site", provenance.bytes_from_each_site},
                            {"wall_seconds", provenance.wall_seconds},
                            {"provenance", ProvenanceJson(spec, provenance)}};
  return common::WriteFileAtomic((std::filesystem::path(out_dir) / "study.json").string(),
                                 study.Dump());
}

common::Status RunFitPooled(const std::string& spec_path, const std::string& data_path,
                            const std::string& out_dir, std::ostream& progress,
                            const InProcessHooks& hooks) {
  return RunInProcess(spec_path, {{"pooled", data_path}}, {}, "pooled", out_dir, progress, hooks);
}

common::Status RunSimulate(const std::string& spec_path,
                           const std::vector<std::pair<std::string, std::string>>& sites,
                           const std::string& out_dir, std::ostream& progress,
                           const std::vector<std::pair<std::string, std::string>>& externals,
                           const InProcessHooks& hooks) {
  if (sites.empty()) return common::InvalidArgument("simulate: give at least one --site NAME=DATA");
  std::set<std::string> names;
  for (const auto& [name, path] : sites) {
    if (auto s = common::ValidatePartyName(name); !s.ok()) {
      return common::InvalidArgument("site \"" + name + "\": " + s.message());
    }
    if (!names.insert(name).second) {
      return common::InvalidArgument("site \"" + name + "\" is given twice");
    }
    if (path.empty()) return common::InvalidArgument("site \"" + name + "\": no data file");
  }
  for (const auto& [name, path] : externals) {
    if (auto s = common::ValidatePartyName(name); !s.ok()) {
      return common::InvalidArgument("external site \"" + name + "\": " + s.message());
    }
    if (!names.insert(name).second) {
      return common::InvalidArgument("site \"" + name + "\" is given twice");
    }
    if (path.empty()) return common::InvalidArgument("site \"" + name + "\": no data file");
  }
  return RunInProcess(spec_path, sites, externals, "simulate", out_dir, progress, hooks);
}

}  // namespace fedrad::coordinator

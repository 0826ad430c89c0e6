#include "fedrad/coordinator/evaluation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "fedrad/common/csv.hpp"
#include "fedrad/coordinator/roc.hpp"
#include "fedrad/coordinator/round_batcher.hpp"
#include "fedrad/site_agent/stats/evaluation_kernels.hpp"

namespace fedrad::coordinator {
namespace {

namespace ss = site_agent::stats;
using common::InvalidArgument;
using common::Result;
using common::Status;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// One cohort: its aggregator, the row parts and every model's scorer per part.
struct Cohort {
  CohortRef ref;
  Aggregator* aggregator = nullptr;
  std::vector<ss::RowSubset> rows;
  std::vector<ss::EvalModel> models;
  bool external = false;
  bool local = false;         // held by one site: one LocalEvaluationRequest (mode "site_local")
  std::string grid = "fine";  // which of the spec's grids options.grid_size is
};

// What the rounds of one cohort return.
struct CohortSums {
  std::vector<double> histograms;  // pooled round 1
  std::vector<double> placement;   // pooled round 2 (empty if a class is absent)
  std::vector<double> counts;      // ThresholdCountsRequest
  std::vector<double> thresholds;  // used for `counts`
  std::vector<double> youden_j;    // CV cohort: J at the Youden threshold
};

struct Calibration {
  bool ok = false;
  double intercept = 0.0, slope = 0.0;
  std::string note;
};

ss::ScoreGrid Grid(std::int64_t size) { return {ss::ScoreScale::kProbability, size}; }

// Youden's J maximised over the grid ROC curve of each model's pooled
// histograms, exactly as PooledRocAnalysis does (ascending occupied cells,
// first maximum wins).
void YoudenFromHistograms(const ss::ScoreGrid& grid, int num_models,
                          const std::vector<double>& histograms, std::vector<double>* thresholds,
                          std::vector<double>* youden_j) {
  const std::int64_t g = grid.size;
  for (int r = 0; r < num_models; ++r) {
    const double* controls = histograms.data() + 2 * r * g;
    const double* cases = controls + g;
    double n1 = 0.0, n0 = 0.0;
    for (std::int64_t k = 0; k < g; ++k) {
      n1 += cases[k];
      n0 += controls[k];
    }
    double tp = n1, fp = n0;
    double best = -std::numeric_limits<double>::infinity();
    double threshold = kNaN;
    for (std::int64_t k = 0; k < g; ++k) {
      if (cases[k] + controls[k] == 0.0) continue;
      const double sensitivity = tp / n1;
      const double specificity = (n0 - fp) / n0;
      const double j = sensitivity + specificity - 1.0;
      if (j > best) {
        best = j;
        threshold = ss::GridScore(grid, k);
      }
      tp -= cases[k];
      fp -= controls[k];
    }
    // The last point (t = +inf) has J = 0 and never wins a strict maximum
    // over the first point (J = 0 too).
    thresholds->push_back(threshold);
    youden_j->push_back(best);
  }
}

// Class counts of model 0's block of pooled histograms.
std::pair<double, double> ClassCounts(std::int64_t g, const std::vector<double>& histograms) {
  double n1 = 0.0, n0 = 0.0;
  for (std::int64_t k = 0; k < g; ++k) {
    n0 += histograms[static_cast<std::size_t>(k)];
    n1 += histograms[static_cast<std::size_t>(g + k)];
  }
  return {n1, n0};
}

// The two ROC rounds of one cohort (and its threshold counts).
Status RocRounds(Aggregator& aggregator, const Cohort& cohort, const EvaluationOptions& options,
                 const std::vector<double>& fixed_thresholds, CohortSums* out) {
  const auto num_models = static_cast<int>(cohort.models.size());
  const ss::ScoreGrid grid = Grid(options.grid_size);
  ss::GridHistogramRequest histogram;
  histogram.rows = cohort.rows;
  histogram.models = cohort.models;
  histogram.grid_size = options.grid_size;
  histogram.dataset = cohort.models.front().dataset;
  ss::ThresholdCountsRequest counts;
  counts.rows = cohort.rows;
  counts.models = cohort.models;
  counts.calibration_bins = cohort.external ? options.calibration_bins : 0;
  counts.dataset = histogram.dataset;

  // Round 1 (external cohorts: with the counts at the fixed thresholds).
  std::vector<ss::StatRequest> round1{histogram};
  if (!fixed_thresholds.empty()) {
    counts.thresholds = fixed_thresholds;
    round1.push_back(counts);
  }
  FEDRAD_ASSIGN_OR_RETURN(auto sums1, aggregator.SumBatch(round1));
  out->histograms = std::move(sums1[0]);
  if (!fixed_thresholds.empty()) {
    out->counts = std::move(sums1[1]);
    out->thresholds = fixed_thresholds;
  }
  const auto [n1, n0] = ClassCounts(grid.size, out->histograms);

  // Round 2: placement sums (both classes present), counts at the Youden
  // thresholds of this cohort's histograms (CV cohort).
  std::vector<ss::StatRequest> round2;
  if (n1 > 0.0 && n0 > 0.0) {
    ss::PlacementSumsRequest placement;
    placement.rows = cohort.rows;
    placement.models = cohort.models;
    placement.grid_size = options.grid_size;
    placement.pooled_histograms = out->histograms;
    placement.dataset = histogram.dataset;
    round2.push_back(std::move(placement));
  }
  if (fixed_thresholds.empty()) {
    if (n1 == 0.0 || n0 == 0.0) {
      return InvalidArgument("the cohort has " + std::to_string(static_cast<std::int64_t>(n1)) +
                             " cases and " + std::to_string(static_cast<std::int64_t>(n0)) +
                             " controls: Youden's J needs both classes");
    }
    YoudenFromHistograms(grid, num_models, out->histograms, &out->thresholds, &out->youden_j);
    counts.thresholds = out->thresholds;
    round2.push_back(counts);
  }
  if (round2.empty()) return Status::Ok();
  FEDRAD_ASSIGN_OR_RETURN(auto sums2, aggregator.SumBatch(round2));
  std::size_t next = 0;
  if (n1 > 0.0 && n0 > 0.0) out->placement = std::move(sums2[next++]);
  if (fixed_thresholds.empty()) out->counts = std::move(sums2[next++]);
  return Status::Ok();
}

// Logistic recalibration of one model's probability scorer on the cohort's
// rows: the shared kernel (evaluation_kernels.hpp FitRecalibration, which a
// site runs for a local evaluation) on the aggregator's PlattRequest sums.
Result<Calibration> FitCalibration(Aggregator& aggregator, const Cohort& cohort, std::size_t model,
                                   const EvaluationOptions& options) {
  FEDRAD_ASSIGN_OR_RETURN(const ss::RecalibrationFit fit,
                          ss::FitRecalibration(
                              [&](double alpha, double beta) {
                                ss::PlattRequest r;
                                r.rows = cohort.rows;
                                r.scorers = cohort.models[model].scorers;
                                r.a = -beta;
                                r.b = -alpha;
                                r.target_pos = 1.0;
                                r.target_neg = 0.0;
                                r.dataset = cohort.models[model].dataset;
                                return aggregator.Sum(r);
                              },
                              options.calibration_max_iterations, options.calibration_tolerance));
  Calibration out;
  out.ok = fit.ok;
  out.intercept = fit.intercept;
  out.slope = fit.slope;
  out.note = ss::RecalibrationNote(fit.failure);
  return out;
}

CohortMetrics MetricsOf(const std::string& model, const Cohort& cohort,
                        const EvaluationOptions& options, const CohortSums& sums, double n1,
                        double n0, int r, const RocAnalysis* analysis,
                        const Calibration* calibration) {
  CohortMetrics m;
  m.model = model;
  m.cohort = cohort.ref;
  m.cases = static_cast<std::int64_t>(n1);
  m.controls = static_cast<std::int64_t>(n0);
  m.mode = cohort.local ? "site_local" : "pooled_grid";
  m.grid_points = options.grid_size;
  m.grid = cohort.grid;
  m.auc = m.auc_se = m.auc_ci_low = m.auc_ci_high = m.auc_error_bound = kNaN;
  if (analysis != nullptr) {
    const ModelRoc& roc = analysis->models[static_cast<std::size_t>(r)];
    m.auc_error_bound = roc.binning_error_bound;
    m.auc = roc.auc;
    m.auc_se = std::sqrt(roc.variance);
    m.auc_ci_low = roc.ci_lower;
    m.auc_ci_high = roc.ci_upper;
    for (auto it = roc.curve.rbegin(); it != roc.curve.rend(); ++it) {
      RocCurvePoint p;
      p.threshold = it->threshold;
      p.fpr = it->fp / n0;
      p.tpr = it->tp / n1;
      m.roc.push_back(p);
    }
  }
  const ss::ThresholdCountsLayout layout{static_cast<int>(cohort.models.size()),
                                         cohort.external ? options.calibration_bins : 0};
  const auto at = [&](std::size_t e) { return sums.counts[e]; };
  m.threshold = sums.thresholds[static_cast<std::size_t>(r)];
  m.tp = static_cast<std::int64_t>(at(layout.Tp(r)));
  m.fp = static_cast<std::int64_t>(at(layout.Fp(r)));
  m.tn = static_cast<std::int64_t>(at(layout.Tn(r)));
  m.fn = static_cast<std::int64_t>(at(layout.Fn(r)));
  const double n = n1 + n0;
  m.accuracy = static_cast<double>(m.tp + m.tn) / n;
  m.sensitivity = n1 > 0.0 ? static_cast<double>(m.tp) / n1 : kNaN;
  m.specificity = n0 > 0.0 ? static_cast<double>(m.tn) / n0 : kNaN;
  if (m.tp + m.fp > 0) m.ppv = static_cast<double>(m.tp) / static_cast<double>(m.tp + m.fp);
  if (m.tn + m.fn > 0) m.npv = static_cast<double>(m.tn) / static_cast<double>(m.tn + m.fn);
  if (cohort.external) {
    m.brier = at(layout.SquaredError(r)) / n;
    for (int b = 0; b < layout.bins; ++b) {
      const double count = at(layout.BinCount(r, b));
      if (count <= 0.0) continue;
      CalibrationBin bin;
      bin.count = static_cast<std::int64_t>(count);
      bin.mean_predicted = at(layout.BinSumP(r, b)) / count;
      bin.observed_rate = at(layout.BinSumY(r, b)) / count;
      m.calibration.push_back(bin);
    }
    if (calibration != nullptr && calibration->ok) {
      m.calibration_intercept = calibration->intercept;
      m.calibration_slope = calibration->slope;
    }
  }
  return m;
}

std::string Describe(const CohortRef& ref) {
  return ref.kind == "cv" ? std::string("CV cohort") : ref.kind + " cohort '" + ref.name + "'";
}

// Appends one cohort's metrics (and notes) and its paired DeLong tests.
void AppendCohortResults(const Cohort& cohort, const std::vector<EvaluationModel>& models,
                         const EvaluationOptions& options, const CohortSums& sums, double n1,
                         double n0, const RocAnalysis* analysis,
                         const std::vector<Calibration>& calibrations, EvaluationResult* result) {
  const std::string where = Describe(cohort.ref);
  if (analysis == nullptr) {
    result->notes.push_back(where + " holds one class only: no AUC, ROC curve or DeLong test");
  }
  for (std::size_t m = 0; m < models.size(); ++m) {
    const Calibration* calibration = cohort.external ? &calibrations[m] : nullptr;
    if (calibration != nullptr && !calibration->ok) {
      result->notes.push_back(where + ", model '" + models[m].name +
                              "': no calibration intercept/slope: " + calibration->note);
    }
    result->metrics.push_back(MetricsOf(models[m].name, cohort, options, sums, n1, n0,
                                        static_cast<int>(m), analysis, calibration));
  }
  if (analysis != nullptr) {
    for (const DelongTest& t : analysis->comparisons) {
      DelongComparison c;
      c.cohort = cohort.ref;
      c.model_a = models[static_cast<std::size_t>(t.model_a)].name;
      c.model_b = models[static_cast<std::size_t>(t.model_b)].name;
      c.auc_a = analysis->models[static_cast<std::size_t>(t.model_a)].auc;
      c.auc_b = analysis->models[static_cast<std::size_t>(t.model_b)].auc;
      c.z = t.z;
      c.p_value = t.p_value;
      result->comparisons.push_back(c);
    }
  }
}

// Runs one cohort (its ROC rounds and, external, the calibration fits
// concurrently) and appends its metrics and comparisons.
Status EvaluateCohort(const Cohort& cohort, const std::vector<EvaluationModel>& models,
                      const EvaluationOptions& options, std::vector<double> fixed_thresholds,
                      EvaluationResult* result, CohortSums* sums_out) {
  const std::string where = Describe(cohort.ref);
  const std::size_t num_models = models.size();
  const std::int64_t rounds_before = cohort.aggregator->rounds();
  CohortSums sums;
  std::vector<Result<Calibration>> calibrations(num_models, Calibration{});
  Status roc_status;
  const int participants = 1 + (cohort.external ? static_cast<int>(num_models) : 0);
  RunConcurrently(*cohort.aggregator, participants, [&](int who, Aggregator& proxy) {
    if (who == 0) {
      roc_status = RocRounds(proxy, cohort, options, fixed_thresholds, &sums);
    } else {
      const auto m = static_cast<std::size_t>(who - 1);
      calibrations[m] = FitCalibration(proxy, cohort, m, options);
    }
  });
  result->rounds += cohort.aggregator->rounds() - rounds_before;
  if (!roc_status.ok()) return roc_status.Wrap(where);
  for (std::size_t m = 0; m < num_models; ++m) {
    if (!calibrations[m].ok()) {
      return calibrations[m].status().Wrap(where + ", calibration of model '" + models[m].name +
                                           "'");
    }
  }
  std::optional<RocAnalysis> analysis;
  if (!sums.placement.empty()) {
    auto pooled = PooledRocAnalysis(Grid(options.grid_size), static_cast<int>(num_models),
                                    sums.histograms, sums.placement);
    if (!pooled.ok()) return pooled.status().Wrap(where);
    analysis = std::move(pooled).value();
  }
  if (analysis && !sums.youden_j.empty()) {
    for (std::size_t m = 0; m < num_models; ++m) {
      if (analysis->models[m].youden_threshold != sums.thresholds[m]) {
        return common::Internal(where + ": Youden threshold of model '" + models[m].name +
                                "' from the histograms differs from the ROC analysis");
      }
    }
  }
  std::vector<Calibration> fits;
  for (auto& c : calibrations) fits.push_back(std::move(c).value());
  const auto [n1, n0] = ClassCounts(options.grid_size, sums.histograms);
  AppendCohortResults(cohort, models, options, sums, n1, n0, analysis ? &*analysis : nullptr, fits,
                      result);
  if (sums_out != nullptr) *sums_out = std::move(sums);
  return Status::Ok();
}

// EvaluateCohort on the fine grid; after a disclosure-gate refusal
// (kPermissionDenied) once more on the fallback grid, if there is one.
Status EvaluatePooledCohort(Cohort cohort, const std::vector<EvaluationModel>& models,
                            const EvaluationOptions& options,
                            const std::vector<double>& fixed_thresholds, EvaluationResult* result,
                            CohortSums* sums_out) {
  const Status fine = EvaluateCohort(cohort, models, options, fixed_thresholds, result, sums_out);
  if (fine.ok() || fine.code() != common::StatusCode::kPermissionDenied ||
      options.fallback_grid_size <= 0) {
    return fine;
  }
  EvaluationOptions fallback = options;
  fallback.grid_size = options.fallback_grid_size;
  fallback.fallback_grid_size = 0;
  cohort.grid = "fallback";
  const Status coarse =
      EvaluateCohort(cohort, models, fallback, fixed_thresholds, result, sums_out);
  if (!coarse.ok()) {
    return coarse.Wrap("the fine grid (" + std::to_string(options.grid_size) +
                       " points) was refused (" + fine.Root().message() +
                       "), and the fallback grid (" + std::to_string(fallback.grid_size) +
                       " points)");
  }
  result->notes.push_back(
      Describe(cohort.ref) + ": evaluated on the fallback grid of " +
      std::to_string(fallback.grid_size) + " points (resolution " +
      common::FormatDoubleShort(1.0 / static_cast<double>(fallback.grid_size - 1)) +
      "): the fine grid of " + std::to_string(options.grid_size) +
      " points was refused: " + fine.Root().message());
  return Status::Ok();
}

// A cohort held by one site: one LocalEvaluationRequest (the site computes
// everything on its own rows and releases only the summaries,
// providers.hpp LocalEvaluationLayout), read into the same structures.
Status EvaluateLocalCohort(const Cohort& cohort, const std::vector<EvaluationModel>& models,
                           const EvaluationOptions& options,
                           const std::vector<double>& fixed_thresholds, EvaluationResult* result) {
  const std::string where = Describe(cohort.ref);
  const auto num_models = static_cast<int>(models.size());
  ss::LocalEvaluationRequest request;
  request.rows = cohort.rows;
  request.models = cohort.models;
  request.grid_size = options.grid_size;
  request.thresholds = fixed_thresholds;
  request.calibration_bins = options.calibration_bins;
  request.calibration_max_iterations = options.calibration_max_iterations;
  request.calibration_tolerance = options.calibration_tolerance;
  request.max_curve_points = options.max_curve_points;
  request.dataset = cohort.models.front().dataset;
  const std::int64_t rounds_before = cohort.aggregator->rounds();
  auto released = cohort.aggregator->Sum(request);
  result->rounds += cohort.aggregator->rounds() - rounds_before;
  if (!released.ok()) return released.status().Wrap(where + ", local evaluation");
  const std::vector<double>& v = *released;
  const ss::LocalEvaluationLayout layout{num_models, options.calibration_bins,
                                         options.max_curve_points};
  if (v.size() != layout.Size()) {
    return common::ProtocolError(where + ": the local evaluation has " + std::to_string(v.size()) +
                                 " values, expected " + std::to_string(layout.Size()));
  }
  const double n1 = v[layout.Placement()], n0 = v[layout.Placement() + 1];
  CohortSums sums;
  sums.thresholds = fixed_thresholds;
  sums.counts.assign(
      v.begin() + static_cast<std::ptrdiff_t>(layout.Counts()),
      v.begin() + static_cast<std::ptrdiff_t>(layout.Counts() + layout.CountsSize()));
  std::optional<RocAnalysis> analysis;
  if (n1 > 0.0 && n0 > 0.0) {
    std::vector<ss::GridCurve> curves(static_cast<std::size_t>(num_models));
    for (int r = 0; r < num_models; ++r) {
      ss::GridCurve& curve = curves[static_cast<std::size_t>(r)];
      const double count = v[layout.CurveCount(r)];
      if (!(count >= 1.0 && count <= static_cast<double>(options.max_curve_points)) ||
          count != std::floor(count)) {
        return common::ProtocolError(where + ": the local evaluation's curve of model '" +
                                     models[static_cast<std::size_t>(r)].name + "' has " +
                                     std::to_string(count) + " points");
      }
      curve.tied_pairs = std::llround(v[layout.Tied(r)]);
      for (int q = 0; q < static_cast<int>(count); ++q) {
        curve.threshold.push_back(v[layout.CurveThreshold(r, q)]);
        curve.tp.push_back(v[layout.CurveTp(r, q)]);
        curve.fp.push_back(v[layout.CurveFp(r, q)]);
      }
    }
    const std::vector<double> placement(
        v.begin() + static_cast<std::ptrdiff_t>(layout.Placement()),
        v.begin() + static_cast<std::ptrdiff_t>(layout.Placement() + layout.PlacementSize()));
    auto roc = ReleasedRocAnalysis(num_models, placement, curves);
    if (!roc.ok()) return roc.status().Wrap(where + ", local evaluation");
    analysis = std::move(roc).value();
  }
  std::vector<Calibration> fits;
  for (int r = 0; r < num_models; ++r) {
    Calibration c;
    c.ok = v[layout.CalibrationOk(r)] == 1.0;
    c.intercept = v[layout.CalibrationIntercept(r)];
    c.slope = v[layout.CalibrationSlope(r)];
    const double reason = v[layout.CalibrationReason(r)];
    c.note =
        ss::RecalibrationNote(reason >= 1.0 && reason <= 3.0
                                  ? static_cast<ss::RecalibrationFailure>(static_cast<int>(reason))
                                  : ss::RecalibrationFailure::kNotConverged);
    fits.push_back(std::move(c));
  }
  AppendCohortResults(cohort, models, options, sums, n1, n0, analysis ? &*analysis : nullptr, fits,
                      result);
  return Status::Ok();
}

std::vector<ss::EvalModel> FinalModels(const std::vector<EvaluationModel>& models) {
  std::vector<ss::EvalModel> out;
  for (const EvaluationModel& m : models) out.push_back({m.dataset, {m.final_model}});
  return out;
}

}  // namespace

ss::LinearScorer ProbabilityScorer(const FittedModel& model) {
  ss::LinearScorer s;
  s.columns = model.svm.columns;
  s.w = model.svm.w;
  s.intercept = model.svm.intercept;
  s.fill = model.svm_fill;  // the fit's imputation values (missing cells; pipeline.hpp)
  if (!model.selected.empty()) {
    s.center = model.svm_standardization.mean;
    s.scale = model.svm_standardization.sd;
  }
  if (model.has_platt) {
    // σ(s') = 1 / (1 + exp(A v + B)) with s' = -(A v + B).
    s.w = -model.platt.a * s.w;
    s.intercept = -(model.platt.a * s.intercept + model.platt.b);
  }
  return s;
}

Result<std::vector<EvaluationModel>> EvaluationModelsOf(const StudyPlan& plan,
                                                        const StudyRun& run) {
  std::vector<EvaluationModel> out;
  for (const ModelRun& model : run.models) {
    const auto it = std::find_if(plan.models.begin(), plan.models.end(),
                                 [&](const StudyModelPlan& p) { return p.name == model.name; });
    if (it == plan.models.end()) {
      return InvalidArgument("evaluation: model '" + model.name + "' is not in the study plan");
    }
    EvaluationModel m;
    m.name = model.name;
    m.dataset = it->dataset;
    m.final_model = ProbabilityScorer(model.final_model);
    for (const FittedModel& fold : model.fold_models) {
      m.fold_models.push_back(ProbabilityScorer(fold));
    }
    out.push_back(std::move(m));
  }
  return out;
}

Result<EvaluationResult> EvaluateModels(const std::vector<EvaluationModel>& models, int outer_folds,
                                        const EvaluationCohorts& cohorts,
                                        const EvaluationOptions& options) {
  FEDRAD_RETURN_IF_ERROR(ss::ValidateGrid(Grid(options.grid_size)).Wrap("evaluation"));
  if (options.fallback_grid_size != 0) {
    FEDRAD_RETURN_IF_ERROR(
        ss::ValidateGrid(Grid(options.fallback_grid_size)).Wrap("evaluation: fallback grid"));
    if (options.fallback_grid_size >= options.grid_size) {
      return InvalidArgument("evaluation: the fallback grid (" +
                             std::to_string(options.fallback_grid_size) +
                             " points) must be coarser than the grid (" +
                             std::to_string(options.grid_size) + " points)");
    }
  }
  if (models.empty() || models.size() > ss::kMaxEvalModels) {
    return InvalidArgument("evaluation: " + std::to_string(models.size()) +
                           " models, expected 1.." + std::to_string(ss::kMaxEvalModels));
  }
  if (options.calibration_bins < 0 || options.calibration_bins > ss::kMaxCalibrationBins) {
    return InvalidArgument("evaluation: calibration_bins must be in [0, " +
                           std::to_string(ss::kMaxCalibrationBins) + "], got " +
                           std::to_string(options.calibration_bins));
  }
  if (options.max_curve_points < 2 || options.max_curve_points > ss::kMaxCurvePoints) {
    return InvalidArgument("evaluation: max_curve_points must be in [2, " +
                           std::to_string(ss::kMaxCurvePoints) + "], got " +
                           std::to_string(options.max_curve_points));
  }
  if (options.calibration_max_iterations < 1 || !(options.calibration_tolerance > 0.0)) {
    return InvalidArgument(
        "evaluation: calibration_max_iterations must be >= 1 and calibration_tolerance > 0");
  }
  if (options.fixed_threshold &&
      !(*options.fixed_threshold >= 0.0 && *options.fixed_threshold <= 1.0)) {
    return InvalidArgument("evaluation: fixed threshold " +
                           std::to_string(*options.fixed_threshold) +
                           " is not a probability in [0, 1]");
  }
  if (cohorts.training == nullptr && !options.fixed_threshold) {
    return InvalidArgument(
        "evaluation: without the CV cohort (training sites) a fixed probability threshold is "
        "needed (Youden's J is read off the out-of-fold scores)");
  }
  for (const auto& site : cohorts.external_sites) {
    if (site.aggregator == nullptr) {
      return InvalidArgument("evaluation: external site '" + site.site_id + "' has no aggregator");
    }
  }

  EvaluationResult result;
  result.grid_size = options.grid_size;
  result.grid_resolution = 1.0 / static_cast<double>(options.grid_size - 1);
  result.fallback_grid_size = options.fallback_grid_size;
  std::vector<double> thresholds;
  if (options.fixed_threshold) thresholds.assign(models.size(), *options.fixed_threshold);

  if (cohorts.training != nullptr) {
    if (outer_folds < 2) {
      return InvalidArgument("evaluation: outer_folds is " + std::to_string(outer_folds) +
                             ", expected >= 2");
    }
    Cohort cv;
    cv.ref = {"cv", "cv"};
    cv.aggregator = cohorts.training;
    for (int f = 0; f < outer_folds; ++f) {
      cv.rows.push_back({ss::RowSubset::Kind::kTestOfFold, f, -1});
    }
    for (const EvaluationModel& m : models) {
      if (static_cast<int>(m.fold_models.size()) != outer_folds) {
        return InvalidArgument("evaluation: model '" + m.name + "' has " +
                               std::to_string(m.fold_models.size()) + " fold models, expected " +
                               std::to_string(outer_folds) + " (one per outer fold)");
      }
      cv.models.push_back({m.dataset, m.fold_models});
    }
    CohortSums sums;
    FEDRAD_RETURN_IF_ERROR(EvaluatePooledCohort(cv, models, options, thresholds, &result, &sums));
    if (!options.fixed_threshold) thresholds = sums.thresholds;
    for (std::size_t m = 0; m < models.size(); ++m) {
      ModelThreshold t;
      t.model = models[m].name;
      t.rule = options.fixed_threshold ? "probability" : "youden_oof";
      t.threshold = thresholds[m];
      t.youden_j = options.fixed_threshold ? kNaN : sums.youden_j[m];
      result.thresholds.push_back(t);
    }
  } else {
    for (std::size_t m = 0; m < models.size(); ++m) {
      result.thresholds.push_back({models[m].name, "probability", thresholds[m], kNaN});
    }
  }

  std::vector<Cohort> external;
  for (const auto& site : cohorts.external_sites) {
    Cohort c;
    c.ref = {"external_site", site.site_id};
    c.aggregator = site.aggregator;
    c.local = site.local;
    external.push_back(std::move(c));
  }
  if (cohorts.external_pooled != nullptr) {
    Cohort c;
    c.ref = {"external_pooled", "external"};
    c.aggregator = cohorts.external_pooled;
    external.push_back(std::move(c));
  }
  for (Cohort& c : external) {
    c.rows = {ss::RowSubset{}};  // every row of the site
    c.models = FinalModels(models);
    c.external = true;
    if (c.local) {
      FEDRAD_RETURN_IF_ERROR(EvaluateLocalCohort(c, models, options, thresholds, &result));
    } else {
      FEDRAD_RETURN_IF_ERROR(
          EvaluatePooledCohort(c, models, options, thresholds, &result, nullptr));
    }
  }
  return result;
}

}  // namespace fedrad::coordinator

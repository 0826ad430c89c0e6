#include "fedrad/coordinator/pipeline.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "fedrad/coordinator/metrics.hpp"
#include "fedrad/coordinator/round_batcher.hpp"

namespace fedrad::coordinator {

using common::InvalidArgument;
using common::Result;
using common::Status;
using site_agent::stats::LinearScorer;
using site_agent::stats::RowSubset;
using site_agent::stats::StatRequest;

namespace {

// The intercept-only model's SVM: w empty, b = (n₊ - n₋) / n, the
// squared-hinge optimum over b when w = 0 (all margins 1 - t_i b ≥ 0 for
// b in [-1, 1], so Σ (1 - t_i b)² is minimised at the mean of t_i).
LinearSvmModel InterceptOnly(const Standardization& st) {
  LinearSvmModel m;
  m.w.resize(0);
  m.intercept = st.n > 0.0 ? (2.0 * st.sum_y - st.n) / st.n : 0.0;
  m.bias_weight = m.intercept;
  return m;
}

// Columns `selected` of a standardisation (n and sum_y kept).
Standardization Pick(const Standardization& st, const std::vector<int>& selected) {
  Standardization out;
  out.n = st.n;
  out.sum_y = st.sum_y;
  const auto k = static_cast<Eigen::Index>(selected.size());
  out.mean.resize(k);
  out.sd.resize(k);
  for (Eigen::Index c = 0; c < k; ++c) {
    out.mean[c] = st.mean[selected[static_cast<std::size_t>(c)]];
    out.sd[c] = st.sd[selected[static_cast<std::size_t>(c)]];
  }
  return out;
}

// The SVM stage of a model on fixed columns (non-empty): C by CV over
// `c_grid` (a single C skips nothing: its fold models are still needed for
// Platt), then the final SVM at the chosen C on all rows in scope and, when
// enabled, Platt on the fold models' held-out scores; the final SVM and
// Platt run concurrently (both need only the CV's result).
Status FitSvmStage(Aggregator& scoped, const ModelOptions& options,
                   const std::vector<int>& selected, const Standardization& standardization,
                   const std::vector<double>& c_grid, FittedModel& out) {
  out.svm_standardization = standardization;
  SvmCvOptions svm_cv = options.svm_cv;
  svm_cv.svm.columns = selected;
  svm_cv.svm.center.resize(0);
  svm_cv.svm.scale.resize(0);
  svm_cv.svm.rows = {};
  svm_cv.standardize = true;
  svm_cv.c_grid = c_grid;
  FEDRAD_ASSIGN_OR_RETURN(out.svm_cv, FitSvmCv(scoped, svm_cv));

  LinearSvmOptions final_options = options.svm_cv.svm;
  final_options.c = out.svm_cv.c_chosen;
  final_options.columns = selected;
  final_options.center = standardization.mean;
  final_options.scale = standardization.sd;
  final_options.rows = {};
  Result<LinearSvmModel> svm(common::Internal("not run"));
  Result<PlattModel> platt(common::Internal("not run"));
  RunConcurrently(scoped, options.platt ? 2 : 1, [&](int who, Aggregator& proxy) {
    if (who == 0) {
      svm = LinearSvm(final_options).Fit(proxy);
    } else {
      platt = FitPlatt(proxy, out.svm_cv.fold_test_rows, out.svm_cv.fold_scorers,
                       options.platt_options);
    }
  });
  if (!svm.ok())
    return svm.status().Wrap("final svm (C = " + std::to_string(final_options.c) + ")");
  out.svm = std::move(svm).value();
  if (options.platt) {
    if (!platt.ok()) return platt.status().Wrap("platt");
    out.platt = std::move(platt).value();
    out.has_platt = true;
  }
  return Status::Ok();
}

LinearScorer ScorerOf(const FittedModel& model) {
  LinearScorer s;
  s.columns = model.svm.columns;
  s.w = model.svm.w;
  s.intercept = model.svm.intercept;
  if (!model.selected.empty()) {
    s.center = model.svm_standardization.mean;
    s.scale = model.svm_standardization.sd;
  }
  s.fill = model.svm_fill;
  return s;
}

// The fill of a fit's SVM columns from its per-column imputation values.
Eigen::VectorXd SvmFill(const Eigen::VectorXd& imputation, const std::vector<int>& columns) {
  Eigen::VectorXd fill;
  if (imputation.size() == 0 || columns.empty()) return fill;
  fill.resize(static_cast<Eigen::Index>(columns.size()));
  for (std::size_t c = 0; c < columns.size(); ++c) {
    fill[static_cast<Eigen::Index>(c)] = imputation[columns[c]];
  }
  return fill;
}

// Serialises progress lines from several threads.
class Progress {
 public:
  explicit Progress(const ProgressFn& fn) : fn_(fn) {}
  void operator()(const std::string& line) {
    if (!fn_) return;
    std::lock_guard<std::mutex> lock(mu_);
    fn_(line);
  }

 private:
  const ProgressFn& fn_;
  std::mutex mu_;
};

std::string Fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

}  // namespace

Status CheckModelOptions(const ModelOptions& options, int num_features) {
  if (num_features < 1) {
    return InvalidArgument("model: needs at least one feature column, got " +
                           std::to_string(num_features));
  }
  FEDRAD_RETURN_IF_ERROR(CheckLassoCvParameters(options.lasso_cv));
  if (!options.svm_cv.svm.columns.empty()) {
    return InvalidArgument(
        "model: svm_cv.svm.columns must be empty (the SVM uses the LASSO's selected features)");
  }
  FEDRAD_RETURN_IF_ERROR(CheckSvmCvParameters(options.svm_cv, num_features));
  if (options.svm_cv.num_folds != options.lasso_cv.num_folds) {
    return InvalidArgument("model: svm_cv.num_folds (" + std::to_string(options.svm_cv.num_folds) +
                           ") must equal lasso_cv.num_folds (" +
                           std::to_string(options.lasso_cv.num_folds) +
                           "): both cross-validations use the sites' fold ids");
  }
  if (options.platt) FEDRAD_RETURN_IF_ERROR(CheckPlattParameters(options.platt_options));
  return Status::Ok();
}

Result<FittedModel> FitModel(Aggregator& scoped, const ModelOptions& options) {
  FEDRAD_RETURN_IF_ERROR(CheckModelOptions(options, scoped.num_features()));
  const std::int64_t rounds_at_start = scoped.rounds();
  FittedModel out;
  {
    auto lasso = FitLassoCv(scoped, options.lasso_cv);
    if (!lasso.ok()) return lasso.status().Wrap("lasso");
    out.lasso = std::move(lasso).value();
  }
  out.selected = out.lasso.selected;
  // The master path's standardisation is that of all rows in scope.
  const Standardization st = Pick(out.lasso.path.standardization, out.selected);
  if (out.selected.empty()) {
    out.svm_standardization = st;
    out.svm = InterceptOnly(out.lasso.path.standardization);
  } else {
    FEDRAD_RETURN_IF_ERROR(
        FitSvmStage(scoped, options, out.selected, st, options.svm_cv.c_grid, out));
  }
  out.rounds = scoped.rounds() - rounds_at_start;
  return out;
}

namespace {

// outside_cv refit in one outer fold: the final model's selection and C,
// only the SVM (and Platt) refitted on the rows in scope.
Result<FittedModel> RefitWithSelection(Aggregator& scoped, const ModelOptions& options,
                                       const FittedModel& final_model) {
  const std::int64_t rounds_at_start = scoped.rounds();
  FittedModel out;
  out.lasso.lambda_chosen = final_model.lasso.lambda_chosen;
  out.lasso.selected = final_model.selected;
  out.selected = final_model.selected;
  FEDRAD_ASSIGN_OR_RETURN(Standardization all, ComputeStandardization(scoped, {}));
  const Standardization st = Pick(all, out.selected);
  if (out.selected.empty()) {
    out.svm_standardization = st;
    out.svm = InterceptOnly(all);
  } else if (options.platt) {
    // Platt needs out-of-fold scores at the fixed C: an inner CV with one C.
    FEDRAD_RETURN_IF_ERROR(
        FitSvmStage(scoped, options, out.selected, st, {final_model.svm_cv.c_chosen}, out));
  } else {
    out.svm_standardization = st;
    out.svm_cv.c_grid = {final_model.svm_cv.c_chosen};
    out.svm_cv.c_chosen = final_model.svm_cv.c_chosen;
    LinearSvmOptions o = options.svm_cv.svm;
    o.c = final_model.svm_cv.c_chosen;
    o.columns = out.selected;
    o.center = st.mean;
    o.scale = st.sd;
    o.rows = {};
    auto svm = LinearSvm(o).Fit(scoped);
    if (!svm.ok()) return svm.status().Wrap("svm");
    out.svm = std::move(svm).value();
  }
  out.rounds = scoped.rounds() - rounds_at_start;
  return out;
}

}  // namespace

const char* ImputationStatisticName(ImputationStatistic statistic) {
  switch (statistic) {
    case ImputationStatistic::kMean:
      return "mean";
    case ImputationStatistic::kMajority:
      return "majority";
    case ImputationStatistic::kMode:
      return "mode";
  }
  return "unknown";
}

Result<Eigen::VectorXd> ImputationValuesFromSums(const std::vector<double>& sums,
                                                 const std::vector<ColumnImputation>& rules,
                                                 const std::vector<std::string>& names) {
  const std::size_t p = rules.size();
  if (sums.size() != 1 + 2 * p) {
    return InvalidArgument("imputation: expected " + std::to_string(1 + 2 * p) +
                           " imputation sums, got " + std::to_string(sums.size()));
  }
  const auto name = [&names](std::size_t j) {
    return j < names.size() ? "column '" + names[j] + "'" : "column " + std::to_string(j);
  };
  // Counts are integers: rounded, so that a sum carried by secure
  // aggregation's fixed-point encoding (within ~1e-12) breaks a tie of the
  // majority or mode exactly as the plain sum does. Σ of a 0/1 column is a
  // count too; a mean column's Σ is used as is.
  const auto observed = [&](std::size_t j) { return std::round(sums[1 + j]); };
  const auto total = [&](std::size_t j) {
    return rules[j].statistic == ImputationStatistic::kMean ? sums[1 + p + j]
                                                            : std::round(sums[1 + p + j]);
  };
  Eigen::VectorXd values(static_cast<Eigen::Index>(p));
  // Most frequent level of each categorical group: group -> (level, count).
  std::map<std::string, std::pair<int, double>> mode;
  for (std::size_t j = 0; j < p; ++j) {
    if (!(observed(j) >= 1.0)) {
      return InvalidArgument("imputation: " + name(j) +
                             " has no observed value in the training rows (every cell is "
                             "missing): nothing to impute it from");
    }
    const ColumnImputation& rule = rules[j];
    if (rule.statistic == ImputationStatistic::kMean) {
      values[static_cast<Eigen::Index>(j)] = total(j) / observed(j);
    } else if (rule.statistic == ImputationStatistic::kMajority) {
      values[static_cast<Eigen::Index>(j)] = total(j) > observed(j) - total(j) ? 1.0 : 0.0;
    } else if (mode.count(rule.group) == 0) {
      // The group's counts: level l's column holds Σ = its count; the
      // reference level has the rest of the observed cells.
      std::vector<double> counts(static_cast<std::size_t>(std::max(rule.levels, 1)), -1.0);
      double dummies = 0.0;
      for (std::size_t i = 0; i < p; ++i) {
        if (rules[i].statistic != ImputationStatistic::kMode || rules[i].group != rule.group) {
          continue;
        }
        if (rules[i].level < 1 || rules[i].level >= rule.levels) {
          return InvalidArgument("imputation: " + name(i) + ": level " +
                                 std::to_string(rules[i].level) + " outside [1, " +
                                 std::to_string(rule.levels - 1) + "]");
        }
        counts[static_cast<std::size_t>(rules[i].level)] = total(i);
        dummies += total(i);
      }
      counts[0] = observed(j) - dummies;
      for (std::size_t l = 1; l < counts.size(); ++l) {
        if (counts[l] < 0.0) {
          return InvalidArgument("imputation: categorical variable '" + rule.group +
                                 "': the dataset lacks the dummy column of level " +
                                 std::to_string(l) +
                                 " (imputing its most frequent level needs them all)");
        }
      }
      int best = 0;  // ties: the level listed first
      for (std::size_t l = 1; l < counts.size(); ++l) {
        if (counts[l] > counts[static_cast<std::size_t>(best)]) best = static_cast<int>(l);
      }
      mode[rule.group] = {best, counts[static_cast<std::size_t>(best)]};
    }
  }
  for (std::size_t j = 0; j < p; ++j) {
    if (rules[j].statistic == ImputationStatistic::kMode) {
      values[static_cast<Eigen::Index>(j)] = mode.at(rules[j].group).first == rules[j].level;
    }
  }
  return values;
}

Result<StudyRun> RunStudy(Aggregator& base, const StudyPlan& plan, const ProgressFn& progress) {
  if (plan.models.empty()) return InvalidArgument("study: no models");
  if (plan.outer_folds < 3) {
    return InvalidArgument("study: outer_folds must be >= 3, got " +
                           std::to_string(plan.outer_folds));
  }
  if (plan.options.lasso_cv.num_folds != plan.outer_folds ||
      plan.options.svm_cv.num_folds != plan.outer_folds) {
    return InvalidArgument(
        "study: lasso_cv.num_folds (" + std::to_string(plan.options.lasso_cv.num_folds) +
        ") and svm_cv.num_folds (" + std::to_string(plan.options.svm_cv.num_folds) +
        ") must equal outer_folds (" + std::to_string(plan.outer_folds) +
        "): the sites' fold and inner fold ids are in [0, outer_folds)");
  }
  for (const StudyModelPlan& m : plan.models) {
    if (auto s = CheckModelOptions(plan.options, m.num_features); !s.ok()) {
      return s.Wrap("study: model \"" + m.name + "\"");
    }
  }
  const std::int64_t rounds_at_start = base.rounds();
  const int num_models = static_cast<int>(plan.models.size());
  const int k = plan.outer_folds;
  const auto kk = static_cast<std::size_t>(k);
  Progress say(progress);

  // fits[m][0] = final model, fits[m][1 + f] = outer fold f's model.
  std::vector<std::vector<Result<FittedModel>>> fits(
      static_cast<std::size_t>(num_models),
      std::vector<Result<FittedModel>>(kk + 1, Result<FittedModel>(common::Internal("not run"))));
  const auto describe = [&](const FittedModel& fit) {
    return "lambda " + Fmt(fit.lasso.lambda_chosen) + ", " + std::to_string(fit.selected.size()) +
           " selected, C " + (fit.selected.empty() ? std::string("-") : Fmt(fit.svm_cv.c_chosen)) +
           ", round " + std::to_string(fit.rounds);
  };

  // Missing values: one round of imputation sums for every (model, final or
  // outer fold) fit, over the rows that fit trains on (slot k) and over the
  // training part of each of its CV folds g (slot g).
  // imputation[m][part][slot]: part 0 = the final model, 1 + f = outer fold f.
  std::vector<std::vector<std::vector<Eigen::VectorXd>>> imputation(
      static_cast<std::size_t>(num_models),
      std::vector<std::vector<Eigen::VectorXd>>(kk + 1, std::vector<Eigen::VectorXd>(kk + 1)));
  const auto fit_values = [&](std::size_t m, std::size_t part) -> const Eigen::VectorXd& {
    return imputation[m][part][kk];
  };
  const auto fold_values = [&](std::size_t m, std::size_t part) {
    const auto& slots = imputation[m][part];
    return slots[kk].size() == 0 ? std::vector<Eigen::VectorXd>()
                                 : std::vector<Eigen::VectorXd>(slots.begin(), slots.end() - 1);
  };
  std::vector<Eigen::VectorXd> missing_cells(static_cast<std::size_t>(num_models));
  {
    std::vector<StatRequest> requests;
    std::vector<std::tuple<std::size_t, int, int>> who;  // model, part, slot
    for (std::size_t m = 0; m < plan.models.size(); ++m) {
      const StudyModelPlan& model = plan.models[m];
      if (model.imputation.empty()) continue;
      if (static_cast<int>(model.imputation.size()) != model.num_features) {
        return InvalidArgument(
            "study: model \"" + model.name + "\": " + std::to_string(model.imputation.size()) +
            " imputation rules for " + std::to_string(model.num_features) + " columns");
      }
      for (int part = 0; part <= k; ++part) {
        for (int slot = 0; slot <= k; ++slot) {
          site_agent::stats::ImputationSumsRequest request;
          request.dataset = model.dataset;
          request.rows = slot == k ? RowSubset{RowSubset::Kind::kAll, -1, part - 1}
                                   : RowSubset{RowSubset::Kind::kTrainOfFold, slot, part - 1};
          requests.emplace_back(std::move(request));
          who.emplace_back(m, part, slot);
        }
      }
    }
    if (!requests.empty()) {
      auto sums = base.SumBatch(requests);
      if (!sums.ok()) return sums.status().Wrap("study: imputation sums");
      if (sums->size() != requests.size()) {
        return common::Internal("study: " + std::to_string(sums->size()) + " imputation sums for " +
                                std::to_string(requests.size()) + " requests");
      }
      for (std::size_t r = 0; r < requests.size(); ++r) {
        const auto [m, part, slot] = who[r];
        const StudyModelPlan& model = plan.models[m];
        auto values = ImputationValuesFromSums((*sums)[r], model.imputation, model.columns);
        if (!values.ok()) {
          return values.status().Wrap(
              "study: model \"" + model.name + "\": " +
              (part == 0 ? std::string("final model") : "outer fold " + std::to_string(part - 1)) +
              (slot == k ? std::string() : ", training part of CV fold " + std::to_string(slot)));
        }
        imputation[m][static_cast<std::size_t>(part)][static_cast<std::size_t>(slot)] =
            std::move(values).value();
        if (part == 0 && slot == k) {
          const std::vector<double>& a = (*sums)[r];
          const std::size_t p = model.imputation.size();
          Eigen::VectorXd missing(static_cast<Eigen::Index>(p));
          double total = 0.0;
          for (std::size_t j = 0; j < p; ++j) {
            missing[static_cast<Eigen::Index>(j)] = std::round(a[0] - a[1 + j]);
            total += missing[static_cast<Eigen::Index>(j)];
          }
          missing_cells[m] = std::move(missing);
          say(model.name + ": imputation values from the training rows of every fit (" +
              Fmt(total) + " missing cells in this model's columns)");
        }
      }
    }
  }

  if (plan.nested) {
    // Every (model, final or outer fold) fit at once.
    RunConcurrently(base, num_models * (k + 1), [&](int who, Aggregator& proxy) {
      const auto m = static_cast<std::size_t>(who / (k + 1));
      const int part = who % (k + 1);
      const StudyModelPlan& model = plan.models[m];
      ScopedAggregator scoped(proxy, model.dataset, model.num_features, part - 1);
      const auto p = static_cast<std::size_t>(part);
      ImputingAggregator imputing(scoped, fit_values(m, p), fold_values(m, p));
      auto fit = FitModel(imputing, plan.options);
      if (fit.ok()) {
        fit->imputation = fit_values(m, p);
        fit->fold_imputation = fold_values(m, p);
        fit->svm_fill = SvmFill(fit->imputation, fit->svm.columns);
      }
      const std::string what = part == 0
                                   ? std::string("final model")
                                   : "outer fold " + std::to_string(part) + "/" + std::to_string(k);
      say(model.name + ": " + what + ": " +
          (fit.ok() ? "done (" + describe(*fit) + ")" : "failed: " + fit.status().ToString()));
      fits[m][static_cast<std::size_t>(part)] = std::move(fit);
    });
  } else {
    // The final model first (its selection and C are fixed for the folds);
    // all models concurrently, and each model's folds concurrently.
    RunConcurrently(base, num_models, [&](int who, Aggregator& proxy) {
      const auto m = static_cast<std::size_t>(who);
      const StudyModelPlan& model = plan.models[m];
      ScopedAggregator scoped(proxy, model.dataset, model.num_features, -1);
      ImputingAggregator imputing(scoped, fit_values(m, 0), fold_values(m, 0));
      fits[m][0] = FitModel(imputing, plan.options);
      if (fits[m][0].ok()) {
        fits[m][0]->imputation = fit_values(m, 0);
        fits[m][0]->fold_imputation = fold_values(m, 0);
        fits[m][0]->svm_fill = SvmFill(fits[m][0]->imputation, fits[m][0]->svm.columns);
      }
      if (!fits[m][0].ok()) {
        say(model.name + ": final model: failed: " + fits[m][0].status().ToString());
        return;
      }
      say(model.name + ": final model: done (" + describe(*fits[m][0]) + ")");
      const FittedModel& final_model = *fits[m][0];
      RunConcurrently(proxy, k, [&](int f, Aggregator& fold_proxy) {
        ScopedAggregator fold_scoped(fold_proxy, model.dataset, model.num_features, f);
        const auto p = static_cast<std::size_t>(f) + 1;
        ImputingAggregator fold_imputing(fold_scoped, fit_values(m, p), fold_values(m, p));
        auto& fit = fits[m][p];
        fit = RefitWithSelection(fold_imputing, plan.options, final_model);
        if (fit.ok()) {
          fit->imputation = fit_values(m, p);
          fit->fold_imputation = fold_values(m, p);
          fit->svm_fill = SvmFill(fit->imputation, fit->svm.columns);
        }
      });
      say(model.name + ": outer folds refitted with the final selection (outside_cv)");
    });
  }
  for (std::size_t m = 0; m < fits.size(); ++m) {
    for (std::size_t part = 0; part <= kk; ++part) {
      if (!fits[m][part].ok()) {
        return fits[m][part].status().Wrap(
            "study: model \"" + plan.models[m].name + "\": " +
            (part == 0 ? std::string("final model") : "outer fold " + std::to_string(part - 1)));
      }
    }
  }

  // One round: the held-out scores of every (model, outer fold), as
  // per-class histograms.
  const int bins = plan.options.svm_cv.histogram_bins;
  const auto nb = static_cast<std::size_t>(bins);
  std::vector<StatRequest> requests;
  for (std::size_t m = 0; m < fits.size(); ++m) {
    site_agent::stats::ScoreHistogramRequest request;
    request.bins = bins;
    request.dataset = plan.models[m].dataset;
    for (int f = 0; f < k; ++f) {
      request.rows.push_back({RowSubset::Kind::kTestOfFold, f, -1});
      request.scorers.push_back(ScorerOf(*fits[m][static_cast<std::size_t>(f) + 1]));
    }
    requests.emplace_back(std::move(request));
  }
  auto histograms = base.SumBatch(requests);
  if (!histograms.ok()) return histograms.status().Wrap("study: held-out scores");
  if (histograms->size() != requests.size()) {
    return common::Internal("study: " + std::to_string(histograms->size()) +
                            " held-out histograms for " + std::to_string(requests.size()) +
                            " models");
  }

  StudyRun run;
  for (std::size_t m = 0; m < fits.size(); ++m) {
    const std::vector<double>& h = (*histograms)[m];
    if (h.size() != 2 * nb * kk) {
      return common::Internal("study: " + std::to_string(h.size()) + " histogram sums, expected " +
                              std::to_string(2 * nb * kk));
    }
    ModelRun model_run;
    model_run.name = plan.models[m].name;
    CrossValidatedPerformance& cv = model_run.cv;
    cv.nested = plan.nested;
    cv.optimistic = !plan.nested;
    cv.neg_histogram.assign(nb, 0.0);
    cv.pos_histogram.assign(nb, 0.0);
    for (std::size_t f = 0; f < kk; ++f) {
      const FittedModel& fit = *fits[m][f + 1];
      std::vector<double> neg(h.begin() + static_cast<std::ptrdiff_t>(2 * nb * f),
                              h.begin() + static_cast<std::ptrdiff_t>(2 * nb * f + nb));
      std::vector<double> pos(h.begin() + static_cast<std::ptrdiff_t>(2 * nb * f + nb),
                              h.begin() + static_cast<std::ptrdiff_t>(2 * nb * (f + 1)));
      OuterFoldResult r;
      r.fold = static_cast<int>(f);
      r.selected = fit.selected;
      r.lambda = fit.lasso.lambda_chosen;
      r.c = fit.selected.empty() ? 0.0 : fit.svm_cv.c_chosen;
      for (std::size_t b = 0; b < nb; ++b) {
        r.n_test += neg[b] + pos[b];
        cv.neg_histogram[b] += neg[b];
        cv.pos_histogram[b] += pos[b];
      }
      if (!(r.n_test >= 1.0)) {
        return InvalidArgument("study: model \"" + plan.models[m].name + "\": outer fold " +
                               std::to_string(f) +
                               " has no held-out rows at any site (fold ids must cover 0.." +
                               std::to_string(k - 1) + ")");
      }
      r.auc = AucFromHistograms(neg, pos);
      cv.folds.push_back(std::move(r));
    }
    cv.auc = AucFromHistograms(cv.neg_histogram, cv.pos_histogram);
    model_run.final_model = std::move(fits[m][0]).value();
    model_run.missing_cells = missing_cells[m];
    for (std::size_t f = 0; f < kk; ++f) {
      model_run.fold_models.push_back(std::move(fits[m][f + 1]).value());
    }
    say(model_run.name + ": cross-validated AUC " + Fmt(cv.auc) +
        (cv.optimistic ? " (optimistic: selection outside CV)" : " (nested)"));
    run.models.push_back(std::move(model_run));
  }
  run.rounds = base.rounds() - rounds_at_start;
  return run;
}

}  // namespace fedrad::coordinator

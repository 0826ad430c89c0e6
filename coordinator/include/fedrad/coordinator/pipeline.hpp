// A study's model building and its honest evaluation, on sums only.
//
// FitModel (one model, on the rows in scope of a ScopedAggregator):
//   1. LASSO with K-fold CV (cross_validation.hpp): λ by lambda.min or
//      lambda.1se; selected = features with β_j ≠ 0 at the chosen λ.
//   2. Linear SVM on the selected features, standardised with the pooled
//      mean/sd of the rows in scope: C by K-fold CV on the same folds
//      (svm_cv.hpp), then the final SVM on all rows in scope at that C.
//   3. Platt scaling on the out-of-fold decision values of step 2's fold
//      models at the chosen C (platt.hpp), when enabled.
//   If the LASSO selects nothing the model is the intercept-only model:
//   svm.columns and svm.w empty, svm.intercept = (n₊ - n₋) / n (the
//   squared-hinge optimum over b when w = 0), svm_cv empty (no C chosen),
//   no Platt (has_platt = false); its scores are constant, so its AUC is
//   0.5 (ties count ½), never NaN.
//   Rounds: LASSO CV (its folds and master concurrently), then the SVM CV
//   (one moments round, the |grid| x K fits concurrently, one histogram
//   round), then the final SVM and Platt concurrently. The SVM's
//   standardisation is the LASSO master path's (same rows): no extra round.
//   The CV's fold ids are those of the rows in scope: the sites' fold ids,
//   or the inner fold ids inside an outer fold; options.lasso_cv.num_folds
//   and options.svm_cv.num_folds must be equal.
//
// RunStudy (every model of the plan):
//   - final model: FitModel on all rows (folds = the sites' fold ids);
//   - cross-validated performance, K outer folds:
//       nested (default): for each outer fold f, FitModel on the training
//         part of f (ScopedAggregator with outer_fold = f; inner folds are
//         the sites' inner fold ids), so LASSO selection and C choice are
//         repeated inside every outer fold; the fold's model scores the
//         held-out rows of f;
//       outside_cv: the final model's selected features and C are kept and
//         only the SVM (and Platt) are refitted on the training part of each
//         outer fold: the common, optimistic published practice; the result
//         is marked `optimistic`. The refit standardises the selected
//         columns on the fold's training part (one round); with Platt it
//         runs the SVM CV on the inner folds with the single fixed C (for
//         the out-of-fold scores Platt needs). The folds start after the
//         final model (they need its selection and C).
//     Held-out scores come back as per-class histograms (one round for all
//     folds), pooled over folds: cv_auc = AucFromHistograms.
//   All models and all outer folds run concurrently (round_batcher.hpp), so
//   the study's rounds are those of its longest single fit + 1 (nested:
//   max over every (model, final or fold) FitModel; outside_cv: max over
//   models of final fit + longest refit), not their sum.
//   The plan's lasso_cv.num_folds and svm_cv.num_folds must equal
//   outer_folds (sites' fold and inner fold ids are in [0, outer_folds)).
//   Errors name the model and the fit (final model or outer fold f).
//
// Missing values (a model plan with `imputation` rules; data_dictionary
// "missing": "impute"; docs/methods.md §11): RunStudy first runs ONE extra
// round of ImputationSumsRequests: per (model, final or outer fold f) fit,
// one on the rows that fit trains on (final: all rows; fold f: its
// training part) and one on the training part of each of its CV folds g,
// and turns the pooled sums into one imputation value per column
// (ImputationValuesFromSums). Every request of a fit then carries the
// values of the rows it is about (ImputingAggregator: fold g's requests
// those of fold g's training part, the rest the fit's), the scoping of
// standardisation, so a held-out fold never informs the values its own
// rows are filled with; a fitted model keeps them (`imputation`, and
// `svm_fill` for its scorer), so outer fold f's held-out rows are scored
// with fold f's values and external rows with the final model's.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/cross_validation.hpp"
#include "fedrad/coordinator/linear_svm.hpp"
#include "fedrad/coordinator/platt.hpp"
#include "fedrad/coordinator/standardization.hpp"
#include "fedrad/coordinator/svm_cv.hpp"

namespace fedrad::coordinator {

// How one column's missing cells are filled (from the pooled sums of the
// training rows in scope; ImputationSumsRequest):
//   kMean      Σ_obs x / o (number / integer variables, radiomics);
//   kMajority  1 if the observed ones outnumber the observed zeros, else 0
//              (ties: 0) (binary and derived variables);
//   kMode      the column is the 0/1 dummy of level `level` (1..L-1) of the
//              categorical variable `group` (L levels, level 0 = the
//              reference, no column): the most frequent observed level m
//              (reference count = o - Σ dummies; ties: the level listed
//              first) fills the group: 1 for level m's column, 0 for the
//              others. Every dummy column of the group must be in the
//              dataset.
enum class ImputationStatistic { kMean, kMajority, kMode };

struct ColumnImputation {
  ImputationStatistic statistic = ImputationStatistic::kMean;
  std::string group;  // kMode: the categorical variable
  int level = 0;      // kMode: this column's level (1..levels-1)
  int levels = 0;     // kMode: the variable's number of levels
};

// "mean" | "majority" | "mode".
const char* ImputationStatisticName(ImputationStatistic statistic);

// One imputation value per column from a summed ImputationSumsRequest array
// [n, o_1..o_p, Σ_1..Σ_p] (rules.size() = p). kInvalidArgument naming the
// column (`names`, may be empty) when a column has no observed value.
common::Result<Eigen::VectorXd> ImputationValuesFromSums(const std::vector<double>& sums,
                                                         const std::vector<ColumnImputation>& rules,
                                                         const std::vector<std::string>& names);

struct ModelOptions {
  LassoCvOptions lasso_cv;  // num_folds, choice, LASSO options
  SvmCvOptions svm_cv;      // c_grid, SVM template (loss, bias), bins
  bool platt = true;
  PlattOptions platt_options;
};

common::Status CheckModelOptions(const ModelOptions& options, int num_features);

struct FittedModel {
  LassoCvResult lasso;                  // path, cvm/cvsd, chosen λ, selected
  std::vector<int> selected;            // == lasso.selected (dataset column indices)
  Standardization svm_standardization;  // mean/sd of the selected columns (rows in scope)
  SvmCvResult svm_cv;                   // empty grid if nothing was selected
  LinearSvmModel svm;                   // on `selected`, standardised units
  bool has_platt = false;
  PlattModel platt;
  std::int64_t rounds = 0;  // rounds while this fit ran
  // Missing values: the imputation values of this fit (one per dataset
  // column, from its training rows; empty without imputation), those of the
  // training part of each of its CV folds g (used on the rows of fold g by
  // its LASSO and SVM CV and Platt), and those of its SVM's columns (the
  // scorer's fill, site_agent::stats::LinearScorer).
  Eigen::VectorXd imputation;
  std::vector<Eigen::VectorXd> fold_imputation;
  Eigen::VectorXd svm_fill;
};

common::Result<FittedModel> FitModel(Aggregator& scoped, const ModelOptions& options);

struct OuterFoldResult {
  int fold = 0;
  std::vector<int> selected;
  double lambda = 0.0;
  double c = 0.0;
  double n_test = 0.0;
  double auc = 0.0;  // of this fold's held-out scores (NaN if a class is absent)
};

struct CrossValidatedPerformance {
  bool nested = true;
  bool optimistic = false;  // outside_cv
  std::vector<OuterFoldResult> folds;
  std::vector<double> neg_histogram;  // pooled over outer folds
  std::vector<double> pos_histogram;
  double auc = 0.0;
};

struct StudyModelPlan {
  std::string name;
  std::string dataset;  // the sites' dataset name (the model name)
  int num_features = 0;
  // Missing values: one rule per column (empty: no imputation round, and a
  // missing cell at a site fails the first request that reads it).
  std::vector<ColumnImputation> imputation;
  std::vector<std::string> columns;  // column names, for messages (may be empty)
};

struct StudyPlan {
  std::vector<StudyModelPlan> models;
  ModelOptions options;
  int outer_folds = 5;
  bool nested = true;
};

struct ModelRun {
  std::string name;
  FittedModel final_model;
  CrossValidatedPerformance cv;
  // Outer fold f's model (nested: FitModel on the fold's training part;
  // outside_cv: the refit with the final selection and C; its lasso then
  // only carries lambda_chosen and selected).
  std::vector<FittedModel> fold_models;
  // Missing values (empty without imputation): per column, the number of
  // missing cells among all training rows (n - o of the final model's sums).
  Eigen::VectorXd missing_cells;
};

struct StudyRun {
  std::vector<ModelRun> models;
  std::int64_t rounds = 0;
};

// Progress callback: a short human line ("combined: outer fold 3/5 LASSO
// λ 57/100"), may be called from several threads (serialised by RunStudy).
using ProgressFn = std::function<void(const std::string& line)>;

common::Result<StudyRun> RunStudy(Aggregator& base, const StudyPlan& plan,
                                  const ProgressFn& progress = nullptr);

}  // namespace fedrad::coordinator

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

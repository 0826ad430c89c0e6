// Federated K-fold cross-validation of the LASSO path (cv.glmnet semantics,
// family = "binomial", type.measure = "deviance", grouped = TRUE).
//
// Each site holds fold ids in [0, K) for its own rows (LocalTable.fold,
// assigned by the site, e.g. stats/folds.hpp AssignFolds, or given); the
// coordinator names folds only by number and never learns which row is in
// which fold.
//
// 1. Master fit: the LASSO path λ_1 > .. > λ_L on all rows (lasso.hpp).
// 2. Fold fits, f = 0..K-1, on the training part T_f = {i : fold_i ≠ f}:
//    standardisation from T_f only (pooled moments of T_f, divisor |T_f|,
//    glmnet standardize = TRUE inside CV), warm-started path, either
//      - FoldLambdaPath::kOwn (cv.glmnet without `lambda =`): the fold's own
//        path from its λ_max(T_f), with the master's nlambda and
//        lambda_min_ratio option (0 = glmnet's default, resolved per fold
//        from |T_f| and p exactly as glmnet resolves it for each fold fit);
//        coefficients are then moved onto the master path by glmnet's
//        lambda.interp: for a master λ clamped to [λ_min(f), λ_max(f)],
//        with λ_a ≥ λ ≥ λ_{a+1} on the fold path,
//          β(λ) = w β_a + (1 - w) β_{a+1},  w = (λ - λ_{a+1}) / (λ_a - λ_{a+1})
//        (β_a itself if λ = λ_a) — i.e. predict(fit, s = lambda) as in
//        cv.glmnet's buildPredmat with alignment = "lambda";
//      - FoldLambdaPath::kMaster (cv.glmnet with `lambda = <master path>`):
//        each fold is fitted at the master λ values themselves (cv.glmnet
//        passes a user-given lambda to every fold fit), no interpolation.
//    If the master options carry an explicit `lambdas` path, both modes fit
//    the folds on it (as cv.glmnet does when lambda is given).
// 3. One round: per fold, the held-out rows V_f = {i : fold_i = f} return
//    n_f = |V_f| and D_fl = Σ_{i∈V_f} dev_i(λ_l) (providers.hpp,
//    DevianceRequest: binomial deviance with p clipped to [1e-5, 1 - 1e-5]),
//    summed over sites. Sites return sums only.
// 4. cvraw_fl = D_fl / n_f, N = Σ_f n_f,
//      cvm_l  = Σ_f n_f cvraw_fl / N,
//      cvsd_l = sqrt( Σ_f n_f (cvraw_fl - cvm_l)² / N / (K - 1) ),
//    lambda.min = the largest λ_l with cvm_l = min cvm,
//    lambda.1se = the largest λ_l with cvm_l ≤ cvm_min + cvsd_min
//    (glmnet's cvstats and getOptcv.glmnet). The selected features are the
//    non-zero coefficients of the master path at the chosen λ.
//
// Rounds: all fold fits (and, in kOwn mode, the master fit) advance in the
// same rounds. Each fit runs in its own thread against a proxy aggregator;
// a round is sent only when every still-running fit has posted its next
// request, and it carries all of them (Aggregator::SumBatch: one message to
// each site with every fold's request, one message back with every array).
// Hence rounds = max over the concurrent fits of their own rounds (plus, in
// kMaster mode, the master fit's rounds, which must precede the folds since
// they need its λ path) + 1 for the held-out deviances.
#pragma once

#include <cstdint>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/lasso.hpp"

namespace fedrad::coordinator {

enum class FoldLambdaPath {
  kOwn,     // each fold its own λ path, interpolated onto the master path
  kMaster,  // each fold fitted on the master path
};

enum class LambdaChoice { kMin, kOneSe };

struct LassoCvOptions {
  LassoOptions lasso;  // master fit options; lasso.rows must select all rows
  int num_folds = 10;  // the sites' fold ids are in [0, num_folds)
  FoldLambdaPath fold_path = FoldLambdaPath::kOwn;
  LambdaChoice choice = LambdaChoice::kOneSe;  // cv.glmnet's default s
};

// Readable message if an option is out of range; OK otherwise.
common::Status CheckLassoCvParameters(const LassoCvOptions& options);

struct LassoCvResult {
  LassoPath path;                                  // master path (all rows)
  std::vector<double> lambda;                      // master λ, decreasing
  std::vector<double> cvm;                         // per λ
  std::vector<double> cvsd;                        // per λ
  std::vector<double> fold_n;                      // n_f (held-out rows of fold f, all sites)
  std::vector<std::vector<double>> fold_deviance;  // cvraw: K x L mean deviance
  std::vector<double> fold_max_kkt_residual;       // per fold: max KKT residual over its path
  double lambda_min = 0.0;
  double lambda_1se = 0.0;
  int index_min = 0;  // into lambda
  int index_1se = 0;
  LambdaChoice choice = LambdaChoice::kOneSe;
  int index_chosen = 0;
  double lambda_chosen = 0.0;
  std::vector<int> selected;       // features with β_j ≠ 0 on the master path at lambda_chosen
  std::int64_t rounds = 0;         // all rounds
  std::int64_t master_rounds = 0;  // rounds of the master fit (in kOwn mode shared with folds)
  std::int64_t fold_rounds = 0;    // rounds spent while the fold fits ran
  std::int64_t deviance_rounds = 0;
};

// kInvalidArgument on bad options, a fold without held-out rows or a fold
// whose training part lacks a class; errors of a fit are passed on with the
// fold named.
common::Result<LassoCvResult> FitLassoCv(Aggregator& aggregator, const LassoCvOptions& options);

// glmnet's lambda.interp: for each s, the neighbours (left, right) on the
// decreasing `path` and the weight of `left`, after clamping s to the range
// of the path.
struct LambdaInterpolation {
  int left = 0;
  int right = 0;
  double frac = 1.0;  // coefficient = frac * β_left + (1 - frac) * β_right
};
std::vector<LambdaInterpolation> InterpolateLambda(const std::vector<double>& path,
                                                   const std::vector<double>& s);

}  // namespace fedrad::coordinator

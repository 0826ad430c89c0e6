// Federated K-fold cross-validation of the linear SVM's C.
//
// For every C of a log grid and every fold g of the rows in scope (the
// sites' fold ids; inner fold ids under a ScopedAggregator with an outer
// fold), a LinearSvm is fitted on the training part T_g of fold g on the
// model's columns, standardised (when `standardize`) with the pooled mean and
// sd (divisor |T_g|) of T_g itself. All K x |grid| fits run concurrently and
// share rounds (round_batcher.hpp). The fold-g model then scores the
// held-out rows V_g; one round returns, per C and per fold, the per-class
// histograms of those scores (providers.hpp, ScoreHistogramRequest), summed
// over sites. For each C the histograms of the K folds are added (the pooled
// out-of-fold scores) and
//   cv_auc(C) = AucFromHistograms(Σ_g neg_g, Σ_g pos_g)   (metrics.hpp).
// The chosen C has the largest cv_auc; ties go to the smallest C (the most
// regularised model).
//
// Sites send, per round, only sums over rows: loss/gradient/Hessian sums of
// the SVM fits and class counts per score bin.
#pragma once

#include <cstdint>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/linear_svm.hpp"
#include "fedrad/coordinator/standardization.hpp"
#include "fedrad/site_agent/stats/providers.hpp"

namespace fedrad::coordinator {

struct SvmCvOptions {
  // Template for every fit: loss, regularize_bias, bias_value, tolerances,
  // columns (empty = all). `c`, `rows`, `center` and `scale` are set per fit.
  LinearSvmOptions svm;
  std::vector<double> c_grid;  // candidate C values, each > 0, distinct
  int num_folds = 5;           // fold ids of the rows in scope are in [0, num_folds)
  bool standardize = true;     // per fold, from that fold's training part
  int histogram_bins = 512;
};

// Readable message if an option is out of range; OK otherwise.
common::Status CheckSvmCvParameters(const SvmCvOptions& options, int num_features);

struct SvmCvResult {
  std::vector<double> c_grid;
  std::vector<double> cv_auc;  // per C
  int index_chosen = 0;
  double c_chosen = 0.0;
  // At the chosen C: fold g's model as a scorer (its columns, the fold's
  // center/scale, w, intercept), and the held-out rows it applies to, for
  // Platt scaling on out-of-fold decision values.
  std::vector<site_agent::stats::LinearScorer> fold_scorers;
  std::vector<site_agent::stats::RowSubset> fold_test_rows;
  std::int64_t rounds = 0;
};

common::Result<SvmCvResult> FitSvmCv(Aggregator& aggregator, const SvmCvOptions& options);

}  // namespace fedrad::coordinator

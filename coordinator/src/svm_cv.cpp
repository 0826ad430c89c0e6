#include "fedrad/coordinator/svm_cv.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "fedrad/coordinator/metrics.hpp"
#include "fedrad/coordinator/round_batcher.hpp"

namespace fedrad::coordinator {

using common::InvalidArgument;
using common::Result;
using common::Status;
using site_agent::stats::LinearScorer;
using site_agent::stats::RowSubset;
using site_agent::stats::StatRequest;

Status CheckSvmCvParameters(const SvmCvOptions& o, int num_features) {
  if (o.c_grid.empty()) return InvalidArgument("svm cv: c_grid is empty (give at least one C)");
  for (std::size_t i = 0; i < o.c_grid.size(); ++i) {
    const double c = o.c_grid[i];
    if (!(std::isfinite(c) && c > 0.0)) {
      return InvalidArgument("svm cv: c_grid[" + std::to_string(i) +
                             "] must be finite and > 0, got " + std::to_string(c));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (o.c_grid[j] == c) {
        return InvalidArgument("svm cv: c_grid[" + std::to_string(i) + "] = " + std::to_string(c) +
                               " repeats c_grid[" + std::to_string(j) + "]");
      }
    }
  }
  if (o.num_folds < 2) {
    return InvalidArgument("svm cv: num_folds must be >= 2, got " + std::to_string(o.num_folds));
  }
  if (o.histogram_bins < 2 || o.histogram_bins > 65536) {
    return InvalidArgument("svm cv: histogram_bins must be in [2, 65536], got " +
                           std::to_string(o.histogram_bins));
  }
  if (o.svm.rows.kind != RowSubset::Kind::kAll) {
    return InvalidArgument(
        "svm cv: svm.rows must be all rows (the folds' training and held-out parts are chosen "
        "by the cross-validation)");
  }
  if (o.standardize && (o.svm.center.size() != 0 || o.svm.scale.size() != 0)) {
    return InvalidArgument(
        "svm cv: with standardize = true the folds' center/scale come from their training "
        "parts; leave svm.center and svm.scale empty");
  }
  LinearSvmOptions probe = o.svm;
  probe.c = o.c_grid.front();
  return CheckLinearSvmParameters(probe, num_features);
}

Result<SvmCvResult> FitSvmCv(Aggregator& aggregator, const SvmCvOptions& options) {
  const int p = aggregator.num_features();
  FEDRAD_RETURN_IF_ERROR(CheckSvmCvParameters(options, p));
  const std::int64_t rounds_at_start = aggregator.rounds();
  const int num_folds = options.num_folds;
  const auto kf = static_cast<std::size_t>(num_folds);
  const std::size_t num_c = options.c_grid.size();

  std::vector<int> columns = options.svm.columns;
  if (columns.empty()) {
    for (int j = 0; j < p; ++j) columns.push_back(j);
  }
  const auto k = static_cast<Eigen::Index>(columns.size());

  // Per-fold center/scale of the model's columns from the fold's training
  // part: one round for all folds.
  std::vector<Eigen::VectorXd> centers(kf, options.svm.center);
  std::vector<Eigen::VectorXd> scales(kf, options.svm.scale);
  if (options.standardize) {
    std::vector<StatRequest> requests;
    for (int g = 0; g < num_folds; ++g) {
      site_agent::stats::MomentsRequest request;
      request.rows = {RowSubset::Kind::kTrainOfFold, g};
      requests.emplace_back(request);
    }
    FEDRAD_ASSIGN_OR_RETURN(auto sums, aggregator.SumBatch(requests));
    for (std::size_t g = 0; g < kf; ++g) {
      if (sums[g].empty() || !(sums[g][0] >= 1.0)) {
        return InvalidArgument("svm cv: fold " + std::to_string(g) +
                               " has no training rows at any site");
      }
      auto standardization = Standardization::FromMoments(sums[g], p);
      if (!standardization.ok()) {
        return standardization.status().Wrap("svm cv: fold " + std::to_string(g));
      }
      centers[g].resize(k);
      scales[g].resize(k);
      for (Eigen::Index c = 0; c < k; ++c) {
        centers[g][c] = standardization->mean[columns[static_cast<std::size_t>(c)]];
        scales[g][c] = standardization->sd[columns[static_cast<std::size_t>(c)]];
      }
    }
  }

  // All |grid| x K fits at once; fit i = (C index i / K, fold i % K).
  const std::size_t num_fits = num_c * kf;
  std::vector<LinearSvmOptions> fit_options(num_fits, options.svm);
  for (std::size_t i = 0; i < num_fits; ++i) {
    LinearSvmOptions& o = fit_options[i];
    const std::size_t g = i % kf;
    o.c = options.c_grid[i / kf];
    o.columns = columns;
    o.rows = {RowSubset::Kind::kTrainOfFold, static_cast<int>(g)};
    o.center = centers[g];
    o.scale = scales[g];
  }
  std::vector<Result<LinearSvmModel>> fits(num_fits,
                                           Result<LinearSvmModel>(common::Internal("not run")));
  RunConcurrently(aggregator, static_cast<int>(num_fits), [&](int i, Aggregator& proxy) {
    const auto ii = static_cast<std::size_t>(i);
    fits[ii] = LinearSvm(fit_options[ii]).Fit(proxy);
  });
  std::vector<std::vector<LinearScorer>> scorers(num_c, std::vector<LinearScorer>(kf));
  for (std::size_t i = 0; i < num_fits; ++i) {
    const std::size_t ci = i / kf;
    const std::size_t g = i % kf;
    if (!fits[i].ok()) {
      return fits[i].status().Wrap("svm cv: C = " + std::to_string(options.c_grid[ci]) + ", fold " +
                                   std::to_string(g));
    }
    LinearScorer& s = scorers[ci][g];
    s.columns = columns;
    s.center = centers[g];
    s.scale = scales[g];
    s.w = fits[i]->w;
    s.intercept = fits[i]->intercept;
  }

  // Held-out score histograms of every (C, fold): one round.
  std::vector<RowSubset> test_rows(kf);
  for (int g = 0; g < num_folds; ++g) {
    test_rows[static_cast<std::size_t>(g)] = {RowSubset::Kind::kTestOfFold, g};
  }
  std::vector<StatRequest> requests;
  for (std::size_t ci = 0; ci < num_c; ++ci) {
    site_agent::stats::ScoreHistogramRequest request;
    request.rows = test_rows;
    request.scorers = scorers[ci];
    request.bins = options.histogram_bins;
    requests.emplace_back(std::move(request));
  }
  FEDRAD_ASSIGN_OR_RETURN(auto histograms, aggregator.SumBatch(requests));
  const auto bins = static_cast<std::size_t>(options.histogram_bins);

  SvmCvResult result;
  result.c_grid = options.c_grid;
  result.cv_auc.assign(num_c, 0.0);
  for (std::size_t ci = 0; ci < num_c; ++ci) {
    const std::vector<double>& h = histograms[ci];
    if (h.size() != 2 * bins * kf) {
      return common::Internal("svm cv: " + std::to_string(h.size()) + " histogram sums, expected " +
                              std::to_string(2 * bins * kf));
    }
    std::vector<double> neg(bins, 0.0), pos(bins, 0.0);
    for (std::size_t g = 0; g < kf; ++g) {
      double fold_n = 0.0;
      for (std::size_t b = 0; b < bins; ++b) {
        neg[b] += h[2 * bins * g + b];
        pos[b] += h[2 * bins * g + bins + b];
        fold_n += h[2 * bins * g + b] + h[2 * bins * g + bins + b];
      }
      if (ci == 0 && !(fold_n >= 1.0)) {
        return InvalidArgument("svm cv: fold " + std::to_string(g) +
                               " has no held-out rows at any site (fold ids must cover 0.." +
                               std::to_string(num_folds - 1) + ")");
      }
    }
    result.cv_auc[ci] = AucFromHistograms(neg, pos);
    if (std::isnan(result.cv_auc[ci])) {
      return InvalidArgument("svm cv: the held-out rows of the folds have only one class: no AUC");
    }
  }
  // Largest AUC; ties to the smallest C.
  std::size_t best = 0;
  for (std::size_t ci = 1; ci < num_c; ++ci) {
    if (result.cv_auc[ci] > result.cv_auc[best] ||
        (result.cv_auc[ci] == result.cv_auc[best] && options.c_grid[ci] < options.c_grid[best])) {
      best = ci;
    }
  }
  result.index_chosen = static_cast<int>(best);
  result.c_chosen = options.c_grid[best];
  result.fold_scorers = scorers[best];
  result.fold_test_rows = test_rows;
  result.rounds = aggregator.rounds() - rounds_at_start;
  return result;
}

}  // namespace fedrad::coordinator

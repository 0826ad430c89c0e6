// Federated cross-validation of the SVM's C: against a direct reference
// (per-fold standardisation and fits done by hand on the pooled table, AUC by
// brute-force Mann-Whitney on the raw held-out scores), federated (3 sites)
// == pooled, rounds shared by the concurrent fits, and parameter checks.
#include "fedrad/coordinator/svm_cv.hpp"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/linear_svm.hpp"
#include "fedrad/coordinator/platt.hpp"
#include "fedrad/site_agent/stats/folds.hpp"
#include "solver_test_data.hpp"

namespace fedrad::coordinator {
namespace {

using site_agent::stats::LocalTable;
using site_agent::stats::RowSubset;

struct CvData {
  LocalTable all;
  LocalTable sites[3];
};

CvData MakeCvData() {
  CvData d;
  const LocalTable all = testing::MakeLogisticData(150, 6, 31);
  const int cuts[4] = {0, 35, 104, 150};
  for (int s = 0; s < 3; ++s) {
    d.sites[s] = testing::Rows(all, cuts[s], cuts[s + 1]);
    auto folds =
        site_agent::stats::AssignFolds(d.sites[s].y, 5, 10 + static_cast<std::uint64_t>(s));
    EXPECT_TRUE(folds.ok());
    d.sites[s].fold = *folds;
  }
  d.all = all;
  for (int s = 0; s < 3; ++s) {
    d.all.fold.insert(d.all.fold.end(), d.sites[s].fold.begin(), d.sites[s].fold.end());
  }
  return d;
}

SvmCvOptions MakeOptions() {
  SvmCvOptions o;
  o.svm.columns = {0, 2, 3, 5};
  o.c_grid = {1.0, 0.003, 10.0, 0.1};
  o.num_folds = 5;
  o.histogram_bins = 65536;
  return o;
}

double BruteForceAuc(const std::vector<double>& s, const std::vector<double>& y) {
  double pairs = 0.0, np = 0.0, nn = 0.0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    (y[i] == 1.0 ? np : nn) += 1.0;
    if (y[i] != 1.0) continue;
    for (std::size_t j = 0; j < s.size(); ++j) {
      if (y[j] == 0.0) pairs += s[j] < s[i] ? 1.0 : s[j] == s[i] ? 0.5 : 0.0;
    }
  }
  return pairs / (np * nn);
}

TEST(SvmCvTest, MatchesDirectReferenceAndFederatedEqualsPooled) {
  const CvData d = MakeCvData();
  const SvmCvOptions options = MakeOptions();
  auto pooled_agg = InProcessAggregator::Create({&d.all});
  auto fed_agg = InProcessAggregator::Create({&d.sites[0], &d.sites[1], &d.sites[2]});
  ASSERT_TRUE(pooled_agg.ok()) << pooled_agg.status().ToString();
  ASSERT_TRUE(fed_agg.ok()) << fed_agg.status().ToString();
  auto pooled = FitSvmCv(*pooled_agg, options);
  auto fed = FitSvmCv(*fed_agg, options);
  ASSERT_TRUE(pooled.ok()) << pooled.status().ToString();
  ASSERT_TRUE(fed.ok()) << fed.status().ToString();

  // Reference: every fold's standardisation and fit by hand, then the AUC of
  // the pooled out-of-fold scores.
  const std::vector<int>& cols = options.svm.columns;
  const auto k = static_cast<Eigen::Index>(cols.size());
  std::vector<double> reference_auc;
  std::int64_t max_fit_rounds = 0, sum_fit_rounds = 0;
  double n_pos = 0.0;
  for (Eigen::Index i = 0; i < d.all.y.size(); ++i) n_pos += d.all.y[i];
  const double n_neg = static_cast<double>(d.all.y.size()) - n_pos;
  for (std::size_t ci = 0; ci < options.c_grid.size(); ++ci) {
    std::vector<double> scores, labels;
    for (int g = 0; g < 5; ++g) {
      std::vector<Eigen::Index> train, test;
      for (Eigen::Index i = 0; i < d.all.x.rows(); ++i) {
        (d.all.fold[static_cast<std::size_t>(i)] == g ? test : train).push_back(i);
      }
      Eigen::VectorXd center(k), scale(k);
      for (Eigen::Index c = 0; c < k; ++c) {
        double sum = 0.0, sq = 0.0;
        for (Eigen::Index i : train) sum += d.all.x(i, cols[static_cast<std::size_t>(c)]);
        const double mean = sum / static_cast<double>(train.size());
        for (Eigen::Index i : train) {
          const double v = d.all.x(i, cols[static_cast<std::size_t>(c)]) - mean;
          sq += v * v;
        }
        center[c] = mean;
        scale[c] = std::sqrt(sq / static_cast<double>(train.size()));
      }
      LinearSvmOptions fit_options = options.svm;
      fit_options.c = options.c_grid[ci];
      fit_options.rows = {RowSubset::Kind::kTrainOfFold, g};
      fit_options.center = center;
      fit_options.scale = scale;
      auto agg = InProcessAggregator::Create({&d.all});
      ASSERT_TRUE(agg.ok());
      auto fit = LinearSvm(fit_options).Fit(*agg);
      ASSERT_TRUE(fit.ok()) << fit.status().ToString();
      max_fit_rounds = std::max(max_fit_rounds, fit->rounds);
      sum_fit_rounds += fit->rounds;
      if (static_cast<int>(ci) == fed->index_chosen) {
        const auto& scorer = fed->fold_scorers[static_cast<std::size_t>(g)];
        EXPECT_LE((scorer.w - fit->w).cwiseAbs().maxCoeff(), 1e-8) << "fold " << g;
        EXPECT_NEAR(scorer.intercept, fit->intercept, 1e-8) << "fold " << g;
        EXPECT_LE((scorer.center - center).cwiseAbs().maxCoeff(), 1e-12) << "fold " << g;
        EXPECT_EQ(fed->fold_test_rows[static_cast<std::size_t>(g)].kind,
                  RowSubset::Kind::kTestOfFold);
        EXPECT_EQ(fed->fold_test_rows[static_cast<std::size_t>(g)].fold, g);
      }
      for (Eigen::Index i : test) {
        double s = fit->intercept;
        for (Eigen::Index c = 0; c < k; ++c) {
          s += fit->w[c] * (d.all.x(i, cols[static_cast<std::size_t>(c)]) - center[c]) / scale[c];
        }
        scores.push_back(s);
        labels.push_back(d.all.y[i]);
      }
    }
    reference_auc.push_back(BruteForceAuc(scores, labels));
  }
  std::size_t best = 0;
  for (std::size_t ci = 1; ci < reference_auc.size(); ++ci) {
    if (reference_auc[ci] > reference_auc[best] ||
        (reference_auc[ci] == reference_auc[best] && options.c_grid[ci] < options.c_grid[best])) {
      best = ci;
    }
  }
  ASSERT_EQ(pooled->cv_auc.size(), reference_auc.size());
  for (std::size_t ci = 0; ci < reference_auc.size(); ++ci) {
    // Exact unless a positive and a negative share one of the 65536 bins
    // (then off by ½ pair each).
    EXPECT_NEAR(pooled->cv_auc[ci], reference_auc[ci], 0.5 / (n_pos * n_neg) + 1e-15)
        << "C = " << options.c_grid[ci];
    EXPECT_EQ(fed->cv_auc[ci], pooled->cv_auc[ci]) << "C = " << options.c_grid[ci];
  }
  EXPECT_EQ(pooled->index_chosen, static_cast<int>(best));
  EXPECT_EQ(fed->index_chosen, pooled->index_chosen);
  EXPECT_EQ(fed->c_chosen, options.c_grid[best]);
  // Not all C give the same AUC (else the choice would not be tested).
  EXPECT_GT(*std::max_element(reference_auc.begin(), reference_auc.end()),
            *std::min_element(reference_auc.begin(), reference_auc.end()));

  // Rounds: 1 (fold moments) + the slowest fit + 1 (histograms).
  EXPECT_EQ(fed->rounds, max_fit_rounds + 2);
  EXPECT_EQ(pooled->rounds, fed->rounds);
  EXPECT_LT(fed->rounds, sum_fit_rounds);

  // Platt on the chosen C's out-of-fold scores: federated == pooled.
  auto platt_fed = FitPlatt(*fed_agg, fed->fold_test_rows, fed->fold_scorers, PlattOptions());
  auto platt_pooled =
      FitPlatt(*pooled_agg, pooled->fold_test_rows, pooled->fold_scorers, PlattOptions());
  ASSERT_TRUE(platt_fed.ok() && platt_pooled.ok()) << platt_fed.status().ToString();
  EXPECT_NEAR(platt_fed->a, platt_pooled->a, 1e-8 * std::abs(platt_pooled->a));
  EXPECT_NEAR(platt_fed->b, platt_pooled->b, 1e-8 * (1.0 + std::abs(platt_pooled->b)));
  std::printf(
      "svm cv: AUC per C {%g, %g, %g, %g} = {%.6f, %.6f, %.6f, %.6f}, chosen C %g; %lld rounds "
      "(slowest fit %lld, all %zu fits in sequence %lld)\n",
      options.c_grid[0], options.c_grid[1], options.c_grid[2], options.c_grid[3], fed->cv_auc[0],
      fed->cv_auc[1], fed->cv_auc[2], fed->cv_auc[3], fed->c_chosen,
      static_cast<long long>(fed->rounds), static_cast<long long>(max_fit_rounds),
      options.c_grid.size() * 5, static_cast<long long>(sum_fit_rounds));
}

TEST(SvmCvTest, ParameterChecksAreReadable) {
  auto message = [](const SvmCvOptions& o) { return CheckSvmCvParameters(o, 6).message(); };
  auto has = [&](const SvmCvOptions& o, const std::string& text) {
    return message(o).find(text) != std::string::npos;
  };
  SvmCvOptions o = MakeOptions();
  EXPECT_TRUE(CheckSvmCvParameters(o, 6).ok());
  o.c_grid.clear();
  EXPECT_TRUE(has(o, "c_grid is empty"));
  o.c_grid = {1.0, -2.0};
  EXPECT_TRUE(has(o, "c_grid[1] must be finite and > 0"));
  o.c_grid = {1.0, 0.5, 1.0};
  EXPECT_TRUE(has(o, "c_grid[2] = 1.000000 repeats c_grid[0]"));
  o = MakeOptions();
  o.num_folds = 1;
  EXPECT_TRUE(has(o, "num_folds must be >= 2"));
  o = MakeOptions();
  o.histogram_bins = 1;
  EXPECT_TRUE(has(o, "histogram_bins"));
  o = MakeOptions();
  o.svm.columns = {0, 9};
  EXPECT_TRUE(has(o, "column 9 out of range"));
  o = MakeOptions();
  o.svm.center = Eigen::VectorXd::Zero(4);
  o.svm.scale = Eigen::VectorXd::Ones(4);
  EXPECT_TRUE(has(o, "leave svm.center and svm.scale empty"));
  o.standardize = false;
  EXPECT_TRUE(CheckSvmCvParameters(o, 6).ok());
  o = MakeOptions();
  o.svm.rows = {RowSubset::Kind::kTrainOfFold, 0};
  EXPECT_TRUE(has(o, "svm.rows must be all rows"));

  // A table without fold ids: the first round fails, naming the problem.
  const LocalTable no_folds = testing::MakeLogisticData(30, 6, 2);
  auto agg = InProcessAggregator::Create({&no_folds});
  ASSERT_TRUE(agg.ok());
  EXPECT_FALSE(FitSvmCv(*agg, MakeOptions()).ok());
}

}  // namespace
}  // namespace fedrad::coordinator

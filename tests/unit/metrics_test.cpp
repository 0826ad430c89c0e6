// AUC from per-class score histograms against a brute-force Mann-Whitney
// count over the raw scores.
#include "fedrad/coordinator/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "fedrad/site_agent/stats/providers.hpp"

namespace fedrad::coordinator {
namespace {

// Σ over (negative, positive) pairs of 1[s_neg < s_pos] + ½ 1[s_neg == s_pos].
double BruteForceAuc(const std::vector<double>& scores, const std::vector<double>& labels) {
  double pairs = 0.0, n_pos = 0.0, n_neg = 0.0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (labels[i] == 1.0) {
      n_pos += 1.0;
    } else {
      n_neg += 1.0;
    }
    for (std::size_t j = 0; j < scores.size(); ++j) {
      if (labels[i] == 1.0 && labels[j] == 0.0) {
        pairs += scores[j] < scores[i] ? 1.0 : scores[j] == scores[i] ? 0.5 : 0.0;
      }
    }
  }
  return pairs / (n_pos * n_neg);
}

TEST(MetricsTest, AucByHand) {
  // neg in bins 0, 1, 2; pos in bins 1, 2, 3, 3. Per positive: bin 1: one
  // negative below + ½ tie = 1.5; bin 2: 2 + ½ = 2.5; bin 3 (x2): 3 each.
  // Total 10 of 4 x 3 pairs.
  EXPECT_DOUBLE_EQ(AucFromHistograms({1, 1, 1, 0}, {0, 1, 1, 2}), 10.0 / 12.0);
  EXPECT_DOUBLE_EQ(AucFromHistograms({0, 0, 3}, {2, 0, 0}), 0.0);
  EXPECT_DOUBLE_EQ(AucFromHistograms({0, 4, 0}, {0, 5, 0}), 0.5);
  EXPECT_TRUE(std::isnan(AucFromHistograms({1, 2, 0}, {0, 0, 0})));
  EXPECT_TRUE(std::isnan(AucFromHistograms({0, 0}, {1, 0})));
  EXPECT_THROW(AucFromHistograms({1, 2}, {1}), std::invalid_argument);
}

TEST(MetricsTest, HistogramAucEqualsMannWhitneyOnScores) {
  // Scores with exact ties (rounded to 0.25) and a fine histogram from the
  // provider: tied scores share a bin, distinct ones (>= 0.25 apart) do not.
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal(0.0, 1.0);
  site_agent::stats::LocalTable t;
  const int n = 300;
  t.x.resize(n, 1);
  t.y.resize(n);
  std::vector<double> scores, labels;
  for (int i = 0; i < n; ++i) {
    const double y = i % 3 == 0 ? 1.0 : 0.0;
    const double s = std::round(4.0 * (normal(rng) + 0.8 * y)) / 4.0;
    t.x(i, 0) = s;
    t.y[i] = y;
    scores.push_back(s);
    labels.push_back(y);
  }
  site_agent::stats::ScoreHistogramRequest request;
  request.rows = {site_agent::stats::RowSubset{}};
  site_agent::stats::LinearScorer scorer;
  scorer.columns = {0};
  scorer.w = Eigen::VectorXd::Ones(1);
  request.scorers = {scorer};
  request.bins = 65536;
  auto h = site_agent::stats::ComputeScoreHistogram(t, request);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  const std::vector<double> neg(h->begin(), h->begin() + 65536);
  const std::vector<double> pos(h->begin() + 65536, h->end());
  const double reference = BruteForceAuc(scores, labels);
  EXPECT_NEAR(AucFromHistograms(neg, pos), reference, 1e-15);
  EXPECT_GT(reference, 0.6);  // a real signal, not the ½ of a broken map
}

}  // namespace
}  // namespace fedrad::coordinator

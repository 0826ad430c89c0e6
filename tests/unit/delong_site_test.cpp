// Site side of the pooled ROC / DeLong rounds (delong_site.hpp): grid map,
// histogram and placement-sum layouts against hand computations, the sum of
// three sites against the pooled cohort, and a brute-force DeLong placement
// reference.
#include "fedrad/site_agent/stats/delong_site.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace fedrad::site_agent::stats {
namespace {

std::vector<double> Add(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  std::vector<double> out(a);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] += b[i];
  return out;
}

TEST(DelongSiteTest, GridMapsGridValuesToThemselvesAndIsMonotone) {
  const ScoreGrid coarse{ScoreScale::kProbability, 1001};
  for (std::int64_t k = 0; k < coarse.size; ++k) {
    const double s = static_cast<double>(k) / 1000.0;
    ASSERT_EQ(*GridIndex(coarse, s), k) << s;
    ASSERT_EQ(GridScore(coarse, k), s);
  }
  const ScoreGrid fine{};  // probability, 1e-5
  EXPECT_EQ(fine.size, 100001);
  for (std::int64_t k = 0; k < fine.size; k += 7) {
    ASSERT_EQ(*GridIndex(fine, static_cast<double>(k) / 100000.0), k);
  }
  EXPECT_EQ(*GridIndex(fine, 0.123456), 12346);  // nearest grid point
  EXPECT_EQ(*GridIndex(fine, 0.1234549), 12345);

  const ScoreGrid decision{ScoreScale::kDecisionValue, 1001};
  EXPECT_EQ(*GridIndex(decision, 0.0), 500);
  EXPECT_EQ(*GridIndex(decision, -1e300), 0);
  EXPECT_EQ(*GridIndex(decision, 1e300), 1000);
  EXPECT_EQ(GridScore(decision, 0), -INFINITY);
  EXPECT_EQ(GridScore(decision, 1000), INFINITY);
  std::int64_t previous = 0;
  for (double s = -50.0; s <= 50.0; s += 0.01) {
    const std::int64_t k = *GridIndex(decision, s);
    ASSERT_GE(k, previous);
    previous = k;
  }
  for (std::int64_t k = 1; k < 1000; ++k) {
    ASSERT_EQ(*GridIndex(decision, GridScore(decision, k)), k);
    ASSERT_LT(GridScore(decision, k - 1), GridScore(decision, k));
  }

  EXPECT_NE(GridIndex(fine, 1.5).status().message().find("outside [0, 1]"), std::string::npos);
  EXPECT_NE(GridIndex(fine, -0.1).status().message().find("outside [0, 1]"), std::string::npos);
  EXPECT_NE(GridIndex(fine, NAN).status().message().find("not finite"), std::string::npos);
  EXPECT_NE(GridIndex(decision, INFINITY).status().message().find("not finite"), std::string::npos);
  EXPECT_NE(
      GridIndex(ScoreGrid{ScoreScale::kProbability, 1}, 0.5).status().message().find("grid size 1"),
      std::string::npos);
  EXPECT_FALSE(ValidateGrid(ScoreGrid{ScoreScale::kProbability, kMaxGridSize + 1}).ok());
}

// Grid 0, .25, .5, .75, 1 (G = 5). Model 0: cases .75, .5; controls .5,
// .25, 0. Model 1 reverses the order of the rows' scores.
struct HandCohort {
  ScoreGrid grid{ScoreScale::kProbability, 5};
  Eigen::MatrixXd scores{5, 2};
  Eigen::VectorXd labels{5};
  HandCohort() {
    scores << 0.75, 0.0,  //
        0.5, 0.25,        //
        0.5, 0.5,         //
        0.25, 0.75,       //
        0.0, 1.0;
    labels << 1, 1, 0, 0, 0;
  }
};

TEST(DelongSiteTest, HistogramAndPlacementLayoutsByHand) {
  HandCohort h;
  auto hist = GridHistograms(h.grid, h.scores, h.labels);
  ASSERT_TRUE(hist.ok()) << hist.status().ToString();
  const std::vector<double> expected_hist = {
      1, 1, 1, 0, 0, /* model 0 controls */ 0, 0, 1, 1, 0, /* model 0 cases */
      0, 0, 1, 1, 1, /* model 1 controls */ 1, 1, 0, 0, 0 /* model 1 cases */};
  EXPECT_EQ(*hist, expected_hist);
  EXPECT_EQ(GridHistogramsSize(h.grid, 2), 20);

  auto sums = PlacementSums(h.grid, h.scores, h.labels, *hist);
  ASSERT_TRUE(sums.ok()) << sums.status().ToString();
  // Model 0: P10 = 2·controls below + tied: case .75 → 6, case .5 → 2·2 + 1 = 5.
  // P01 = 2·cases above + tied: control .5 → 2 + 1 = 3, .25 → 4, 0 → 4.
  // Model 1: cases 0, .25 are below every control: P10 = 0, 0; each control
  // has both cases below: P01 = 0.
  const PlacementSumsLayout layout{2};
  EXPECT_EQ(layout.Size(), 14);
  ASSERT_EQ(sums->size(), 14u);
  const std::vector<double> expected = {
      2,           3,        // n1, n0
      11,          0,        // Σ P10 (model 0, 1)
      11,          0,        // Σ P01
      36 + 25,     0, 0, 0,  // Σ P10_r P10_s
      9 + 16 + 16, 0, 0, 0   // Σ P01_r P01_s
  };
  EXPECT_EQ(*sums, expected);
  // AUC_0 = 11 / (2 N0 N1) = 11/12: pairs 3 + 2.5 of 6.
  EXPECT_DOUBLE_EQ((*sums)[layout.SumCase(0)] / (2.0 * 3.0 * 2.0), 5.5 / 6.0);
}

TEST(DelongSiteTest, RejectsInconsistentPooledArrays) {
  HandCohort h;
  auto hist = GridHistograms(h.grid, h.scores, h.labels);
  ASSERT_TRUE(hist.ok());
  std::vector<double> bad = *hist;
  bad[0] = 0.0;  // the site has a control in cell 0 of model 0
  EXPECT_NE(PlacementSums(h.grid, h.scores, h.labels, bad)
                .status()
                .message()
                .find("not a sum including this site"),
            std::string::npos);
  bad = *hist;
  bad[4] += 1.0;  // model 0 has one control more than model 1
  EXPECT_NE(PlacementSums(h.grid, h.scores, h.labels, bad)
                .status()
                .message()
                .find("must score the same rows"),
            std::string::npos);
  bad = *hist;
  bad[3] = 0.5;
  EXPECT_NE(PlacementSums(h.grid, h.scores, h.labels, bad)
                .status()
                .message()
                .find("non-negative integer"),
            std::string::npos);
  bad.pop_back();
  EXPECT_NE(PlacementSums(h.grid, h.scores, h.labels, bad).status().message().find("expected 2"),
            std::string::npos);
  Eigen::VectorXd labels = h.labels;
  labels[2] = 2.0;
  EXPECT_NE(GridHistograms(h.grid, h.scores, labels).status().message().find("row 2"),
            std::string::npos);
  Eigen::MatrixXd scores = h.scores;
  scores(3, 1) = 1.25;
  EXPECT_NE(GridHistograms(h.grid, scores, h.labels).status().ToString().find("row 3, model 1"),
            std::string::npos);
  // Only controls in the pooled cohort.
  Eigen::VectorXd controls = Eigen::VectorXd::Zero(5);
  auto only = GridHistograms(h.grid, h.scores, controls);
  ASSERT_TRUE(only.ok());
  EXPECT_NE(
      PlacementSums(h.grid, h.scores, controls, *only).status().message().find("both classes"),
      std::string::npos);
}

// 3 sites of 40, 95 and 65 rows, 3 models on a coarse grid (many ties):
// the element-wise sums of the sites' arrays equal the arrays of the pooled
// cohort exactly, and the placement sums equal a brute-force O(N1·N0)
// DeLong computation on the grid values.
TEST(DelongSiteTest, ThreeSitesSumToPooledAndMatchBruteForce) {
  const ScoreGrid grid{ScoreScale::kDecisionValue, 41};
  std::mt19937_64 rng(20261127);
  std::normal_distribution<double> normal;
  const int n = 200, num_models = 3;
  Eigen::MatrixXd scores(n, num_models);
  Eigen::VectorXd labels(n);
  for (int i = 0; i < n; ++i) {
    labels[i] = (i % 3 == 0) ? 1.0 : 0.0;
    for (int r = 0; r < num_models; ++r) {
      scores(i, r) = (0.4 + 0.3 * r) * labels[i] + normal(rng);
    }
  }
  const int cuts[] = {0, 40, 135, 200};
  std::vector<double> hist_sum(GridHistogramsSize(grid, num_models), 0.0);
  for (int s = 0; s < 3; ++s) {
    auto h = GridHistograms(grid, scores.middleRows(cuts[s], cuts[s + 1] - cuts[s]),
                            labels.segment(cuts[s], cuts[s + 1] - cuts[s]));
    ASSERT_TRUE(h.ok());
    hist_sum = Add(hist_sum, *h);
  }
  auto pooled_hist = GridHistograms(grid, scores, labels);
  ASSERT_TRUE(pooled_hist.ok());
  EXPECT_EQ(hist_sum, *pooled_hist);

  const PlacementSumsLayout layout{num_models};
  std::vector<double> sums(layout.Size(), 0.0);
  for (int s = 0; s < 3; ++s) {
    auto p = PlacementSums(grid, scores.middleRows(cuts[s], cuts[s + 1] - cuts[s]),
                           labels.segment(cuts[s], cuts[s + 1] - cuts[s]), hist_sum);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    sums = Add(sums, *p);
  }
  auto pooled = PlacementSums(grid, scores, labels, hist_sum);
  ASSERT_TRUE(pooled.ok());
  EXPECT_EQ(sums, *pooled);  // integers: exactly equal

  // Brute force on the grid values: V10, V01 by pairs.
  Eigen::MatrixXd g(n, num_models);
  for (int i = 0; i < n; ++i) {
    for (int r = 0; r < num_models; ++r) g(i, r) = GridScore(grid, *GridIndex(grid, scores(i, r)));
  }
  const double n1 = labels.sum(), n0 = n - n1;
  EXPECT_EQ(sums[layout.NumCases()], n1);
  EXPECT_EQ(sums[layout.NumControls()], n0);
  std::vector<std::vector<double>> v(num_models, std::vector<double>(n, 0.0));
  for (int r = 0; r < num_models; ++r) {
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) {
        if (labels[i] == labels[j]) continue;
        const int c = labels[i] == 1.0 ? i : j, d = labels[i] == 1.0 ? j : i;
        const double psi = g(d, r) < g(c, r) ? 1.0 : g(d, r) == g(c, r) ? 0.5 : 0.0;
        v[r][i] += psi / (labels[i] == 1.0 ? n0 : n1);
      }
    }
  }
  bool any_tie = false;
  for (int r = 0; r < num_models; ++r) {
    double s10 = 0.0, s01 = 0.0;
    for (int i = 0; i < n; ++i) (labels[i] == 1.0 ? s10 : s01) += v[r][i];
    EXPECT_NEAR(sums[layout.SumCase(r)] / (2.0 * n0), s10, 1e-12);
    EXPECT_NEAR(sums[layout.SumControl(r)] / (2.0 * n1), s01, 1e-12);
    for (int q = 0; q < num_models; ++q) {
      double c10 = 0.0, c01 = 0.0;
      for (int i = 0; i < n; ++i) {
        (labels[i] == 1.0 ? c10 : c01) += v[r][i] * v[q][i];
        const double p = v[r][i] * 2.0 * (labels[i] == 1.0 ? n0 : n1);  // odd: a tie
        any_tie = any_tie || std::abs(p - 2.0 * std::round(p / 2.0)) > 0.5;
      }
      EXPECT_NEAR(sums[layout.CrossCase(r, q)] / (4.0 * n0 * n0), c10, 1e-12);
      EXPECT_NEAR(sums[layout.CrossControl(r, q)] / (4.0 * n1 * n1), c01, 1e-12);
    }
  }
  EXPECT_TRUE(any_tie);  // the coarse grid does create ties between classes
}

}  // namespace
}  // namespace fedrad::site_agent::stats

// Statistic providers for the SVM's score histograms, Platt scaling and the
// Huberised hinge: values against hand computations and finite differences,
// numerical stability, and validation messages naming the request field.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <string>
#include <vector>

#include "fedrad/site_agent/stats/providers.hpp"
#include "solver_test_data.hpp"

namespace fedrad::site_agent::stats {
namespace {

bool Contains(const common::Status& status, const std::string& text) {
  return status.message().find(text) != std::string::npos;
}

// One feature, scores s = x (raw, w = 1, intercept 0).
LocalTable OneFeature(const std::vector<double>& x, const std::vector<double>& y) {
  LocalTable t;
  t.x.resize(static_cast<Eigen::Index>(x.size()), 1);
  t.y.resize(static_cast<Eigen::Index>(y.size()));
  for (std::size_t i = 0; i < x.size(); ++i) {
    t.x(static_cast<Eigen::Index>(i), 0) = x[i];
    t.y[static_cast<Eigen::Index>(i)] = y[i];
  }
  return t;
}

LinearScorer Identity() {
  LinearScorer s;
  s.columns = {0};
  s.w = Eigen::VectorXd::Ones(1);
  return s;
}

TEST(ScoreProvidersTest, HistogramBinsByHand) {
  // u = ½ + atan(s)/π with B = 4 bins: s = -1e9 -> u ≈ 0 (bin 0), -1 -> ¼
  // (bin 1), -0.5 -> 0.352 (bin 1), 0 -> ½ (bin 2), 1 -> ¾ (bin 3), 1e300 -> ≈1
  // (clamped to bin 3).
  const LocalTable t = OneFeature({-1e9, -1.0, -0.5, 0.0, 1.0, 1e300, 0.0}, {0, 1, 0, 1, 0, 1, 0});
  ScoreHistogramRequest request;
  request.rows = {RowSubset{}};
  request.scorers = {Identity()};
  request.bins = 4;
  auto h = ComputeScoreHistogram(t, request);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  const std::vector<double> expected = {1, 1, 1, 1,   // negatives: -1e9, -0.5, 0, 1
                                        0, 1, 1, 1};  // positives: -1, 0, 1e300
  EXPECT_EQ(*h, expected);

  // Two parts with different scorers (standardised, intercept): part 2
  // scores s = 2 (x - 1) / 0.5 - 1 on the same rows.
  LinearScorer shifted = Identity();
  shifted.center = Eigen::VectorXd::Constant(1, 1.0);
  shifted.scale = Eigen::VectorXd::Constant(1, 0.5);
  shifted.w[0] = 2.0;
  shifted.intercept = -1.0;
  request.rows = {RowSubset{}, RowSubset{}};
  request.scorers = {Identity(), shifted};
  h = ComputeScoreHistogram(t, request);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 16u);
  // Part 2 scores s = 4x - 5: -4e9 (bin 0), -9 (0), -7 (0), -5 (0), -1 (1), 4e300 (3), -5 (0).
  const std::vector<double> part2 = {3, 1, 0, 0,   // negatives: x = -1e9, -0.5, 0 (row 7); 1
                                     2, 0, 0, 1};  // positives: x = -1, 0, 1e300
  EXPECT_EQ(std::vector<double>(h->begin() + 8, h->end()), part2);
  EXPECT_EQ(ResultSize(StatRequest(request), 1), 16u);
}

TEST(ScoreProvidersTest, HistogramValidationNamesTheField) {
  const LocalTable t = OneFeature({0.0, 1.0}, {0, 1});
  ScoreHistogramRequest request;
  request.rows = {RowSubset{}};
  request.scorers = {Identity()};
  request.bins = 1;
  EXPECT_TRUE(Contains(ComputeScoreHistogram(t, request).status(), "bins must be in [2, 65536]"));
  request.bins = 8;
  request.rows.push_back(RowSubset{});
  EXPECT_TRUE(Contains(ComputeScoreHistogram(t, request).status(), "rows has 2 parts"));
  request.rows.pop_back();
  request.scorers[0].columns = {3};
  EXPECT_TRUE(Contains(ComputeScoreHistogram(t, request).status(), "scorers[0] columns"));
  request.scorers[0].columns = {0};
  request.scorers[0].w = Eigen::VectorXd::Ones(2);
  EXPECT_TRUE(Contains(ComputeScoreHistogram(t, request).status(), "scorers[0]: w must have"));
  request.scorers[0].w = Eigen::VectorXd::Ones(1);
  request.scorers[0].center = Eigen::VectorXd::Zero(1);
  EXPECT_TRUE(Contains(ComputeScoreHistogram(t, request).status(), "center and scale"));
  request.scorers[0].center.resize(0);
  request.rows[0] = {RowSubset::Kind::kTestOfFold, 0};  // no fold ids in the table
  EXPECT_TRUE(Contains(ComputeScoreHistogram(t, request).status(), "rows[0]"));
}

// Platt's loss computed the textbook way (fine for moderate f).
double NaivePlattLoss(const LocalTable& t, double a, double b, double tp, double tn) {
  double loss = 0.0;
  for (Eigen::Index i = 0; i < t.x.rows(); ++i) {
    const double f = a * t.x(i, 0) + b;
    const double q = 1.0 / (1.0 + std::exp(f));
    const double tau = t.y[i] == 1.0 ? tp : tn;
    loss -= tau * std::log(q) + (1.0 - tau) * std::log(1.0 - q);
  }
  return loss;
}

TEST(ScoreProvidersTest, PlattMatchesTextbookLossAndFiniteDifferences) {
  const LocalTable t = OneFeature({-2.0, -0.5, 0.1, 0.7, 1.5, 3.0}, {0, 0, 1, 0, 1, 1});
  PlattRequest request;
  request.rows = {RowSubset{}};
  request.scorers = {Identity()};
  request.target_pos = 0.8;
  request.target_neg = 0.2;
  const double a = -1.3, b = 0.4, h = 1e-5;
  auto at = [&](double aa, double bb) {
    request.a = aa;
    request.b = bb;
    auto r = ComputePlatt(t, request);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return *r;
  };
  const std::vector<double> s = at(a, b);
  ASSERT_EQ(s.size(), 7u);
  EXPECT_NEAR(s[0], NaivePlattLoss(t, a, b, 0.8, 0.2), 1e-12);
  EXPECT_EQ(s[1], 6.0);
  // Gradient and Hessian by central differences.
  EXPECT_NEAR(s[2], (at(a + h, b)[0] - at(a - h, b)[0]) / (2 * h), 1e-7);
  EXPECT_NEAR(s[3], (at(a, b + h)[0] - at(a, b - h)[0]) / (2 * h), 1e-7);
  EXPECT_NEAR(s[4], (at(a + h, b)[2] - at(a - h, b)[2]) / (2 * h), 1e-7);
  EXPECT_NEAR(s[5], (at(a, b + h)[2] - at(a, b - h)[2]) / (2 * h), 1e-7);
  EXPECT_NEAR(s[6], (at(a, b + h)[3] - at(a, b - h)[3]) / (2 * h), 1e-7);
}

TEST(ScoreProvidersTest, PlattIsFiniteForLargeScores) {
  // f = ±1e4: exp(f) overflows; ℓ = τ f + log(1 + e^-f) must stay exact:
  // f = 1e4, τ = 0.2 -> 2000; f = -1e4, τ = 0.8 -> (τ - 1) f = 2000.
  const LocalTable t = OneFeature({1e4, -1e4}, {0, 1});
  PlattRequest request;
  request.rows = {RowSubset{}};
  request.scorers = {Identity()};
  request.a = 1.0;
  request.target_pos = 0.8;
  request.target_neg = 0.2;
  auto s = ComputePlatt(t, request);
  ASSERT_TRUE(s.ok());
  EXPECT_NEAR((*s)[0], 4000.0, 1e-9);
  // dℓ/df = τ - q: row 1 q = 0 -> 0.2; row 2 q = 1 -> -0.2. Curvature 0.
  EXPECT_NEAR((*s)[2], 0.2 * 1e4 + (-0.2) * (-1e4), 1e-9);
  EXPECT_NEAR((*s)[3], 0.0, 1e-12);
  for (int i = 4; i < 7; ++i) EXPECT_EQ((*s)[static_cast<std::size_t>(i)], 0.0);
}

TEST(ScoreProvidersTest, PlattValidationNamesTheField) {
  const LocalTable t = OneFeature({0.0, 1.0}, {0, 1});
  PlattRequest request;
  request.rows = {RowSubset{}};
  request.scorers = {Identity()};
  request.target_pos = 0.0;
  EXPECT_TRUE(Contains(ComputePlatt(t, request).status(), "target_pos must be in (0, 1]"));
  request.target_pos = 1.0;
  request.target_neg = 1.0;
  EXPECT_TRUE(Contains(ComputePlatt(t, request).status(), "target_neg must be in [0, 1)"));
  request.target_neg = 0.0;
  request.scorers.clear();
  EXPECT_TRUE(Contains(ComputePlatt(t, request).status(), "scorers has 0"));
  request.scorers = {Identity()};
  request.a = std::nan("");
  EXPECT_TRUE(Contains(ComputePlatt(t, request).status(), "a and b must be finite"));
}

// Huberised hinge by hand: margins m in the three pieces.
TEST(ScoreProvidersTest, HuberHingeByHandAndByFiniteDifferences) {
  // w = 1, w_b = 0, B = 1: f = x, m = 1 - t x. δ = 0.5.
  // rows: (x=2, y=1) m=-1 -> 0; (x=0.8, y=1) m=0.2 -> 0.04/1 = 0.04, in Q;
  //       (x=0, y=0) m=1 -> 1 - 0.25 = 0.75; (x=-0.7, y=0) m=0.3 -> 0.09, in Q.
  const LocalTable t = OneFeature({2.0, 0.8, 0.0, -0.7}, {1, 1, 0, 0});
  SvmRequest request;
  request.loss = SvmLoss::kHuberHinge;
  request.huber_delta = 0.5;
  request.columns = {0};
  request.w = Eigen::VectorXd::Ones(1);
  auto s = ComputeSvm(t, request);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->size(), 2u + 2u + 4u);
  EXPECT_NEAR((*s)[0], 0.04 + 0.75 + 0.09, 1e-15);
  EXPECT_EQ((*s)[1], 2.0);  // |Q|
  // G = -Σ h'(m) t u, h' = m/δ in Q, 1 beyond: rows 2, 3, 4.
  // w: -(0.4 * 1 * 0.8) - (1 * -1 * 0) - (0.6 * -1 * -0.7) = -0.32 - 0.42
  // b: -(0.4) + 1 + 0.6 = 1.2
  EXPECT_NEAR((*s)[2], -0.74, 1e-15);
  EXPECT_NEAR((*s)[3], 1.2, 1e-15);
  // H = (1/δ) Σ_Q u uᵀ, u = (0.8, 1), (-0.7, 1).
  EXPECT_NEAR((*s)[4], 2.0 * (0.64 + 0.49), 1e-14);
  EXPECT_NEAR((*s)[5], 2.0 * (0.8 - 0.7), 1e-14);
  EXPECT_NEAR((*s)[6], (*s)[5], 0.0);
  EXPECT_NEAR((*s)[7], 4.0, 1e-15);

  // Finite differences on a random table, standardised columns.
  const LocalTable r = testing::MakeLogisticData(40, 3, 9);
  SvmRequest q;
  q.loss = SvmLoss::kHuberHinge;
  q.huber_delta = 0.3;
  q.columns = {2, 0};
  q.center = Eigen::Vector2d(r.x.col(2).mean(), r.x.col(0).mean());
  q.scale = Eigen::Vector2d(1.7, 0.6);
  q.w = Eigen::Vector2d(0.4, -0.3);
  q.bias_weight = 0.1;
  q.bias_value = 2.0;
  auto base = ComputeSvm(r, q);
  ASSERT_TRUE(base.ok());
  const double h = 1e-6;
  for (int j = 0; j < 3; ++j) {
    SvmRequest plus = q, minus = q;
    if (j < 2) {
      plus.w[j] += h;
      minus.w[j] -= h;
    } else {
      plus.bias_weight += h;
      minus.bias_weight -= h;
    }
    const double fd = ((*ComputeSvm(r, plus))[0] - (*ComputeSvm(r, minus))[0]) / (2 * h);
    EXPECT_NEAR((*base)[static_cast<std::size_t>(2 + j)], fd, 1e-6) << "coordinate " << j;
  }
  // δ must be positive.
  q.huber_delta = 0.0;
  EXPECT_TRUE(Contains(ComputeSvm(r, q).status(), "huber_delta must be finite and > 0"));
}

}  // namespace
}  // namespace fedrad::site_agent::stats

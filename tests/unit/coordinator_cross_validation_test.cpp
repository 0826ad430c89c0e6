// Federated K-fold cross-validation of the LASSO: folds, held-out deviance,
// federated == pooled, degenerate folds.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <cstdio>
#include <vector>

#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/cross_validation.hpp"
#include "fedrad/site_agent/stats/folds.hpp"
#include "fedrad/site_agent/stats/providers.hpp"
#include "solver_test_data.hpp"

namespace fedrad::coordinator {
namespace {

using site_agent::stats::LocalTable;

// Concatenation of site tables (rows and fold ids in site order).
LocalTable Concatenate(const std::vector<const LocalTable*>& tables) {
  LocalTable out;
  Eigen::Index n = 0;
  for (const auto* t : tables) n += t->x.rows();
  out.x.resize(n, tables.front()->x.cols());
  out.y.resize(n);
  Eigen::Index at = 0;
  for (const auto* t : tables) {
    out.x.middleRows(at, t->x.rows()) = t->x;
    out.y.segment(at, t->x.rows()) = t->y;
    out.fold.insert(out.fold.end(), t->fold.begin(), t->fold.end());
    at += t->x.rows();
  }
  return out;
}

// Each site assigns its own folds (stratified, its own seed).
void AssignSiteFolds(LocalTable& t, int k, std::uint64_t seed) {
  auto folds = site_agent::stats::AssignFolds(t.y, k, seed);
  ASSERT_TRUE(folds.ok()) << folds.status().ToString();
  t.fold = *folds;
}

TEST(AssignFoldsTest, StratifiedWithinOneOfIdealAndSeeded) {
  for (const int n : {7, 50, 101}) {
    const LocalTable t = testing::MakeLogisticData(n, 1, 100 + static_cast<std::uint64_t>(n));
    for (const int k : {2, 3, 5, 10}) {
      auto folds = site_agent::stats::AssignFolds(t.y, k, 17);
      ASSERT_TRUE(folds.ok());
      const double n1 = t.y.sum();
      const double n0 = n - n1;
      std::vector<int> count0(static_cast<std::size_t>(k)), count1(static_cast<std::size_t>(k));
      for (Eigen::Index i = 0; i < n; ++i) {
        const int f = (*folds)[static_cast<std::size_t>(i)];
        ASSERT_GE(f, 0);
        ASSERT_LT(f, k);
        ++(t.y[i] == 1.0 ? count1 : count0)[static_cast<std::size_t>(f)];
      }
      for (std::size_t f = 0; f < static_cast<std::size_t>(k); ++f) {
        EXPECT_LE(std::abs(count1[f] - n1 / k), 1.0) << "n " << n << " k " << k;
        EXPECT_LE(std::abs(count0[f] - n0 / k), 1.0) << "n " << n << " k " << k;
        EXPECT_LE(std::abs(count0[f] + count1[f] - static_cast<double>(n) / k), 1.0);
      }
      auto again = site_agent::stats::AssignFolds(t.y, k, 17);
      EXPECT_EQ(*folds, *again);
    }
  }
  const LocalTable t = testing::MakeLogisticData(60, 1, 3);
  EXPECT_NE(*site_agent::stats::AssignFolds(t.y, 5, 1), *site_agent::stats::AssignFolds(t.y, 5, 2));
  EXPECT_FALSE(site_agent::stats::AssignFolds(t.y, 0, 1).ok());
}

TEST(DevianceProviderTest, ClippedBinomialDevianceOverHeldOutRows) {
  LocalTable t = testing::MakeLogisticData(9, 2, 5);
  t.y.setZero();  // held-out rows without a positive case
  t.fold = {0, 1, 0, 1, 0, 1, 0, 1, 0};
  site_agent::stats::DevianceRequest request;
  request.rows = {site_agent::stats::RowSubset::Kind::kTestOfFold, 0};
  request.center = Eigen::VectorXd::Zero(2);
  request.scale = Eigen::VectorXd::Ones(2);
  request.intercepts.resize(3);
  request.intercepts << 0.0, 100.0, -100.0;  // p = 1/2, clipped high, clipped low
  request.betas = Eigen::MatrixXd::Zero(2, 3);
  auto out = site_agent::stats::ComputeDeviance(t, request);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 4u);
  EXPECT_EQ((*out)[0], 5.0);
  EXPECT_NEAR((*out)[1], 5.0 * 2.0 * std::log(2.0), 1e-12);
  EXPECT_NEAR((*out)[2], 5.0 * -2.0 * std::log(1e-5), 1e-9);
  EXPECT_NEAR((*out)[3], 5.0 * -2.0 * std::log1p(-1e-5), 1e-12);
}

TEST(InterpolateLambdaTest, MatchesGlmnetLambdaInterp) {
  const std::vector<double> path = {4.0, 2.0, 1.0};
  const auto r = InterpolateLambda(path, {5.0, 4.0, 3.0, 2.0, 1.5, 0.5});
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[0].left, 0);  // clamped to the first
  EXPECT_EQ(r[0].right, 0);
  EXPECT_EQ(r[1].left, 0);
  EXPECT_EQ(r[2].left, 0);
  EXPECT_EQ(r[2].right, 1);
  EXPECT_DOUBLE_EQ(r[2].frac, 0.5);
  EXPECT_EQ(r[3].left, 1);
  EXPECT_EQ(r[3].right, 1);
  EXPECT_EQ(r[4].left, 1);
  EXPECT_EQ(r[4].right, 2);
  EXPECT_DOUBLE_EQ(r[4].frac, 0.5);
  EXPECT_EQ(r[5].left, 2);  // clamped to the last
  EXPECT_EQ(r[5].right, 2);
}

void ExpectSameCv(const LassoCvResult& a, const LassoCvResult& b, double* max_diff) {
  ASSERT_EQ(a.lambda.size(), b.lambda.size());
  for (std::size_t l = 0; l < a.lambda.size(); ++l) {
    EXPECT_NEAR(a.lambda[l], b.lambda[l], 1e-12 * a.lambda[l]);
    *max_diff =
        std::max({*max_diff, std::abs(a.cvm[l] - b.cvm[l]), std::abs(a.cvsd[l] - b.cvsd[l])});
  }
  EXPECT_EQ(a.index_min, b.index_min);
  EXPECT_EQ(a.index_1se, b.index_1se);
  EXPECT_EQ(a.selected, b.selected);
  EXPECT_EQ(a.fold_n, b.fold_n);
}

TEST(LassoCvTest, ThreeUnevenSitesEqualPooledWithTheSameFolds) {
  const LocalTable all = testing::MakeLogisticData(150, 12, 77);
  LocalTable a = testing::Rows(all, 0, 31);
  LocalTable b = testing::Rows(all, 31, 108);
  LocalTable c = testing::Rows(all, 108, 150);
  AssignSiteFolds(a, 5, 1);
  AssignSiteFolds(b, 5, 2);
  AssignSiteFolds(c, 5, 3);
  const LocalTable pooled = Concatenate({&a, &b, &c});
  for (const FoldLambdaPath mode : {FoldLambdaPath::kOwn, FoldLambdaPath::kMaster}) {
    LassoCvOptions options;
    options.num_folds = 5;
    options.fold_path = mode;
    auto fed_agg = InProcessAggregator::Create({&a, &b, &c});
    auto one_agg = InProcessAggregator::Create({&pooled});
    ASSERT_TRUE(fed_agg.ok() && one_agg.ok());
    auto fed = FitLassoCv(*fed_agg, options);
    auto one = FitLassoCv(*one_agg, options);
    ASSERT_TRUE(fed.ok()) << fed.status().ToString();
    ASSERT_TRUE(one.ok()) << one.status().ToString();
    double max_diff = 0.0;
    ExpectSameCv(*fed, *one, &max_diff);
    EXPECT_LE(max_diff, 1e-10);
    EXPECT_EQ(fed->rounds, fed_agg->rounds());
    EXPECT_EQ(fed->rounds, fed->fold_rounds + fed->deviance_rounds +
                               (mode == FoldLambdaPath::kMaster ? fed->master_rounds : 0));
    EXPECT_EQ(fed->deviance_rounds, 1);
    EXPECT_LE(fed->index_1se, fed->index_min);
    for (std::size_t l = 0; l < fed->cvm.size(); ++l) {
      ASSERT_TRUE(std::isfinite(fed->cvm[l]) && std::isfinite(fed->cvsd[l]));
    }
    std::printf(
        "lasso cv (%s folds, K=5, %zu lambdas): fed vs pooled max|diff| %.3g; rounds %lld "
        "(master %lld, folds %lld, deviance %lld); lambda.min index %d, lambda.1se index %d, "
        "%zu selected\n",
        mode == FoldLambdaPath::kOwn ? "own-path" : "master-path", fed->lambda.size(), max_diff,
        static_cast<long long>(fed->rounds), static_cast<long long>(fed->master_rounds),
        static_cast<long long>(fed->fold_rounds), static_cast<long long>(fed->deviance_rounds),
        fed->index_min, fed->index_1se, fed->selected.size());
  }
}

TEST(LassoCvTest, SiteWhoseFoldsHaveNoPositiveCase) {
  const LocalTable all = testing::MakeLogisticData(120, 6, 91);
  LocalTable a = testing::Rows(all, 0, 50);
  LocalTable b = testing::Rows(all, 50, 110);
  LocalTable c = testing::Rows(all, 110, 120);
  c.y.setZero();  // a small site without any positive case
  AssignSiteFolds(a, 4, 11);
  AssignSiteFolds(b, 4, 12);
  AssignSiteFolds(c, 4, 13);
  const LocalTable pooled = Concatenate({&a, &b, &c});
  LassoCvOptions options;
  options.num_folds = 4;
  options.lasso.nlambda = 30;
  auto fed_agg = InProcessAggregator::Create({&a, &b, &c});
  auto one_agg = InProcessAggregator::Create({&pooled});
  ASSERT_TRUE(fed_agg.ok() && one_agg.ok());
  auto fed = FitLassoCv(*fed_agg, options);
  auto one = FitLassoCv(*one_agg, options);
  ASSERT_TRUE(fed.ok()) << fed.status().ToString();
  ASSERT_TRUE(one.ok());
  for (std::size_t l = 0; l < fed->cvm.size(); ++l) {
    EXPECT_TRUE(std::isfinite(fed->cvm[l]) && std::isfinite(fed->cvsd[l]));
  }
  double max_diff = 0.0;
  ExpectSameCv(*fed, *one, &max_diff);
  EXPECT_LE(max_diff, 1e-10);
}

TEST(LassoCvTest, ClearErrorsForMissingFoldsAndBadOptions) {
  LocalTable t = testing::MakeLogisticData(60, 4, 5);
  AssignSiteFolds(t, 3, 1);
  auto agg = InProcessAggregator::Create({&t});
  ASSERT_TRUE(agg.ok());
  LassoCvOptions options;
  options.num_folds = 4;  // fold 3 has no rows
  options.lasso.nlambda = 10;
  auto cv = FitLassoCv(*agg, options);
  ASSERT_FALSE(cv.ok());
  EXPECT_NE(cv.status().message().find("fold 3"), std::string::npos) << cv.status().ToString();
  options.num_folds = 2;
  EXPECT_NE(CheckLassoCvParameters(options).message().find("num_folds"), std::string::npos);
  LocalTable no_folds = testing::MakeLogisticData(30, 3, 5);
  auto agg2 = InProcessAggregator::Create({&no_folds});
  options.num_folds = 3;
  EXPECT_FALSE(FitLassoCv(*agg2, options).ok());
}

}  // namespace
}  // namespace fedrad::coordinator

namespace fedrad::coordinator {
namespace {

using site_agent::stats::LocalTable;

// At a tight stopping rule (KKT residual <= 1e-10) rounding near the
// solution can leave no descent direction before the residual is reached;
// the solver then accepts the point (its residual within a small multiple
// of the tolerance) rather than failing the fit.
TEST(LassoTightToleranceTest, PathAndCvConvergeAtKkt1e10) {
  constexpr double kTolerance = 1e-10;
  constexpr double kBound = 1e-9;
  {
    const LocalTable t = testing::MakeLogisticData(120, 15, 42);
    auto aggregator = InProcessAggregator::Create({&t});
    ASSERT_TRUE(aggregator.ok());
    LassoOptions options;
    options.kkt_tolerance = kTolerance;
    auto path = Lasso(options).FitPath(*aggregator);
    ASSERT_TRUE(path.ok()) << path.status().ToString();
    double worst = 0.0;
    int stalled = 0;
    for (const auto& point : path->points) {
      EXPECT_LE(point.kkt_residual, kBound) << "lambda " << point.lambda;
      worst = std::max(worst, point.kkt_residual);
      stalled += point.stalled ? 1 : 0;
    }
    std::printf("lasso path at KKT <= 1e-10: max KKT residual %.3g, %d of %zu lambdas stalled\n",
                worst, stalled, path->points.size());
  }
  const LocalTable all = testing::MakeLogisticData(150, 12, 77);
  LocalTable sites[3] = {testing::Rows(all, 0, 31), testing::Rows(all, 31, 108),
                         testing::Rows(all, 108, 150)};
  for (int s = 0; s < 3; ++s) AssignSiteFolds(sites[s], 5, 1 + static_cast<std::uint64_t>(s));
  for (const FoldLambdaPath mode : {FoldLambdaPath::kOwn, FoldLambdaPath::kMaster}) {
    auto aggregator = InProcessAggregator::Create({&sites[0], &sites[1], &sites[2]});
    ASSERT_TRUE(aggregator.ok());
    LassoCvOptions options;
    options.num_folds = 5;
    options.fold_path = mode;
    options.lasso.kkt_tolerance = kTolerance;
    auto cv = FitLassoCv(*aggregator, options);
    ASSERT_TRUE(cv.ok()) << cv.status().ToString();
    double worst = 0.0;
    for (const auto& point : cv->path.points) worst = std::max(worst, point.kkt_residual);
    ASSERT_EQ(cv->fold_max_kkt_residual.size(), 5u);
    for (const double r : cv->fold_max_kkt_residual) worst = std::max(worst, r);
    EXPECT_LE(worst, kBound);
    for (std::size_t l = 0; l < cv->cvm.size(); ++l) {
      EXPECT_TRUE(std::isfinite(cv->cvm[l]) && std::isfinite(cv->cvsd[l]));
    }
    std::printf(
        "lasso cv at KKT <= 1e-10 (%s folds): max KKT residual (master and folds) %.3g, %lld "
        "rounds\n",
        mode == FoldLambdaPath::kOwn ? "own-path" : "master-path", worst,
        static_cast<long long>(cv->rounds));
  }
}

}  // namespace
}  // namespace fedrad::coordinator

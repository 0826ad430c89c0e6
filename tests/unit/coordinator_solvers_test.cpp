// Federated LASSO and linear SVM: optimality (KKT) and federated == pooled.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <cstdio>
#include <variant>
#include <vector>

#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/lasso.hpp"
#include "fedrad/coordinator/linear_svm.hpp"
#include "fedrad/coordinator/standardization.hpp"
#include "fedrad/site_agent/stats/providers.hpp"
#include "solver_test_data.hpp"

namespace fedrad::coordinator {
namespace {

using site_agent::stats::LocalTable;

InProcessAggregator MakeAggregator(const std::vector<const LocalTable*>& tables) {
  auto aggregator = InProcessAggregator::Create(tables);
  EXPECT_TRUE(aggregator.ok()) << aggregator.status().ToString();
  return std::move(aggregator).value();
}

// Pooled standardised features computed directly (independent of the solver).
Eigen::MatrixXd StandardisedPooled(const LocalTable& t) {
  const double n = static_cast<double>(t.x.rows());
  Eigen::MatrixXd z = t.x;
  for (Eigen::Index j = 0; j < z.cols(); ++j) {
    const double mean = z.col(j).mean();
    z.col(j).array() -= mean;
    const double sd = std::sqrt(z.col(j).squaredNorm() / n);
    z.col(j) /= sd;
  }
  return z;
}

TEST(StatsProvidersTest, MomentsOverFoldSubsets) {
  LocalTable t = testing::MakeLogisticData(10, 2, 7);
  t.fold = {0, 1, 2, 0, 1, 2, 0, 1, 2, 0};
  auto all = site_agent::stats::ComputeMoments(t, {});
  ASSERT_TRUE(all.ok());
  site_agent::stats::RowSubset train{site_agent::stats::RowSubset::Kind::kTrainOfFold, 0};
  site_agent::stats::RowSubset test{site_agent::stats::RowSubset::Kind::kTestOfFold, 0};
  auto a = site_agent::stats::ComputeMoments(t, {train});
  auto b = site_agent::stats::ComputeMoments(t, {test});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)[0], 6.0);
  EXPECT_EQ((*b)[0], 4.0);
  for (std::size_t i = 0; i < all->size(); ++i) EXPECT_NEAR((*a)[i] + (*b)[i], (*all)[i], 1e-12);
  LocalTable no_folds = testing::MakeLogisticData(5, 2, 7);
  EXPECT_FALSE(site_agent::stats::ComputeMoments(no_folds, {train}).ok());
}

TEST(StandardizationTest, PooledMeanAndSdWithDivisorN) {
  LocalTable t = testing::MakeLogisticData(50, 3, 11);
  t.x.col(1).setConstant(4.0);
  auto aggregator = MakeAggregator({&t});
  auto st = ComputeStandardization(aggregator, {});
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_NEAR(st->mean[0], t.x.col(0).mean(), 1e-12);
  const double sd0 = std::sqrt((t.x.col(0).array() - t.x.col(0).mean()).square().mean());
  EXPECT_NEAR(st->sd[0], sd0, 1e-10);
  EXPECT_EQ(st->sd[1], 0.0);
  EXPECT_EQ(aggregator.rounds(), 1);
}

TEST(LassoTest, ParameterCheckGivesReadableMessages) {
  LassoOptions options;
  options.nlambda = 0;
  EXPECT_NE(CheckLassoParameters(options).message().find("nlambda"), std::string::npos);
  options = LassoOptions();
  options.lambdas = {0.1, 0.2};
  EXPECT_NE(CheckLassoParameters(options).message().find("decreasing"), std::string::npos);
  options = LassoOptions();
  options.kkt_tolerance = -1;
  EXPECT_FALSE(CheckLassoParameters(options).ok());
  EXPECT_TRUE(CheckLassoParameters(LassoOptions()).ok());
  LinearSvmOptions svm;
  svm.c = 0;
  EXPECT_NE(CheckLinearSvmParameters(svm, 3).message().find("C must be"), std::string::npos);
}

TEST(LassoTest, KktConditionsHoldAlongThePath) {
  const LocalTable t = testing::MakeLogisticData(120, 15, 42);
  auto aggregator = MakeAggregator({&t});
  auto path = Lasso(LassoOptions()).FitPath(aggregator);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  ASSERT_EQ(path->points.size(), 100u);
  EXPECT_NEAR(path->points.back().lambda / path->lambda_max, 1e-4, 1e-12);
  const Eigen::MatrixXd z = StandardisedPooled(t);
  const double n = static_cast<double>(t.x.rows());
  int max_nonzero = 0;
  for (const LassoPathPoint& point : path->points) {
    const Eigen::VectorXd eta = (z * point.beta).array() + point.intercept;
    const Eigen::VectorXd pi = (1.0 + (-eta.array()).exp()).inverse().matrix();
    const Eigen::VectorXd resid = pi - t.y;
    const Eigen::VectorXd g = z.transpose() * resid / n;
    EXPECT_LE(std::abs(resid.sum() / n), 1e-7 + 1e-12);
    int nonzero = 0;
    for (Eigen::Index j = 0; j < g.size(); ++j) {
      if (point.beta[j] == 0.0) {
        EXPECT_LE(std::abs(g[j]), point.lambda + 1e-7 + 1e-12) << "lambda " << point.lambda;
      } else {
        ++nonzero;
        EXPECT_NEAR(g[j], -point.lambda * (point.beta[j] > 0 ? 1.0 : -1.0), 1e-7 + 1e-12);
      }
    }
    max_nonzero = std::max(max_nonzero, nonzero);
  }
  EXPECT_EQ(path->points.front().beta.count(), 0);
  EXPECT_EQ(max_nonzero, 15);
  std::printf("lasso path: %lld rounds for 100 lambdas (first lambda %lld, lambda[50] %lld)\n",
              static_cast<long long>(path->rounds), static_cast<long long>(path->points[0].rounds),
              static_cast<long long>(path->points[50].rounds));
}

TEST(LinearSvmTest, GradientVanishesAtTheSolution) {
  const LocalTable t = testing::MakeLogisticData(120, 6, 5);
  for (const bool regularize_bias : {false, true}) {
    auto aggregator = MakeAggregator({&t});
    LinearSvmOptions options;
    options.c = 0.3;
    options.regularize_bias = regularize_bias;
    options.bias_value = 2.0;
    auto model = LinearSvm(options).Fit(aggregator);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    // ∇f computed here from the definition.
    const double b_value = regularize_bias ? 2.0 : 1.0;
    Eigen::VectorXd grad(7), grad0(7);
    grad << model->w, regularize_bias ? model->bias_weight : 0.0;
    grad0.setZero();
    for (Eigen::Index i = 0; i < t.x.rows(); ++i) {
      Eigen::VectorXd u(7);
      u << t.x.row(i).transpose(), b_value;
      const double sign = 2.0 * t.y[i] - 1.0;
      const double m = 1.0 - sign * (model->w.dot(t.x.row(i)) + model->intercept);
      if (m > 0) grad -= 2.0 * options.c * m * sign * u;
      grad0 -= 2.0 * options.c * sign * u;
    }
    EXPECT_LE(grad.norm(), 1e-9 * grad0.norm()) << "regularize_bias " << regularize_bias;
    std::printf("svm (regularize_bias=%d): %d Newton iterations, %lld rounds, |grad| %.3g\n",
                regularize_bias, model->iterations, static_cast<long long>(model->rounds),
                grad.norm());
  }
}

TEST(FederatedTest, ThreeUnevenSitesEqualPooled) {
  const LocalTable pooled = testing::MakeLogisticData(120, 15, 42);
  const LocalTable a = testing::Rows(pooled, 0, 23);
  const LocalTable b = testing::Rows(pooled, 23, 81);
  const LocalTable c = testing::Rows(pooled, 81, 120);
  auto pooled_agg = MakeAggregator({&pooled});
  auto fed_agg = MakeAggregator({&a, &b, &c});

  auto pooled_path = Lasso(LassoOptions()).FitPath(pooled_agg);
  auto fed_path = Lasso(LassoOptions()).FitPath(fed_agg);
  ASSERT_TRUE(pooled_path.ok() && fed_path.ok());
  ASSERT_EQ(pooled_path->points.size(), fed_path->points.size());
  double max_diff = 0.0;
  for (std::size_t k = 0; k < fed_path->points.size(); ++k) {
    const auto& p = pooled_path->points[k];
    const auto& f = fed_path->points[k];
    EXPECT_NEAR(p.lambda, f.lambda, 1e-12 * p.lambda);
    for (Eigen::Index j = 0; j < p.beta.size(); ++j) {
      EXPECT_EQ(p.beta[j] == 0.0, f.beta[j] == 0.0) << "selected sets differ at lambda " << k;
    }
    max_diff = std::max(
        {max_diff, (p.beta - f.beta).cwiseAbs().maxCoeff(), std::abs(p.intercept - f.intercept)});
  }
  EXPECT_LE(max_diff, 1e-10);

  LinearSvmOptions svm_options;
  svm_options.c = 0.5;
  svm_options.columns = {0, 3, 6, 9};
  auto pooled_svm = LinearSvm(svm_options).Fit(pooled_agg);
  auto fed_svm = LinearSvm(svm_options).Fit(fed_agg);
  ASSERT_TRUE(pooled_svm.ok() && fed_svm.ok());
  const double svm_diff = std::max((pooled_svm->w - fed_svm->w).cwiseAbs().maxCoeff(),
                                   std::abs(pooled_svm->intercept - fed_svm->intercept));
  EXPECT_LE(svm_diff, 1e-10);
  std::printf("federated vs pooled: lasso max|diff| %.3g (%lld vs %lld rounds), svm %.3g\n",
              max_diff, static_cast<long long>(fed_path->rounds),
              static_cast<long long>(pooled_path->rounds), svm_diff);
}

TEST(LassoTest, RejectsSingleClass) {
  LocalTable t = testing::MakeLogisticData(20, 3, 1);
  t.y.setZero();
  auto aggregator = MakeAggregator({&t});
  auto path = Lasso(LassoOptions()).FitPath(aggregator);
  ASSERT_FALSE(path.ok());
  EXPECT_NE(path.status().message().find("both classes"), std::string::npos);
}

}  // namespace
}  // namespace fedrad::coordinator

namespace fedrad::coordinator {
namespace {

using site_agent::stats::LocalTable;

// Degenerate inputs: clear behaviour, finite numbers, no hang.
TEST(LassoDegenerateTest, ConstantColumnGetsZeroCoefficient) {
  LocalTable t = testing::MakeLogisticData(60, 5, 3);
  t.x.col(2).setConstant(7.5);
  auto aggregator = InProcessAggregator::Create({&t});
  ASSERT_TRUE(aggregator.ok());
  auto path = Lasso(LassoOptions()).FitPath(*aggregator);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  for (const auto& point : path->points) {
    EXPECT_EQ(point.beta[2], 0.0);
    EXPECT_EQ(point.beta_original[2], 0.0);
    EXPECT_TRUE(point.beta_original.allFinite());
    EXPECT_TRUE(std::isfinite(point.intercept_original));
  }
}

TEST(LassoDegenerateTest, MoreFeaturesThanRowsAndATinySite) {
  const LocalTable pooled = testing::MakeLogisticData(40, 60, 9);
  const LocalTable tiny = testing::Rows(pooled, 0, 3);
  const LocalTable rest = testing::Rows(pooled, 3, 40);
  auto fed = InProcessAggregator::Create({&tiny, &rest});
  auto one = InProcessAggregator::Create({&pooled});
  ASSERT_TRUE(fed.ok() && one.ok());
  auto fed_path = Lasso(LassoOptions()).FitPath(*fed);
  auto pooled_path = Lasso(LassoOptions()).FitPath(*one);
  ASSERT_TRUE(fed_path.ok()) << fed_path.status().ToString();
  ASSERT_TRUE(pooled_path.ok());
  EXPECT_NEAR(fed_path->points.back().lambda / fed_path->lambda_max, 1e-2, 1e-12);
  double max_diff = 0.0;
  for (std::size_t k = 0; k < fed_path->points.size(); ++k) {
    max_diff = std::max(
        max_diff, (fed_path->points[k].beta - pooled_path->points[k].beta).cwiseAbs().maxCoeff());
    EXPECT_LE(fed_path->points[k].kkt_residual, 1e-7);
  }
  EXPECT_LE(max_diff, 1e-8);
}

TEST(LassoDegenerateTest, SeparableDataStaysFinite) {
  LocalTable t = testing::MakeLogisticData(60, 4, 13);
  for (Eigen::Index i = 0; i < t.x.rows(); ++i) t.y[i] = t.x(i, 0) > -5.0 ? 1.0 : 0.0;
  auto aggregator = InProcessAggregator::Create({&t});
  ASSERT_TRUE(aggregator.ok());
  LassoOptions options;
  options.lambda_min_ratio = 1e-2;
  auto path = Lasso(options).FitPath(*aggregator);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  for (const auto& point : path->points) {
    EXPECT_TRUE(point.beta.allFinite());
    EXPECT_LE(point.kkt_residual, 1e-7);
  }
  auto svm = LinearSvm(LinearSvmOptions()).Fit(*aggregator);
  ASSERT_TRUE(svm.ok()) << svm.status().ToString();
  EXPECT_TRUE(svm->w.allFinite());
}

TEST(InProcessAggregatorTest, RejectsMismatchedSites) {
  const LocalTable a = testing::MakeLogisticData(10, 3, 1);
  const LocalTable b = testing::MakeLogisticData(10, 4, 1);
  auto aggregator = InProcessAggregator::Create({&a, &b});
  ASSERT_FALSE(aggregator.ok());
  EXPECT_NE(aggregator.status().message().find("features"), std::string::npos);
  LocalTable bad = a;
  bad.y[0] = 2.0;
  EXPECT_FALSE(InProcessAggregator::Create({&bad}).ok());
}

}  // namespace
}  // namespace fedrad::coordinator

namespace fedrad::coordinator {
namespace {

// A fold's training rows, resolved at the sites, give the same path as a
// table holding only those rows.
TEST(LassoFoldTest, TrainingPartOfAFoldEqualsTheSubsetTable) {
  site_agent::stats::LocalTable a = testing::MakeLogisticData(50, 6, 21);
  site_agent::stats::LocalTable b = testing::MakeLogisticData(40, 6, 22);
  site_agent::stats::LocalTable subset;
  subset.x.resize(0, 6);
  for (auto* t : {&a, &b}) {
    t->fold.resize(static_cast<std::size_t>(t->x.rows()));
    for (Eigen::Index i = 0; i < t->x.rows(); ++i) {
      t->fold[static_cast<std::size_t>(i)] = static_cast<int>(i % 3);
      if (i % 3 != 1) {
        subset.x.conservativeResize(subset.x.rows() + 1, 6);
        subset.x.row(subset.x.rows() - 1) = t->x.row(i);
        subset.y.conservativeResize(subset.x.rows());
        subset.y[subset.x.rows() - 1] = t->y[i];
      }
    }
  }
  auto fed = InProcessAggregator::Create({&a, &b});
  auto one = InProcessAggregator::Create({&subset});
  ASSERT_TRUE(fed.ok() && one.ok());
  LassoOptions options;
  options.nlambda = 20;
  options.rows = {site_agent::stats::RowSubset::Kind::kTrainOfFold, 1};
  auto fold_path = Lasso(options).FitPath(*fed);
  options.rows = {};
  auto subset_path = Lasso(options).FitPath(*one);
  ASSERT_TRUE(fold_path.ok() && subset_path.ok());
  EXPECT_EQ(fold_path->standardization.n, 60.0);
  for (std::size_t k = 0; k < fold_path->points.size(); ++k) {
    EXPECT_LE((fold_path->points[k].beta - subset_path->points[k].beta).cwiseAbs().maxCoeff(),
              1e-10);
  }
}

}  // namespace
}  // namespace fedrad::coordinator

namespace fedrad::coordinator {
namespace {

// Adds drift × (round number) × N to the loss of every logistic round, so
// that F appears to rise by `drift` per round: a line search whose predicted
// decrease is below the drift fails. Gradients and Hessians are exact.
class DriftingLossAggregator final : public Aggregator {
 public:
  DriftingLossAggregator(InProcessAggregator inner, double n, double drift)
      : inner_(std::move(inner)), n_(n), drift_(drift) {}
  int num_features() const override { return inner_.num_features(); }
  common::Result<std::vector<double>> Sum(const site_agent::stats::StatRequest& request) override {
    auto sums = inner_.Sum(request);
    if (sums.ok() && std::holds_alternative<site_agent::stats::LogisticRequest>(request)) {
      (*sums)[0] += drift_ * n_ * static_cast<double>(inner_.rounds());
    }
    return sums;
  }
  common::Result<std::vector<std::vector<double>>> SumBatch(
      const std::vector<site_agent::stats::StatRequest>& requests) override {
    return inner_.SumBatch(requests);
  }
  std::int64_t rounds() const override { return inner_.rounds(); }

 private:
  InProcessAggregator inner_;
  double n_;
  double drift_;
};

// A stall near the tolerance (line search defeated by a drift below the
// rounding of a tight fit) is accepted with its residual recorded; a stall
// far from it fails with the residual in the message.
TEST(LassoStallTest, AcceptedNearTheToleranceAndFailsFarFromIt) {
  const LocalTable t = testing::MakeLogisticData(120, 15, 42);
  LassoOptions options;
  options.nlambda = 30;
  {
    DriftingLossAggregator aggregator(MakeAggregator({&t}), 120.0, 1e-11);
    auto path = Lasso(options).FitPath(aggregator);
    ASSERT_TRUE(path.ok()) << path.status().ToString();
    int stalled = 0;
    for (const auto& point : path->points) {
      EXPECT_LE(point.kkt_residual, 10.0 * options.kkt_tolerance);
      if (point.stalled) {
        ++stalled;
        EXPECT_GT(point.kkt_residual, options.kkt_tolerance);
      } else {
        EXPECT_LE(point.kkt_residual, options.kkt_tolerance);
      }
    }
    EXPECT_GT(stalled, 0);
    std::printf("lasso stall: %d of %zu lambdas accepted within 10 x tolerance\n", stalled,
                path->points.size());
  }
  {
    DriftingLossAggregator aggregator(MakeAggregator({&t}), 120.0, 1e-3);
    auto path = Lasso(options).FitPath(aggregator);
    ASSERT_FALSE(path.ok());
    EXPECT_EQ(path.status().code(), common::StatusCode::kFailedPrecondition);
    EXPECT_NE(path.status().message().find("line search failed"), std::string::npos)
        << path.status().ToString();
    EXPECT_NE(path.status().message().find("KKT residual"), std::string::npos);
  }
}

}  // namespace
}  // namespace fedrad::coordinator

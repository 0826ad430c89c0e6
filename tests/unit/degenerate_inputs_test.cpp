// Degenerate inputs to a whole nested study (issue 4, item 5): a constant
// column, perfectly separable data, a site whose folds have no positive
// case, p > N, a site with 3 cases, a LASSO that selects nothing, and a
// class missing from a fold's training part. Each gives a specific outcome:
// OK with finite numbers (and, where sites are involved, the pooled result),
// or a readable error. No NaN, no hang.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/pipeline.hpp"
#include "study_test_data.hpp"

namespace fedrad::coordinator {
namespace {

using site_agent::stats::LocalTable;

constexpr int kFolds = 3;

StudyPlan Plan(int p) {
  StudyPlan plan;
  plan.options = testing::SmallModelOptions(kFolds);
  plan.outer_folds = kFolds;
  plan.nested = true;
  plan.models = {{"m", "m", p}};
  return plan;
}

std::vector<int> AllColumns(int p) {
  std::vector<int> c(static_cast<std::size_t>(p));
  for (int j = 0; j < p; ++j) c[static_cast<std::size_t>(j)] = j;
  return c;
}

void ExpectFinite(const FittedModel& fit) {
  for (const auto& point : fit.lasso.path.points) {
    EXPECT_TRUE(std::isfinite(point.intercept) && point.beta.allFinite());
    EXPECT_TRUE(std::isfinite(point.objective) && std::isfinite(point.kkt_residual));
  }
  for (std::size_t l = 0; l < fit.lasso.cvm.size(); ++l) {
    EXPECT_TRUE(std::isfinite(fit.lasso.cvm[l]) && std::isfinite(fit.lasso.cvsd[l]));
  }
  EXPECT_TRUE(fit.svm.w.allFinite() && std::isfinite(fit.svm.intercept));
  for (const double auc : fit.svm_cv.cv_auc) EXPECT_TRUE(std::isfinite(auc));
  if (fit.has_platt) {
    EXPECT_TRUE(std::isfinite(fit.platt.a) && std::isfinite(fit.platt.b));
  }
}

void ExpectFinite(const StudyRun& run) {
  for (const ModelRun& m : run.models) {
    ExpectFinite(m.final_model);
    for (const FittedModel& f : m.fold_models) ExpectFinite(f);
    EXPECT_TRUE(std::isfinite(m.cv.auc));
  }
}

// Runs the study on `cuts` sites and on one pooled site; both must succeed
// and agree (selected sets, C, AUC exactly; coefficients within 1e-8).
StudyRun RunAndCompareToPooled(const LocalTable& all, const std::vector<int>& cuts,
                               const StudyPlan& plan) {
  const int p = static_cast<int>(all.x.cols());
  const std::map<std::string, std::vector<int>> models = {{"m", AllColumns(p)}};
  const auto sites = testing::SplitStudy(all, models, cuts);
  const auto pooled_sites = testing::SplitStudy(all, models, {0, static_cast<int>(all.y.size())});
  auto agg = InProcessAggregator::CreateMulti(sites.pointers());
  auto pooled_agg = InProcessAggregator::CreateMulti(pooled_sites.pointers());
  EXPECT_TRUE(agg.ok()) << agg.status().ToString();
  EXPECT_TRUE(pooled_agg.ok()) << pooled_agg.status().ToString();
  if (!agg.ok() || !pooled_agg.ok()) return {};
  auto fed = RunStudy(*agg, plan);
  auto pooled = RunStudy(*pooled_agg, plan);
  EXPECT_TRUE(fed.ok()) << fed.status().ToString();
  EXPECT_TRUE(pooled.ok()) << pooled.status().ToString();
  if (!fed.ok() || !pooled.ok()) return {};
  ExpectFinite(*fed);
  const ModelRun& a = fed->models.front();
  const ModelRun& b = pooled->models.front();
  EXPECT_EQ(a.final_model.selected, b.final_model.selected);
  EXPECT_EQ(a.final_model.svm_cv.c_chosen, b.final_model.svm_cv.c_chosen);
  EXPECT_EQ(a.cv.auc, b.cv.auc);
  for (std::size_t f = 0; f < a.cv.folds.size(); ++f) {
    EXPECT_EQ(a.cv.folds[f].selected, b.cv.folds[f].selected);
    EXPECT_EQ(a.cv.folds[f].c, b.cv.folds[f].c);
  }
  const auto& pa = a.final_model.lasso.path.points;
  const auto& pb = b.final_model.lasso.path.points;
  EXPECT_EQ(pa.size(), pb.size());
  for (std::size_t l = 0; l < std::min(pa.size(), pb.size()); ++l) {
    EXPECT_LE((pa[l].beta - pb[l].beta).cwiseAbs().maxCoeff(), 1e-8);
  }
  if (a.final_model.svm.w.size() == b.final_model.svm.w.size() && a.final_model.svm.w.size() > 0) {
    EXPECT_LE((a.final_model.svm.w - b.final_model.svm.w).cwiseAbs().maxCoeff(), 1e-8);
  }
  return std::move(fed).value();
}

TEST(DegenerateInputsTest, ConstantColumnGetsZeroCoefficientEverywhere) {
  LocalTable all = testing::MakeLogisticData(90, 6, 101);
  all.x.col(2).setConstant(3.0);
  testing::AssignNestedFolds(all, kFolds, 1);
  const StudyRun run = RunAndCompareToPooled(all, {0, 40, 90}, Plan(6));
  ASSERT_EQ(run.models.size(), 1u);
  const ModelRun& m = run.models.front();
  EXPECT_EQ(m.final_model.lasso.path.standardization.sd[2], 0.0);
  for (const auto& point : m.final_model.lasso.path.points) EXPECT_EQ(point.beta[2], 0.0);
  for (const FittedModel& f : m.fold_models) {
    for (const auto& point : f.lasso.path.points) EXPECT_EQ(point.beta[2], 0.0);
    EXPECT_EQ(std::count(f.selected.begin(), f.selected.end(), 2), 0);
  }
  EXPECT_EQ(std::count(m.final_model.selected.begin(), m.final_model.selected.end(), 2), 0);
  EXPECT_FALSE(m.final_model.selected.empty());
}

TEST(DegenerateInputsTest, PerfectlySeparableDataFitsWithFiniteNumbers) {
  LocalTable all = testing::MakeLogisticData(90, 5, 7);
  for (Eigen::Index i = 0; i < all.y.size(); ++i) all.y[i] = all.x(i, 1) > all.x(0, 1) ? 1.0 : 0.0;
  testing::AssignNestedFolds(all, kFolds, 2);
  const StudyRun run = RunAndCompareToPooled(all, {0, 45, 90}, Plan(5));
  ASSERT_EQ(run.models.size(), 1u);
  const ModelRun& m = run.models.front();
  // The separating column is selected and the held-out ranking is perfect.
  EXPECT_EQ(std::count(m.final_model.selected.begin(), m.final_model.selected.end(), 1), 1);
  EXPECT_EQ(m.cv.auc, 1.0);
  ASSERT_TRUE(m.final_model.has_platt);
  EXPECT_LT(m.final_model.platt.a, 0.0);  // larger score, larger P(y = 1)
}

TEST(DegenerateInputsTest, SiteWithoutPositiveCasesInItsFoldsEqualsPooled) {
  LocalTable all = testing::MakeLogisticData(120, 6, 55);
  all.y.segment(110, 10).setZero();  // the last site (10 cases): no positive case at all
  testing::AssignNestedFolds(all, kFolds, 3);
  const StudyRun run = RunAndCompareToPooled(all, {0, 50, 110, 120}, Plan(6));
  ASSERT_EQ(run.models.size(), 1u);
}

TEST(DegenerateInputsTest, MoreFeaturesThanCasesUsesGlmnetsRatio) {
  LocalTable all = testing::MakeLogisticData(45, 60, 12);
  testing::AssignNestedFolds(all, kFolds, 4);
  const StudyRun run = RunAndCompareToPooled(all, {0, 20, 45}, Plan(60));
  ASSERT_EQ(run.models.size(), 1u);
  const LassoPath& path = run.models.front().final_model.lasso.path;
  ASSERT_EQ(path.points.size(), 20u);
  // N < p: the path ends at λ_max · 1e-2 (glmnet's lambda.min.ratio).
  EXPECT_NEAR(path.points.back().lambda / path.lambda_max, 1e-2, 1e-12);
  EXPECT_LT(run.models.front().final_model.selected.size(), 45u);
}

TEST(DegenerateInputsTest, SiteWithThreeCasesEqualsPooled) {
  LocalTable all = testing::MakeLogisticData(100, 6, 77);
  testing::AssignNestedFolds(all, kFolds, 5);
  const StudyRun run = RunAndCompareToPooled(all, {0, 3, 50, 100}, Plan(6));
  ASSERT_EQ(run.models.size(), 1u);
}

TEST(DegenerateInputsTest, EmptySelectionGivesTheInterceptOnlyModel) {
  LocalTable all = testing::MakeLogisticData(90, 4, 9);
  testing::AssignNestedFolds(all, kFolds, 6);
  StudyPlan plan = Plan(4);
  plan.options.lasso_cv.lasso.lambdas = {10.0, 5.0};  // above λ_max: nothing selected
  const StudyRun run = RunAndCompareToPooled(all, {0, 30, 90}, plan);
  ASSERT_EQ(run.models.size(), 1u);
  const ModelRun& m = run.models.front();
  const auto n = static_cast<double>(all.y.size());
  const double n_pos = all.y.sum();
  EXPECT_TRUE(m.final_model.selected.empty());
  EXPECT_EQ(m.final_model.svm.w.size(), 0);
  EXPECT_NEAR(m.final_model.svm.intercept, (2.0 * n_pos - n) / n, 1e-15);
  EXPECT_FALSE(m.final_model.has_platt);
  EXPECT_TRUE(m.final_model.svm_cv.c_grid.empty());
  for (const OuterFoldResult& f : m.cv.folds) {
    EXPECT_TRUE(f.selected.empty());
    EXPECT_EQ(f.auc, 0.5);  // constant scores: every pair a tie
    EXPECT_EQ(f.c, 0.0);
  }
  EXPECT_EQ(m.cv.auc, 0.5);
}

TEST(DegenerateInputsTest, FoldTrainingPartWithOneClassIsAReadableError) {
  LocalTable all = testing::MakeLogisticData(60, 4, 3);
  all.y.setZero();
  all.y[17] = 1.0;  // a single positive case: its fold's training part has none
  testing::AssignNestedFolds(all, kFolds, 8);
  const auto sites = testing::SplitStudy(all, {{"m", AllColumns(4)}}, {0, 30, 60});
  auto agg = InProcessAggregator::CreateMulti(sites.pointers());
  ASSERT_TRUE(agg.ok());
  auto run = RunStudy(*agg, Plan(4));
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), common::StatusCode::kInvalidArgument) << run.status().ToString();
  const std::string message = run.status().ToString();
  EXPECT_NE(message.find("model \"m\""), std::string::npos) << message;
  EXPECT_NE(message.find("fold"), std::string::npos) << message;
}

}  // namespace
}  // namespace fedrad::coordinator

// The study pipeline (pipeline.hpp): KKT at every λ of every LASSO path the
// pipeline fits (master and folds, final model and inside every outer fold),
// nested vs outside_cv, the rounds of a study vs those of its parts,
// progress and parameter errors.
#include "fedrad/coordinator/pipeline.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/cross_validation.hpp"
#include "fedrad/coordinator/lasso.hpp"
#include "fedrad/coordinator/svm_cv.hpp"
#include "study_test_data.hpp"

namespace fedrad::coordinator {
namespace {

using site_agent::stats::LocalTable;
using site_agent::stats::RowSubset;

// KKT residual of a LASSO point computed from scratch on the rows `rows` of
// the pooled table: standardise with those rows' mean and sd (divisor n),
// g = (1/n) Σ (π_i - y_i) (1, z_i), and
//   r = max(|g_0|, max_{β_j≠0} |g_j + λ sign β_j|, max_{β_j=0} (|g_j| - λ)₊)
// over the non-constant columns (a constant column must have β_j = 0).
double KktResidual(const LocalTable& t, const std::vector<Eigen::Index>& rows,
                   const LassoPathPoint& point) {
  const auto n = static_cast<Eigen::Index>(rows.size());
  const Eigen::Index p = t.x.cols();
  Eigen::MatrixXd x(n, p);
  Eigen::VectorXd y(n);
  for (Eigen::Index r = 0; r < n; ++r) {
    x.row(r) = t.x.row(rows[static_cast<std::size_t>(r)]);
    y[r] = t.y[rows[static_cast<std::size_t>(r)]];
  }
  const Eigen::RowVectorXd mean = x.colwise().mean();
  Eigen::MatrixXd z = x.rowwise() - mean;
  std::vector<bool> constant(static_cast<std::size_t>(p), false);
  for (Eigen::Index j = 0; j < p; ++j) {
    const double sd = std::sqrt(z.col(j).squaredNorm() / static_cast<double>(n));
    if (sd < 1e-10 * std::max(1.0, std::abs(mean[j]))) {
      constant[static_cast<std::size_t>(j)] = true;
      z.col(j).setZero();
      EXPECT_EQ(point.beta[j], 0.0) << "constant column " << j;
    } else {
      z.col(j) /= sd;
    }
  }
  const Eigen::VectorXd eta = (z * point.beta).array() + point.intercept;
  const Eigen::VectorXd residual = (1.0 / (1.0 + (-eta.array()).exp())).matrix() - y;  // π - y
  const double g0 = residual.sum() / static_cast<double>(n);
  const Eigen::VectorXd g = z.transpose() * residual / static_cast<double>(n);
  double r = std::abs(g0);
  for (Eigen::Index j = 0; j < p; ++j) {
    if (constant[static_cast<std::size_t>(j)]) continue;
    const double b = point.beta[j];
    if (b != 0.0) {
      r = std::max(r, std::abs(g[j] + point.lambda * (b > 0.0 ? 1.0 : -1.0)));
    } else {
      r = std::max(r, std::abs(g[j]) - point.lambda);
    }
  }
  return r;
}

// Rows of the pooled table in scope `outer` (-1: all; f: outer fold f's
// training part) and, within it, the training part of (inner) fold `fold`
// (-1: every row in scope).
std::vector<Eigen::Index> TrainingRows(const LocalTable& t, int outer, int fold) {
  std::vector<Eigen::Index> rows;
  for (Eigen::Index i = 0; i < t.y.size(); ++i) {
    const auto ii = static_cast<std::size_t>(i);
    if (outer >= 0 && t.fold[ii] == outer) continue;
    const int id = outer >= 0 ? t.inner_fold[static_cast<std::size_t>(outer)][ii] : t.fold[ii];
    if (fold >= 0 && id == fold) continue;
    rows.push_back(i);
  }
  return rows;
}

TEST(PipelineKktTest, EveryLambdaOfEveryPathOfANestedStudy) {
  constexpr int kFolds = 3;
  LocalTable all = testing::MakeLogisticData(120, 10, 31);
  all.x.col(4).setConstant(2.5);  // a constant column as well
  testing::AssignNestedFolds(all, kFolds, 3);
  const LocalTable a = testing::Slice(all, 0, 50);
  const LocalTable b = testing::Slice(all, 50, 120);
  auto agg = InProcessAggregator::Create({&a, &b});
  ASSERT_TRUE(agg.ok()) << agg.status().ToString();
  const ModelOptions options = testing::SmallModelOptions(kFolds);
  const double bound = 10.0 * options.lasso_cv.lasso.kkt_tolerance;

  double worst = 0.0;
  int points = 0;
  for (int outer = -1; outer < kFolds; ++outer) {
    ScopedAggregator scoped(*agg, "", 10, outer);
    // The pipeline's own fits: the master path and the CV's fold residuals.
    auto model = FitModel(scoped, options);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    for (const LassoPathPoint& point : model->lasso.path.points) {
      const double r = KktResidual(all, TrainingRows(all, outer, -1), point);
      EXPECT_LE(r, bound) << "outer " << outer << " master lambda " << point.lambda;
      worst = std::max(worst, r);
      ++points;
    }
    for (const double r : model->lasso.fold_max_kkt_residual) EXPECT_LE(r, bound);
    // The fold fits as FitLassoCv runs them (own λ path, training part of
    // each fold), each point checked from scratch.
    for (int f = 0; f < kFolds; ++f) {
      LassoOptions fold_options = options.lasso_cv.lasso;
      fold_options.rows = {RowSubset::Kind::kTrainOfFold, f};
      auto path = Lasso(fold_options).FitPath(scoped);
      ASSERT_TRUE(path.ok()) << path.status().ToString();
      ASSERT_EQ(path->points.size(), static_cast<std::size_t>(options.lasso_cv.lasso.nlambda));
      for (const LassoPathPoint& point : path->points) {
        const double r = KktResidual(all, TrainingRows(all, outer, f), point);
        EXPECT_LE(r, bound) << "outer " << outer << " fold " << f << " lambda " << point.lambda;
        worst = std::max(worst, r);
        ++points;
      }
    }
  }
  EXPECT_EQ(points, (kFolds + 1) * (kFolds + 1) * 20);
  std::printf(
      "KKT from scratch at %d path points (final + %d outer folds, master + folds): "
      "max residual %.3g (bound %.3g)\n",
      points, kFolds, worst, bound);
}

struct NestedData {
  LocalTable all;
  LocalTable a, b;
};

NestedData MakeNestedData(int n, int p, int k, std::uint64_t seed) {
  NestedData d;
  d.all = testing::MakeLogisticData(n, p, seed);
  testing::AssignNestedFolds(d.all, k, seed + 1);
  d.a = testing::Slice(d.all, 0, n / 3);
  d.b = testing::Slice(d.all, n / 3, n);
  return d;
}

StudyPlan SinglePlan(int k, int p, bool nested) {
  StudyPlan plan;
  plan.options = testing::SmallModelOptions(k);
  plan.outer_folds = k;
  plan.nested = nested;
  plan.models = {{"m", "", p}};
  return plan;
}

TEST(PipelineNestedTest, NestedRepeatsSelectionAndCInsideEveryOuterFold) {
  constexpr int kFolds = 3;
  constexpr int kP = 15;
  const NestedData d = MakeNestedData(120, kP, kFolds, 41);
  auto agg = InProcessAggregator::Create({&d.a, &d.b});
  ASSERT_TRUE(agg.ok());
  const StudyPlan plan = SinglePlan(kFolds, kP, true);
  auto run = RunStudy(*agg, plan);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  const ModelRun& m = run->models.front();
  EXPECT_TRUE(m.cv.nested);
  EXPECT_FALSE(m.cv.optimistic);
  ASSERT_EQ(m.cv.folds.size(), static_cast<std::size_t>(kFolds));
  bool some_lambda_differs = false;
  for (int f = 0; f < kFolds; ++f) {
    const OuterFoldResult& r = m.cv.folds[static_cast<std::size_t>(f)];
    // The fold's own CV, run independently on the fold's training part.
    ScopedAggregator scoped(*agg, "", kP, f);
    auto lasso = FitLassoCv(scoped, plan.options.lasso_cv);
    ASSERT_TRUE(lasso.ok()) << lasso.status().ToString();
    EXPECT_EQ(r.lambda, lasso->lambda_chosen) << "outer fold " << f;
    EXPECT_EQ(r.selected, lasso->selected) << "outer fold " << f;
    ASSERT_FALSE(r.selected.empty());
    SvmCvOptions svm = plan.options.svm_cv;
    svm.svm.columns = r.selected;
    auto svm_cv = FitSvmCv(scoped, svm);
    ASSERT_TRUE(svm_cv.ok()) << svm_cv.status().ToString();
    EXPECT_EQ(r.c, svm_cv->c_chosen) << "outer fold " << f;
    EXPECT_EQ(m.fold_models[static_cast<std::size_t>(f)].svm_cv.cv_auc, svm_cv->cv_auc);
    // Held-out rows of fold f, all sites.
    EXPECT_EQ(r.n_test, static_cast<double>(std::count(d.all.fold.begin(), d.all.fold.end(), f)));
    EXPECT_TRUE(std::isfinite(r.auc));
    if (r.lambda != m.final_model.lasso.lambda_chosen) some_lambda_differs = true;
  }
  EXPECT_TRUE(some_lambda_differs);
  EXPECT_TRUE(std::isfinite(m.cv.auc));
  EXPECT_GT(m.cv.auc, 0.5);
}

TEST(PipelineNestedTest, OutsideCvKeepsTheFinalSelectionAndCAndIsMarkedOptimistic) {
  constexpr int kFolds = 3;
  constexpr int kP = 15;
  const NestedData d = MakeNestedData(120, kP, kFolds, 41);
  auto agg = InProcessAggregator::Create({&d.a, &d.b});
  ASSERT_TRUE(agg.ok());
  StudyPlan plan = SinglePlan(kFolds, kP, false);
  plan.options.platt = false;  // the refit is then the SVM alone
  auto run = RunStudy(*agg, plan);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  const ModelRun& m = run->models.front();
  EXPECT_FALSE(m.cv.nested);
  EXPECT_TRUE(m.cv.optimistic);
  const FittedModel& final_model = m.final_model;
  ASSERT_FALSE(final_model.selected.empty());
  for (int f = 0; f < kFolds; ++f) {
    const OuterFoldResult& r = m.cv.folds[static_cast<std::size_t>(f)];
    EXPECT_EQ(r.selected, final_model.selected);
    EXPECT_EQ(r.lambda, final_model.lasso.lambda_chosen);
    EXPECT_EQ(r.c, final_model.svm_cv.c_chosen);
    // The refit: the SVM at the final C on the fold's training part,
    // standardised on that part.
    ScopedAggregator scoped(*agg, "", kP, f);
    auto st = ComputeStandardization(scoped, {});
    ASSERT_TRUE(st.ok());
    LinearSvmOptions o = plan.options.svm_cv.svm;
    o.c = final_model.svm_cv.c_chosen;
    o.columns = final_model.selected;
    const auto k = static_cast<Eigen::Index>(o.columns.size());
    o.center.resize(k);
    o.scale.resize(k);
    for (Eigen::Index c = 0; c < k; ++c) {
      o.center[c] = st->mean[o.columns[static_cast<std::size_t>(c)]];
      o.scale[c] = st->sd[o.columns[static_cast<std::size_t>(c)]];
    }
    auto svm = LinearSvm(o).Fit(scoped);
    ASSERT_TRUE(svm.ok());
    const FittedModel& refit = m.fold_models[static_cast<std::size_t>(f)];
    EXPECT_LE((refit.svm.w - svm->w).cwiseAbs().maxCoeff(), 1e-12);
    EXPECT_EQ(refit.svm.intercept, svm->intercept);
  }

  // With Platt the refit also runs, and the result is marked the same way.
  plan.options.platt = true;
  auto with_platt = RunStudy(*agg, plan);
  ASSERT_TRUE(with_platt.ok()) << with_platt.status().ToString();
  EXPECT_TRUE(with_platt->models.front().cv.optimistic);
  EXPECT_TRUE(with_platt->models.front().fold_models.front().has_platt);
  EXPECT_EQ(with_platt->models.front().cv.auc, m.cv.auc);  // Platt does not change the scores
}

// The study's rounds are those of its longest part + 1 (the held-out score
// round), not their sum: every part's rounds do not depend on batching (the
// same requests get the same sums), and RunConcurrently sends a round when
// every running part has posted, so the whole needs max_i rounds_i rounds.
TEST(PipelineRoundsTest, StudyRoundsAreTheMaxOfItsPartsPlusOne) {
  constexpr int kFolds = 3;
  LocalTable all = testing::MakeLogisticData(120, 12, 5);
  testing::AssignNestedFolds(all, kFolds, 9);
  const std::map<std::string, std::vector<int>> models = {
      {"small", {0, 1, 2}}, {"large", {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}}};
  const testing::StudySites sites = testing::SplitStudy(all, models, {0, 40, 120});
  StudyPlan plan;
  plan.options = testing::SmallModelOptions(kFolds);
  plan.outer_folds = kFolds;
  plan.models = {{"small", "small", 3}, {"large", "large", 12}};

  for (const bool nested : {true, false}) {
    SCOPED_TRACE(nested ? "nested" : "outside_cv");
    plan.nested = nested;
    auto agg = InProcessAggregator::CreateMulti(sites.pointers());
    ASSERT_TRUE(agg.ok());
    auto run = RunStudy(*agg, plan);
    ASSERT_TRUE(run.ok()) << run.status().ToString();
    EXPECT_EQ(run->rounds, agg->rounds());

    // Each part alone, on its own aggregator.
    std::int64_t longest = 0;
    std::int64_t sum = 0;
    for (const StudyModelPlan& model : plan.models) {
      auto alone = InProcessAggregator::CreateMulti(sites.pointers());
      ASSERT_TRUE(alone.ok());
      ScopedAggregator final_scope(*alone, model.dataset, model.num_features, -1);
      auto final_model = FitModel(final_scope, plan.options);
      ASSERT_TRUE(final_model.ok());
      EXPECT_EQ(final_model->rounds, alone->rounds());
      std::int64_t model_longest = final_model->rounds;
      std::int64_t longest_fold = 0;
      sum += final_model->rounds;
      for (int f = 0; f < kFolds; ++f) {
        const ModelRun& run_model = run->models[model.name == "small" ? 0 : 1];
        const std::int64_t r = run_model.fold_models[static_cast<std::size_t>(f)].rounds;
        if (nested) {
          auto fold_alone = InProcessAggregator::CreateMulti(sites.pointers());
          ASSERT_TRUE(fold_alone.ok());
          ScopedAggregator scope(*fold_alone, model.dataset, model.num_features, f);
          auto fit = FitModel(scope, plan.options);
          ASSERT_TRUE(fit.ok());
          EXPECT_EQ(fit->rounds, r);  // the same rounds alone as inside the study
          model_longest = std::max(model_longest, fit->rounds);
        }
        longest_fold = std::max(longest_fold, r);
        sum += r;
      }
      // outside_cv: the folds follow the final fit.
      if (!nested) model_longest = final_model->rounds + longest_fold;
      longest = std::max(longest, model_longest);
    }
    EXPECT_EQ(run->rounds, longest + 1);
    EXPECT_LT(run->rounds, sum / 2);
    std::printf(
        "study rounds (%s, 2 models x (final + %d folds)): %lld = longest part %lld + 1; "
        "sum of parts %lld\n",
        nested ? "nested" : "outside_cv", kFolds, static_cast<long long>(run->rounds),
        static_cast<long long>(longest), static_cast<long long>(sum));
  }
}

TEST(PipelineTest, ProgressLinesFromEveryFitAndReadableErrors) {
  constexpr int kFolds = 3;
  const NestedData d = MakeNestedData(90, 6, kFolds, 17);
  auto agg = InProcessAggregator::Create({&d.a, &d.b});
  ASSERT_TRUE(agg.ok());
  StudyPlan plan = SinglePlan(kFolds, 6, true);
  std::vector<std::string> lines;
  auto run = RunStudy(*agg, plan, [&lines](const std::string& line) { lines.push_back(line); });
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  // Final model, each outer fold, and the AUC line.
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kFolds + 2));
  for (const auto& line : lines) EXPECT_EQ(line.rfind("m: ", 0), 0u) << line;
  EXPECT_NE(lines.back().find("cross-validated AUC"), std::string::npos);

  // Fold counts that disagree with the outer folds.
  StudyPlan bad = plan;
  bad.options.lasso_cv.num_folds = 5;
  auto r = RunStudy(*agg, bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("outer_folds"), std::string::npos) << r.status().ToString();
  // No models.
  bad = plan;
  bad.models.clear();
  EXPECT_EQ(RunStudy(*agg, bad).status().code(), common::StatusCode::kInvalidArgument);
  // Outer fold ids that do not cover 0..K-1: K = 4 on data with folds 0..2.
  bad = plan;
  bad.outer_folds = 4;
  bad.options.lasso_cv.num_folds = 4;
  bad.options.svm_cv.num_folds = 4;
  r = RunStudy(*agg, bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("fold 3"), std::string::npos) << r.status().ToString();
  // Bad SVM options are named.
  ModelOptions options = plan.options;
  options.svm_cv.c_grid = {1.0, -1.0};
  const common::Status s = CheckModelOptions(options, 6);
  EXPECT_EQ(s.code(), common::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("c_grid[1]"), std::string::npos) << s.ToString();
  options = plan.options;
  options.svm_cv.num_folds = 4;
  EXPECT_NE(CheckModelOptions(options, 6).message().find("svm_cv.num_folds"), std::string::npos);
}

}  // namespace
}  // namespace fedrad::coordinator

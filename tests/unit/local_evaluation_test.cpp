// Single-site evaluation (LocalEvaluationRequest, providers.hpp; issue 6 item
// 1a): a site that holds a cohort alone computes its metrics locally and
// releases only summaries. Reference: the pooled grid rounds of
// EvaluateModels over an in-process aggregator of that one site's data (the
// same models, grid and thresholds): AUC, DeLong SE/CI, paired Z/p to 1e-12,
// ROC points and counts exactly, Brier to 1e-12, calibration to 1e-9. Also
// the disclosure gate's rules for the new kind, the codec and the
// aggregators' refusal to sum a release.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/evaluation.hpp"
#include "fedrad/site_agent/policy.hpp"
#include "fedrad/site_agent/stats/evaluation_kernels.hpp"
#include "fedrad/site_agent/stats/providers.hpp"
#include "fedrad/site_agent/stats/wire.hpp"
#include "solver_test_data.hpp"
#include "study_test_data.hpp"

namespace fedrad::coordinator {
namespace {

namespace ss = site_agent::stats;

constexpr int kFolds = 3;

const std::map<std::string, std::vector<int>>& ModelColumns() {
  static const std::map<std::string, std::vector<int>> columns = {
      {"clinical", {0, 1, 2}}, {"radiomics", {3, 4, 5, 6}}, {"combined", {0, 1, 2, 3, 4, 5, 6}}};
  return columns;
}

ss::LinearScorer MakeScorer(const std::string& dataset, int variant) {
  const std::vector<int>& original = ModelColumns().at(dataset);
  ss::LinearScorer s;
  const auto k = static_cast<Eigen::Index>(original.size());
  s.center.resize(k);
  s.scale.resize(k);
  s.w.resize(k);
  for (Eigen::Index c = 0; c < k; ++c) {
    const int j = original[static_cast<std::size_t>(c)];
    s.columns.push_back(static_cast<int>(c));
    s.center[c] = 0.1 * j - 0.2 + 0.05 * variant;
    s.scale[c] = 0.8 + 0.1 * j;
    s.w[c] = (j % 3 == 0 ? 0.9 : -0.3) + 0.2 * std::sin(1.3 * j + variant);
  }
  s.intercept = -0.2 + 0.05 * variant;
  return s;
}

std::vector<EvaluationModel> Models() {
  std::vector<EvaluationModel> out;
  for (const std::string name : {"clinical", "radiomics", "combined"}) {
    EvaluationModel m;
    m.name = name;
    m.dataset = name;
    m.final_model = MakeScorer(name, 5);
    for (int f = 0; f < kFolds; ++f) m.fold_models.push_back(MakeScorer(name, f));
    out.push_back(std::move(m));
  }
  EvaluationModel null_model;  // constant probability: no calibration slope
  null_model.name = "intercept_only";
  null_model.dataset = "clinical";
  null_model.final_model.intercept = 0.3;
  for (int f = 0; f < kFolds; ++f) null_model.fold_models.push_back(null_model.final_model);
  out.push_back(std::move(null_model));
  return out;
}

struct Fixture {
  testing::StudySites train, site_a, site_b;
  Fixture() {
    ss::LocalTable train_all = testing::MakeLogisticData(240, 7, 31);
    testing::AssignNestedFolds(train_all, kFolds, 3);
    train = testing::SplitStudy(train_all, ModelColumns(), testing::Cuts(240, 3));
    const ss::LocalTable external_all = testing::MakeLogisticData(150, 7, 32);
    const testing::StudySites external =
        testing::SplitStudy(external_all, ModelColumns(), {0, 60, 150});
    site_a.sites = {external.sites[0]};
    site_b.sites = {external.sites[1]};
  }
};

EvaluationResult EvaluateWith(Fixture& f, const EvaluationOptions& options, bool local) {
  auto train = InProcessAggregator::CreateMulti(f.train.pointers()).value();
  auto a = InProcessAggregator::CreateMulti(f.site_a.pointers()).value();
  auto b = InProcessAggregator::CreateMulti(f.site_b.pointers()).value();
  EvaluationCohorts cohorts;
  cohorts.training = &train;
  cohorts.external_sites = {{"site_a", &a, local}, {"site_b", &b, local}};
  auto result = EvaluateModels(Models(), kFolds, cohorts, options);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  if (local) EXPECT_EQ(a.rounds(), 1);  // one release, no other round
  return result.ok() ? std::move(result).value() : EvaluationResult{};
}

void ExpectSame(const EvaluationResult& local, const EvaluationResult& pooled) {
  ASSERT_EQ(local.metrics.size(), pooled.metrics.size());
  int external = 0;
  double largest = 0.0;  // over AUC, SE, CI, Brier, calibration, Z, p
  const auto track = [&largest](double a, double b) {
    if (std::isfinite(a) && std::isfinite(b)) largest = std::max(largest, std::abs(a - b));
  };
  for (std::size_t i = 0; i < local.metrics.size(); ++i) {
    const CohortMetrics& l = local.metrics[i];
    const CohortMetrics& p = pooled.metrics[i];
    SCOPED_TRACE(l.cohort.kind + " " + l.cohort.name + " " + l.model);
    ASSERT_EQ(l.cohort.name, p.cohort.name);
    ASSERT_EQ(l.model, p.model);
    if (l.cohort.kind == "external_site") {
      ++external;
      EXPECT_EQ(l.mode, "site_local");
      EXPECT_EQ(p.mode, "pooled_grid");
    } else {
      EXPECT_EQ(l.mode, p.mode);
    }
    EXPECT_EQ(l.grid_points, p.grid_points);
    EXPECT_EQ(l.cases, p.cases);
    EXPECT_EQ(l.controls, p.controls);
    EXPECT_NEAR(l.auc, p.auc, 1e-12);
    EXPECT_NEAR(l.auc_se, p.auc_se, 1e-12);
    EXPECT_NEAR(l.auc_ci_low, p.auc_ci_low, 1e-12);
    EXPECT_NEAR(l.auc_ci_high, p.auc_ci_high, 1e-12);
    EXPECT_NEAR(l.auc_error_bound, p.auc_error_bound, 1e-12);
    for (const auto& [x, y] :
         {std::pair{l.auc, p.auc}, std::pair{l.auc_se, p.auc_se},
          std::pair{l.auc_ci_low, p.auc_ci_low}, std::pair{l.auc_ci_high, p.auc_ci_high}}) {
      track(x, y);
    }
    if (l.brier && p.brier) track(*l.brier, *p.brier);
    if (l.calibration_slope && p.calibration_slope) {
      track(*l.calibration_slope, *p.calibration_slope);
      track(*l.calibration_intercept, *p.calibration_intercept);
    }
    EXPECT_EQ(l.threshold, p.threshold);
    EXPECT_EQ(l.tp, p.tp);
    EXPECT_EQ(l.fp, p.fp);
    EXPECT_EQ(l.tn, p.tn);
    EXPECT_EQ(l.fn, p.fn);
    EXPECT_EQ(l.ppv.has_value(), p.ppv.has_value());
    EXPECT_EQ(l.npv.has_value(), p.npv.has_value());
    ASSERT_EQ(l.brier.has_value(), p.brier.has_value());
    if (l.brier) EXPECT_NEAR(*l.brier, *p.brier, 1e-12);
    ASSERT_EQ(l.calibration_slope.has_value(), p.calibration_slope.has_value());
    if (l.calibration_slope) {
      EXPECT_NEAR(*l.calibration_intercept, *p.calibration_intercept, 1e-9);
      EXPECT_NEAR(*l.calibration_slope, *p.calibration_slope, 1e-9);
    }
    ASSERT_EQ(l.calibration.size(), p.calibration.size());
    for (std::size_t b = 0; b < l.calibration.size(); ++b) {
      EXPECT_EQ(l.calibration[b].count, p.calibration[b].count);
      EXPECT_NEAR(l.calibration[b].mean_predicted, p.calibration[b].mean_predicted, 1e-12);
      EXPECT_NEAR(l.calibration[b].observed_rate, p.calibration[b].observed_rate, 1e-12);
    }
    ASSERT_EQ(l.roc.size(), p.roc.size());
    for (std::size_t q = 0; q < l.roc.size(); ++q) {
      EXPECT_EQ(l.roc[q].threshold, p.roc[q].threshold);
      EXPECT_EQ(l.roc[q].tpr, p.roc[q].tpr);
      EXPECT_EQ(l.roc[q].fpr, p.roc[q].fpr);
    }
  }
  EXPECT_EQ(external, 2 * 4);
  ASSERT_EQ(local.comparisons.size(), pooled.comparisons.size());
  for (std::size_t i = 0; i < local.comparisons.size(); ++i) {
    const DelongComparison& l = local.comparisons[i];
    const DelongComparison& p = pooled.comparisons[i];
    SCOPED_TRACE(l.cohort.name + " " + l.model_a + " vs " + l.model_b);
    EXPECT_EQ(l.model_a, p.model_a);
    EXPECT_EQ(l.model_b, p.model_b);
    EXPECT_NEAR(l.auc_a, p.auc_a, 1e-12);
    EXPECT_NEAR(l.auc_b, p.auc_b, 1e-12);
    EXPECT_NEAR(l.z, p.z, 1e-12 * std::max(1.0, std::abs(p.z)));
    EXPECT_NEAR(l.p_value, p.p_value, 1e-12);
    track(l.z, p.z);
    track(l.p_value, p.p_value);
  }
  EXPECT_EQ(local.notes, pooled.notes);
  ::testing::Test::RecordProperty("max_abs_difference_local_vs_pooled", std::to_string(largest));
  std::printf("max |local - pooled| over AUC, SE, CI, Brier, calibration, Z, p: %.3g\n", largest);
}

TEST(LocalEvaluationTest, EqualsThePooledRoundsOverThatSiteOnTheFineGrid) {
  Fixture f;
  EvaluationOptions options;  // fine grid, Youden thresholds from the CV cohort
  const EvaluationResult local = EvaluateWith(f, options, true);
  const EvaluationResult pooled = EvaluateWith(f, options, false);
  ExpectSame(local, pooled);
  // The intercept-only model has no slope, in both, with the same note.
  bool noted = false;
  for (const auto& note : local.notes) {
    noted |= note.find("site_a") != std::string::npos &&
             note.find("intercept_only") != std::string::npos;
  }
  EXPECT_TRUE(noted);
}

TEST(LocalEvaluationTest, EqualsThePooledRoundsOnACoarseGridWithAFixedThreshold) {
  Fixture f;
  EvaluationOptions options;
  options.grid_size = 51;  // many ties: the binning bound is released too
  options.fixed_threshold = 0.45;
  options.calibration_bins = 4;
  ExpectSame(EvaluateWith(f, options, true), EvaluateWith(f, options, false));
}

TEST(LocalEvaluationTest, ALongCurveIsThinnedButTheAucIsNot) {
  Fixture f;
  EvaluationOptions options;
  const EvaluationResult full = EvaluateWith(f, options, true);
  options.max_curve_points = 7;
  const EvaluationResult thin = EvaluateWith(f, options, true);
  ASSERT_EQ(full.metrics.size(), thin.metrics.size());
  for (std::size_t i = 0; i < full.metrics.size(); ++i) {
    if (full.metrics[i].cohort.kind != "external_site") continue;
    SCOPED_TRACE(full.metrics[i].model);
    EXPECT_EQ(thin.metrics[i].auc, full.metrics[i].auc);
    EXPECT_EQ(thin.metrics[i].auc_se, full.metrics[i].auc_se);
    if (full.metrics[i].model == "intercept_only") continue;  // one point: nothing to thin
    ASSERT_GT(full.metrics[i].roc.size(), 8u);
    ASSERT_EQ(thin.metrics[i].roc.size(), 8u);  // 7 released + the (0, 0) end
    EXPECT_EQ(thin.metrics[i].roc.back().fpr, 1.0);
    EXPECT_EQ(thin.metrics[i].roc.back().tpr, 1.0);
  }
}

ss::LocalEvaluationRequest Request(const std::vector<EvaluationModel>& models) {
  ss::LocalEvaluationRequest r;
  r.rows = {ss::RowSubset{}};
  for (const EvaluationModel& m : models) {
    r.models.push_back({m.dataset, {m.final_model}});
    r.thresholds.push_back(0.5);
  }
  r.grid_size = 1001;
  r.calibration_bins = 3;
  r.max_curve_points = 40;
  r.calibration_tolerance = 1e-9;
  r.dataset = "clinical";
  return r;
}

TEST(LocalEvaluationTest, RoundTripsThroughTheCodecAndHasItsLayoutSize) {
  const ss::LocalEvaluationRequest request = Request(Models());
  auto message = ss::EncodeStatsBatch("study-1", 4, {request});
  ASSERT_TRUE(message.ok()) << message.status().ToString();
  auto decoded = ss::DecodeStatsBatch(*message);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->size(), 1u);
  const auto& back = std::get<ss::LocalEvaluationRequest>(decoded->front());
  EXPECT_EQ(back.grid_size, 1001);
  EXPECT_EQ(back.calibration_bins, 3);
  EXPECT_EQ(back.max_curve_points, 40);
  EXPECT_EQ(back.calibration_max_iterations, 50);
  EXPECT_EQ(back.calibration_tolerance, 1e-9);
  EXPECT_EQ(back.thresholds, request.thresholds);
  ASSERT_EQ(back.models.size(), 4u);
  EXPECT_EQ(back.models[2].dataset, "combined");
  EXPECT_EQ(back.models[2].scorers[0].w, request.models[2].scorers[0].w);
  Fixture f;
  auto result = ss::Compute(f.site_a.sites[0], request);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->size(), ss::ResultSize(request, 3));
  EXPECT_EQ(result->size(), (ss::LocalEvaluationLayout{4, 3, 40}.Size()));
  // A bad field is refused by the encoder, naming it.
  ss::LocalEvaluationRequest bad = request;
  bad.max_curve_points = 1;
  auto refused = ss::EncodeStatsBatch("study-1", 4, {bad});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("max_curve_points"), std::string::npos);
}

TEST(LocalEvaluationTest, AggregatorsRefuseToSumAReleaseOverSeveralSites) {
  Fixture f;
  auto both = InProcessAggregator::CreateMulti({&f.site_a.sites[0], &f.site_b.sites[0]}).value();
  auto summed = both.Sum(Request(Models()));
  ASSERT_FALSE(summed.ok());
  EXPECT_NE(summed.status().message().find("not a sum"), std::string::npos);
}

TEST(LocalEvaluationPolicyTest, AllowedByDefaultAndRefusedByRule) {
  Fixture f;
  const ss::Datasets& site = f.site_a.sites[0];  // 60 rows
  const std::vector<ss::StatRequest> batch = {Request(Models())};
  site_agent::Policy policy;  // the defaults allow it
  EXPECT_TRUE(site_agent::Policy{}.Allows(site_agent::StatKind::kLocalEvaluation));
  EXPECT_STREQ(site_agent::StatKindName(site_agent::StatKind::kLocalEvaluation),
               "local_evaluation");
  EXPECT_TRUE(site_agent::CheckBatch(policy, site, batch, 0).ok())
      << site_agent::CheckBatch(policy, site, batch, 0).ToString();

  std::string rule;
  site_agent::Policy without = policy;
  std::erase(without.allowed, site_agent::StatKind::kLocalEvaluation);
  auto refused = site_agent::CheckBatch(without, site, batch, 0, &rule);
  EXPECT_EQ(refused.code(), common::StatusCode::kPermissionDenied);
  EXPECT_EQ(rule, "allowed_statistics");
  EXPECT_NE(refused.message().find("local_evaluation"), std::string::npos);

  site_agent::Policy large = policy;
  large.min_cohort_size = 61;
  refused = site_agent::CheckBatch(large, site, batch, 0, &rule);
  EXPECT_EQ(refused.code(), common::StatusCode::kPermissionDenied);
  EXPECT_EQ(rule, "min_cohort_size");

  // Each class needs min_count_per_cell rows (an empty class is refused too).
  std::int64_t cases = 0;
  const Eigen::VectorXd& y = site.at("clinical").y;
  for (Eigen::Index i = 0; i < y.size(); ++i) cases += y[i] > 0.5 ? 1 : 0;
  site_agent::Policy strict = policy;
  strict.min_count_per_cell = std::min(cases, y.size() - cases) + 1;
  refused = site_agent::CheckBatch(strict, site, batch, 0, &rule);
  EXPECT_EQ(refused.code(), common::StatusCode::kPermissionDenied);
  EXPECT_EQ(rule, "min_count_per_cell");
  EXPECT_NE(refused.message().find("each class"), std::string::npos);
}

}  // namespace
}  // namespace fedrad::coordinator

// The evaluation's coarse fallback grid (issue 6, item 1(b)/(c);
// coordinator/evaluation.hpp "Fallback grid") and the journal's refused
// rounds (round_journal.hpp): a cohort whose fine-grid rounds a site refuses
// (kPermissionDenied) is evaluated on the fallback grid, with every number
// equal to an evaluation run on that grid from the start; without a fallback
// grid, or when the fallback is refused too, the refusal is returned; a
// journaled run with a refusal resumes to the same result without asking
// the sites again.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/evaluation.hpp"
#include "fedrad/coordinator/round_journal.hpp"
#include "fedrad/site_agent/stats/providers.hpp"
#include "study_test_data.hpp"
#include "temp_dir.hpp"

namespace fedrad::coordinator {
namespace {

namespace ss = site_agent::stats;

constexpr int kFolds = 3;

const std::map<std::string, std::vector<int>>& ModelColumns() {
  static const std::map<std::string, std::vector<int>> columns = {{"small", {0, 1, 2}},
                                                                  {"large", {0, 1, 2, 3, 4, 5}}};
  return columns;
}

ss::LinearScorer MakeScorer(const std::string& dataset, int variant) {
  ss::LinearScorer s;
  const auto k = static_cast<Eigen::Index>(ModelColumns().at(dataset).size());
  s.center = Eigen::VectorXd::Zero(k);
  s.scale = Eigen::VectorXd::Ones(k);
  s.w.resize(k);
  for (Eigen::Index c = 0; c < k; ++c) {
    s.columns.push_back(static_cast<int>(c));
    s.w[c] = (c % 2 == 0 ? 0.8 : -0.4) + 0.05 * variant;
  }
  s.intercept = -0.2 + 0.03 * variant;
  return s;
}

std::vector<EvaluationModel> Models() {
  std::vector<EvaluationModel> out;
  for (const std::string name : {"small", "large"}) {
    EvaluationModel m;
    m.name = name;
    m.dataset = name;
    m.final_model = MakeScorer(name, 5);
    for (int f = 0; f < kFolds; ++f) m.fold_models.push_back(MakeScorer(name, f));
    out.push_back(std::move(m));
  }
  return out;
}

struct Fixture {
  ss::LocalTable train_all, external_all;
  testing::StudySites train, external;
  Fixture() {
    train_all = testing::MakeLogisticData(240, 6, 21);
    testing::AssignNestedFolds(train_all, kFolds, 3);
    external_all = testing::MakeLogisticData(150, 6, 22);
    train = testing::SplitStudy(train_all, ModelColumns(), testing::Cuts(240, 3));
    external = testing::SplitStudy(external_all, ModelColumns(), {0, 70, 150});
  }
};

// Refuses (kPermissionDenied, as a WireAggregator does for ERROR
// policy_refused) every batch with a grid histogram finer than `max_grid`
// points, as a site whose policy checks grid-histogram cells would; counts
// the refused rounds as rounds (they were sent).
class RefusingAggregator final : public Aggregator {
 public:
  RefusingAggregator(Aggregator& base, std::int64_t max_grid) : base_(base), max_grid_(max_grid) {}
  int num_features() const override { return base_.num_features(); }
  common::Result<std::vector<double>> Sum(const ss::StatRequest& request) override {
    FEDRAD_ASSIGN_OR_RETURN(auto sums, SumBatch({request}));
    return std::move(sums.front());
  }
  common::Result<std::vector<std::vector<double>>> SumBatch(
      const std::vector<ss::StatRequest>& requests) override {
    for (const ss::StatRequest& r : requests) {
      const auto* g = std::get_if<ss::GridHistogramRequest>(&r);
      if (g != nullptr && g->grid_size > max_grid_) {
        ++refused_;
        return common::PermissionDenied("site site_c answered policy_refused: grid cell 7 of " +
                                        std::to_string(g->grid_size) +
                                        " grid points holds 1 rows, below min_count_per_cell 5");
      }
    }
    return base_.SumBatch(requests);
  }
  std::int64_t rounds() const override { return base_.rounds() + refused_; }
  std::int64_t bytes_to_each_site() const override { return base_.bytes_to_each_site(); }
  std::int64_t bytes_from_each_site() const override { return base_.bytes_from_each_site(); }
  std::int64_t refused() const { return refused_; }

 private:
  Aggregator& base_;
  std::int64_t max_grid_;
  std::int64_t refused_ = 0;
};

// Every aggregator call fails: proves a replay never reaches the sites.
class UnreachableAggregator final : public Aggregator {
 public:
  int num_features() const override { return 0; }
  common::Result<std::vector<double>> Sum(const ss::StatRequest&) override {
    return common::Unavailable("the sites were asked during a replay");
  }
  common::Result<std::vector<std::vector<double>>> SumBatch(
      const std::vector<ss::StatRequest>&) override {
    return common::Unavailable("the sites were asked during a replay");
  }
  std::int64_t rounds() const override { return 0; }
  std::int64_t bytes_to_each_site() const override { return 0; }
  std::int64_t bytes_from_each_site() const override { return 0; }
};

void ExpectSameMetrics(const CohortMetrics& a, const CohortMetrics& b) {
  SCOPED_TRACE(a.cohort.kind + "/" + a.model);
  EXPECT_EQ(a.grid_points, b.grid_points);
  EXPECT_EQ(a.cases, b.cases);
  EXPECT_EQ(a.controls, b.controls);
  EXPECT_EQ(a.auc, b.auc);
  EXPECT_EQ(a.auc_se, b.auc_se);
  EXPECT_EQ(a.auc_ci_low, b.auc_ci_low);
  EXPECT_EQ(a.auc_ci_high, b.auc_ci_high);
  EXPECT_EQ(a.auc_error_bound, b.auc_error_bound);
  EXPECT_EQ(a.threshold, b.threshold);
  EXPECT_EQ(a.tp, b.tp);
  EXPECT_EQ(a.fp, b.fp);
  EXPECT_EQ(a.tn, b.tn);
  EXPECT_EQ(a.fn, b.fn);
  ASSERT_EQ(a.roc.size(), b.roc.size());
  for (std::size_t q = 0; q < a.roc.size(); ++q) {
    EXPECT_EQ(a.roc[q].tpr, b.roc[q].tpr);
    EXPECT_EQ(a.roc[q].fpr, b.roc[q].fpr);
  }
}

TEST(FallbackGrid, ARefusedFineGridIsEvaluatedOnTheFallbackGridAsIfChosenFirst) {
  Fixture f;
  const std::vector<EvaluationModel> models = Models();
  auto train = InProcessAggregator::CreateMulti(f.train.pointers()).value();
  RefusingAggregator refusing(train, 101);
  auto external = InProcessAggregator::CreateMulti(f.external.pointers()).value();
  EvaluationCohorts cohorts;
  cohorts.training = &refusing;
  cohorts.external_pooled = &external;
  EvaluationOptions options;
  options.fallback_grid_size = 101;
  auto result = EvaluateModels(models, kFolds, cohorts, options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(refusing.refused(), 1);
  EXPECT_EQ(result->grid_size, ss::kFineGridSize);
  EXPECT_EQ(result->fallback_grid_size, 101);
  // The refused round counts: 1 refused + 2 fallback rounds on the CV cohort.
  EXPECT_EQ(result->rounds, 3 + external.rounds());

  // The reference: the CV cohort on the 101-point grid from the start, the
  // external cohort on the fine grid.
  auto train2 = InProcessAggregator::CreateMulti(f.train.pointers()).value();
  EvaluationCohorts cv_only;
  cv_only.training = &train2;
  EvaluationOptions coarse;
  coarse.grid_size = 101;
  auto reference = EvaluateModels(models, kFolds, cv_only, coarse);
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();
  ASSERT_EQ(result->metrics.size(), 2 * models.size());
  ASSERT_EQ(reference->metrics.size(), models.size());
  for (std::size_t m = 0; m < models.size(); ++m) {
    const CohortMetrics& cv = result->metrics[m];
    EXPECT_EQ(cv.cohort.kind, "cv");
    EXPECT_EQ(cv.grid, "fallback");
    EXPECT_EQ(cv.grid_points, 101);
    ExpectSameMetrics(cv, reference->metrics[m]);
    EXPECT_EQ(result->thresholds[m].threshold, reference->thresholds[m].threshold);
    // The external cohort was not refused: the fine grid.
    const CohortMetrics& ext = result->metrics[models.size() + m];
    EXPECT_EQ(ext.cohort.kind, "external_pooled");
    EXPECT_EQ(ext.grid, "fine");
    EXPECT_EQ(ext.grid_points, ss::kFineGridSize);
  }
  ASSERT_EQ(result->comparisons.size(), 2u);
  EXPECT_EQ(result->comparisons[0].z, reference->comparisons[0].z);
  EXPECT_EQ(result->comparisons[0].p_value, reference->comparisons[0].p_value);
  // A note names the refusal and the grids.
  bool noted = false;
  for (const std::string& note : result->notes) {
    noted |=
        note.find("CV cohort: evaluated on the fallback grid of 101 points") != std::string::npos &&
        note.find("the fine grid of 100001 points was refused") != std::string::npos &&
        note.find("below min_count_per_cell 5") != std::string::npos;
  }
  EXPECT_TRUE(noted) << ::testing::PrintToString(result->notes);
}

TEST(FallbackGrid, WithoutAFallbackOrWhenItIsRefusedTooTheRefusalIsReturned) {
  Fixture f;
  const std::vector<EvaluationModel> models = Models();
  {
    auto train = InProcessAggregator::CreateMulti(f.train.pointers()).value();
    RefusingAggregator refusing(train, 101);
    EvaluationCohorts cohorts;
    cohorts.training = &refusing;
    auto result = EvaluateModels(models, kFolds, cohorts, EvaluationOptions{});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), common::StatusCode::kPermissionDenied);
    EXPECT_EQ(refusing.refused(), 1);
  }
  {
    auto train = InProcessAggregator::CreateMulti(f.train.pointers()).value();
    RefusingAggregator refusing(train, 11);
    EvaluationCohorts cohorts;
    cohorts.training = &refusing;
    EvaluationOptions options;
    options.fallback_grid_size = 101;
    auto result = EvaluateModels(models, kFolds, cohorts, options);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), common::StatusCode::kPermissionDenied);
    EXPECT_EQ(refusing.refused(), 2);  // once each, no more
    const std::string m = result.status().message();
    EXPECT_NE(m.find("the fine grid (100001 points) was refused"), std::string::npos) << m;
    EXPECT_NE(m.find("and the fallback grid (101 points)"), std::string::npos) << m;
  }
  // A fallback grid that is not coarser is a bad option.
  auto train = InProcessAggregator::CreateMulti(f.train.pointers()).value();
  EvaluationCohorts cohorts;
  cohorts.training = &train;
  EvaluationOptions options;
  options.grid_size = 101;
  options.fallback_grid_size = 101;
  auto bad = EvaluateModels(models, kFolds, cohorts, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("must be coarser"), std::string::npos);
}

TEST(FallbackGrid, AJournaledRefusalIsReplayedSoAResumedRunTakesTheSameBranch) {
  Fixture f;
  testing::TempDir dir("fedrad_fallback_journal");
  const std::vector<EvaluationModel> models = Models();
  EvaluationOptions options;
  options.fallback_grid_size = 101;
  JournalHeader header;
  header.study_id = "s";
  header.spec_sha256 = std::string(64, 'a');
  header.job_id = "study";
  header.sites = {"site_a", "site_b", "site_c"};
  EvaluationResult first;
  {
    auto journal = RoundJournal::Create(dir.File("journal"), header);
    ASSERT_TRUE(journal.ok()) << journal.status().ToString();
    auto train = InProcessAggregator::CreateMulti(f.train.pointers()).value();
    RefusingAggregator refusing(train, 101);
    JournaledAggregator journaled(refusing, *journal, "train");
    EvaluationCohorts cohorts;
    cohorts.training = &journaled;
    auto result = EvaluateModels(models, kFolds, cohorts, options);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    first = std::move(result).value();
    EXPECT_EQ(journal->recorded("train"), 3u);  // the refused round and the two fallback rounds
    auto refused = journal->ReadRound("train", 0);
    ASSERT_TRUE(refused.ok()) << refused.status().ToString();
    EXPECT_TRUE(refused->refused);
    EXPECT_NE(refused->refusal.find("below min_count_per_cell 5"), std::string::npos);
    EXPECT_TRUE(refused->sums.empty());
    EXPECT_FALSE(journal->ReadRound("train", 1)->refused);
  }
  // Resumed: every round is served from the journal, the refusal included.
  auto journal = RoundJournal::Open(dir.File("journal"));
  ASSERT_TRUE(journal.ok()) << journal.status().ToString();
  EXPECT_EQ(journal->total_recorded(), 3u);
  UnreachableAggregator sites;
  JournaledAggregator journaled(sites, *journal, "train");
  EvaluationCohorts cohorts;
  cohorts.training = &journaled;
  auto resumed = EvaluateModels(models, kFolds, cohorts, options);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(journaled.replayed_rounds(), 3);
  EXPECT_EQ(resumed->rounds, first.rounds);
  ASSERT_EQ(resumed->metrics.size(), first.metrics.size());
  for (std::size_t m = 0; m < first.metrics.size(); ++m) {
    EXPECT_EQ(resumed->metrics[m].grid, "fallback");
    ExpectSameMetrics(resumed->metrics[m], first.metrics[m]);
  }
  EXPECT_EQ(resumed->notes, first.notes);
}

TEST(FallbackGrid, AReplayedRefusalNamesItsSiteUntilTheNextRound) {
  testing::TempDir dir("fedrad_refusal_journal");
  JournalHeader header;
  header.study_id = "s";
  header.spec_sha256 = std::string(64, 'b');
  header.job_id = "study";
  header.sites = {"site_a", "site_c"};
  ss::MomentsRequest moments;
  const std::vector<ss::StatRequest> batch{moments};
  {
    auto journal = RoundJournal::Create(dir.File("journal"), header);
    ASSERT_TRUE(journal.ok()) << journal.status().ToString();
    JournalRound refused;
    refused.stream = "train";
    refused.index = 0;
    refused.request_digest = RequestDigest(batch).value();
    refused.bytes_to = 11;
    refused.refused = true;
    refused.refused_site = "site_c";
    refused.refusal = "site site_c answered policy_refused: disclosure policy: grid cell 1";
    ASSERT_TRUE(journal->Append(refused).ok());
  }
  auto journal = RoundJournal::Open(dir.File("journal"));
  ASSERT_TRUE(journal.ok()) << journal.status().ToString();
  EXPECT_EQ(journal->total_recorded(), 1u);
  UnreachableAggregator sites;
  JournaledAggregator journaled(sites, *journal, "train");
  auto replayed = journaled.SumBatch(batch);
  ASSERT_FALSE(replayed.ok());
  EXPECT_EQ(replayed.status().code(), common::StatusCode::kPermissionDenied);
  EXPECT_EQ(replayed.status().message(),
            "site site_c answered policy_refused: disclosure policy: grid cell 1");
  EXPECT_EQ(journaled.replayed_refusal_site(), "site_c");
  EXPECT_EQ(journaled.rounds(), 1);
  EXPECT_EQ(journaled.bytes_to_each_site(), 11);
  // The next round is not in the journal: asked live (here: unreachable).
  auto live = journaled.SumBatch(batch);
  ASSERT_FALSE(live.ok());
  EXPECT_EQ(live.status().code(), common::StatusCode::kUnavailable);
  EXPECT_EQ(journaled.replayed_refusal_site(), "");
}

}  // namespace
}  // namespace fedrad::coordinator

// The coordinator's round journal (coordinator/round_journal.hpp): records
// survive a reopen bit for bit, a torn last record is cut, corruption
// anywhere else is an error naming the offset, and a study that fails after
// k rounds and is resumed from the journal gives exactly the uninterrupted
// study's result while asking the sites only the rounds it had not done.
#include "fedrad/coordinator/round_journal.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/pipeline.hpp"
#include "study_test_data.hpp"
#include "temp_dir.hpp"

namespace fedrad::coordinator {
namespace {

using site_agent::stats::LocalTable;
using site_agent::stats::StatRequest;

JournalHeader Header() {
  JournalHeader h;
  h.study_id = "crlm";
  h.spec_sha256 = std::string(64, 'a');
  h.job_id = "study-1";
  h.sites = {"hospital_a", "hospital_b", "hospital_c"};
  h.fedrad_version = "test";
  h.created_utc = "2026-11-27T10:00:00Z";
  return h;
}

JournalRound Round(const std::string& stream, std::uint64_t index, double seed) {
  JournalRound r;
  r.stream = stream;
  r.index = index;
  r.request_digest = std::string(63, '0') + static_cast<char>('0' + index % 10);
  r.bytes_to = 100 + static_cast<std::int64_t>(index);
  r.bytes_from = 200 + static_cast<std::int64_t>(index);
  r.sums = {{seed, -seed / 3.0, std::numeric_limits<double>::denorm_min()}, {}, {1e300 * seed}};
  return r;
}

std::int64_t FileSize(const std::string& path) {
  return static_cast<std::int64_t>(std::filesystem::file_size(path));
}

TEST(RoundJournalTest, RoundsSurviveReopenBitForBit) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/study.journal";
  {
    auto journal = RoundJournal::Create(path, Header());
    ASSERT_TRUE(journal.ok()) << journal.status().ToString();
    ASSERT_TRUE(journal->Append(Round("train", 0, 0.1)).ok());
    ASSERT_TRUE(journal->Append(Round("external", 0, 0.7)).ok());
    ASSERT_TRUE(journal->Append(Round("train", 1, 0.2)).ok());
    // Out-of-order index: a broken invariant of the caller, refused.
    EXPECT_FALSE(journal->Append(Round("train", 5, 0.2)).ok());
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto reopened = RoundJournal::Open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ(reopened->truncated_bytes(), 0);
  EXPECT_EQ(reopened->header().job_id, "study-1");
  EXPECT_EQ(reopened->header().sites, Header().sites);
  EXPECT_EQ(reopened->header().spec_sha256, Header().spec_sha256);
  EXPECT_EQ(reopened->recorded("train"), 2u);
  EXPECT_EQ(reopened->recorded("external"), 1u);
  EXPECT_EQ(reopened->recorded("other"), 0u);
  EXPECT_EQ(reopened->total_recorded(), 3u);
  auto r1 = reopened->ReadRound("train", 1);
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  const JournalRound expected = Round("train", 1, 0.2);
  EXPECT_EQ(r1->request_digest, expected.request_digest);
  EXPECT_EQ(r1->bytes_to, 101);
  EXPECT_EQ(r1->bytes_from, 201);
  EXPECT_EQ(r1->sums, expected.sums);  // exact doubles, including the denormal
  EXPECT_FALSE(reopened->ReadRound("train", 2).ok());

  // Creating over an existing journal is refused (the caller resumes or moves it).
  auto again = RoundJournal::Create(path, Header());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), common::StatusCode::kAlreadyExists);
}

TEST(RoundJournalTest, TornLastRecordIsCutAndAppendingContinues) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/study.journal";
  std::int64_t two_rounds = 0;
  {
    auto journal = RoundJournal::Create(path, Header());
    ASSERT_TRUE(journal.ok());
    ASSERT_TRUE(journal->Append(Round("train", 0, 1.0)).ok());
    ASSERT_TRUE(journal->Append(Round("train", 1, 2.0)).ok());
    two_rounds = FileSize(path);
    ASSERT_TRUE(journal->Append(Round("train", 2, 3.0)).ok());
  }
  const std::int64_t full = FileSize(path);
  // Every cut inside the third record (a crash during its write) leaves two rounds.
  for (const std::int64_t keep : {two_rounds + 3, two_rounds + 20, full - 1}) {
    std::filesystem::resize_file(path, static_cast<std::uintmax_t>(full));
    {
      auto journal = RoundJournal::Open(path);  // restore the third round first
      ASSERT_TRUE(journal.ok());
    }
    std::filesystem::resize_file(path, static_cast<std::uintmax_t>(keep));
    auto journal = RoundJournal::Open(path);
    ASSERT_TRUE(journal.ok()) << "cut at " << keep << ": " << journal.status().ToString();
    EXPECT_EQ(journal->recorded("train"), 2u);
    EXPECT_EQ(journal->truncated_bytes(), keep - two_rounds);
    EXPECT_EQ(FileSize(path), two_rounds);  // cut on disk
    ASSERT_TRUE(journal->Append(Round("train", 2, 3.0)).ok());
    EXPECT_EQ(FileSize(path), full);
  }
  // A full-length last record whose bytes never reached the disk (zeros
  // after a crash) fails its checksum: cut as well.
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(full - 10);
    f.write("\0\0\0\0\0\0\0\0\0\0", 10);
  }
  auto journal = RoundJournal::Open(path);
  ASSERT_TRUE(journal.ok()) << journal.status().ToString();
  EXPECT_EQ(journal->recorded("train"), 2u);
  EXPECT_EQ(journal->truncated_bytes(), full - two_rounds);
}

TEST(RoundJournalTest, CorruptionBeforeTheLastRecordIsAnErrorNamingTheOffset) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/study.journal";
  std::int64_t one_round = 0;
  {
    auto journal = RoundJournal::Create(path, Header());
    ASSERT_TRUE(journal.ok());
    ASSERT_TRUE(journal->Append(Round("train", 0, 1.0)).ok());
    one_round = FileSize(path);
    ASSERT_TRUE(journal->Append(Round("train", 1, 2.0)).ok());
  }
  const auto flip = [&](std::int64_t at) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(at);
    char c = 0;
    f.read(&c, 1);
    f.seekp(at);
    c = static_cast<char>(c ^ 0x40);
    f.write(&c, 1);
  };
  flip(one_round - 40);  // inside round 0's sums
  auto journal = RoundJournal::Open(path);
  ASSERT_FALSE(journal.ok());
  EXPECT_NE(journal.status().message().find("checksum mismatch"), std::string::npos)
      << journal.status().ToString();
  EXPECT_NE(journal.status().message().find("byte "), std::string::npos);
  flip(one_round - 40);
  ASSERT_TRUE(RoundJournal::Open(path).ok());
  flip(0);  // the magic of the header
  auto not_journal = RoundJournal::Open(path);
  ASSERT_FALSE(not_journal.ok());
  EXPECT_NE(not_journal.status().message().find("not a fedrad round journal"), std::string::npos);
}

// Fails every round after the first `budget` (a coordinator killed mid-study).
class CrashingAggregator final : public Aggregator {
 public:
  CrashingAggregator(Aggregator& base, std::int64_t budget) : base_(base), budget_(budget) {}
  int num_features() const override { return base_.num_features(); }
  common::Result<std::vector<double>> Sum(const StatRequest& request) override {
    if (base_.rounds() >= budget_) return common::Unavailable("coordinator killed");
    return base_.Sum(request);
  }
  common::Result<std::vector<std::vector<double>>> SumBatch(
      const std::vector<StatRequest>& requests) override {
    if (base_.rounds() >= budget_) return common::Unavailable("coordinator killed");
    return base_.SumBatch(requests);
  }
  std::int64_t rounds() const override { return base_.rounds(); }
  std::int64_t bytes_to_each_site() const override { return base_.bytes_to_each_site(); }
  std::int64_t bytes_from_each_site() const override { return base_.bytes_from_each_site(); }

 private:
  Aggregator& base_;
  std::int64_t budget_;
};

void ExpectIdentical(const StudyRun& a, const StudyRun& b) {
  ASSERT_EQ(a.models.size(), b.models.size());
  for (std::size_t m = 0; m < a.models.size(); ++m) {
    SCOPED_TRACE(a.models[m].name);
    const FittedModel& x = a.models[m].final_model;
    const FittedModel& y = b.models[m].final_model;
    EXPECT_EQ(x.selected, y.selected);
    EXPECT_EQ(x.lasso.index_chosen, y.lasso.index_chosen);
    EXPECT_EQ(x.svm_cv.c_chosen, y.svm_cv.c_chosen);
    EXPECT_EQ(x.svm.w, y.svm.w);  // bit for bit
    EXPECT_EQ(x.svm.intercept, y.svm.intercept);
    EXPECT_EQ(x.platt.a, y.platt.a);
    EXPECT_EQ(x.platt.b, y.platt.b);
    EXPECT_EQ(a.models[m].cv.neg_histogram, b.models[m].cv.neg_histogram);
    EXPECT_EQ(a.models[m].cv.pos_histogram, b.models[m].cv.pos_histogram);
    EXPECT_EQ(a.models[m].cv.auc, b.models[m].cv.auc);
    ASSERT_EQ(a.models[m].fold_models.size(), b.models[m].fold_models.size());
    for (std::size_t f = 0; f < a.models[m].fold_models.size(); ++f) {
      EXPECT_EQ(a.models[m].fold_models[f].svm.w, b.models[m].fold_models[f].svm.w);
    }
  }
}

TEST(RoundJournalTest, ResumedStudyEqualsUninterruptedAndAsksOnlyMissingRounds) {
  constexpr int kFolds = 3;
  LocalTable all = testing::MakeLogisticData(120, 8, 77);
  testing::AssignNestedFolds(all, kFolds, 5);
  const std::map<std::string, std::vector<int>> models = {{"clinical", {0, 1, 2}},
                                                          {"combined", {0, 1, 2, 3, 4, 5, 6, 7}}};
  StudyPlan plan;
  plan.options = testing::SmallModelOptions(kFolds);
  plan.outer_folds = kFolds;
  plan.nested = true;
  plan.models = {{"clinical", "clinical", 3}, {"combined", "combined", 8}};
  const testing::StudySites sites = testing::SplitStudy(all, models, testing::Cuts(120, 3));

  // The uninterrupted run (journaled, to check that journaling changes nothing).
  testing::TempDir dir;
  auto plain_agg = InProcessAggregator::CreateMulti(sites.pointers());
  ASSERT_TRUE(plain_agg.ok());
  auto plain = RunStudy(*plain_agg, plan);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  const std::int64_t total = plain_agg->rounds();
  ASSERT_GT(total, 20);

  // A run that dies after `budget` rounds, then its resumption.
  const std::int64_t budget = total / 2;
  const std::string path = dir.path() + "/study.journal";
  {
    auto journal = RoundJournal::Create(path, Header());
    ASSERT_TRUE(journal.ok());
    auto agg = InProcessAggregator::CreateMulti(sites.pointers());
    ASSERT_TRUE(agg.ok());
    CrashingAggregator crashing(*agg, budget);
    JournaledAggregator journaled(crashing, *journal, "train");
    auto crashed = RunStudy(journaled, plan);
    ASSERT_FALSE(crashed.ok());
    EXPECT_EQ(journal->recorded("train"), static_cast<std::uint64_t>(budget));
  }
  auto journal = RoundJournal::Open(path);
  ASSERT_TRUE(journal.ok()) << journal.status().ToString();
  auto fresh = InProcessAggregator::CreateMulti(sites.pointers());
  ASSERT_TRUE(fresh.ok());
  JournaledAggregator resumed_agg(*fresh, *journal, "train");
  auto resumed = RunStudy(resumed_agg, plan);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  ExpectIdentical(*resumed, *plain);
  EXPECT_EQ(resumed_agg.replayed_rounds(), budget);
  EXPECT_EQ(fresh->rounds(), total - budget);  // the sites were asked only the rest
  EXPECT_EQ(resumed_agg.rounds(), total);
  EXPECT_EQ(resumed_agg.bytes_to_each_site(), plain_agg->bytes_to_each_site());
  EXPECT_EQ(resumed_agg.bytes_from_each_site(), plain_agg->bytes_from_each_site());
  EXPECT_EQ(journal->recorded("train"), static_cast<std::uint64_t>(total));

  // Resuming a complete journal asks the sites nothing.
  auto idle = InProcessAggregator::CreateMulti(sites.pointers());
  ASSERT_TRUE(idle.ok());
  JournaledAggregator replay_only(*idle, *journal, "train");
  auto replayed = RunStudy(replay_only, plan);
  ASSERT_TRUE(replayed.ok());
  ExpectIdentical(*replayed, *plain);
  EXPECT_EQ(idle->rounds(), 0);

  // A different study (another C grid) does not match the journal: refused
  // at the first differing round, naming the journal.
  StudyPlan other = plan;
  other.options.svm_cv.c_grid = {0.5, 5.0};
  auto other_agg = InProcessAggregator::CreateMulti(sites.pointers());
  ASSERT_TRUE(other_agg.ok());
  JournaledAggregator mismatched(*other_agg, *journal, "train");
  auto diverged = RunStudy(mismatched, other);
  ASSERT_FALSE(diverged.ok());
  EXPECT_NE(diverged.status().ToString().find("asks something else than the journal recorded"),
            std::string::npos)
      << diverged.status().ToString();
}

}  // namespace
}  // namespace fedrad::coordinator

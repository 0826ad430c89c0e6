// The site's disclosure gate and study approval (site_agent/policy.hpp).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "fedrad/common/files.hpp"
#include "fedrad/common/hash.hpp"
#include "fedrad/common/sodium_init.hpp"
#include "fedrad/site_agent/policy.hpp"
#include "temp_dir.hpp"

namespace fedrad::site_agent {
namespace {

using stats::Datasets;
using stats::LocalTable;
using stats::RowSubset;
using stats::StatRequest;

// n rows, 2 features; fold f = i % folds; label y = (i / folds) % 2, so every
// fold of a 40-row, 4-fold table has 10 rows, 5 of each class.
LocalTable MakeTable(int n, int folds) {
  LocalTable t;
  t.x.resize(n, 2);
  t.y.resize(n);
  for (int i = 0; i < n; ++i) {
    t.x(i, 0) = 0.1 * i;
    t.x(i, 1) = (i % 7) - 3.0;
    t.y(i) = (i / folds) % 2;
    t.fold.push_back(i % folds);
  }
  return t;
}

RowSubset Fold(RowSubset::Kind kind, int fold) {
  RowSubset s;
  s.kind = kind;
  s.fold = fold;
  return s;
}

stats::MomentsRequest Moments(RowSubset rows, const std::string& dataset = "") {
  stats::MomentsRequest m;
  m.rows = rows;
  m.dataset = dataset;
  return m;
}

stats::LinearScorer ConstantScorer() {
  stats::LinearScorer s;
  s.columns = {0};
  s.w = Eigen::VectorXd::Zero(1);
  return s;
}

// Every kind of request on all rows / fold 0.
std::vector<StatRequest> OneOfEach() {
  std::vector<StatRequest> batch;
  batch.push_back(Moments(RowSubset{}));
  stats::LogisticRequest l;
  l.rows = Fold(RowSubset::Kind::kTrainOfFold, 0);
  l.center = Eigen::VectorXd::Zero(2);
  l.scale = Eigen::VectorXd::Ones(2);
  l.beta = Eigen::VectorXd::Zero(2);
  l.hessian_columns = {0, 1};
  batch.push_back(l);
  stats::SvmRequest s;
  s.rows = Fold(RowSubset::Kind::kTrainOfFold, 1);
  s.columns = {0, 1};
  s.w = Eigen::VectorXd::Zero(2);
  batch.push_back(s);
  stats::DevianceRequest d;
  d.rows = Fold(RowSubset::Kind::kTestOfFold, 0);
  d.center = Eigen::VectorXd::Zero(2);
  d.scale = Eigen::VectorXd::Ones(2);
  d.intercepts = Eigen::VectorXd::Zero(1);
  d.betas = Eigen::MatrixXd::Zero(2, 1);
  batch.push_back(d);
  stats::ScoreHistogramRequest h;
  h.rows = {Fold(RowSubset::Kind::kTestOfFold, 0), Fold(RowSubset::Kind::kTestOfFold, 1)};
  h.scorers = {ConstantScorer(), ConstantScorer()};
  h.bins = 2;
  batch.push_back(h);
  stats::PlattRequest p;
  p.rows = {Fold(RowSubset::Kind::kTestOfFold, 2)};
  p.scorers = {ConstantScorer()};
  batch.push_back(p);
  return batch;
}

std::string Refusal(const common::Status& s) {
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), common::StatusCode::kPermissionDenied) << s.ToString();
  return s.message();
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(SitePolicyGate, AcceptsEveryKindOnLargeEnoughGroups) {
  Policy policy;
  const Datasets data{{"", MakeTable(40, 4)}};
  const auto batch = OneOfEach();
  ASSERT_TRUE(CheckBatch(policy, data, batch, 0).ok())
      << CheckBatch(policy, data, batch, 0).ToString();
  std::vector<std::vector<double>> results;
  for (const auto& r : batch) {
    auto v = stats::Compute(data, r);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    results.push_back(*v);
  }
  // The constant scorer puts every row in bin 1 (u = 1/2): 5 of each class.
  EXPECT_EQ(results[4], (std::vector<double>{0, 5, 0, 5, 0, 5, 0, 5}));
  EXPECT_TRUE(CheckResults(policy, batch, results).ok());
}

TEST(SitePolicyGate, RefusesASmallCohort) {
  Policy policy;  // min_cohort_size 10
  const Datasets data{{"clinical", MakeTable(9, 3)}};
  const std::string m = Refusal(CheckBatch(policy, data, {Moments(RowSubset{}, "clinical")}, 0));
  EXPECT_TRUE(Contains(m, "request 0 (moments, dataset \"clinical\")")) << m;
  EXPECT_TRUE(Contains(m, "9 rows, below min_cohort_size 10")) << m;
  policy.min_cohort_size = 9;
  policy.min_count_per_cell = 3;
  EXPECT_TRUE(CheckBatch(policy, data, {Moments(RowSubset{}, "clinical")}, 0).ok());
}

TEST(SitePolicyGate, RefusesAFoldWithTooFewRowsAndItsComplement) {
  Policy policy;  // min_count_per_cell 5
  LocalTable t = MakeTable(40, 4);
  // Fold 3 keeps 4 rows (2 of each class); the others go to folds 0..2.
  int kept = 0;
  for (int i = 0; i < 40; ++i) {
    if (t.fold[i] == 3 && ++kept > 4) t.fold[i] = i % 3;
  }
  const Datasets data{{"", t}};
  const std::string test =
      Refusal(CheckBatch(policy, data, {Moments(Fold(RowSubset::Kind::kTestOfFold, 3))}, 0));
  EXPECT_TRUE(Contains(test, "test rows of fold 3: 4 rows, below min_count_per_cell 5")) << test;
  // Sum(all) - Sum(train of fold 3) would give fold 3 itself.
  const std::string train = Refusal(CheckBatch(
      policy, data, {Moments(RowSubset{}), Moments(Fold(RowSubset::Kind::kTrainOfFold, 3))}, 0));
  EXPECT_TRUE(Contains(train, "request 1")) << train;
  EXPECT_TRUE(Contains(train, "complement of training rows of fold 3")) << train;
  EXPECT_TRUE(CheckBatch(policy, data, {Moments(Fold(RowSubset::Kind::kTestOfFold, 0))}, 0).ok());
  policy.min_count_per_cell = 2;
  EXPECT_TRUE(CheckBatch(policy, data, {Moments(Fold(RowSubset::Kind::kTestOfFold, 3))}, 0).ok());
}

TEST(SitePolicyGate, RefusesAClassCountBelowTheMinimumButNotAnEmptyClass) {
  Policy policy;
  LocalTable t = MakeTable(40, 4);
  // Fold 0 (rows 0, 4, ..., 36): 5 positives -> 2 positives.
  int flipped = 0;
  for (int i = 0; i < 40; i += 4) {
    if (t.y(i) == 1 && flipped < 3) {
      t.y(i) = 0;
      ++flipped;
    }
  }
  Datasets data{{"", t}};
  const std::string m =
      Refusal(CheckBatch(policy, data, {Moments(Fold(RowSubset::Kind::kTestOfFold, 0))}, 0));
  EXPECT_TRUE(Contains(m, "2 rows of class 1, below min_count_per_cell 5")) << m;
  // No positive at all in fold 0: nothing about a class-1 patient leaves.
  for (int i = 0; i < 40; i += 4) t.y(i) = 0;
  data[""] = t;
  EXPECT_TRUE(CheckBatch(policy, data, {Moments(Fold(RowSubset::Kind::kTestOfFold, 0))}, 0).ok());
}

TEST(SitePolicyGate, ChecksTheOuterFoldOfANestedSubset) {
  Policy policy;
  LocalTable t = MakeTable(40, 4);
  // Outer fold 0 = rows with fold id 0, but pretend it only has 3 rows by
  // building inner ids where 3 rows are marked -1.
  std::vector<int> inner(40);
  for (int i = 0; i < 40; ++i) inner[i] = i < 3 ? -1 : i % 3;
  t.inner_fold = {inner};
  const Datasets data{{"", t}};
  RowSubset s = Fold(RowSubset::Kind::kTrainOfFold, 0);
  s.outer_fold = 0;
  const std::string m = Refusal(CheckBatch(policy, data, {Moments(s)}, 0));
  EXPECT_TRUE(Contains(m, "rows of outer fold 0")) << m;
  EXPECT_TRUE(Contains(m, "3 rows")) << m;
}

TEST(SitePolicyGate, RefusesAHistogramCellBelowTheMinimum) {
  Policy policy;
  const Datasets data{{"", MakeTable(40, 4)}};
  stats::ScoreHistogramRequest h;
  h.rows = {Fold(RowSubset::Kind::kTestOfFold, 0)};
  stats::LinearScorer scorer;
  scorer.columns = {0};
  scorer.w = Eigen::VectorXd::Constant(1, 3.0);
  scorer.intercept = -5.0;
  h.scorers = {scorer};
  h.bins = 512;  // 10 rows spread over 512 bins: cells of 1
  const std::vector<StatRequest> batch{h};
  ASSERT_TRUE(CheckBatch(policy, data, batch, 0).ok());
  auto v = stats::Compute(data, batch[0]);
  ASSERT_TRUE(v.ok());
  const std::string m = Refusal(CheckResults(policy, batch, {*v}));
  EXPECT_TRUE(Contains(m, "histogram cell")) << m;
  EXPECT_TRUE(Contains(m, "holds 1 rows, below min_count_per_cell 5")) << m;
  // A hand-made result: part 1, class 1, bin 0 holds 3 rows.
  h.rows.push_back(Fold(RowSubset::Kind::kTestOfFold, 1));
  h.scorers.push_back(scorer);
  h.bins = 2;
  std::vector<double> cells{5, 0, 0, 7, 0, 10, 3, 6};
  const std::string m2 = Refusal(CheckResults(policy, {h}, {cells}));
  EXPECT_TRUE(Contains(m2, "part 1 (test rows of fold 1): histogram cell 0 of class 1 holds 3"))
      << m2;
  cells[6] = 0;
  EXPECT_TRUE(CheckResults(policy, {h}, {cells}).ok());
}

TEST(SitePolicyGate, RefusesAnSvmHessianOverFewActiveRows) {
  Policy policy;
  stats::SvmRequest s;
  s.columns = {0};
  const std::vector<StatRequest> batch{s};
  // [L, |I|, G (2), H (2x2)]: one active row would be that row's outer product.
  const std::string m = Refusal(CheckResults(policy, batch, {{1.0, 1.0, 0.1, 0.2, 2, 0, 0, 2}}));
  EXPECT_TRUE(Contains(m, "sum over 1 active rows")) << m;
  EXPECT_TRUE(CheckResults(policy, batch, {{0.0, 0.0, 0, 0, 0, 0, 0, 0}}).ok());
  EXPECT_TRUE(CheckResults(policy, batch, {{9.0, 5.0, 0, 0, 0, 0, 0, 0}}).ok());
}

TEST(SitePolicyGate, RefusesADisallowedKind) {
  Policy policy;
  policy.allowed = {StatKind::kMoments, StatKind::kLogistic, StatKind::kSvm, StatKind::kDeviance,
                    StatKind::kScoreHistogram};
  const Datasets data{{"", MakeTable(40, 4)}};
  const std::string m = Refusal(CheckBatch(policy, data, OneOfEach(), 0));
  EXPECT_TRUE(Contains(m, "request 5 (platt")) << m;
  EXPECT_TRUE(Contains(m, "\"platt\" is not in allowed_statistics")) << m;
}

TEST(SitePolicyGate, RefusesRoundsBeyondMaxRounds) {
  Policy policy;
  policy.max_rounds = 3;
  const Datasets data{{"", MakeTable(40, 4)}};
  EXPECT_TRUE(CheckBatch(policy, data, {Moments(RowSubset{})}, 2).ok());
  const std::string m = Refusal(CheckBatch(policy, data, {Moments(RowSubset{})}, 3));
  EXPECT_TRUE(Contains(m, "round 4 of this study exceeds max_rounds 3")) << m;
}

TEST(SitePolicyGate, UnknownDatasetIsNotFound) {
  const Datasets data{{"", MakeTable(40, 4)}};
  const auto s = CheckBatch(Policy{}, data, {Moments(RowSubset{}, "radiomics")}, 0);
  EXPECT_EQ(s.code(), common::StatusCode::kNotFound);
}

TEST(SitePolicyFile, ParsesAndRejectsWithPointers) {
  testing::TempDir dir;
  const std::string good = dir.WriteText("p.json", R"({"min_cohort_size": 20,
    "min_count_per_cell": 3, "allowed_statistics": ["moments", "logistic"], "max_rounds": 50,
    "approved_studies": [{"study_id": "s", "spec_sha256": ")" +
                                                       std::string(64, 'a') +
                                                       R"(", "approved_at": "t",
    "approved_by": "me"}]})");
  auto p = LoadPolicy(good);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->min_cohort_size, 20);
  EXPECT_EQ(p->min_count_per_cell, 3);
  EXPECT_EQ(p->max_rounds, 50);
  EXPECT_TRUE(p->Allows(StatKind::kLogistic));
  EXPECT_FALSE(p->Allows(StatKind::kSvm));
  ASSERT_EQ(p->approved.size(), 1u);
  EXPECT_EQ(p->approved[0].approved_by, "me");
  EXPECT_TRUE(p->require_approval);

  const std::string bad = dir.WriteText("bad.json", R"({"min_count_per_cell": 0,
    "allowed_statistics": ["moments", "histogram"], "extra": 1,
    "approved_studies": [{"study_id": "s", "spec_sha256": "ABC", "note": "x"}]})");
  auto e = LoadPolicy(bad);
  ASSERT_FALSE(e.ok());
  const std::string m = e.status().message();
  for (const char* part : {"/min_count_per_cell", "/allowed_statistics/1", "/extra",
                           "/approved_studies/0/spec_sha256", "/approved_studies/0/note"}) {
    EXPECT_TRUE(Contains(m, std::string("bad.json: ") + part)) << part << "\n" << m;
  }
}

TEST(SitePolicyFile, ShippedExampleIsTheDefaultPolicy) {
  auto p = LoadPolicy(std::string(FEDRAD_TEST_DATA_DIR) + "/../../configs/policy.example.json");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const Policy defaults;
  EXPECT_EQ(p->min_cohort_size, defaults.min_cohort_size);
  EXPECT_EQ(p->min_count_per_cell, defaults.min_count_per_cell);
  EXPECT_EQ(p->allowed, defaults.allowed);
  EXPECT_EQ(p->max_rounds, defaults.max_rounds);
  EXPECT_EQ(p->histogram_cells_always, defaults.histogram_cells_always);
  EXPECT_TRUE(p->require_approval);
  EXPECT_TRUE(p->approved.empty());
}

TEST(SitePolicyFile, SitePolicyPathIsBesideTheSiteConfig) {
  EXPECT_EQ(SitePolicyPath("/etc/fedrad/site.json"), "/etc/fedrad/policy.json");
  EXPECT_EQ(SitePolicyPath("site.json"), "policy.json");
}

TEST(SitePolicyFile, AMissingFileIsTheDefaultPolicyWithApprovalOn) {
  testing::TempDir dir;
  const std::string path = dir.File("policy.json");
  auto p = LoadSitePolicy(path);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_FALSE(p->from_file);
  EXPECT_EQ(p->source_path, path);
  const Policy defaults;
  EXPECT_EQ(p->min_cohort_size, 10);
  EXPECT_EQ(p->min_count_per_cell, 5);
  EXPECT_EQ(p->max_rounds, 100000);
  EXPECT_EQ(p->allowed, AllStatKinds());
  EXPECT_FALSE(p->histogram_cells_always);
  EXPECT_TRUE(p->require_approval);
  EXPECT_TRUE(p->approved.empty());
  // Approval is on: an unapproved study is refused with the exact commands.
  const std::string m =
      Refusal(CheckStudyApproved(*p, "crlm", std::string(64, 'a'), "/srv/crlm/study.json"));
  EXPECT_TRUE(Contains(m, "study \"crlm\"")) << m;
  EXPECT_TRUE(Contains(m, "the default policy (no policy file at " + path + ")")) << m;
  EXPECT_TRUE(Contains(m, "`fedrad site review /srv/crlm/study.json --policy " + path + "`")) << m;
  EXPECT_TRUE(
      Contains(m, "`fedrad site approve /srv/crlm/study.json --policy " + path + " --by NAME`"))
      << m;

  // A file replaces the defaults; a malformed one is an error with its pointer.
  dir.WriteText("policy.json", R"({"max_rounds": 7, "histogram_cells": "always"})");
  auto some = LoadSitePolicy(path);
  ASSERT_TRUE(some.ok()) << some.status().ToString();
  EXPECT_TRUE(some->from_file);
  EXPECT_EQ(some->max_rounds, 7);
  EXPECT_TRUE(some->histogram_cells_always);
  dir.WriteText("policy.json", R"({"max_rounds": 7, "histogram_cells": "sometimes"})");
  auto bad = LoadSitePolicy(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), path + ": /histogram_cells"))
      << bad.status().ToString();
  dir.WriteText("policy.json", "{\"max_rounds\": ");
  auto truncated = LoadSitePolicy(path);
  ASSERT_FALSE(truncated.ok());
  EXPECT_TRUE(Contains(truncated.status().message(), path)) << truncated.status().ToString();
}

TEST(SitePolicyGate, NamesTheRuleOfEveryRefusal) {
  const Datasets data{{"", MakeTable(40, 4)}};
  std::string rule;
  Policy policy;
  policy.max_rounds = 1;
  EXPECT_FALSE(CheckBatch(policy, data, {Moments(RowSubset{})}, 1, &rule).ok());
  EXPECT_EQ(rule, "max_rounds");
  policy = Policy{};
  policy.allowed = {StatKind::kLogistic};
  const std::string m = Refusal(CheckBatch(policy, data, {Moments(RowSubset{})}, 0, &rule));
  EXPECT_EQ(rule, "allowed_statistics");
  EXPECT_TRUE(Contains(m, "(rule allowed_statistics of the default policy")) << m;
  policy = Policy{};
  policy.min_cohort_size = 41;
  EXPECT_FALSE(CheckBatch(policy, data, {Moments(RowSubset{})}, 0, &rule).ok());
  EXPECT_EQ(rule, "min_cohort_size");
  policy = Policy{};
  policy.min_count_per_cell = 11;  // folds of 10 rows
  EXPECT_FALSE(
      CheckBatch(policy, data, {Moments(Fold(RowSubset::Kind::kTestOfFold, 0))}, 0, &rule).ok());
  EXPECT_EQ(rule, "min_count_per_cell");
  rule.clear();
  EXPECT_TRUE(CheckBatch(Policy{}, data, {Moments(RowSubset{})}, 0, &rule).ok());
  EXPECT_EQ(rule, "");
}

TEST(SitePolicyGate, HistogramCellsOfAMaskedRoundAreCheckedOnlyIfThePolicySaysAlways) {
  stats::ScoreHistogramRequest h;
  h.rows = {Fold(RowSubset::Kind::kTestOfFold, 0)};
  h.scorers = {ConstantScorer()};
  h.bins = 2;
  const std::vector<StatRequest> batch{h};
  const std::vector<std::vector<double>> cells{{4, 1, 2, 3}};  // every cell below 5
  Policy policy;
  std::string rule;
  // In the clear: refused. Masked (secure round): only sums over sites leave.
  EXPECT_FALSE(CheckResults(policy, batch, cells, /*masked=*/false, &rule).ok());
  EXPECT_EQ(rule, "min_count_per_cell");
  EXPECT_TRUE(CheckResults(policy, batch, cells, /*masked=*/true).ok());
  policy.histogram_cells_always = true;
  const std::string m = Refusal(CheckResults(policy, batch, cells, /*masked=*/true));
  EXPECT_TRUE(Contains(m, "histogram cell 0 of class 0 holds 4 rows")) << m;
  // The SVM active-set rule applies to masked rounds too.
  stats::SvmRequest s;
  s.columns = {0};
  EXPECT_FALSE(CheckResults(Policy{}, {s}, {{1.0, 2.0, 0, 0, 0, 0, 0, 0}}, true).ok());
}

// A study spec with a feature dictionary (two models).
std::string WriteSpec(const testing::TempDir& dir, const std::string& extra = "") {
  dir.WriteText("features.txt", "clin_age\nclin_sex\nlesion_mean\nlesion_var\nlesion_skew\n");
  return dir.WriteText("study.json",
                       R"({"study_id": "crlm", "feature_dictionary": "features.txt",
  "models": [{"name": "clinical", "columns": ["clin_*"]},
             {"name": "radiomics", "columns": ["lesion_*"]}],
  "cv": {"folds": 4}, "platt": false})" +
                           extra + "\n");
}

TEST(SiteStudyApproval, ApproveRoundTripAndModifiedSpec) {
  ASSERT_TRUE(common::InitSodium().ok());
  testing::TempDir dir;
  const std::string spec = WriteSpec(dir);
  const std::string policy_path = dir.WriteText("policy.json", R"({"min_cohort_size": 20})");
  auto sha = common::Sha256File(spec);
  ASSERT_TRUE(sha.ok());

  auto before = LoadPolicy(policy_path);
  ASSERT_TRUE(before.ok());
  const std::string unapproved = Refusal(CheckStudyApproved(*before, "crlm", *sha));
  EXPECT_TRUE(Contains(unapproved, "is not approved")) << unapproved;

  ASSERT_TRUE(ApproveStudy(policy_path, spec, "dr.a", "2026-11-27T06:00:00Z").ok());
  ASSERT_TRUE(ApproveStudy(policy_path, spec, "dr.b").ok());  // already approved: no-op
  auto after = LoadPolicy(policy_path);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->min_cohort_size, 20);  // the rest of the file is kept
  ASSERT_EQ(after->approved.size(), 1u);
  EXPECT_EQ(after->approved[0].study_id, "crlm");
  EXPECT_EQ(after->approved[0].spec_sha256, *sha);
  EXPECT_EQ(after->approved[0].approved_at, "2026-11-27T06:00:00Z");
  EXPECT_EQ(after->approved[0].approved_by, "dr.a");
  EXPECT_TRUE(CheckStudyApproved(*after, "crlm", *sha).ok());
  EXPECT_FALSE(CheckStudyApproved(*after, "other", *sha).ok());

  // One byte more in the spec: another hash, not approved.
  WriteSpec(dir, " ");
  auto changed = common::Sha256File(spec);
  ASSERT_TRUE(changed.ok());
  ASSERT_NE(*changed, *sha);
  const std::string m = Refusal(CheckStudyApproved(*after, "crlm", *changed));
  EXPECT_TRUE(Contains(m, "the spec changed since it was approved")) << m;

  // Approval off: anything runs.
  after->require_approval = false;
  EXPECT_TRUE(CheckStudyApproved(*after, "crlm", *changed).ok());
}

TEST(SiteStudyApproval, CreatesAMissingPolicyAndRefusesBadInput) {
  ASSERT_TRUE(common::InitSodium().ok());
  testing::TempDir dir;
  const std::string spec = WriteSpec(dir);
  const std::string policy_path = dir.File("new_policy.json");
  EXPECT_EQ(ApproveStudy(policy_path, spec, "").code(), common::StatusCode::kInvalidArgument);
  const mode_t umask_before = ::umask(077);  // the mode is the file's own, not the umask's
  const common::Status approved = ApproveStudy(policy_path, spec, "dr.a");
  ::umask(umask_before);
  ASSERT_TRUE(approved.ok()) << approved.ToString();
  struct stat info {};
  ASSERT_EQ(::stat(policy_path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0644u);
  auto p = LoadPolicy(policy_path);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->approved.size(), 1u);
  EXPECT_EQ(p->approved[0].approved_at.size(), 20u);  // YYYY-MM-DDTHH:MM:SSZ
  EXPECT_EQ(p->min_count_per_cell, 5);
  EXPECT_TRUE(CheckStudyApproved(*p, "crlm", p->approved[0].spec_sha256).ok());
  // The created file spells out every default, so the operator sees them.
  const auto created = common::ReadFile(policy_path);
  ASSERT_TRUE(created.ok());
  for (const char* key :
       {"\"min_cohort_size\": 10", "\"min_count_per_cell\": 5", "\"max_rounds\": 100000",
        "\"histogram_cells\": \"clear\"", "\"require_approval\": true", "\"allowed_statistics\""}) {
    EXPECT_TRUE(Contains(*created, key)) << key << "\n" << *created;
  }
  // A broken policy file is not rewritten.
  const std::string broken = dir.WriteText("broken.json", R"({"min_rounds": 3})");
  EXPECT_FALSE(ApproveStudy(broken, spec, "dr.a").ok());
  auto text = common::Sha256File(broken);
  EXPECT_EQ(*text, common::Sha256Hex(R"({"min_rounds": 3})"));
}

TEST(SiteStudyApproval, ReviewSaysWhatLeavesTheSite) {
  ASSERT_TRUE(common::InitSodium().ok());
  testing::TempDir dir;
  const std::string spec = WriteSpec(dir);
  const std::string policy_path =
      dir.WriteText("policy.json", R"({"max_rounds": 777, "min_count_per_cell": 6,
        "allowed_statistics": ["moments", "logistic", "deviance", "score_histogram"]})");
  auto policy = LoadPolicy(policy_path);
  ASSERT_TRUE(policy.ok());
  auto text = ReviewStudy(spec, *policy);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  auto sha = common::Sha256File(spec);
  for (const std::string& part :
       {std::string("Study \"crlm\""), "SHA-256: " + *sha, std::string("NOT APPROVED"),
        std::string("Models (2)"), std::string("clinical: 2 features: clin_age clin_sex"),
        std::string("radiomics: 3 features: lesion_mean lesion_var lesion_skew"),
        std::string("4-fold cross-validation"), std::string("at most 777 stats_batch rounds"),
        std::string("min_count_per_cell 6"), std::string("moments:"),
        std::string("score_histogram:"),
        std::string("svm: squared-hinge loss, gradient, Hessian and active-set size  [NOT "
                    "ALLOWED"),
        std::string("fedrad site approve " + spec)}) {
    EXPECT_TRUE(Contains(*text, part)) << part << "\n" << *text;
  }
  EXPECT_FALSE(Contains(*text, "platt:")) << *text;  // "platt": false in the spec
  ASSERT_TRUE(ApproveStudy(policy_path, spec, "dr.a", "2026-11-27T06:00:00Z").ok());
  auto approved = ReviewStudy(spec, *LoadPolicy(policy_path));
  ASSERT_TRUE(approved.ok());
  EXPECT_TRUE(Contains(*approved, "APPROVED on 2026-11-27T06:00:00Z by dr.a")) << *approved;
  EXPECT_FALSE(Contains(*approved, "NOT APPROVED")) << *approved;
}

}  // namespace
}  // namespace fedrad::site_agent

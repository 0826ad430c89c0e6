// The per-kind cell rule of a site's disclosure policy
// (site_agent/policy.hpp, "histogram_cells"): which counted statistics have
// their cells checked when they leave masked, how the key is parsed and
// validated, and that every cell refusal names the request, the kind, the
// cell, its count and the minimum.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fedrad/site_agent/policy.hpp"
#include "temp_dir.hpp"

namespace fedrad::site_agent {
namespace {

using stats::RowSubset;
using stats::StatRequest;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string Refusal(const common::Status& status) {
  EXPECT_EQ(status.code(), common::StatusCode::kPermissionDenied) << status.ToString();
  return status.message();
}

stats::LinearScorer ConstantScorer() {
  stats::LinearScorer s;
  s.columns = {0};
  s.w = Eigen::VectorXd::Zero(1);
  return s;
}

RowSubset TestOfFold(int fold) {
  RowSubset s;
  s.kind = RowSubset::Kind::kTestOfFold;
  s.fold = fold;
  return s;
}

stats::ScoreHistogramRequest ScoreHistogram() {
  stats::ScoreHistogramRequest h;
  h.rows = {TestOfFold(0)};
  h.scorers = {ConstantScorer()};
  h.bins = 2;
  h.dataset = "clin";
  return h;
}

// One model, G = 3 points, CV parts of 2 folds.
stats::GridHistogramRequest GridHistogram() {
  stats::GridHistogramRequest g;
  g.rows = {TestOfFold(0), TestOfFold(1)};
  g.models = {{"clin", {ConstantScorer(), ConstantScorer()}}};
  g.grid_size = 3;
  g.dataset = "clin";
  return g;
}

stats::ThresholdCountsRequest ThresholdCounts() {
  stats::ThresholdCountsRequest t;
  t.rows = {TestOfFold(0), TestOfFold(1)};
  t.models = {{"clin", {ConstantScorer(), ConstantScorer()}}};
  t.thresholds = {0.5};
  t.calibration_bins = 2;
  t.dataset = "clin";
  return t;
}

common::Result<Policy> Parse(const std::string& text) {
  return ParsePolicy(nlohmann::json::parse(text), "/etc/site/policy.json");
}

TEST(PolicyHistogramCells, TheStringFormsKeepTheirMeaning) {
  const Policy defaults;
  for (StatKind kind : AllStatKinds()) EXPECT_FALSE(defaults.ChecksMaskedCells(kind));
  EXPECT_EQ(defaults.HistogramCellsText(), "\"clear\"");
  auto always = Parse(R"({"histogram_cells": "always"})");
  ASSERT_TRUE(always.ok()) << always.status().ToString();
  EXPECT_TRUE(always->histogram_cells_always);
  for (StatKind kind : CellCountedKinds()) EXPECT_TRUE(always->ChecksMaskedCells(kind));
  EXPECT_EQ(always->HistogramCellsText(), "\"always\"");
  auto clear = Parse(R"({"histogram_cells": "clear"})");
  ASSERT_TRUE(clear.ok());
  for (StatKind kind : CellCountedKinds()) EXPECT_FALSE(clear->ChecksMaskedCells(kind));
}

TEST(PolicyHistogramCells, AnObjectSetsTheRulePerKind) {
  auto p = Parse(R"({"histogram_cells": {"grid_histogram": "always",
                                         "score_histogram": "clear"}})");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_FALSE(p->histogram_cells_always);
  EXPECT_TRUE(p->ChecksMaskedCells(StatKind::kGridHistogram));
  EXPECT_FALSE(p->ChecksMaskedCells(StatKind::kScoreHistogram));
  EXPECT_FALSE(p->ChecksMaskedCells(StatKind::kThresholdCounts));  // not named: "clear"
  EXPECT_EQ(p->HistogramCellsText(),
            R"({"grid_histogram":"always","score_histogram":"clear","threshold_counts":"clear"})");
  auto empty = Parse(R"({"histogram_cells": {}})");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->HistogramCellsText(), "\"clear\"");
}

TEST(PolicyHistogramCells, BadValuesNameTheFileAndThePointer) {
  const struct {
    const char* text;
    const char* pointer;
    const char* what;
  } cases[] = {
      {R"({"histogram_cells": "sometimes"})", "/histogram_cells", "got \"sometimes\""},
      {R"({"histogram_cells": 3})", "/histogram_cells", "got 3"},
      {R"({"histogram_cells": {"svm": "always"}})", "/histogram_cells/svm",
       "expected score_histogram, grid_histogram or threshold_counts"},
      {R"({"histogram_cells": {"grid_histogram": "never"}})", "/histogram_cells/grid_histogram",
       "expected \"clear\" or \"always\", got \"never\""},
      {R"({"histogram_cells": {"grid_histogram": true}})", "/histogram_cells/grid_histogram",
       "got true"},
  };
  for (const auto& c : cases) {
    auto p = Parse(c.text);
    ASSERT_FALSE(p.ok()) << c.text;
    const std::string m = p.status().message();
    EXPECT_TRUE(Contains(m, std::string("/etc/site/policy.json: ") + c.pointer)) << m;
    EXPECT_TRUE(Contains(m, c.what)) << m;
  }
}

TEST(PolicyHistogramCells, MaskedCellsAreCheckedOnlyForTheKindsSetToAlways) {
  auto p = Parse(R"({"histogram_cells": {"grid_histogram": "always"}})");
  ASSERT_TRUE(p.ok());
  const Policy& policy = *p;
  // Every cell below the minimum (5).
  const std::vector<std::vector<double>> score_cells{{4, 1, 2, 3}};
  const std::vector<std::vector<double>> grid_cells{{0, 7, 5, 6, 0, 2}};
  const stats::ThresholdCountsLayout layout{1, 2};
  std::vector<double> counts(layout.Size(), 0.0);
  counts[layout.Tp(0)] = 6;
  counts[layout.Fp(0)] = 3;  // below 5
  counts[layout.Tn(0)] = 9;
  counts[layout.Fn(0)] = 0;
  counts[layout.BinCount(0, 0)] = 9;
  counts[layout.BinCount(0, 1)] = 9;

  // Training's masked score histograms pass (the SVM's C selection runs).
  EXPECT_TRUE(CheckResults(policy, {ScoreHistogram()}, score_cells, /*masked=*/true).ok());
  // ... but are checked in the clear.
  std::string rule;
  const std::string clear =
      Refusal(CheckResults(policy, {ScoreHistogram()}, score_cells, /*masked=*/false, &rule));
  EXPECT_EQ(rule, "min_count_per_cell");
  EXPECT_TRUE(Contains(clear, "stats_batch request 0 (score_histogram, dataset \"clin\")"))
      << clear;
  EXPECT_TRUE(Contains(clear, "histogram cell 0 of class 0 holds 4 rows")) << clear;
  EXPECT_TRUE(Contains(clear, "below min_count_per_cell 5")) << clear;

  // The evaluation grid is checked masked: cell 2 of class 1 holds 2 rows.
  rule.clear();
  const std::string grid = Refusal(CheckResults(policy, {ThresholdCounts(), GridHistogram()},
                                                {counts, grid_cells[0]}, true, &rule));
  EXPECT_EQ(rule, "min_count_per_cell");
  EXPECT_TRUE(Contains(grid, "stats_batch request 1 (grid_histogram, dataset \"clin\")")) << grid;
  EXPECT_TRUE(Contains(grid, "grid cell 2 of 3 grid points, model 0, class 1, holds 2 rows"))
      << grid;
  EXPECT_TRUE(Contains(grid, "below min_count_per_cell 5")) << grid;
  EXPECT_TRUE(Contains(grid, "rule min_count_per_cell of /etc/site/policy.json")) << grid;
  EXPECT_TRUE(Contains(grid, "checks these cells in secure rounds too: histogram_cells {")) << grid;
  EXPECT_TRUE(Contains(grid, "fallback grid")) << grid;
  // The same grid with safe cells passes.
  EXPECT_TRUE(CheckResults(policy, {GridHistogram()}, {{0, 7, 5, 6, 0, 9}}, /*masked=*/true).ok());

  // Threshold counts: clear here, so masked passes; with "always" refused,
  // naming the count.
  EXPECT_TRUE(CheckResults(policy, {ThresholdCounts()}, {counts}, true).ok());
  auto all = Parse(R"({"histogram_cells": {"threshold_counts": "always"}})");
  ASSERT_TRUE(all.ok());
  const std::string t = Refusal(CheckResults(*all, {ThresholdCounts()}, {counts}, true));
  EXPECT_TRUE(Contains(t, "stats_batch request 0 (threshold_counts, dataset \"clin\")")) << t;
  EXPECT_TRUE(Contains(t, "model 0, count FP, holds 3 rows, below min_count_per_cell 5")) << t;
  counts[layout.Fp(0)] = 5;
  counts[layout.BinCount(0, 1)] = 1;
  const std::string b = Refusal(CheckResults(*all, {ThresholdCounts()}, {counts}, true));
  EXPECT_TRUE(Contains(b, "count calibration bin 1 of 2, holds 1 rows")) << b;
  // The grid kind is not checked masked by that policy.
  EXPECT_TRUE(CheckResults(*all, {GridHistogram()}, grid_cells, true).ok());
}

TEST(PolicyHistogramCells, ReviewNamesTheEvaluationGridsAndWhetherTheirCellsAreChecked) {
  testing::TempDir dir;
  dir.WriteText("features.txt", "f1\nf2\n");
  const std::string spec = dir.WriteText("study.json",
                                         R"({"study_id": "s1", "feature_dictionary": "features.txt",
          "models": [{"name": "m", "columns": ["f*"]}],
          "evaluation": {"grid_points": 10001, "fallback_grid_points": 101}})");
  auto p = Parse(R"({"histogram_cells": {"grid_histogram": "always"}})");
  ASSERT_TRUE(p.ok());
  auto text = ReviewStudy(spec, *p);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_TRUE(Contains(*text,
                       "public grid of 10001 points, or 101 points for a cohort where a "
                       "site refuses the fine grid (fallback); this policy checks their "
                       "cells masked or in the clear"))
      << *text;
  EXPECT_TRUE(Contains(*text, "and masked too for histogram_cells {\"grid_histogram\":\"always\""))
      << *text;
  EXPECT_FALSE(Contains(*text, "names no fallback grid")) << *text;
  const std::string no_fallback =
      dir.WriteText("study2.json", R"({"study_id": "s2", "feature_dictionary": "features.txt",
                         "models": [{"name": "m", "columns": ["f*"]}]})");
  auto bare = ReviewStudy(no_fallback, *p);
  ASSERT_TRUE(bare.ok()) << bare.status().ToString();
  EXPECT_TRUE(Contains(*bare, "public grid of 100001 points; this policy checks")) << *bare;
  EXPECT_TRUE(Contains(*bare, "the spec names no fallback grid")) << *bare;
  auto defaults = ReviewStudy(spec, Policy{});
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(Contains(*defaults, "this policy checks their cells only in the clear")) << *defaults;
}

// imputation_sums [n, o_1..o_p, S_1..S_p]: in the clear, a column's observed
// and missing cell counts are this site's own counts and follow the cell rule;
// masked (default "clear" rule) only their sums over sites leave.
TEST(PolicyCells, ImputationCountsInTheClearFollowTheCellRule) {
  auto policy = ParsePolicy(nlohmann::json::parse(R"({"min_count_per_cell": 5})"), "p.json");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  const std::vector<StatRequest> request = {stats::ImputationSumsRequest{}};
  // n = 20; column 0: 18 observed (2 missing), column 1: all 20 observed.
  const std::vector<std::vector<double>> two_missing = {{20, 18, 20, 3.5, 7.0}};
  EXPECT_TRUE(CheckResults(*policy, request, two_missing, /*masked=*/true).ok());
  std::string rule;
  const std::string text =
      Refusal(CheckResults(*policy, request, two_missing, /*masked=*/false, &rule));
  EXPECT_EQ(rule, "min_count_per_cell");
  EXPECT_TRUE(Contains(text, "column 0 has 2 missing cells, below min_count_per_cell 5")) << text;
  // 0 or >= k missing cells pass.
  EXPECT_TRUE(CheckResults(*policy, request, {{20, 15, 20, 3.5, 7.0}}, false).ok());
}

}  // namespace
}  // namespace fedrad::site_agent

// The evaluation's coarse fallback grid over the wire (issue 6, item
// 1(b)/(c); coordinator/evaluation.hpp "Fallback grid"): real `fedrad
// coordinator` and `fedrad site` processes on 127.0.0.1, with secure
// aggregation.
//
// site_c's policy checks the cells of grid histograms in secure rounds too
// ("histogram_cells": {"grid_histogram": "always"}, with k = 3); its masked score
// histograms of the SVM's C selection are not checked, so the training runs.
// The evaluation's fine grid (100001 points) puts ~1 row in a cell, which
// site_c refuses (ERROR policy_refused); the coordinator reruns the CV
// cohort on the spec's fallback grid (3 points), where every cell of
// site_c's rows holds 0 or at least 3 rows of each class (checked for these
// data: the test is deterministic), and the study completes. results.json and report.html
// say which grid was used and the AUC error bound it implies; the CV metrics
// equal `fedrad simulate` on the same tables with the 3-point grid as its
// only grid (within 1e-12: the grid counts are integers); every audit log
// verifies.
//
// Resume across the refusal: the completed run's round journal, cut in its
// last record (the fallback grid's second round), is resumed with `fedrad
// coordinator --resume`. The refused round is journaled as a refusal, so the
// resumed run replays it, takes the fallback branch again without asking
// site_c the fine grid again, asks only the cut round, and writes the same
// results.json (apart from times).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "support/consortium.hpp"
#include "support/process.hpp"
#include "support/study_support.hpp"

namespace fedrad::integration {
namespace {

using nlohmann::json;

constexpr int kFeatures = 4;
constexpr int kRowsPerSite = 60;  // 3 folds of 20 rows, 10 of each class
constexpr int kFallbackGrid = 3;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// One table per site, the classes overlapping on f01 (an AUC below 1, ties
// on the coarse grid); f02..f04 are noise.
std::vector<std::string> WriteTables(const TempDir& dir, const std::vector<std::string>& sites) {
  std::mt19937_64 rng(6061);
  std::normal_distribution<double> normal;
  std::string header = "case_id,label,fold";
  for (int j = 0; j < kFeatures; ++j) header += "," + FeatureName(j);
  header += "\n";
  std::vector<std::string> tables;
  for (std::size_t s = 0; s < sites.size(); ++s) {
    std::string csv = header;
    for (int i = 0; i < kRowsPerSite; ++i) {
      const int label = (i / 3) % 2;
      const double sign = label == 1 ? 1.0 : -1.0;
      std::string row = sites[s] + "-" + std::to_string(i) + "," + std::to_string(label) + "," +
                        std::to_string(i % 3);
      row += "," + Num(1.2 * sign + normal(rng));
      for (int j = 1; j < kFeatures; ++j) row += "," + Num(0.3 * normal(rng));
      csv += row + "\n";
    }
    tables.push_back(dir.File("data/" + sites[s] + "_features.csv"));
    WriteTextFile(tables.back(), csv);
  }
  std::string dictionary;
  for (int j = 0; j < kFeatures; ++j) dictionary += FeatureName(j) + "\n";
  WriteTextFile(dir.File("features.txt"), dictionary);
  return tables;
}

json Spec(const json& sites, const json& evaluation) {
  return {
      {"study_id", "fallback-study"},
      {"table", {{"id_column", "case_id"}, {"label_column", "label"}, {"fold_column", "fold"}}},
      {"feature_dictionary", "features.txt"},
      {"models", {{{"name", "all"}, {"columns", {"*"}}}, {{"name", "f1"}, {"columns", {"f01"}}}}},
      {"cv", {{"folds", 3}, {"seed", 7}, {"selection", "outside_cv"}}},
      {"lasso", {{"nlambda", 6}}},
      {"svm", {{"c_grid", {0.1, 1.0}}, {"histogram_bins", 16}}},
      {"platt", false},
      {"evaluation", evaluation},
      {"privacy", {{"secure_aggregation", true}, {"min_sites", 3}, {"on_refusal", "stop"}}},
      {"sites", sites},
  };
}

// Lines of `path` with `"event":"<event>"`.
std::size_t AuditEvents(const std::string& path, const std::string& event) {
  return CountOccurrences(path, "\"event\":\"" + event + "\"");
}

std::vector<json> CvMetrics(const json& results) {
  std::vector<json> out;
  for (const json& m : results["metrics"]) {
    if (m["cohort"]["kind"] == "cv") out.push_back(m);
  }
  return out;
}

TEST(FallbackGridLive, ASiteRefusingTheFineGridGetsTheFallbackGridAndTheStudyCompletes) {
  TempDir dir;
  const std::vector<std::string> ids = {"site_a", "site_b", "site_c"};
  Consortium study(dir, {.sites = {{"site_a", 0}, {"site_b", 0}, {"site_c", 0}},
                         .heartbeat_liveness = 50,
                         .job_timeout_s = 60});
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  const std::vector<std::string> tables = WriteTables(dir, ids);
  const json spec = Spec(study.StudySites(ids), {{"fallback_grid_points", kFallbackGrid}});
  WriteTextFile(dir.File("study.json"), spec.dump(2) + "\n");
  // The reference: the same study in one process with the 3-point grid as
  // its (only) grid.
  WriteTextFile(dir.File("study_coarse.json"),
                Spec(json::array(), {{"grid_points", kFallbackGrid}}).dump(2) + "\n");
  std::vector<std::string> simulate = {"simulate", "--spec", dir.File("study_coarse.json"), "--out",
                                       dir.File("out_simulate")};
  for (std::size_t s = 0; s < ids.size(); ++s) {
    simulate.push_back("--site");
    simulate.push_back(ids[s] + "=" + tables[s]);
  }
  ASSERT_NO_FATAL_FAILURE(RunFedrad("simulate", simulate, dir));

  PatchJson(dir.File("coordinator.json"), [&](json& c) {
    c["coordinator"]["job"] = "study";
    c["study"] = {
        {"spec", dir.File("study.json")}, {"out_dir", dir.File("out")}, {"round_timeout_s", 30}};
  });
  ASSERT_NO_FATAL_FAILURE(study.StartCoordinator());
  std::vector<std::unique_ptr<Process>> sites;
  for (std::size_t s = 0; s < ids.size(); ++s) {
    PatchJson(study.SiteConfig(ids[s]), [&](json& c) {
      c.erase("data");
      c["study"] = {{"spec", dir.File("study.json")}, {"features", tables[s]}};
    });
    if (ids[s] == "site_c") {
      WriteTextFile(
          study.SitePolicy("site_c"),
          json{{"min_count_per_cell", 3}, {"histogram_cells", {{"grid_histogram", "always"}}}}.dump(
              2) +
              "\n");
    }
    ASSERT_NO_FATAL_FAILURE(study.ApproveStudy(ids[s], dir.File("study.json")));
    sites.push_back(study.StartSite(ids[s]));
    ASSERT_NE(sites.back(), nullptr);
  }
  const auto code = study.coordinator().WaitForExit(Consortium::kJobWait);
  ASSERT_TRUE(code.has_value()) << "the coordinator did not finish the study";
  ASSERT_EQ(*code, 0) << "coordinator stderr:\n"
                      << study.coordinator().Stderr() << "\nlog:\n"
                      << ReadTextFile(study.CoordinatorLog());
  for (auto& site : sites) ASSERT_NO_FATAL_FAILURE(Consortium::ExpectSiteFinished(site.get()));

  // site_c refused exactly one round, the fine grid's, naming the cell.
  const std::string site_log = ReadTextFile(study.SiteLog("site_c"));
  EXPECT_TRUE(Contains(site_log, "the disclosure policy refused a round request")) << site_log;
  EXPECT_TRUE(Contains(site_log, "grid_histogram")) << site_log;
  EXPECT_TRUE(Contains(site_log, "of 100001 grid points")) << site_log;
  EXPECT_EQ(AuditEvents(dir.File("site_c.audit.jsonl"), "refusal"), 1u);

  // results.json: the CV cohort on the fallback grid, with its bound.
  const json live = ReadJson(dir.File("out/results.json"));
  const json sim = ReadJson(dir.File("out_simulate/results.json"));
  ASSERT_TRUE(live.is_object());
  ASSERT_TRUE(sim.is_object());
  const std::vector<json> live_cv = CvMetrics(live);
  const std::vector<json> sim_cv = CvMetrics(sim);
  ASSERT_EQ(live_cv.size(), 2u);
  ASSERT_EQ(sim_cv.size(), 2u);
  for (std::size_t m = 0; m < live_cv.size(); ++m) {
    SCOPED_TRACE(live_cv[m]["model"].dump());
    EXPECT_EQ(live_cv[m]["grid"], "fallback");
    EXPECT_EQ(live_cv[m]["grid_points"], kFallbackGrid);
    EXPECT_EQ(live_cv[m]["mode"], "pooled_grid");
    EXPECT_EQ(sim_cv[m]["grid"], "fine");  // simulate's only grid
    ASSERT_TRUE(live_cv[m]["auc_error_bound"].is_number());
    EXPECT_GT(live_cv[m]["auc_error_bound"].get<double>(), 0.0);  // ties on 3 points
    const double auc = live_cv[m]["auc"].get<double>();
    EXPECT_GT(auc, 0.5);
    EXPECT_LT(auc, 1.0);
    // Every number as simulate's on the 3-point grid.
    ExpectSameJson(live_cv[m], sim_cv[m], 1e-12, "cv metrics", {"grid"});
    std::printf("CV %s on the fallback grid (G = 3): AUC live %s, simulate %s, bound %s\n",
                live_cv[m]["model"].dump().c_str(), Num(auc).c_str(),
                Num(sim_cv[m]["auc"].get<double>()).c_str(),
                Num(live_cv[m]["auc_error_bound"].get<double>()).c_str());
  }
  bool noted = false;
  for (const json& note : live["study"]["notes"]) {
    const std::string text = note.is_string() ? note.get<std::string>() : note.dump();
    noted |= Contains(text, "CV cohort: evaluated on the fallback grid of 3 points") &&
             Contains(text, "site site_c") && Contains(text, "policy_refused");
  }
  EXPECT_TRUE(noted) << live["study"]["notes"].dump(2);
  const std::string html = ReadTextFile(dir.File("out/report.html"));
  EXPECT_TRUE(Contains(html, "pooled FALLBACK grid")) << "report.html does not name the grid";
  EXPECT_TRUE(Contains(study.coordinator().Stdout(), "(fallback grid, G = 3)"))
      << study.coordinator().Stdout();

  // --- resume from the journal cut in its last record ---
  const std::string completed = dir.File("out/coordinator.journal.completed");
  ASSERT_TRUE(std::filesystem::exists(completed));
  std::filesystem::create_directories(dir.File("out_resumed"));
  const std::string journal = dir.File("out_resumed/coordinator.journal");
  std::filesystem::copy_file(completed, journal);
  std::filesystem::resize_file(journal, std::filesystem::file_size(journal) - 8);
  PatchJson(dir.File("coordinator.json"),
            [&](json& c) { c["study"]["out_dir"] = dir.File("out_resumed"); });
  std::string resumed_endpoint;
  auto resumed =
      StartCoordinatorProcess(dir, "coordinator-resumed", {"--resume"}, &resumed_endpoint);
  ASSERT_NE(resumed, nullptr);
  ASSERT_FALSE(resumed_endpoint.empty()) << resumed->Stderr();
  study.UseCoordinatorEndpoint(resumed_endpoint);
  const std::size_t rounds_before = AuditEvents(dir.File("coordinator.audit.jsonl"), "round_end");
  std::vector<std::unique_ptr<Process>> again;
  for (std::size_t s = 0; s < ids.size(); ++s) {
    PatchJson(study.SiteConfig(ids[s]), [&](json& c) {
      c.erase("data");
      c["study"] = {{"spec", dir.File("study.json")}, {"features", tables[s]}};
    });
    again.push_back(study.StartSite(ids[s], true, "resumed"));
    ASSERT_NE(again.back(), nullptr);
  }
  const auto resumed_code = resumed->WaitForExit(Consortium::kJobWait);
  ASSERT_TRUE(resumed_code.has_value()) << "the resumed coordinator did not finish";
  ASSERT_EQ(*resumed_code, 0) << resumed->Stderr() << "\nlog:\n"
                              << ReadTextFile(study.CoordinatorLog());
  for (auto& site : again) ASSERT_NO_FATAL_FAILURE(Consortium::ExpectSiteFinished(site.get()));
  EXPECT_GE(CountOccurrences(study.CoordinatorLog(), "resuming the study from its journal"), 1u);
  // Only the cut round went to the sites; site_c was not asked the fine grid again.
  EXPECT_EQ(AuditEvents(dir.File("coordinator.audit.jsonl"), "round_end") - rounds_before, 1u);
  EXPECT_EQ(AuditEvents(dir.File("site_c.audit.jsonl"), "refusal"), 1u);
  const json again_results = ReadJson(dir.File("out_resumed/results.json"));
  ASSERT_TRUE(again_results.is_object());
  ExpectSameJson(live, again_results, 0.0, "resumed results.json",
                 {"started_utc", "finished_utc", "wall_seconds"});

  // Every audit log verifies.
  std::vector<std::string> args = {"audit", "verify", dir.File("coordinator.audit.jsonl")};
  for (const std::string& id : ids) args.push_back(dir.File(id + ".audit.jsonl"));
  args.push_back("--keys");
  args.push_back(dir.File("keys"));
  auto verify = Process::StartFedrad("audit-verify", args, dir.path());
  ASSERT_NE(verify, nullptr);
  const auto verified = verify->WaitForExit(Consortium::kJobWait);
  ASSERT_TRUE(verified.has_value()) << "audit verify did not finish";
  const std::string report = verify->Stdout() + verify->Stderr();
  EXPECT_EQ(*verified, 0) << report;
  EXPECT_TRUE(Contains(report, "RESULT: PASS")) << report;
}

}  // namespace
}  // namespace fedrad::integration

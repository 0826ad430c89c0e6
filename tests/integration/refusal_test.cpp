// The site's disclosure gate and study approval over the wire (issue 5,
// docs/protocol.md 6.6): real `fedrad coordinator` and `fedrad site`
// processes on 127.0.0.1.
//
//  - A site whose policy sets a high min_count_per_cell refuses the first
//    round (ERROR policy_refused); with privacy.on_refusal "stop" the
//    coordinator exits non-zero naming the site and the rule, both ends log
//    and audit it, and every audit log verifies.
//  - With "continue", 4 sites and min_sites 3, a site that forbids the "svm"
//    statistic refuses mid-study; the study restarts over the other 3 and
//    its model.json equals `fedrad simulate` over those 3 tables (every
//    number within 1e-8: the secure sum's fixed point), and study.json names
//    the excluded site and why.
//  - Approval is on by default: an unapproved study is declined with the
//    exact commands; a malformed policy file stops the site at start.
//
// The first two run with secure aggregation (the default; after the
// restart the secure rounds run over the remaining sites), the third in the clear
// (privacy.secure_aggregation false). In the clear the default policy
// checks histogram cells, so the data are separable with a wide gap and the
// histograms have 2 bins: every held-out cell holds 0 rows or a whole class
// of a fold (10 rows).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "support/consortium.hpp"
#include "support/process.hpp"
#include "support/study_support.hpp"

namespace fedrad::integration {
namespace {

using nlohmann::json;

constexpr int kFeatures = 5;
constexpr int kRowsPerSite = 60;  // 3 folds of 20 rows, 10 of each class

// Writes one feature table per site and the spec; returns the tables.
// `spec_sites`: the spec's "sites" (Consortium::StudySites) for secure
// aggregation, or null for rounds in the clear.
std::vector<std::string> WriteStudy(const TempDir& dir, const std::vector<std::string>& sites,
                                    const std::string& on_refusal, const json& spec_sites) {
  std::mt19937_64 rng(5150);
  std::normal_distribution<double> normal;
  std::string header = "case_id,label,fold";
  for (int j = 0; j < kFeatures; ++j) header += ",f" + std::to_string(j + 1);
  header += "\n";
  std::vector<std::string> tables;
  for (std::size_t s = 0; s < sites.size(); ++s) {
    std::string csv = header;
    for (int i = 0; i < kRowsPerSite; ++i) {
      const int label = (i / 3) % 2;
      std::string row = sites[s] + "-" + std::to_string(i) + "," + std::to_string(label) + "," +
                        std::to_string(i % 3);
      // f1 separates the classes with a wide gap; the others are noise.
      row += "," + Num((label == 1 ? 2.0 : -2.0) + 0.4 * normal(rng));
      for (int j = 1; j < kFeatures; ++j)
        row += "," + Num(normal(rng) + 0.2 * static_cast<double>(s));
      csv += row + "\n";
    }
    tables.push_back(dir.File("data/" + sites[s] + "_features.csv"));
    WriteTextFile(tables.back(), csv);
  }
  std::string dictionary;
  for (int j = 0; j < kFeatures; ++j) dictionary += "f" + std::to_string(j + 1) + "\n";
  WriteTextFile(dir.File("features.txt"), dictionary);
  const json spec = {
      {"study_id", "refusal-study"},
      {"table", {{"id_column", "case_id"}, {"label_column", "label"}, {"fold_column", "fold"}}},
      {"feature_dictionary", "features.txt"},
      {"models", {{{"name", "all"}, {"columns", {"*"}}}}},
      {"cv", {{"folds", 3}, {"seed", 7}, {"selection", "outside_cv"}}},
      {"lasso", {{"nlambda", 6}}},
      {"svm", {{"c_grid", {0.01, 0.1}}, {"histogram_bins", 2}}},
      {"platt", false},
      {"privacy",
       {{"secure_aggregation", !spec_sites.is_null()},
        {"min_sites", 3},
        {"on_refusal", on_refusal}}},
  };
  json full = spec;
  if (!spec_sites.is_null()) full["sites"] = spec_sites;
  WriteTextFile(dir.File("study.json"), full.dump(2) + "\n");
  return tables;
}

// Starts the coordinator with job "study". Then makes every site a
// study-only site with its table (StartCoordinator rewrites the site
// configs, so this comes after it), its operator having approved the spec;
// `policies` (site -> JSON) are written before the approval, which keeps them.
void Configure(Consortium& study, const TempDir& dir, const std::vector<std::string>& sites,
               const std::vector<std::string>& tables, const std::map<std::string, json>& policies,
               bool approve = true) {
  PatchJson(dir.File("coordinator.json"), [&](json& c) {
    c["coordinator"]["job"] = "study";
    c["study"] = {
        {"spec", dir.File("study.json")}, {"out_dir", dir.File("out")}, {"round_timeout_s", 30}};
  });
  ASSERT_NO_FATAL_FAILURE(study.StartCoordinator());
  for (std::size_t s = 0; s < sites.size(); ++s) {
    PatchJson(study.SiteConfig(sites[s]), [&](json& c) {
      c.erase("data");
      c["study"] = {{"spec", dir.File("study.json")}, {"features", tables[s]}};
    });
    if (const auto it = policies.find(sites[s]); it != policies.end()) {
      WriteTextFile(study.SitePolicy(sites[s]), it->second.dump(2) + "\n");
    }
    if (approve) {
      ASSERT_NO_FATAL_FAILURE(study.ApproveStudy(sites[s], dir.File("study.json")));
    }
  }
}

// `fedrad audit verify` over the coordinator's and the sites' logs: exit 0
// and PASS.
void ExpectAuditVerifies(const TempDir& dir, const std::vector<std::string>& sites) {
  std::vector<std::string> args = {"audit", "verify", dir.File("coordinator.audit.jsonl")};
  for (const std::string& id : sites) args.push_back(dir.File(id + ".audit.jsonl"));
  args.push_back("--keys");
  args.push_back(dir.File("keys"));
  auto p = Process::StartFedrad("audit-verify", args, dir.path());
  ASSERT_NE(p, nullptr);
  const auto code = p->WaitForExit(Consortium::kJobWait);
  const std::string report = p->Stdout() + p->Stderr();
  ASSERT_TRUE(code.has_value()) << "audit verify did not finish";
  EXPECT_EQ(*code, 0) << report;
  EXPECT_NE(report.find("RESULT: PASS"), std::string::npos) << report;
}

// Lines of an audit log with `"event":"<event>"`.
std::vector<std::string> AuditRecords(const std::string& path, const std::string& event) {
  std::vector<std::string> out;
  const std::string text = ReadTextFile(path);
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    if (line.find("\"event\":\"" + event + "\"") != std::string::npos) out.push_back(line);
    start = end + 1;
  }
  return out;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(PolicyRefusal, StopAbortsTheStudyNamingTheSiteAndTheRule) {
  TempDir dir;
  const std::vector<std::string> ids = {"site_a", "site_b", "site_c"};
  Consortium study(dir, {.sites = {{"site_a", 0}, {"site_b", 0}, {"site_c", 0}},
                         .heartbeat_liveness = 50,
                         .job_timeout_s = 30});
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  const auto tables = WriteStudy(dir, ids, "stop", study.StudySites(ids));
  ASSERT_NO_FATAL_FAILURE(
      Configure(study, dir, ids, tables, {{"site_c", json{{"min_count_per_cell", 1000}}}}));
  std::vector<std::unique_ptr<Process>> sites;
  for (const std::string& id : ids) sites.push_back(study.StartSite(id));

  const auto code = study.coordinator().WaitForExit(Consortium::kJobWait);
  ASSERT_TRUE(code.has_value()) << "the coordinator did not stop";
  EXPECT_EQ(*code, 4);  // refused by a peer
  const std::string err = study.coordinator().Stderr();
  EXPECT_TRUE(Contains(err, "site site_c refused round 1 by its disclosure policy")) << err;
  EXPECT_TRUE(Contains(err, "below min_count_per_cell 1000")) << err;
  EXPECT_TRUE(Contains(err, "rule min_count_per_cell of " + study.SitePolicy("site_c"))) << err;
  EXPECT_TRUE(Contains(err, "privacy.on_refusal is \"stop\"")) << err;
  for (auto& site : sites) ASSERT_NO_FATAL_FAILURE(Consortium::ExpectSiteFinished(site.get()));
  // Both ends log it: the site with the rule, the coordinator with the site.
  const std::string site_log = ReadTextFile(study.SiteLog("site_c"));
  EXPECT_TRUE(Contains(site_log, "the disclosure policy refused a round request")) << site_log;
  EXPECT_TRUE(Contains(site_log, "rule=min_count_per_cell")) << site_log;
  const std::string coordinator_log = ReadTextFile(study.CoordinatorLog());
  EXPECT_TRUE(Contains(coordinator_log, "site refused a round by its disclosure policy"))
      << coordinator_log;
  EXPECT_TRUE(Contains(coordinator_log, "policy_refused")) << coordinator_log;
  // ... and audit it.
  const auto site_refusals = AuditRecords(dir.File("site_c.audit.jsonl"), "refusal");
  ASSERT_EQ(site_refusals.size(), 1u);
  EXPECT_TRUE(Contains(site_refusals[0], "\"peer\":\"coordinator\"")) << site_refusals[0];
  EXPECT_TRUE(Contains(site_refusals[0], "\"round\":1")) << site_refusals[0];
  EXPECT_TRUE(Contains(site_refusals[0], "rule min_count_per_cell")) << site_refusals[0];
  const auto coordinator_refusals = AuditRecords(dir.File("coordinator.audit.jsonl"), "refusal");
  ASSERT_EQ(coordinator_refusals.size(), 1u);
  EXPECT_TRUE(Contains(coordinator_refusals[0], "\"peer\":\"site_c\"")) << coordinator_refusals[0];
  EXPECT_TRUE(Contains(coordinator_refusals[0], "min_count_per_cell")) << coordinator_refusals[0];
  EXPECT_TRUE(AuditRecords(dir.File("site_a.audit.jsonl"), "refusal").empty());
  ASSERT_NO_FATAL_FAILURE(ExpectAuditVerifies(dir, ids));
  // Nothing was written: no study.json.
  EXPECT_FALSE(ReadJson(dir.File("out/study.json")).is_object());
}

TEST(PolicyRefusal, ContinueRestartsWithoutTheSiteAndEqualsSimulateOverTheRest) {
  TempDir dir;
  const std::vector<std::string> ids = {"site_a", "site_b", "site_c", "site_d"};
  Consortium study(dir, {.sites = {{"site_a", 0}, {"site_b", 0}, {"site_c", 0}, {"site_d", 0}},
                         .heartbeat_liveness = 50,
                         .job_timeout_s = 30});
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  const auto tables = WriteStudy(dir, ids, "continue", study.StudySites(ids));
  // The reference: the same study over the three remaining sites.
  std::vector<std::string> simulate = {"simulate", "--spec", dir.File("study.json"), "--out",
                                       dir.File("out_simulate")};
  for (std::size_t s = 0; s < 3; ++s) {
    simulate.push_back("--site");
    simulate.push_back(ids[s] + "=" + tables[s]);
  }
  ASSERT_NO_FATAL_FAILURE(RunFedrad("simulate", simulate, dir));
  // site_d allows everything but the SVM's statistics: it refuses mid-study.
  const json no_svm = {
      {"allowed_statistics", {"moments", "logistic", "deviance", "score_histogram", "platt"}}};
  ASSERT_NO_FATAL_FAILURE(Configure(study, dir, ids, tables, {{"site_d", no_svm}}));
  std::vector<std::unique_ptr<Process>> sites;
  for (const std::string& id : ids) sites.push_back(study.StartSite(id));

  const auto code = study.coordinator().WaitForExit(Consortium::kJobWait);
  ASSERT_TRUE(code.has_value()) << "the coordinator did not finish";
  ASSERT_EQ(*code, 0) << study.coordinator().Stderr() << "\n"
                      << ReadTextFile(study.CoordinatorLog());
  for (auto& site : sites) ASSERT_NO_FATAL_FAILURE(Consortium::ExpectSiteFinished(site.get()));
  const std::string out = study.coordinator().Stdout();
  EXPECT_TRUE(Contains(out, "job study-2 (study refusal-study) completed")) << out;
  EXPECT_TRUE(Contains(out, "excluded site site_d: refused round")) << out;

  const json summary = ReadJson(dir.File("out/study.json"));
  ASSERT_TRUE(summary.is_object());
  const json& provenance = summary["provenance"];
  EXPECT_EQ(provenance["sites"], json({"site_a", "site_b", "site_c"}));
  ASSERT_EQ(provenance["excluded_sites"].size(), 1u) << provenance.dump(2);
  EXPECT_EQ(provenance["excluded_sites"][0]["site"], "site_d");
  const std::string reason = provenance["excluded_sites"][0]["reason"];
  EXPECT_TRUE(Contains(reason, "of job study-1 by its disclosure policy")) << reason;
  EXPECT_FALSE(Contains(reason, "refused round 1 ")) << "expected a refusal mid-study: " << reason;
  EXPECT_TRUE(Contains(reason, "statistic kind \"svm\" is not in allowed_statistics")) << reason;

  // The restarted study is the study over the other three: every number of
  // model.json equals simulate's (within the secure sum's fixed point).
  const json fed = ReadJson(dir.File("out/all/model.json"));
  const json sim = ReadJson(dir.File("out_simulate/all/model.json"));
  ASSERT_TRUE(fed.is_object());
  ASSERT_TRUE(sim.is_object());
  EXPECT_EQ(fed["rounds"], sim["rounds"]);
  std::function<void(const json&, const json&, const std::string&)> same =
      [&](const json& a, const json& b, const std::string& where) {
        if (a.is_number_float() || b.is_number_float()) {
          ASSERT_TRUE(a.is_number() && b.is_number()) << where;
          const double x = a.get<double>(), y = b.get<double>();
          EXPECT_LE(std::abs(x - y), 1e-8 * std::max({1.0, std::abs(x), std::abs(y)}))
              << where << ": " << Num(x) << " vs " << Num(y);
          return;
        }
        ASSERT_EQ(a.type(), b.type()) << where;
        if (a.is_object()) {
          for (const auto& item : a.items()) {
            if (item.key() == "provenance" || item.key() == "wall_seconds" ||
                item.key().rfind("bytes_", 0) == 0) {
              continue;  // secure rounds carry more bytes than simulate's
            }
            ASSERT_TRUE(b.contains(item.key())) << where << "/" << item.key();
            same(item.value(), b[item.key()], where + "/" + item.key());
          }
        } else if (a.is_array()) {
          ASSERT_EQ(a.size(), b.size()) << where;
          for (std::size_t i = 0; i < a.size(); ++i) {
            same(a[i], b[i], where + "/" + std::to_string(i));
          }
        } else {
          EXPECT_EQ(a, b) << where;
        }
      };
  same(fed, sim, "all");
  EXPECT_FALSE(fed["svm"].is_null());

  // Logged and audited at both ends; the restart too; every log verifies.
  const auto site_refusals = AuditRecords(dir.File("site_d.audit.jsonl"), "refusal");
  ASSERT_EQ(site_refusals.size(), 1u);
  EXPECT_TRUE(Contains(site_refusals[0], "rule allowed_statistics")) << site_refusals[0];
  const auto coordinator_refusals = AuditRecords(dir.File("coordinator.audit.jsonl"), "refusal");
  ASSERT_EQ(coordinator_refusals.size(), 1u);
  EXPECT_TRUE(Contains(coordinator_refusals[0], "\"peer\":\"site_d\""));
  EXPECT_EQ(AuditRecords(dir.File("coordinator.audit.jsonl"), "study_restart").size(), 1u);
  EXPECT_TRUE(Contains(ReadTextFile(study.SiteLog("site_d")), "rule=allowed_statistics"));
  ASSERT_NO_FATAL_FAILURE(ExpectAuditVerifies(dir, ids));
  // The rounds were secure: only masked words left the sites.
  EXPECT_FALSE(Contains(ReadTextFile(study.CoordinatorLog()), "secure aggregation is off"));
  EXPECT_TRUE(Contains(ReadTextFile(dir.File("site_a.audit.jsonl")), "masked:i64"));
}

TEST(PolicyRefusal, ContinueAbortsWhenFewerThanMinSitesRemain) {
  TempDir dir;
  const std::vector<std::string> ids = {"site_a", "site_b", "site_c"};
  Consortium study(dir, {.sites = {{"site_a", 0}, {"site_b", 0}, {"site_c", 0}},
                         .heartbeat_liveness = 50,
                         .job_timeout_s = 30});
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  const auto tables = WriteStudy(dir, ids, "continue", json());
  ASSERT_NO_FATAL_FAILURE(
      Configure(study, dir, ids, tables, {{"site_b", json{{"min_cohort_size", 61}}}}));
  std::vector<std::unique_ptr<Process>> sites;
  for (const std::string& id : ids) sites.push_back(study.StartSite(id));
  const auto code = study.coordinator().WaitForExit(Consortium::kJobWait);
  ASSERT_TRUE(code.has_value()) << "the coordinator did not stop";
  EXPECT_NE(*code, 0);
  const std::string err = study.coordinator().Stderr();
  EXPECT_TRUE(Contains(err, "site site_b refused round 1")) << err;
  EXPECT_TRUE(Contains(err, "below min_cohort_size 61")) << err;
  EXPECT_TRUE(Contains(err, "only 2 site(s) remain, fewer than privacy.min_sites 3")) << err;
  for (auto& site : sites) ASSERT_NO_FATAL_FAILURE(Consortium::ExpectSiteFinished(site.get()));
}

TEST(StudyApproval, UnapprovedStudyIsDeclinedWithTheCommandsAndABrokenPolicyStopsTheSite) {
  TempDir dir;
  const std::vector<std::string> ids = {"site_a", "site_b", "site_c"};
  Consortium study(dir, {.sites = {{"site_a", 0}, {"site_b", 0}, {"site_c", 0}},
                         .heartbeat_liveness = 50,
                         .job_timeout_s = 20});
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  const auto tables = WriteStudy(dir, ids, "stop", study.StudySites(ids));
  ASSERT_NO_FATAL_FAILURE(Configure(study, dir, ids, tables, {}, /*approve=*/false));
  // site_a and site_c approve; site_b has no policy file: the defaults.
  ASSERT_NO_FATAL_FAILURE(study.ApproveStudy("site_a", dir.File("study.json")));
  ASSERT_NO_FATAL_FAILURE(study.ApproveStudy("site_c", dir.File("study.json")));
  std::vector<std::unique_ptr<Process>> sites;
  for (const std::string& id : ids) sites.push_back(study.StartSite(id));
  const auto code = study.coordinator().WaitForExit(Consortium::kJobWait);
  ASSERT_TRUE(code.has_value()) << "the coordinator did not stop";
  EXPECT_NE(*code, 0);
  const std::string err = study.coordinator().Stderr();
  const std::string spec = dir.File("study.json");
  const std::string policy = study.SitePolicy("site_b");
  EXPECT_TRUE(Contains(err, "site site_b declined")) << err;
  EXPECT_TRUE(
      Contains(err, "is not approved by the default policy (no policy file at " + policy + ")"))
      << err;
  EXPECT_TRUE(Contains(err, "`fedrad site review " + spec + " --policy " + policy + "`")) << err;
  EXPECT_TRUE(Contains(err, "`fedrad site approve " + spec + " --policy " + policy + " --by NAME`"))
      << err;
  // site_b was told (JOB_END, BYE) and exits; the others may not have
  // connected before the coordinator stopped.
  ASSERT_NO_FATAL_FAILURE(Consortium::ExpectSiteFinished(sites[1].get()));
  EXPECT_TRUE(Contains(ReadTextFile(study.SiteLog("site_b")), "declined a study job"));

  // A malformed policy file: the site does not start, naming file and pointer.
  WriteTextFile(policy, R"({"min_count_per_cell": "five"})");
  auto broken = study.StartSite("site_b", true, "broken");
  ASSERT_NE(broken, nullptr);
  const auto broken_code = broken->WaitForExit(Consortium::kStartWait);
  ASSERT_TRUE(broken_code.has_value()) << "a site with a malformed policy kept running";
  EXPECT_EQ(*broken_code, 1);
  EXPECT_TRUE(Contains(broken->Stderr(), policy + ": /min_count_per_cell")) << broken->Stderr();
}

}  // namespace
}  // namespace fedrad::integration

// A whole study over the wire: a `fedrad coordinator` (job "study") and three
// `fedrad site` processes on 127.0.0.1 (CurveZMQ) fit every model of a small
// spec with secure aggregation (the default, docs/protocol.md 6.5: every
// round is four exchanges and the coordinator sees only masked sums), and the
// coordinator's model.json files must equal those of `fedrad simulate` on
// the same three tables (every number within 1e-8 -- the wide fixed-point
// encoding adds at most 3 * 2^-41 per summed value --, the same rounds, more
// bytes from each site than a plain round sends) and, for the final model,
// those of `fedrad fit --pooled` on their concatenation (same selected
// features, coefficients within 1e-8). A site whose approved spec differs
// declines and the study fails naming it; a spec whose pinned site key is not
// the site's key is refused by the coordinator (naming the site and both
// keys) or, if the coordinator's config carries the same wrong key, declined
// by the site. The four audit logs of the study verify together with
// `fedrad audit verify` (and a flipped byte in one of them is found).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
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

constexpr int kFeatures = 12;
constexpr int kRowsPerSite = 120;  // every fold count passes the default disclosure policy (k = 5)
const std::vector<std::string> kSites = {"site_a", "site_b", "site_c"};

// Three site tables (and their concatenation) with a fold column, so that
// the pooled fit sees the same outer folds as the federated one.
struct StudyFiles {
  std::vector<std::string> site_csv;
  std::string pooled_csv;
  std::string spec;
};

// `sites`: the spec's "sites" list (Consortium::StudySites).
StudyFiles WriteStudy(const TempDir& dir, const json& sites) {
  std::mt19937_64 rng(20261127);
  std::normal_distribution<double> normal;
  std::string header = "case_id,label,fold";
  for (int j = 0; j < kFeatures; ++j) header += "," + FeatureName(j);
  header += "\n";
  StudyFiles files;
  std::string pooled = header;
  for (std::size_t s = 0; s < kSites.size(); ++s) {
    std::string csv = header;
    for (int i = 0; i < kRowsPerSite; ++i) {
      std::vector<double> x(kFeatures);
      for (int j = 0; j < kFeatures; ++j) x[j] = normal(rng) * (1.0 + 0.2 * j) + 0.3 * s;
      const double eta = 1.2 * x[0] - 0.9 * x[1] + 0.5 * x[4] + 0.8 * normal(rng);
      std::string row = kSites[s] + "-" + std::to_string(i) + "," + (eta > 0 ? "1" : "0") + "," +
                        std::to_string((i + static_cast<int>(s)) % 3);
      for (double v : x) row += "," + Num(v);
      csv += row + "\n";
      pooled += row + "\n";
    }
    files.site_csv.push_back(dir.File("data/" + kSites[s] + "_features.csv"));
    WriteTextFile(files.site_csv.back(), csv);
  }
  files.pooled_csv = dir.File("data/pooled.csv");
  WriteTextFile(files.pooled_csv, pooled);
  std::string dictionary = "# feature columns shared by every site\n";
  for (int j = 0; j < kFeatures; ++j) dictionary += FeatureName(j) + "\n";
  WriteTextFile(dir.File("features.txt"), dictionary);
  const json spec = {
      {"study_id", "wire-study"},
      {"table", {{"id_column", "case_id"}, {"label_column", "label"}, {"fold_column", "fold"}}},
      {"feature_dictionary", "features.txt"},
      {"models",
       {{{"name", "first"}, {"columns", {"f01", "f02", "f03", "f04", "f05", "f06"}}},
        {{"name", "all"}, {"columns", {"*"}}}}},
      {"cv", {{"folds", 3}, {"seed", 7}, {"selection", "nested"}}},
      {"lasso", {{"nlambda", 15}}},
      {"svm", {{"c_grid", {0.1, 1.0, 10.0}}, {"histogram_bins", 64}}},
      {"platt", true},
      {"sites", sites},
  };
  files.spec = dir.File("study.json");
  WriteTextFile(files.spec, spec.dump(2) + "\n");
  return files;
}

void ExpectClose(const json& a, const json& b, double tol, const std::string& where) {
  ExpectSameJson(a, b, tol, where, {});
}

// The audit logs of a live study: every party's log verifies together with
// the others (hash chains, signatures, each send matched by its receive,
// the sites' receipts held by the coordinator), the report says what left
// each site; then one flipped byte in site_b's first ROUND_REPLY record is
// found and named.
void ExpectAuditTrailVerifies(const TempDir& dir) {
  std::vector<std::string> logs = {dir.File("coordinator.audit.jsonl")};
  for (const std::string& id : kSites) logs.push_back(dir.File(id + ".audit.jsonl"));
  const auto [code, report] = AuditVerify(logs, dir.File("keys"), dir);
  ::testing::Test::RecordProperty("audit_report", report);
  EXPECT_EQ(code, 0) << report;
  EXPECT_NE(report.find("RESULT: PASS (0 error(s), 0 warning(s))"), std::string::npos) << report;
  for (const std::string& id : kSites) {
    EXPECT_NE(report.find("What left " + id + " (" + dir.File(id + ".audit.jsonl") + "):\n" +
                          "  to coordinator:"),
              std::string::npos)
        << report;
    EXPECT_NE(report.find(id + " -> coordinator:"), std::string::npos) << report;
  }
  // Every round reply of every site is in the report, and the coordinator
  // holds a verified receipt from each site.
  EXPECT_NE(report.find("    ROUND_REPLY x"), std::string::npos) << report;
  for (const std::string& id : kSites) {
    EXPECT_NE(report.find("receipts signed by " + id + ": "), std::string::npos) << report;
  }
  const std::string coordinator_log = ReadTextFile(logs[0]);
  EXPECT_NE(coordinator_log.find("\"event\":\"receipt\",\"peer\":\"site_b\""), std::string::npos);
  EXPECT_NE(coordinator_log.find("\"event\":\"round_end\""), std::string::npos);

  // Flip one byte: a hex digit of the sha256 of site_b's first ROUND_REPLY.
  std::string site_b = ReadTextFile(logs[2]);
  const std::size_t at = site_b.find("\"event\":\"send\"");
  std::size_t reply = site_b.find("\"type\":\"ROUND_REPLY\",\"sha256\":\"", at);
  ASSERT_NE(reply, std::string::npos) << logs[2];
  const std::size_t digit = reply + std::string("\"type\":\"ROUND_REPLY\",\"sha256\":\"").size();
  site_b[digit] = site_b[digit] == '0' ? '1' : '0';
  const std::size_t record =
      1 + static_cast<std::size_t>(std::count(site_b.begin(), site_b.begin() + digit, '\n'));
  WriteTextFile(logs[2], site_b);
  const auto [bad_code, bad_report] = AuditVerify(logs, dir.File("keys"), dir);
  EXPECT_EQ(bad_code, 1) << bad_report;
  EXPECT_NE(bad_report.find("record " + std::to_string(record) + " [bad_signature]"),
            std::string::npos)
      << "record " << record << "\n"
      << bad_report;
  EXPECT_NE(bad_report.find("RESULT: FAIL"), std::string::npos) << bad_report;
}

// Sets the coordinator up for the study and every site for its table.
void ConfigureStudy(const TempDir& dir, const StudyFiles& files, const std::string& out_dir) {
  PatchJson(dir.File("coordinator.json"), [&](json& c) {
    c["coordinator"]["job"] = "study";
    c["study"] = {{"spec", files.spec}, {"out_dir", out_dir}, {"round_timeout_s", 30}};
  });
}

void ConfigureSites(Consortium& study, const StudyFiles& files,
                    const std::vector<std::string>& specs) {
  for (std::size_t s = 0; s < kSites.size(); ++s) {
    PatchJson(study.SiteConfig(kSites[s]), [&](json& c) {
      c.erase("data");  // a study-only site needs no cohort file
      c["study"] = {{"spec", specs[s]}, {"features", files.site_csv[s]}};
    });
    // Study approval is on by default: each site's operator approves its spec.
    study.ApproveStudy(kSites[s], specs[s]);
  }
}

TEST(StudyOverTheWire, ThreeSitesWithSecureAggregationMatchSimulateAndPooled) {
  TempDir dir;
  Consortium study(dir, {.sites = {{"site_a", 0}, {"site_b", 0}, {"site_c", 0}},
                         .heartbeat_liveness = 50,
                         .job_timeout_s = 60});
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  const StudyFiles files = WriteStudy(dir, study.StudySites(kSites));
  const std::string federated = dir.File("out_federated");

  // The two references first (the machine may be busy: the federated run
  // then has the CPU to itself and its heartbeats stay on time).
  std::vector<std::string> simulate = {"simulate", "--spec", files.spec, "--out",
                                       dir.File("out_simulate")};
  for (std::size_t s = 0; s < kSites.size(); ++s) {
    simulate.push_back("--site");
    simulate.push_back(kSites[s] + "=" + files.site_csv[s]);
  }
  ASSERT_NO_FATAL_FAILURE(RunFedrad("simulate", simulate, dir));
  ASSERT_NO_FATAL_FAILURE(RunFedrad(
      "pooled",
      {"fit", "--pooled", files.pooled_csv, "--spec", files.spec, "--out", dir.File("out_pooled")},
      dir));

  ConfigureStudy(dir, files, federated);
  ASSERT_NO_FATAL_FAILURE(study.StartCoordinator());
  ConfigureSites(study, files, {files.spec, files.spec, files.spec});
  std::vector<std::unique_ptr<Process>> sites;
  for (const std::string& id : kSites) {
    sites.push_back(study.StartSite(id));
    ASSERT_NE(sites.back(), nullptr);
  }

  const auto code = study.coordinator().WaitForExit(Consortium::kJobWait);
  ASSERT_TRUE(code.has_value()) << "the coordinator did not finish the study";
  ASSERT_EQ(*code, 0) << "coordinator stderr:\n"
                      << study.coordinator().Stderr() << "\nlog:\n"
                      << ReadTextFile(study.CoordinatorLog());
  for (auto& site : sites) ASSERT_NO_FATAL_FAILURE(Consortium::ExpectSiteFinished(site.get()));
  EXPECT_EQ(CountOccurrences(study.CoordinatorLog(), "site accepted the study"), 3u);
  EXPECT_EQ(CountOccurrences(study.CoordinatorLog(), "secure aggregation is off"), 0u);

  for (const std::string model : {"first", "all"}) {
    SCOPED_TRACE(model);
    const json fed = ReadJson(federated + "/" + model + "/model.json");
    const json sim = ReadJson(dir.File("out_simulate/" + model + "/model.json"));
    const json pooled = ReadJson(dir.File("out_pooled/" + model + "/model.json"));
    ASSERT_TRUE(fed.is_object()) << federated << "/" << model << "/model.json";
    ASSERT_TRUE(sim.is_object());
    ASSERT_TRUE(pooled.is_object());
    EXPECT_EQ(fed["provenance"]["mode"], "federated");
    EXPECT_GT(fed["rounds"].get<std::int64_t>(), 10);
    EXPECT_GT(fed["bytes_to_each_site"].get<std::int64_t>(), 0);
    // Secure rounds: the same rounds as simulate's plain ones, each carrying
    // keys, shares and masked words (2-3 words per value) on top.
    EXPECT_EQ(fed["rounds"], sim["rounds"]);
    EXPECT_GT(fed["bytes_to_each_site"].get<std::int64_t>(),
              sim["bytes_to_each_site"].get<std::int64_t>());
    EXPECT_GT(fed["bytes_from_each_site"].get<std::int64_t>(),
              2 * sim["bytes_from_each_site"].get<std::int64_t>());
    // Federated == simulate: every number within 1e-8 (relative above 1).
    ExpectSameJson(fed, sim, 1e-8, model,
                   {"provenance", "wall_seconds", "bytes_to_each_site", "bytes_from_each_site"});
    double max_diff = 0.0;
    const json& a = fed["lasso"]["coefficients"];
    const json& b = sim["lasso"]["coefficients"];
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
      if (a[i].is_number() && b[i].is_number()) {
        max_diff = std::max(max_diff, std::abs(a[i].get<double>() - b[i].get<double>()));
      }
    }
    ::testing::Test::RecordProperty(model + "_max_lasso_coefficient_diff_vs_simulate",
                                    Num(max_diff));
    ::testing::Test::RecordProperty(model + "_rounds_bytes_to_from_secure_vs_plain",
                                    fed["rounds"].dump() + " " + fed["bytes_to_each_site"].dump() +
                                        " " + fed["bytes_from_each_site"].dump() + " vs " +
                                        sim["bytes_to_each_site"].dump() + " " +
                                        sim["bytes_from_each_site"].dump());
    // Federated == pooled for the final model.
    EXPECT_EQ(fed["selected_features"], pooled["selected_features"]);
    ExpectClose(fed["lasso"]["coefficients"], pooled["lasso"]["coefficients"], 1e-8,
                model + "/lasso/coefficients");
    ExpectClose(fed["lasso"]["intercept"], pooled["lasso"]["intercept"], 1e-8,
                model + "/lasso/intercept");
    ExpectClose(fed["lasso"]["lambda"], pooled["lasso"]["lambda"], 1e-8, model + "/lasso/lambda");
    if (!fed["svm"].is_null()) {
      ExpectClose(fed["svm"]["weights"], pooled["svm"]["weights"], 1e-8, model + "/svm/weights");
    }
  }
  ExpectAuditTrailVerifies(dir);
}

TEST(StudyOverTheWire, SiteWithAnotherSpecDeclinesAndTheStudyFailsNamingIt) {
  TempDir dir;
  Consortium study(dir, {.sites = {{"site_a", 0}, {"site_b", 0}, {"site_c", 0}},
                         .heartbeat_liveness = 50,
                         .job_timeout_s = 30});
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  const StudyFiles files = WriteStudy(dir, study.StudySites(kSites));
  // site_c approved a different file (one more byte).
  const std::string other = dir.File("study_site_c.json");
  WriteTextFile(other, ReadTextFile(files.spec) + " ");
  ConfigureStudy(dir, files, dir.File("out"));
  ASSERT_NO_FATAL_FAILURE(study.StartCoordinator());
  ConfigureSites(study, files, {files.spec, files.spec, other});
  std::vector<std::unique_ptr<Process>> sites;
  for (const std::string& id : kSites) sites.push_back(study.StartSite(id));

  const auto code = study.coordinator().WaitForExit(Consortium::kJobWait);
  ASSERT_TRUE(code.has_value()) << "the coordinator did not stop";
  EXPECT_NE(*code, 0);
  const std::string err = study.coordinator().Stderr();
  EXPECT_NE(err.find("site site_c declined"), std::string::npos) << err;
  EXPECT_NE(err.find("SHA-256"), std::string::npos) << err;
  EXPECT_TRUE(
      WaitForFileContains(study.SiteLog("site_c"), "declined a study job", milliseconds(1000)));
}

// Secure aggregation pins every site's Ed25519 key in the spec. A spec that
// lists site_b with site_a's key is refused by the coordinator before any
// site is offered the study (the error names the site and both keys); if the
// coordinator's config carries the same wrong key, site_b itself declines,
// naming its own key.
TEST(StudyOverTheWire, ASpecPinningAnotherKeyIsRefused) {
  TempDir dir;
  Consortium study(dir, {.sites = {{"site_a", 0}, {"site_b", 0}, {"site_c", 0}},
                         .heartbeat_liveness = 50,
                         .job_timeout_s = 30});
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  json sites = study.StudySites(kSites);
  const std::string wrong = study.SignPublicKey("site_a");
  const std::string right = study.SignPublicKey("site_b");
  sites[1]["sign_public_key"] = wrong;
  const StudyFiles files = WriteStudy(dir, sites);
  ConfigureStudy(dir, files, dir.File("out"));

  // 1. The coordinator refuses to start.
  auto refused = Process::StartFedrad(
      "coordinator-refuses", {"coordinator", "--config", dir.File("coordinator.json")}, dir.path());
  ASSERT_NE(refused, nullptr);
  const auto refused_code = refused->WaitForExit(Consortium::kJobWait);
  ASSERT_TRUE(refused_code.has_value()) << "the coordinator did not stop";
  EXPECT_NE(*refused_code, 0);
  const std::string refusal = refused->Stderr();
  EXPECT_NE(refusal.find("site \"site_b\""), std::string::npos) << refusal;
  EXPECT_NE(refusal.find("pins sign_public_key " + wrong), std::string::npos) << refusal;
  EXPECT_NE(refusal.find(right), std::string::npos) << refusal;
  EXPECT_NE(refusal.find("refusing to start"), std::string::npos) << refusal;

  // 2. The coordinator's config agrees with the spec: site_b declines.
  std::remove(dir.File("coordinator.ready").c_str());  // if the first run wrote one
  PatchJson(dir.File("coordinator.json"), [&](json& c) {
    for (json& site : c["sites"]) {
      if (site["id"] == "site_b") site["sign_public_key"] = wrong;
    }
  });
  ASSERT_NO_FATAL_FAILURE(study.StartCoordinator());
  ConfigureSites(study, files, {files.spec, files.spec, files.spec});
  std::vector<std::unique_ptr<Process>> running;
  for (const std::string& id : kSites) running.push_back(study.StartSite(id));
  const auto code = study.coordinator().WaitForExit(Consortium::kJobWait);
  ASSERT_TRUE(code.has_value()) << "the coordinator did not stop";
  EXPECT_NE(*code, 0);
  const std::string err = study.coordinator().Stderr();
  EXPECT_NE(err.find("site site_b declined"), std::string::npos) << err;
  EXPECT_NE(err.find("lists site \"site_b\" with sign_public_key " + wrong), std::string::npos)
      << err;
  EXPECT_NE(err.find("this site's key"), std::string::npos) << err;
  EXPECT_NE(err.find(right), std::string::npos) << err;
}

}  // namespace
}  // namespace fedrad::integration

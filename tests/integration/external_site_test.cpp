// External sites in a live study (C4, issue 6): a `fedrad coordinator` and
// four `fedrad site` processes on 127.0.0.1 -- three train sites (secure
// aggregation, the default) and one site of role "external". The external
// site accepts the study, takes no part in training, and is then asked one
// local_evaluation round: it evaluates the frozen models on its own rows and
// releases only the summaries. The external cohort in results.json must
// equal what `fedrad simulate --external` computes on the same tables (every
// number within 1e-8), the external site appears in the cohort table and the
// privacy ledger, and the five audit logs verify together (`fedrad audit
// verify`). A spec with two external sites and min_sites 3 is refused before
// any site is offered the study.
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

constexpr int kFeatures = 8;
constexpr int kRowsPerSite = 120;  // every fold count passes the default policy (k = 5)
const std::vector<std::string> kTrain = {"site_a", "site_b", "site_c"};
const std::string kExternal = "site_d";

// The largest |a - b| ExpectSameJson saw (reported by the test).
double g_largest_difference = 0.0;

// Every number within `tol` (relative above 1), everything else equal.
void ExpectSameJsonTracked(const json& a, const json& b, double tol, const std::string& where) {
  if (a.is_number() && b.is_number() && (a.is_number_float() || b.is_number_float())) {
    const double x = a.get<double>();
    const double y = b.get<double>();
    g_largest_difference = std::max(g_largest_difference, std::abs(x - y));
    EXPECT_LE(std::abs(x - y), tol * std::max({1.0, std::abs(x), std::abs(y)}))
        << where << ": " << Num(x) << " vs " << Num(y);
    return;
  }
  ASSERT_EQ(a.type(), b.type()) << where << ": " << a.dump() << " vs " << b.dump();
  if (a.is_object()) {
    ASSERT_EQ(a.size(), b.size()) << where << ": " << a.dump() << " vs " << b.dump();
    for (const auto& item : a.items()) {
      ASSERT_TRUE(b.contains(item.key())) << where << "/" << item.key() << " missing";
      ExpectSameJsonTracked(item.value(), b[item.key()], tol, where + "/" + item.key());
    }
  } else if (a.is_array()) {
    ASSERT_EQ(a.size(), b.size()) << where;
    for (std::size_t i = 0; i < a.size(); ++i) {
      ExpectSameJsonTracked(a[i], b[i], tol, where + "/" + std::to_string(i));
    }
  } else {
    EXPECT_EQ(a, b) << where;
  }
}

struct StudyFiles {
  std::vector<std::string> train_csv;
  std::string external_csv;                // the first external site's
  std::vector<std::string> externals_csv;  // every external site's
  std::string spec;
};

// Three train tables and one external table (another hospital: shifted
// features, the same outcome model).
StudyFiles WriteStudy(const TempDir& dir, const json& sites,
                      const json& privacy = {{"min_sites", 3}},
                      const std::vector<std::string>& externals = {kExternal}) {
  std::mt19937_64 rng(20261127);
  std::normal_distribution<double> normal;
  std::string header = "case_id,label,fold";
  for (int j = 0; j < kFeatures; ++j) header += "," + FeatureName(j);
  header += "\n";
  StudyFiles files;
  for (std::size_t s = 0; s < kTrain.size() + externals.size(); ++s) {
    const std::string id = s < kTrain.size() ? kTrain[s] : externals[s - kTrain.size()];
    std::string csv = header;
    for (int i = 0; i < kRowsPerSite; ++i) {
      std::vector<double> x(kFeatures);
      for (int j = 0; j < kFeatures; ++j) x[j] = normal(rng) * (1.0 + 0.2 * j) + 0.3 * s;
      const double eta = 1.1 * x[0] - 0.8 * x[1] + 0.5 * x[4] + 0.9 * normal(rng) - 0.2 * s;
      std::string row = id + "-" + std::to_string(i) + "," + (eta > 0 ? "1" : "0") + "," +
                        std::to_string((i + static_cast<int>(s)) % 3);
      for (double v : x) row += "," + Num(v);
      csv += row + "\n";
    }
    const std::string path = dir.File("data/" + id + "_features.csv");
    WriteTextFile(path, csv);
    if (s < kTrain.size()) {
      files.train_csv.push_back(path);
    } else {
      files.externals_csv.push_back(path);
    }
  }
  files.external_csv = files.externals_csv.front();
  std::string dictionary;
  for (int j = 0; j < kFeatures; ++j) dictionary += FeatureName(j) + "\n";
  WriteTextFile(dir.File("features.txt"), dictionary);
  const json spec = {
      {"study_id", "external-study"},
      {"table", {{"id_column", "case_id"}, {"label_column", "label"}, {"fold_column", "fold"}}},
      {"feature_dictionary", "features.txt"},
      {"models",
       {{{"name", "first"}, {"columns", {"f01", "f02", "f03"}}},
        {{"name", "all"}, {"columns", {"*"}}}}},
      {"cv", {{"folds", 3}, {"seed", 7}, {"selection", "nested"}}},
      {"lasso", {{"nlambda", 10}}},
      {"svm", {{"c_grid", {0.1, 1.0}}, {"histogram_bins", 32}}},
      {"platt", true},
      {"privacy", privacy},
      {"sites", sites},
  };
  files.spec = dir.File("study.json");
  WriteTextFile(files.spec, spec.dump(2) + "\n");
  return files;
}

std::vector<json> Cohort(const json& results, const std::string& key, const std::string& kind) {
  std::vector<json> out;
  for (const json& m : results[key]) {
    if (m["cohort"]["kind"] == kind) out.push_back(m);
  }
  return out;
}

TEST(ExternalSiteLive, ThreeTrainSitesAndOneExternalMatchSimulate) {
  TempDir dir;
  Consortium study(dir, {.sites = {{"site_a", 0}, {"site_b", 0}, {"site_c", 0}, {"site_d", 0}},
                         .heartbeat_liveness = 50,
                         .job_timeout_s = 60});
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  json sites = study.StudySites({"site_a", "site_b", "site_c", "site_d"});
  sites[3]["role"] = "external";
  const StudyFiles files = WriteStudy(dir, sites);
  const std::string federated = dir.File("out_federated");

  std::vector<std::string> simulate = {"simulate", "--spec", files.spec, "--out",
                                       dir.File("out_simulate")};
  for (std::size_t s = 0; s < kTrain.size(); ++s) {
    simulate.push_back("--site");
    simulate.push_back(kTrain[s] + "=" + files.train_csv[s]);
  }
  simulate.push_back("--external");
  simulate.push_back(kExternal + "=" + files.external_csv);
  ASSERT_NO_FATAL_FAILURE(RunFedrad("simulate", simulate, dir));

  PatchJson(dir.File("coordinator.json"), [&](json& c) {
    c["coordinator"]["job"] = "study";
    c["study"] = {{"spec", files.spec}, {"out_dir", federated}, {"round_timeout_s", 30}};
  });
  ASSERT_NO_FATAL_FAILURE(study.StartCoordinator());
  std::vector<std::unique_ptr<Process>> processes;
  for (std::size_t s = 0; s <= kTrain.size(); ++s) {
    const std::string id = s < kTrain.size() ? kTrain[s] : kExternal;
    const std::string csv = s < kTrain.size() ? files.train_csv[s] : files.external_csv;
    PatchJson(study.SiteConfig(id), [&](json& c) {
      c.erase("data");
      c["study"] = {{"spec", files.spec}, {"features", csv}};
    });
    ASSERT_NO_FATAL_FAILURE(study.ApproveStudy(id, files.spec));
    processes.push_back(study.StartSite(id));
    ASSERT_NE(processes.back(), nullptr);
  }
  const auto code = study.coordinator().WaitForExit(Consortium::kJobWait);
  ASSERT_TRUE(code.has_value()) << "the coordinator did not finish the study";
  ASSERT_EQ(*code, 0) << "coordinator stderr:\n"
                      << study.coordinator().Stderr() << "\nlog:\n"
                      << ReadTextFile(study.CoordinatorLog());
  for (auto& p : processes) ASSERT_NO_FATAL_FAILURE(Consortium::ExpectSiteFinished(p.get()));
  EXPECT_EQ(CountOccurrences(study.CoordinatorLog(), "site accepted the study"), 4u);

  const json live = ReadJson(federated + "/results.json");
  const json sim = ReadJson(dir.File("out_simulate/results.json"));
  ASSERT_TRUE(live.is_object()) << federated << "/results.json";
  ASSERT_TRUE(sim.is_object());
  // The external cohort: the same metrics and DeLong tests as simulate.
  const std::vector<json> live_metrics = Cohort(live, "metrics", "external_site");
  const std::vector<json> sim_metrics = Cohort(sim, "metrics", "external_site");
  ASSERT_EQ(live_metrics.size(), 2u);  // two models on site_d
  ASSERT_EQ(sim_metrics.size(), 2u);
  for (std::size_t i = 0; i < live_metrics.size(); ++i) {
    EXPECT_EQ(live_metrics[i]["mode"], "site_local");
    EXPECT_EQ(live_metrics[i]["cohort"]["name"], kExternal);
    EXPECT_TRUE(live_metrics[i]["auc"].is_number());
    ExpectSameJsonTracked(live_metrics[i], sim_metrics[i], 1e-8,
                          "external metrics " + std::to_string(i));
  }
  ExpectSameJsonTracked(json(Cohort(live, "comparisons", "external_site")),
                        json(Cohort(sim, "comparisons", "external_site")), 1e-8,
                        "external comparisons");
  std::string aucs;
  for (const json& m : live_metrics) {
    aucs += m["model"].get<std::string>() + " AUC " + Num(m["auc"].get<double>()) + " [" +
            Num(m["auc_ci_low"].get<double>()) + ", " + Num(m["auc_ci_high"].get<double>()) +
            "] n " + m["cases"].dump() + "/" + m["controls"].dump() + "; ";
  }
  ::testing::Test::RecordProperty("external_live", aucs);
  ::testing::Test::RecordProperty("max_abs_difference_live_vs_simulate", Num(g_largest_difference));
  std::printf("external site_d (live): %s\nmax |live - simulate| over the external cohort: %s\n",
              aucs.c_str(), Num(g_largest_difference).c_str());
  // The external site in the cohort table and the privacy ledger.
  bool in_table = false, in_ledger = false;
  for (const json& site : live["sites"]) {
    if (site["site_id"] == kExternal) {
      in_table = true;
      EXPECT_EQ(site["role"], "external");
      EXPECT_EQ(site["cases"].get<std::int64_t>() + site["controls"].get<std::int64_t>(),
                kRowsPerSite);
    }
  }
  // The train sites' counts: each site released them in its JOB_ACCEPT
  // (docs/protocol.md), equal to what simulate reads from the tables.
  std::size_t train_rows = 0;
  for (const json& expected : sim["sites"]) {
    if (expected["role"] != "train") continue;
    ++train_rows;
    bool found = false;
    for (const json& site : live["sites"]) {
      if (site["site_id"] != expected["site_id"]) continue;
      found = true;
      EXPECT_EQ(site["role"], "train");
      EXPECT_EQ(site["cases"], expected["cases"]) << site.dump();
      EXPECT_EQ(site["controls"], expected["controls"]) << site.dump();
      EXPECT_EQ(site["disclosure_minimum"], 5);  // the sites' default policy k
    }
    EXPECT_TRUE(found) << expected.dump() << " missing from " << live["sites"].dump();
  }
  EXPECT_EQ(train_rows, kTrain.size());
  for (const json& site : live["ledger"]) {
    if (site["site_id"] == kExternal) {
      in_ledger = true;
      EXPECT_EQ(site["role"], "external");
      EXPECT_EQ(site["rounds"], 1);  // one local_evaluation round, no training round
      EXPECT_GT(site["bytes_from"].get<std::int64_t>(), 0);
    } else {
      EXPECT_EQ(site["role"], "train");
    }
  }
  EXPECT_TRUE(in_table) << live["sites"].dump();
  EXPECT_TRUE(in_ledger) << live["ledger"].dump();
  EXPECT_NE(ReadTextFile(federated + "/report.html").find(kExternal), std::string::npos);

  // Five audit logs verify together.
  std::vector<std::string> args = {"audit", "verify", dir.File("coordinator.audit.jsonl")};
  for (const std::string& id : {"site_a", "site_b", "site_c", "site_d"}) {
    args.push_back(dir.File(id + ".audit.jsonl"));
  }
  args.push_back("--keys");
  args.push_back(dir.File("keys"));
  auto verify = Process::StartFedrad("audit-verify", args, dir.path());
  ASSERT_NE(verify, nullptr);
  const auto verified = verify->WaitForExit(Consortium::kJobWait);
  const std::string report = verify->Stdout() + verify->Stderr();
  EXPECT_EQ(verified.value_or(-1), 0) << report;
  EXPECT_NE(report.find("RESULT: PASS"), std::string::npos) << report;
  EXPECT_NE(report.find("What left site_d"), std::string::npos) << report;
}

TEST(ExternalSiteLive, TwoExternalSitesBelowMinSitesAreRefusedBeforeTheStudy) {
  TempDir dir;
  Consortium study(
      dir, {.sites = {{"site_a", 0}, {"site_b", 0}, {"site_c", 0}, {"site_d", 0}, {"site_e", 0}}});
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  json sites = study.StudySites({"site_a", "site_b", "site_c", "site_d", "site_e"});
  sites[3]["role"] = "external";
  sites[4]["role"] = "external";
  const StudyFiles files = WriteStudy(dir, sites, {{"min_sites", 3}}, {"site_d", "site_e"});
  PatchJson(dir.File("coordinator.json"), [&](json& c) {
    c["coordinator"]["job"] = "study";
    c["study"] = {{"spec", files.spec}, {"out_dir", dir.File("out")}};
  });
  ASSERT_NO_FATAL_FAILURE(study.StartCoordinator());
  const auto code = study.coordinator().WaitForExit(Consortium::kJobWait);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  const std::string text = study.coordinator().Stderr() + ReadTextFile(study.CoordinatorLog());
  EXPECT_NE(text.find("2 external sites (site_d, site_e)"), std::string::npos) << text;
  EXPECT_NE(text.find("allow_fewer_sites"), std::string::npos) << text;
}

// Two external sites with allow_fewer_sites: each is evaluated alone (one
// local_evaluation round each) and both pooled by secure rounds among
// themselves; the pooled external cohort equals simulate's (1e-8).
TEST(ExternalSiteLive, TwoExternalSitesArePooledSecurelyWithAllowFewerSites) {
  TempDir dir;
  const std::vector<std::string> all = {"site_a", "site_b", "site_c", "site_d", "site_e"};
  Consortium study(
      dir, {.sites = {{"site_a", 0}, {"site_b", 0}, {"site_c", 0}, {"site_d", 0}, {"site_e", 0}},
            .heartbeat_liveness = 50,
            .job_timeout_s = 60});
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  json sites = study.StudySites(all);
  sites[3]["role"] = "external";
  sites[4]["role"] = "external";
  const StudyFiles files =
      WriteStudy(dir, sites, {{"min_sites", 3}, {"allow_fewer_sites", true}}, {"site_d", "site_e"});
  std::vector<std::string> simulate = {"simulate", "--spec", files.spec, "--out",
                                       dir.File("out_simulate")};
  for (std::size_t s = 0; s < kTrain.size(); ++s) {
    simulate.push_back("--site");
    simulate.push_back(kTrain[s] + "=" + files.train_csv[s]);
  }
  for (std::size_t e = 0; e < 2; ++e) {
    simulate.push_back("--external");
    simulate.push_back(all[3 + e] + "=" + files.externals_csv[e]);
  }
  ASSERT_NO_FATAL_FAILURE(RunFedrad("simulate", simulate, dir));
  const std::string federated = dir.File("out_federated");
  PatchJson(dir.File("coordinator.json"), [&](json& c) {
    c["coordinator"]["job"] = "study";
    c["study"] = {{"spec", files.spec}, {"out_dir", federated}, {"round_timeout_s", 30}};
  });
  ASSERT_NO_FATAL_FAILURE(study.StartCoordinator());
  std::vector<std::unique_ptr<Process>> processes;
  for (std::size_t s = 0; s < all.size(); ++s) {
    const std::string csv = s < kTrain.size() ? files.train_csv[s] : files.externals_csv[s - 3];
    PatchJson(study.SiteConfig(all[s]), [&](json& c) {
      c.erase("data");
      c["study"] = {{"spec", files.spec}, {"features", csv}};
    });
    ASSERT_NO_FATAL_FAILURE(study.ApproveStudy(all[s], files.spec));
    processes.push_back(study.StartSite(all[s]));
    ASSERT_NE(processes.back(), nullptr);
  }
  const auto code = study.coordinator().WaitForExit(Consortium::kJobWait);
  ASSERT_TRUE(code.has_value()) << "the coordinator did not finish the study";
  ASSERT_EQ(*code, 0) << "coordinator stderr:\n"
                      << study.coordinator().Stderr() << "\nlog:\n"
                      << ReadTextFile(study.CoordinatorLog());
  for (auto& p : processes) ASSERT_NO_FATAL_FAILURE(Consortium::ExpectSiteFinished(p.get()));
  const json live = ReadJson(federated + "/results.json");
  const json sim = ReadJson(dir.File("out_simulate/results.json"));
  ASSERT_TRUE(live.is_object());
  ASSERT_TRUE(sim.is_object());
  for (const std::string kind : {"external_site", "external_pooled"}) {
    SCOPED_TRACE(kind);
    const std::vector<json> a = Cohort(live, "metrics", kind);
    const std::vector<json> b = Cohort(sim, "metrics", kind);
    ASSERT_EQ(a.size(), kind == "external_site" ? 4u : 2u);
    ExpectSameJsonTracked(json(a), json(b), 1e-8, kind + " metrics");
    ExpectSameJsonTracked(json(Cohort(live, "comparisons", kind)),
                          json(Cohort(sim, "comparisons", kind)), 1e-8, kind + " comparisons");
  }
  EXPECT_EQ(Cohort(live, "metrics", "external_pooled").front()["mode"], "pooled_grid");
  for (const json& site : live["ledger"]) {
    if (site["role"] == "external") {
      // One local evaluation, then the pooled rounds (two ROC rounds and the
      // recalibration's Newton rounds, concurrent), each secure.
      EXPECT_GE(site["rounds"].get<std::int64_t>(), 4) << site.dump();
    }
  }
}

}  // namespace
}  // namespace fedrad::integration

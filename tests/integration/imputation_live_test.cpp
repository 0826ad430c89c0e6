// Missing values imputed with a pooled statistic over the wire
// (data_dictionary "missing": "impute"; docs/methods.md §11). Three
// `fedrad site` processes on 127.0.0.1 hold clinical CSVs with empty and
// "NA" cells; the coordinator runs the study with secure aggregation (the
// default): one round of imputation sums, then every request carries the
// imputation values of its fit. The coordinator's model.json files must
// equal those of `fedrad simulate` on the same folders within 1e-8 (the
// imputation values too), study.json and results.json must count every
// missing cell, and the four audit logs must verify together.
#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
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

const std::vector<std::string> kSites = {"site_a", "site_b", "site_c"};
constexpr int kRowsPerSite = 120;  // every count passes the default disclosure policy (k = 5)

// data/<site>/clinical.csv for every site; returns the number of missing
// study-table cells (a missing stage empties its 2 dummy columns, a missing
// ca19_9 its derived column, the only one made from it).
double WriteClinical(const TempDir& dir) {
  std::mt19937_64 rng(20261127);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform;
  double missing_cells = 0.0;
  for (std::size_t s = 0; s < kSites.size(); ++s) {
    std::string csv = "case_id,recurrence_2y,nodal_positive,age_years,ca19_9_u_ml,stage,marker\n";
    for (int i = 0; i < kRowsPerSite; ++i) {
      const bool nodal = uniform(rng) < 0.4;
      const double age = 60.0 + 9.0 * normal(rng) + 2.0 * static_cast<double>(s);
      const double ca = std::exp(4.8 + normal(rng));
      const double u = uniform(rng);
      const int stage = u < 0.35 ? 0 : (u < 0.7 ? 1 : 2);
      const double marker = normal(rng);
      const double eta = -0.4 + 1.1 * nodal + 0.05 * (age - 60.0) + 0.9 * (stage == 2) +
                         0.8 * marker + 0.5 * (ca > 200.0) + 0.6 * normal(rng);
      // About 10% of each variable missing, as an empty cell or "NA".
      const auto cell = [&](const std::string& value, double cells) {
        if (uniform(rng) >= 0.1) return value;
        missing_cells += cells;
        return std::string(uniform(rng) < 0.5 ? "" : "NA");
      };
      const char* levels[] = {"I", "II", "III"};
      csv += kSites[s] + "-" + std::to_string(i) + "," + (eta > 0 ? "1" : "0") + "," +
             cell(nodal ? "1" : "0", 1) + "," + cell(Num(age), 1) + "," + cell(Num(ca), 1) + "," +
             cell(levels[stage], 2) + "," + cell(Num(marker), 1) + "\n";
    }
    std::filesystem::create_directories(dir.File("data/" + kSites[s]));
    WriteTextFile(dir.File("data/" + kSites[s] + "/clinical.csv"), csv);
  }
  return missing_cells;
}

std::string WriteSpec(const TempDir& dir, const json& sites) {
  const json spec = {
      {"study_id", "impute-study"},
      {"data_dictionary",
       {{"label_column", "recurrence_2y"},
        {"missing", "impute"},
        {"variables",
         {{{"name", "nodal_positive"}, {"type", "binary"}},
          {{"name", "age_years"}, {"type", "number"}, {"unit", "years"}, {"range", {0, 120}}},
          {{"name", "ca19_9_u_ml"}, {"type", "number"}, {"unit", "U/mL"}, {"range", {0, 1e9}}},
          {{"name", "stage"}, {"type", "categorical"}, {"levels", {"I", "II", "III"}}},
          {{"name", "marker"}, {"type", "number"}}}},
        {"derived",
         {{{"name", "ca19_9_gt_200"},
           {"variable", "ca19_9_u_ml"},
           {"op", ">"},
           {"threshold", 200}}}},
        {"features", {"nodal_positive", "age_years", "stage", "ca19_9_gt_200", "marker"}}}},
      {"models",
       {{{"name", "clinical"}, {"columns", {"clin_*"}}},
        {{"name", "staging"}, {"columns", {"clin_stage_*", "clin_age_years"}}}}},
      {"cv", {{"folds", 3}, {"seed", 7}}},
      {"lasso", {{"nlambda", 12}}},
      {"svm", {{"c_grid", {0.1, 1.0}}, {"histogram_bins", 64}}},
      {"sites", sites},
  };
  const std::string path = dir.File("study.json");
  WriteTextFile(path, spec.dump(2) + "\n");
  return path;
}

TEST(ImputationOverTheWire, SitesWithMissingCellsMatchSimulateWithSecureAggregation) {
  TempDir dir;
  Consortium study(dir, {.sites = {{"site_a", 0}, {"site_b", 0}, {"site_c", 0}},
                         .heartbeat_liveness = 50,
                         .job_timeout_s = 60});
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  const double missing_cells = WriteClinical(dir);
  const std::string spec = WriteSpec(dir, study.StudySites(kSites));

  // The reference first (the live run then has the CPU to itself).
  std::vector<std::string> simulate = {"simulate", "--spec", spec, "--out",
                                       dir.File("out_simulate")};
  for (const std::string& id : kSites) {
    simulate.push_back("--site");
    simulate.push_back(id + "=" + dir.File("data/" + id));
  }
  ASSERT_NO_FATAL_FAILURE(RunFedrad("simulate", simulate, dir));

  const std::string federated = dir.File("out_federated");
  PatchJson(dir.File("coordinator.json"), [&](json& c) {
    c["coordinator"]["job"] = "study";
    c["study"] = {{"spec", spec}, {"out_dir", federated}, {"round_timeout_s", 30}};
  });
  ASSERT_NO_FATAL_FAILURE(study.StartCoordinator());
  for (const std::string& id : kSites) {
    PatchJson(study.SiteConfig(id), [&](json& c) {
      c["data"] = {{"clinical", dir.File("data/" + id + "/clinical.csv")}};
      c["study"] = {{"spec", spec}};
    });
    study.ApproveStudy(id, spec);
  }
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
  EXPECT_EQ(CountOccurrences(study.CoordinatorLog(), "secure aggregation is off"), 0u);

  for (const std::string model : {"clinical", "staging"}) {
    SCOPED_TRACE(model);
    const json fed = ReadJson(federated + "/" + model + "/model.json");
    const json sim = ReadJson(dir.File("out_simulate/" + model + "/model.json"));
    ASSERT_TRUE(fed.is_object()) << federated << "/" << model << "/model.json";
    ASSERT_TRUE(sim.is_object());
    EXPECT_EQ(fed["provenance"]["mode"], "federated");
    ASSERT_TRUE(fed["imputation"].is_array());
    EXPECT_EQ(fed["rounds"], sim["rounds"]);
    // Secure rounds carry more than simulate's plain ones.
    EXPECT_GT(fed["bytes_from_each_site"].get<std::int64_t>(),
              2 * sim["bytes_from_each_site"].get<std::int64_t>());
    ExpectSameJson(fed, sim, 1e-8, model,
                   {"provenance", "wall_seconds", "bytes_to_each_site", "bytes_from_each_site"});
  }
  const json fed_study = ReadJson(federated + "/study.json");
  const json sim_study = ReadJson(dir.File("out_simulate/study.json"));
  ASSERT_TRUE(fed_study["imputation"].is_object()) << fed_study.dump(2);
  ExpectSameJson(fed_study["imputation"], sim_study["imputation"], 1e-8, "study.json imputation");
  EXPECT_EQ(fed_study["imputation"]["missing_cells_imputed"].get<double>(), missing_cells);
  ::testing::Test::RecordProperty("missing_cells_imputed", Num(missing_cells));
  // results.json lists the same, beside the evaluation.
  const json fed_results = ReadJson(federated + "/results.json");
  const json sim_results = ReadJson(dir.File("out_simulate/results.json"));
  ASSERT_TRUE(fed_results["imputation"].is_object()) << fed_results.dump(2);
  EXPECT_EQ(fed_results["imputation"]["missing_cells_imputed"].get<double>(), missing_cells);
  ExpectSameJson(fed_results["imputation"], sim_results["imputation"], 1e-8,
                 "results.json imputation");
  ExpectSameJson(fed_results["metrics"], sim_results["metrics"], 1e-8, "results.json metrics");
  // report.html shows them, with the total.
  const std::string html = ReadTextFile(federated + "/report.html");
  EXPECT_NE(html.find("<section id=\"imputation\">"), std::string::npos);
  EXPECT_NE(html.find(Num(missing_cells) + " missing cells of the training sites were imputed"),
            std::string::npos)
      << Num(missing_cells);

  std::vector<std::string> logs = {dir.File("coordinator.audit.jsonl")};
  for (const std::string& id : kSites) logs.push_back(dir.File(id + ".audit.jsonl"));
  const auto [audit_code, report] = AuditVerify(logs, dir.File("keys"), dir);
  EXPECT_EQ(audit_code, 0) << report;
  EXPECT_NE(report.find("RESULT: PASS (0 error(s), 0 warning(s))"), std::string::npos) << report;
}

// The coordinator is SIGKILLed a few rounds after the imputation round and
// resumed from its journal: the imputation sums are replayed, so the resumed
// requests carry the same fills and the sites (which keep no imputation
// state) compute the same sums; the result equals `fedrad simulate`.
TEST(ImputationOverTheWire, CoordinatorKilledAfterTheImputationRoundResumesToTheSameResult) {
  TempDir dir;
  Consortium study(dir, {.sites = {{"site_a", 0}, {"site_b", 0}, {"site_c", 0}},
                         .heartbeat_liveness = 50,
                         .job_timeout_s = 60});
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  WriteClinical(dir);
  const std::string spec = WriteSpec(dir, study.StudySites(kSites));
  std::vector<std::string> simulate = {"simulate", "--spec", spec, "--out",
                                       dir.File("out_simulate")};
  for (const std::string& id : kSites) {
    simulate.push_back("--site");
    simulate.push_back(id + "=" + dir.File("data/" + id));
  }
  ASSERT_NO_FATAL_FAILURE(RunFedrad("simulate", simulate, dir));

  const std::string federated = dir.File("out_federated");
  const auto point_at = [&](const std::string& bind) {
    PatchJson(dir.File("coordinator.json"), [&](json& c) {
      c["coordinator"]["job"] = "study";
      if (!bind.empty()) c["coordinator"]["bind"] = bind;
      c["study"] = {{"spec", spec}, {"out_dir", federated}, {"round_timeout_s", 30}};
    });
  };
  point_at("");
  std::string endpoint;
  auto first = StartCoordinatorProcess(dir, "coordinator-first", {}, &endpoint);
  ASSERT_NE(first, nullptr);
  ASSERT_FALSE(endpoint.empty()) << first->Stderr();
  study.UseCoordinatorEndpoint(endpoint);
  std::vector<std::unique_ptr<Process>> sites;
  for (const std::string& id : kSites) {
    PatchJson(study.SiteConfig(id), [&](json& c) {
      c["data"] = {{"clinical", dir.File("data/" + id + "/clinical.csv")}};
      c["study"] = {{"spec", spec}};
    });
    study.ApproveStudy(id, spec);
    sites.push_back(study.StartSite(id));
  }
  // Round 1 is the imputation round; kill well after it.
  ASSERT_TRUE(WaitForCount(dir.File("coordinator.audit.jsonl"), "\"event\":\"round_end\"", 12,
                           Consortium::kJobWait))
      << first->Stderr();
  first->Kill(SIGKILL);
  ASSERT_TRUE(first->WaitForExit(milliseconds(5000)).has_value());

  point_at(endpoint);
  std::string resumed_endpoint;
  auto resumed =
      StartCoordinatorProcess(dir, "coordinator-resumed", {"--resume"}, &resumed_endpoint);
  ASSERT_NE(resumed, nullptr);
  EXPECT_EQ(resumed_endpoint, endpoint);
  const auto code = resumed->WaitForExit(Consortium::kJobWait);
  ASSERT_TRUE(code.has_value()) << "the resumed coordinator did not finish";
  ASSERT_EQ(*code, 0) << resumed->Stderr() << "\nlog:\n" << ReadTextFile(study.CoordinatorLog());
  for (auto& site : sites) ASSERT_NO_FATAL_FAILURE(Consortium::ExpectSiteFinished(site.get()));
  EXPECT_GE(CountOccurrences(study.CoordinatorLog(), "resuming the study from its journal"), 1u);
  for (const std::string model : {"clinical", "staging"}) {
    SCOPED_TRACE(model);
    const json fed = ReadJson(federated + "/" + model + "/model.json");
    const json sim = ReadJson(dir.File("out_simulate/" + model + "/model.json"));
    ASSERT_TRUE(fed.is_object() && sim.is_object());
    ExpectSameJson(fed, sim, 1e-8, model,
                   {"provenance", "wall_seconds", "bytes_to_each_site", "bytes_from_each_site"});
  }
  ExpectSameJson(ReadJson(federated + "/results.json")["imputation"],
                 ReadJson(dir.File("out_simulate/results.json"))["imputation"], 1e-8,
                 "results.json imputation");
}

}  // namespace
}  // namespace fedrad::integration

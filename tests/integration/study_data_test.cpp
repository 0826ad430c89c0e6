// Site data validation and "same features everywhere" over the wire
// (docs/protocol.md 4.4; site_agent/study_data.hpp). Three `fedrad site`
// processes hold one site each of a `fedrad synth` consortium (clinical CSV +
// manifest of images and masks) and a spec with a data dictionary and
// radiomics params beside it. A site whose params file differs (the spec's
// bytes, hence its approval, are the same) reports another params hash in
// JOB_ACCEPT, and the coordinator refuses to start (exit 4) naming the field,
// the sites and both hashes. A site whose clinical CSV has a bad label
// declines the study with the file, line and column, and the coordinator
// fails naming it.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/consortium.hpp"
#include "support/process.hpp"
#include "support/study_support.hpp"

namespace fedrad::integration {
namespace {

using nlohmann::json;

const std::vector<std::string> kSites = {"site_a", "site_b", "site_c"};

json LightParams(int bin_count) {
  return {{"imageType", {{"Original", json::object()}}},
          {"featureClass", {{"firstorder", {"Mean", "Variance"}}, {"shape2D", {"PixelSurface"}}}},
          {"setting", {{"binCount", bin_count}}},
          {"regions", {{"ringWidthsMm", json::array()}, {"parenchyma", false}}}};
}

// The consortium, the spec (one copy per party, each beside its own
// radiomics.json: site_c's params differ when `site_c_bins` != 32) and the
// coordinator's config. Use with ASSERT_NO_FATAL_FAILURE.
void SetUpStudy(const TempDir& dir, Consortium& study, int site_c_bins) {
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  auto synth = Process::StartFedrad("synth",
                                    {"synth", "--out", dir.File("consortium"), "--sites",
                                     "site_a:train:8,site_b:train:8,site_c:train:8", "--image-size",
                                     "128", "--spacing", "0.4", "--seed", "3"},
                                    dir.path());
  ASSERT_NE(synth, nullptr);
  const auto synth_code = synth->WaitForExit(milliseconds(60000));
  ASSERT_TRUE(synth_code.has_value() && *synth_code == 0) << synth->Stderr();

  const json spec = {
      {"study_id", "data-study"},
      {"data_dictionary",
       {{"label_column", "recurrence_2y"},
        {"variables",
         {{{"name", "nodal_positive"}, {"type", "binary"}},
          {{"name", "ca19_9_u_ml"}, {"type", "number"}, {"unit", "U/mL"}, {"range", {0, 1e9}}},
          {{"name", "sex"}, {"type", "categorical"}, {"levels", {"F", "M"}}}}},
        {"derived",
         {{{"name", "ca19_9_gt_200"},
           {"variable", "ca19_9_u_ml"},
           {"op", ">"},
           {"threshold", 200}}}},
        {"features", {"nodal_positive", "sex", "ca19_9_gt_200"}}}},
      {"radiomics", {{"params", "radiomics.json"}}},
      {"models",
       {{{"name", "clinical"}, {"columns", {"clin_*"}}},
        {{"name", "combined"}, {"columns", {"clin_*", "lesion_*"}}}}},
      {"cv", {{"folds", 3}}},
      {"sites", study.StudySites(kSites)},
  };
  const std::string text = spec.dump(2) + "\n";
  for (const std::string& party : {"coordinator", "site_a", "site_b", "site_c"}) {
    const std::string folder = dir.File("spec_" + std::string(party));
    std::filesystem::create_directories(folder);
    WriteTextFile(folder + "/study.json", text);
    WriteTextFile(folder + "/radiomics.json",
                  LightParams(std::string(party) == "site_c" ? site_c_bins : 32).dump(2));
  }
  PatchJson(dir.File("coordinator.json"), [&](json& c) {
    c["coordinator"]["job"] = "study";
    c["study"] = {{"spec", dir.File("spec_coordinator/study.json")},
                  {"out_dir", dir.File("out")},
                  {"round_timeout_s", 30}};
  });
}

// After StartCoordinator (which rewrites the site configs with its endpoint):
// each site's data and spec, approved.
void ConfigureSites(const TempDir& dir, Consortium& study) {
  for (const std::string& id : kSites) {
    const std::string spec_path = dir.File("spec_" + id + "/study.json");
    PatchJson(study.SiteConfig(id), [&](json& c) {
      c["data"] = {{"clinical", dir.File("consortium/" + id + "/clinical.csv")},
                   {"manifest", dir.File("consortium/" + id + "/manifest.csv")}};
      c["study"] = {{"spec", spec_path}};
    });
    study.ApproveStudy(id, spec_path);
  }
}

std::string ParamsHashOf(const TempDir& dir, const std::string& site) {
  // The site's extraction (data.work_dir defaults to work/<site id> beside
  // its config) records the params hash in its provenance sidecar.
  const json sidecar = ReadJson(dir.File("work/" + site + "/radiomics.provenance.json"));
  return sidecar.is_object() ? sidecar.value("params_sha256", "") : "";
}

TEST(StudyDataOverTheWire, SitesWithDifferentRadiomicsParamsAreRefusedNamingBothHashes) {
  TempDir dir;
  Consortium study(dir, {.sites = {{"site_a", 0}, {"site_b", 0}, {"site_c", 0}},
                         .heartbeat_liveness = 50,
                         .job_timeout_s = 60});
  ASSERT_NO_FATAL_FAILURE(SetUpStudy(dir, study, /*site_c_bins=*/16));
  ASSERT_NO_FATAL_FAILURE(study.StartCoordinator());
  ASSERT_NO_FATAL_FAILURE(ConfigureSites(dir, study));
  std::vector<std::unique_ptr<Process>> sites;
  for (const std::string& id : kSites) sites.push_back(study.StartSite(id));

  const auto code = study.coordinator().WaitForExit(Consortium::kJobWait);
  ASSERT_TRUE(code.has_value()) << "the coordinator did not stop";
  const std::string err = study.coordinator().Stderr();
  EXPECT_EQ(*code, 4) << err;
  const std::string hash_ab = ParamsHashOf(dir, "site_a");
  const std::string hash_c = ParamsHashOf(dir, "site_c");
  ASSERT_EQ(hash_ab.size(), 64u);
  ASSERT_EQ(hash_c.size(), 64u);
  ASSERT_NE(hash_ab, hash_c);
  EXPECT_EQ(ParamsHashOf(dir, "site_b"), hash_ab);
  EXPECT_NE(err.find("refusing to start: the sites' study data were made differently: "
                     "radiomics_params_sha256 differs:"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("site_a, site_b have \"" + hash_ab + "\""), std::string::npos) << err;
  EXPECT_NE(err.find("site_c has \"" + hash_c + "\""), std::string::npos) << err;
  // No round was run.
  EXPECT_EQ(CountOccurrences(study.CoordinatorLog(), "site accepted the study"), 3u);
  for (auto& site : sites) site->Kill(SIGTERM);
}

TEST(StudyDataOverTheWire, ASiteWithABadClinicalRowDeclinesNamingLineAndColumn) {
  TempDir dir;
  Consortium study(dir, {.sites = {{"site_a", 0}, {"site_b", 0}, {"site_c", 0}},
                         .heartbeat_liveness = 50,
                         .job_timeout_s = 60});
  ASSERT_NO_FATAL_FAILURE(SetUpStudy(dir, study, /*site_c_bins=*/32));
  // site_b's second case gets the label 2 (line 3 of its clinical CSV;
  // recurrence_2y is its second column).
  const std::string clinical = dir.File("consortium/site_b/clinical.csv");
  std::string text = ReadTextFile(clinical);
  const auto line3 = text.find('\n', text.find('\n') + 1) + 1;
  const auto comma = text.find(',', line3);
  text.replace(comma + 1, 1, "2");
  WriteTextFile(clinical, text);

  ASSERT_NO_FATAL_FAILURE(study.StartCoordinator());
  ASSERT_NO_FATAL_FAILURE(ConfigureSites(dir, study));
  std::vector<std::unique_ptr<Process>> sites;
  for (const std::string& id : kSites) sites.push_back(study.StartSite(id));
  const auto code = study.coordinator().WaitForExit(Consortium::kJobWait);
  ASSERT_TRUE(code.has_value()) << "the coordinator did not stop";
  const std::string err = study.coordinator().Stderr();
  EXPECT_EQ(*code, 1) << err;
  EXPECT_NE(err.find("site site_b declined: site data validation failed: 1 problem in this "
                     "site's study data:"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find(clinical + ":3: column 'recurrence_2y': expected 0 or 1, got '2'"),
            std::string::npos)
      << err;
  for (auto& site : sites) site->Kill(SIGTERM);
}

}  // namespace
}  // namespace fedrad::integration

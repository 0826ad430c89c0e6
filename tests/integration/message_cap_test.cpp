// A site's message cap (network.max_message_bytes) is checked before it
// computes a round (issue 5): a reply that would exceed it is refused with an
// ERROR naming the cap and the size in plain values or, in a secure round, in
// masked words (2-3 per value), instead of reaching the transport's limit.
// The study then fails naming the site. Real processes on 127.0.0.1.
#include <gtest/gtest.h>

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

// Runs the synthetic study with site_a's cap at 4096 bytes; returns the
// coordinator's stderr after checking that the study failed.
std::string RunWithSmallCap(bool secure) {
  TempDir dir;
  Consortium study(dir,
                   {.sites = {{"site_a", 0}, {"site_b", 0}, {"site_c", 0}}, .job_timeout_s = 60});
  study.Setup();
  SyntheticStudyOptions options;
  options.spec_overrides = {{"privacy", {{"secure_aggregation", secure}}}};
  const SyntheticStudyFiles files = WriteSyntheticStudy(dir, study.StudySites(kSites), options);
  PatchJson(dir.File("coordinator.json"), [&](json& c) {
    c["coordinator"]["job"] = "study";
    c["study"] = {{"spec", files.spec}, {"out_dir", dir.File("out")}, {"round_timeout_s", 30}};
  });
  study.StartCoordinator();
  std::vector<std::unique_ptr<Process>> sites;
  for (const std::string& id : kSites) {
    PatchJson(study.SiteConfig(id), [&](json& c) {
      c.erase("data");
      c["study"] = {{"spec", files.spec}, {"features", files.site_csv.at(id)}};
      if (id == "site_a") c["network"]["max_message_bytes"] = 4096;
    });
    study.ApproveStudy(id, files.spec);
    sites.push_back(study.StartSite(id, false));
  }
  const auto code = study.coordinator().WaitForExit(Consortium::kJobWait);
  EXPECT_TRUE(code.has_value()) << "the coordinator did not finish";
  EXPECT_NE(code.value_or(0), 0) << "the study should fail";
  EXPECT_GE(CountOccurrences(study.SiteLog("site_a"), "message cap of 4096 bytes"), 1u)
      << ReadTextFile(study.SiteLog("site_a"));
  return study.coordinator().Stderr() + ReadTextFile(study.CoordinatorLog());
}

TEST(MessageCap, APlainReplyAboveTheSiteCapIsRefusedNamingValuesAndCap) {
  const std::string text = RunWithSmallCap(false);
  EXPECT_NE(text.find("site_a"), std::string::npos) << text;
  EXPECT_NE(text.find(" values ("), std::string::npos) << text;
  EXPECT_NE(text.find("above this site's message cap of 4096 bytes"), std::string::npos) << text;
}

TEST(MessageCap, AMaskedReplyCountsItsWordsAgainstTheCap) {
  const std::string text = RunWithSmallCap(true);
  EXPECT_NE(text.find("site_a"), std::string::npos) << text;
  EXPECT_NE(text.find(" masked words ("), std::string::npos) << text;
  EXPECT_NE(text.find("above this site's message cap of 4096 bytes"), std::string::npos) << text;
}

}  // namespace
}  // namespace fedrad::integration

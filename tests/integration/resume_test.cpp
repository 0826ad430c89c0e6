// Failure drill (issue 7): the coordinator is SIGKILLed during cross-validation
// and `fedrad coordinator --resume` continues the study from its round
// journal. The resumed run's results.json and models equal those of an
// uninterrupted run of the same study on the same sites (apart from times),
// the sites are asked only the rounds the journal did not hold, and starting
// the study again without --resume is refused while the journal exists.
// Real processes on 127.0.0.1, secure aggregation on (the default).
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
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
const std::vector<std::string> kTimeKeys = {"started_utc", "finished_utc", "wall_seconds"};

void PointStudyAt(const TempDir& dir, const SyntheticStudyFiles& files, const std::string& out,
                  const std::string& bind) {
  PatchJson(dir.File("coordinator.json"), [&](json& c) {
    c["coordinator"]["job"] = "study";
    if (!bind.empty()) c["coordinator"]["bind"] = bind;
    c["study"] = {{"spec", files.spec}, {"out_dir", out}, {"round_timeout_s", 30}};
  });
}

// After Consortium::StartCoordinator or UseCoordinatorEndpoint rewrote the
// site configs: each site's study section and its approval.
void ConfigureSites(Consortium& study, const SyntheticStudyFiles& files) {
  for (const std::string& id : kSites) {
    PatchJson(study.SiteConfig(id), [&](json& c) {
      c.erase("data");
      c["study"] = {{"spec", files.spec}, {"features", files.site_csv.at(id)}};
    });
    study.ApproveStudy(id, files.spec);
  }
}

std::vector<std::unique_ptr<Process>> StartSites(Consortium& study, const std::string& instance) {
  std::vector<std::unique_ptr<Process>> sites;
  for (const std::string& id : kSites) sites.push_back(study.StartSite(id, true, instance));
  return sites;
}

TEST(CoordinatorResume, KilledDuringCrossValidationResumesToTheUninterruptedResult) {
  TempDir dir;
  Consortium study(dir, {.sites = {{"site_a", 0}, {"site_b", 0}, {"site_c", 0}},
                         .heartbeat_interval_ms = 200,
                         .job_timeout_s = 60});
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  const SyntheticStudyFiles files = WriteSyntheticStudy(dir, study.StudySites(kSites));

  // --- run A: uninterrupted ---
  const std::string out_a = dir.File("out_a");
  ASSERT_NO_FATAL_FAILURE(PointStudyAt(dir, files, out_a, ""));
  ASSERT_NO_FATAL_FAILURE(study.StartCoordinator());
  ASSERT_NO_FATAL_FAILURE(ConfigureSites(study, files));
  {
    auto sites = StartSites(study, "a");
    const auto code = study.coordinator().WaitForExit(Consortium::kJobWait);
    ASSERT_TRUE(code.has_value()) << "run A did not finish";
    ASSERT_EQ(*code, 0) << study.coordinator().Stderr();
    for (auto& site : sites) ASSERT_NO_FATAL_FAILURE(Consortium::ExpectSiteFinished(site.get()));
  }
  const std::string audit = dir.File("coordinator.audit.jsonl");
  const std::size_t rounds_a = CountOccurrences(audit, "\"event\":\"round_end\"");
  ASSERT_GT(rounds_a, 30u);

  // --- run B: killed a third of the way in, during cross-validation ---
  const std::string out_b = dir.File("out_b");
  ASSERT_NO_FATAL_FAILURE(PointStudyAt(dir, files, out_b, ""));
  std::string endpoint;
  auto first = StartCoordinatorProcess(dir, "coordinator-b", {}, &endpoint);
  ASSERT_NE(first, nullptr);
  ASSERT_FALSE(endpoint.empty()) << first->Stderr();
  study.UseCoordinatorEndpoint(endpoint);
  ASSERT_NO_FATAL_FAILURE(ConfigureSites(study, files));
  auto sites = StartSites(study, "b");
  ASSERT_TRUE(
      WaitForCount(audit, "\"event\":\"round_end\"", rounds_a + rounds_a / 3, Consortium::kJobWait))
      << first->Stderr();
  first->Kill(SIGKILL);
  ASSERT_TRUE(first->WaitForExit(milliseconds(5000)).has_value());
  const std::string journal = out_b + "/coordinator.journal";
  ASSERT_TRUE(std::filesystem::exists(journal));

  // Starting the study again without --resume is refused, naming the way out.
  {
    ASSERT_NO_FATAL_FAILURE(PointStudyAt(dir, files, out_b, endpoint));
    std::string unused;
    auto fresh = StartCoordinatorProcess(dir, "coordinator-fresh", {}, &unused);
    ASSERT_NE(fresh, nullptr);
    const auto code = fresh->WaitForExit(Consortium::kJobWait);
    ASSERT_TRUE(code.has_value());
    EXPECT_NE(*code, 0);
    EXPECT_NE(fresh->Stderr().find("--resume"), std::string::npos) << fresh->Stderr();
  }

  // --- resume on the same endpoint; the sites reconnect by themselves ---
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

  // The resumed run asked the sites only the rounds the journal lacked:
  // run B's live rounds over both processes = run A's rounds (+ the one
  // round in flight at the kill, asked twice).
  const std::size_t rounds_b = CountOccurrences(audit, "\"event\":\"round_end\"") - rounds_a;
  EXPECT_GE(rounds_b, rounds_a);
  EXPECT_LE(rounds_b, rounds_a + 1);

  const json a = ReadJson(out_a + "/results.json");
  const json b = ReadJson(out_b + "/results.json");
  ASSERT_TRUE(a.is_object() && b.is_object());
  ExpectSameJson(a, b, 0.0, "results.json", kTimeKeys);
  for (const char* model : {"first", "all"}) {
    const std::string name = std::string(model) + "/model.json";
    ExpectSameJson(ReadJson(out_a + "/" + name), ReadJson(out_b + "/" + name), 0.0, name,
                   kTimeKeys);
  }
  // Both runs' audit logs (the coordinator's spans its crash and restart)
  // verify together; messages in flight at the kill are lost_in_crash
  // warnings, not errors.
  std::vector<std::string> logs = {audit};
  for (const std::string& id : kSites) logs.push_back(dir.File(id + ".audit.jsonl"));
  const auto [verify_code, report] = AuditVerify(logs, dir.File("keys"), dir);
  EXPECT_EQ(verify_code, 0) << report;
  EXPECT_NE(report.find("RESULT: PASS"), std::string::npos) << report;
}

}  // namespace
}  // namespace fedrad::integration

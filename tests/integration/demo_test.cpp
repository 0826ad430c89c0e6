// `fedrad demo --quick`: the README's main command end to end (synthetic
// consortium, keys, configs, a coordinator and four site processes on
// loopback, site-side validation and extraction, the three models with
// secure aggregation, external evaluation, results, report, audit).
// The time target (<= 2 min for the full demo) is measured by
// bench/run_demo_bench.sh, not here.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace fedrad::integration {
namespace {

namespace fs = std::filesystem;

TEST(Demo, QuickDemoRunsTheWholeStudyAndItsAuditVerifies) {
  TempDir dir;
  const std::string out = dir.File("demo");
  auto demo = Process::StartFedrad("demo", {"demo", "--quick", "--out", out}, dir.path());
  ASSERT_NE(demo, nullptr);
  const auto code = demo->WaitForExit(milliseconds(150000));
  ASSERT_TRUE(code.has_value()) << "the demo did not finish within 150 s\n" << demo->Stdout();
  ASSERT_EQ(*code, 0) << demo->Stdout() << demo->Stderr();
  const std::string printed = demo->Stdout();
  EXPECT_NE(printed.find("training"), std::string::npos) << printed;  // progress phases
  EXPECT_NE(printed.find("round"), std::string::npos) << printed;
  EXPECT_NE(printed.find("passed"), std::string::npos) << printed;  // audit verify

  // results.json: the three models, evaluated on the CV cohort and on the
  // external site.
  const std::string results_path = out + "/coordinator/results/results.json";
  const auto results = nlohmann::json::parse(ReadTextFile(results_path), nullptr, false);
  ASSERT_TRUE(results.is_object()) << results_path;
  std::set<std::string> models;
  for (const auto& model : results.at("models")) models.insert(model.at("name"));
  EXPECT_EQ(models, (std::set<std::string>{"clinical", "radiomics", "combined"}));
  std::set<std::string> external_models;
  for (const auto& metric : results.at("metrics")) {
    if (metric.at("cohort").at("kind") == "external_site" &&
        metric.at("cohort").at("name") == "hospital_d") {
      external_models.insert(metric.at("model"));
      EXPECT_EQ(metric.at("cases").get<long>() + metric.at("controls").get<long>(), 40);
    }
  }
  EXPECT_EQ(external_models, models) << "every model evaluated on the external site";
  EXPECT_TRUE(results.at("study").at("secure_aggregation").get<bool>());
  const std::string report = ReadTextFile(out + "/coordinator/results/report.html");
  EXPECT_NE(report.find("<html"), std::string::npos);

  // The audit trail verifies when checked independently of the demo.
  std::vector<std::string> args{"audit", "verify", out + "/coordinator/coordinator.audit.jsonl"};
  for (const char* site : {"hospital_a", "hospital_b", "hospital_c", "hospital_d"}) {
    args.push_back(out + "/" + site + "/" + site + ".audit.jsonl");
  }
  args.insert(args.end(), {"--keys", out + "/keys"});
  auto verify = Process::StartFedrad("verify", args, dir.path());
  ASSERT_NE(verify, nullptr);
  EXPECT_EQ(verify->WaitForExit(milliseconds(30000)), 0) << verify->Stdout() << verify->Stderr();

  // Real configs: secret keys private, each site extracted its own radiomics.
  struct stat info {};
  ASSERT_EQ(::stat((out + "/hospital_a/keys/hospital_a.secret").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_TRUE(fs::exists(out + "/hospital_d/work/radiomics.csv"));
  EXPECT_TRUE(fs::exists(out + "/DEMO.txt"));

  // The folder is not overwritten without --force.
  auto again = Process::StartFedrad("again", {"demo", "--quick", "--out", out}, dir.path());
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->WaitForExit(milliseconds(30000)), 1);
  EXPECT_NE(again->Stderr().find("--force"), std::string::npos) << again->Stderr();
  EXPECT_TRUE(fs::exists(results_path));
}

}  // namespace
}  // namespace fedrad::integration

// A cohort-size study end to end: real `fedrad coordinator` and `fedrad site`
// processes on 127.0.0.1, talking CurveZMQ.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/consortium.hpp"
#include "support/process.hpp"

namespace fedrad::integration {
namespace {

TEST(CohortStudy, ThreeSitesReportTheirTotal) {
  TempDir dir;
  Consortium study(dir, {.sites = {{"site_a", 80}, {"site_b", 75}, {"site_c", 69}}});
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  ASSERT_NO_FATAL_FAILURE(study.StartCoordinator());

  std::vector<std::unique_ptr<Process>> sites;
  for (const char* id : {"site_a", "site_b", "site_c"}) {
    sites.push_back(study.StartSite(id));
    ASSERT_NE(sites.back(), nullptr);
  }

  ASSERT_NO_FATAL_FAILURE(study.ExpectCoordinatorTotal(224, 3));
  const std::map<std::string, std::int64_t> expected = {
      {"site_a", 80}, {"site_b", 75}, {"site_c", 69}};
  EXPECT_EQ(study.SummaryCounts(), expected);
  for (auto& site : sites) ASSERT_NO_FATAL_FAILURE(Consortium::ExpectSiteFinished(site.get()));

  // One session per site, and each site answered exactly one round.
  EXPECT_EQ(CountOccurrences(study.CoordinatorLog(), "site connected"), 3u);
  EXPECT_EQ(CountOccurrences(study.CoordinatorLog(), "site reported"), 3u);
  EXPECT_EQ(CountOccurrences(study.CoordinatorLog(), "job completed"), 1u);
  for (const auto& [id, n] : expected) {
    EXPECT_EQ(CountOccurrences(study.SiteLog(id), "answered a round"), 1u) << id;
    EXPECT_EQ(CountOccurrences(study.SiteLog(id), "statistic=cohort_size n=" + std::to_string(n)),
              1u)
        << id;
    EXPECT_EQ(CountOccurrences(study.SiteLog(id), "coordinator closed the session"), 1u) << id;
  }
}

TEST(CohortStudy, KilledSiteRestartsAndIsCountedOnce) {
  TempDir dir;
  Consortium study(dir, {.sites = {{"site_a", 80}, {"site_b", 75}, {"site_c", 69}}});
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  ASSERT_NO_FATAL_FAILURE(study.StartCoordinator());
  const std::string log = study.CoordinatorLog();

  auto site_a = study.StartSite("site_a");
  auto site_c = study.StartSite("site_c");
  ASSERT_NE(site_a, nullptr);
  ASSERT_NE(site_c, nullptr);
  ASSERT_TRUE(WaitForFileContains(log, "site reported site=site_c", Consortium::kJobWait))
      << "site_c never reported";

  // Kill site_c without a chance to say BYE, then start it again.
  site_c->Kill(SIGKILL);
  const auto killed = site_c->WaitForExit(milliseconds(5000));
  ASSERT_TRUE(killed.has_value());
  EXPECT_EQ(*killed, 128 + SIGKILL);
  auto site_c_again = study.StartSite("site_c", /*exit_after_study=*/true, "restarted");
  ASSERT_NE(site_c_again, nullptr);
  ASSERT_TRUE(WaitForCount(log, "site connected site=site_c", 2, Consortium::kJobWait))
      << "the restarted site_c never got a new session";
  EXPECT_TRUE(WaitForFileContains(log, "site reconnected; its answer is already counted",
                                  milliseconds(5000)));
  EXPECT_TRUE(study.coordinator().Running()) << "the job must still wait for site_b";

  auto site_b = study.StartSite("site_b");
  ASSERT_NE(site_b, nullptr);
  ASSERT_NO_FATAL_FAILURE(study.ExpectCoordinatorTotal(80 + 75 + 69, 3));
  const std::map<std::string, std::int64_t> expected = {
      {"site_a", 80}, {"site_b", 75}, {"site_c", 69}};
  EXPECT_EQ(study.SummaryCounts(), expected);
  EXPECT_EQ(CountOccurrences(log, "site reported site=site_c"), 1u);
  EXPECT_EQ(CountOccurrences(log, "site reported"), 3u);

  ASSERT_NO_FATAL_FAILURE(Consortium::ExpectSiteFinished(site_a.get()));
  ASSERT_NO_FATAL_FAILURE(Consortium::ExpectSiteFinished(site_c_again.get()));
  ASSERT_NO_FATAL_FAILURE(Consortium::ExpectSiteFinished(site_b.get()));
  // The restarted site_c was not asked again: its answer was already counted.
  EXPECT_EQ(CountOccurrences(study.SiteLog("site_c"), "answered a round"), 1u);
}

}  // namespace
}  // namespace fedrad::integration

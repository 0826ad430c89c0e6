// Site agents reconnect by themselves when the coordinator restarts: the
// coordinator is SIGKILLed mid-job and a fresh one takes its port.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <memory>
#include <string>

#include "support/consortium.hpp"
#include "support/process.hpp"

namespace fedrad::integration {
namespace {

TEST(Reconnect, SitesReconnectByThemselvesAfterCoordinatorRestart) {
  TempDir dir;
  Consortium study(dir, {.sites = {{"site_a", 80}, {"site_b", 75}, {"site_c", 69}}});
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  ASSERT_NO_FATAL_FAILURE(study.StartCoordinator());
  const std::string log = study.CoordinatorLog();

  auto site_a = study.StartSite("site_a");
  auto site_b = study.StartSite("site_b");
  ASSERT_NE(site_a, nullptr);
  ASSERT_NE(site_b, nullptr);
  ASSERT_TRUE(WaitForFileContains(log, "site reported site=site_a", Consortium::kJobWait));
  ASSERT_TRUE(WaitForFileContains(log, "site reported site=site_b", Consortium::kJobWait));

  // The coordinator dies without a word; a new one (no state) takes over.
  ASSERT_NO_FATAL_FAILURE(study.KillAndRestartCoordinator());

  // Nobody restarts the sites: they notice the silence, reconnect with a
  // fresh socket, say HELLO to the new coordinator and answer it again.
  ASSERT_TRUE(WaitForCount(log, "site reported site=site_a", 2, Consortium::kJobWait));
  ASSERT_TRUE(WaitForCount(log, "site reported site=site_b", 2, Consortium::kJobWait));
  EXPECT_TRUE(site_a->Running());
  EXPECT_TRUE(site_b->Running());

  auto site_c = study.StartSite("site_c");
  ASSERT_NE(site_c, nullptr);
  ASSERT_NO_FATAL_FAILURE(study.ExpectCoordinatorTotal(224, 3));
  const std::map<std::string, std::int64_t> expected = {
      {"site_a", 80}, {"site_b", 75}, {"site_c", 69}};
  EXPECT_EQ(study.SummaryCounts(), expected);

  for (Process* site : {site_a.get(), site_b.get(), site_c.get()}) {
    ASSERT_NO_FATAL_FAILURE(Consortium::ExpectSiteFinished(site));
  }
  for (const char* id : {"site_a", "site_b"}) {
    // Either ZeroMQ reconnected the TCP link and the new coordinator said
    // unknown_session, or the heartbeat liveness ran out first.
    const std::string site_log = study.SiteLog(id);
    EXPECT_GE(CountOccurrences(site_log, "coordinator does not know this session") +
                  CountOccurrences(site_log, "coordinator went silent; reconnecting"),
              1u)
        << id;
    EXPECT_EQ(CountOccurrences(study.SiteLog(id), "connected to the coordinator"), 2u) << id;
  }
}

TEST(Reconnect, SitesReconnectWhenTheCoordinatorGoesSilent) {
  TempDir dir;
  Consortium study(dir, {.sites = {{"site_a", 80}, {"site_b", 75}, {"site_c", 69}}});
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  ASSERT_NO_FATAL_FAILURE(study.StartCoordinator());
  const std::string log = study.CoordinatorLog();

  auto site_a = study.StartSite("site_a");
  ASSERT_NE(site_a, nullptr);
  ASSERT_TRUE(WaitForFileContains(log, "site reported site=site_a", Consortium::kJobWait));

  // A stalled link: the TCP connection stays up but nothing comes through
  // for longer than liveness x interval (5 x 200 ms).
  study.coordinator().Kill(SIGSTOP);
  ASSERT_TRUE(WaitForFileContains(study.SiteLog("site_a"), "coordinator went silent; reconnecting",
                                  milliseconds(5000)));
  study.coordinator().Kill(SIGCONT);

  // Back in touch: a new session, the answer already counted, not asked again.
  ASSERT_TRUE(WaitForCount(log, "site connected site=site_a", 2, Consortium::kJobWait));
  auto site_b = study.StartSite("site_b");
  auto site_c = study.StartSite("site_c");
  ASSERT_NO_FATAL_FAILURE(study.ExpectCoordinatorTotal(224, 3));
  EXPECT_EQ(CountOccurrences(log, "site reported site=site_a"), 1u);
  EXPECT_EQ(CountOccurrences(study.SiteLog("site_a"), "answered a round"), 1u);
  for (Process* site : {site_a.get(), site_b.get(), site_c.get()}) {
    ASSERT_NO_FATAL_FAILURE(Consortium::ExpectSiteFinished(site));
  }
}

}  // namespace
}  // namespace fedrad::integration

// Who gets in: only allowlisted CURVE keys talking to the pinned coordinator
// key. Everyone else gets nothing back, is logged without flooding, and does
// not disturb the study.
#include <gtest/gtest.h>
#include <signal.h>

#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fedrad/common/keys.hpp"
#include "fedrad/common/sodium_init.hpp"
#include "fedrad/protocols/transport.hpp"
#include "support/consortium.hpp"
#include "support/process.hpp"
#include "support/wire.hpp"

namespace fedrad::integration {
namespace {

const std::map<std::string, std::int64_t> kExpectedCounts = {
    {"site_a", 80}, {"site_b", 75}, {"site_c", 69}};

ConsortiumOptions ThreeSites() {
  return {.sites = {{"site_a", 80}, {"site_b", 75}, {"site_c", 69}}};
}

std::vector<std::unique_ptr<Process>> StartThreeSites(Consortium& study) {
  std::vector<std::unique_ptr<Process>> sites;
  for (const char* id : {"site_a", "site_b", "site_c"}) sites.push_back(study.StartSite(id));
  return sites;
}

void ExpectSitesFinished(std::vector<std::unique_ptr<Process>>& sites) {
  for (auto& site : sites) ASSERT_NO_FATAL_FAILURE(Consortium::ExpectSiteFinished(site.get()));
}

TEST(Admission, UnlistedSiteIsRefusedWithoutFloodingTheLog) {
  TempDir dir;
  ConsortiumOptions options = ThreeSites();
  options.strangers = {{"stranger", 1000}};
  Consortium study(dir, options);
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  ASSERT_NO_FATAL_FAILURE(study.StartCoordinator());

  // The stranger knocks first and keeps retrying (ZeroMQ reconnects every
  // 100 ms, the agent re-sends HELLO after each 1 s timeout) for seconds.
  auto stranger = study.StartSite("stranger", /*exit_after_study=*/false);
  ASSERT_NE(stranger, nullptr);
  const std::string stranger_log = study.SiteLog("stranger");
  ASSERT_TRUE(
      WaitForFileContains(stranger_log, "no answer from the coordinator", milliseconds(10000)))
      << "stderr: " << stranger->Stderr();
  std::this_thread::sleep_for(milliseconds(3000));
  ASSERT_TRUE(stranger->Running())
      << "a refused site keeps retrying; stderr: " << stranger->Stderr();

  auto sites = StartThreeSites(study);
  ASSERT_NO_FATAL_FAILURE(study.ExpectCoordinatorTotal(224, 3));
  EXPECT_EQ(study.SummaryCounts(), kExpectedCounts);
  ASSERT_NO_FATAL_FAILURE(ExpectSitesFinished(sites));

  // The stranger never got in; it stops cleanly on SIGTERM.
  ASSERT_TRUE(stranger->Running());
  stranger->Kill(SIGTERM);
  const auto stranger_code = stranger->WaitForExit(milliseconds(10000));
  ASSERT_TRUE(stranger_code.has_value()) << "the stranger ignored SIGTERM";
  EXPECT_EQ(*stranger_code, 130) << stranger->Stderr();

  const std::string log = study.CoordinatorLog();
  EXPECT_EQ(CountOccurrences(log, "site=stranger"), 0u);
  EXPECT_EQ(CountOccurrences(log, "site connected"), 3u);
  // Hundreds of refused handshakes, but only a line or two in the log.
  const std::size_t refusals = CountOccurrences(log, "refused a connection");
  EXPECT_GE(refusals, 1u) << "the coordinator did not log the refused key";
  EXPECT_LE(refusals, 3u) << "refusals flood the coordinator log";
  EXPECT_EQ(LinesContaining(log, "is not on the allowlist").size(), 1u)
      << "expected one ZAP refusal line naming the stranger's key";
  EXPECT_EQ(CountOccurrences(log, study.PublicKey("stranger")), 1u);

  // The stranger says it got no answer, once (rate-limited), and why when
  // the CURVE handshake told it.
  EXPECT_EQ(CountOccurrences(stranger_log, "connected to the coordinator"), 0u);
  const auto no_answer = LinesContaining(stranger_log, "no answer from the coordinator");
  ASSERT_EQ(no_answer.size(), 1u);
  if (no_answer[0].find("detail=") != std::string::npos) {
    EXPECT_NE(no_answer[0].find("allowlist"), std::string::npos) << no_answer[0];
  }
}

TEST(Admission, PlainAndWrongKeyClientsGetNoAnswer) {
  TempDir dir;
  Consortium study(dir, ThreeSites());
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  ASSERT_NO_FATAL_FAILURE(study.StartCoordinator());
  ASSERT_TRUE(common::InitSodium().ok());

  // A client without CURVE, claiming to be site_a.
  protocols::ClientOptions plain_options;
  plain_options.endpoint = study.endpoint();
  plain_options.insecure_plain_for_tests = true;
  auto plain = protocols::ClientTransport::Connect(plain_options);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();

  // site_b's real (allowlisted) key, but pinning a coordinator key that is
  // not the coordinator's: the server cannot open its CURVE HELLO.
  auto site_b_identity = LoadIdentityForTest(study.SecretKeyFile("site_b"));
  ASSERT_TRUE(site_b_identity.has_value());
  auto impostor = common::GenerateIdentity("impostor");
  ASSERT_TRUE(impostor.ok()) << impostor.status().ToString();
  protocols::ClientOptions wrong_key_options;
  wrong_key_options.endpoint = study.endpoint();
  wrong_key_options.server_public_z85 = impostor->pub.curve_public_z85;
  wrong_key_options.identity = &*site_b_identity;
  auto wrong_key = protocols::ClientTransport::Connect(wrong_key_options);
  ASSERT_TRUE(wrong_key.ok()) << wrong_key.status().ToString();

  ASSERT_TRUE((*plain)->SendFrames(HelloFrames("site_a")).ok());
  ASSERT_TRUE((*wrong_key)->SendFrames(HelloFrames("site_b")).ok());
  const auto plain_got = ReceiveAnything(**plain, milliseconds(2000));
  EXPECT_FALSE(plain_got.has_value()) << "the plain client received " << *plain_got;
  const auto wrong_key_got = ReceiveAnything(**wrong_key, milliseconds(2000));
  EXPECT_FALSE(wrong_key_got.has_value()) << "the wrong-key client received " << *wrong_key_got;
  // For the record: what each client's handshake monitor saw.
  std::cout << "plain client handshake: " << (*plain)->TakeHandshakeError() << "\n"
            << "wrong-key client handshake: " << (*wrong_key)->TakeHandshakeError() << "\n";
  EXPECT_TRUE(study.coordinator().Running());
  EXPECT_EQ(CountOccurrences(study.CoordinatorLog(), "site connected"), 0u);

  // The real sites run while the two intruders are still connected and
  // retrying their handshakes.
  auto sites = StartThreeSites(study);
  ASSERT_NO_FATAL_FAILURE(study.ExpectCoordinatorTotal(224, 3));
  EXPECT_EQ(study.SummaryCounts(), kExpectedCounts);
  ASSERT_NO_FATAL_FAILURE(ExpectSitesFinished(sites));
  EXPECT_FALSE(ReceiveAnything(**plain, milliseconds(100)).has_value());
  EXPECT_FALSE(ReceiveAnything(**wrong_key, milliseconds(100)).has_value());

  const std::string log = study.CoordinatorLog();
  // Exactly the three real sessions; the HELLOs of the intruders never
  // reached the session layer.
  EXPECT_EQ(CountOccurrences(log, "site connected"), 3u);
  EXPECT_EQ(CountOccurrences(log, "site connected site=site_a"), 1u);
  EXPECT_EQ(CountOccurrences(log, "site connected site=site_b"), 1u);
  EXPECT_EQ(CountOccurrences(log, "dropped a malformed message"), 0u);
  EXPECT_LE(CountOccurrences(log, "refused a connection"), 3u)
      << "refusals flood the coordinator log";
}

}  // namespace
}  // namespace fedrad::integration

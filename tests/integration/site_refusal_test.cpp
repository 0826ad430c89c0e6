// The site side of a version refusal: a fake coordinator run by the test
// (protocols::ServerTransport, allowlisting the site's key) refuses the real
// `fedrad site`, which must stop at once with exit code 4 and say why in one
// line instead of retrying.
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <sstream>
#include <string>

#include "fedrad/protocols/messages.hpp"
#include "fedrad/protocols/transport.hpp"
#include "support/consortium.hpp"
#include "support/process.hpp"
#include "support/wire.hpp"

namespace fedrad::integration {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kExitRefusedByPeer = 4;

// The answer to the site's HELLO (`hello` as received).
using Answer = std::function<protocols::Frames(const protocols::Message& hello)>;

struct FakeRun {
  std::optional<int> exit_code;
  int hellos = 0;
};

// Binds a fake coordinator with the real coordinator keys, starts site_a
// against it and answers every HELLO with `answer` until the site exits.
void RunAgainstFakeCoordinator(Consortium& study, const Answer& answer,
                               std::unique_ptr<Process>* site, FakeRun* run) {
  auto identity = LoadIdentityForTest(study.SecretKeyFile("coordinator"));
  ASSERT_TRUE(identity.has_value());
  protocols::ServerOptions options;
  options.endpoint = "tcp://127.0.0.1:*";
  options.identity = &*identity;
  options.allowed_keys = {{study.PublicKey("site_a"), "site_a"}};
  auto bound = protocols::ServerTransport::Bind(options);
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  protocols::ServerTransport& server = **bound;
  study.UseCoordinatorEndpoint(server.endpoint());

  *site = study.StartSite("site_a");
  ASSERT_NE(*site, nullptr);
  const auto deadline = Clock::now() + milliseconds(20000);
  while (Clock::now() < deadline) {
    run->exit_code = (*site)->WaitForExit(milliseconds(0));
    if (run->exit_code) break;
    auto received = server.Receive(milliseconds(50));
    ASSERT_TRUE(received.ok()) << received.status().ToString();
    if (!received->has_value()) continue;
    const protocols::Incoming& incoming = **received;
    EXPECT_EQ(incoming.site_id, "site_a");
    ASSERT_TRUE(incoming.message.ok()) << incoming.message.status().ToString();
    if (!std::holds_alternative<protocols::Hello>(incoming.message->body)) continue;
    ++run->hellos;
    const protocols::Frames frames = answer(*incoming.message);
    ASSERT_FALSE(frames.empty());
    ASSERT_TRUE(server.SendFrames(incoming.routing_id, frames).ok());
  }
  // Give a late exit a moment, then report what happened.
  if (!run->exit_code) run->exit_code = (*site)->WaitForExit(milliseconds(1000));
}

protocols::Frames VersionMismatchError(const protocols::Message& hello) {
  protocols::Error error;
  error.code = "version_mismatch";
  error.message = "this coordinator speaks protocol 2.0 only: upgrade fedrad at this site";
  error.fatal = true;
  error.ref_sequence = static_cast<std::int64_t>(hello.header.sequence);
  error.supported_majors = {2};
  protocols::Message reply;
  reply.header.session_id = 0;
  reply.header.sequence = 1;
  reply.body = error;
  auto frames = protocols::Encode(reply);
  EXPECT_TRUE(frames.ok()) << frames.status().ToString();
  return frames.ok() ? std::move(frames).value() : protocols::Frames{};
}

std::size_t NonEmptyLines(const std::string& text) {
  std::size_t lines = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines += line.empty() ? 0 : 1;
  return lines;
}

TEST(SiteRefusal, VersionMismatchErrorStopsTheSiteWithExitCode4) {
  TempDir dir;
  Consortium study(dir, {.sites = {{"site_a", 12}}});
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  std::unique_ptr<Process> site;
  FakeRun run;
  ASSERT_NO_FATAL_FAILURE(RunAgainstFakeCoordinator(study, VersionMismatchError, &site, &run));

  ASSERT_TRUE(run.exit_code.has_value()) << "the refused site did not stop";
  EXPECT_EQ(*run.exit_code, kExitRefusedByPeer) << site->Stderr();
  EXPECT_EQ(run.hellos, 1) << "a fatal refusal must not be retried";

  // stderr: the one error line of `fedrad site`, naming the refusal.
  const std::string stderr_text = site->Stderr();
  EXPECT_EQ(NonEmptyLines(stderr_text), 1u) << stderr_text;
  EXPECT_EQ(CountOccurrences(site->stderr_path(), "refused this site"), 1u) << stderr_text;
  EXPECT_NE(stderr_text.find("version_mismatch"), std::string::npos) << stderr_text;
  EXPECT_NE(stderr_text.find("protocol 2.0"), std::string::npos) << stderr_text;
  // The log: one line, and no retry.
  const std::string log = study.SiteLog("site_a");
  const auto lines = LinesContaining(log, "the coordinator refused this site");
  ASSERT_EQ(lines.size(), 1u) << ReadTextFile(log);
  EXPECT_NE(lines[0].find("code=version_mismatch"), std::string::npos) << lines[0];
  EXPECT_EQ(CountOccurrences(log, "no answer from the coordinator"), 0u);
  EXPECT_EQ(CountOccurrences(log, "connected to the coordinator"), 0u);
}

TEST(SiteRefusal, AnswerInAnotherMajorStopsTheSiteWithExitCode4) {
  TempDir dir;
  Consortium study(dir, {.sites = {{"site_a", 12}}});
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  std::unique_ptr<Process> site;
  FakeRun run;
  // A coordinator of major 2 that answers in its own header format.
  auto answer = [](const protocols::Message& hello) {
    protocols::Frames frames = VersionMismatchError(hello);
    if (!frames.empty()) frames[0][4] = '\x02';
    return frames;
  };
  ASSERT_NO_FATAL_FAILURE(RunAgainstFakeCoordinator(study, answer, &site, &run));

  ASSERT_TRUE(run.exit_code.has_value()) << "the site did not stop";
  EXPECT_EQ(*run.exit_code, kExitRefusedByPeer) << site->Stderr();
  EXPECT_EQ(run.hellos, 1);
  const std::string stderr_text = site->Stderr();
  EXPECT_EQ(NonEmptyLines(stderr_text), 1u) << stderr_text;
  EXPECT_EQ(CountOccurrences(site->stderr_path(), "speaks another protocol version"), 1u)
      << stderr_text;
  EXPECT_NE(stderr_text.find("2.0"), std::string::npos) << stderr_text;
}

}  // namespace
}  // namespace fedrad::integration

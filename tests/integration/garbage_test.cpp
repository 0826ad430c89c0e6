// Hostile input: raw TCP garbage on the ROUTER port, and an allowlisted but
// misbehaving peer sending broken fedrad messages, an oversize message and
// HELLOs of another protocol major. The coordinator logs a few lines, answers
// the version mismatch in a form the peer can read, and still runs the study.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fedrad/protocols/messages.hpp"
#include "fedrad/protocols/transport.hpp"
#include "support/consortium.hpp"
#include "support/process.hpp"
#include "support/wire.hpp"

namespace fedrad::integration {
namespace {

using Clock = std::chrono::steady_clock;
using protocols::Frames;

constexpr std::int64_t kSmallMaxMessageBytes = 65536;

// The start of a ZMTP 3.0 greeting (signature, version, "CURVE" mechanism)
// so that the coordinator's ZeroMQ gets past the first bytes before the
// garbage.
std::string ZmtpGreetingPrefix() {
  std::string greeting;
  greeting += '\xff';
  greeting += std::string(8, '\0');
  greeting += '\x7f';
  greeting += '\x03';
  greeting += '\x00';
  std::string mechanism = "CURVE";
  mechanism.resize(20, '\0');
  greeting += mechanism;
  greeting += '\0';                   // as-server
  greeting += std::string(31, '\0');  // filler
  return greeting;
}

// A ROUND_REPLY with one i64 array of `elements` values, encoded.
Frames RoundReplyFrames(std::int64_t elements, std::uint64_t session_id) {
  protocols::Message message;
  message.header.session_id = session_id;
  message.header.sequence = 2;
  std::vector<std::int64_t> values(static_cast<std::size_t>(elements), 7);
  message.body = protocols::RoundReply{
      "cohort_size-1", 1, "cohort_size", {protocols::Array::I64("n", {elements}, values)}};
  auto frames = protocols::Encode(message);
  EXPECT_TRUE(frames.ok()) << frames.status().ToString();
  return frames.ok() ? std::move(frames).value() : Frames{};
}

// Broken fedrad messages: each one fails to decode for a different reason.
std::vector<Frames> MalformedMessages(std::mt19937_64& rng) {
  std::vector<Frames> messages;
  std::uniform_int_distribution<std::size_t> frame_count(1, 4);
  std::uniform_int_distribution<std::size_t> frame_size(1, 200);
  for (int i = 0; i < 20; ++i) {  // random frames
    Frames frames(frame_count(rng));
    for (auto& frame : frames) frame = RandomBytes(rng, frame_size(rng));
    messages.push_back(std::move(frames));
  }
  Frames truncated_header = HelloFrames("mallory");
  truncated_header[0].resize(20);
  messages.push_back(truncated_header);
  Frames header_only = HelloFrames("mallory");
  header_only.resize(1);
  messages.push_back(header_only);
  Frames bad_magic = HelloFrames("mallory");
  bad_magic[0].replace(0, 4, "FDRX");
  messages.push_back(bad_magic);
  Frames bad_json = HelloFrames("mallory");
  bad_json[1] = "{\"site_id\": \"mallory\", \"software_version\": ";
  messages.push_back(bad_json);
  Frames not_an_object = HelloFrames("mallory");
  not_an_object[1] = "[1, 2, 3]";
  messages.push_back(not_an_object);
  Frames shape_mismatch = RoundReplyFrames(2, 0x1234);  // shape [2] needs 16 bytes
  shape_mismatch.back().resize(8);
  messages.push_back(shape_mismatch);
  Frames missing_payload = RoundReplyFrames(1, 0x1234);
  missing_payload.pop_back();
  messages.push_back(missing_payload);
  return messages;
}

TEST(Garbage, CoordinatorSurvivesGarbageAndAnswersVersionMismatch) {
  TempDir dir;
  Consortium study(dir, {.sites = {{"site_a", 80}, {"site_b", 75}, {"site_c", 69}},
                         .extra_allowlisted = {"mallory"},
                         .expected_sites = 3,
                         .max_message_bytes = kSmallMaxMessageBytes});
  ASSERT_NO_FATAL_FAILURE(study.Setup());
  ASSERT_NO_FATAL_FAILURE(study.StartCoordinator());
  const std::string log = study.CoordinatorLog();
  std::mt19937_64 rng(20240611);

  // 1. Raw TCP garbage straight to the ROUTER port.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(SendRawTcp(study.port(), RandomBytes(rng, 16 + 300 * i))) << "connect " << i;
  }
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(SendRawTcp(study.port(), ZmtpGreetingPrefix() + RandomBytes(rng, 500)));
  }
  ASSERT_TRUE(SendRawTcp(study.port(), ""));  // connect and hang up at once
  std::this_thread::sleep_for(milliseconds(300));
  ASSERT_TRUE(study.coordinator().Running()) << study.coordinator().Stderr();

  // 2. mallory: allowlisted, real CURVE, but never a valid HELLO.
  auto mallory_identity = LoadIdentityForTest(study.SecretKeyFile("mallory"));
  ASSERT_TRUE(mallory_identity.has_value());
  protocols::ClientOptions options;
  options.endpoint = study.endpoint();
  options.server_public_z85 = study.coordinator_public_key();
  options.identity = &*mallory_identity;
  auto connected = protocols::ClientTransport::Connect(options);
  ASSERT_TRUE(connected.ok()) << connected.status().ToString();
  protocols::ClientTransport& mallory = **connected;

  // An oversize message first: over ZMQ_MAXMSGSIZE, ZeroMQ drops the
  // connection before the coordinator decodes anything (the DEALER then
  // reconnects by itself, with a new routing identity).
  const Frames oversize = RoundReplyFrames(25600, 0x1234);  // 200 KiB payload
  ASSERT_GT(oversize.back().size(), 3 * static_cast<std::size_t>(kSmallMaxMessageBytes));
  ASSERT_TRUE(mallory.SendFrames(oversize).ok());
  std::this_thread::sleep_for(milliseconds(500));

  // Broken messages, a round at a time until the coordinator has seen some
  // (what was queued behind the oversize message died with its connection).
  const std::vector<Frames> malformed = MalformedMessages(rng);
  std::size_t malformed_sent = 0;
  const auto garbage_deadline = Clock::now() + milliseconds(10000);
  while (CountOccurrences(log, "dropped a malformed message") == 0 &&
         Clock::now() < garbage_deadline) {
    for (const Frames& frames : malformed) {
      ASSERT_TRUE(mallory.SendFrames(frames).ok());
      ++malformed_sent;
    }
    WaitForFileContains(log, "dropped a malformed message", milliseconds(1000));
  }
  const auto dropped_lines = LinesContaining(log, "dropped a malformed message");
  ASSERT_EQ(dropped_lines.size(), 1u) << "the coordinator never saw mallory's garbage";
  EXPECT_NE(dropped_lines[0].find("site=mallory"), std::string::npos) << dropped_lines[0];
  // Had the oversize message reached the decoder, it would be this line.
  EXPECT_EQ(dropped_lines[0].find("max_message_bytes"), std::string::npos) << dropped_lines[0];
  for (int round = 0; round < 2; ++round) {
    for (const Frames& frames : malformed) {
      ASSERT_TRUE(mallory.SendFrames(frames).ok());
      ++malformed_sent;
    }
  }
  // mallory has no session: garbage gets no answer.
  const auto answer = ReceiveAnything(mallory, milliseconds(500));
  EXPECT_FALSE(answer.has_value()) << "mallory received " << *answer;

  // 50 HELLOs of protocol major 2: answered with a version-1 ERROR that
  // mallory can decode, and logged once.
  std::optional<protocols::Error> version_error;
  std::size_t errors_received = 0;
  auto collect = [&](milliseconds wait) {
    auto received = mallory.Receive(wait);
    ASSERT_TRUE(received.ok()) << "mallory could not decode the answer: "
                               << received.status().ToString();
    if (!received->has_value()) return;
    const auto* error = std::get_if<protocols::Error>(&(*received)->body);
    ASSERT_NE(error, nullptr) << "expected ERROR, got "
                              << protocols::MessageTypeName((*received)->type());
    ++errors_received;
    if (!version_error) version_error = *error;
  };
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(mallory.SendFrames(HelloFramesWithMajor("mallory", 2)).ok());
    ASSERT_NO_FATAL_FAILURE(collect(milliseconds(40)));
  }
  const auto deadline = Clock::now() + milliseconds(5000);
  while (!version_error && Clock::now() < deadline) {
    ASSERT_NO_FATAL_FAILURE(collect(milliseconds(100)));
  }
  ASSERT_TRUE(version_error.has_value()) << "no ERROR for a HELLO of major 2";
  EXPECT_EQ(version_error->code, "version_mismatch");
  EXPECT_TRUE(version_error->fatal);
  EXPECT_EQ(version_error->supported_majors, std::vector<std::int64_t>{1});
  EXPECT_NE(version_error->message.find("2.0"), std::string::npos) << version_error->message;
  // Replies are rate-limited too (one per connection and second).
  EXPECT_LE(errors_received, 10u);
  EXPECT_EQ(CountOccurrences(log, "refused a peer speaking another protocol version"), 1u);

  // 3. The coordinator is unharmed and runs the study.
  ASSERT_TRUE(study.coordinator().Running()) << study.coordinator().Stderr();
  std::vector<std::unique_ptr<Process>> sites;
  for (const char* id : {"site_a", "site_b", "site_c"}) sites.push_back(study.StartSite(id));
  ASSERT_NO_FATAL_FAILURE(study.ExpectCoordinatorTotal(224, 3));
  const std::map<std::string, std::int64_t> expected = {
      {"site_a", 80}, {"site_b", 75}, {"site_c", 69}};
  EXPECT_EQ(study.SummaryCounts(), expected);
  for (auto& site : sites) ASSERT_NO_FATAL_FAILURE(Consortium::ExpectSiteFinished(site.get()));

  EXPECT_EQ(CountOccurrences(log, "site connected"), 3u);
  EXPECT_EQ(CountOccurrences(log, "site=mallory session="), 0u);
  EXPECT_EQ(CountOccurrences(log, "refused a peer speaking another protocol version"), 1u);
  // Dozens of malformed messages, but only a line or so in the log.
  const std::size_t dropped = CountOccurrences(log, "dropped a malformed message");
  EXPECT_GE(dropped, 1u);
  EXPECT_LE(dropped, 3u) << "the " << malformed_sent
                         << " malformed messages flood the coordinator log";
}

}  // namespace
}  // namespace fedrad::integration

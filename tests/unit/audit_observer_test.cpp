// AuditObserver (protocols/audit_observer.hpp): the transport's messages in
// the audit log, receipts collected by the sender and stored by the
// receiver, refusals, and a failed write remembered. The logs it writes are
// checked with the independent verifier (`fedrad audit verify`).
#include "fedrad/protocols/audit_observer.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fedrad/common/audit_verify.hpp"
#include "fedrad/common/keys.hpp"
#include "fedrad/common/sodium_init.hpp"
#include "temp_dir.hpp"

namespace fedrad::protocols {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

common::Identity MakeIdentity(const std::string& name) {
  auto id = common::GenerateIdentity(name);
  if (!id.ok()) throw std::runtime_error(id.status().ToString());
  return std::move(*id);
}

Frames Wire(Body body, std::uint64_t sequence) {
  Message m;
  m.header.session_id = 42;
  m.header.sequence = sequence;
  m.body = std::move(body);
  auto frames = Encode(m);
  if (!frames.ok()) throw std::runtime_error(frames.status().ToString());
  return *frames;
}

WireEvent Event(WireEvent::Direction direction, const std::string& peer, const Frames& frames,
                bool decoded = true) {
  WireEvent e;
  e.direction = direction;
  e.peer = peer;
  e.bytes = 0;
  for (const auto& f : frames) e.bytes += f.size();
  e.type = static_cast<std::uint16_t>(static_cast<unsigned char>(frames[0][6]) |
                                      (static_cast<unsigned char>(frames[0][7]) << 8));
  e.decoded = decoded;
  e.frames = &frames;
  return e;
}

TEST(AuditObserver, SendReceiveAndReceiptsVerify) {
  ASSERT_TRUE(common::InitSodium().ok());
  fedrad::testing::TempDir dir;
  const common::Identity site_id = MakeIdentity("site_a");
  const common::Identity coord_id = MakeIdentity("coordinator");
  auto site_log = common::AuditLog::Open(dir.path() + "/site_a.audit.jsonl", site_id);
  auto coord_log = common::AuditLog::Open(dir.path() + "/coordinator.audit.jsonl", coord_id);
  ASSERT_TRUE(site_log.ok() && coord_log.ok());
  AuditObserver site(site_log->get(), AuditObserver::Receipts::kCollect);
  AuditObserver coord(coord_log->get(), AuditObserver::Receipts::kStore);

  // The coordinator asks, the site answers with two arrays.
  const Frames request =
      Wire(RoundRequest{"study", 1, "cohort_size", nlohmann::json::object(), {}}, 1);
  coord.OnWire(Event(WireEvent::Direction::kSent, "site_a", request));
  site.OnWire(Event(WireEvent::Direction::kReceived, "coordinator", request));
  const Frames reply =
      Wire(RoundReply{"study",
                      1,
                      "cohort_size",
                      {Array::I64("n", {1}, {50}), Array::F64("sum_x", {2}, {1.5, -2.0})}},
           2);
  site.OnWire(Event(WireEvent::Direction::kSent, "coordinator", reply));
  coord.OnWire(Event(WireEvent::Direction::kReceived, "site_a", reply));

  // One receipt (the reply's); the site forwards it; a RECEIPT gets none.
  std::vector<common::AuditReceipt> receipts = site.TakeReceipts();
  ASSERT_EQ(receipts.size(), 1u);
  EXPECT_EQ(receipts[0].type, "ROUND_REPLY");
  EXPECT_EQ(receipts[0].seq, 3u);  // log_open, receive, send
  EXPECT_EQ(receipts[0].bytes, [&] {
    std::uint64_t b = 0;
    for (const auto& f : reply) b += f.size();
    return b;
  }());
  const Frames receipt = Wire(ToReceiptMessage(receipts[0]), 3);
  site.OnWire(Event(WireEvent::Direction::kSent, "coordinator", receipt));
  coord.OnWire(Event(WireEvent::Direction::kReceived, "site_a", receipt));
  EXPECT_TRUE(site.TakeReceipts().empty());
  EXPECT_TRUE(coord.TakeReceipts().empty());
  EXPECT_TRUE(site.status().ok());
  EXPECT_TRUE(coord.status().ok());
  ASSERT_TRUE((*site_log)->Close().ok());
  ASSERT_TRUE((*coord_log)->Close().ok());

  const std::string site_text = Slurp((*site_log)->path());
  EXPECT_NE(site_text.find("\"event\":\"send\",\"peer\":\"coordinator\",\"study\":\"\",\"round\":0,"
                           "\"type\":\"ROUND_REPLY\""),
            std::string::npos)
      << site_text;
  EXPECT_NE(site_text.find("\"arrays\":\"n:i64[1];sum_x:f64[2]\""), std::string::npos);
  const std::string coord_text = Slurp((*coord_log)->path());
  EXPECT_NE(coord_text.find("\"event\":\"receipt\",\"peer\":\"site_a\""), std::string::npos)
      << coord_text;

  const std::map<std::string, std::string> keys = {{"site_a", site_id.pub.sign_public_hex},
                                                   {"coordinator", coord_id.pub.sign_public_hex}};
  const auto result =
      common::VerifyAuditLogs({{"site", site_text}, {"coordinator", coord_text}}, keys);
  EXPECT_TRUE(result.passed()) << result.report;
  EXPECT_NE(result.report.find("receipts signed by site_a: 1 verified"), std::string::npos)
      << result.report;

  // A receipt that does not describe the site's message is caught.
  std::string forged = coord_text;
  const std::size_t at = forged.find("\"event\":\"receipt\"");
  const std::size_t bytes_at = forged.find("\"bytes\":", at) + 8;
  forged[bytes_at] = forged[bytes_at] == '9' ? '8' : '9';
  const auto bad = common::VerifyAuditLogs({{"site", site_text}, {"coordinator", forged}}, keys);
  EXPECT_FALSE(bad.passed()) << bad.report;
}

// A send is recorded before the message goes to the socket; when the socket
// refuses it, send_failed cancels that record and its receipt: verify then
// neither expects the message at the peer nor counts it as having left.
TEST(AuditObserver, AFailedSendIsCancelledAndVerifies) {
  ASSERT_TRUE(common::InitSodium().ok());
  fedrad::testing::TempDir dir;
  const common::Identity site_id = MakeIdentity("site_a");
  const common::Identity coord_id = MakeIdentity("coordinator");
  auto site_log = common::AuditLog::Open(dir.path() + "/site_a.audit.jsonl", site_id);
  auto coord_log = common::AuditLog::Open(dir.path() + "/coordinator.audit.jsonl", coord_id);
  ASSERT_TRUE(site_log.ok() && coord_log.ok());
  AuditObserver site(site_log->get(), AuditObserver::Receipts::kCollect);
  AuditObserver coord(coord_log->get(), AuditObserver::Receipts::kStore);

  const Frames reply = Wire(RoundReply{"study", 1, "cohort_size", {Array::I64("n", {1}, {50})}}, 1);
  site.OnWire(Event(WireEvent::Direction::kSent, "coordinator", reply));
  site.OnWire(Event(WireEvent::Direction::kSendFailed, "coordinator", reply));
  EXPECT_TRUE(site.TakeReceipts().empty());  // the peer never got it
  const Frames again = Wire(RoundReply{"study", 1, "cohort_size", {Array::I64("n", {1}, {50})}}, 2);
  site.OnWire(Event(WireEvent::Direction::kSent, "coordinator", again));
  coord.OnWire(Event(WireEvent::Direction::kReceived, "site_a", again));
  ASSERT_EQ(site.TakeReceipts().size(), 1u);
  ASSERT_TRUE((*site_log)->Close().ok());
  ASSERT_TRUE((*coord_log)->Close().ok());
  const std::string site_text = Slurp((*site_log)->path());
  const std::string coord_text = Slurp((*coord_log)->path());
  EXPECT_NE(site_text.find("\"event\":\"send_failed\""), std::string::npos) << site_text;

  const std::map<std::string, std::string> keys = {{"site_a", site_id.pub.sign_public_hex},
                                                   {"coordinator", coord_id.pub.sign_public_hex}};
  const auto result =
      common::VerifyAuditLogs({{"site", site_text}, {"coordinator", coord_text}}, keys);
  EXPECT_TRUE(result.passed()) << result.report;
  EXPECT_NE(result.report.find("ROUND_REPLY x1,"), std::string::npos) << result.report;
  EXPECT_EQ(result.report.find("not_received"), std::string::npos) << result.report;

  // Without the send_failed record the same send is an error.
  std::string cut;
  std::istringstream lines(site_text);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("\"event\":\"send_failed\"") == std::string::npos) cut += line + "\n";
  }
  const auto bad = common::VerifyAuditLogs({{"site", cut}, {"coordinator", coord_text}}, keys);
  EXPECT_FALSE(bad.passed());
}

TEST(AuditObserver, RefusalsAndFailedWrites) {
  ASSERT_TRUE(common::InitSodium().ok());
  fedrad::testing::TempDir dir;
  const common::Identity coord_id = MakeIdentity("coordinator");
  auto log = common::AuditLog::Open(dir.path() + "/c.audit.jsonl", coord_id);
  ASSERT_TRUE(log.ok());
  AuditObserver coord(log->get(), AuditObserver::Receipts::kStore);
  Frames garbage = Wire(Heartbeat{}, 5);
  garbage[1] = "not json";
  coord.OnWire(Event(WireEvent::Direction::kReceived, "site_b", garbage, /*decoded=*/false));
  EXPECT_TRUE(coord.status().ok());
  const std::string text = Slurp((*log)->path());
  EXPECT_NE(text.find("\"event\":\"refuse\",\"peer\":\"site_b\",\"study\":\"\",\"round\":0,"
                      "\"type\":\"HEARTBEAT\""),
            std::string::npos)
      << text;

  // After the log is closed every write fails: the observer remembers it.
  ASSERT_TRUE((*log)->Close().ok());
  const Frames hb = Wire(Heartbeat{}, 6);
  coord.OnWire(Event(WireEvent::Direction::kSent, "site_b", hb));
  EXPECT_FALSE(coord.status().ok());
  EXPECT_NE(coord.status().message().find("c.audit.jsonl"), std::string::npos)
      << coord.status().ToString();
}

}  // namespace
}  // namespace fedrad::protocols

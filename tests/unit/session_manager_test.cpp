// SessionManager over the real CurveZMQ transport on 127.0.0.1: the
// coordinator's half of the session state machine (docs/protocol.md 4.2).
#include "fedrad/coordinator/session_manager.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "fedrad/common/keys.hpp"
#include "fedrad/common/sodium_init.hpp"
#include "fedrad/protocols/transport.hpp"

namespace fedrad::coordinator {
namespace {

using namespace std::chrono_literals;
using protocols::Message;

class SessionManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(common::InitSodium().ok());
    server_id_ = std::make_unique<common::Identity>(*common::GenerateIdentity("coordinator"));
    site_a_ = std::make_unique<common::Identity>(*common::GenerateIdentity("site_a"));
    site_b_ = std::make_unique<common::Identity>(*common::GenerateIdentity("site_b"));
    protocols::ServerOptions options;
    options.endpoint = "tcp://127.0.0.1:*";
    options.identity = server_id_.get();
    options.allowed_keys[site_a_->pub.curve_public_z85] = "site_a";
    options.allowed_keys[site_b_->pub.curve_public_z85] = "site_b";
    auto server = protocols::ServerTransport::Bind(options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    SessionOptions session_options;
    session_options.heartbeat_interval = 100ms;
    session_options.heartbeat_liveness = 3;
    sessions_ = std::make_unique<SessionManager>(server_.get(), session_options);
  }

  std::unique_ptr<protocols::ClientTransport> Connect(const common::Identity& id) {
    protocols::ClientOptions options;
    options.endpoint = server_->endpoint();
    options.server_public_z85 = server_id_->pub.curve_public_z85;
    options.identity = &id;
    auto client = protocols::ClientTransport::Connect(options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  // Pumps the session manager until the client receives a message.
  std::optional<Message> Exchange(protocols::ClientTransport& client,
                                  std::chrono::milliseconds timeout = 3000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto app = sessions_->Poll(20ms);
      if (app) last_app_ = app;
      auto got = client.Receive(20ms);
      if (got.ok() && got->has_value()) return **got;
    }
    return std::nullopt;
  }

  static Message Hello(const std::string& site_id, std::uint64_t seq = 1) {
    Message m;
    m.header.sequence = seq;
    m.body = protocols::Hello{site_id, "0.1.0", {"cohort_size"}};
    return m;
  }

  std::unique_ptr<common::Identity> server_id_, site_a_, site_b_;
  std::unique_ptr<protocols::ServerTransport> server_;
  std::unique_ptr<SessionManager> sessions_;
  std::optional<SiteMessage> last_app_;
};

TEST_F(SessionManagerTest, HelloGetsWelcomeWithFreshSession) {
  auto client = Connect(*site_a_);
  ASSERT_TRUE(client->Send(Hello("site_a")).ok());
  auto reply = Exchange(*client);
  ASSERT_TRUE(reply.has_value());
  const auto* welcome = std::get_if<protocols::Welcome>(&reply->body);
  ASSERT_NE(welcome, nullptr) << protocols::MessageTypeName(reply->type());
  EXPECT_EQ(welcome->site_id, "site_a");
  EXPECT_EQ(welcome->heartbeat_interval_ms, 100);
  EXPECT_EQ(welcome->heartbeat_liveness, 3);
  EXPECT_EQ(reply->header.sequence, 1u);
  EXPECT_NE(reply->header.session_id, 0u);
  EXPECT_TRUE(sessions_->IsConnected("site_a"));
  EXPECT_EQ(sessions_->TakeNewSessions(), std::vector<std::string>{"site_a"});
}

TEST_F(SessionManagerTest, HelloClaimingAnotherSitesIdIsRefused) {
  auto client = Connect(*site_a_);
  ASSERT_TRUE(client->Send(Hello("site_b")).ok());
  auto reply = Exchange(*client);
  ASSERT_TRUE(reply.has_value());
  const auto* error = std::get_if<protocols::Error>(&reply->body);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, "not_authorized");
  EXPECT_TRUE(error->fatal);
  EXPECT_NE(error->message.find("site_a"), std::string::npos);
  EXPECT_FALSE(sessions_->IsConnected("site_b"));
  EXPECT_FALSE(sessions_->IsConnected("site_a"));
}

TEST_F(SessionManagerTest, MessageWithoutSessionGetsUnknownSession) {
  auto client = Connect(*site_a_);
  Message accept;
  accept.header.session_id = 42;
  accept.header.sequence = 1;
  accept.body = protocols::JobAccept{"job1"};
  ASSERT_TRUE(client->Send(accept).ok());
  auto reply = Exchange(*client);
  ASSERT_TRUE(reply.has_value());
  const auto* error = std::get_if<protocols::Error>(&reply->body);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, "unknown_session");
  EXPECT_FALSE(error->fatal);
  EXPECT_FALSE(last_app_.has_value());
}

TEST_F(SessionManagerTest, ApplicationMessagesPassAndReplaysAreDropped) {
  auto client = Connect(*site_a_);
  ASSERT_TRUE(client->Send(Hello("site_a")).ok());
  auto welcome = Exchange(*client);
  ASSERT_TRUE(welcome.has_value());
  const std::uint64_t session = welcome->header.session_id;

  Message accept;
  accept.header.session_id = session;
  accept.header.sequence = 2;
  accept.body = protocols::JobAccept{"job1"};
  ASSERT_TRUE(client->Send(accept).ok());
  (void)Exchange(*client, 300ms);
  ASSERT_TRUE(last_app_.has_value());
  EXPECT_EQ(last_app_->site_id, "site_a");
  EXPECT_EQ(std::get<protocols::JobAccept>(last_app_->message.body).job_id, "job1");

  // The same sequence again (a replay) must not reach the job.
  last_app_.reset();
  ASSERT_TRUE(client->Send(accept).ok());
  (void)Exchange(*client, 300ms);
  EXPECT_FALSE(last_app_.has_value());

  // A wrong session id is not accepted either.
  accept.header.session_id = session + 1;
  accept.header.sequence = 3;
  ASSERT_TRUE(client->Send(accept).ok());
  (void)Exchange(*client, 300ms);
  EXPECT_FALSE(last_app_.has_value());
}

TEST_F(SessionManagerTest, SilentSiteIsDroppedAfterLiveness) {
  auto client = Connect(*site_b_);
  ASSERT_TRUE(client->Send(Hello("site_b")).ok());
  ASSERT_TRUE(Exchange(*client).has_value());
  ASSERT_TRUE(sessions_->IsConnected("site_b"));
  (void)sessions_->TakeLostSessions();
  // 3 x 100 ms liveness; the client stays silent (but keeps reading).
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (sessions_->IsConnected("site_b") && std::chrono::steady_clock::now() < deadline) {
    (void)sessions_->Poll(20ms);
    (void)client->Receive(1ms);
  }
  EXPECT_FALSE(sessions_->IsConnected("site_b"));
  EXPECT_EQ(sessions_->TakeLostSessions(), std::vector<std::string>{"site_b"});
}

TEST_F(SessionManagerTest, SecondHelloReplacesSessionAndSiteIsListedOnce) {
  auto first = Connect(*site_a_);
  ASSERT_TRUE(first->Send(Hello("site_a")).ok());
  auto w1 = Exchange(*first);
  ASSERT_TRUE(w1.has_value());
  auto second = Connect(*site_a_);  // the site restarted: new connection
  ASSERT_TRUE(second->Send(Hello("site_a")).ok());
  auto w2 = Exchange(*second);
  ASSERT_TRUE(w2.has_value());
  EXPECT_NE(w1->header.session_id, w2->header.session_id);
  EXPECT_EQ(sessions_->ConnectedSites(), std::vector<std::string>{"site_a"});
  EXPECT_EQ(sessions_->TakeLostSessions(), std::vector<std::string>{"site_a"});
}

}  // namespace
}  // namespace fedrad::coordinator

// The coordinator's side of the session state machine (docs/protocol.md 4.2).
//
// SessionManager owns the ROUTER transport's protocol-level traffic: HELLO /
// WELCOME with version checks, session ids, per-direction sequence numbers,
// heartbeats, liveness, BYE, and refusals of malformed or unauthorised
// messages. Jobs see only application messages from live sessions, keyed by
// site id (taken from the ZAP User-Id, never from message content).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fedrad/common/rate_limit.hpp"
#include "fedrad/common/status.hpp"
#include "fedrad/protocols/messages.hpp"
#include "fedrad/protocols/transport.hpp"

namespace fedrad::coordinator {

struct SessionOptions {
  std::string coordinator_id = "coordinator";
  std::chrono::milliseconds heartbeat_interval{1000};
  int heartbeat_liveness = 5;
  std::int64_t max_message_bytes = protocols::kDefaultMaxMessageBytes;
};

// An application message (not HELLO/HEARTBEAT/BYE) from a live session.
struct SiteMessage {
  std::string site_id;
  protocols::Message message;
};

class SessionManager {
 public:
  SessionManager(protocols::ServerTransport* transport, SessionOptions options);

  // Waits up to `timeout` for traffic, handles protocol-level messages, sends
  // due heartbeats and expires silent sessions. Returns an application
  // message when one arrived.
  std::optional<SiteMessage> Poll(std::chrono::milliseconds timeout);

  // Sends a body to a site's current session (sequence and session id are
  // filled in). kUnavailable if the site has no session.
  common::Status Send(const std::string& site_id, protocols::Body body);

  bool IsConnected(const std::string& site_id) const;
  std::vector<std::string> ConnectedSites() const;
  // Sites that opened a session (first time or again) since the last call.
  std::vector<std::string> TakeNewSessions();
  // Sites whose session ended (silence, BYE, replaced) since the last call.
  std::vector<std::string> TakeLostSessions();

  // Sends BYE to every live session and forgets them.
  void CloseAll(const std::string& reason);
  // CloseAll, then the closing handshake of the audit trail
  // (docs/protocol.md 4.1): reads (and so logs) everything the sites still
  // send until each of them answered BYE, or for at most `timeout`. Answers
  // nothing, so nothing leaves after the BYEs.
  void CloseAllAndDrain(const std::string& reason, std::chrono::milliseconds timeout);

 private:
  struct Session {
    std::string site_id;
    std::string routing_id;
    std::uint64_t session_id = 0;
    std::uint64_t send_sequence = 0;
    protocols::SequenceGuard receive_guard;
    std::chrono::steady_clock::time_point last_receive;
    std::chrono::steady_clock::time_point last_send;
  };

  void Handle(protocols::Incoming incoming, std::optional<SiteMessage>* out);
  void HandleUndecodable(const protocols::Incoming& incoming);
  void HandleHello(const protocols::Incoming& incoming, const protocols::Message& message);
  void SendError(const std::string& routing_id, const std::string& peer, std::uint64_t session_id,
                 std::uint64_t sequence, const std::string& code, const std::string& text,
                 bool fatal, std::uint64_t ref_sequence);
  common::Status SendOnSession(Session& session, protocols::Body body);
  void DropSession(const std::string& routing_id, const std::string& why);
  void Maintain();

  protocols::ServerTransport* transport_;
  SessionOptions options_;
  std::map<std::string, Session> by_routing_id_;
  std::map<std::string, std::string> routing_by_site_;
  std::vector<std::string> new_sessions_;
  std::vector<std::string> lost_sessions_;
  common::RateLimiter limiter_{std::chrono::seconds(60)};
  common::RateLimiter error_reply_limiter_{std::chrono::seconds(1)};
};

}  // namespace fedrad::coordinator

#include "fedrad/coordinator/session_manager.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <utility>

#include "fedrad/common/logging.hpp"

namespace fedrad::coordinator {

using common::Log;
using common::LogLevel;
using protocols::Body;
using protocols::Message;
using Clock = std::chrono::steady_clock;

namespace {

std::string Hex64(std::uint64_t value) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(value));
  return buf;
}

std::uint64_t NewSessionId() {
  std::uint64_t id = 0;
  while (id == 0) randombytes_buf(&id, sizeof(id));
  return id;
}

}  // namespace

SessionManager::SessionManager(protocols::ServerTransport* transport, SessionOptions options)
    : transport_(transport), options_(std::move(options)) {}

std::optional<SiteMessage> SessionManager::Poll(std::chrono::milliseconds timeout) {
  std::optional<SiteMessage> out;
  auto received = transport_->Receive(timeout);
  if (!received.ok()) {
    Log(LogLevel::kError, "session", "receive failed", {{"error", received.status().ToString()}});
  } else if (received->has_value()) {
    Handle(std::move(**received), &out);
    // Drain what queued up while the caller was busy (e.g. a solver step
    // between rounds) before judging liveness, so that a site whose
    // heartbeats are waiting in the queue is not expired. Stops at the first
    // application message, which is returned.
    while (!out.has_value()) {
      auto more = transport_->Receive(std::chrono::milliseconds(0));
      if (!more.ok() || !more->has_value()) break;
      Handle(std::move(**more), &out);
    }
  }
  Maintain();
  return out;
}

void SessionManager::Handle(protocols::Incoming incoming, std::optional<SiteMessage>* out) {
  if (!incoming.message.ok()) {
    HandleUndecodable(incoming);
    return;
  }
  const Message& message = *incoming.message;
  if (std::holds_alternative<protocols::Hello>(message.body)) {
    HandleHello(incoming, message);
    return;
  }
  auto it = by_routing_id_.find(incoming.routing_id);
  if (it == by_routing_id_.end() || message.header.session_id != it->second.session_id) {
    // A site's BYE answering ours (closing handshake) ends nothing: no reply.
    if (std::holds_alternative<protocols::Bye>(message.body)) return;
    // A late message of a connection the site gave up (it has a session on
    // another connection now): nothing on the old connection reads a reply.
    if (const auto current = routing_by_site_.find(incoming.site_id);
        it == by_routing_id_.end() && current != routing_by_site_.end() &&
        current->second != incoming.routing_id) {
      return;
    }
    if (error_reply_limiter_.Allow("unknown_session|" + incoming.routing_id)) {
      SendError(incoming.routing_id, incoming.site_id, 0, 1, "unknown_session",
                "no session for this connection: send HELLO first", false, message.header.sequence);
    }
    return;
  }
  Session& session = it->second;
  std::uint64_t gap = 0;
  if (auto s = session.receive_guard.Accept(message.header.sequence, &gap); !s.ok()) {
    Log(LogLevel::kWarn, "session", "dropped a replayed or stale message",
        {{"site", session.site_id},
         {"type", std::string(protocols::MessageTypeName(message.type()))},
         {"detail", s.message()}});
    return;
  }
  if (gap > 0) {
    Log(LogLevel::kWarn, "session", "sequence gap",
        {{"site", session.site_id}, {"missing", std::to_string(gap)}});
  }
  session.last_receive = Clock::now();
  if (std::holds_alternative<protocols::Heartbeat>(message.body)) return;
  // RECEIPT: stored in the audit log by the transport's AuditObserver.
  if (std::holds_alternative<protocols::Receipt>(message.body)) return;
  if (const auto* bye = std::get_if<protocols::Bye>(&message.body)) {
    DropSession(incoming.routing_id, "site said BYE: " + bye->reason);
    return;
  }
  *out = SiteMessage{session.site_id, message};
}

void SessionManager::HandleUndecodable(const protocols::Incoming& incoming) {
  const common::Status& status = incoming.message.status();
  const std::string peer = incoming.site_id.empty() ? "<unknown>" : incoming.site_id;
  // A peer of another major version saying HELLO gets a version-1 ERROR it
  // can read (the header prefix and ERROR are frozen across majors).
  if (status.code() == common::StatusCode::kVersionMismatch) {
    if (limiter_.Allow("version|" + peer)) {
      Log(LogLevel::kError, "session", "refused a peer speaking another protocol version",
          {{"site", peer}, {"detail", status.message()}});
    }
    protocols::Error error;
    error.code = "version_mismatch";
    error.message = status.message() + "; the coordinator speaks protocol " +
                    std::to_string(protocols::kProtocolMajor) + "." +
                    std::to_string(protocols::kProtocolMinor) + ": upgrade fedrad at this site";
    error.fatal = true;
    error.supported_majors = {protocols::kProtocolMajor};
    Message reply;
    reply.header.sequence = 1;
    reply.body = error;
    if (error_reply_limiter_.Allow("version_reply|" + incoming.routing_id)) {
      (void)transport_->Send(incoming.routing_id, peer, reply);
    }
    return;
  }
  std::uint64_t suppressed = 0;
  if (limiter_.Allow("malformed|" + peer, &suppressed)) {
    std::vector<common::LogField> fields = {
        {"site", peer}, {"bytes", std::to_string(incoming.bytes)}, {"reason", status.message()}};
    if (suppressed > 0) fields.emplace_back("repeats_suppressed", std::to_string(suppressed));
    Log(LogLevel::kWarn, "session", "dropped a malformed message", fields);
  }
  auto it = by_routing_id_.find(incoming.routing_id);
  if (it != by_routing_id_.end() &&
      error_reply_limiter_.Allow("malformed|" + incoming.routing_id)) {
    protocols::Error error;
    error.code = "protocol_error";
    error.message = "message dropped: " + status.message();
    error.fatal = false;
    (void)SendOnSession(it->second, error);
  }
}

void SessionManager::HandleHello(const protocols::Incoming& incoming, const Message& message) {
  const auto& hello = std::get<protocols::Hello>(message.body);
  if (hello.site_id != incoming.site_id) {
    if (limiter_.Allow("impersonation|" + incoming.site_id)) {
      Log(LogLevel::kError, "session", "refused a HELLO claiming another site's id",
          {{"key_owner", incoming.site_id}, {"claimed", hello.site_id}});
    }
    SendError(incoming.routing_id, incoming.site_id, 0, 1, "not_authorized",
              "this connection's key belongs to site \"" + incoming.site_id + "\", not \"" +
                  hello.site_id + "\"",
              true, message.header.sequence);
    return;
  }
  // A new HELLO replaces any earlier session of the same site (restart or
  // reconnect) and any earlier session on the same connection.
  if (auto old = routing_by_site_.find(incoming.site_id); old != routing_by_site_.end()) {
    DropSession(old->second, "replaced by a new HELLO (site restarted or reconnected)");
  }
  if (by_routing_id_.count(incoming.routing_id) > 0) {
    DropSession(incoming.routing_id, "replaced by a new HELLO on the same connection");
  }
  Session session;
  session.site_id = incoming.site_id;
  session.routing_id = incoming.routing_id;
  session.session_id = NewSessionId();
  session.last_receive = Clock::now();
  (void)session.receive_guard.Accept(message.header.sequence);
  auto& stored = by_routing_id_[incoming.routing_id] = std::move(session);
  routing_by_site_[incoming.site_id] = incoming.routing_id;

  protocols::Welcome welcome;
  welcome.site_id = incoming.site_id;
  welcome.coordinator_id = options_.coordinator_id;
  welcome.protocol_minor = std::min<std::int64_t>(message.header.minor, protocols::kProtocolMinor);
  welcome.heartbeat_interval_ms = options_.heartbeat_interval.count();
  welcome.heartbeat_liveness = options_.heartbeat_liveness;
  welcome.max_message_bytes = options_.max_message_bytes;
  if (auto s = SendOnSession(stored, welcome); !s.ok()) {
    Log(LogLevel::kWarn, "session", "could not send WELCOME",
        {{"site", incoming.site_id}, {"error", s.ToString()}});
    DropSession(incoming.routing_id, "WELCOME could not be sent");
    return;
  }
  Log(LogLevel::kInfo, "session", "site connected",
      {{"site", incoming.site_id},
       {"session", Hex64(stored.session_id)},
       {"software", hello.software_version}});
  new_sessions_.push_back(incoming.site_id);
}

void SessionManager::SendError(const std::string& routing_id, const std::string& peer,
                               std::uint64_t session_id, std::uint64_t sequence,
                               const std::string& code, const std::string& text, bool fatal,
                               std::uint64_t ref_sequence) {
  protocols::Error error;
  error.code = code;
  error.message = text;
  error.fatal = fatal;
  error.ref_sequence = static_cast<std::int64_t>(ref_sequence);
  Message reply;
  reply.header.session_id = session_id;
  reply.header.sequence = sequence;
  reply.body = error;
  (void)transport_->Send(routing_id, peer, reply);
}

common::Status SessionManager::SendOnSession(Session& session, Body body) {
  Message message;
  message.header.session_id = session.session_id;
  message.header.sequence = ++session.send_sequence;
  message.body = std::move(body);
  FEDRAD_RETURN_IF_ERROR(transport_->Send(session.routing_id, session.site_id, message));
  session.last_send = Clock::now();
  return common::Status::Ok();
}

common::Status SessionManager::Send(const std::string& site_id, Body body) {
  auto it = routing_by_site_.find(site_id);
  if (it == routing_by_site_.end()) {
    return common::Unavailable("site \"" + site_id + "\" has no session");
  }
  return SendOnSession(by_routing_id_.at(it->second), std::move(body));
}

bool SessionManager::IsConnected(const std::string& site_id) const {
  return routing_by_site_.count(site_id) > 0;
}

std::vector<std::string> SessionManager::ConnectedSites() const {
  std::vector<std::string> sites;
  for (const auto& [site, routing] : routing_by_site_) sites.push_back(site);
  return sites;
}

std::vector<std::string> SessionManager::TakeNewSessions() {
  return std::exchange(new_sessions_, {});
}

std::vector<std::string> SessionManager::TakeLostSessions() {
  return std::exchange(lost_sessions_, {});
}

void SessionManager::DropSession(const std::string& routing_id, const std::string& why) {
  auto it = by_routing_id_.find(routing_id);
  if (it == by_routing_id_.end()) return;
  const std::string site = it->second.site_id;
  Log(LogLevel::kInfo, "session", "session ended",
      {{"site", site}, {"session", Hex64(it->second.session_id)}, {"reason", why}});
  if (auto s = routing_by_site_.find(site);
      s != routing_by_site_.end() && s->second == routing_id) {
    routing_by_site_.erase(s);
  }
  by_routing_id_.erase(it);
  lost_sessions_.push_back(site);
}

void SessionManager::Maintain() {
  const auto now = Clock::now();
  const auto dead_after = options_.heartbeat_interval * options_.heartbeat_liveness;
  std::vector<std::string> expired;
  for (auto& [routing, session] : by_routing_id_) {
    if (now - session.last_receive > dead_after) {
      expired.push_back(routing);
    } else if (now - session.last_send >= options_.heartbeat_interval) {
      (void)SendOnSession(session, protocols::Heartbeat{});
    }
  }
  for (const auto& routing : expired) {
    DropSession(routing,
                "silent for " +
                    std::to_string(
                        std::chrono::duration_cast<std::chrono::milliseconds>(dead_after).count()) +
                    " ms (heartbeat liveness expired)");
  }
}

void SessionManager::CloseAll(const std::string& reason) {
  for (auto& [routing, session] : by_routing_id_) {
    (void)SendOnSession(session, protocols::Bye{reason});
  }
  by_routing_id_.clear();
  routing_by_site_.clear();
}

void SessionManager::CloseAllAndDrain(const std::string& reason,
                                      std::chrono::milliseconds timeout) {
  std::set<std::string> waiting;
  for (const auto& [routing, session] : by_routing_id_) waiting.insert(session.site_id);
  CloseAll(reason);
  const auto deadline = Clock::now() + timeout;
  while (!waiting.empty() && Clock::now() < deadline) {
    auto received = transport_->Receive(std::chrono::milliseconds(50));
    if (!received.ok() || !received->has_value()) continue;
    const protocols::Incoming& in = **received;
    if (in.message.ok() && std::holds_alternative<protocols::Bye>(in.message->body)) {
      waiting.erase(in.site_id);
    }
  }
  if (!waiting.empty()) {
    std::string sites;
    for (const auto& site : waiting) sites += (sites.empty() ? "" : ", ") + site;
    Log(LogLevel::kWarn, "session",
        "no closing BYE from some sites (their audit logs may hold "
        "messages the coordinator did not read)",
        {{"sites", sites}});
  }
}

}  // namespace fedrad::coordinator

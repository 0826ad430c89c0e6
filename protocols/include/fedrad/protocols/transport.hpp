// CurveZMQ transport for fedrad (docs/protocol.md section 1).
//
// ServerTransport: the coordinator's ROUTER socket, CURVE server, with a ZAP
// handler that admits only allowlisted site keys and labels each connection
// with the site id mapped to its key (ZAP User-Id).
// ClientTransport: a site's DEALER socket, CURVE client pinning the
// coordinator's public key.
//
// Every message goes through Send()/Receive() here: encoded or decoded,
// size-checked against max_message_bytes, and reported to the optional
// WireObserver (the audit trail hooks in there). Neither class assigns
// sequence numbers or sessions: that is the session layer's job.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "fedrad/common/keys.hpp"
#include "fedrad/common/status.hpp"
#include "fedrad/protocols/messages.hpp"

namespace fedrad::protocols {

// What passed the wire, for logging and auditing.
// A message is reported kSent just before it is handed to the socket (so an
// audit log written from these events never misses a message that left, even
// if the process dies right after), and kSendFailed right after if the socket
// refused it (it did not leave).
struct WireEvent {
  enum class Direction { kSent, kReceived, kSendFailed };
  Direction direction = Direction::kSent;
  std::string peer;        // site id (server side) or "coordinator" (client side)
  std::uint16_t type = 0;  // header type code (0 if the header was unreadable)
  std::uint64_t session_id = 0;
  std::uint64_t sequence = 0;
  std::size_t bytes = 0;           // all frames, routing identity excluded
  bool decoded = true;             // false: the message was rejected by the decoder
  const Frames* frames = nullptr;  // valid only during OnWire
};

class WireObserver {
 public:
  virtual ~WireObserver() = default;
  virtual void OnWire(const WireEvent& event) = 0;
};

struct ServerOptions {
  std::string endpoint;                        // e.g. "tcp://0.0.0.0:7700" or "tcp://127.0.0.1:*"
  const common::Identity* identity = nullptr;  // coordinator's keys (not owned)
  // CURVE public key (Z85) -> site id. Only these keys are admitted.
  std::map<std::string, std::string> allowed_keys;
  std::size_t max_message_bytes = kDefaultMaxMessageBytes;
  WireObserver* observer = nullptr;  // not owned, may be null
};

// A message received by the server.
struct Incoming {
  std::string routing_id;  // ZeroMQ identity of the connection
  std::string site_id;     // from ZAP User-Id; never from message content
  std::size_t bytes = 0;
  common::Result<Message> message{common::Internal("not decoded")};
};

class ServerTransport {
 public:
  // Binds the ROUTER socket (and starts the ZAP handler first).
  static common::Result<std::unique_ptr<ServerTransport>> Bind(const ServerOptions& options);
  ~ServerTransport();
  ServerTransport(const ServerTransport&) = delete;
  ServerTransport& operator=(const ServerTransport&) = delete;

  // The endpoint actually bound (wildcard port resolved).
  const std::string& endpoint() const;

  // Waits up to `timeout` for one message; std::nullopt on timeout. A
  // message that fails to decode is returned with its error in `message`.
  common::Result<std::optional<Incoming>> Receive(std::chrono::milliseconds timeout);

  // Encodes and sends without blocking. kUnavailable if the peer is gone or
  // its queue is full.
  common::Status Send(const std::string& routing_id, const std::string& peer_name,
                      const Message& message);
  // Sends raw frames (tests only: a peer that speaks another version).
  common::Status SendFrames(const std::string& routing_id, const Frames& frames);

  // Number of connection attempts the ZAP handler refused so far.
  std::uint64_t refused_connections() const;

  class Impl;

 private:
  explicit ServerTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct ClientOptions {
  std::string endpoint;                        // e.g. "tcp://coordinator.example.org:7700"
  std::string server_public_z85;               // pinned coordinator key
  const common::Identity* identity = nullptr;  // own keys (not owned)
  std::size_t max_message_bytes = kDefaultMaxMessageBytes;
  WireObserver* observer = nullptr;
  // Tests only: connect without CURVE (the server must refuse it).
  bool insecure_plain_for_tests = false;
};

class ClientTransport {
 public:
  static common::Result<std::unique_ptr<ClientTransport>> Connect(const ClientOptions& options);
  ~ClientTransport();
  ClientTransport(const ClientTransport&) = delete;
  ClientTransport& operator=(const ClientTransport&) = delete;

  // Encodes and queues a message without blocking (kUnavailable if the
  // queue is full).
  common::Status Send(const Message& message);
  // Sends raw frames (tests only: garbage, other versions).
  common::Status SendFrames(const Frames& frames);

  // Waits up to `timeout`; std::nullopt on timeout; a decode failure is an
  // error Result (kProtocolError / kVersionMismatch / kResourceExhausted).
  common::Result<std::optional<Message>> Receive(std::chrono::milliseconds timeout);

  // Closes the socket and connects a new one (fresh ZeroMQ identity), as a
  // Majordomo client does when the server stops answering.
  common::Status Reconnect();

  // Most recent CURVE handshake failure seen on the connection (empty if
  // none): e.g. the server key pinned here does not match the server.
  std::string TakeHandshakeError();

  class Impl;

 private:
  explicit ClientTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fedrad::protocols

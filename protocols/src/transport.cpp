#include "fedrad/protocols/transport.hpp"

#include <zmq.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "fedrad/common/logging.hpp"
#include "fedrad/common/rate_limit.hpp"

namespace fedrad::protocols {
namespace {

using common::Log;
using common::LogLevel;
using common::Result;
using common::Status;

constexpr int kLingerMs = 200;
constexpr auto kRefusalLogInterval = std::chrono::seconds(60);
constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
constexpr const char* kZapDomain = "fedrad";

std::size_t TotalBytes(const Frames& frames) {
  std::size_t total = 0;
  for (const auto& f : frames) total += f.size();
  return total;
}

std::string Z85Encode32(const void* key) {
  std::array<char, 41> out{};
  if (zmq_z85_encode(out.data(), static_cast<const uint8_t*>(key), 32) == nullptr) return {};
  return std::string(out.data(), 40);
}

// Applies the options every fedrad socket gets.
void ApplyCommonOptions(zmq::socket_t& socket, std::size_t max_message_bytes) {
  socket.set(zmq::sockopt::linger, kLingerMs);
  socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(max_message_bytes));
}

Status SetCurveKey(zmq::socket_t& socket, int option, const void* z85) {
  if (zmq_setsockopt(socket.handle(), option, z85, common::kCurveKeyZ85Chars) != 0) {
    return common::InvalidArgument(std::string("cannot set CURVE key: ") +
                                   zmq_strerror(zmq_errno()));
  }
  return Status::Ok();
}

WireEvent MakeEvent(WireEvent::Direction direction, const std::string& peer, const Frames& frames,
                    bool decoded) {
  WireEvent event;
  event.direction = direction;
  event.peer = peer;
  event.bytes = TotalBytes(frames);
  event.decoded = decoded;
  event.frames = &frames;
  if (!frames.empty() && frames[0].size() == kHeaderBytes) {
    const auto* h = reinterpret_cast<const unsigned char*>(frames[0].data());
    event.type = static_cast<std::uint16_t>(h[6] | (h[7] << 8));
    for (int i = 7; i >= 0; --i) event.session_id = (event.session_id << 8) | h[12 + i];
    for (int i = 7; i >= 0; --i) event.sequence = (event.sequence << 8) | h[20 + i];
  }
  return event;
}

// Sends frames as one multipart message without blocking.
Status SendMultipart(zmq::socket_t& socket, const std::string* routing_id, const Frames& frames,
                     const std::string& peer) {
  std::size_t index = 0;
  const std::size_t count = frames.size() + (routing_id != nullptr ? 1 : 0);
  try {
    auto send_one = [&](const std::string& bytes) -> bool {
      ++index;
      auto flags = zmq::send_flags::dontwait;
      if (index < count) flags = flags | zmq::send_flags::sndmore;
      auto sent = socket.send(zmq::buffer(bytes), flags);
      return sent.has_value();
    };
    if (routing_id != nullptr && !send_one(*routing_id)) {
      return common::Unavailable("cannot send to " + peer + ": its queue is full");
    }
    for (const auto& frame : frames) {
      if (!send_one(frame)) {
        return common::Unavailable("cannot send to " + peer + ": its queue is full");
      }
    }
  } catch (const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH) {
      return common::Unavailable("cannot send to " + peer + ": not connected");
    }
    return common::Unavailable("cannot send to " + peer + ": " + e.what());
  }
  return Status::Ok();
}

// Receives one multipart message if one is ready (non-blocking).
bool RecvMultipart(zmq::socket_t& socket, std::vector<zmq::message_t>* parts) {
  parts->clear();
  while (true) {
    zmq::message_t msg;
    auto got = socket.recv(msg, zmq::recv_flags::dontwait);
    if (!got) return !parts->empty();
    const bool more = msg.more();
    parts->push_back(std::move(msg));
    if (!more) return true;
  }
}

// Monitors a socket's handshake events through an inproc PAIR socket and
// words failures from this side's point of view.
class HandshakeMonitor {
 public:
  enum class Side { kServer, kClient };

  HandshakeMonitor(zmq::context_t& context, zmq::socket_t& socket, Side side) : side_(side) {
    static std::atomic<int> counter{0};
    endpoint_ = std::string("inproc://fedrad-monitor-") +
                (side == Side::kServer ? "server-" : "client-") + std::to_string(counter++);
    const int events = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED |
                       ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                       ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    if (zmq_socket_monitor(socket.handle(), endpoint_.c_str(), events) == 0) {
      pair_ = zmq::socket_t(context, zmq::socket_type::pair);
      pair_.set(zmq::sockopt::linger, 0);
      pair_.connect(endpoint_);
    }
  }

  // Drains pending events; returns a description of the last handshake
  // failure among them (empty if none).
  std::string Drain() {
    std::string failure;
    if (!pair_) return failure;
    std::vector<zmq::message_t> parts;
    while (RecvMultipart(pair_, &parts)) {
      if (parts.size() < 2 || parts[0].size() < 6) continue;
      std::uint16_t event = 0;
      std::uint32_t value = 0;
      std::memcpy(&event, parts[0].data(), sizeof(event));
      std::memcpy(&value, static_cast<const char*>(parts[0].data()) + 2, sizeof(value));
      std::string text = side_ == Side::kServer
                             ? DescribeServerEvent(event, value, parts[1].to_string())
                             : DescribeClientEvent(event, value, parts[1].to_string());
      if (!text.empty()) failure = std::move(text);
    }
    return failure;
  }

  void Stop(zmq::socket_t& socket) {
    if (pair_) {
      zmq_socket_monitor(socket.handle(), nullptr, 0);
      pair_.close();
    }
  }

 private:
  static std::string Hex32(std::uint32_t value) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "0x%08x", value);
    return buf;
  }

  // The coordinator's view. Refused keys are logged by the ZAP handler, so
  // only cryptographic failures are reported here.
  std::string DescribeServerEvent(std::uint16_t event, std::uint32_t value,
                                  const std::string& where) {
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
      return "a client's CURVE handshake on " + where + " failed (protocol error " + Hex32(value) +
             "): it pins another coordinator key, or does not use CURVE";
    }
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
      return "a client's CURVE handshake on " + where + " failed";
    }
    return {};
  }

  // A site's view of its connection to the coordinator.
  std::string DescribeClientEvent(std::uint16_t event, std::uint32_t value,
                                  const std::string& where) {
    switch (event) {
      case ZMQ_EVENT_CONNECTED:
        handshake_pending_ = true;
        return {};
      case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        handshake_pending_ = false;
        return {};
      case ZMQ_EVENT_DISCONNECTED: {
        const bool pending = std::exchange(handshake_pending_, false);
        if (!pending) return {};
        return "the coordinator at " + where +
               " closed the connection during the CURVE handshake (the pinned coordinator key "
               "is wrong, or this site's key is not on the coordinator's allowlist)";
      }
      case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        handshake_pending_ = false;
        return "the coordinator at " + where + " refused this site's CURVE key (ZAP status " +
               std::to_string(value) + "): is this site on the coordinator's allowlist?";
      case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        handshake_pending_ = false;
        return "CURVE handshake with the coordinator at " + where + " failed (protocol error " +
               Hex32(value) +
               "): the pinned coordinator key does not match, or it does not use CURVE";
      case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        handshake_pending_ = false;
        return "CURVE handshake with the coordinator at " + where + " failed";
      default:
        return {};
    }
  }

  Side side_;
  std::string endpoint_;
  zmq::socket_t pair_;
  bool handshake_pending_ = false;
};

// ZAP handler (RFC 27): admits allowlisted CURVE keys, sets User-Id to the
// site id. Runs on its own thread until destroyed.
class ZapHandler {
 public:
  ZapHandler(zmq::context_t& context, std::map<std::string, std::string> allowed_keys)
      : allowed_keys_(std::move(allowed_keys)), socket_(context, zmq::socket_type::rep) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind(kZapEndpoint);
    thread_ = std::thread([this] { Run(); });
  }
  ~ZapHandler() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::uint64_t refused() const { return refused_.load(); }

 private:
  void Run() {
    std::vector<zmq::message_t> request;
    while (!stop_) {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      try {
        zmq::poll(&item, 1, std::chrono::milliseconds(100));
        if ((item.revents & ZMQ_POLLIN) == 0) continue;
        if (!RecvMultipart(socket_, &request)) continue;
        Reply(request);
      } catch (const zmq::error_t& e) {
        if (e.num() == ETERM) return;
        Log(LogLevel::kError, "zap", "ZAP handler error", {{"error", e.what()}});
      }
    }
  }

  void Reply(const std::vector<zmq::message_t>& request) {
    // version, request_id, domain, address, identity, mechanism, credentials...
    std::string request_id = request.size() > 1 ? request[1].to_string() : "";
    std::string address = request.size() > 3 ? request[3].to_string() : "?";
    std::string mechanism = request.size() > 5 ? request[5].to_string() : "?";
    std::string status = "400";
    std::string text = "not allowed";
    std::string user_id;
    if (request.size() < 6 || request[0].to_string() != "1.0") {
      text = "malformed ZAP request";
    } else if (mechanism != "CURVE" || request.size() != 7 || request[6].size() != 32) {
      text = "CURVE required";
      LogRefusal(address, "mechanism " + mechanism + " (fedrad requires CURVE)");
    } else {
      const std::string key = Z85Encode32(request[6].data());
      auto it = allowed_keys_.find(key);
      if (it == allowed_keys_.end()) {
        LogRefusal(address, "CURVE key " + key + " is not on the allowlist");
      } else {
        status = "200";
        text = "OK";
        user_id = it->second;
      }
    }
    if (status != "200") ++refused_;
    std::array<std::string, 6> reply = {"1.0", request_id, status, text, user_id, ""};
    for (std::size_t i = 0; i < reply.size(); ++i) {
      socket_.send(zmq::buffer(reply[i]),
                   i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }

  void LogRefusal(const std::string& address, const std::string& why) {
    std::uint64_t suppressed = 0;
    if (!limiter_.Allow(address + "|" + why, &suppressed)) return;
    std::vector<common::LogField> fields = {{"address", address}, {"reason", why}};
    if (suppressed > 0) fields.emplace_back("repeats_suppressed", std::to_string(suppressed));
    Log(LogLevel::kWarn, "zap", "refused a connection", fields);
  }

  std::map<std::string, std::string> allowed_keys_;
  zmq::socket_t socket_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> refused_{0};
  common::RateLimiter limiter_{kRefusalLogInterval};
  std::thread thread_;
};

}  // namespace

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------
class ServerTransport::Impl {
 public:
  explicit Impl(const ServerOptions& options)
      : options_(options),
        context_(1),
        zap_(context_, options.allowed_keys),
        router_(context_, zmq::socket_type::router),
        monitor_(context_, router_, HandshakeMonitor::Side::kServer) {}
  ~Impl() {
    monitor_.Stop(router_);
    router_.close();
  }

  Status Bind() {
    const common::Identity& id = *options_.identity;
    ApplyCommonOptions(router_, options_.max_message_bytes);
    router_.set(zmq::sockopt::router_mandatory, 1);
    router_.set(zmq::sockopt::curve_server, 1);
    router_.set(zmq::sockopt::zap_domain, kZapDomain);
    FEDRAD_RETURN_IF_ERROR(SetCurveKey(router_, ZMQ_CURVE_SECRETKEY, id.curve_secret_z85.data()));
    try {
      router_.bind(options_.endpoint);
    } catch (const zmq::error_t& e) {
      return common::Unavailable("cannot listen on " + options_.endpoint + ": " + e.what());
    }
    endpoint_ = router_.get(zmq::sockopt::last_endpoint);
    return Status::Ok();
  }

  Result<std::optional<Incoming>> Receive(std::chrono::milliseconds timeout) {
    LogHandshakeFailures();
    zmq::pollitem_t item{router_.handle(), 0, ZMQ_POLLIN, 0};
    try {
      zmq::poll(&item, 1, timeout);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) return std::optional<Incoming>();
      return common::Unavailable(std::string("poll failed: ") + e.what());
    }
    if ((item.revents & ZMQ_POLLIN) == 0) return std::optional<Incoming>();
    std::vector<zmq::message_t> parts;
    if (!RecvMultipart(router_, &parts)) return std::optional<Incoming>();
    Incoming in;
    in.routing_id = parts[0].to_string();
    try {
      const char* user = parts.size() > 1 ? parts[1].gets("User-Id") : nullptr;
      in.site_id = user != nullptr ? user : "";
    } catch (const zmq::error_t&) {
      in.site_id.clear();
    }
    Frames frames;
    frames.reserve(parts.size() - 1);
    for (std::size_t i = 1; i < parts.size(); ++i) frames.push_back(parts[i].to_string());
    in.bytes = TotalBytes(frames);
    const std::string peer = in.site_id.empty() ? "<unauthenticated>" : in.site_id;
    if (in.site_id.empty()) {
      // Cannot happen with CURVE + ZAP; refuse rather than trust it.
      in.message = common::Unauthenticated("message without a ZAP User-Id");
    } else {
      DecodeLimits limits;
      limits.max_message_bytes = options_.max_message_bytes;
      in.message = Decode(frames, limits);
    }
    if (options_.observer != nullptr) {
      options_.observer->OnWire(
          MakeEvent(WireEvent::Direction::kReceived, peer, frames, in.message.ok()));
    }
    return std::optional<Incoming>(std::move(in));
  }

  Status Send(const std::string& routing_id, const std::string& peer, const Message& message) {
    FEDRAD_ASSIGN_OR_RETURN(Frames frames, Encode(message));
    return SendFrames(routing_id, peer, frames);
  }

  Status SendFrames(const std::string& routing_id, const std::string& peer, const Frames& frames) {
    const std::size_t bytes = TotalBytes(frames);
    if (bytes > options_.max_message_bytes) {
      return common::ResourceExhausted("message to " + peer + " is " + std::to_string(bytes) +
                                       " bytes, over max_message_bytes " +
                                       std::to_string(options_.max_message_bytes));
    }
    if (options_.observer != nullptr) {
      options_.observer->OnWire(MakeEvent(WireEvent::Direction::kSent, peer, frames, true));
    }
    Status sent = SendMultipart(router_, &routing_id, frames, peer);
    if (!sent.ok() && options_.observer != nullptr) {
      options_.observer->OnWire(MakeEvent(WireEvent::Direction::kSendFailed, peer, frames, true));
    }
    return sent;
  }

  void LogHandshakeFailures() {
    const std::string failure = monitor_.Drain();
    if (failure.empty()) return;
    std::uint64_t suppressed = 0;
    if (!limiter_.Allow("handshake", &suppressed)) return;
    std::vector<common::LogField> fields = {{"detail", failure}};
    if (suppressed > 0) fields.emplace_back("repeats_suppressed", std::to_string(suppressed));
    Log(LogLevel::kWarn, "transport", "refused a connection", fields);
  }

  const std::string& endpoint() const { return endpoint_; }
  std::uint64_t refused() const { return zap_.refused(); }

 private:
  ServerOptions options_;
  zmq::context_t context_;
  ZapHandler zap_;  // must exist before the ROUTER accepts connections
  zmq::socket_t router_;
  HandshakeMonitor monitor_;
  std::string endpoint_;
  common::RateLimiter limiter_{kRefusalLogInterval};
};

ServerTransport::ServerTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ServerTransport::~ServerTransport() = default;

Result<std::unique_ptr<ServerTransport>> ServerTransport::Bind(const ServerOptions& options) {
  if (options.identity == nullptr || options.identity->curve_secret_z85.size() < 40) {
    return common::InvalidArgument("server transport needs the coordinator's secret key");
  }
  if (zmq_has("curve") == 0) {
    return common::FailedPrecondition("this libzmq was built without CURVE support");
  }
  std::unique_ptr<Impl> impl;
  try {
    impl = std::make_unique<Impl>(options);
  } catch (const zmq::error_t& e) {
    return common::Unavailable(std::string("cannot start the ZAP handler: ") + e.what());
  }
  FEDRAD_RETURN_IF_ERROR(impl->Bind());
  return std::unique_ptr<ServerTransport>(new ServerTransport(std::move(impl)));
}

const std::string& ServerTransport::endpoint() const { return impl_->endpoint(); }

Result<std::optional<Incoming>> ServerTransport::Receive(std::chrono::milliseconds timeout) {
  return impl_->Receive(timeout);
}

Status ServerTransport::Send(const std::string& routing_id, const std::string& peer_name,
                             const Message& message) {
  return impl_->Send(routing_id, peer_name, message);
}

Status ServerTransport::SendFrames(const std::string& routing_id, const Frames& frames) {
  return impl_->SendFrames(routing_id, "peer", frames);
}

std::uint64_t ServerTransport::refused_connections() const { return impl_->refused(); }

// ---------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------
class ClientTransport::Impl {
 public:
  explicit Impl(const ClientOptions& options) : options_(options), context_(1) {}
  ~Impl() { Close(); }

  Status Open() {
    socket_ = zmq::socket_t(context_, zmq::socket_type::dealer);
    ApplyCommonOptions(socket_, options_.max_message_bytes);
    if (!options_.insecure_plain_for_tests) {
      const common::Identity& id = *options_.identity;
      FEDRAD_RETURN_IF_ERROR(
          SetCurveKey(socket_, ZMQ_CURVE_SERVERKEY, options_.server_public_z85.c_str()));
      FEDRAD_RETURN_IF_ERROR(
          SetCurveKey(socket_, ZMQ_CURVE_PUBLICKEY, id.pub.curve_public_z85.c_str()));
      FEDRAD_RETURN_IF_ERROR(SetCurveKey(socket_, ZMQ_CURVE_SECRETKEY, id.curve_secret_z85.data()));
    }
    monitor_ =
        std::make_unique<HandshakeMonitor>(context_, socket_, HandshakeMonitor::Side::kClient);
    try {
      socket_.connect(options_.endpoint);
    } catch (const zmq::error_t& e) {
      return common::InvalidArgument("cannot connect to " + options_.endpoint + ": " + e.what());
    }
    return Status::Ok();
  }

  void Close() {
    if (monitor_) {
      monitor_->Stop(socket_);
      monitor_.reset();
    }
    if (socket_) socket_.close();
  }

  Status SendFrames(const Frames& frames) {
    const std::size_t bytes = TotalBytes(frames);
    if (bytes > options_.max_message_bytes) {
      return common::ResourceExhausted("message to coordinator is " + std::to_string(bytes) +
                                       " bytes, over max_message_bytes " +
                                       std::to_string(options_.max_message_bytes));
    }
    if (options_.observer != nullptr) {
      options_.observer->OnWire(
          MakeEvent(WireEvent::Direction::kSent, "coordinator", frames, true));
    }
    Status sent = SendMultipart(socket_, nullptr, frames, "coordinator");
    if (!sent.ok() && options_.observer != nullptr) {
      options_.observer->OnWire(
          MakeEvent(WireEvent::Direction::kSendFailed, "coordinator", frames, true));
    }
    return sent;
  }

  Result<std::optional<Message>> Receive(std::chrono::milliseconds timeout) {
    if (monitor_) {
      std::string failure = monitor_->Drain();
      if (!failure.empty()) handshake_error_ = std::move(failure);
    }
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    try {
      zmq::poll(&item, 1, timeout);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) return std::optional<Message>();
      return common::Unavailable(std::string("poll failed: ") + e.what());
    }
    if ((item.revents & ZMQ_POLLIN) == 0) return std::optional<Message>();
    std::vector<zmq::message_t> parts;
    if (!RecvMultipart(socket_, &parts)) return std::optional<Message>();
    Frames frames;
    frames.reserve(parts.size());
    for (auto& p : parts) frames.push_back(p.to_string());
    DecodeLimits limits;
    limits.max_message_bytes = options_.max_message_bytes;
    Result<Message> decoded = Decode(frames, limits);
    if (options_.observer != nullptr) {
      options_.observer->OnWire(
          MakeEvent(WireEvent::Direction::kReceived, "coordinator", frames, decoded.ok()));
    }
    if (!decoded.ok()) return decoded.status();
    return std::optional<Message>(std::move(decoded).value());
  }

  std::string TakeHandshakeError() {
    if (monitor_) {
      std::string failure = monitor_->Drain();
      if (!failure.empty()) handshake_error_ = std::move(failure);
    }
    return std::exchange(handshake_error_, std::string());
  }

 private:
  ClientOptions options_;
  zmq::context_t context_;
  zmq::socket_t socket_;
  std::unique_ptr<HandshakeMonitor> monitor_;
  std::string handshake_error_;
};

ClientTransport::ClientTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClientTransport::~ClientTransport() = default;

Result<std::unique_ptr<ClientTransport>> ClientTransport::Connect(const ClientOptions& options) {
  if (!options.insecure_plain_for_tests) {
    if (options.identity == nullptr || options.identity->curve_secret_z85.size() < 40) {
      return common::InvalidArgument("client transport needs the site's secret key");
    }
    FEDRAD_RETURN_IF_ERROR(
        common::ValidateCurvePublicKey(options.server_public_z85).Wrap("coordinator public key"));
  }
  auto impl = std::make_unique<Impl>(options);
  FEDRAD_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<ClientTransport>(new ClientTransport(std::move(impl)));
}

Status ClientTransport::Send(const Message& message) {
  FEDRAD_ASSIGN_OR_RETURN(Frames frames, Encode(message));
  return impl_->SendFrames(frames);
}

Status ClientTransport::SendFrames(const Frames& frames) { return impl_->SendFrames(frames); }

Result<std::optional<Message>> ClientTransport::Receive(std::chrono::milliseconds timeout) {
  return impl_->Receive(timeout);
}

Status ClientTransport::Reconnect() {
  impl_->Close();
  return impl_->Open();
}

std::string ClientTransport::TakeHandshakeError() { return impl_->TakeHandshakeError(); }

}  // namespace fedrad::protocols

#include "support/wire.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "fedrad/common/sodium_init.hpp"

namespace fedrad::integration {

using Clock = std::chrono::steady_clock;

protocols::Frames HelloFrames(const std::string& site_id) {
  protocols::Message message;
  message.header.session_id = 0;
  message.header.sequence = 1;
  message.body = protocols::Hello{site_id, "0.1.0", {"cohort_size"}};
  auto frames = protocols::Encode(message);
  EXPECT_TRUE(frames.ok()) << frames.status().ToString();
  return frames.ok() ? std::move(frames).value() : protocols::Frames{};
}

protocols::Frames HelloFramesWithMajor(const std::string& site_id, std::uint8_t major) {
  protocols::Frames frames = HelloFrames(site_id);
  if (!frames.empty() && frames[0].size() > 4) frames[0][4] = static_cast<char>(major);
  return frames;
}

std::string RandomBytes(std::mt19937_64& rng, std::size_t size) {
  std::string bytes(size, '\0');
  std::uniform_int_distribution<int> byte(0, 255);
  for (char& c : bytes) c = static_cast<char>(byte(rng));
  return bytes;
}

bool SendRawTcp(std::uint16_t port, std::string_view bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return false;
  }
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    // MSG_NOSIGNAL: a peer that hangs up must not SIGPIPE the test.
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return true;
}

std::optional<std::string> ReceiveAnything(protocols::ClientTransport& client,
                                           std::chrono::milliseconds duration) {
  const auto deadline = Clock::now() + duration;
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto received = client.Receive(std::min(left, std::chrono::milliseconds(100)));
    if (!received.ok()) return "undecodable message: " + received.status().ToString();
    if (received->has_value()) {
      return "a " + std::string(protocols::MessageTypeName((*received)->type())) + " message";
    }
  }
}

std::optional<common::Identity> LoadIdentityForTest(const std::string& secret_path) {
  if (auto s = common::InitSodium(); !s.ok()) {
    ADD_FAILURE() << s.ToString();
    return std::nullopt;
  }
  auto identity = common::LoadIdentity(secret_path);
  if (!identity.ok()) {
    ADD_FAILURE() << "cannot load " << secret_path << ": " << identity.status().ToString();
    return std::nullopt;
  }
  return std::move(identity).value();
}

}  // namespace fedrad::integration

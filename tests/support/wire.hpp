// In-process peers for the integration tests: messages built with the real
// codec (and then broken on purpose), raw TCP writes, and small waits on a
// ClientTransport.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "fedrad/common/keys.hpp"
#include "fedrad/protocols/messages.hpp"
#include "fedrad/protocols/transport.hpp"

namespace fedrad::integration {

// A valid HELLO from `site_id` (sequence 1, session 0), encoded.
protocols::Frames HelloFrames(const std::string& site_id);
// The same with the header's major version octet (offset 4) set to `major`.
protocols::Frames HelloFramesWithMajor(const std::string& site_id, std::uint8_t major);

// `size` bytes from `rng`.
std::string RandomBytes(std::mt19937_64& rng, std::size_t size);

// Connects a plain TCP socket to 127.0.0.1:`port`, writes `bytes` (errors
// such as the peer closing first are ignored) and closes. False only if the
// connection could not be made.
bool SendRawTcp(std::uint16_t port, std::string_view bytes);

// Receives from `client` for `duration`. Returns a description of the first
// thing that arrived (a message or a decode error), or std::nullopt if
// nothing did.
std::optional<std::string> ReceiveAnything(protocols::ClientTransport& client,
                                           std::chrono::milliseconds duration);

// Loads a secret key file (fails the test on error).
std::optional<common::Identity> LoadIdentityForTest(const std::string& secret_path);

}  // namespace fedrad::integration

// Size of a message on the wire, for the aggregators' traffic counters.
#pragma once

#include <cstdint>
#include <utility>

#include "fedrad/common/status.hpp"
#include "fedrad/protocols/messages.hpp"

namespace fedrad::coordinator {

// Bytes of `body` encoded as one message (all frames, routing identity
// excluded); header values do not change the size.
inline common::Result<std::int64_t> WireBytes(protocols::Body body) {
  protocols::Message message;
  message.header.session_id = 1;
  message.header.sequence = 1;
  message.body = std::move(body);
  FEDRAD_ASSIGN_OR_RETURN(protocols::Frames frames, protocols::Encode(message));
  std::int64_t bytes = 0;
  for (const auto& f : frames) bytes += static_cast<std::int64_t>(f.size());
  return bytes;
}

}  // namespace fedrad::coordinator

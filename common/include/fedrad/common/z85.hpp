// Z85 encoding (ZeroMQ RFC 32), the text form of CURVE keys.
//
// Every 4 bytes become 5 characters from an 85-character alphabet, so the
// input length must be a multiple of 4 and the text length a multiple of 5.
// The *To variants write into caller-provided memory, so secrets can be
// encoded into and decoded from SecureBuffers without heap copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fedrad/common/status.hpp"

namespace fedrad::common {

// Encodes `data` (length a multiple of 4) as Z85 text. kInvalidArgument
// otherwise.
Result<std::string> Z85Encode(std::span<const std::uint8_t> data);
// Encodes into `out`, which must hold exactly data.size() * 5 / 4 characters
// (no NUL is written).
Status Z85EncodeTo(std::span<const std::uint8_t> data, std::span<char> out);

// Decodes Z85 text (length a multiple of 5). Rejects characters outside the
// alphabet and 5-character groups whose value exceeds 2^32 - 1; the error
// names the position. Error messages never echo the text (it may be secret).
Result<std::vector<std::uint8_t>> Z85Decode(std::string_view text);
// Decodes into `out`, which must hold exactly text.size() * 4 / 5 bytes. On
// error `out` is wiped.
Status Z85DecodeTo(std::string_view text, std::span<std::uint8_t> out);

}  // namespace fedrad::common

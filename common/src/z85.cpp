#include "fedrad/common/z85.hpp"

#include <array>

#include "fedrad/common/secure_memory.hpp"

namespace fedrad::common {
namespace {

constexpr std::string_view kZ85Alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
static_assert(kZ85Alphabet.size() == 85);

// Maps a character to its Z85 digit value, or -1 if it is not in the alphabet.
constexpr std::array<int8_t, 256> MakeDecodeTable() {
  std::array<int8_t, 256> table{};
  for (auto& entry : table) entry = -1;
  for (std::size_t i = 0; i < kZ85Alphabet.size(); ++i) {
    table[static_cast<unsigned char>(kZ85Alphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}
constexpr std::array<int8_t, 256> kZ85Decode = MakeDecodeTable();

}  // namespace

Status Z85EncodeTo(std::span<const std::uint8_t> data, std::span<char> out) {
  if (data.size() % 4 != 0) {
    return InvalidArgument("Z85 encoding needs a multiple of 4 bytes, got " +
                           std::to_string(data.size()));
  }
  if (out.size() != data.size() / 4 * 5) {
    return InvalidArgument("Z85 output buffer holds " + std::to_string(out.size()) +
                           " characters, expected " + std::to_string(data.size() / 4 * 5));
  }
  std::size_t o = 0;
  for (std::size_t i = 0; i < data.size(); i += 4) {
    uint32_t value = (uint32_t{data[i]} << 24) | (uint32_t{data[i + 1]} << 16) |
                     (uint32_t{data[i + 2]} << 8) | uint32_t{data[i + 3]};
    for (std::size_t k = 5; k-- > 0;) {
      out[o + k] = kZ85Alphabet[value % 85];
      value /= 85;
    }
    o += 5;
  }
  return Status::Ok();
}

Result<std::string> Z85Encode(std::span<const std::uint8_t> data) {
  std::string out(data.size() % 4 == 0 ? data.size() / 4 * 5 : 0, '\0');
  FEDRAD_RETURN_IF_ERROR(Z85EncodeTo(data, std::span<char>(out.data(), out.size())));
  return out;
}

Status Z85DecodeTo(std::string_view text, std::span<std::uint8_t> out) {
  if (text.size() % 5 != 0) {
    return InvalidArgument("Z85 text must be a multiple of 5 characters long, got " +
                           std::to_string(text.size()));
  }
  if (out.size() != text.size() / 5 * 4) {
    return InvalidArgument("Z85 output buffer holds " + std::to_string(out.size()) +
                           " bytes, expected " + std::to_string(text.size() / 5 * 4));
  }
  std::size_t o = 0;
  for (std::size_t i = 0; i < text.size(); i += 5) {
    uint64_t value = 0;
    for (std::size_t k = 0; k < 5; ++k) {
      int digit = kZ85Decode[static_cast<unsigned char>(text[i + k])];
      if (digit < 0) {
        SecureWipe(out.data(), out.size());
        return InvalidArgument("invalid Z85 character at position " + std::to_string(i + k + 1));
      }
      value = value * 85 + static_cast<uint64_t>(digit);
    }
    if (value > 0xFFFFFFFFu) {
      SecureWipe(out.data(), out.size());
      return InvalidArgument("invalid Z85 group at positions " + std::to_string(i + 1) + "-" +
                             std::to_string(i + 5) + " (value exceeds 32 bits)");
    }
    out[o] = static_cast<uint8_t>(value >> 24);
    out[o + 1] = static_cast<uint8_t>(value >> 16);
    out[o + 2] = static_cast<uint8_t>(value >> 8);
    out[o + 3] = static_cast<uint8_t>(value);
    o += 4;
  }
  return Status::Ok();
}

Result<std::vector<std::uint8_t>> Z85Decode(std::string_view text) {
  std::vector<std::uint8_t> out(text.size() % 5 == 0 ? text.size() / 5 * 4 : 0);
  FEDRAD_RETURN_IF_ERROR(Z85DecodeTo(text, out));
  return out;
}

}  // namespace fedrad::common

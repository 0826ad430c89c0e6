// The frame container used by the golden vectors (tests/data/protocol_v1/),
// the fuzz seed corpus and the fuzz target: one multipart message in a file.
//
//   u32 LE  frame count
//   per frame:  u32 LE length, then `length` bytes
//
// Nothing may follow the last frame.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fedrad::fuzz {

inline void PutContainerU32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
}

inline std::string WriteContainer(const std::vector<std::string>& frames) {
  std::string out;
  PutContainerU32(out, static_cast<std::uint32_t>(frames.size()));
  for (const std::string& f : frames) {
    PutContainerU32(out, static_cast<std::uint32_t>(f.size()));
    out += f;
  }
  return out;
}

// Frames of a container, or nullopt if `data` is not exactly one container.
inline std::optional<std::vector<std::string>> ReadContainer(std::string_view data) {
  auto read_u32 = [&data](std::size_t* pos, std::uint32_t* v) {
    if (data.size() - *pos < 4) return false;
    *v = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      *v |= std::uint32_t{static_cast<unsigned char>(data[*pos + i])} << (8 * i);
    }
    *pos += 4;
    return true;
  };
  std::size_t pos = 0;
  std::uint32_t count = 0;
  if (!read_u32(&pos, &count)) return std::nullopt;
  // Every frame needs at least its 4-byte length.
  if (count > (data.size() - pos) / 4) return std::nullopt;
  std::vector<std::string> frames;
  frames.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint32_t len = 0;
    if (!read_u32(&pos, &len)) return std::nullopt;
    if (len > data.size() - pos) return std::nullopt;
    frames.emplace_back(data.substr(pos, len));
    pos += len;
  }
  if (pos != data.size()) return std::nullopt;
  return frames;
}

// How the fuzz target (and its replay) turns arbitrary bytes into frames: a
// valid container gives its frames; anything else is treated as a 28-byte
// header frame followed by a meta frame, so plain mutations of raw bytes
// still reach the header and JSON checks.
inline std::vector<std::string> FramesFromFuzzInput(std::string_view data) {
  if (auto frames = ReadContainer(data)) return std::move(*frames);
  const std::size_t header = std::min<std::size_t>(data.size(), 28);
  return {std::string(data.substr(0, header)), std::string(data.substr(header))};
}

}  // namespace fedrad::fuzz

// libFuzzer target for the protocol decoder (protocols/src/codec.cpp).
//
// Input: a frame container (tests/fuzz/frame_container.hpp), or any other
// bytes, which are split as [28-byte header, rest]. Every input must be
// answered by Decode with a status other than kInternal (no crash, no
// exception, no sanitizer report), and every message Decode accepts must
// survive Encode -> Decode unchanged and re-encode to the same bytes.
// A violation aborts: it is a real bug.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fedrad/protocols/messages.hpp"
#include "frame_container.hpp"

namespace {

using fedrad::common::StatusCode;
using fedrad::protocols::DecodeLimits;

// Small cap so the fuzzer also hits the size limit path quickly.
constexpr std::size_t kFuzzMaxMessageBytes = std::size_t{1} << 20;

[[noreturn]] void Fail(const char* what, const fedrad::common::Status& status) {
  std::fprintf(stderr, "fuzz_decoder: %s: %s\n", what, status.ToDebugString().c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace p = fedrad::protocols;
  const std::string_view input(reinterpret_cast<const char*>(data), size);  // NOLINT
  const p::Frames frames = fedrad::fuzz::FramesFromFuzzInput(input);

  (void)p::PeekHeader(frames);
  auto decoded = p::Decode(frames, DecodeLimits{kFuzzMaxMessageBytes});
  if (!decoded.ok()) {
    if (decoded.status().code() == StatusCode::kInternal) {
      Fail("Decode returned an internal error", decoded.status());
    }
    return 0;
  }

  auto encoded = p::Encode(*decoded);
  if (!encoded.ok()) Fail("Encode refused a message Decode accepted", encoded.status());
  auto again = p::Decode(*encoded, DecodeLimits{kFuzzMaxMessageBytes});
  if (!again.ok()) Fail("Decode rejected the re-encoded message", again.status());
  if (!(*again == *decoded)) {
    std::fprintf(stderr, "fuzz_decoder: decode(encode(m)) != m for %s\n",
                 p::MessageTypeName(decoded->header.type).c_str());
    std::abort();
  }
  auto encoded_again = p::Encode(*again);
  if (!encoded_again.ok() || *encoded_again != *encoded) {
    std::fprintf(stderr, "fuzz_decoder: encoding is not canonical for %s\n",
                 p::MessageTypeName(decoded->header.type).c_str());
    std::abort();
  }
  return 0;
}

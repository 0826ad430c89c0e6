// libFuzzer target for the statistic-batch decoder
// (site_agent/src/stats/wire.cpp, docs/protocol.md "Statistic batches").
//
// Input: a frame container (tests/fuzz/frame_container.hpp) holding a whole
// ROUND_REQUEST, as a site receives it. The frames go through the protocol
// decoder first (as on the wire); a ROUND_REQUEST is then given to
// DecodeStatsBatch, which must answer OK or kProtocolError (never an
// exception, kInternal or a sanitizer report). A batch it accepts must be
// accepted by EncodeStatsBatch, and that encoding must decode and re-encode
// to the same message (the encoding of decoded requests is canonical).
// Every i64 array of the request is also given to the blob-list decoder of
// secure rounds (site_agent/stats/secure_round.hpp): OK or kProtocolError,
// and an accepted list re-encodes to the same array.
// A violation aborts: it is a real bug.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "fedrad/protocols/messages.hpp"
#include "fedrad/site_agent/stats/secure_round.hpp"
#include "fedrad/site_agent/stats/wire.hpp"
#include "frame_container.hpp"

namespace {

using fedrad::common::StatusCode;

[[noreturn]] void Fail(const char* what, const fedrad::common::Status& status) {
  std::fprintf(stderr, "fuzz_stats_batch: %s: %s\n", what, status.ToDebugString().c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace p = fedrad::protocols;
  namespace s = fedrad::site_agent::stats;
  const std::string_view input(reinterpret_cast<const char*>(data), size);  // NOLINT
  auto decoded =
      p::Decode(fedrad::fuzz::FramesFromFuzzInput(input), p::DecodeLimits{std::size_t{1} << 20});
  if (!decoded.ok()) return 0;
  const auto* request = std::get_if<p::RoundRequest>(&decoded->body);
  if (request == nullptr) return 0;

  for (const p::Array& array : request->arrays) {
    auto blobs = s::DecodeBlobList(array);
    if (!blobs.ok()) {
      if (blobs.status().code() != StatusCode::kProtocolError) {
        Fail("DecodeBlobList answered something other than kProtocolError", blobs.status());
      }
      continue;
    }
    auto again = s::EncodeBlobList(array.name, *blobs);
    if (!again.ok()) Fail("EncodeBlobList refused blobs DecodeBlobList accepted", again.status());
    if (again->i64 != array.i64) {
      std::fprintf(stderr, "fuzz_stats_batch: the blob-list encoding is not canonical\n");
      std::abort();
    }
  }

  auto batch = s::DecodeStatsBatch(*request);
  if (!batch.ok()) {
    if (batch.status().code() != StatusCode::kProtocolError) {
      Fail("DecodeStatsBatch answered something other than kProtocolError", batch.status());
    }
    return 0;
  }
  auto encoded = s::EncodeStatsBatch(request->job_id, request->round_id, *batch);
  if (!encoded.ok())
    Fail("EncodeStatsBatch refused a batch DecodeStatsBatch accepted", encoded.status());
  auto again = s::DecodeStatsBatch(*encoded);
  if (!again.ok()) Fail("DecodeStatsBatch rejected the re-encoded batch", again.status());
  auto encoded_again = s::EncodeStatsBatch(request->job_id, request->round_id, *again);
  if (!encoded_again.ok() || !(*encoded_again == *encoded)) {
    std::fprintf(stderr, "fuzz_stats_batch: the batch encoding is not canonical\n");
    std::abort();
  }
  // The re-encoded request must also pass the protocol codec.
  p::Message message;
  message.header.session_id = 1;
  message.header.sequence = 2;
  message.body = *encoded;
  auto frames = p::Encode(message);
  if (!frames.ok()) Fail("Encode refused an encoded batch", frames.status());
  return 0;
}

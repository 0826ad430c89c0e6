// Golden byte vectors of protocol 1.0 (tests/data/protocol_v1/, format and
// samples described in its README.md) and the generator of the decoder's fuzz
// seed corpus (tests/fuzz/corpus/decoder/).
//
// Both are compared, not written, unless FEDRAD_REGENERATE_GOLDEN=1 is set:
// changing the wire format must be a deliberate act that shows up as changed
// .bin files in review.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "../fuzz/frame_container.hpp"
#include "fedrad/protocols/messages.hpp"
#include "protocols_test_samples.hpp"

namespace fedrad::protocols {
namespace {

using common::StatusCode;
using samples::AllMessageTypes;
using samples::GoldenFileName;
using samples::SampleMessage;
using samples::WireName;

// The fuzz target decodes with this limit (tests/fuzz/fuzz_decoder.cpp).
constexpr std::size_t kFuzzMaxMessageBytes = std::size_t{1} << 20;

bool Regenerate() {
  const char* v = std::getenv("FEDRAD_REGENERATE_GOLDEN");
  return v != nullptr && std::string(v) == "1";
}

std::string GoldenDir() { return std::string(FEDRAD_TEST_DATA_DIR) + "/protocol_v1"; }
std::string CorpusDir() { return std::string(FEDRAD_TEST_DATA_DIR) + "/../fuzz/corpus/decoder"; }

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

std::string HexDump(const std::string& bytes) {
  std::ostringstream out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%02x",
                  static_cast<unsigned>(static_cast<unsigned char>(bytes[i])));
    out << buf << ((i % 32 == 31) ? "\n" : " ");
  }
  return out.str();
}

// Compares `bytes` with the file (or writes the file when regenerating).
void CheckOrRegenerate(const std::string& path, const std::string& bytes) {
  if (Regenerate()) {
    WriteFile(path, bytes);
    std::printf("regenerated %s (%zu bytes)\n", path.c_str(), bytes.size());
  }
  auto file = ReadFile(path);
  ASSERT_TRUE(file.has_value()) << "missing " << path
                                << " (regenerate with FEDRAD_REGENERATE_GOLDEN=1, see "
                                   "tests/data/protocol_v1/README.md)";
  EXPECT_TRUE(*file == bytes) << path << " differs from the encoder output.\nfile:\n"
                              << HexDump(*file) << "\nencoder:\n"
                              << HexDump(bytes);
}

template <class T>
class GoldenVectorTest : public ::testing::Test {};
TYPED_TEST_SUITE(GoldenVectorTest, AllMessageTypes, WireName);

TYPED_TEST(GoldenVectorTest, EncoderMatchesFileAndFileDecodesToSample) {
  const Message sample = SampleMessage<TypeParam>();
  auto frames = Encode(sample);
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  const std::string path = GoldenDir() + "/" + GoldenFileName(TypeOf(sample.body));
  CheckOrRegenerate(path, fuzz::WriteContainer(*frames));

  auto file = ReadFile(path);
  ASSERT_TRUE(file.has_value());
  auto file_frames = fuzz::ReadContainer(*file);
  ASSERT_TRUE(file_frames.has_value()) << path << " is not a valid frame container";
  auto decoded = Decode(*file_frames);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, sample);
}

// The golden files must not justify themselves: check some bytes by hand
// against docs/protocol.md 2.1-2.3.
Frames GoldenFrames(const std::string& name) {
  auto file = ReadFile(GoldenDir() + "/" + name);
  if (!file) return {};
  return fuzz::ReadContainer(*file).value_or(Frames{});
}

TEST(GoldenBytesTest, RoundReplyHeaderAndPayloadByHand) {
  const Frames frames = GoldenFrames("round_reply.bin");
  ASSERT_EQ(frames.size(), 6u);
  const std::string& h = frames[0];
  ASSERT_EQ(h.size(), 28u);
  auto byte = [&h](std::size_t i) {
    return static_cast<unsigned>(static_cast<unsigned char>(h[i]));
  };
  EXPECT_EQ(h.substr(0, 4), "FDRD");  // magic at 0
  EXPECT_EQ(byte(4), 1u);             // major
  EXPECT_EQ(byte(5), 0u);             // minor
  EXPECT_EQ(byte(6), 0x21u);          // type 0x0021, little-endian at 6
  EXPECT_EQ(byte(7), 0x00u);
  EXPECT_EQ(byte(8) | byte(9), 0u);  // flags
  EXPECT_EQ(byte(10), 4u);           // payload_frames = 4
  EXPECT_EQ(byte(11), 0u);
  // session id 0x0123456789ABCDEF, little-endian at 12
  const unsigned session[8] = {0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01};
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(byte(12 + i), session[i]) << "offset " << 12 + i;
  // sequence 0x121, little-endian at 20
  EXPECT_EQ(byte(20), 0x21u);
  EXPECT_EQ(byte(21), 0x01u);
  for (std::size_t i = 22; i < 28; ++i) EXPECT_EQ(byte(i), 0u) << "offset " << i;

  EXPECT_EQ(
      frames[1],
      R"({"job_id":"job-0001","round_id":1,"statistic":"cohort_size","arrays":[)"
      R"({"name":"n","dtype":"i64","shape":[1]},{"name":"sum_x","dtype":"f64","shape":[2,3]},)"
      R"({"name":"scale","dtype":"f64","shape":[]},{"name":"empty","dtype":"i64","shape":[0]}]})");
  // n = 412 = 0x19C as i64 LE
  EXPECT_EQ(frames[2], std::string("\x9C\x01\x00\x00\x00\x00\x00\x00", 8));
  // sum_x[0] = 1.5 = 0x3FF8000000000000, sum_x[1] = -2.25 = 0xC002000000000000 (f64 LE)
  ASSERT_EQ(frames[3].size(), 48u);
  EXPECT_EQ(frames[3].substr(0, 16),
            std::string("\x00\x00\x00\x00\x00\x00\xF8\x3F\x00\x00\x00\x00\x00\x00\x02\xC0", 16));
  // sum_x[3] = -0.0: only the sign bit
  EXPECT_EQ(frames[3].substr(24, 8), std::string("\x00\x00\x00\x00\x00\x00\x00\x80", 8));
  EXPECT_EQ(frames[4].size(), 8u);  // scalar
  EXPECT_TRUE(frames[5].empty());   // shape [0]
}

TEST(GoldenBytesTest, HelloByHand) {
  const Frames frames = GoldenFrames("hello.bin");
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0], std::string("FDRD\x01\x00\x01\x00\x00\x00\x00\x00"
                                   "\x00\x00\x00\x00\x00\x00\x00\x00"
                                   "\x01\x00\x00\x00\x00\x00\x00\x00",
                                   28));
  EXPECT_EQ(
      frames[1],
      R"({"site_id":"site-a","software_version":"0.1.0","capabilities":["cohort_size","mean_var"]})");
}

// --- fuzz seed corpus generator ----------------------------------------------

struct Seed {
  std::string name;     // file name in tests/fuzz/corpus/decoder/
  std::string bytes;    // file content (normally a frame container)
  StatusCode expected;  // what Decode must answer (kOk for valid seeds)
};

std::string Replaced(std::string s, const std::string& from, const std::string& to) {
  const auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << "'" << from << "' not in " << s;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

std::string F64Bytes(double v) {
  std::string s;
  const auto bits = std::bit_cast<std::uint64_t>(v);
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
  return s;
}

template <class T>
Frames Golden() {
  return Encode(SampleMessage<T>()).value();
}

std::vector<Seed> MakeSeeds() {
  std::vector<Seed> seeds;
  const StatusCode kOk = StatusCode::kOk;
  const StatusCode kBad = StatusCode::kProtocolError;
  auto add = [&seeds](std::string name, const Frames& frames, StatusCode expected) {
    seeds.push_back({std::move(name) + ".bin", fuzz::WriteContainer(frames), expected});
  };

  // Every golden message.
  auto stem = [](MessageType t) {
    const std::string file = GoldenFileName(t);
    return file.substr(0, file.size() - 4);  // without ".bin"
  };
#define FEDRAD_X(S, code, name) add("golden_" + stem(MessageType::k##S), Golden<S>(), kOk);
  FEDRAD_PROTOCOL_MESSAGES(FEDRAD_X)
#undef FEDRAD_X

  const Frames hello = Golden<Hello>();
  const Frames reply = Golden<RoundReply>();
  Frames f;

  add("bad_empty_container", {}, kBad);
  add("bad_one_frame", {hello[0]}, kBad);
  f = hello, f[0].resize(20);
  add("bad_truncated_header", f, kBad);
  f = hello, f[0] += '\0';
  add("bad_header_29_bytes", f, kBad);
  f = hello, f[0][0] = 'X';
  add("bad_magic", f, kBad);
  f = hello, f[0][4] = '\x02';
  add("bad_major_2", f, StatusCode::kVersionMismatch);
  f = hello, f[0][6] = '\x99';
  add("bad_unknown_type", f, kBad);
  f = hello, f[0][9] = '\x01';
  add("bad_flags", f, kBad);
  f = reply, f[0][10] = '\x03';
  add("bad_payload_frame_count", f, kBad);
  f = reply, f[0][10] = '\x12';
  for (int i = 0; i < 14; ++i) f.push_back(std::string(8, '\0'));
  add("bad_too_many_frames", f, kBad);
  f = hello, f[1] = R"({"site_id":"site-a","software_version":)";
  add("bad_meta_not_json", f, kBad);
  f = hello, f[1] += std::string("\0{}", 3);
  add("bad_meta_nul_byte", f, kBad);
  f = Golden<JobOffer>(), f[1] = Replaced(f[1], R"("min_age":18)", R"("min_age":18e400)");
  add("bad_number_overflow", f, kBad);
  f = hello, f[1] = R"(["site-a","0.1.0"])";
  add("bad_meta_not_object", f, kBad);
  f = hello, f[1] = R"({"site_id":")" + std::string(65530, 'a') + R"("})";
  add("bad_meta_too_big", f, kBad);
  f = Golden<JobOffer>();
  f[1] =
      Replaced(f[1], R"("parameters":{)",
               R"("parameters":{"deep":)" + std::string(5000, '[') + std::string(5000, ']') + ",");
  add("bad_deep_nesting", f, kBad);
  f = hello, f[1] = Replaced(f[1], R"("software_version":"0.1.0")",
                             R"("software_version":"0.1.0","software_version":"0.2.0")");
  add("bad_duplicate_key", f, kBad);
  f = hello, f[1] = Replaced(f[1], R"("software_version":"0.1.0",)", "");
  add("bad_missing_field", f, kBad);
  f = hello, f[1] = Replaced(f[1], R"("site_id")", R"("colour":"red","site_id")");
  add("bad_unexpected_field", f, kBad);
  f = Golden<Welcome>(),
  f[1] = Replaced(f[1], R"("heartbeat_liveness":5)", R"("heartbeat_liveness":5.0)");
  add("bad_float_for_int", f, kBad);
  f = Golden<Welcome>(),
  f[1] = Replaced(f[1], R"("heartbeat_liveness":5)", R"("heartbeat_liveness":9223372036854775808)");
  add("bad_int_out_of_range", f, kBad);
  f = hello, f[1] = Replaced(f[1], R"("site-a")", R"("site a")");
  add("bad_name_chars", f, kBad);
  f = Golden<Bye>(), f[1] = Replaced(f[1], "\xE2\x80\x94", "\xE2\x80");
  add("bad_invalid_utf8", f, kBad);
  f = Golden<JobEnd>(), f[1] = Replaced(f[1], R"("completed")", R"("done")");
  add("bad_choice", f, kBad);
  f = reply, f[1] = Replaced(f[1], R"("shape":[2,3])", R"("shape":[2147483647,2147483647])");
  add("bad_huge_shape", f, kBad);
  f = reply, f[1] = Replaced(f[1], R"("shape":[2,3])", R"("shape":[2,4])");
  add("bad_shape_frame_mismatch", f, kBad);
  f = reply, f[1] = Replaced(f[1], R"("shape":[2,3])", R"("shape":[1,1,1,2,3])");
  add("bad_too_many_dims", f, kBad);
  f = reply,
  f[1] = Replaced(f[1], R"("dtype":"f64","shape":[2,3])", R"("dtype":"f32","shape":[2,3])");
  add("bad_dtype", f, kBad);
  f = reply, f[1] = Replaced(f[1], R"("name":"scale")", R"("name":"n")");
  add("bad_duplicate_array_name", f, kBad);
  f = reply, f[3].replace(16, 8, F64Bytes(std::numeric_limits<double>::quiet_NaN()));
  add("bad_nan_payload", f, kBad);
  f = reply, f[4] = F64Bytes(-std::numeric_limits<double>::infinity());
  add("bad_inf_payload", f, kBad);
  f = hello, f[0][10] = '\x01', f.push_back(std::string(8, '\0'));
  add("bad_payload_on_hello", f, kBad);

  // Not a container: the fuzz target splits raw bytes as [28-byte header, meta].
  seeds.push_back({"raw_hello.bin", hello[0] + hello[1], kOk});
  seeds.push_back({"raw_garbage.bin", std::string("\xFF\xFE garbage \x00\x01", 13), kBad});
  return seeds;
}

TEST(FuzzSeedCorpusTest, SeedsAreUpToDateAndDecodeAsExpected) {
  const std::vector<Seed> seeds = MakeSeeds();
  EXPECT_GE(seeds.size(), 26u);
  for (const Seed& seed : seeds) {
    SCOPED_TRACE(seed.name);
    // Same splitting and limit as the fuzz target.
    auto result = Decode(fuzz::FramesFromFuzzInput(seed.bytes), DecodeLimits{kFuzzMaxMessageBytes});
    EXPECT_EQ(result.status().code(), seed.expected) << result.status().ToString();
    CheckOrRegenerate(CorpusDir() + "/" + seed.name, seed.bytes);
  }
}

}  // namespace
}  // namespace fedrad::protocols

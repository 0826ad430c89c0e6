// Codec behaviour: round trips of every message type, what the encoder fills
// in and refuses, names, array helpers, PeekHeader and SequenceGuard.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <variant>

#include "fedrad/protocols/messages.hpp"
#include "protocols_test_samples.hpp"

namespace fedrad::protocols {
namespace {

using common::StatusCode;
using samples::AllMessageTypes;
using samples::SampleBody;
using samples::SampleMessage;
using samples::WireName;

template <class T>
class CodecRoundTripTest : public ::testing::Test {};
TYPED_TEST_SUITE(CodecRoundTripTest, AllMessageTypes, WireName);

TYPED_TEST(CodecRoundTripTest, EncodeThenDecodeGivesTheSameMessage) {
  const Message sample = SampleMessage<TypeParam>();
  auto frames = Encode(sample);
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  ASSERT_EQ(frames->size(), 2u + sample.header.payload_frames);
  EXPECT_EQ((*frames)[0].size(), kHeaderBytes);

  auto decoded = Decode(*frames);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, sample);
  EXPECT_TRUE(std::holds_alternative<TypeParam>(decoded->body));
  EXPECT_EQ(decoded->header.session_id, sample.header.session_id);
  EXPECT_EQ(decoded->header.sequence, sample.header.sequence);
  EXPECT_EQ(decoded->header.major, kProtocolMajor);
  EXPECT_EQ(decoded->header.minor, kProtocolMinor);
  EXPECT_EQ(decoded->header.type, static_cast<std::uint16_t>(TypeOf(sample.body)));

  // Re-encoding the decoded message gives the same bytes (canonical form).
  auto again = Encode(*decoded);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *frames);
}

TYPED_TEST(CodecRoundTripTest, DefaultHeaderValuesRoundTrip) {
  Message m;
  m.body = SampleBody<TypeParam>();
  m.header.session_id = std::numeric_limits<std::uint64_t>::max();
  m.header.sequence = std::numeric_limits<std::uint64_t>::max() - 1;
  auto frames = Encode(m);
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  auto decoded = Decode(*frames);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->header.session_id, m.header.session_id);
  EXPECT_EQ(decoded->header.sequence, m.header.sequence);
  EXPECT_EQ(decoded->body, m.body);
}

TEST(CodecEncodeTest, FillsTypeAndPayloadFramesFromTheBody) {
  Message m = SampleMessage<RoundReply>();
  m.header.type = 0x0001;  // wrong on purpose: Encode overrides it
  m.header.payload_frames = 9;
  auto frames = Encode(m);
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  auto decoded = Decode(*frames);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->header.type, 0x0021);
  EXPECT_EQ(decoded->header.payload_frames, 4);
  EXPECT_EQ(decoded->type(), MessageType::kRoundReply);
}

TEST(CodecEncodeTest, NewerMinorIsAcceptedAndPreserved) {
  Message m = SampleMessage<Heartbeat>();
  m.header.minor = 7;
  auto frames = Encode(m);
  ASSERT_TRUE(frames.ok());
  auto decoded = Decode(*frames);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->header.minor, 7);
}

TEST(CodecEncodeTest, MetaIsCompactInDeclarationOrder) {
  auto frames = Encode(SampleMessage<Hello>());
  ASSERT_TRUE(frames.ok());
  EXPECT_EQ(
      (*frames)[1],
      R"({"site_id":"site-a","software_version":"0.1.0","capabilities":["cohort_size","mean_var"]})");

  frames = Encode(SampleMessage<Heartbeat>());
  ASSERT_TRUE(frames.ok());
  EXPECT_EQ((*frames)[1], "{}");
}

TEST(CodecEncodeTest, OptionalEmptyListIsOmitted) {
  Message m = SampleMessage<Error>();
  std::get<Error>(m.body).supported_majors.clear();
  auto frames = Encode(m);
  ASSERT_TRUE(frames.ok());
  EXPECT_EQ((*frames)[1].find("supported_majors"), std::string::npos) << (*frames)[1];
  auto decoded = Decode(*frames);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->body, m.body);
}

// Encode must refuse (kInvalidArgument, naming the field) what Decode rejects.
void ExpectRefused(const Message& m, const std::string& substring,
                   StatusCode code = StatusCode::kInvalidArgument) {
  auto frames = Encode(m);
  ASSERT_FALSE(frames.ok()) << "encoded: " << (frames.ok() ? (*frames)[1] : "");
  EXPECT_EQ(frames.status().code(), code) << frames.status().ToString();
  EXPECT_NE(frames.status().message().find(substring), std::string::npos)
      << "message: " << frames.status().message() << "\nexpected substring: " << substring;
}

template <class T, class F>
Message Modified(F&& change) {
  Message m = SampleMessage<T>();
  change(std::get<T>(m.body));
  return m;
}

TEST(CodecEncodeTest, RefusesInvalidBodies) {
  ExpectRefused(Modified<Hello>([](Hello& b) { b.site_id = "site a"; }),
                "HELLO: field 'site_id': 'site a' is not a name");
  ExpectRefused(Modified<Hello>([](Hello& b) { b.site_id = ""; }), "field 'site_id': empty");
  ExpectRefused(Modified<Hello>([](Hello& b) { b.software_version = std::string(33, 'v'); }),
                "field 'software_version': text is 33 bytes, limit 32");
  ExpectRefused(Modified<Hello>([](Hello& b) { b.capabilities.assign(33, "x"); }),
                "field 'capabilities': 33 items, limit 32");
  ExpectRefused(Modified<Hello>([](Hello& b) { b.capabilities[1] = "a/b"; }),
                "field 'capabilities': item 1:");
  ExpectRefused(Modified<Bye>([](Bye& b) { b.reason = "caf\xC3"; }),
                "field 'reason': text is not valid UTF-8");
  ExpectRefused(Modified<Welcome>([](Welcome& b) { b.heartbeat_liveness = 101; }),
                "field 'heartbeat_liveness': 101 is outside [1, 100]");
  ExpectRefused(Modified<Error>([](Error& b) { b.code = "oops"; }),
                "field 'code': 'oops' is not one of: version_mismatch");
  ExpectRefused(Modified<Error>([](Error& b) {
                  b.supported_majors = {1, 0};
                }),
                "field 'supported_majors': item 1: 0 is outside [1, 255]");
  ExpectRefused(Modified<Error>([](Error& b) { b.ref_sequence = -1; }),
                "field 'ref_sequence': -1 is outside");
  ExpectRefused(Modified<JobEnd>([](JobEnd& b) { b.outcome = "done"; }),
                "'done' is not one of: completed, aborted");
  ExpectRefused(Modified<JobOffer>([](JobOffer& b) { b.parameters = nlohmann::json::array(); }),
                "field 'parameters': expected an object, got an array");
  ExpectRefused(Modified<JobOffer>([](JobOffer& b) {
                  b.parameters = {{"x", std::numeric_limits<double>::quiet_NaN()}};
                }),
                "field 'parameters': contains a non-finite number");
  ExpectRefused(Modified<JobOffer>([](JobOffer& b) {
                  b.parameters = {{"k", "\xFF"}};
                }),
                "field 'parameters': contains a string that is not valid UTF-8");
  ExpectRefused(Modified<JobOffer>([](JobOffer& b) {
                  b.parameters = {{"k", std::string(17000, 'x')}};
                }),
                "limit 16384");
  ExpectRefused(Modified<RoundRequest>([](RoundRequest& b) { b.round_id = 0; }),
                "field 'round_id': 0 is outside [1, 2147483647]");
}

TEST(CodecEncodeTest, RefusesInvalidArrays) {
  ExpectRefused(Modified<RoundReply>([](RoundReply& b) { b.arrays[1].f64[2] = NAN; }),
                "cannot encode ROUND_REPLY: arrays/1 'sum_x': element 2 is NaN");
  ExpectRefused(Modified<RoundReply>([](RoundReply& b) { b.arrays[1].f64[0] = -INFINITY; }),
                "element 0 is -Inf");
  ExpectRefused(Modified<RoundReply>([](RoundReply& b) { b.arrays[0].i64.push_back(1); }),
                "shape [1] needs 1 values, i64 has 2");
  ExpectRefused(Modified<RoundReply>([](RoundReply& b) { b.arrays[0].f64 = {1.0}; }),
                "the other value vector is not empty");
  ExpectRefused(Modified<RoundReply>([](RoundReply& b) { b.arrays[2].name = "n"; }),
                "duplicate array name");
  ExpectRefused(Modified<RoundReply>([](RoundReply& b) { b.arrays[2].name = "bad name"; }),
                "arrays/2: name 'bad name' is not a name");
  ExpectRefused(Modified<RoundReply>([](RoundReply& b) {
                  b.arrays[3].shape = {0, 0, 0, 0, 0};
                }),
                "has 5 dimensions, limit 4");
  ExpectRefused(Modified<RoundReply>([](RoundReply& b) { b.arrays[3].shape = {-1}; }),
                "dimension 0 is outside [0, 2^31)");
  ExpectRefused(Modified<RoundReply>([](RoundReply& b) {
                  b.arrays[3].shape = {1 << 14, 1 << 14};
                }),
                "more than 134217728 elements");
  ExpectRefused(
      Modified<RoundReply>([](RoundReply& b) { b.arrays.assign(17, Array::I64("x", {}, {1})); }),
      "17 arrays, limit 16");
}

TEST(CodecEncodeTest, RefusesNonZeroFlagsAndEmptyMessage) {
  Message m = SampleMessage<Heartbeat>();
  m.header.flags = 1;
  ExpectRefused(m, "flags must be 0");
  ExpectRefused(Message{}, "empty message", StatusCode::kInternal);
}

TEST(CodecNamesTest, TypeNamesAndCodesComeFromTheTable) {
  EXPECT_EQ(MessageTypeName(std::uint16_t{0x0001}), "HELLO");
  EXPECT_EQ(MessageTypeName(std::uint16_t{0x0021}), "ROUND_REPLY");
  EXPECT_EQ(MessageTypeName(std::uint16_t{0x0099}), "UNKNOWN(0x0099)");
  EXPECT_EQ(MessageTypeName(MessageType::kJobDecline), "JOB_DECLINE");
  EXPECT_EQ(MessageTypeName(static_cast<MessageType>(0x7777)), "UNKNOWN");
  EXPECT_TRUE(IsKnownType(0x0013));
  EXPECT_FALSE(IsKnownType(0x0000));
  EXPECT_FALSE(IsKnownType(0x0006));
  EXPECT_EQ(TypeOf(Body(Bye{})), MessageType::kBye);
  EXPECT_EQ(TypeOf(Body(RoundRequest{})), MessageType::kRoundRequest);
  EXPECT_EQ(static_cast<std::uint16_t>(TypeOf(Body{})), 0);
  EXPECT_FALSE(IsKnownType(static_cast<std::uint16_t>(TypeOf(Body{}))));
}

TEST(CodecArrayTest, ElementCountAndFactories) {
  EXPECT_EQ(Array::F64("s", {}, {1.0}).ElementCount(), 1);
  EXPECT_EQ(Array::F64("m", {2, 3}, {}).ElementCount(), 6);
  EXPECT_EQ(Array::I64("e", {0, 5}, {}).ElementCount(), 0);
  EXPECT_EQ(Array::I64("neg", {2, -1}, {}).ElementCount(), -1);
  EXPECT_EQ(Array::I64("big", {1LL << 40, 1LL << 40}, {}).ElementCount(), -1);
  const Array a = Array::I64("n", {1}, {7});
  EXPECT_EQ(a.dtype, DType::kI64);
  EXPECT_EQ(a.i64, std::vector<std::int64_t>{7});
  EXPECT_TRUE(a.f64.empty());
  const Array b = Array::F64("x", {2}, {1.0, 2.0});
  EXPECT_EQ(b.dtype, DType::kF64);
  EXPECT_TRUE(b.i64.empty());
}

TEST(CodecPeekHeaderTest, ReadsTheFrozenPrefixOfAnyMajor) {
  Frames frames = {std::string("FDRD\x02\x05\x01\x00", 8) + std::string(30, '\0'), "{}"};
  auto prefix = PeekHeader(frames);
  ASSERT_TRUE(prefix.ok()) << prefix.status().ToString();
  EXPECT_EQ(prefix->major, 2);
  EXPECT_EQ(prefix->minor, 5);
  EXPECT_EQ(prefix->type, 0x0001);

  auto bad = PeekHeader({std::string("FDRX\x01\x00\x01\x00", 8)});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kProtocolError);
  EXPECT_NE(bad.status().message().find("bad magic"), std::string::npos);

  auto shrt = PeekHeader({"FDRD"});
  ASSERT_FALSE(shrt.ok());
  EXPECT_NE(shrt.status().message().find("need at least 8"), std::string::npos);

  EXPECT_FALSE(PeekHeader(Frames{}).ok());
}

TEST(SequenceGuardTest, AcceptsIncreasingRejectsStaleAndRepeatedReportsGaps) {
  SequenceGuard guard;
  std::uint64_t gap = 99;
  ASSERT_TRUE(guard.Accept(1, &gap).ok());
  EXPECT_EQ(gap, 0u);
  ASSERT_TRUE(guard.Accept(2, &gap).ok());
  EXPECT_EQ(gap, 0u);
  ASSERT_TRUE(guard.Accept(5, &gap).ok());
  EXPECT_EQ(gap, 2u);  // 3 and 4 skipped
  EXPECT_EQ(guard.last(), 5u);

  common::Status repeated = guard.Accept(5, &gap);
  ASSERT_FALSE(repeated.ok());
  EXPECT_EQ(repeated.code(), StatusCode::kProtocolError);
  EXPECT_NE(repeated.message().find("repeated sequence 5"), std::string::npos)
      << repeated.message();
  EXPECT_NE(repeated.message().find("last accepted sequence is 5"), std::string::npos);

  common::Status stale = guard.Accept(3);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.code(), StatusCode::kProtocolError);
  EXPECT_NE(stale.message().find("stale sequence 3"), std::string::npos) << stale.message();
  EXPECT_EQ(guard.last(), 5u);  // a rejected sequence does not move the guard

  EXPECT_FALSE(guard.Accept(0).ok());
  guard.Reset();
  EXPECT_EQ(guard.last(), 0u);
  ASSERT_TRUE(guard.Accept(1, &gap).ok());
  EXPECT_EQ(gap, 0u);
}

}  // namespace
}  // namespace fedrad::protocols

// Decoder rejections: one test per rule of docs/protocol.md sections 2-3,
// each checking the status code and that the message names the problem.
// Frames are built by hand here (not with Encode) so the encoder cannot hide
// a decoder gap.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "fedrad/protocols/messages.hpp"
#include "protocols_test_samples.hpp"

namespace fedrad::protocols {
namespace {

using common::StatusCode;
using samples::SampleMessage;

void Put16(std::string& s, std::uint16_t v) {
  s.push_back(static_cast<char>(v & 0xFF));
  s.push_back(static_cast<char>(v >> 8));
}

void Put64(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

struct HeaderSpec {
  std::uint16_t type = 0x0001;
  std::uint16_t payload_frames = 0;
  std::uint8_t major = 1;
  std::uint8_t minor = 0;
  std::uint16_t flags = 0;
};

std::string RawHeader(const HeaderSpec& h) {
  std::string s = "FDRD";
  s.push_back(static_cast<char>(h.major));
  s.push_back(static_cast<char>(h.minor));
  Put16(s, h.type);
  Put16(s, h.flags);
  Put16(s, h.payload_frames);
  Put64(s, 42);  // session id
  Put64(s, 7);   // sequence
  return s;
}

// Header (with the right payload frame count) + meta + payload frames.
Frames Raw(std::uint16_t type, std::string meta, const Frames& payload = {}) {
  Frames frames = {RawHeader({type, static_cast<std::uint16_t>(payload.size())}), std::move(meta)};
  frames.insert(frames.end(), payload.begin(), payload.end());
  return frames;
}

std::string F64Frame(const std::vector<double>& v) {
  std::string s;
  for (double x : v) Put64(s, std::bit_cast<std::uint64_t>(x));
  return s;
}

std::string I64Frame(const std::vector<std::int64_t>& v) {
  std::string s;
  for (std::int64_t x : v) Put64(s, static_cast<std::uint64_t>(x));
  return s;
}

constexpr std::uint16_t kHello = 0x0001, kWelcome = 0x0002, kError = 0x0003, kHeartbeat = 0x0004,
                        kBye = 0x0005, kJobOffer = 0x0010, kJobEnd = 0x0013, kRoundReply = 0x0021;

const std::string kHelloMeta =
    R"({"site_id":"site-a","software_version":"0.1.0","capabilities":["cohort_size"]})";

std::string WelcomeMeta(const std::string& minor_value) {
  return R"({"site_id":"site-a","coordinator_id":"coord","protocol_minor":)" + minor_value +
         R"(,"heartbeat_interval_ms":1000,"heartbeat_liveness":5,"max_message_bytes":1048576})";
}

std::string ErrorMeta(const std::string& rest) {
  return R"({"code":"busy","message":"try later","fatal":false,"ref_sequence":3)" + rest + "}";
}

std::string JobOfferMeta(const std::string& parameters) {
  return R"({"job_id":"job-1","kind":"cohort_size","description":"d","parameters":)" + parameters +
         "}";
}

std::string ReplyMeta(const std::string& arrays) {
  return R"({"job_id":"job-1","round_id":1,"statistic":"cohort_size","arrays":)" + arrays + "}";
}

const std::string kNDescriptor = R"({"name":"n","dtype":"i64","shape":[1]})";

void ExpectReject(const Frames& frames, StatusCode code, const std::string& substring,
                  const DecodeLimits& limits = {}) {
  auto result = Decode(frames, limits);
  ASSERT_FALSE(result.ok()) << "decoded although it should fail with: " << substring;
  EXPECT_EQ(result.status().code(), code)
      << "got " << common::StatusCodeName(result.status().code()) << ": "
      << result.status().message();
  EXPECT_NE(result.status().message().find(substring), std::string::npos)
      << "message: " << result.status().message() << "\nexpected substring: " << substring;
}

void ExpectProtocolError(const Frames& frames, const std::string& substring) {
  ExpectReject(frames, StatusCode::kProtocolError, substring);
}

TEST(DecodeRejectTest, HandBuiltFramesAreValid) {
  // The baseline every rejection test mutates must itself decode.
  for (const Frames& frames :
       {Raw(kHello, kHelloMeta), Raw(kWelcome, WelcomeMeta("0")), Raw(kError, ErrorMeta("")),
        Raw(kError, ErrorMeta(R"(,"supported_majors":[1,2])")), Raw(kHeartbeat, "{}"),
        Raw(kJobOffer, JobOfferMeta(R"({"a":[1,2.5,{"b":null}]})")),
        Raw(kRoundReply, ReplyMeta("[" + kNDescriptor + "]"), {I64Frame({3})}),
        Raw(kRoundReply, ReplyMeta(R"([{"name":"s","dtype":"f64","shape":[]}])"),
            {F64Frame({2.5})}),
        Raw(kRoundReply, ReplyMeta("[]"))}) {
    auto result = Decode(frames);
    EXPECT_TRUE(result.ok()) << frames[1] << "\n" << result.status().ToString();
  }
}

// --- framing and header ----------------------------------------------------

TEST(DecodeRejectTest, TooFewFrames) {
  ExpectProtocolError({}, "message has 0 frames");
  ExpectProtocolError({RawHeader({})}, "message has 1 frames, expected a header frame and a meta");
}

TEST(DecodeRejectTest, OversizeMessageWithSmallLimit) {
  Frames frames = Raw(kRoundReply, ReplyMeta(R"([{"name":"x","dtype":"f64","shape":[64]}])"),
                      {F64Frame(std::vector<double>(64, 1.0))});
  ASSERT_TRUE(Decode(frames).ok());
  ExpectReject(frames, StatusCode::kResourceExhausted, "limit max_message_bytes = 256",
               DecodeLimits{256});
}

TEST(DecodeRejectTest, HeaderOfWrongLength) {
  Frames frames = Raw(kHello, kHelloMeta);
  frames[0].pop_back();
  ExpectProtocolError(frames, "header frame is 27 bytes, expected 28");
  frames[0] += "xy";
  ExpectProtocolError(frames, "header frame is 29 bytes, expected 28");
  frames[0] = "FDR";
  ExpectProtocolError(frames, "header frame is 3 bytes, expected 28");
}

TEST(DecodeRejectTest, BadMagic) {
  Frames frames = Raw(kHello, kHelloMeta);
  frames[0][3] = 'X';
  ExpectProtocolError(frames, "bad magic 'FDRX', expected 'FDRD'");
  frames[0][0] = '\x01';
  ExpectProtocolError(frames, "bad magic '\\x01DRX'");
}

TEST(DecodeRejectTest, WrongMajorIsVersionMismatch) {
  HeaderSpec spec;
  spec.major = 2;
  ExpectReject({RawHeader(spec), kHelloMeta}, StatusCode::kVersionMismatch,
               "HELLO: peer speaks protocol 2.0, this build speaks 1.x");
  spec.major = 0;
  spec.minor = 9;
  ExpectReject({RawHeader(spec), kHelloMeta}, StatusCode::kVersionMismatch,
               "peer speaks protocol 0.9, this build speaks 1.x");
}

TEST(DecodeRejectTest, WrongMajorWithLongerHeaderIsStillVersionMismatch) {
  // Only the first 8 header octets are frozen across majors (2.1).
  HeaderSpec spec;
  spec.major = 2;
  ExpectReject({RawHeader(spec) + "future", "{}"}, StatusCode::kVersionMismatch,
               "peer speaks protocol 2.0");
}

TEST(DecodeRejectTest, UnknownType) {
  ExpectProtocolError({RawHeader({0x0099}), "{}"}, "unknown message type 0x0099");
  ExpectProtocolError({RawHeader({0x0000}), "{}"}, "unknown message type 0x0000");
}

TEST(DecodeRejectTest, NonZeroFlags) {
  HeaderSpec spec;
  spec.flags = 0x8000;
  ExpectProtocolError({RawHeader(spec), kHelloMeta},
                      "HELLO: header flags are 0x8000, must be 0 in protocol 1.x");
}

TEST(DecodeRejectTest, PayloadFramesFieldMismatch) {
  HeaderSpec spec;
  spec.payload_frames = 1;
  ExpectProtocolError({RawHeader(spec), kHelloMeta},
                      "HELLO: header says 1 payload frames, message has 0");
  Frames reply = Raw(kRoundReply, ReplyMeta("[" + kNDescriptor + "]"), {I64Frame({3})});
  reply.push_back(I64Frame({4}));
  ExpectProtocolError(reply, "ROUND_REPLY: header says 1 payload frames, message has 2");
}

TEST(DecodeRejectTest, TooManyPayloadFrames) {
  Frames payload(17, I64Frame({1}));
  ExpectProtocolError(Raw(kRoundReply, ReplyMeta("[]"), payload),
                      "message has 17 payload frames, limit 16");
}

TEST(DecodeRejectTest, MetaFrameSize) {
  ExpectProtocolError(Raw(kHeartbeat, "{"), "meta frame is 1 bytes, expected 2..65536");
  ExpectProtocolError(Raw(kHeartbeat, ""), "meta frame is 0 bytes");
  std::string big = R"({"reason":")" + std::string(65536, 'x') + R"("})";
  ExpectProtocolError(Raw(kBye, big), "meta frame is 65549 bytes, expected 2..65536");
}

// --- meta JSON -------------------------------------------------------------

TEST(DecodeRejectTest, InvalidJson) {
  ExpectProtocolError(Raw(kHello, R"({"site_id":)"), "HELLO: meta frame is not valid JSON");
  ExpectProtocolError(Raw(kHello, "{'a':1}"), "not valid JSON");
  ExpectProtocolError(Raw(kHeartbeat, "{} {}"), "not valid JSON");
  // Found by fuzzing: nlohmann reports a number overflowing a double as an
  // out_of_range exception, not a parse_error.
  ExpectProtocolError(Raw(kJobOffer, JobOfferMeta(R"({"x":1e400})")),
                      "not valid JSON: [json.exception.out_of_range.406] number overflow");
  ExpectProtocolError(Raw(kWelcome, WelcomeMeta("-22222222e2222222")), "number overflow");
  // nlohmann's lexer would stop at a NUL byte and ignore what follows.
  ExpectProtocolError(Raw(kHeartbeat, std::string("{}\0", 3)),
                      "not valid JSON: NUL byte at offset 2");
  ExpectProtocolError(Raw(kHeartbeat, std::string("{}\0{\"x\":1}", 10)), "NUL byte at offset 2");
}

TEST(DecodeRejectTest, MetaNotAnObject) {
  ExpectProtocolError(Raw(kHeartbeat, "[]"),
                      "HEARTBEAT: meta frame is not a JSON object, got an array");
  ExpectProtocolError(Raw(kHeartbeat, "42"), "not a JSON object, got an integer");
  ExpectProtocolError(Raw(kHeartbeat, "\"{}\""), "not a JSON object, got a string");
}

TEST(DecodeRejectTest, DeepNesting) {
  std::string deep = std::string(20000, '[') + std::string(20000, ']');
  ExpectProtocolError(Raw(kJobOffer, JobOfferMeta(R"({"a":)" + deep + "}")),
                      "meta JSON nests 20002 levels deep, limit 64");
  ExpectProtocolError(Raw(kHeartbeat, std::string(30000, '[')), "not valid JSON");
}

TEST(DecodeRejectTest, NestingAtTheLimitDecodesAndReencodes) {
  // meta (1) > parameters (2) > 62 arrays (3..64) holding a scalar.
  const std::string nested = std::string(62, '[') + "1" + std::string(62, ']');
  auto decoded = Decode(Raw(kJobOffer, JobOfferMeta(R"({"a":)" + nested + "}")));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  auto encoded = Encode(*decoded);
  ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
  EXPECT_EQ(*Decode(*encoded), *decoded);

  ExpectProtocolError(Raw(kJobOffer, JobOfferMeta(R"({"a":[)" + nested + "]}")),
                      "meta JSON nests 65 levels deep, limit 64");
  Message too_deep = *decoded;
  std::get<JobOffer>(too_deep.body).parameters["a"] =
      nlohmann::json::array({std::get<JobOffer>(too_deep.body).parameters["a"]});
  auto refused = Encode(too_deep);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("nests deeper than 64 levels"), std::string::npos)
      << refused.status().message();
}

TEST(DecodeRejectTest, DuplicateKey) {
  ExpectProtocolError(
      Raw(kHello, R"({"site_id":"a","site_id":"b","software_version":"1","capabilities":[]})"),
      "duplicate key in an object at nesting level 1");
  ExpectProtocolError(Raw(kJobOffer, JobOfferMeta(R"({"x":1,"x":2})")),
                      "duplicate key in an object at nesting level 2");
}

TEST(DecodeRejectTest, MissingRequiredField) {
  ExpectProtocolError(Raw(kHello, R"({"site_id":"site-a","capabilities":[]})"),
                      "HELLO: missing required field 'software_version'");
  ExpectProtocolError(Raw(kError, R"({"code":"busy","message":"m","fatal":true})"),
                      "ERROR: missing required field 'ref_sequence'");
  ExpectProtocolError(Raw(kRoundReply, R"({"job_id":"j","round_id":1,"statistic":"s"})"),
                      "ROUND_REPLY: missing required field 'arrays'");
}

TEST(DecodeRejectTest, OptionalFieldMayBeAbsent) {
  auto result = Decode(Raw(kError, ErrorMeta("")));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(std::get<Error>(result->body).supported_majors.empty());
}

TEST(DecodeRejectTest, UnexpectedField) {
  ExpectProtocolError(
      Raw(kHello, R"({"site_id":"s","software_version":"1","capabilities":[],"colour":"red"})"),
      "HELLO: unexpected field 'colour'");
  ExpectProtocolError(Raw(kHeartbeat, R"({"x":1})"), "HEARTBEAT: unexpected field 'x'");
}

TEST(DecodeRejectTest, WrongJsonType) {
  ExpectProtocolError(Raw(kHello, R"({"site_id":5,"software_version":"1","capabilities":[]})"),
                      "HELLO: field 'site_id': expected a string, got an integer 5");
  ExpectProtocolError(Raw(kHello, R"({"site_id":"s","software_version":"1","capabilities":"x"})"),
                      "field 'capabilities': expected an array, got a string");
  ExpectProtocolError(Raw(kHello, R"({"site_id":"s","software_version":"1","capabilities":[1]})"),
                      "field 'capabilities': item 0: expected a string, got an integer");
  ExpectProtocolError(Raw(kError, R"({"code":"busy","message":"m","fatal":1,"ref_sequence":0})"),
                      "field 'fatal': expected a boolean, got an integer");
  ExpectProtocolError(Raw(kWelcome, WelcomeMeta("\"0\"")),
                      "field 'protocol_minor': expected an integer, got a string");
  ExpectProtocolError(Raw(kWelcome, WelcomeMeta("true")),
                      "field 'protocol_minor': expected an integer, got a boolean");
  ExpectProtocolError(Raw(kWelcome, WelcomeMeta("null")),
                      "field 'protocol_minor': expected an integer, got null");
}

TEST(DecodeRejectTest, FloatWhereIntegerExpected) {
  ExpectProtocolError(Raw(kWelcome, WelcomeMeta("0.0")),
                      "field 'protocol_minor': expected an integer, got a floating-point number");
  ExpectProtocolError(Raw(kWelcome, WelcomeMeta("1e2")), "got a floating-point number");
}

TEST(DecodeRejectTest, IntegerOutOfRange) {
  ExpectProtocolError(Raw(kWelcome, WelcomeMeta("256")),
                      "WELCOME: field 'protocol_minor': 256 is outside [0, 255]");
  ExpectProtocolError(Raw(kWelcome, WelcomeMeta("-1")), "-1 is outside [0, 255]");
  ExpectProtocolError(
      Raw(kError,
          R"({"code":"busy","message":"m","fatal":true,"ref_sequence":18446744073709551615})"),
      "field 'ref_sequence': 18446744073709551615 is outside [0, 9223372036854775807]");
  ExpectProtocolError(Raw(kError, ErrorMeta(R"(,"supported_majors":[1,256])")),
                      "field 'supported_majors': item 1: 256 is outside [1, 255]");
}

TEST(DecodeRejectTest, BadNameCharacters) {
  auto hello = [](const std::string& site_id) {
    return Raw(kHello,
               R"({"site_id":)" + site_id + R"(,"software_version":"1","capabilities":[]})");
  };
  ExpectProtocolError(hello(R"("site a")"),
                      "HELLO: field 'site_id': 'site a' is not a name: character ' ' at offset 4 "
                      "is not one of [A-Za-z0-9_.-]");
  ExpectProtocolError(hello(R"("-site")"), "must start with a letter or digit");
  ExpectProtocolError(hello(R"("")"), "field 'site_id': empty string");
  ExpectProtocolError(hello('"' + std::string(65, 'a') + '"'),
                      "is 65 characters, a name has at most 64");
  ExpectProtocolError(hello(R"("caf\u00e9")"), "character '\\xc3' at offset 3");
  ExpectProtocolError(hello(R"("a\nb")"), "character '\\x0a' at offset 1");
  EXPECT_TRUE(Decode(hello('"' + std::string(64, 'a') + '"')).ok());
  EXPECT_TRUE(Decode(hello(R"("0.a_b-C")")).ok());
}

TEST(DecodeRejectTest, TextTooLong) {
  auto bye = [](std::size_t n) {
    return Raw(kBye, R"({"reason":")" + std::string(n, 'r') + R"("})");
  };
  EXPECT_TRUE(Decode(bye(1024)).ok());
  ExpectProtocolError(bye(1025), "BYE: field 'reason': text is 1025 bytes, limit 1024");
  // The limit counts UTF-8 octets of the value, not characters or JSON escapes.
  std::string euros;
  for (int i = 0; i < 342; ++i) euros += "\\u20ac";  // 3 octets each: 1026
  ExpectProtocolError(Raw(kBye, R"({"reason":")" + euros + R"("})"),
                      "text is 1026 bytes, limit 1024");
}

TEST(DecodeRejectTest, InvalidUtf8) {
  // nlohmann's parser already refuses ill-formed UTF-8 inside JSON strings.
  ExpectProtocolError(Raw(kBye, "{\"reason\":\"caf\xC3\x28\"}"), "not valid JSON");
  ExpectProtocolError(Raw(kBye, "{\"reason\":\"\xED\xA0\x80\"}"), "not valid JSON");
  ExpectProtocolError(Raw(kBye, R"({"reason":"\ud800"})"), "not valid JSON");
  ExpectProtocolError(Raw(kBye, "{\"reason\":\"\xC0\xAF\"}"), "UTF-8");
}

TEST(DecodeRejectTest, ChoiceViolated) {
  ExpectProtocolError(Raw(kJobEnd, R"({"job_id":"j","outcome":"done","summary":""})"),
                      "JOB_END: field 'outcome': 'done' is not one of: completed, aborted");
  ExpectProtocolError(Raw(kError, R"({"code":"oops","message":"m","fatal":true,"ref_sequence":0})"),
                      "field 'code': 'oops' is not one of: version_mismatch, protocol_error");
}

TEST(DecodeRejectTest, ListTooLong) {
  std::string caps;
  for (int i = 0; i < 33; ++i) caps += std::string(i ? "," : "") + "\"c" + std::to_string(i) + "\"";
  ExpectProtocolError(
      Raw(kHello, R"({"site_id":"s","software_version":"1","capabilities":[)" + caps + "]}"),
      "HELLO: field 'capabilities': 33 items, limit 32");
  ExpectProtocolError(Raw(kError, ErrorMeta(R"(,"supported_majors":[1,1,1,1,1,1,1,1,1])")),
                      "field 'supported_majors': 9 items, limit 8");
}

TEST(DecodeRejectTest, ObjectField) {
  ExpectProtocolError(Raw(kJobOffer, JobOfferMeta("[]")),
                      "JOB_OFFER: field 'parameters': expected an object, got an array");
  ExpectProtocolError(Raw(kJobOffer, JobOfferMeta("null")), "expected an object, got null");
  // {"k":"xxx..."} serialises to 8 + n bytes.
  EXPECT_TRUE(
      Decode(Raw(kJobOffer, JobOfferMeta(R"({"k":")" + std::string(16376, 'x') + R"("})"))).ok());
  ExpectProtocolError(Raw(kJobOffer, JobOfferMeta(R"({"k":")" + std::string(16377, 'x') + R"("})")),
                      "field 'parameters': object is 16385 bytes when serialised, limit 16384");
}

// --- payload arrays ----------------------------------------------------------

TEST(DecodeRejectTest, ArraysFieldShape) {
  ExpectProtocolError(Raw(kRoundReply, ReplyMeta("{}")),
                      "ROUND_REPLY: field 'arrays': expected an array, got an object");
  ExpectProtocolError(Raw(kRoundReply, ReplyMeta("[" + kNDescriptor + "]")),
                      "field 'arrays': describes 1 arrays but the message has 0 payload frames");
  ExpectProtocolError(Raw(kRoundReply, ReplyMeta("[]"), {I64Frame({1})}),
                      "describes 0 arrays but the message has 1 payload frames");
  std::string many;
  for (int i = 0; i < 17; ++i) {
    many += std::string(i ? "," : "") + R"({"name":"a)" + std::to_string(i) +
            R"(","dtype":"i64","shape":[]})";
  }
  ExpectProtocolError(Raw(kRoundReply, ReplyMeta("[" + many + "]")),
                      "field 'arrays': 17 array descriptors, limit 16");
}

TEST(DecodeRejectTest, ArrayDescriptorKeys) {
  ExpectProtocolError(Raw(kRoundReply, ReplyMeta("[1]"), {I64Frame({1})}),
                      "ROUND_REPLY: arrays/0: expected an object, got an integer");
  ExpectProtocolError(Raw(kRoundReply, ReplyMeta(R"([{"name":"n","shape":[1]}])"), {I64Frame({1})}),
                      "arrays/0: missing key 'dtype'");
  ExpectProtocolError(
      Raw(kRoundReply, ReplyMeta(R"([{"name":"n","dtype":"i64","shape":[1],"unit":"mm"}])"),
          {I64Frame({1})}),
      "arrays/0: unexpected key 'unit'");
  ExpectProtocolError(
      Raw(kRoundReply, ReplyMeta(R"([{"name":"a b","dtype":"i64","shape":[1]}])"), {I64Frame({1})}),
      "arrays/0: name 'a b' is not a name");
  ExpectProtocolError(
      Raw(kRoundReply, ReplyMeta(R"([{"name":7,"dtype":"i64","shape":[1]}])"), {I64Frame({1})}),
      "arrays/0: name: expected a string, got an integer");
}

TEST(DecodeRejectTest, DuplicateArrayName) {
  ExpectProtocolError(Raw(kRoundReply, ReplyMeta("[" + kNDescriptor + "," + kNDescriptor + "]"),
                          {I64Frame({1}), I64Frame({2})}),
                      "ROUND_REPLY: arrays/1 'n': duplicate array name (also arrays/0)");
}

TEST(DecodeRejectTest, BadDtype) {
  ExpectProtocolError(Raw(kRoundReply, ReplyMeta(R"([{"name":"n","dtype":"f32","shape":[1]}])"),
                          {std::string(4, '\0')}),
                      "arrays/0 'n': dtype \"f32\" is not \"f64\" or \"i64\"");
  ExpectProtocolError(
      Raw(kRoundReply, ReplyMeta(R"([{"name":"n","dtype":1,"shape":[1]}])"), {I64Frame({1})}),
      "dtype 1 is not");
}

TEST(DecodeRejectTest, BadShape) {
  auto reply = [](const std::string& shape, const std::string& frame) {
    return Raw(kRoundReply, ReplyMeta(R"([{"name":"x","dtype":"f64","shape":)" + shape + "}]"),
               {frame});
  };
  ExpectProtocolError(reply("[1,1,1,1,1]", F64Frame({1})),
                      "arrays/0 'x': shape [1,1,1,1,1] has 5 dimensions, limit 4");
  ExpectProtocolError(reply("[2147483648]", ""),
                      "shape dimension 0: 2147483648 is outside [0, 2147483647]");
  ExpectProtocolError(reply("[-1]", ""), "shape dimension 0: -1 is outside");
  ExpectProtocolError(reply("[1.0]", F64Frame({1})),
                      "shape dimension 0: expected an integer, got a floating-point number");
  ExpectProtocolError(reply("1", F64Frame({1})), "shape: expected an array, got an integer");
  ExpectProtocolError(reply("[2147483647,2147483647,2147483647,2147483647]", ""),
                      "shape [2147483647,2147483647,2147483647,2147483647] has more than "
                      "134217728 elements");
  ExpectProtocolError(reply("[65536,2049]", ""), "has more than 134217728 elements");
  // A zero dimension makes the array empty whatever the other dimensions are.
  EXPECT_TRUE(Decode(reply("[2147483647,0,2147483647]", "")).ok());
}

TEST(DecodeRejectTest, ShapeAndFrameLengthMismatch) {
  ExpectProtocolError(
      Raw(kRoundReply,
          ReplyMeta("[" + kNDescriptor + R"(,{"name":"sum_x","dtype":"f64","shape":[3]}])"),
          {I64Frame({1}), F64Frame({1.0, 2.0})}),
      "ROUND_REPLY: arrays/1 'sum_x': shape [3] needs 24 payload bytes, frame has 16");
  ExpectProtocolError(Raw(kRoundReply, ReplyMeta("[" + kNDescriptor + "]"), {"1234567"}),
                      "arrays/0 'n': shape [1] needs 8 payload bytes, frame has 7");
}

TEST(DecodeRejectTest, NonFiniteF64) {
  const std::string meta = ReplyMeta(R"([{"name":"v","dtype":"f64","shape":[4]}])");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  ExpectProtocolError(Raw(kRoundReply, meta, {F64Frame({0.0, 1.0, nan, 3.0})}),
                      "ROUND_REPLY: arrays/0 'v': element 2 is NaN (f64 values must be finite)");
  ExpectProtocolError(Raw(kRoundReply, meta, {F64Frame({inf, 1.0, 2.0, 3.0})}),
                      "arrays/0 'v': element 0 is +Inf");
  ExpectProtocolError(Raw(kRoundReply, meta, {F64Frame({0.0, 1.0, 2.0, -inf})}),
                      "arrays/0 'v': element 3 is -Inf");
  // A signalling NaN bit pattern is rejected too.
  ExpectProtocolError(Raw(kRoundReply, meta, {I64Frame({0, 0x7FF0000000000001, 0, 0})}),
                      "element 1 is NaN");
  // i64 payloads take every bit pattern.
  EXPECT_TRUE(Decode(Raw(kRoundReply, ReplyMeta(R"([{"name":"v","dtype":"i64","shape":[1]}])"),
                         {I64Frame({0x7FF8000000000000})}))
                  .ok());
}

TEST(DecodeRejectTest, PayloadFramesOnTypeWithoutArrays) {
  HeaderSpec spec;
  spec.payload_frames = 1;
  ExpectProtocolError({RawHeader(spec), kHelloMeta, I64Frame({1})},
                      "HELLO: this message type carries no payload arrays, but the message has 1 "
                      "payload frames");
}

// --- robustness: mutations of real messages never crash or throw -----------

TEST(DecodeRobustnessTest, TruncationsAndBitFlipsOfEveryTypeAreHandled) {
  std::vector<Frames> all;
#define FEDRAD_X(S, code, name) all.push_back(*Encode(SampleMessage<S>()));
  FEDRAD_PROTOCOL_MESSAGES(FEDRAD_X)
#undef FEDRAD_X
  int decoded_ok = 0;
  for (const Frames& original : all) {
    for (std::size_t f = 0; f < original.size(); ++f) {
      for (std::size_t len = 0; len < original[f].size(); ++len) {
        Frames cut = original;
        cut[f].resize(len);
        auto result = Decode(cut);
        ASSERT_NE(result.status().code(), StatusCode::kInternal) << result.status().ToString();
        if (result.ok()) ++decoded_ok;  // e.g. a shorter but still valid text
      }
      for (std::size_t pos = 0; pos < original[f].size(); ++pos) {
        for (int bit = 0; bit < 8; ++bit) {
          Frames flipped = original;
          flipped[f][pos] = static_cast<char>(flipped[f][pos] ^ (1 << bit));
          auto result = Decode(flipped);
          ASSERT_NE(result.status().code(), StatusCode::kInternal) << result.status().ToString();
          if (!result.ok()) continue;
          ++decoded_ok;
          auto again = Encode(*result);
          ASSERT_TRUE(again.ok()) << again.status().ToString();
          auto second = Decode(*again);
          ASSERT_TRUE(second.ok()) << second.status().ToString();
          EXPECT_EQ(*second, *result);
        }
      }
    }
  }
  EXPECT_GT(decoded_ok, 0);
}

}  // namespace
}  // namespace fedrad::protocols

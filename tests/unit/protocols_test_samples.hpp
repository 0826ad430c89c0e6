// Representative sample of every protocol message type, shared by the codec
// round-trip tests, the golden vectors (tests/data/protocol_v1/) and the fuzz
// seed corpus (tests/fuzz/corpus/decoder/).
//
// Changing a sample changes its golden file: regenerate deliberately with
// FEDRAD_REGENERATE_GOLDEN=1 (see tests/data/protocol_v1/README.md) and update
// the README's description of the sample.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>

#include "fedrad/protocols/messages.hpp"

namespace fedrad::protocols::samples {

// Defined for every message type; a type added to FEDRAD_PROTOCOL_MESSAGES
// without a sample here fails to compile the tests.
template <class T>
T SampleBody();

template <>
inline Hello SampleBody<Hello>() {
  return Hello{"site-a", "0.1.0", {"cohort_size", "mean_var"}};
}

template <>
inline Welcome SampleBody<Welcome>() {
  return Welcome{"site-a", "coord.main", 0, 1000, 5, 67108864};
}

template <>
inline Error SampleBody<Error>() {
  return Error{"version_mismatch", "peer speaks protocol 2.0, this build speaks 1.x", true, 1, {1}};
}

template <>
inline Heartbeat SampleBody<Heartbeat>() {
  return Heartbeat{};
}

template <>
inline Bye SampleBody<Bye>() {
  return Bye{"study complete \xE2\x80\x94 thank you"};  // U+2014 EM DASH
}

template <>
inline JobOffer SampleBody<JobOffer>() {
  return JobOffer{"job-0001", "cohort_size",
                  "Count the cases with a CT scan.\nNo patient data leaves the site.",
                  nlohmann::json{{"modality", "CT"}, {"min_age", 18}}};
}

template <>
inline JobAccept SampleBody<JobAccept>() {
  return JobAccept{"job-0001"};
}

template <>
inline JobDecline SampleBody<JobDecline>() {
  return JobDecline{"job-0001", "unknown job kind \"survival\""};
}

template <>
inline JobEnd SampleBody<JobEnd>() {
  return JobEnd{"job-0001", "completed", "3 of 3 sites replied"};
}

template <>
inline RoundRequest SampleBody<RoundRequest>() {
  return RoundRequest{"job-0001",
                      7,
                      "stats_batch",
                      nlohmann::json{{"datasets", {""}}, {"requests", 1}},
                      {Array::I64("i64", {5}, {1, 0, 0, -1, -1}), Array::F64("f64", {0}, {})}};
}

template <>
inline RoundReply SampleBody<RoundReply>() {
  return RoundReply{"job-0001",
                    1,
                    "cohort_size",
                    {Array::I64("n", {1}, {412}),
                     Array::F64("sum_x", {2, 3}, {1.5, -2.25, 0.0, -0.0, 1e-300, 6.02214076e23}),
                     Array::F64("scale", {}, {0.1}), Array::I64("empty", {0}, {})}};
}

template <>
inline Receipt SampleBody<Receipt>() {
  return Receipt{7, "ROUND_REPLY", std::string(64, 'a'), 1313, std::string(128, '0')};
}

// ::testing::Types<Hello, Welcome, ...> generated from Body, i.e. from the
// FEDRAD_PROTOCOL_MESSAGES table: a new type is covered automatically.
template <class V>
struct BodyTypes;
template <class... Ts>
struct BodyTypes<std::variant<std::monostate, Ts...>> {
  using type = ::testing::Types<Ts...>;
};
using AllMessageTypes = BodyTypes<Body>::type;

// Typed-test names: the wire name of the type ("HELLO").
struct WireName {
  template <class T>
  static std::string GetName(int) {
    return std::string(MessageTypeName(TypeOf(Body(T{}))));
  }
};

// Message with the sample body and a header as the encoder fills it in (type
// and payload_frames) and a session id / sequence typical for the type.
template <class T>
Message SampleMessage() {
  Message m;
  m.body = SampleBody<T>();
  m.header.type = static_cast<std::uint16_t>(TypeOf(m.body));
  if constexpr (std::is_same_v<T, RoundReply> || std::is_same_v<T, RoundRequest>) {
    m.header.payload_frames = static_cast<std::uint16_t>(std::get<T>(m.body).arrays.size());
  }
  const bool opens_session = std::is_same_v<T, Hello> || std::is_same_v<T, Error>;
  m.header.session_id = opens_session ? 0 : 0x0123456789ABCDEFull;
  m.header.sequence = opens_session || std::is_same_v<T, Welcome>
                          ? 1
                          : 0x100 + static_cast<std::uint64_t>(m.header.type);
  return m;
}

// Golden file name of a type: its wire name in lower case + ".bin".
inline std::string GoldenFileName(MessageType type) {
  std::string name(MessageTypeName(type));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name + ".bin";
}

}  // namespace fedrad::protocols::samples

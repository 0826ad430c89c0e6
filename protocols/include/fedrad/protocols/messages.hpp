// fedrad wire protocol 1.0 messages (docs/protocol.md is the contract).
//
// Every message type is declared once: in FEDRAD_PROTOCOL_MESSAGES below
// (type code, wire name, C++ struct) and by its struct's Fields() visitor
// (field names, required/optional, limits). The encoder, the decoder, the
// names and the round-trip tests are all generated from these declarations.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fedrad/common/status.hpp"

namespace fedrad::protocols {

inline constexpr std::uint8_t kProtocolMajor = 1;
inline constexpr std::uint8_t kProtocolMinor = 0;
inline constexpr std::array<char, 4> kMagic = {'F', 'D', 'R', 'D'};
inline constexpr std::size_t kHeaderBytes = 28;
inline constexpr std::size_t kMaxMetaBytes = 65536;
inline constexpr std::size_t kMaxPayloadFrames = 16;
inline constexpr std::size_t kMaxArrayDims = 4;
inline constexpr std::int64_t kMaxArrayElements = std::int64_t{1} << 27;
inline constexpr std::size_t kDefaultMaxMessageBytes = 64u << 20;
inline constexpr std::size_t kMaxObjectFieldBytes = 16384;

// ---------------------------------------------------------------------------
// Field limits used by the Fields() visitors.
// ---------------------------------------------------------------------------
enum class StringKind {
  kName,  // 1..64 chars of [A-Za-z0-9_.-], starting with a letter or digit
  kText,  // any UTF-8 up to max_bytes
};

struct StringRule {
  StringKind kind = StringKind::kText;
  std::size_t max_bytes = 4096;
  std::vector<std::string> choices;  // non-empty: value must be one of these
};

struct IntRule {
  std::int64_t min = 0;
  std::int64_t max = INT64_MAX;
};

struct ListRule {
  std::size_t max_items = 32;
};

// ---------------------------------------------------------------------------
// Payload arrays (section 2.3).
// ---------------------------------------------------------------------------
enum class DType : std::uint8_t { kF64, kI64 };

struct Array {
  std::string name;
  DType dtype = DType::kF64;
  std::vector<std::int64_t> shape;  // 0..4 dims; empty = scalar
  std::vector<double> f64;          // used when dtype == kF64
  std::vector<std::int64_t> i64;    // used when dtype == kI64

  // Product of shape (1 for a scalar); -1 if a dimension is negative or the
  // product overflows int64.
  std::int64_t ElementCount() const;
  bool operator==(const Array&) const = default;

  static Array F64(std::string name, std::vector<std::int64_t> shape, std::vector<double> values);
  static Array I64(std::string name, std::vector<std::int64_t> shape,
                   std::vector<std::int64_t> values);
};

// ---------------------------------------------------------------------------
// Message bodies. Each Fields(v) lists every field exactly once:
//   v.Str(name, member, rule, required)    string
//   v.Int(name, member, rule)              integer (required)
//   v.Bool(name, member)                   boolean (required)
//   v.StrList(name, member, rule, list)    array of strings
//   v.IntList(name, member, rule, list, required)
//   v.Obj(name, member[, required])        JSON object (<= kMaxObjectFieldBytes;
//                                          optional: an empty object is absent)
//   v.Arrays(name, member)                 array descriptors + payload frames
// ---------------------------------------------------------------------------
inline const StringRule kNameRule{StringKind::kName, 64, {}};

struct Hello {
  std::string site_id;
  std::string software_version;
  std::vector<std::string> capabilities;
  template <class V>
  static void Fields(V& v) {
    v.Str("site_id", &Hello::site_id, kNameRule, true);
    v.Str("software_version", &Hello::software_version, StringRule{StringKind::kText, 32, {}},
          true);
    v.StrList("capabilities", &Hello::capabilities, kNameRule, ListRule{32});
  }
  bool operator==(const Hello&) const = default;
};

struct Welcome {
  std::string site_id;
  std::string coordinator_id;
  std::int64_t protocol_minor = 0;
  std::int64_t heartbeat_interval_ms = 1000;
  std::int64_t heartbeat_liveness = 5;
  std::int64_t max_message_bytes = static_cast<std::int64_t>(kDefaultMaxMessageBytes);
  template <class V>
  static void Fields(V& v) {
    v.Str("site_id", &Welcome::site_id, kNameRule, true);
    v.Str("coordinator_id", &Welcome::coordinator_id, kNameRule, true);
    v.Int("protocol_minor", &Welcome::protocol_minor, IntRule{0, 255});
    v.Int("heartbeat_interval_ms", &Welcome::heartbeat_interval_ms, IntRule{10, 600000});
    v.Int("heartbeat_liveness", &Welcome::heartbeat_liveness, IntRule{1, 100});
    v.Int("max_message_bytes", &Welcome::max_message_bytes, IntRule{1024, INT32_MAX});
  }
  bool operator==(const Welcome&) const = default;
};

// ERROR codes (section 3).
inline const std::vector<std::string> kErrorCodes = {
    "version_mismatch",  "protocol_error", "not_authorized", "unknown_session",
    "duplicate_session", "busy",           "job_failed",     "unsupported_statistic",
    "policy_refused",    "internal"};

struct Error {
  std::string code;
  std::string message;
  bool fatal = false;
  std::int64_t ref_sequence = 0;
  std::vector<std::int64_t> supported_majors;  // optional; empty = absent
  template <class V>
  static void Fields(V& v) {
    v.Str("code", &Error::code, StringRule{StringKind::kName, 64, kErrorCodes}, true);
    v.Str("message", &Error::message, StringRule{StringKind::kText, 4096, {}}, true);
    v.Bool("fatal", &Error::fatal);
    v.Int("ref_sequence", &Error::ref_sequence, IntRule{0, INT64_MAX});
    v.IntList("supported_majors", &Error::supported_majors, IntRule{1, 255}, ListRule{8}, false);
  }
  bool operator==(const Error&) const = default;
};

struct Heartbeat {
  template <class V>
  static void Fields(V&) {}
  bool operator==(const Heartbeat&) const = default;
};

struct Bye {
  std::string reason;
  template <class V>
  static void Fields(V& v) {
    v.Str("reason", &Bye::reason, StringRule{StringKind::kText, 1024, {}}, true);
  }
  bool operator==(const Bye&) const = default;
};

struct JobOffer {
  std::string job_id;
  std::string kind;
  std::string description;
  nlohmann::json parameters = nlohmann::json::object();
  template <class V>
  static void Fields(V& v) {
    v.Str("job_id", &JobOffer::job_id, kNameRule, true);
    v.Str("kind", &JobOffer::kind, kNameRule, true);
    v.Str("description", &JobOffer::description, StringRule{StringKind::kText, 4096, {}}, true);
    v.Obj("parameters", &JobOffer::parameters);
  }
  bool operator==(const JobOffer&) const = default;
};

struct JobAccept {
  std::string job_id;
  // Optional (4.4): what the site's study data were made with,
  // {"fedrad_version", "radiomics_params_sha256", "data_dictionary_sha256"}
  // (strings; "" = none); an empty object is absent on the wire.
  nlohmann::json provenance = nlohmann::json::object();
  template <class V>
  static void Fields(V& v) {
    v.Str("job_id", &JobAccept::job_id, kNameRule, true);
    v.Obj("provenance", &JobAccept::provenance, /*required=*/false);
  }
  bool operator==(const JobAccept&) const = default;
};

struct JobDecline {
  std::string job_id;
  std::string reason;
  template <class V>
  static void Fields(V& v) {
    v.Str("job_id", &JobDecline::job_id, kNameRule, true);
    v.Str("reason", &JobDecline::reason, StringRule{StringKind::kText, 4096, {}}, true);
  }
  bool operator==(const JobDecline&) const = default;
};

struct JobEnd {
  std::string job_id;
  std::string outcome;  // "completed" | "aborted"
  std::string summary;
  template <class V>
  static void Fields(V& v) {
    v.Str("job_id", &JobEnd::job_id, kNameRule, true);
    v.Str("outcome", &JobEnd::outcome, StringRule{StringKind::kName, 64, {"completed", "aborted"}},
          true);
    v.Str("summary", &JobEnd::summary, StringRule{StringKind::kText, 4096, {}}, true);
  }
  bool operator==(const JobEnd&) const = default;
};

struct RoundRequest {
  std::string job_id;
  std::int64_t round_id = 1;
  std::string statistic;
  nlohmann::json parameters = nlohmann::json::object();
  std::vector<Array> arrays;  // statistic-specific inputs (e.g. stats_batch), often none
  template <class V>
  static void Fields(V& v) {
    v.Str("job_id", &RoundRequest::job_id, kNameRule, true);
    v.Int("round_id", &RoundRequest::round_id, IntRule{1, INT32_MAX});
    v.Str("statistic", &RoundRequest::statistic, kNameRule, true);
    v.Obj("parameters", &RoundRequest::parameters);
    v.Arrays("arrays", &RoundRequest::arrays);
  }
  bool operator==(const RoundRequest&) const = default;
};

struct RoundReply {
  std::string job_id;
  std::int64_t round_id = 1;
  std::string statistic;
  std::vector<Array> arrays;
  template <class V>
  static void Fields(V& v) {
    v.Str("job_id", &RoundReply::job_id, kNameRule, true);
    v.Int("round_id", &RoundReply::round_id, IntRule{1, INT32_MAX});
    v.Str("statistic", &RoundReply::statistic, kNameRule, true);
    v.Arrays("arrays", &RoundReply::arrays);
  }
  bool operator==(const RoundReply&) const = default;
};

// A site's signed audit receipt for one message it sent (docs/audit.md,
// common/audit_log.hpp AuditReceipt): the coordinator stores it in its audit
// log. The sender is the authenticated peer, the receiver the coordinator.
struct Receipt {
  std::int64_t seq = 1;  // seq of the sender's own `send` record
  std::string type;      // wire name of the message, e.g. "ROUND_REPLY"
  std::string sha256;    // AuditPayloadHash of its frames (64 hex)
  std::int64_t bytes = 0;
  std::string sig;  // Ed25519 signature (128 hex)
  template <class V>
  static void Fields(V& v) {
    v.Int("seq", &Receipt::seq, IntRule{1, INT64_MAX});
    v.Str("type", &Receipt::type, kNameRule, true);
    v.Str("sha256", &Receipt::sha256, StringRule{StringKind::kName, 64, {}}, true);
    v.Int("bytes", &Receipt::bytes, IntRule{0, INT32_MAX});
    v.Str("sig", &Receipt::sig, StringRule{StringKind::kText, 128, {}}, true);
  }
  bool operator==(const Receipt&) const = default;
};

// ---------------------------------------------------------------------------
// The one table: X(Struct, type code, wire name). Order = variant order.
// ---------------------------------------------------------------------------
#define FEDRAD_PROTOCOL_MESSAGES(X)        \
  X(Hello, 0x0001, "HELLO")                \
  X(Welcome, 0x0002, "WELCOME")            \
  X(Error, 0x0003, "ERROR")                \
  X(Heartbeat, 0x0004, "HEARTBEAT")        \
  X(Bye, 0x0005, "BYE")                    \
  X(JobOffer, 0x0010, "JOB_OFFER")         \
  X(JobAccept, 0x0011, "JOB_ACCEPT")       \
  X(JobDecline, 0x0012, "JOB_DECLINE")     \
  X(JobEnd, 0x0013, "JOB_END")             \
  X(RoundRequest, 0x0020, "ROUND_REQUEST") \
  X(RoundReply, 0x0021, "ROUND_REPLY")     \
  X(Receipt, 0x0030, "RECEIPT")

enum class MessageType : std::uint16_t {
#define FEDRAD_X(S, code, name) k##S = code,
  FEDRAD_PROTOCOL_MESSAGES(FEDRAD_X)
#undef FEDRAD_X
};

// std::monostate is "no message" (a default-constructed Message); it is
// never encoded or decoded.
#define FEDRAD_X(S, code, name) , S
using Body = std::variant<std::monostate FEDRAD_PROTOCOL_MESSAGES(FEDRAD_X)>;
#undef FEDRAD_X

// Wire name ("HELLO") of a type; "UNKNOWN(0x1234)" for unknown codes.
std::string MessageTypeName(std::uint16_t code);
std::string_view MessageTypeName(MessageType type);
// Type of a body alternative; MessageType{0} (not a valid type) for
// std::monostate.
MessageType TypeOf(const Body& body);
bool IsKnownType(std::uint16_t code);

struct Header {
  std::uint8_t major = kProtocolMajor;
  std::uint8_t minor = kProtocolMinor;
  std::uint16_t type = 0;  // filled by Encode from the body
  std::uint16_t flags = 0;
  std::uint16_t payload_frames = 0;  // filled by Encode from the body
  std::uint64_t session_id = 0;
  std::uint64_t sequence = 0;
  bool operator==(const Header&) const = default;
};

struct Message {
  Header header;
  Body body;
  MessageType type() const { return TypeOf(body); }
  bool operator==(const Message&) const = default;
};

// One ZeroMQ frame's bytes.
using Frame = std::string;
using Frames = std::vector<Frame>;

struct DecodeLimits {
  std::size_t max_message_bytes = kDefaultMaxMessageBytes;
};

// Encodes a message. Fails (kInvalidArgument) if the body breaks its own
// field rules (the encoder refuses to send what a decoder would reject), so
// a bug cannot put a malformed message on the wire.
common::Result<Frames> Encode(const Message& message);

// Decodes and validates frames (routing identity already removed). Never
// trusts the bytes: every rule of docs/protocol.md sections 2-3 is checked
// and a failure names the rule, the field and the offending value, e.g.
// "ROUND_REPLY: arrays/1 'sum_x': shape [3] needs 24 payload bytes, frame has 16".
// Codes: kVersionMismatch for a wrong major, kResourceExhausted for
// oversize, kProtocolError for everything else.
common::Result<Message> Decode(const Frames& frames, const DecodeLimits& limits = {});

// Reads only the frozen first 8 header octets (magic, major, minor, type), for
// answering a peer of another major version. Fails on bad magic / short frame.
struct HeaderPrefix {
  std::uint8_t major = 0;
  std::uint8_t minor = 0;
  std::uint16_t type = 0;
};
common::Result<HeaderPrefix> PeekHeader(const Frames& frames);

// Replay protection for one direction of a session (section 4.3).
class SequenceGuard {
 public:
  // Accepts `sequence` if it is greater than every sequence accepted so far.
  // Returns kProtocolError naming both numbers for stale/repeated ones; sets
  // *gap to the number of skipped sequences (0 when contiguous).
  common::Status Accept(std::uint64_t sequence, std::uint64_t* gap = nullptr);
  std::uint64_t last() const { return last_; }
  void Reset() { last_ = 0; }

 private:
  std::uint64_t last_ = 0;
};

}  // namespace fedrad::protocols

// fedrad wire protocol 1.0 codec (docs/protocol.md sections 2 and 3).
//
// Nothing here is written per message type: the encoder and the decoder are
// visitors run over each struct's Fields() list, and the type dispatch comes
// from FEDRAD_PROTOCOL_MESSAGES. The validation rules (names, text, ranges,
// lists, objects, array descriptors) are shared by both directions, so the
// encoder refuses exactly what a decoder would reject.
//
// The decoder treats every byte as hostile: sizes are checked before anything
// is parsed, all arithmetic on wire values is overflow-safe, no exception
// escapes, and values quoted in error messages are escaped and truncated so a
// peer cannot inject control characters into our logs.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "fedrad/protocols/messages.hpp"

namespace fedrad::protocols {
namespace {

using common::Result;
using common::Status;
using nlohmann::json;

// Implementation limit (not in the contract): deepest JSON nesting accepted in
// a meta frame. The meta object itself is level 1; a ROUND_REPLY needs 4
// (meta, arrays, descriptor, shape). It bounds the recursion of json's
// copy/compare/dump on peer-controlled data.
constexpr int kMaxJsonDepth = 64;
// Array dimensions are in [0, 2^31).
constexpr std::int64_t kArrayDimLimit = std::int64_t{1} << 31;
constexpr std::size_t kMaxNameBytes = 64;
// How much of a peer-supplied value is quoted in an error message.
constexpr std::size_t kQuoteBytes = 64;

// ---------------------------------------------------------------------------
// Little-endian byte helpers (explicit, independent of the host byte order).
// ---------------------------------------------------------------------------
void PutU8(std::string& out, std::uint8_t v) { out.push_back(static_cast<char>(v)); }

void PutU16(std::string& out, std::uint16_t v) {
  for (int i = 0; i < 2; ++i) PutU8(out, static_cast<std::uint8_t>((v >> (8 * i)) & 0xFFu));
}

void PutU64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) PutU8(out, static_cast<std::uint8_t>((v >> (8 * i)) & 0xFFu));
}

std::uint8_t GetU8(std::string_view b, std::size_t off) {
  return static_cast<std::uint8_t>(static_cast<unsigned char>(b[off]));
}

std::uint16_t GetU16(std::string_view b, std::size_t off) {
  return static_cast<std::uint16_t>(GetU8(b, off) | (GetU8(b, off + 1) << 8));
}

std::uint64_t GetU64(std::string_view b, std::size_t off) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v |= std::uint64_t{GetU8(b, off + i)} << (8 * i);
  return v;
}

// Array payloads (f64/i64 elements, 8 bytes little-endian each) are copied in
// bulk: one memcpy on a little-endian host (the byte layout is then the
// in-memory one), element by element through PutU64/GetU64 on a big-endian
// host. Values are checked (finite f64) by the callers, not here.
static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big,
              "the codec needs a little- or big-endian host");
static_assert(sizeof(double) == 8 && std::numeric_limits<double>::is_iec559,
              "f64 arrays need IEEE 754 binary64 doubles");

template <typename T>
void PutArray(std::string& out, const std::vector<T>& values) {
  static_assert(sizeof(T) == 8 && std::is_trivially_copyable_v<T>);
  if (values.empty()) return;
  if constexpr (std::endian::native == std::endian::little) {
    const std::size_t start = out.size();
    out.resize(start + 8 * values.size());
    std::memcpy(out.data() + start, values.data(), 8 * values.size());
  } else {
    out.reserve(out.size() + 8 * values.size());
    for (const T v : values) PutU64(out, std::bit_cast<std::uint64_t>(v));
  }
}

// Fills `out` (already sized) from `bytes`, which holds exactly 8 * out->size().
template <typename T>
void GetArray(std::string_view bytes, std::vector<T>* out) {
  static_assert(sizeof(T) == 8 && std::is_trivially_copyable_v<T>);
  if (out->empty()) return;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(out->data(), bytes.data(), 8 * out->size());
  } else {
    for (std::size_t k = 0; k < out->size(); ++k) {
      (*out)[k] = std::bit_cast<T>(GetU64(bytes, 8 * k));
    }
  }
}

// Index of the first NaN or infinity in `values`, or values.size() if none.
std::size_t FirstNonFinite(const std::vector<double>& values) {
  for (std::size_t k = 0; k < values.size(); ++k) {
    if (!std::isfinite(values[k])) return k;
  }
  return values.size();
}

// ---------------------------------------------------------------------------
// Text helpers.
// ---------------------------------------------------------------------------
std::string Hex(std::uint64_t v, int digits) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%0*llx", digits, static_cast<unsigned long long>(v));
  return buf;
}

// `s` made safe for a log line: printable ASCII kept, everything else (and
// the quote character `quote`, if any) escaped as \xNN; truncated after
// `max` input bytes.
std::string Sanitize(std::string_view s, std::size_t max, char quote = '\0') {
  std::string out;
  const std::size_t n = std::min(s.size(), max);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\' && c != static_cast<unsigned char>(quote)) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      out += buf;
    }
  }
  if (s.size() > n) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

// 'value' quoted for an error message (see Sanitize).
std::string Quote(std::string_view s) {
  std::string out = "'" + Sanitize(s.substr(0, std::min(s.size(), kQuoteBytes)), kQuoteBytes, '\'');
  out += "'";
  if (s.size() > kQuoteBytes) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

// Offset of the first byte that is not part of well-formed UTF-8 (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF), or npos.
std::size_t FirstInvalidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c == 0xE0) {
      len = 3, lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      len = 3;
    } else if (c == 0xED) {
      len = 3, hi = 0x9F;
    } else if (c == 0xF0) {
      len = 4, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      len = 4;
    } else if (c == 0xF4) {
      len = 4, hi = 0x8F;
    } else {
      return i;
    }
    if (s.size() - i < len) return i;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      const unsigned char klo = (k == 1) ? lo : 0x80;
      const unsigned char khi = (k == 1) ? hi : 0xBF;
      if (cc < klo || cc > khi) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

bool IsAlnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool IsNameChar(char c) { return IsAlnum(c) || c == '_' || c == '.' || c == '-'; }

std::string JsonKind(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a floating-point number";
    case json::value_t::binary:
      return "binary data";
    case json::value_t::discarded:
      return "a discarded value";
  }
  return "an unknown value";
}

// A JSON value for an error message, compact and truncated.
std::string Snippet(const json& j) {
  try {
    std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
    if (s.size() > kQuoteBytes) s = s.substr(0, kQuoteBytes) + "...";
    return s;
  } catch (const std::exception&) {
    return "<unprintable>";
  }
}

std::string ShapeString(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i != 0) out += ",";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

std::string_view DTypeName(DType t) {
  switch (t) {
    case DType::kF64:
      return "f64";
    case DType::kI64:
      return "i64";
  }
  return "?";
}

std::string NonFiniteName(double v) {
  if (std::isnan(v)) return "NaN";
  return v > 0 ? "+Inf" : "-Inf";
}

// ---------------------------------------------------------------------------
// Validation rules shared by encoder and decoder. Each returns "" when the
// value is fine, or a description of the problem (without the field name).
// ---------------------------------------------------------------------------
std::string CheckName(std::string_view v, std::size_t max_bytes) {
  const std::size_t limit = std::min(max_bytes, kMaxNameBytes);
  if (v.empty()) return "empty string, a name needs 1.." + std::to_string(limit) + " characters";
  if (v.size() > limit) {
    return Quote(v) + " is " + std::to_string(v.size()) + " characters, a name has at most " +
           std::to_string(limit);
  }
  if (!IsAlnum(v[0])) return Quote(v) + " is not a name: it must start with a letter or digit";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!IsNameChar(v[i])) {
      return Quote(v) + " is not a name: character " + Quote(v.substr(i, 1)) + " at offset " +
             std::to_string(i) + " is not one of [A-Za-z0-9_.-]";
    }
  }
  return {};
}

std::string CheckString(std::string_view v, const StringRule& rule) {
  if (rule.kind == StringKind::kName) {
    std::string problem = CheckName(v, rule.max_bytes);
    if (!problem.empty()) return problem;
  } else {
    if (v.size() > rule.max_bytes) {
      return "text is " + std::to_string(v.size()) + " bytes, limit " +
             std::to_string(rule.max_bytes);
    }
    const std::size_t bad = FirstInvalidUtf8(v);
    if (bad != std::string_view::npos) {
      return "text is not valid UTF-8 (bad byte " + Quote(v.substr(bad, 1)) + " at offset " +
             std::to_string(bad) + ")";
    }
  }
  if (!rule.choices.empty() &&
      std::find(rule.choices.begin(), rule.choices.end(), v) == rule.choices.end()) {
    std::string list;
    for (const auto& c : rule.choices) list += (list.empty() ? "" : ", ") + c;
    return Quote(v) + " is not one of: " + list;
  }
  return {};
}

std::string CheckInt(std::int64_t v, const IntRule& rule) {
  if (v < rule.min || v > rule.max) {
    return std::to_string(v) + " is outside [" + std::to_string(rule.min) + ", " +
           std::to_string(rule.max) + "]";
  }
  return {};
}

// Reads a JSON integer (signed or unsigned representation) into *out.
std::string ReadInt(const json& j, const IntRule& rule, std::int64_t* out) {
  if (j.is_number_unsigned()) {
    const auto u = j.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::to_string(u) + " is outside [" + std::to_string(rule.min) + ", " +
             std::to_string(rule.max) + "]";
    }
    *out = static_cast<std::int64_t>(u);
  } else if (j.is_number_integer()) {
    *out = j.get<std::int64_t>();
  } else {
    return "expected an integer, got " + JsonKind(j) + " " + Snippet(j);
  }
  return CheckInt(*out, rule);
}

// Depth and finiteness of a JSON value (recursion bounded by max_depth).
// `depth` is the nesting level of `j` if it is an array or object; only those
// count, as in ParseMeta.
std::string CheckJsonTree(const json& j, int depth, int max_depth) {
  if (j.is_structured() && depth > max_depth) {
    return "nests deeper than " + std::to_string(max_depth) + " levels (meta object = level 1)";
  }
  if (j.is_number_float() && !std::isfinite(j.get<double>())) {
    return "contains a non-finite number (" + NonFiniteName(j.get<double>()) + ")";
  }
  if (j.is_structured()) {
    for (const auto& child : j) {
      std::string problem = CheckJsonTree(child, depth + 1, max_depth);
      if (!problem.empty()) return problem;
    }
  }
  return {};
}

// An `object` field: a JSON object of at most kMaxObjectFieldBytes serialised.
// `check_tree` is for the encoder (the decoder's parse already bounded depth
// and JSON text cannot hold non-finite numbers or invalid UTF-8).
std::string CheckObject(const json& j, bool check_tree) {
  if (!j.is_object()) return "expected an object, got " + JsonKind(j) + " " + Snippet(j);
  if (check_tree) {
    // Level 1 is the meta object, this object is level 2.
    std::string problem = CheckJsonTree(j, 2, kMaxJsonDepth);
    if (!problem.empty()) return problem;
  }
  std::string text;
  try {
    text = j.dump();
  } catch (const json::exception&) {
    return "contains a string that is not valid UTF-8";
  }
  if (text.size() > kMaxObjectFieldBytes) {
    return "object is " + std::to_string(text.size()) + " bytes when serialised, limit " +
           std::to_string(kMaxObjectFieldBytes);
  }
  return {};
}

// Element count of a shape, or a problem. Overflow-safe for any int64 dims.
std::string CheckShape(const std::vector<std::int64_t>& shape, std::int64_t* count) {
  if (shape.size() > kMaxArrayDims) {
    return "shape " + ShapeString(shape) + " has " + std::to_string(shape.size()) +
           " dimensions, limit " + std::to_string(kMaxArrayDims);
  }
  bool has_zero = false;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] < 0 || shape[d] >= kArrayDimLimit) {
      return "shape " + ShapeString(shape) + ": dimension " + std::to_string(d) +
             " is outside [0, 2^31)";
    }
    if (shape[d] == 0) has_zero = true;
  }
  std::int64_t n = 1;
  if (has_zero) {
    n = 0;
  } else {
    // n <= 2^27 before each step and every dim < 2^31: the product fits.
    for (std::int64_t dim : shape) {
      n *= dim;
      if (n > kMaxArrayElements) {
        return "shape " + ShapeString(shape) + " has more than " +
               std::to_string(kMaxArrayElements) + " elements (limit 2^27)";
      }
    }
  }
  *count = n;
  return {};
}

Status EncodeError(std::string_view type, std::string_view field, const std::string& problem) {
  return common::InvalidArgument("cannot encode " + std::string(type) + ": field '" +
                                 std::string(field) + "': " + problem);
}

Status DecodeError(std::string_view type, const std::string& what) {
  return common::ProtocolError(std::string(type) + ": " + what);
}

// ---------------------------------------------------------------------------
// Encoder: writes the meta JSON in Fields() order (compact, like json::dump)
// and the payload frames. Stops at the first invalid field.
// ---------------------------------------------------------------------------
template <class T>
class EncodeVisitor {
 public:
  EncodeVisitor(const T& body, std::string_view type) : body_(body), type_(type) {}

  void Str(std::string_view name, std::string T::*member, const StringRule& rule, bool required) {
    if (!status_.ok()) return;
    const std::string& v = body_.*member;
    if (!required && v.empty()) return;  // optional: empty = absent
    if (std::string p = CheckString(v, rule); !p.empty()) return Fail(name, p);
    Key(name);
    meta_ += json(v).dump();
  }

  void Int(std::string_view name, std::int64_t T::*member, const IntRule& rule) {
    if (!status_.ok()) return;
    const std::int64_t v = body_.*member;
    if (std::string p = CheckInt(v, rule); !p.empty()) return Fail(name, p);
    Key(name);
    meta_ += std::to_string(v);
  }

  void Bool(std::string_view name, bool T::*member) {
    if (!status_.ok()) return;
    Key(name);
    meta_ += (body_.*member) ? "true" : "false";
  }

  void StrList(std::string_view name, std::vector<std::string> T::*member, const StringRule& rule,
               const ListRule& list) {
    if (!status_.ok()) return;
    const auto& v = body_.*member;
    if (v.size() > list.max_items) return Fail(name, TooManyItems(v.size(), list));
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (std::string p = CheckString(v[i], rule); !p.empty()) {
        return Fail(name, "item " + std::to_string(i) + ": " + p);
      }
    }
    Key(name);
    meta_ += json(v).dump();
  }

  void IntList(std::string_view name, std::vector<std::int64_t> T::*member, const IntRule& rule,
               const ListRule& list, bool required) {
    if (!status_.ok()) return;
    const auto& v = body_.*member;
    if (!required && v.empty()) return;  // optional: empty = absent
    if (v.size() > list.max_items) return Fail(name, TooManyItems(v.size(), list));
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (std::string p = CheckInt(v[i], rule); !p.empty()) {
        return Fail(name, "item " + std::to_string(i) + ": " + p);
      }
    }
    Key(name);
    meta_ += json(v).dump();
  }

  void Obj(std::string_view name, json T::*member, bool required = true) {
    if (!status_.ok()) return;
    const json& v = body_.*member;
    if (!required && v.is_object() && v.empty()) return;  // optional: empty = absent
    if (std::string p = CheckObject(v, /*check_tree=*/true); !p.empty()) return Fail(name, p);
    Key(name);
    meta_ += v.dump();
  }

  void Arrays(std::string_view name, std::vector<Array> T::*member) {
    if (!status_.ok()) return;
    const auto& arrays = body_.*member;
    if (arrays.size() > kMaxPayloadFrames) {
      return Fail(name, std::to_string(arrays.size()) + " arrays, limit " +
                            std::to_string(kMaxPayloadFrames));
    }
    for (std::size_t i = 0; i < arrays.size(); ++i) {
      const Array& a = arrays[i];
      const std::string index = std::string(name) + "/" + std::to_string(i);
      if (std::string p = CheckName(a.name, kMaxNameBytes); !p.empty()) {
        return FailArray(index + ": name " + p);
      }
      const std::string where = index + " " + Quote(a.name) + ": ";
      for (std::size_t k = 0; k < i; ++k) {
        if (arrays[k].name == a.name) {
          return FailArray(where + "duplicate array name (also " + std::string(name) + "/" +
                           std::to_string(k) + ")");
        }
      }
      if (a.dtype != DType::kF64 && a.dtype != DType::kI64) {
        return FailArray(where + "invalid dtype " + std::to_string(static_cast<int>(a.dtype)));
      }
      std::int64_t count = 0;
      if (std::string p = CheckShape(a.shape, &count); !p.empty()) return FailArray(where + p);
      const bool f64 = a.dtype == DType::kF64;
      const std::size_t have = f64 ? a.f64.size() : a.i64.size();
      const std::size_t other = f64 ? a.i64.size() : a.f64.size();
      if (have != static_cast<std::size_t>(count)) {
        return FailArray(where + "shape " + ShapeString(a.shape) + " needs " +
                         std::to_string(count) + " values, " + std::string(DTypeName(a.dtype)) +
                         " has " + std::to_string(have));
      }
      if (other != 0) {
        return FailArray(where + "dtype is " + std::string(DTypeName(a.dtype)) +
                         " but the other value vector is not empty");
      }
      std::string frame;
      if (f64) {
        if (const std::size_t k = FirstNonFinite(a.f64); k != a.f64.size()) {
          return FailArray(where + "element " + std::to_string(k) + " is " +
                           NonFiniteName(a.f64[k]) + " (f64 values must be finite)");
        }
        PutArray(frame, a.f64);
      } else {
        PutArray(frame, a.i64);
      }
      payload_.push_back(std::move(frame));
      // Descriptor keys in contract order: name, dtype, shape.
      meta_arrays_.push_back("{\"name\":" + json(a.name).dump() + ",\"dtype\":\"" +
                             std::string(DTypeName(a.dtype)) +
                             "\",\"shape\":" + json(a.shape).dump() + "}");
    }
    Key(name);
    meta_ += "[";
    for (std::size_t i = 0; i < meta_arrays_.size(); ++i) {
      if (i != 0) meta_ += ",";
      meta_ += meta_arrays_[i];
    }
    meta_ += "]";
  }

  const Status& status() const { return status_; }
  std::string TakeMeta() { return meta_ + "}"; }
  Frames& payload() { return payload_; }

 private:
  static std::string TooManyItems(std::size_t n, const ListRule& list) {
    return std::to_string(n) + " items, limit " + std::to_string(list.max_items);
  }
  void Fail(std::string_view field, const std::string& problem) {
    status_ = EncodeError(type_, field, problem);
  }
  void FailArray(const std::string& problem) {
    status_ = common::InvalidArgument("cannot encode " + std::string(type_) + ": " + problem);
  }
  void Key(std::string_view name) {
    meta_ += (meta_.size() > 1) ? "," : "";
    meta_ += json(std::string(name)).dump();
    meta_ += ":";
  }

  const T& body_;
  std::string_view type_;
  Status status_;
  std::string meta_ = "{";
  std::vector<std::string> meta_arrays_;
  Frames payload_;
};

// ---------------------------------------------------------------------------
// Decoder: reads and validates every field of T from the meta object and the
// payload frames. Any key Fields() did not name is an unexpected field.
// ---------------------------------------------------------------------------
template <class T>
class DecodeVisitor {
 public:
  DecodeVisitor(const json& meta, const Frames& frames, std::string_view type, T& out)
      : meta_(meta), frames_(frames), type_(type), out_(out) {}

  void Str(std::string_view name, std::string T::*member, const StringRule& rule, bool required) {
    const json* j = Take(name, required);
    if (j == nullptr) return;
    if (!j->is_string()) return Fail(name, "expected a string, got " + Describe(*j));
    const auto& s = j->get_ref<const std::string&>();
    if (std::string p = CheckString(s, rule); !p.empty()) return Fail(name, p);
    out_.*member = s;
  }

  void Int(std::string_view name, std::int64_t T::*member, const IntRule& rule) {
    const json* j = Take(name, true);
    if (j == nullptr) return;
    std::int64_t v = 0;
    if (std::string p = ReadInt(*j, rule, &v); !p.empty()) return Fail(name, p);
    out_.*member = v;
  }

  void Bool(std::string_view name, bool T::*member) {
    const json* j = Take(name, true);
    if (j == nullptr) return;
    if (!j->is_boolean()) return Fail(name, "expected a boolean, got " + Describe(*j));
    out_.*member = j->get<bool>();
  }

  void StrList(std::string_view name, std::vector<std::string> T::*member, const StringRule& rule,
               const ListRule& list) {
    const json* j = Take(name, true);
    if (j == nullptr) return;
    if (!j->is_array()) return Fail(name, "expected an array, got " + Describe(*j));
    if (j->size() > list.max_items) return Fail(name, TooManyItems(j->size(), list));
    std::vector<std::string> v;
    v.reserve(j->size());
    for (std::size_t i = 0; i < j->size(); ++i) {
      const json& item = (*j)[i];
      if (!item.is_string()) {
        return Fail(name,
                    "item " + std::to_string(i) + ": expected a string, got " + Describe(item));
      }
      const auto& s = item.get_ref<const std::string&>();
      if (std::string p = CheckString(s, rule); !p.empty()) {
        return Fail(name, "item " + std::to_string(i) + ": " + p);
      }
      v.push_back(s);
    }
    out_.*member = std::move(v);
  }

  void IntList(std::string_view name, std::vector<std::int64_t> T::*member, const IntRule& rule,
               const ListRule& list, bool required) {
    const json* j = Take(name, required);
    if (j == nullptr) return;
    if (!j->is_array()) return Fail(name, "expected an array, got " + Describe(*j));
    if (j->size() > list.max_items) return Fail(name, TooManyItems(j->size(), list));
    std::vector<std::int64_t> v;
    v.reserve(j->size());
    for (std::size_t i = 0; i < j->size(); ++i) {
      std::int64_t x = 0;
      if (std::string p = ReadInt((*j)[i], rule, &x); !p.empty()) {
        return Fail(name, "item " + std::to_string(i) + ": " + p);
      }
      v.push_back(x);
    }
    out_.*member = std::move(v);
  }

  void Obj(std::string_view name, json T::*member, bool required = true) {
    const json* j = Take(name, required);
    if (j == nullptr) return;
    if (std::string p = CheckObject(*j, /*check_tree=*/false); !p.empty()) return Fail(name, p);
    out_.*member = *j;
  }

  void Arrays(std::string_view name, std::vector<Array> T::*member) {
    has_arrays_ = true;
    const json* j = Take(name, true);
    if (j == nullptr) return;
    if (!j->is_array()) return Fail(name, "expected an array, got " + Describe(*j));
    if (j->size() > kMaxPayloadFrames) {
      return Fail(name, std::to_string(j->size()) + " array descriptors, limit " +
                            std::to_string(kMaxPayloadFrames));
    }
    const std::size_t payload_frames = frames_.size() - 2;
    if (j->size() != payload_frames) {
      return Fail(name, "describes " + std::to_string(j->size()) + " arrays but the message has " +
                            std::to_string(payload_frames) + " payload frames");
    }
    std::vector<Array> arrays(j->size());
    for (std::size_t i = 0; i < j->size(); ++i) {
      std::string p = DecodeArray(name, i, (*j)[i], arrays, &arrays[i]);
      if (!p.empty()) {
        status_ = DecodeError(type_, p);
        return;
      }
    }
    out_.*member = std::move(arrays);
  }

  // Called after Fields(): the checks that need the whole field list.
  Status Finish() {
    if (!status_.ok()) return status_;
    for (const auto& item : meta_.items()) {
      if (std::find(known_.begin(), known_.end(), item.key()) == known_.end()) {
        return DecodeError(type_, "unexpected field " + Quote(item.key()));
      }
    }
    if (!has_arrays_ && frames_.size() > 2) {
      return DecodeError(type_,
                         "this message type carries no payload arrays, but the message has " +
                             std::to_string(frames_.size() - 2) + " payload frames");
    }
    return Status::Ok();
  }

 private:
  static std::string Describe(const json& j) { return JsonKind(j) + " " + Snippet(j); }
  static std::string TooManyItems(std::size_t n, const ListRule& list) {
    return std::to_string(n) + " items, limit " + std::to_string(list.max_items);
  }

  // Marks `name` as a known field and returns its value, or nullptr when it is
  // absent (an error if required) or an earlier field already failed.
  const json* Take(std::string_view name, bool required) {
    known_.push_back(name);
    if (!status_.ok()) return nullptr;
    auto it = meta_.find(std::string(name));
    if (it == meta_.end()) {
      if (required)
        status_ = DecodeError(type_, "missing required field '" + std::string(name) + "'");
      return nullptr;
    }
    return &*it;
  }

  void Fail(std::string_view field, const std::string& problem) {
    status_ = DecodeError(type_, "field '" + std::string(field) + "': " + problem);
  }

  // One array descriptor and its payload frame (2.3). Returns a problem
  // ("arrays/1 'sum_x': ...") or "".
  std::string DecodeArray(std::string_view field, std::size_t i, const json& d,
                          const std::vector<Array>& done, Array* out) {
    std::string where = std::string(field) + "/" + std::to_string(i);
    if (!d.is_object()) return where + ": expected an object, got " + Describe(d);
    for (const auto& item : d.items()) {
      const std::string& k = item.key();
      if (k != "name" && k != "dtype" && k != "shape") {
        return where + ": unexpected key " + Quote(k) + " (a descriptor has name, dtype, shape)";
      }
    }
    for (const char* k : {"name", "dtype", "shape"}) {
      if (!d.contains(k)) return where + ": missing key '" + k + "'";
    }
    const json& jname = *d.find("name");
    if (!jname.is_string()) return where + ": name: expected a string, got " + Describe(jname);
    out->name = jname.get<std::string>();
    if (std::string p = CheckName(out->name, kMaxNameBytes); !p.empty()) {
      return where + ": name " + p;
    }
    where += " " + Quote(out->name);
    for (std::size_t k = 0; k < i; ++k) {
      if (done[k].name == out->name) {
        return where + ": duplicate array name (also " + std::string(field) + "/" +
               std::to_string(k) + ")";
      }
    }
    const json& jdtype = *d.find("dtype");
    if (jdtype.is_string() && jdtype.get_ref<const std::string&>() == "f64") {
      out->dtype = DType::kF64;
    } else if (jdtype.is_string() && jdtype.get_ref<const std::string&>() == "i64") {
      out->dtype = DType::kI64;
    } else {
      return where + ": dtype " + Snippet(jdtype) + " is not \"f64\" or \"i64\"";
    }
    const json& jshape = *d.find("shape");
    if (!jshape.is_array()) return where + ": shape: expected an array, got " + Describe(jshape);
    if (jshape.size() > kMaxArrayDims) {
      return where + ": shape " + Snippet(jshape) + " has " + std::to_string(jshape.size()) +
             " dimensions, limit " + std::to_string(kMaxArrayDims);
    }
    for (std::size_t k = 0; k < jshape.size(); ++k) {
      std::int64_t dim = 0;
      if (std::string p = ReadInt(jshape[k], IntRule{0, kArrayDimLimit - 1}, &dim); !p.empty()) {
        return where + ": shape dimension " + std::to_string(k) + ": " + p;
      }
      out->shape.push_back(dim);
    }
    std::int64_t count = 0;
    if (std::string p = CheckShape(out->shape, &count); !p.empty()) return where + ": " + p;
    // count <= 2^27, so count * 8 cannot overflow.
    const std::size_t need = static_cast<std::size_t>(count) * 8;
    const Frame& frame = frames_[2 + i];
    if (frame.size() != need) {
      return where + ": shape " + ShapeString(out->shape) + " needs " + std::to_string(need) +
             " payload bytes, frame has " + std::to_string(frame.size());
    }
    const auto n = static_cast<std::size_t>(count);
    if (out->dtype == DType::kF64) {
      out->f64.resize(n);
      GetArray(frame, &out->f64);
      if (const std::size_t k = FirstNonFinite(out->f64); k != n) {
        const double v = out->f64[k];
        out->f64.clear();
        return where + ": element " + std::to_string(k) + " is " + NonFiniteName(v) +
               " (f64 values must be finite)";
      }
    } else {
      out->i64.resize(n);
      GetArray(frame, &out->i64);
    }
    return {};
  }

  const json& meta_;
  const Frames& frames_;
  std::string_view type_;
  T& out_;
  Status status_;
  std::vector<std::string_view> known_;
  bool has_arrays_ = false;
};

// Parses the meta frame. Besides JSON syntax it rejects nesting deeper than
// kMaxJsonDepth and duplicate keys in any object (RFC 8259 leaves their
// meaning open; a decoder that silently kept one would be ambiguous). The
// parser itself is iterative, so hostile nesting cannot exhaust the stack.
Status ParseMeta(std::string_view type, std::string_view text, json* out) {
  int depth = 0;
  int max_depth = 0;
  std::vector<std::size_t> key_counts;  // keys seen in each open object
  int duplicate_depth = 0;
  auto callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        key_counts.push_back(0);
        max_depth = std::max(max_depth, ++depth);
        break;
      case json::parse_event_t::array_start:
        max_depth = std::max(max_depth, ++depth);
        break;
      case json::parse_event_t::key:
        if (!key_counts.empty()) ++key_counts.back();
        break;
      case json::parse_event_t::object_end:
        if (!key_counts.empty()) {
          if (parsed.is_object() && parsed.size() != key_counts.back() && duplicate_depth == 0) {
            duplicate_depth = depth;
          }
          key_counts.pop_back();
        }
        --depth;
        break;
      case json::parse_event_t::array_end:
        --depth;
        break;
      case json::parse_event_t::value:
        break;
    }
    return true;
  };
  try {
    *out = json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true);
  } catch (const json::exception& e) {
    // parse_error for syntax, out_of_range (406) for a number too large for
    // a double, e.g. 1e400.
    return DecodeError(type, "meta frame is not valid JSON: " + Sanitize(e.what(), 256));
  }
  if (max_depth > kMaxJsonDepth) {
    return DecodeError(type, "meta JSON nests " + std::to_string(max_depth) +
                                 " levels deep, limit " + std::to_string(kMaxJsonDepth));
  }
  if (duplicate_depth != 0) {
    return DecodeError(type, "meta JSON has a duplicate key in an object at nesting level " +
                                 std::to_string(duplicate_depth));
  }
  if (!out->is_object()) {
    return DecodeError(type, "meta frame is not a JSON object, got " + JsonKind(*out));
  }
  return Status::Ok();
}

template <class T>
Status DecodeBody(const json& meta, const Frames& frames, std::string_view type, Body* body) {
  T value{};
  DecodeVisitor<T> visitor(meta, frames, type, value);
  T::Fields(visitor);
  FEDRAD_RETURN_IF_ERROR(visitor.Finish());
  *body = std::move(value);
  return Status::Ok();
}

// Variant index -> type code (index 0 is std::monostate).
#define FEDRAD_X(S, code, name) \
  , std::uint16_t { code }
constexpr std::uint16_t kCodeByIndex[] = {0 FEDRAD_PROTOCOL_MESSAGES(FEDRAD_X)};
#undef FEDRAD_X

Result<Message> DecodeImpl(const Frames& frames, const DecodeLimits& limits) {
  if (frames.size() < 2) {
    return common::ProtocolError("message has " + std::to_string(frames.size()) +
                                 " frames, expected a header frame and a meta frame");
  }
  std::size_t total = 0;
  for (const Frame& f : frames) {
    total = (f.size() > std::numeric_limits<std::size_t>::max() - total)
                ? std::numeric_limits<std::size_t>::max()
                : total + f.size();
  }
  if (total > limits.max_message_bytes) {
    return common::ResourceExhausted(
        "message is " + std::to_string(total) +
        " bytes, limit max_message_bytes = " + std::to_string(limits.max_message_bytes));
  }
  const std::string_view h = frames[0];
  // The first 8 octets are frozen across majors (2.1), so a peer of another
  // major is recognised even if its header has a different length.
  if (h.size() < 8) {
    return common::ProtocolError("header frame is " + std::to_string(h.size()) +
                                 " bytes, expected " + std::to_string(kHeaderBytes));
  }
  if (!std::equal(kMagic.begin(), kMagic.end(), h.begin())) {
    return common::ProtocolError("bad magic " + Quote(h.substr(0, 4)) + ", expected 'FDRD'");
  }
  Header header;
  header.major = GetU8(h, 4);
  header.minor = GetU8(h, 5);
  header.type = GetU16(h, 6);
  const std::string type_name = MessageTypeName(header.type);
  if (header.major != kProtocolMajor) {
    return common::VersionMismatch(type_name + ": peer speaks protocol " +
                                   std::to_string(header.major) + "." +
                                   std::to_string(header.minor) + ", this build speaks " +
                                   std::to_string(kProtocolMajor) + ".x");
  }
  if (h.size() != kHeaderBytes) {
    return common::ProtocolError("header frame is " + std::to_string(h.size()) +
                                 " bytes, expected " + std::to_string(kHeaderBytes));
  }
  if (!IsKnownType(header.type)) {
    return common::ProtocolError("unknown message type " + Hex(header.type, 4));
  }
  header.flags = GetU16(h, 8);
  header.payload_frames = GetU16(h, 10);
  header.session_id = GetU64(h, 12);
  header.sequence = GetU64(h, 20);
  if (header.flags != 0) {
    return DecodeError(type_name,
                       "header flags are " + Hex(header.flags, 4) + ", must be 0 in protocol 1.x");
  }
  const std::size_t payload_frames = frames.size() - 2;
  if (payload_frames > kMaxPayloadFrames) {
    return DecodeError(type_name, "message has " + std::to_string(payload_frames) +
                                      " payload frames, limit " +
                                      std::to_string(kMaxPayloadFrames));
  }
  if (header.payload_frames != payload_frames) {
    return DecodeError(type_name, "header says " + std::to_string(header.payload_frames) +
                                      " payload frames, message has " +
                                      std::to_string(payload_frames));
  }
  const std::string_view meta_text = frames[1];
  if (meta_text.size() < 2 || meta_text.size() > kMaxMetaBytes) {
    return DecodeError(type_name, "meta frame is " + std::to_string(meta_text.size()) +
                                      " bytes, expected 2.." + std::to_string(kMaxMetaBytes));
  }
  // JSON text never contains a NUL byte (control characters in strings are
  // escaped), but nlohmann's lexer takes one as the end of input: without
  // this check "{}\0<anything>" would decode as "{}".
  if (const auto nul = meta_text.find('\0'); nul != std::string_view::npos) {
    return DecodeError(type_name,
                       "meta frame is not valid JSON: NUL byte at offset " + std::to_string(nul));
  }
  json meta;
  FEDRAD_RETURN_IF_ERROR(ParseMeta(type_name, meta_text, &meta));

  Message message;
  message.header = header;
  Status status;
  switch (header.type) {
#define FEDRAD_X(S, code, name)                                \
  case code:                                                   \
    status = DecodeBody<S>(meta, frames, name, &message.body); \
    break;
    FEDRAD_PROTOCOL_MESSAGES(FEDRAD_X)
#undef FEDRAD_X
    default:
      return common::Internal("unhandled message type " + Hex(header.type, 4));
  }
  FEDRAD_RETURN_IF_ERROR(status);
  return message;
}

template <class T>
Result<Frames> EncodeBody(const Header& in, const T& body, std::uint16_t code,
                          std::string_view type) {
  EncodeVisitor<T> visitor(body, type);
  T::Fields(visitor);
  FEDRAD_RETURN_IF_ERROR(visitor.status());
  std::string meta = visitor.TakeMeta();
  if (meta.size() > kMaxMetaBytes) {
    return common::InvalidArgument("cannot encode " + std::string(type) + ": meta JSON is " +
                                   std::to_string(meta.size()) + " bytes, limit " +
                                   std::to_string(kMaxMetaBytes));
  }
  Frames& payload = visitor.payload();
  Frames frames;
  frames.reserve(2 + payload.size());
  std::string header;
  header.reserve(kHeaderBytes);
  for (char c : kMagic) header.push_back(c);
  PutU8(header, in.major);
  PutU8(header, in.minor);
  PutU16(header, code);
  PutU16(header, 0);  // flags
  PutU16(header, static_cast<std::uint16_t>(payload.size()));
  PutU64(header, in.session_id);
  PutU64(header, in.sequence);
  frames.push_back(std::move(header));
  frames.push_back(std::move(meta));
  for (Frame& f : payload) frames.push_back(std::move(f));
  return frames;
}

}  // namespace

// ---------------------------------------------------------------------------
// Public API.
// ---------------------------------------------------------------------------
std::int64_t Array::ElementCount() const {
  for (std::int64_t d : shape) {
    if (d < 0) return -1;
  }
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (d == 0) return 0;
  }
  for (std::int64_t d : shape) {
    if (n > std::numeric_limits<std::int64_t>::max() / d) return -1;
    n *= d;
  }
  return n;
}

Array Array::F64(std::string name, std::vector<std::int64_t> shape, std::vector<double> values) {
  Array a;
  a.name = std::move(name);
  a.dtype = DType::kF64;
  a.shape = std::move(shape);
  a.f64 = std::move(values);
  return a;
}

Array Array::I64(std::string name, std::vector<std::int64_t> shape,
                 std::vector<std::int64_t> values) {
  Array a;
  a.name = std::move(name);
  a.dtype = DType::kI64;
  a.shape = std::move(shape);
  a.i64 = std::move(values);
  return a;
}

std::string MessageTypeName(std::uint16_t code) {
  switch (code) {
#define FEDRAD_X(S, c, name) \
  case c:                    \
    return name;
    FEDRAD_PROTOCOL_MESSAGES(FEDRAD_X)
#undef FEDRAD_X
    default:
      return "UNKNOWN(" + Hex(code, 4) + ")";
  }
}

std::string_view MessageTypeName(MessageType type) {
  switch (type) {
#define FEDRAD_X(S, c, name) \
  case MessageType::k##S:    \
    return name;
    FEDRAD_PROTOCOL_MESSAGES(FEDRAD_X)
#undef FEDRAD_X
  }
  return "UNKNOWN";
}

MessageType TypeOf(const Body& body) {
  return static_cast<MessageType>(
      kCodeByIndex[body.index() < std::size(kCodeByIndex) ? body.index() : 0]);
}

bool IsKnownType(std::uint16_t code) {
  switch (code) {
#define FEDRAD_X(S, c, name) case c:
    FEDRAD_PROTOCOL_MESSAGES(FEDRAD_X)
#undef FEDRAD_X
    return true;
    default:
      return false;
  }
}

Result<Frames> Encode(const Message& message) {
  if (message.header.flags != 0) {
    return common::InvalidArgument("cannot encode: header flags must be 0 in protocol 1.x, got " +
                                   Hex(message.header.flags, 4));
  }
  try {
    return std::visit(
        [&](const auto& body) -> Result<Frames> {
          using T = std::decay_t<decltype(body)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            return common::Internal("cannot encode an empty message (no body)");
          } else {
            const std::uint16_t code = kCodeByIndex[message.body.index()];
            return EncodeBody<T>(message.header, body, code, MessageTypeName(MessageType{code}));
          }
        },
        message.body);
  } catch (const std::exception& e) {
    return common::Internal(std::string("encoder failed unexpectedly: ") + e.what());
  }
}

Result<Message> Decode(const Frames& frames, const DecodeLimits& limits) {
  try {
    return DecodeImpl(frames, limits);
  } catch (const std::bad_alloc&) {
    return common::ResourceExhausted("out of memory while decoding a message");
  } catch (const std::exception& e) {
    // A bug: every input must be answered with a precise status instead.
    return common::Internal("decoder failed unexpectedly: " + Sanitize(e.what(), 256));
  }
}

Result<HeaderPrefix> PeekHeader(const Frames& frames) {
  if (frames.empty()) return common::ProtocolError("message has no frames");
  const std::string_view h = frames[0];
  if (h.size() < 8) {
    return common::ProtocolError("header frame is " + std::to_string(h.size()) +
                                 " bytes, need at least 8");
  }
  if (!std::equal(kMagic.begin(), kMagic.end(), h.begin())) {
    return common::ProtocolError("bad magic " + Quote(h.substr(0, 4)) + ", expected 'FDRD'");
  }
  HeaderPrefix p;
  p.major = GetU8(h, 4);
  p.minor = GetU8(h, 5);
  p.type = GetU16(h, 6);
  return p;
}

common::Status SequenceGuard::Accept(std::uint64_t sequence, std::uint64_t* gap) {
  if (gap != nullptr) *gap = 0;
  if (sequence <= last_) {
    return common::ProtocolError(std::string(sequence == last_ ? "repeated" : "stale") +
                                 " sequence " + std::to_string(sequence) +
                                 ": the last accepted sequence is " + std::to_string(last_));
  }
  if (gap != nullptr) *gap = sequence - last_ - 1;
  last_ = sequence;
  return Status::Ok();
}

}  // namespace fedrad::protocols

// Strict, typed reading of JSON configuration files.
//
// Config files are read into typed structs with ObjectReader. Every key is
// declared by the code that reads it; a key that nobody declared is an error,
// as is a missing required key, a wrong type or an out-of-range value. Each
// error names the file, the JSON pointer (RFC 6901) of the offending value and
// what was expected, e.g.
//
//   configs/coord.json: /coordinator/heartbeat_interval_ms: expected an
//   integer in [10, 600000], got "fast"
//
// Errors are collected, not thrown: a reader keeps going so that one pass
// reports every problem in the file.
//
//   ErrorList errors("coord.json");
//   ObjectReader root(json, "", &errors);
//   ObjectReader coord = root.Object("coordinator");
//   cfg.bind = coord.String("bind");                      // required
//   cfg.interval = coord.Int("heartbeat_interval_ms", 1000, 10, 600000);
//   coord.Finish(); root.Finish();                        // unknown keys
//   FEDRAD_RETURN_IF_ERROR(errors.ToStatus());
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fedrad/common/status.hpp"

namespace fedrad::common {

// Collects configuration errors for one source (usually a file path).
class ErrorList {
 public:
  explicit ErrorList(std::string source) : source_(std::move(source)) {}
  // Records "<source>: <pointer>: <message>".
  void Add(std::string_view pointer, std::string_view message);
  bool empty() const { return errors_.empty(); }
  const std::vector<std::string>& errors() const { return errors_; }
  const std::string& source() const { return source_; }
  // OK if empty; otherwise kInvalidArgument listing every error, one a line.
  Status ToStatus() const;

 private:
  std::string source_;
  std::vector<std::string> errors_;
};

// Parses a whole file as JSON. Errors name the file, line and column.
Result<nlohmann::json> ReadJsonFile(const std::string& path);
// Parses text as JSON; `source` names where it came from in errors.
Result<nlohmann::json> ParseJson(std::string_view text, const std::string& source);

// Escapes one reference token for a JSON pointer ("~" -> "~0", "/" -> "~1").
std::string JsonPointerAppend(std::string_view pointer, std::string_view key);

// Reads declared keys of one JSON object. If the node is not an object the
// reader records that once and every accessor returns its default.
class ObjectReader {
 public:
  ObjectReader(const nlohmann::json& node, std::string pointer, ErrorList* errors);

  bool Has(std::string_view key) const;  // declares the key as known
  const std::string& pointer() const { return pointer_; }
  ErrorList* errors() const { return errors_; }

  // Required accessors record "missing required key" when absent.
  std::string String(std::string_view key);
  std::string String(std::string_view key, std::string fallback);
  // Strings restricted to a set of choices.
  std::string Choice(std::string_view key, const std::vector<std::string>& choices);
  std::string Choice(std::string_view key, const std::vector<std::string>& choices,
                     std::string fallback);
  int64_t Int(std::string_view key, int64_t min, int64_t max);
  int64_t Int(std::string_view key, int64_t fallback, int64_t min, int64_t max);
  double Number(std::string_view key, double min, double max);
  double Number(std::string_view key, double fallback, double min, double max);
  bool Bool(std::string_view key);
  bool Bool(std::string_view key, bool fallback);
  std::vector<std::string> StringList(std::string_view key);
  std::vector<std::string> StringList(std::string_view key, std::vector<std::string> fallback);

  // Nested object (required / optional). An absent optional object gives a
  // reader over an empty object, so its optional keys take their defaults.
  ObjectReader Object(std::string_view key);
  ObjectReader OptionalObject(std::string_view key);
  // Array of objects; an absent optional array gives no readers.
  std::vector<ObjectReader> ObjectArray(std::string_view key, bool required = true);

  // Raw access for values with their own validation; declares the key.
  const nlohmann::json* Raw(std::string_view key);

  // Records an error at this object's key (pointer + "/" + key).
  void Error(std::string_view key, std::string_view message);
  // Records every key present in the object but never declared.
  void Finish();

 private:
  const nlohmann::json* Find(std::string_view key, bool required);

  const nlohmann::json* node_;
  std::string pointer_;
  ErrorList* errors_;
  mutable std::vector<std::string> known_;  // declared keys (Has() is const)
  bool is_object_ = true;
};

}  // namespace fedrad::common

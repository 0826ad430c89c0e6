#include "fedrad/common/json_reader.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include "fedrad/common/files.hpp"

namespace fedrad::common {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxJsonFileBytes = 16u << 20;  // 16 MiB
constexpr std::size_t kMaxValueEcho = 60;             // longest value quoted in errors

const Json& EmptyObject() {
  static const Json empty = Json::object();
  return empty;
}

// JSON text of a string (quoted and escaped; invalid UTF-8 replaced).
std::string Quote(std::string_view text) {
  return Json(std::string(text)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Short description of a value for "got ..." in error messages.
std::string Describe(const Json& value) {
  if (value.is_object()) return "an object";
  if (value.is_array()) return "an array";
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > kMaxValueEcho) text = text.substr(0, kMaxValueEcho - 3) + "...";
  return text;
}

std::string FormatDouble(double value) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (ec != std::errc()) return std::to_string(value);
  return std::string(buffer, end);
}

std::string JoinQuoted(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += Quote(item);
  }
  return out;
}

// Levenshtein distance, for "did you mean" hints on unknown keys.
std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Tracks the path during parsing to detect duplicate object keys, which
// nlohmann::json would otherwise accept silently (the last one winning).
class DuplicateKeyDetector {
 public:
  bool operator()(int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        BeginElement();
        frames_.push_back(Frame{false, 0, {}, {}});
        break;
      case Json::parse_event_t::array_start:
        BeginElement();
        frames_.push_back(Frame{true, 0, {}, {}});
        break;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        if (!frames_.empty()) frames_.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!frames_.empty() && parsed.is_string()) {
          Frame& frame = frames_.back();
          frame.key = parsed.get<std::string>();
          if (!frame.keys.insert(frame.key).second && !duplicate_) duplicate_ = PointerToKey();
        }
        break;
      case Json::parse_event_t::value:
        BeginElement();
        break;
    }
    return true;
  }

  const std::optional<std::string>& duplicate() const { return duplicate_; }

 private:
  struct Frame {
    bool is_array;
    std::size_t next_index;
    std::string key;
    std::set<std::string> keys;
  };

  void BeginElement() {
    if (!frames_.empty() && frames_.back().is_array) ++frames_.back().next_index;
  }

  std::string PointerToKey() const {
    std::string pointer;
    for (const Frame& frame : frames_) {
      pointer = JsonPointerAppend(
          pointer, frame.is_array ? std::to_string(frame.next_index - 1) : frame.key);
    }
    return pointer;
  }

  std::vector<Frame> frames_;
  std::optional<std::string> duplicate_;
};

// The description part of a nlohmann parse_error message, without the
// "[json.exception.parse_error.101] parse error at line 1, column 2: " prefix.
std::string ParseErrorDescription(const char* what) {
  std::string_view text(what);
  const std::size_t start = text.find("parse error");
  if (start != std::string_view::npos) {
    const std::size_t colon = text.find(": ", start);
    if (colon != std::string_view::npos) return std::string(text.substr(colon + 2));
  }
  return std::string(text);
}

}  // namespace

// ---------------------------------------------------------------------------
// ErrorList

void ErrorList::Add(std::string_view pointer, std::string_view message) {
  std::string line = source_;
  line += ": ";
  if (!pointer.empty()) {
    line += pointer;
    line += ": ";
  }
  line += message;
  errors_.push_back(std::move(line));
}

Status ErrorList::ToStatus() const {
  if (errors_.empty()) return Status::Ok();
  std::string message = source_ + ": " + std::to_string(errors_.size()) + " configuration " +
                        (errors_.size() == 1 ? "error:" : "errors:");
  for (const auto& error : errors_) {
    message += "\n  ";
    message += error;
  }
  return InvalidArgument(std::move(message));
}

// ---------------------------------------------------------------------------
// Parsing

Result<nlohmann::json> ParseJson(std::string_view text, const std::string& source) {
  DuplicateKeyDetector detector;
  Json parsed;
  try {
    parsed = Json::parse(text.begin(), text.end(), std::ref(detector));
  } catch (const Json::parse_error& e) {
    // e.byte is the 1-based index of the last character read (size + 1 at
    // end of input); the error is at that character.
    std::size_t offset = e.byte == 0 ? 0 : e.byte - 1;
    offset = std::min(offset, text.size());
    std::size_t line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < offset; ++i) {
      if (text[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    }
    const std::size_t column = offset - line_start + 1;
    return ParseError(source + ": line " + std::to_string(line) + ", column " +
                      std::to_string(column) +
                      ": invalid JSON: " + ParseErrorDescription(e.what()));
  }
  if (detector.duplicate()) {
    return ParseError(source + ": " + *detector.duplicate() +
                      ": duplicate key (each key may appear only once in an object)");
  }
  return parsed;
}

Result<nlohmann::json> ReadJsonFile(const std::string& path) {
  FEDRAD_ASSIGN_OR_RETURN(std::string text, ReadFile(path, kMaxJsonFileBytes));
  return ParseJson(text, path);
}

std::string JsonPointerAppend(std::string_view pointer, std::string_view key) {
  std::string out(pointer);
  out.reserve(pointer.size() + key.size() + 1);
  out += '/';
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// ObjectReader

ObjectReader::ObjectReader(const nlohmann::json& node, std::string pointer, ErrorList* errors)
    : node_(&node), pointer_(std::move(pointer)), errors_(errors) {
  if (!node_->is_object()) {
    is_object_ = false;
    errors_->Add(pointer_, "expected an object, got " + Describe(*node_));
  }
}

bool ObjectReader::Has(std::string_view key) const {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
  return is_object_ && node_->contains(key);
}

const nlohmann::json* ObjectReader::Find(std::string_view key, bool required) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
  if (!is_object_) return nullptr;
  auto it = node_->find(key);
  if (it == node_->end()) {
    if (required) Error(key, "missing required key");
    return nullptr;
  }
  return &*it;
}

const nlohmann::json* ObjectReader::Raw(std::string_view key) { return Find(key, false); }

void ObjectReader::Error(std::string_view key, std::string_view message) {
  errors_->Add(JsonPointerAppend(pointer_, key), message);
}

std::string ObjectReader::String(std::string_view key) {
  const Json* value = Find(key, true);
  if (value == nullptr) return {};
  if (!value->is_string()) {
    Error(key, "expected a string, got " + Describe(*value));
    return {};
  }
  return value->get<std::string>();
}

std::string ObjectReader::String(std::string_view key, std::string fallback) {
  const Json* value = Find(key, false);
  if (value == nullptr) return fallback;
  if (!value->is_string()) {
    Error(key, "expected a string, got " + Describe(*value));
    return fallback;
  }
  return value->get<std::string>();
}

namespace {

// Shared by both Choice overloads: nullopt if the value is bad (error recorded).
std::optional<std::string> CheckChoice(ObjectReader& reader, std::string_view key,
                                       const Json& value, const std::vector<std::string>& choices) {
  if (value.is_string()) {
    std::string text = value.get<std::string>();
    if (std::find(choices.begin(), choices.end(), text) != choices.end()) return text;
  }
  reader.Error(key, "expected one of " + JoinQuoted(choices) + ", got " + Describe(value));
  return std::nullopt;
}

}  // namespace

std::string ObjectReader::Choice(std::string_view key, const std::vector<std::string>& choices) {
  const Json* value = Find(key, true);
  if (value == nullptr) return {};
  return CheckChoice(*this, key, *value, choices).value_or(std::string());
}

std::string ObjectReader::Choice(std::string_view key, const std::vector<std::string>& choices,
                                 std::string fallback) {
  const Json* value = Find(key, false);
  if (value == nullptr) return fallback;
  auto checked = CheckChoice(*this, key, *value, choices);
  return checked ? std::move(*checked) : std::move(fallback);
}

namespace {

std::optional<int64_t> CheckInt(ObjectReader& reader, std::string_view key, const Json& value,
                                int64_t min, int64_t max) {
  std::optional<int64_t> number;
  if (value.is_number_integer() && !value.is_number_unsigned()) {
    number = value.get<int64_t>();
  } else if (value.is_number_unsigned()) {
    const uint64_t u = value.get<uint64_t>();
    if (u <= static_cast<uint64_t>(INT64_MAX)) number = static_cast<int64_t>(u);
  }
  if (number && *number >= min && *number <= max) return number;
  reader.Error(key, "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                        "], got " + Describe(value));
  return std::nullopt;
}

std::optional<double> CheckNumber(ObjectReader& reader, std::string_view key, const Json& value,
                                  double min, double max) {
  if (value.is_number()) {
    const double number = value.get<double>();
    if (number >= min && number <= max) return number;
  }
  reader.Error(key, "expected a number in [" + FormatDouble(min) + ", " + FormatDouble(max) +
                        "], got " + Describe(value));
  return std::nullopt;
}

}  // namespace

int64_t ObjectReader::Int(std::string_view key, int64_t min, int64_t max) {
  const int64_t neutral = std::clamp<int64_t>(0, min, std::max(min, max));
  const Json* value = Find(key, true);
  if (value == nullptr) return neutral;
  return CheckInt(*this, key, *value, min, max).value_or(neutral);
}

int64_t ObjectReader::Int(std::string_view key, int64_t fallback, int64_t min, int64_t max) {
  const Json* value = Find(key, false);
  if (value == nullptr) return fallback;
  return CheckInt(*this, key, *value, min, max).value_or(fallback);
}

double ObjectReader::Number(std::string_view key, double min, double max) {
  const double neutral = std::clamp(0.0, min, std::max(min, max));
  const Json* value = Find(key, true);
  if (value == nullptr) return neutral;
  return CheckNumber(*this, key, *value, min, max).value_or(neutral);
}

double ObjectReader::Number(std::string_view key, double fallback, double min, double max) {
  const Json* value = Find(key, false);
  if (value == nullptr) return fallback;
  return CheckNumber(*this, key, *value, min, max).value_or(fallback);
}

bool ObjectReader::Bool(std::string_view key) {
  const Json* value = Find(key, true);
  if (value == nullptr) return false;
  if (!value->is_boolean()) {
    Error(key, "expected true or false, got " + Describe(*value));
    return false;
  }
  return value->get<bool>();
}

bool ObjectReader::Bool(std::string_view key, bool fallback) {
  const Json* value = Find(key, false);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) {
    Error(key, "expected true or false, got " + Describe(*value));
    return fallback;
  }
  return value->get<bool>();
}

namespace {

// Reads an array of strings; errors for the array or for single elements.
std::optional<std::vector<std::string>> CheckStringList(ObjectReader& reader, std::string_view key,
                                                        const Json& value) {
  if (!value.is_array()) {
    reader.Error(key, "expected an array of strings, got " + Describe(value));
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const Json& element = value[i];
    if (!element.is_string()) {
      reader.errors()->Add(
          JsonPointerAppend(JsonPointerAppend(reader.pointer(), key), std::to_string(i)),
          "expected a string, got " + Describe(element));
      ok = false;
      continue;
    }
    out.push_back(element.get<std::string>());
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace

std::vector<std::string> ObjectReader::StringList(std::string_view key) {
  const Json* value = Find(key, true);
  if (value == nullptr) return {};
  return CheckStringList(*this, key, *value).value_or(std::vector<std::string>());
}

std::vector<std::string> ObjectReader::StringList(std::string_view key,
                                                  std::vector<std::string> fallback) {
  const Json* value = Find(key, false);
  if (value == nullptr) return fallback;
  auto checked = CheckStringList(*this, key, *value);
  return checked ? std::move(*checked) : std::move(fallback);
}

ObjectReader ObjectReader::Object(std::string_view key) {
  const Json* value = Find(key, true);
  if (value == nullptr) {
    // Missing (already reported) or this reader is not over an object: the
    // child reads nothing and reports nothing more.
    ObjectReader child(EmptyObject(), JsonPointerAppend(pointer_, key), errors_);
    child.is_object_ = false;
    return child;
  }
  return ObjectReader(*value, JsonPointerAppend(pointer_, key), errors_);
}

ObjectReader ObjectReader::OptionalObject(std::string_view key) {
  const Json* value = Find(key, false);
  if (value == nullptr) {
    ObjectReader child(EmptyObject(), JsonPointerAppend(pointer_, key), errors_);
    child.is_object_ = is_object_;  // defaults apply; silent if this reader is
    return child;
  }
  return ObjectReader(*value, JsonPointerAppend(pointer_, key), errors_);
}

std::vector<ObjectReader> ObjectReader::ObjectArray(std::string_view key, bool required) {
  std::vector<ObjectReader> readers;
  const Json* value = Find(key, required);
  if (value == nullptr) return readers;
  const std::string array_pointer = JsonPointerAppend(pointer_, key);
  if (!value->is_array()) {
    errors_->Add(array_pointer, "expected an array of objects, got " + Describe(*value));
    return readers;
  }
  for (std::size_t i = 0; i < value->size(); ++i) {
    const Json& element = (*value)[i];
    const std::string element_pointer = JsonPointerAppend(array_pointer, std::to_string(i));
    if (!element.is_object()) {
      // Reported here and skipped, so callers never see a half-read element.
      errors_->Add(element_pointer, "expected an object, got " + Describe(element));
      continue;
    }
    readers.emplace_back(element, element_pointer, errors_);
  }
  return readers;
}

void ObjectReader::Finish() {
  if (!is_object_) return;
  std::string allowed;
  for (const auto& key : known_) {
    if (!allowed.empty()) allowed += ", ";
    allowed += key;
  }
  for (const auto& [key, value] : node_->items()) {
    if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
    std::string message = "unknown key " + Quote(key);
    if (known_.empty()) {
      message += " (this object takes no keys)";
    } else {
      message += " (allowed: " + allowed + ")";
      // Suggest the closest declared key if it is close: at most a third of
      // the shorter key's length (at least one edit) away.
      const std::string* best = nullptr;
      std::size_t best_distance = SIZE_MAX;
      for (const auto& candidate : known_) {
        const std::size_t d = EditDistance(key, candidate);
        const std::size_t limit =
            std::max<std::size_t>(1, std::min(key.size(), candidate.size()) / 3);
        if (d <= limit && d < best_distance) {
          best_distance = d;
          best = &candidate;
        }
      }
      if (best != nullptr) message += "; did you mean " + Quote(*best) + "?";
    }
    Error(key, message);
  }
}

}  // namespace fedrad::common

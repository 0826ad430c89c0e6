#include "fedrad/common/logging.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

#include "errno_status.hpp"

namespace fedrad::common {
namespace {

struct LoggerState {
  std::mutex mutex;
  std::atomic<int> level{static_cast<int>(LogLevel::kInfo)};
  LogFormat format = LogFormat::kHuman;  // guarded by mutex
  int fd = STDERR_FILENO;                // guarded by mutex
  bool owns_fd = false;                  // guarded by mutex
};

LoggerState& State() {
  static LoggerState* state = new LoggerState();  // never destroyed: usable during exit
  return *state;
}

// "2026-11-27T01:42:02.123Z"
std::string Timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto since_epoch = now.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
  const std::time_t t = static_cast<std::time_t>(seconds.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[96];  // ample for any int fields (silences -Wformat-truncation)
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buffer;
}

std::string_view HumanLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "TRACE";
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO ";
    case LogLevel::kWarn:
      return "WARN ";
    case LogLevel::kError:
      return "ERROR";
    case LogLevel::kOff:
      return "OFF  ";
  }
  return "?????";
}

// Appends text with control characters escaped, so one record stays one line.
void AppendEscaped(std::string& out, std::string_view text, bool in_quotes) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    } else if (in_quotes && (c == '"' || c == '\\')) {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
}

bool NeedsQuotes(std::string_view value) {
  if (value.empty()) return true;
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (c == ' ' || c == '"' || c == '\\' || c == '=' || u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

std::string JsonString(std::string_view text) {
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

template <typename Fields>
std::string FormatHuman(LogLevel level, std::string_view component, std::string_view message,
                        const Fields& fields) {
  std::string line = Timestamp();
  line += ' ';
  line += HumanLevel(level);
  line += ' ';
  AppendEscaped(line, component, false);
  line += ": ";
  AppendEscaped(line, message, false);
  for (const auto& [key, value] : fields) {
    line += ' ';
    AppendEscaped(line, key, false);
    line += '=';
    if (NeedsQuotes(value)) {
      line += '"';
      AppendEscaped(line, value, true);
      line += '"';
    } else {
      line += value;
    }
  }
  line += '\n';
  return line;
}

template <typename Fields>
std::string FormatJson(LogLevel level, std::string_view component, std::string_view message,
                       const Fields& fields) {
  std::string line = "{\"ts\":\"" + Timestamp() + "\",\"level\":";
  line += JsonString(LogLevelName(level));
  line += ",\"component\":";
  line += JsonString(component);
  line += ",\"msg\":";
  line += JsonString(message);
  for (const auto& [key, value] : fields) {
    // A field may not shadow the record's own members.
    const bool reserved = key == "ts" || key == "level" || key == "component" || key == "msg";
    line += ',';
    line += JsonString(reserved ? "field_" + key : key);
    line += ':';
    line += JsonString(value);
  }
  line += "}\n";
  return line;
}

template <typename Fields>
void LogImpl(LogLevel level, std::string_view component, std::string_view message,
             const Fields& fields) {
  if (!LogEnabled(level)) return;
  LoggerState& state = State();
  std::lock_guard<std::mutex> lock(state.mutex);
  const std::string line = state.format == LogFormat::kJson
                               ? FormatJson(level, component, message, fields)
                               : FormatHuman(level, component, message, fields);
  // One write() per record; the mutex keeps this process's records whole and
  // O_APPEND keeps them whole next to other writers of the same file.
  (void)internal::WriteAll(state.fd, line.data(), line.size());
}

}  // namespace

Result<LogLevel> ParseLogLevel(std::string_view name) {
  if (name == "trace") return LogLevel::kTrace;
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warn" || name == "warning") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  if (name == "off") return LogLevel::kOff;
  return InvalidArgument("unknown log level " + JsonString(name) +
                         " (expected one of: trace, debug, info, warn, error, off)");
}

Result<LogFormat> ParseLogFormat(std::string_view name) {
  if (name == "human") return LogFormat::kHuman;
  if (name == "json") return LogFormat::kJson;
  return InvalidArgument("unknown log format " + JsonString(name) +
                         " (expected one of: human, json)");
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
    case LogLevel::kOff:
      return "off";
  }
  return "unknown";
}

Status ConfigureLogging(const LogOptions& options) {
  int fd = STDERR_FILENO;
  bool owns_fd = false;
  if (!options.file.empty()) {
    fd = ::open(options.file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
      return internal::ErrnoStatus(errno, "cannot open log file " + options.file);
    }
    owns_fd = true;
  }
  LoggerState& state = State();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (state.owns_fd) ::close(state.fd);
  state.fd = fd;
  state.owns_fd = owns_fd;
  state.format = options.format;
  state.level.store(static_cast<int>(options.level), std::memory_order_relaxed);
  return Status::Ok();
}

bool LogEnabled(LogLevel level) {
  if (level == LogLevel::kOff) return false;
  return static_cast<int>(level) >= State().level.load(std::memory_order_relaxed);
}

void Log(LogLevel level, std::string_view component, std::string_view message,
         std::initializer_list<LogField> fields) {
  LogImpl(level, component, message, fields);
}

void Log(LogLevel level, std::string_view component, std::string_view message,
         const std::vector<LogField>& fields) {
  LogImpl(level, component, message, fields);
}

}  // namespace fedrad::common

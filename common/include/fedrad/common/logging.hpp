// Logger with levels and two output formats.
//
// Human format (default, for terminals):
//   2026-11-27T01:42:02.123Z INFO  coordinator: site admitted site=site_a session=7f3a
// JSON-lines format (for log shippers): one object per line
//   {"ts":"2026-11-27T01:42:02.123Z","level":"info","component":"coordinator",
//    "msg":"site admitted","site":"site_a","session":"7f3a"}
//
// The logger is process-wide and thread-safe. Output goes to stderr unless a
// file is configured (opened for append).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fedrad/common/status.hpp"

namespace fedrad::common {

enum class LogLevel { kTrace = 0, kDebug, kInfo, kWarn, kError, kOff };
enum class LogFormat { kHuman, kJson };

// "trace", "debug", "info", "warn", "error", "off".
Result<LogLevel> ParseLogLevel(std::string_view name);
Result<LogFormat> ParseLogFormat(std::string_view name);  // "human" | "json"
std::string_view LogLevelName(LogLevel level);

struct LogOptions {
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kHuman;
  std::string file;  // empty: stderr
};

using LogField = std::pair<std::string, std::string>;

// Configures the process-wide logger. Fails if the file cannot be opened.
Status ConfigureLogging(const LogOptions& options);

bool LogEnabled(LogLevel level);
// Writes one record (a single write, so lines never interleave).
void Log(LogLevel level, std::string_view component, std::string_view message,
         std::initializer_list<LogField> fields = {});
void Log(LogLevel level, std::string_view component, std::string_view message,
         const std::vector<LogField>& fields);

}  // namespace fedrad::common

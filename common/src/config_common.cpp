#include "fedrad/common/config_common.hpp"

#include <filesystem>

namespace fedrad::common {

std::string ResolveConfigPath(const std::string& config_file, const std::string& path) {
  if (path.empty()) return path;
  std::filesystem::path p(path);
  if (p.is_absolute()) return path;
  return (std::filesystem::path(config_file).parent_path() / p).lexically_normal().string();
}

LogOptions ReadLogSection(ObjectReader& parent, const std::string& config_file) {
  LogOptions options;
  ObjectReader log = parent.OptionalObject("log");
  const std::string level =
      log.Choice("level", {"trace", "debug", "info", "warn", "error", "off"}, "info");
  const std::string format = log.Choice("format", {"human", "json"}, "human");
  options.file = ResolveConfigPath(config_file, log.String("file", ""));
  log.Finish();
  if (auto parsed = ParseLogLevel(level); parsed.ok()) options.level = *parsed;
  if (auto parsed = ParseLogFormat(format); parsed.ok()) options.format = *parsed;
  return options;
}

}  // namespace fedrad::common

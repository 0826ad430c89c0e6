// Pieces shared by every fedrad config file.
#pragma once

#include <string>

#include "fedrad/common/json_reader.hpp"
#include "fedrad/common/logging.hpp"

namespace fedrad::common {

// Resolves `path` against the directory of `config_file` unless it is
// absolute or empty.
std::string ResolveConfigPath(const std::string& config_file, const std::string& path);

// Reads an optional "log" section: {"level": "info", "format": "human",
// "file": ""} (file relative to the config file; empty = stderr).
LogOptions ReadLogSection(ObjectReader& parent, const std::string& config_file);

}  // namespace fedrad::common

// Small file helpers with Status errors that name the path.
#pragma once

#include <string>
#include <string_view>

#include "fedrad/common/status.hpp"

namespace fedrad::common {

// Reads a whole file (refuses files larger than max_bytes).
Result<std::string> ReadFile(const std::string& path, std::size_t max_bytes = 64u << 20);

// Writes a file atomically: writes "<path>.tmp.<pid>", fsyncs, renames over
// `path`, fsyncs the directory. The old content survives any failure.
Status WriteFileAtomic(const std::string& path, std::string_view content, unsigned mode = 0644);

// Creates a new file that must not exist yet (O_CREAT|O_EXCL) with `mode`,
// writes and fsyncs it. Never overwrites: kAlreadyExists if present.
Status WriteNewFile(const std::string& path, std::string_view content, unsigned mode);

}  // namespace fedrad::common

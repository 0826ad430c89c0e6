// SHA-256 (libsodium) as lower-case hex: file provenance in feature tables,
// payload hashes in the audit trail.
#pragma once

#include <string>
#include <string_view>

#include "fedrad/common/status.hpp"

namespace fedrad::common {

// SHA-256 of `bytes`, 64 lower-case hex characters. InitSodium() first.
std::string Sha256Hex(std::string_view bytes);

// SHA-256 of a file's content, streamed (any size). Errors name the path.
Result<std::string> Sha256File(const std::string& path);

}  // namespace fedrad::common

// libsodium initialisation: call once before any crypto (idempotent,
// thread-safe). Fails if libsodium cannot initialise (no entropy source).
#pragma once

#include "fedrad/common/status.hpp"

namespace fedrad::common {

Status InitSodium();

}  // namespace fedrad::common

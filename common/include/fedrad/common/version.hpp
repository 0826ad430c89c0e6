// The fedrad software version (from CMake's project() call).
#pragma once

#include <string_view>

namespace fedrad::common {

// Semantic version of this build, e.g. "0.1.0".
std::string_view Version();

}  // namespace fedrad::common

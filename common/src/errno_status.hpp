// Private helpers (not installed): turning errno into a Status, and small
// POSIX wrappers shared by files.cpp and keys.cpp.
#pragma once

#include <cerrno>
#include <string>
#include <string_view>
#include <system_error>

#include "fedrad/common/status.hpp"

namespace fedrad::common::internal {

// Text for an errno value (thread-safe, unlike strerror()).
inline std::string ErrnoText(int err) { return std::generic_category().message(err); }

// "<what>: <errno text>" with a code that matches the errno value.
inline Status ErrnoStatus(int err, std::string_view what) {
  std::string message(what);
  message += ": ";
  message += ErrnoText(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return NotFound(std::move(message));
    case EACCES:
    case EPERM:
    case EROFS:
      return PermissionDenied(std::move(message));
    case EEXIST:
      return AlreadyExists(std::move(message));
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return ResourceExhausted(std::move(message));
    default:
      return IoError(std::move(message));
  }
}

// The directory holding `path` ("." for a bare file name).
std::string ParentDirectory(const std::string& path);

// fsyncs a directory so that a rename or a new entry in it is durable.
Status SyncDirectory(const std::string& dir);

// Writes all of `data` to `fd` (retries on EINTR and short writes).
// Returns 0 or the errno value of the failure.
int WriteAll(int fd, const void* data, std::size_t size);

}  // namespace fedrad::common::internal

#include "fedrad/common/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "errno_status.hpp"

namespace fedrad::common {
namespace internal {

std::string ParentDirectory(const std::string& path) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? std::string(".") : parent;
}

Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, dir + ": cannot open directory to sync it");
  int err = 0;
  if (::fsync(fd) != 0 && errno != EINVAL) err = errno;  // some filesystems refuse dir fsync
  ::close(fd);
  if (err != 0) return ErrnoStatus(err, dir + ": fsync of directory failed");
  return Status::Ok();
}

int WriteAll(int fd, const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return 0;
}

}  // namespace internal

using internal::ErrnoStatus;

Result<std::string> ReadFile(const std::string& path, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, path + ": cannot open for reading");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoStatus(err, path + ": cannot stat");
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return InvalidArgument(path + ": is a directory, expected a file");
  }
  if (S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return ResourceExhausted(path + ": file is " + std::to_string(st.st_size) +
                             " bytes, larger than the limit of " + std::to_string(max_bytes) +
                             " bytes");
  }
  std::string content;
  if (S_ISREG(st.st_mode)) content.reserve(static_cast<std::size_t>(st.st_size));
  char chunk[65536];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return ErrnoStatus(err, path + ": read failed");
    }
    if (n == 0) break;
    if (content.size() + static_cast<std::size_t>(n) > max_bytes) {
      ::close(fd);
      return ResourceExhausted(path + ": file is larger than the limit of " +
                               std::to_string(max_bytes) + " bytes");
    }
    content.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return content;
}

Status WriteFileAtomic(const std::string& path, std::string_view content, unsigned mode) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  // A stale temporary from an earlier crash of a process with the same pid is
  // removed; O_EXCL|O_NOFOLLOW then guarantees we write a fresh regular file.
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        static_cast<mode_t>(mode & 07777));
  if (fd < 0) return ErrnoStatus(errno, tmp + ": cannot create temporary file");
  auto fail = [&](int err, const std::string& what) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, what);
  };
  if (::fchmod(fd, static_cast<mode_t>(mode & 07777)) != 0) {
    return fail(errno, tmp + ": cannot set mode");
  }
  if (int err = internal::WriteAll(fd, content.data(), content.size()); err != 0) {
    return fail(err, tmp + ": write failed");
  }
  if (::fsync(fd) != 0) return fail(errno, tmp + ": fsync failed");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, tmp + ": close failed");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, path + ": cannot rename " + tmp + " over it");
  }
  return internal::SyncDirectory(internal::ParentDirectory(path));
}

Status WriteNewFile(const std::string& path, std::string_view content, unsigned mode) {
  // The creation mode is filtered by the umask, so the file is never more
  // permissive than `mode`; fchmod then sets exactly `mode`.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        static_cast<mode_t>(mode & 07777));
  if (fd < 0) {
    const int err = errno;
    if (err == EEXIST) return AlreadyExists(path + ": already exists; refusing to overwrite it");
    return ErrnoStatus(err, path + ": cannot create");
  }
  auto fail = [&](int err, const std::string& what) {
    ::close(fd);
    ::unlink(path.c_str());  // never leave a partial file behind
    return ErrnoStatus(err, what);
  };
  if (::fchmod(fd, static_cast<mode_t>(mode & 07777)) != 0) {
    return fail(errno, path + ": cannot set mode");
  }
  if (int err = internal::WriteAll(fd, content.data(), content.size()); err != 0) {
    return fail(err, path + ": write failed");
  }
  if (::fsync(fd) != 0) return fail(errno, path + ": fsync failed");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(path.c_str());
    return ErrnoStatus(err, path + ": close failed");
  }
  return internal::SyncDirectory(internal::ParentDirectory(path));
}

}  // namespace fedrad::common

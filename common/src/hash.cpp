#include "fedrad/common/hash.hpp"

#include <sodium.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "fedrad/common/sodium_init.hpp"

namespace fedrad::common {
namespace {

std::string ToHex(const unsigned char* digest) {
  std::array<char, crypto_hash_sha256_BYTES * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), digest, crypto_hash_sha256_BYTES);
  return std::string(hex.data(), crypto_hash_sha256_BYTES * 2);
}

}  // namespace

std::string Sha256Hex(std::string_view bytes) {
  (void)InitSodium();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return ToHex(digest);
}

Result<std::string> Sha256File(const std::string& path) {
  FEDRAD_RETURN_IF_ERROR(InitSodium());
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) {
    const int err = errno;
    return Status(err == ENOENT ? StatusCode::kNotFound : StatusCode::kIoError,
                  path + ": cannot open for hashing: " + std::strerror(err));
  }
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  std::array<unsigned char, 1 << 16> buffer{};
  while (true) {
    const std::size_t got = std::fread(buffer.data(), 1, buffer.size(), file.get());
    if (got > 0) crypto_hash_sha256_update(&state, buffer.data(), got);
    if (got < buffer.size()) {
      if (std::ferror(file.get()) != 0) return IoError(path + ": read error while hashing");
      break;
    }
  }
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  return ToHex(digest);
}

}  // namespace fedrad::common

#include "fedrad/common/hash.hpp"

#include <openssl/evp.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>

namespace fedrad::common {
namespace {

constexpr std::size_t kSha256Bytes = 32;

// The SHA-256 implementation, fetched once (an implicit fetch per
// EVP_DigestInit_ex would take a lock and a lookup for every digest).
const EVP_MD* Sha256Md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) throw std::runtime_error("libcrypto: SHA256 is not available");
  return md;
}

std::string ToHex(const unsigned char* digest, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(2 * size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    hex[2 * i] = kDigits[digest[i] >> 4];
    hex[2 * i + 1] = kDigits[digest[i] & 0x0f];
  }
  return hex;
}

}  // namespace

void Sha256Hasher::Free::operator()(evp_md_ctx_st* ctx) const { EVP_MD_CTX_free(ctx); }

Sha256Hasher::Sha256Hasher() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_) throw std::bad_alloc();
  if (EVP_DigestInit_ex(ctx_.get(), Sha256Md(), nullptr) != 1) {
    throw std::runtime_error("libcrypto: EVP_DigestInit_ex(SHA256) failed");
  }
}

Sha256Hasher::~Sha256Hasher() = default;

void Sha256Hasher::Update(std::string_view bytes) {
  if (bytes.empty()) return;
  if (EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()) != 1) {
    throw std::runtime_error("libcrypto: EVP_DigestUpdate(SHA256) failed");
  }
}

std::string Sha256Hasher::FinalHex() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), digest.data(), &size) != 1 || size != kSha256Bytes) {
    throw std::runtime_error("libcrypto: EVP_DigestFinal_ex(SHA256) failed");
  }
  return ToHex(digest.data(), size);
}

std::string Sha256Hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, Sha256Md(), nullptr) != 1 ||
      size != kSha256Bytes) {
    throw std::runtime_error("libcrypto: EVP_Digest(SHA256) failed");
  }
  return ToHex(digest.data(), size);
}

Result<std::string> Sha256File(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) {
    const int err = errno;
    return Status(err == ENOENT ? StatusCode::kNotFound : StatusCode::kIoError,
                  path + ": cannot open for hashing: " + std::strerror(err));
  }
  Sha256Hasher hasher;
  std::array<char, 1 << 16> buffer{};
  while (true) {
    const std::size_t got = std::fread(buffer.data(), 1, buffer.size(), file.get());
    if (got > 0) hasher.Update(std::string_view(buffer.data(), got));
    if (got < buffer.size()) {
      if (std::ferror(file.get()) != 0) return IoError(path + ": read error while hashing");
      break;
    }
  }
  return hasher.FinalHex();
}

}  // namespace fedrad::common

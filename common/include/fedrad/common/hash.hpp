// SHA-256 as lower-case hex: file provenance in feature tables, payload hashes
// in the audit trail, the audit log's hash chain.
//
// Backend: OpenSSL's libcrypto (EVP), which uses the CPU's SHA extensions
// (x86 SHA-NI, ARMv8 SHA2) where present; on a message of tens of MiB that is
// several times faster than libsodium's portable code. It is the same function
// (FIPS 180-4), so every digest is bit-identical to crypto_hash_sha256's;
// tests/unit/hash_backend_test.cpp checks that against libsodium.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "fedrad/common/status.hpp"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace fedrad::common {

// SHA-256 of `bytes`, 64 lower-case hex characters.
std::string Sha256Hex(std::string_view bytes);

// SHA-256 of a file's content, streamed (any size). Errors name the path.
Result<std::string> Sha256File(const std::string& path);

// Incremental SHA-256: Update() any number of times, then FinalHex() once.
// Not thread-safe (one hasher per thread). A failure inside libcrypto (out of
// memory) is a broken invariant and throws.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(std::string_view bytes);
  // The digest as 64 lower-case hex characters; the hasher is spent after it.
  std::string FinalHex();

 private:
  struct Free {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, Free> ctx_;
};

}  // namespace fedrad::common

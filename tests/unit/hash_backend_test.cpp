// SHA-256 backend (OpenSSL libcrypto) against an independent implementation,
// libsodium's crypto_hash_sha256: same digests for Sha256Hex, the incremental
// hasher fed in uneven pieces, and the audit trail's payload hash.
#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "fedrad/common/audit_log.hpp"
#include "fedrad/common/hash.hpp"
#include "fedrad/common/sodium_init.hpp"

namespace fedrad::common {
namespace {

std::string SodiumHex(const unsigned char* digest) {
  std::array<char, 2 * crypto_hash_sha256_BYTES + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), digest, crypto_hash_sha256_BYTES);
  return std::string(hex.data(), 2 * crypto_hash_sha256_BYTES);
}

std::string SodiumSha256(const std::string& bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return SodiumHex(digest);
}

std::string Pseudorandom(std::size_t n, std::uint32_t seed) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    out[i] = static_cast<char>(seed >> 24);
  }
  return out;
}

TEST(HashBackendTest, Sha256HexMatchesLibsodiumAtBlockBoundaries) {
  ASSERT_TRUE(InitSodium().ok());
  // 55/56/64 straddle SHA-256's one-block padding limit; 1 MiB + 3 is bulk.
  for (std::size_t n : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 119u, 120u, 1000u, (1u << 20) + 3u}) {
    const std::string bytes = Pseudorandom(n, static_cast<std::uint32_t>(n) + 7u);
    EXPECT_EQ(Sha256Hex(bytes), SodiumSha256(bytes)) << "length " << n;
  }
}

TEST(HashBackendTest, IncrementalHasherInUnevenPiecesMatchesOneShot) {
  const std::string bytes = Pseudorandom(300000, 11u);
  Sha256Hasher hasher;
  std::size_t pos = 0;
  for (std::size_t step = 1; pos < bytes.size(); step = step * 3 + 1) {
    const std::size_t take = std::min(step, bytes.size() - pos);
    hasher.Update(std::string_view(bytes).substr(pos, take));
    pos += take;
  }
  hasher.Update("");
  EXPECT_EQ(hasher.FinalHex(), SodiumSha256(bytes));
}

TEST(HashBackendTest, AuditPayloadHashIsLengthPrefixedFramesUnderLibsodium) {
  ASSERT_TRUE(InitSodium().ok());
  const std::vector<std::string> frames = {"FRAD", "{\"arrays\":[]}", "", Pseudorandom(70000, 3u)};
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  for (const std::string& f : frames) {
    unsigned char length[8];
    for (int i = 0; i < 8; ++i) {
      length[i] = static_cast<unsigned char>(std::uint64_t{f.size()} >> (8 * i));
    }
    crypto_hash_sha256_update(&state, length, sizeof length);
    crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(f.data()), f.size());
  }
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  EXPECT_EQ(AuditPayloadHash(frames), SodiumHex(digest));
  // Frame boundaries count: the same bytes split differently hash differently.
  const std::vector<std::string> joined = {frames[0] + frames[1], frames[2], frames[3]};
  EXPECT_NE(AuditPayloadHash(joined), AuditPayloadHash(frames));
}

}  // namespace
}  // namespace fedrad::common

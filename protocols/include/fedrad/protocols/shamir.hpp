// t-of-n Shamir secret sharing over GF(2^8), byte-wise.
//
// Field: GF(2^8) with the AES reduction polynomial x^8 + x^4 + x^3 + x + 1
// (0x11b); addition is XOR. For each secret byte s a random polynomial
// p(z) = s + a_1 z + ... + a_{t-1} z^{t-1} is drawn (fresh coefficients per
// byte) and share k gets p(x_k) with x_k = k (1..n, n <= 255). Any t shares
// recover s by Lagrange interpolation at z = 0; any t-1 shares are
// independent of s (information-theoretic). Field arithmetic is branch-free
// on secret data (no lookup tables).
//
// Fewer than t shares cannot be detected from the shares themselves (they
// interpolate to *some* value), so ShamirCombine() takes the threshold and
// refuses fewer shares with an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "fedrad/common/status.hpp"

namespace fedrad::protocols {

// Fills the span with uniformly random bytes. The default is libsodium's
// randombytes_buf; tests may pass a deterministic source.
using RandomSource = std::function<void(std::span<std::uint8_t>)>;
RandomSource SystemRandomSource();

struct ShamirShare {
  std::uint8_t x = 0;           // evaluation point, 1..255
  std::vector<std::uint8_t> y;  // one byte per secret byte
};

// Splits `secret` into `num_shares` shares with x = 1..num_shares, any
// `threshold` of which recover it. Requires 1 <= threshold <= num_shares <= 255.
common::Result<std::vector<ShamirShare>> ShamirSplit(std::span<const std::uint8_t> secret,
                                                     std::size_t threshold, std::size_t num_shares,
                                                     const RandomSource& random = {});

// Recovers the secret from at least `threshold` shares (the first `threshold`
// are used). Refuses fewer shares, duplicate or zero x, and unequal lengths.
common::Result<std::vector<std::uint8_t>> ShamirCombine(std::span<const ShamirShare> shares,
                                                        std::size_t threshold);

// GF(2^8) multiplication (exposed for tests).
std::uint8_t Gf256Mul(std::uint8_t a, std::uint8_t b);
// Multiplicative inverse (a^254); Gf256Inv(0) == 0.
std::uint8_t Gf256Inv(std::uint8_t a);

}  // namespace fedrad::protocols

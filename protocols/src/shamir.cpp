#include "fedrad/protocols/shamir.hpp"

#include <sodium.h>

#include <string>

#include "fedrad/common/secure_memory.hpp"

namespace fedrad::protocols {

using common::InvalidArgument;
using common::Result;

RandomSource SystemRandomSource() {
  return [](std::span<std::uint8_t> out) { randombytes_buf(out.data(), out.size()); };
}

std::uint8_t Gf256Mul(std::uint8_t a, std::uint8_t b) {
  unsigned r = 0;
  unsigned aa = a;
  unsigned bb = b;
  for (int i = 0; i < 8; ++i) {
    r ^= aa & (0u - (bb & 1u));
    bb >>= 1;
    const unsigned carry = 0u - ((aa >> 7) & 1u);
    aa = ((aa << 1) ^ (0x1bu & carry)) & 0xffu;
  }
  return static_cast<std::uint8_t>(r);
}

std::uint8_t Gf256Inv(std::uint8_t a) {
  // a^254 = a^-1 for a != 0 (multiplicative group of order 255).
  std::uint8_t result = 1;
  std::uint8_t base = a;
  unsigned e = 254;
  while (e != 0) {
    if (e & 1u) result = Gf256Mul(result, base);
    base = Gf256Mul(base, base);
    e >>= 1;
  }
  return result;
}

Result<std::vector<ShamirShare>> ShamirSplit(std::span<const std::uint8_t> secret,
                                             std::size_t threshold, std::size_t num_shares,
                                             const RandomSource& random) {
  if (threshold < 1 || threshold > num_shares || num_shares > 255) {
    return InvalidArgument("shamir: need 1 <= threshold <= num_shares <= 255, got threshold " +
                           std::to_string(threshold) + ", num_shares " +
                           std::to_string(num_shares));
  }
  const RandomSource& rng_ref = random;
  RandomSource fallback;
  if (!rng_ref) fallback = SystemRandomSource();
  const RandomSource& rng = rng_ref ? rng_ref : fallback;

  std::vector<ShamirShare> shares(num_shares);
  for (std::size_t k = 0; k < num_shares; ++k) {
    shares[k].x = static_cast<std::uint8_t>(k + 1);
    shares[k].y.assign(secret.size(), 0);
  }
  common::SecureBuffer coeffs(threshold > 1 ? threshold - 1 : 1);
  for (std::size_t b = 0; b < secret.size(); ++b) {
    if (threshold > 1) rng(coeffs.span().first(threshold - 1));
    for (std::size_t k = 0; k < num_shares; ++k) {
      // Horner: p(x) = s + x (a1 + x (a2 + ...)).
      const std::uint8_t x = shares[k].x;
      std::uint8_t acc = 0;
      for (std::size_t c = threshold - 1; c >= 1; --c) {
        acc = static_cast<std::uint8_t>(Gf256Mul(acc, x) ^ coeffs.data()[c - 1]);
      }
      acc = static_cast<std::uint8_t>(Gf256Mul(acc, x) ^ secret[b]);
      shares[k].y[b] = acc;
    }
  }
  return shares;
}

Result<std::vector<std::uint8_t>> ShamirCombine(std::span<const ShamirShare> shares,
                                                std::size_t threshold) {
  if (threshold < 1) return InvalidArgument("shamir: threshold must be >= 1");
  if (shares.size() < threshold) {
    return common::FailedPrecondition("shamir: need at least " + std::to_string(threshold) +
                                      " shares to reconstruct, got " +
                                      std::to_string(shares.size()));
  }
  const auto used = shares.first(threshold);
  const std::size_t len = used[0].y.size();
  for (std::size_t i = 0; i < used.size(); ++i) {
    if (used[i].x == 0) return InvalidArgument("shamir: share " + std::to_string(i) + " has x = 0");
    if (used[i].y.size() != len) {
      return InvalidArgument("shamir: share " + std::to_string(i) + " has " +
                             std::to_string(used[i].y.size()) + " bytes, expected " +
                             std::to_string(len));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (used[j].x == used[i].x) {
        return InvalidArgument("shamir: duplicate share x = " + std::to_string(used[i].x));
      }
    }
  }
  // Lagrange basis at 0: l_i = prod_{j != i} x_j / (x_j - x_i); minus is XOR.
  std::vector<std::uint8_t> basis(used.size());
  for (std::size_t i = 0; i < used.size(); ++i) {
    std::uint8_t num = 1;
    std::uint8_t den = 1;
    for (std::size_t j = 0; j < used.size(); ++j) {
      if (j == i) continue;
      num = Gf256Mul(num, used[j].x);
      den = Gf256Mul(den, static_cast<std::uint8_t>(used[j].x ^ used[i].x));
    }
    basis[i] = Gf256Mul(num, Gf256Inv(den));
  }
  std::vector<std::uint8_t> secret(len, 0);
  for (std::size_t b = 0; b < len; ++b) {
    std::uint8_t acc = 0;
    for (std::size_t i = 0; i < used.size(); ++i) acc ^= Gf256Mul(basis[i], used[i].y[b]);
    secret[b] = acc;
  }
  return secret;
}

}  // namespace fedrad::protocols

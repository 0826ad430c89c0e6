#include "fedrad/protocols/shamir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "fedrad/common/sodium_init.hpp"

namespace fedrad::protocols {
namespace {

std::vector<std::uint8_t> Secret(std::size_t len, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint8_t> s(len);
  for (auto& b : s) b = static_cast<std::uint8_t>(rng());
  return s;
}

TEST(ShamirTest, Gf256ArithmeticMatchesAesField) {
  EXPECT_EQ(Gf256Mul(0x57, 0x83), 0xc1);  // FIPS-197 section 4.2 example
  EXPECT_EQ(Gf256Mul(0x57, 0x13), 0xfe);
  EXPECT_EQ(Gf256Mul(0, 0x91), 0);
  for (int a = 1; a < 256; ++a) {
    EXPECT_EQ(Gf256Mul(static_cast<std::uint8_t>(a), Gf256Inv(static_cast<std::uint8_t>(a))), 1)
        << a;
  }
}

TEST(ShamirTest, AnyThresholdSubsetReconstructsFewerCannot) {
  ASSERT_TRUE(common::InitSodium().ok());
  std::mt19937 pick(3);
  for (const auto& [t, n] : std::vector<std::pair<std::size_t, std::size_t>>{
           {2, 3}, {3, 5}, {4, 7}, {6, 10}, {10, 10}, {128, 255}}) {
    const auto secret = Secret(32, t * 1000 + n);
    auto shares = ShamirSplit(secret, t, n);
    ASSERT_TRUE(shares.ok()) << shares.status().ToString();
    ASSERT_EQ(shares->size(), n);
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<ShamirShare> subset = *shares;
      std::shuffle(subset.begin(), subset.end(), pick);
      subset.resize(t);
      auto rec = ShamirCombine(subset, t);
      ASSERT_TRUE(rec.ok()) << rec.status().ToString();
      EXPECT_EQ(*rec, secret) << "t=" << t << " n=" << n;
      // t - 1 shares: refused with the threshold, and interpolating them
      // anyway gives a different value.
      subset.pop_back();
      auto refused = ShamirCombine(subset, t);
      ASSERT_FALSE(refused.ok());
      EXPECT_NE(refused.status().message().find("need at least"), std::string::npos);
      if (t > 1) {
        auto wrong = ShamirCombine(subset, t - 1);
        ASSERT_TRUE(wrong.ok());
        EXPECT_NE(*wrong, secret);
      }
    }
  }
}

TEST(ShamirTest, ThresholdOneSharesAreTheSecret) {
  const auto secret = Secret(16, 5);
  auto shares = ShamirSplit(secret, 1, 4);
  ASSERT_TRUE(shares.ok());
  for (const auto& s : *shares) EXPECT_EQ(s.y, secret);
}

TEST(ShamirTest, DeterministicSourceGivesReproducibleShares) {
  const auto secret = Secret(8, 9);
  const auto source = [](std::uint64_t seed) {
    auto rng = std::make_shared<std::mt19937_64>(seed);
    return RandomSource([rng](std::span<std::uint8_t> out) {
      for (auto& b : out) b = static_cast<std::uint8_t>((*rng)());
    });
  };
  auto a = ShamirSplit(secret, 3, 5, source(1));
  auto b = ShamirSplit(secret, 3, 5, source(1));
  auto c = ShamirSplit(secret, 3, 5, source(2));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ((*a)[0].y, (*b)[0].y);
  EXPECT_NE((*a)[0].y, (*c)[0].y);
}

TEST(ShamirTest, RefusesBadParametersAndShares) {
  const auto secret = Secret(4, 1);
  EXPECT_FALSE(ShamirSplit(secret, 0, 3).ok());
  EXPECT_FALSE(ShamirSplit(secret, 4, 3).ok());
  EXPECT_FALSE(ShamirSplit(secret, 2, 256).ok());
  auto shares = ShamirSplit(secret, 2, 3);
  ASSERT_TRUE(shares.ok());
  std::vector<ShamirShare> dup = {(*shares)[0], (*shares)[0]};
  auto r = ShamirCombine(dup, 2);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("duplicate"), std::string::npos);
  std::vector<ShamirShare> uneven = {(*shares)[0], (*shares)[1]};
  uneven[1].y.pop_back();
  EXPECT_FALSE(ShamirCombine(uneven, 2).ok());
}

}  // namespace
}  // namespace fedrad::protocols

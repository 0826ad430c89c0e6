#include "fedrad/protocols/fixed_point.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace fedrad::protocols {
namespace {

FixedPointParams Params(int f, double bound, std::size_t n) {
  FixedPointParams p;
  p.fractional_bits = f;
  p.value_bound = bound;
  p.num_sites = n;
  return p;
}

TEST(FixedPointTest, EncodesTwosComplementAndRoundsToNearest) {
  const auto p = Params(40, 1e3, 3);
  const std::vector<double> values = {1.0, -1.0, 0.0, std::ldexp(3.0, -42), -std::ldexp(3.0, -42)};
  auto enc = EncodeFixedPoint(values, p);
  ASSERT_TRUE(enc.ok()) << enc.status().ToString();
  EXPECT_EQ((*enc)[0], std::uint64_t{1} << 40);
  EXPECT_EQ((*enc)[1], ~(std::uint64_t{1} << 40) + 1);  // 2^64 - 2^40
  EXPECT_EQ((*enc)[2], 0u);
  EXPECT_EQ((*enc)[3], 1u);                 // 0.75 rounds to 1
  EXPECT_EQ((*enc)[4], ~std::uint64_t{0});  // -0.75 rounds to -1
  auto dec = DecodeFixedPointSum(*enc, p);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ((*dec)[0], 1.0);
  EXPECT_EQ((*dec)[1], -1.0);
  EXPECT_EQ((*dec)[4], -std::ldexp(1.0, -40));
}

TEST(FixedPointTest, PerValueErrorWithinHalfUlpOfScale) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> dist(-1e3, 1e3);
  for (int f : {0, 20, 40, 50}) {
    const auto p = Params(f, 1e3, 4);
    std::vector<double> values(500);
    for (double& v : values) v = dist(rng);
    auto enc = EncodeFixedPoint(values, p);
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    auto dec = DecodeFixedPointSum(*enc, p);
    ASSERT_TRUE(dec.ok());
    for (std::size_t i = 0; i < values.size(); ++i) {
      EXPECT_LE(std::fabs((*dec)[i] - values[i]),
                QuantisationErrorBound(p, 1, std::fabs(values[i])))
          << "f=" << f << " i=" << i;
    }
  }
}

TEST(FixedPointTest, RefusesParametersThatCouldOverflow) {
  // n * B * 2^f: 10 * 1e6 * 2^40 = 1.1e19 >= 2^63 = 9.2e18.
  const auto bad = ValidateFixedPointParams(Params(40, 1e6, 10));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("2^63"), std::string::npos) << bad.message();
  EXPECT_TRUE(ValidateFixedPointParams(Params(40, 8e5, 10)).ok());
  EXPECT_FALSE(ValidateFixedPointParams(Params(63, 1.0, 1)).ok());
  EXPECT_FALSE(ValidateFixedPointParams(Params(40, 0.0, 1)).ok());
  EXPECT_FALSE(ValidateFixedPointParams(Params(40, 1.0, 0)).ok());
}

TEST(FixedPointTest, RefusesValueOutsideBoundNamingIndexAndValue) {
  const auto p = Params(40, 1e5, 5);
  const std::vector<double> values = {1.0, -2.0, 250000.0, 3.0};
  auto enc = EncodeFixedPoint(values, p);
  ASSERT_FALSE(enc.ok());
  EXPECT_NE(enc.status().message().find("index 2"), std::string::npos) << enc.status().message();
  EXPECT_NE(enc.status().message().find("250000"), std::string::npos) << enc.status().message();
  const std::vector<double> nan = {0.0, std::nan("")};
  auto enc_nan = EncodeFixedPoint(nan, p);
  ASSERT_FALSE(enc_nan.ok());
  EXPECT_NE(enc_nan.status().message().find("index 1"), std::string::npos);
  // The bound itself is admissible (including negative).
  const std::vector<double> edge = {1e5, -1e5};
  EXPECT_TRUE(EncodeFixedPoint(edge, p).ok());
}

// Realistic statistics (gradients ~1e2, Hessian entries ~1e3, counts) summed
// over 10 sites in Z_2^64 and decoded: within n * 2^-(f+1) (+ the final
// double rounding) of the exact sum, and far inside the 1e-8 equivalence
// tolerance of the federated core.
TEST(FixedPointTest, ModularSumOfRealisticStatisticsWithinBound) {
  const std::size_t n = 10;
  const auto p = Params(kDefaultFractionalBits, 1e5, n);
  ASSERT_TRUE(ValidateFixedPointParams(p).ok());
  std::mt19937_64 rng(11);
  std::normal_distribution<double> grad(0.0, 1e2);
  std::normal_distribution<double> hess(0.0, 1e3);
  std::uniform_int_distribution<int> count(0, 5000);
  const std::size_t len = 60;
  std::vector<std::uint64_t> acc(len, 0);
  std::vector<long double> exact(len, 0.0L);
  for (std::size_t s = 0; s < n; ++s) {
    std::vector<double> v(len);
    for (std::size_t i = 0; i < len; ++i) {
      v[i] = i < 20 ? grad(rng) : (i < 50 ? hess(rng) : static_cast<double>(count(rng)));
      exact[i] += v[i];
    }
    auto enc = EncodeFixedPoint(v, p);
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    AddModular(acc, *enc);
  }
  auto dec = DecodeFixedPointSum(acc, p);
  ASSERT_TRUE(dec.ok());
  for (std::size_t i = 0; i < len; ++i) {
    const double ref = static_cast<double>(exact[i]);
    const double err = std::fabs((*dec)[i] - ref);
    EXPECT_LE(err, QuantisationErrorBound(p, n, std::fabs(ref)) + std::fabs(ref) * 1e-16) << i;
    EXPECT_LE(err, 1e-8) << i;
  }
}

}  // namespace
}  // namespace fedrad::protocols

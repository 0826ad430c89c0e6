// Wide fixed point (fixed_point.hpp): multi-limb offset-binary encoding,
// checked against an independent 128-bit integer reference (L <= 2) and
// hand-computed limb patterns, sums and roundings.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "fedrad/protocols/fixed_point.hpp"

namespace fedrad::protocols {
namespace {

__extension__ using I128 = __int128;
__extension__ using U128 = unsigned __int128;

constexpr std::uint64_t kMask56 = (std::uint64_t{1} << 56) - 1;
constexpr std::uint64_t kTop = std::uint64_t{1} << 55;

WideFixedPointParams Params(int f, int limbs) {
  WideFixedPointParams p;
  p.fractional_bits = f;
  p.limbs = limbs;
  return p;
}

// Reference Q = round_half_away(v * 2^f), |v 2^f| < 2^126: ldexp is exact;
// above 2^52 the scaled value is already an integer.
I128 RefQ(double v, int f) {
  const double x = std::ldexp(v, f);
  if (std::fabs(x) >= 0x1p52) return static_cast<I128>(x);
  return static_cast<I128>(std::llround(x));
}

// Reference limbs of Q + 2^(56L-1) for L <= 2.
std::vector<std::uint64_t> RefLimbs(I128 q, int limbs) {
  const U128 u = static_cast<U128>(q) + (U128{1} << (56 * limbs - 1));
  std::vector<std::uint64_t> out;
  for (int d = 0; d < limbs; ++d)
    out.push_back(static_cast<std::uint64_t>(u >> (56 * d)) & kMask56);
  return out;
}

// Correctly rounded double of q * 2^-f (the conversion rounds to nearest even).
double RefDecode(I128 q, int f) { return std::ldexp(static_cast<double>(q), -f); }

std::vector<double> Decode1(const std::vector<std::uint64_t>& enc, const WideFixedPointParams& p,
                            std::size_t n = 1) {
  auto d = DecodeWideFixedPointSum(enc, p, n);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? *d : std::vector<double>{};
}

TEST(WideFixedPointTest, LimbLayoutIsOffsetBinaryLeastSignificantFirst) {
  const auto p = Params(40, 2);
  auto enc = EncodeWideFixedPoint(std::vector<double>{0.0, 1.0, -0x1p-40, -1.0}, p);
  ASSERT_TRUE(enc.ok()) << enc.status().ToString();
  const std::vector<std::uint64_t> expected = {
      0,
      kTop,  // 0 -> U = 2^111
      1ULL << 40,
      kTop,  // 1.0 -> Q = 2^40
      kMask56,
      kTop - 1,  // Q = -1 -> U = 2^111 - 1
      (1ULL << 56) - (1ULL << 40),
      kTop - 1,  // Q = -2^40
  };
  EXPECT_EQ(*enc, expected);
  auto one = EncodeWideFixedPoint(std::vector<double>{-0.0, 3.0}, Params(0, 1));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, (std::vector<std::uint64_t>{kTop, kTop + 3}));
  // L = 4: a value whose bits straddle limbs 2 and 3: 2^160 (f = 10 -> Q = 2^170).
  auto four = EncodeWideFixedPoint(std::vector<double>{0x1p160}, Params(10, 4));
  ASSERT_TRUE(four.ok());
  EXPECT_EQ(*four, (std::vector<std::uint64_t>{0, 0, 0, kTop + (1ULL << (170 - 168))}));
}

TEST(WideFixedPointTest, MatchesIndependentReferenceForOneAndTwoLimbs) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  for (int limbs = 1; limbs <= 2; ++limbs) {
    for (int f : {0, 20, 40, 54}) {
      const auto p = Params(f, limbs);
      if (!ValidateWideFixedPointParams(p).ok()) continue;
      const int top = 56 * limbs - 1 - f;  // log2 bound
      std::vector<double> values;
      for (int i = 0; i < 400; ++i) {
        std::uniform_int_distribution<int> ex(-f - 8, top - 1);
        values.push_back(std::ldexp(unit(rng), ex(rng)));
      }
      auto enc = EncodeWideFixedPoint(values, p);
      ASSERT_TRUE(enc.ok()) << enc.status().ToString();
      ASSERT_EQ(enc->size(), values.size() * static_cast<std::size_t>(limbs));
      const auto dec = Decode1(*enc, p);
      for (std::size_t i = 0; i < values.size(); ++i) {
        const I128 q = RefQ(values[i], f);
        const auto limbs_ref = RefLimbs(q, limbs);
        for (int d = 0; d < limbs; ++d) {
          ASSERT_EQ((*enc)[i * static_cast<std::size_t>(limbs) + static_cast<std::size_t>(d)],
                    limbs_ref[static_cast<std::size_t>(d)])
              << "L=" << limbs << " f=" << f << " v=" << values[i];
        }
        ASSERT_EQ(dec[i], RefDecode(q, f)) << values[i];
      }
    }
  }
}

TEST(WideFixedPointTest, RoundTripsSpecialValues) {
  for (int limbs = 1; limbs <= 4; ++limbs) {
    for (int f : {0, 40, 64}) {
      const auto p = Params(f, limbs);
      if (!ValidateWideFixedPointParams(p).ok()) continue;
      const double bound = WideValueBound(p);
      const double below = std::nextafter(bound, 0.0);
      const double tiny = std::numeric_limits<double>::denorm_min();
      std::vector<double> v = {0.0,     -0.0,  tiny,   -tiny,     1e-300,
                               -1e-300, below, -below, bound / 3, -bound / 3};
      for (int k = -f; k < 56 * limbs - 1 - f; k += 7) {
        v.push_back(std::ldexp(1.0, k));
        v.push_back(-std::ldexp(1.0, k));
      }
      auto enc = EncodeWideFixedPoint(v, p);
      ASSERT_TRUE(enc.ok()) << "L=" << limbs << " f=" << f << ": " << enc.status().ToString();
      const auto dec = Decode1(*enc, p);
      ASSERT_EQ(dec.size(), v.size());
      for (std::size_t i = 0; i < v.size(); ++i) {
        const double scaled = std::ldexp(v[i], f);
        if (std::fabs(scaled) < 0.5) {
          EXPECT_EQ(dec[i], 0.0) << v[i];  // below half a step: 0
        } else if (std::fabs(scaled) >= 0x1p53 || scaled == std::round(scaled)) {
          EXPECT_EQ(dec[i], v[i]) << "L=" << limbs << " f=" << f << " i=" << i;  // on the grid
        } else {
          EXPECT_LE(std::fabs(dec[i] - v[i]), std::ldexp(1.0, -(f + 1))) << v[i];
        }
      }
    }
  }
}

TEST(WideFixedPointTest, HalfwayTiesRoundAwayFromZero) {
  for (int limbs : {1, 3}) {
    const auto p = Params(30, limbs);
    const double s = 0x1p-30;  // one step
    const std::vector<double> v = {0.5 * s,
                                   -0.5 * s,
                                   1.5 * s,
                                   -1.5 * s,
                                   2.5 * s,
                                   -2.5 * s,
                                   std::nextafter(0.5 * s, 0.0),
                                   -std::nextafter(0.5 * s, 0.0),
                                   1e6 + 2.5 * s,
                                   -1e6 - 2.5 * s};
    const std::vector<double> expected = {s,      -s,  2 * s, -2 * s,      3 * s,
                                          -3 * s, 0.0, 0.0,   1e6 + 3 * s, -1e6 - 3 * s};
    auto enc = EncodeWideFixedPoint(v, p);
    ASSERT_TRUE(enc.ok());
    EXPECT_EQ(Decode1(*enc, p), expected) << "L=" << limbs;
  }
}

// Sums of n encodings (plus random masks added and removed word by word)
// decode to the correctly rounded exact integer sum.
TEST(WideFixedPointTest, MaskedSumsOfUpTo255SitesDecodeExactly) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  for (int limbs = 1; limbs <= 2; ++limbs) {
    const int f = limbs == 1 ? 20 : 40;
    const auto p = Params(f, limbs);
    const int top = 56 * limbs - 1 - f;
    for (std::size_t n : {2u, 3u, 17u, 128u, 255u}) {
      constexpr std::size_t kLen = 12;
      std::vector<std::uint64_t> sum(kLen * static_cast<std::size_t>(limbs), 0);
      std::vector<std::uint64_t> mask_total(sum.size(), 0);
      std::vector<I128> exact(kLen, 0);
      for (std::size_t site = 0; site < n; ++site) {
        std::vector<double> v(kLen);
        for (std::size_t k = 0; k < kLen; ++k) {
          // Mixed scales; value 0 at the bound (worst case), value 1 tiny.
          std::uniform_int_distribution<int> ex(-f - 2, top - 1);
          v[k] = std::ldexp(unit(rng), ex(rng));
        }
        v[0] = (site % 2 == 0 ? 1 : -1) * std::nextafter(WideValueBound(p), 0.0);
        v[1] = -std::nextafter(WideValueBound(p), 0.0);
        auto enc = EncodeWideFixedPoint(v, p);
        ASSERT_TRUE(enc.ok()) << enc.status().ToString();
        std::vector<std::uint64_t> mask(enc->size());
        for (auto& m : mask) m = rng();
        AddModular(*enc, mask);  // what a site sends
        AddModular(sum, *enc);
        AddModular(mask_total, mask);
        for (std::size_t k = 0; k < kLen; ++k) exact[k] += RefQ(v[k], f);
      }
      SubtractModular(sum, mask_total);  // the server removes the masks
      auto dec = DecodeWideFixedPointSum(sum, p, n);
      ASSERT_TRUE(dec.ok()) << dec.status().ToString();
      for (std::size_t k = 0; k < kLen; ++k) {
        EXPECT_EQ((*dec)[k], RefDecode(exact[k], f)) << "L=" << limbs << " n=" << n << " k=" << k;
      }
      // Decoding with the wrong site count is refused or gives another number.
      auto wrong = DecodeWideFixedPointSum(sum, p, n - 1);
      EXPECT_TRUE(!wrong.ok() || (*wrong)[0] != (*dec)[0]);
    }
  }
}

TEST(WideFixedPointTest, WideLimbSumsOfExactlyRepresentableValues) {
  // L = 3 and 4: values a_i 2^s (a_i 40-bit integers) beyond 2 limbs; the
  // exact sum (sum a_i) 2^s is a double, computed independently.
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<std::int64_t> a(-(std::int64_t{1} << 40), std::int64_t{1} << 40);
  for (int limbs : {3, 4}) {
    const auto p = Params(40, limbs);
    const int s = limbs == 3 ? 80 : 140;  // |a_i 2^s| < bound 2^127 / 2^183
    for (std::size_t n : {2u, 255u}) {
      std::vector<std::uint64_t> sum(2 * static_cast<std::size_t>(limbs), 0);
      std::int64_t total = 0;
      std::int64_t small_total = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const std::int64_t ai = a(rng);
        const std::int64_t bi = a(rng);
        total += ai;
        small_total += bi;
        auto enc =
            EncodeWideFixedPoint(std::vector<double>{std::ldexp(static_cast<double>(ai), s),
                                                     std::ldexp(static_cast<double>(bi), -40)},
                                 p);
        ASSERT_TRUE(enc.ok()) << enc.status().ToString();
        AddModular(sum, *enc);
      }
      auto dec = DecodeWideFixedPointSum(sum, p, n);
      ASSERT_TRUE(dec.ok()) << dec.status().ToString();
      EXPECT_EQ((*dec)[0], std::ldexp(static_cast<double>(total), s));
      EXPECT_EQ((*dec)[1], std::ldexp(static_cast<double>(small_total), -40));
    }
  }
}

TEST(WideFixedPointTest, FinalConversionRoundsToNearestEven) {
  // f = 3, L = 2: site values whose exact sum needs rounding to 53 bits.
  // ulp(2^60) = 2^8: 2^60 + 2^7 is a tie (-> even 2^60), 2^60 + 2^8 + 2^7 a tie
  // (-> even 2^60 + 2^9), 2^60 + 2^7 + 2^-3 just above a tie (-> 2^60 + 2^8).
  const auto p = Params(3, 2);
  const std::vector<std::vector<double>> sites = {
      {0x1p60, 0x1p60, 0x1p60, -0x1p60},
      {0x1p7, 0x1p8, 0x1p7, -0x1p7},
      {0.0, 0x1p7, 0x1p-3, 0.0},
  };
  std::vector<std::uint64_t> sum(8, 0);
  for (const auto& v : sites) {
    auto enc = EncodeWideFixedPoint(v, p);
    ASSERT_TRUE(enc.ok());
    AddModular(sum, *enc);
  }
  auto dec = DecodeWideFixedPointSum(sum, p, 3);
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  EXPECT_EQ(*dec, (std::vector<double>{0x1p60, 0x1p60 + 0x1p9, 0x1p60 + 0x1p8, -0x1p60}));
}

TEST(WideFixedPointTest, SumWithinQuantisationBound) {
  // Values on a grid 2^-(f+10) finer than the encoding: exact sums in
  // integers of that grid; |decoded - exact| <= n 2^-(f+1) + |exact| 2^-53.
  std::mt19937_64 rng(3);
  const int f = 24;
  const auto p = Params(f, 2);
  const int g = f + 10;
  std::uniform_int_distribution<std::int64_t> k(-(std::int64_t{1} << 50), std::int64_t{1} << 50);
  std::uniform_int_distribution<int> scale(0, 40);
  bool saw_rounding = false;
  for (std::size_t n : {2u, 10u, 255u}) {
    constexpr std::size_t kLen = 30;
    std::vector<std::uint64_t> sum(2 * kLen, 0);
    std::vector<I128> exact(kLen, 0);  // in units of 2^-g
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<double> v(kLen);
      for (std::size_t j = 0; j < kLen; ++j) {
        const std::int64_t kij = k(rng) >> scale(rng);  // exact in a double
        v[j] = std::ldexp(static_cast<double>(kij), -g);
        exact[j] += kij;
      }
      auto enc = EncodeWideFixedPoint(v, p);
      ASSERT_TRUE(enc.ok());
      AddModular(sum, *enc);
    }
    auto dec = DecodeWideFixedPointSum(sum, p, n);
    ASSERT_TRUE(dec.ok());
    for (std::size_t j = 0; j < kLen; ++j) {
      const I128 got = static_cast<I128>(std::ldexp((*dec)[j], g));  // integer: exact
      const I128 err = got > exact[j] ? got - exact[j] : exact[j] - got;
      const double abs_exact = std::fabs(std::ldexp(static_cast<double>(exact[j]), -g));
      const double bound = WideQuantisationErrorBound(p, n, abs_exact);
      EXPECT_LE(std::ldexp(static_cast<double>(err), -g), bound) << "n=" << n << " j=" << j;
      saw_rounding = saw_rounding || err != 0;
    }
  }
  EXPECT_TRUE(saw_rounding);  // the grid is finer than 2^-f, so some values round
  EXPECT_EQ(WideQuantisationErrorBound(p, 4, 0.0), 4 * 0x1p-25);
}

TEST(WideFixedPointTest, RefusesNonFiniteAndOutOfRangeValuesNamingIndexAndValue) {
  const auto p = Params(40, 2);
  EXPECT_EQ(WideValueBound(p), 0x1p71);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  struct Case {
    double v;
    const char* text;
  };
  for (const Case& c :
       {Case{nan, "nan"}, Case{inf, "inf"}, Case{-inf, "-inf"},
        Case{0x1p71, "2.3611832414348226e+21"}, Case{-0x1p71, "-2.3611832414348226e+21"},
        Case{1e300, "1.0000000000000001e+300"}}) {
    auto enc = EncodeWideFixedPoint(std::vector<double>{1.0, 2.0, c.v}, p);
    ASSERT_FALSE(enc.ok()) << c.text;
    EXPECT_EQ(enc.status().code(), common::StatusCode::kInvalidArgument);
    const std::string& msg = enc.status().message();
    EXPECT_NE(msg.find("index 2 is " + std::string(c.text)), std::string::npos) << msg;
    EXPECT_NE(msg.find("|v| < 2.3611832414348226e+21"), std::string::npos) << msg;
  }
  EXPECT_TRUE(EncodeWideFixedPoint(std::vector<double>{std::nextafter(0x1p71, 0.0)}, p).ok());
}

TEST(WideFixedPointTest, RefusesBadParameters) {
  struct Case {
    int f;
    int limbs;
    const char* text;
  };
  for (const Case& c : {Case{-1, 2, "fractional_bits must be in [0, 64], got -1"},
                        Case{65, 2, "fractional_bits must be in [0, 64], got 65"},
                        Case{40, 0, "limbs must be in [1, 4], got 0"},
                        Case{40, 5, "limbs must be in [1, 4], got 5"},
                        Case{55, 1, "limbs = 1, fractional_bits = 55"}}) {
    const auto p = Params(c.f, c.limbs);
    const auto st = ValidateWideFixedPointParams(p);
    ASSERT_FALSE(st.ok()) << c.text;
    EXPECT_NE(st.message().find(c.text), std::string::npos) << st.message();
    EXPECT_FALSE(EncodeWideFixedPoint(std::vector<double>{1.0}, p).ok());
    EXPECT_FALSE(DecodeWideFixedPointSum(std::vector<std::uint64_t>{0, 0, 0, 0}, p, 1).ok());
  }
  EXPECT_TRUE(ValidateWideFixedPointParams(Params(54, 1)).ok());
  EXPECT_TRUE(ValidateWideFixedPointParams(Params(64, 2)).ok());
  EXPECT_TRUE(ValidateWideFixedPointParams(Params(0, 4)).ok());
  EXPECT_EQ(WideValueBound(Params(54, 1)), 2.0);
}

TEST(WideFixedPointTest, DecodeRefusesBadLengthSiteCountAndImpossibleWords) {
  const auto p = Params(40, 2);
  const std::vector<std::uint64_t> three = {0, kTop, 0};
  auto r = DecodeWideFixedPointSum(three, p, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("3 words, not a multiple of limbs = 2"), std::string::npos)
      << r.status().message();
  const std::vector<std::uint64_t> two = {0, kTop};
  for (std::size_t n : {0u, 256u}) {
    r = DecodeWideFixedPointSum(two, p, n);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(
        r.status().message().find("summed_sites must be in [1, 255], got " + std::to_string(n)),
        std::string::npos)
        << r.status().message();
  }
  // A word no sum of 2 encodings can hold (e.g. masks not removed).
  const std::vector<std::uint64_t> bad = {0, 0, 2 * kMask56 + 1, 0};
  r = DecodeWideFixedPointSum(bad, p, 2);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("index 1, limb 0"), std::string::npos)
      << r.status().message();
  EXPECT_TRUE(
      DecodeWideFixedPointSum(std::vector<std::uint64_t>{2 * kMask56, 2 * kMask56}, p, 2).ok());
  auto empty = DecodeWideFixedPointSum(std::vector<std::uint64_t>{}, p, 3);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace fedrad::protocols

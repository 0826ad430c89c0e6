#include "fedrad/protocols/fixed_point.hpp"

#include <array>
#include <bit>
#include <cmath>
#include <cstdio>
#include <string>

#include "fedrad/common/csv.hpp"

namespace fedrad::protocols {

using common::InvalidArgument;
using common::Result;
using common::Status;

namespace {

std::string Num(double v) { return common::FormatDouble(v); }

}  // namespace

Status ValidateFixedPointParams(const FixedPointParams& params) {
  if (params.fractional_bits < 0 || params.fractional_bits > 62) {
    return InvalidArgument("fixed point: fractional_bits must be in [0, 62], got " +
                           std::to_string(params.fractional_bits));
  }
  if (!std::isfinite(params.value_bound) || params.value_bound <= 0.0) {
    return InvalidArgument("fixed point: value_bound must be finite and > 0, got " +
                           Num(params.value_bound));
  }
  if (params.num_sites == 0) {
    return InvalidArgument("fixed point: num_sites must be >= 1");
  }
  const long double per_site =
      std::ldexp(static_cast<long double>(params.value_bound), params.fractional_bits) + 1.0L;
  const long double total = per_site * static_cast<long double>(params.num_sites);
  if (!(total < std::ldexp(1.0L, 63))) {
    return InvalidArgument(
        "fixed point: n * (B * 2^f + 1) must stay below 2^63 so the sum cannot "
        "overflow; got n = " +
        std::to_string(params.num_sites) + ", B = " + Num(params.value_bound) + ", f = " +
        std::to_string(params.fractional_bits) + " (lower f or B, or aggregate fewer sites)");
  }
  return Status::Ok();
}

Result<std::vector<std::uint64_t>> EncodeFixedPoint(std::span<const double> values,
                                                    const FixedPointParams& params) {
  FEDRAD_RETURN_IF_ERROR(ValidateFixedPointParams(params));
  std::vector<std::uint64_t> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (!std::isfinite(v) || std::fabs(v) > params.value_bound) {
      return InvalidArgument("fixed point: value at index " + std::to_string(i) + " is " + Num(v) +
                             ", outside the declared bound |v| <= " + Num(params.value_bound) +
                             " (the secure sum could overflow)");
    }
    // v * 2^f is exact in binary floating point; llround rounds to nearest.
    const long long q = std::llround(std::ldexp(v, params.fractional_bits));
    out[i] = static_cast<std::uint64_t>(static_cast<std::int64_t>(q));
  }
  return out;
}

Result<std::vector<double>> DecodeFixedPointSum(std::span<const std::uint64_t> sum,
                                                const FixedPointParams& params) {
  FEDRAD_RETURN_IF_ERROR(ValidateFixedPointParams(params));
  std::vector<double> out(sum.size());
  for (std::size_t i = 0; i < sum.size(); ++i) {
    const auto s = static_cast<std::int64_t>(sum[i]);  // two's complement (C++20)
    out[i] = std::ldexp(static_cast<double>(s), -params.fractional_bits);
  }
  return out;
}

double QuantisationErrorBound(const FixedPointParams& params, std::size_t sites, double abs_sum) {
  return static_cast<double>(sites) * std::ldexp(1.0, -(params.fractional_bits + 1)) +
         std::fabs(abs_sum) * std::ldexp(1.0, -53);
}

void AddModular(std::span<std::uint64_t> a, std::span<const std::uint64_t> b) {
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) a[i] += b[i];
}

void SubtractModular(std::span<std::uint64_t> a, std::span<const std::uint64_t> b) {
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) a[i] -= b[i];
}

// ---- Wide fixed point ----
//
// Internally a non-negative integer is a little-endian array of base-2^56
// digits (each in a uint64). kWideWork digits hold every intermediate value:
// the decoder's recombined sum is < 255 * 2^(56L) <= 2^(56*4 + 8).

namespace {

constexpr std::uint64_t kDigitMask = (std::uint64_t{1} << kWideDigitBits) - 1;
constexpr int kWideWork = kWideMaxLimbs + 2;  // L limbs + carry digit + zero pad
using Digits = std::array<std::uint64_t, kWideWork>;

// |Q| = round_half_away_from_zero(|v| * 2^f) as digits, exactly: v = M * 2^(e-53)
// with the 53-bit integer M = |frexp mantissa| * 2^53.
Digits MagnitudeTimesPow2(double abs_v, int f) {
  Digits a{};
  if (abs_v == 0.0) return a;
  int e = 0;
  const double m = std::frexp(abs_v, &e);                           // m in [0.5, 1)
  const auto mant = static_cast<std::uint64_t>(std::ldexp(m, 53));  // exact, < 2^53
  const int s = e - 53 + f;                                         // |v| 2^f = mant * 2^s
  if (s >= 0) {
    const int d = s / kWideDigitBits;
    const int b = s % kWideDigitBits;
    // The caller's bound keeps |Q| < 2^(56L-1), so d + 1 < kWideWork.
    a[static_cast<std::size_t>(d)] = (mant << b) & kDigitMask;  // low bits, mod 2^64 is fine
    if (b > 0) a[static_cast<std::size_t>(d) + 1] = mant >> (kWideDigitBits - b);
    return a;
  }
  const int k = -s;      // divide by 2^k, rounding half away from zero
  if (k > 53) return a;  // mant * 2^-k < 2^53 * 2^-54 = 1/2: rounds to 0
  std::uint64_t q = mant >> k;
  const std::uint64_t rem = mant & ((std::uint64_t{1} << k) - 1);
  if (rem >= (std::uint64_t{1} << (k - 1))) ++q;  // ties (rem == half) go up
  a[0] = q;                                       // q <= 2^53 < 2^56
  return a;
}

// a - b for a >= b (digits in [0, 2^56)).
Digits SubtractDigits(const Digits& a, const Digits& b) {
  Digits r{};
  std::uint64_t borrow = 0;
  for (std::size_t d = 0; d < r.size(); ++d) {
    const std::uint64_t sub = b[d] + borrow;  // <= 2^56
    if (a[d] >= sub) {
      r[d] = a[d] - sub;
      borrow = 0;
    } else {
      r[d] = a[d] + (std::uint64_t{1} << kWideDigitBits) - sub;
      borrow = 1;
    }
  }
  return r;
}

// -1, 0, 1 for a < b, a == b, a > b.
int CompareDigits(const Digits& a, const Digits& b) {
  for (std::size_t d = a.size(); d-- > 0;) {
    if (a[d] != b[d]) return a[d] < b[d] ? -1 : 1;
  }
  return 0;
}

std::uint64_t Bit(const Digits& a, int pos) {
  return (a[static_cast<std::size_t>(pos / kWideDigitBits)] >> (pos % kWideDigitBits)) & 1U;
}

// True if any bit at a position < pos is set.
bool AnyBitBelow(const Digits& a, int pos) {
  const int full = pos / kWideDigitBits;
  for (int d = 0; d < full; ++d) {
    if (a[static_cast<std::size_t>(d)] != 0) return true;
  }
  const int rest = pos % kWideDigitBits;
  return rest > 0 && (a[static_cast<std::size_t>(full)] & ((std::uint64_t{1} << rest) - 1)) != 0;
}

// The double nearest to a (ties to even) times 2^-f. a < 2^(56 * (kWideWork - 1)).
double DigitsToDouble(const Digits& a, int f) {
  int top = kWideWork - 1;
  while (top >= 0 && a[static_cast<std::size_t>(top)] == 0) --top;
  if (top < 0) return 0.0;
  const int nbits =
      top * kWideDigitBits + static_cast<int>(std::bit_width(a[static_cast<std::size_t>(top)]));
  if (nbits <= 53) {  // exact: a < 2^53 lives in digit 0
    return std::ldexp(static_cast<double>(a[0]), -f);
  }
  // Top 53 bits [lo, lo + 53) span at most two digits; the digit above exists (padding).
  const int lo = nbits - 53;
  const auto d = static_cast<std::size_t>(lo / kWideDigitBits);
  const int b = lo % kWideDigitBits;
  std::uint64_t m = (a[d] >> b) | (a[d + 1] << (kWideDigitBits - b));
  m &= (std::uint64_t{1} << 53) - 1;
  const bool round_bit = Bit(a, lo - 1) != 0;
  const bool sticky = AnyBitBelow(a, lo - 1);
  if (round_bit && (sticky || (m & 1U) != 0)) ++m;  // m may become 2^53: still exact
  // Scaling by a power of two is exact here: |result| in [2^-64, 2^233), far
  // from the subnormal and overflow ranges, so this is the only rounding.
  return std::ldexp(static_cast<double>(m), lo - f);
}

}  // namespace

Status ValidateWideFixedPointParams(const WideFixedPointParams& params) {
  if (params.fractional_bits < 0 || params.fractional_bits > 64) {
    return InvalidArgument("wide fixed point: fractional_bits must be in [0, 64], got " +
                           std::to_string(params.fractional_bits));
  }
  if (params.limbs < 1 || params.limbs > kWideMaxLimbs) {
    return InvalidArgument("wide fixed point: limbs must be in [1, " +
                           std::to_string(kWideMaxLimbs) + "], got " +
                           std::to_string(params.limbs));
  }
  if (kWideDigitBits * params.limbs - 1 - params.fractional_bits < 1) {
    return InvalidArgument(
        "wide fixed point: 56 * limbs - 1 - fractional_bits must be >= 1 "
        "(values need at least one integer bit); got limbs = " +
        std::to_string(params.limbs) +
        ", fractional_bits = " + std::to_string(params.fractional_bits));
  }
  return Status::Ok();
}

double WideValueBound(const WideFixedPointParams& params) {
  return std::ldexp(1.0, kWideDigitBits * params.limbs - 1 - params.fractional_bits);
}

double WideQuantisationErrorBound(const WideFixedPointParams& params, std::size_t sites,
                                  double abs_sum) {
  return static_cast<double>(sites) * std::ldexp(1.0, -(params.fractional_bits + 1)) +
         std::fabs(abs_sum) * std::ldexp(1.0, -53);
}

Result<std::vector<std::uint64_t>> EncodeWideFixedPoint(std::span<const double> values,
                                                        const WideFixedPointParams& params) {
  FEDRAD_RETURN_IF_ERROR(ValidateWideFixedPointParams(params));
  const auto limbs = static_cast<std::size_t>(params.limbs);
  const double bound = WideValueBound(params);
  std::vector<std::uint64_t> out(values.size() * limbs);
  // Offset 2^(56L-1): bit 55 of the top limb.
  const std::uint64_t offset_top = std::uint64_t{1} << (kWideDigitBits - 1);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (!std::isfinite(v) || !(std::fabs(v) < bound)) {
      return InvalidArgument("wide fixed point: value at index " + std::to_string(i) + " is " +
                             (std::isnan(v) ? std::string("nan") : Num(v)) +
                             ", outside the representable range |v| < " + Num(bound) +
                             " (limbs = " + std::to_string(params.limbs) +
                             ", fractional_bits = " + std::to_string(params.fractional_bits) +
                             "; use more limbs or fewer fractional bits)");
    }
    // |Q| < 2^(56L-1): below the bound, |v| 2^f >= 2^55 is already an integer
    // (its ulp is >= 4), so rounding cannot reach 2^(56L-1).
    const Digits a = MagnitudeTimesPow2(std::fabs(v), params.fractional_bits);
    Digits u{};
    if (std::signbit(v) && CompareDigits(a, Digits{}) != 0) {
      Digits offset{};
      offset[limbs - 1] = offset_top;
      u = SubtractDigits(offset, a);  // 2^(56L-1) - |Q| >= 1
    } else {
      u = a;
      u[limbs - 1] += offset_top;  // a[L-1] < 2^55: no carry
    }
    for (std::size_t d = 0; d < limbs; ++d) out[i * limbs + d] = u[d];
  }
  return out;
}

Result<std::vector<double>> DecodeWideFixedPointSum(std::span<const std::uint64_t> sum,
                                                    const WideFixedPointParams& params,
                                                    std::size_t summed_sites) {
  FEDRAD_RETURN_IF_ERROR(ValidateWideFixedPointParams(params));
  if (summed_sites < 1 || summed_sites > kWideMaxSites) {
    return InvalidArgument("wide fixed point: summed_sites must be in [1, " +
                           std::to_string(kWideMaxSites) + "], got " +
                           std::to_string(summed_sites));
  }
  const auto limbs = static_cast<std::size_t>(params.limbs);
  if (sum.size() % limbs != 0) {
    return InvalidArgument("wide fixed point: the sum has " + std::to_string(sum.size()) +
                           " words, not a multiple of limbs = " + std::to_string(limbs));
  }
  const std::uint64_t n = summed_sites;
  const std::uint64_t max_digit_sum = n * kDigitMask;  // < 2^64 for n <= 255
  // n * 2^(56L-1) = (n >> 1) * 2^(56L) + (n & 1) * 2^(56L-1).
  Digits offset{};
  offset[limbs - 1] = (n & 1U) << (kWideDigitBits - 1);
  offset[limbs] = n >> 1;
  std::vector<double> out(sum.size() / limbs);
  for (std::size_t i = 0; i < out.size(); ++i) {
    Digits total{};
    std::uint64_t carry = 0;
    for (std::size_t d = 0; d < limbs; ++d) {
      const std::uint64_t s = sum[i * limbs + d];
      if (s > max_digit_sum) {
        return InvalidArgument(
            "wide fixed point: value at index " + std::to_string(i) + ", limb " +
            std::to_string(d) + ": word " + std::to_string(s) + " exceeds " +
            std::to_string(summed_sites) +
            " * (2^56 - 1); it is not the sum of that many encodings (masks not removed or "
            "wrong site count?)");
      }
      const std::uint64_t x = s + carry;  // <= 255 * 2^56 < 2^64
      total[d] = x & kDigitMask;
      carry = x >> kWideDigitBits;
    }
    total[limbs] = carry;
    const int cmp = CompareDigits(total, offset);
    if (cmp == 0) {
      out[i] = 0.0;
    } else if (cmp > 0) {
      out[i] = DigitsToDouble(SubtractDigits(total, offset), params.fractional_bits);
    } else {
      out[i] = -DigitsToDouble(SubtractDigits(offset, total), params.fractional_bits);
    }
  }
  return out;
}

}  // namespace fedrad::protocols

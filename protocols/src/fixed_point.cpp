#include "fedrad/protocols/fixed_point.hpp"

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

}  // namespace fedrad::protocols

// Fixed-point encoding of real-valued statistics into Z_{2^64}, the ring in
// which secure aggregation (secure_aggregation.hpp) adds masked vectors.
//
// Encoding with f fractional bits (FixedPointParams::fractional_bits):
//
//   q = round_to_nearest(v * 2^f)            (ties away from zero, std::llround)
//   e = (uint64) q                           (two's complement for q < 0)
//
// Sums are taken modulo 2^64; the sum of n encodings, read back as a signed
// 64-bit integer s, decodes to s * 2^-f.
//
// Overflow bound (enforced): every site declares |v| <= B (value_bound). With
// n sites each encoded |q| <= B * 2^f + 1/2, so the true integer sum stays in
// the signed range when n * (B * 2^f + 1) < 2^63. ValidateFixedPointParams()
// refuses parameters that break this and EncodeFixedPoint() refuses (naming
// the index and the value) any value with |v| > B or that is not finite.
//
// Quantisation error: each encoded value differs from v by at most 2^-(f+1);
// the decoded sum of n sites differs from the exact sum by at most
// n * 2^-(f+1) plus the rounding of the final int64 -> double conversion,
// |s| * 2^-53 * 2^-f <= |sum| * 2^-53 (QuantisationErrorBound()).
//
// Trade-off: each extra fractional bit halves the quantisation error and
// halves the admissible n * B. The default f = 40 gives per-site error
// <= 4.5e-13 and admits n * B < 2^23 ~ 8.4e6 (e.g. 10 sites with |v| <= 8e5),
// enough for gradients (~1e2), Hessian entries (~1e3-1e5) and counts while
// keeping the federated core's pooled-equivalence tolerance (1e-8) with a
// margin of four orders of magnitude. Larger statistics need a smaller f.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fedrad/common/status.hpp"

namespace fedrad::protocols {

inline constexpr int kDefaultFractionalBits = 40;

struct FixedPointParams {
  int fractional_bits = kDefaultFractionalBits;  // f, in [0, 62]
  double value_bound = 1e5;                      // B: every |value| <= B at every site
  std::size_t num_sites = 0;                     // n: how many encodings may be summed
};

// Checks 0 <= f <= 62, B > 0 finite, n >= 1 and n * (B * 2^f + 1) < 2^63.
common::Status ValidateFixedPointParams(const FixedPointParams& params);

// Encodes each value (see above). Refuses non-finite values and |v| > B with
// an error naming the index and the value.
common::Result<std::vector<std::uint64_t>> EncodeFixedPoint(std::span<const double> values,
                                                            const FixedPointParams& params);

// Decodes a (modular) sum of encodings: int64 reinterpretation * 2^-f.
common::Result<std::vector<double>> DecodeFixedPointSum(std::span<const std::uint64_t> sum,
                                                        const FixedPointParams& params);

// Bound on |decoded sum - exact sum| for the sum of `sites` encodings whose
// exact sum has magnitude at most `abs_sum`: sites * 2^-(f+1) + abs_sum * 2^-53.
double QuantisationErrorBound(const FixedPointParams& params, std::size_t sites, double abs_sum);

// Adds b into a element-wise modulo 2^64 (a and b of equal length).
void AddModular(std::span<std::uint64_t> a, std::span<const std::uint64_t> b);
// Subtracts b from a element-wise modulo 2^64.
void SubtractModular(std::span<std::uint64_t> a, std::span<const std::uint64_t> b);

}  // namespace fedrad::protocols

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

// ---------------------------------------------------------------------------
// Wide fixed point: what the live rounds use (docs/protocol.md section 6.5).
// Statistics span many orders of magnitude (raw-feature moments Σx² can
// exceed 1e20; gradients near an optimum are ~1e-10), more than one 64-bit
// word holds at a useful resolution. A value is therefore encoded as L
// "limbs" (u64 words), each carrying a 56-bit digit, so that the sum of up
// to 255 sites' digits never wraps a word and the masks of secure
// aggregation can still be added word by word modulo 2^64:
//
//   Q = round_to_nearest(v * 2^f)   (exact integer of up to 56L bits; ties away from 0)
//   U = Q + 2^(56L-1)               (offset binary: 0 <= U < 2^(56L))
//   limb d = (U >> 56d) & (2^56 - 1),  d = 0 (least significant) .. L-1
//
// Limbs of value i are stored at [i*L, i*L + L). Summing n encodings word by
// word (mod 2^64, masks cancelled) gives per-limb digit sums S_d < n * 2^56,
// exact for n <= 255; the decoder recombines Σ_d S_d 2^(56d) - n 2^(56L-1)
// exactly in integer arithmetic and converts to double once (one rounding,
// <= 1/2 ulp of the sum) times 2^-f.
//
// Range and error: |v| must be < 2^(56L-1-f) (WideValueBound; refused with
// an error naming the index and value otherwise, as are NaN and ±inf); each
// encoding is within 2^-(f+1) of v, so a sum of n sites is within
// n 2^-(f+1) + 1/2 ulp(sum) of the exact sum. Defaults f = 40, L = 2:
// |v| < 2^71 ≈ 2.4e21 with 4.5e-13 absolute resolution; moments of raw
// features use L = 3 (|v| < 2^127 ≈ 1.7e38).
inline constexpr int kWideDigitBits = 56;
inline constexpr int kWideMaxLimbs = 4;
inline constexpr std::size_t kWideMaxSites = 255;

struct WideFixedPointParams {
  int fractional_bits = kDefaultFractionalBits;  // f, in [0, 64]
  int limbs = 2;                                 // L, in [1, kWideMaxLimbs]
};

// Checks f in [0, 64], L in [1, 4] and 56L - 1 - f >= 1.
common::Status ValidateWideFixedPointParams(const WideFixedPointParams& params);

// 2^(56L - 1 - f): every |value| must be strictly below it.
double WideValueBound(const WideFixedPointParams& params);

// values.size() * L words; see above. Errors name the index and the value.
common::Result<std::vector<std::uint64_t>> EncodeWideFixedPoint(std::span<const double> values,
                                                                const WideFixedPointParams& params);

// Decodes the word-wise modular sum of exactly `summed_sites` encodings
// (1..255): sum.size() must be a multiple of L.
common::Result<std::vector<double>> DecodeWideFixedPointSum(std::span<const std::uint64_t> sum,
                                                            const WideFixedPointParams& params,
                                                            std::size_t summed_sites);

// Bound on |decoded sum - exact sum| for the sum of `sites` wide encodings
// whose exact sum has magnitude at most `abs_sum`: sites * 2^-(f+1) (per-value
// rounding) + abs_sum * 2^-53 (the single round-to-nearest-even conversion of
// the exact integer sum to double; scaling by 2^-f is exact because the result
// lies in [2^-64, 2^233), far from the subnormal and overflow ranges).
// DecodeWideFixedPointSum also refuses a word above summed_sites * (2^56 - 1),
// which no sum of that many encodings can produce.
double WideQuantisationErrorBound(const WideFixedPointParams& params, std::size_t sites,
                                  double abs_sum);

}  // namespace fedrad::protocols

#include "fedrad/site_agent/radiomics/intensity.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "fedrad/site_agent/radiomics/discretise.hpp"

namespace fedrad::site_agent::radiomics {
namespace {

// numpy's linear interpolation between a and b at t in [0, 1] (numpy._lerp):
// evaluated from the nearer end so that t = 1 gives exactly b.
double Lerp(double a, double b, double t) {
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

// The sample's percentiles P_10, P_25, P_75, P_90 (by `method`) and median,
// from one scratch buffer reordered by std::nth_element: the needed ranks are
// collected, sorted, and each is selected within the part of the buffer that
// the previous selection left to its right, so the total work is O(N).
struct Quantiles {
  double p10 = 0.0;
  double p25 = 0.0;
  double p75 = 0.0;
  double p90 = 0.0;
  double median = 0.0;
};

class RankSelector {
 public:
  void Request(std::size_t rank) {
    if (count_ < ranks_.size()) ranks_[count_++] = rank;
  }

  // Selects the requested order statistics of `data` (non-empty, finite,
  // minimum `lo`, maximum `hi`) without reordering it: the values are put
  // into kBuckets buckets by the monotone map (v - lo) * kBuckets / (hi - lo)
  // (floating-point subtraction, multiplication and truncation are all
  // non-decreasing, so bucket order is value order), the cumulative bucket
  // counts say which bucket holds each rank, and only those buckets' values
  // are copied out and selected within. The values found are the exact order
  // statistics; the work is O(N) with a small constant.
  static constexpr int kBuckets = 1024;

  // The bucket map of Select for a sample with minimum lo and maximum hi;
  // not valid when the sample is constant or the scale overflows (Select
  // then partitions a copy instead).
  struct BucketMap {
    double lo = 0.0;
    double scale = 0.0;
    bool valid = false;
    int operator()(double v) const {
      const double t = (v - lo) * scale;
      return t < static_cast<double>(kBuckets - 1) ? static_cast<int>(t) : kBuckets - 1;
    }
  };
  static BucketMap MakeBucketMap(double lo, double hi) {
    BucketMap map;
    map.lo = lo;
    map.scale = static_cast<double>(kBuckets) / (hi - lo);
    map.valid = hi > lo && std::isfinite(map.scale) && map.scale > 0.0;
    return map;
  }
  // Bucket sizes: start[b + 1] = number of values in bucket b (start[0] = 0).
  using BucketStarts = std::array<std::size_t, kBuckets + 1>;

  void Select(std::span<const double> data, double lo, double hi) {
    const BucketMap map = MakeBucketMap(lo, hi);
    if (!map.valid) {
      std::vector<double> copy(data.begin(), data.end());
      SelectByPartition(copy);
      return;
    }
    BucketStarts start{};
    for (double v : data) ++start[static_cast<std::size_t>(map(v)) + 1];
    SelectCounted(data, map, start);
  }

  // Select with the bucket sizes of `data` under `map` (valid) already
  // counted, e.g. in a pass that computes other sums too.
  void SelectCounted(std::span<const double> data, const BucketMap& map, BucketStarts start) {
    SortRanks();
    const auto bucket_of = [&map](double v) { return map(v); };
    for (int b = 0; b < kBuckets; ++b) start[b + 1] += start[b];
    // Bucket of each requested rank, and one scratch slice per distinct bucket.
    std::array<int, 16> bucket_of_rank{};
    std::array<int, kBuckets> slot;
    slot.fill(-1);
    std::array<int, 16> slot_bucket{};
    int slots = 0;
    for (std::size_t i = 0; i < count_; ++i) {
      const auto it = std::upper_bound(start.begin(), start.end(), ranks_[i]);
      const int b = static_cast<int>(it - start.begin()) - 1;
      bucket_of_rank[i] = b;
      if (slot[static_cast<std::size_t>(b)] < 0) {
        slot[static_cast<std::size_t>(b)] = slots;
        slot_bucket[static_cast<std::size_t>(slots)] = b;
        ++slots;
      }
    }
    std::array<std::size_t, 17> offset{};
    for (int k = 0; k < slots; ++k) {
      const int b = slot_bucket[static_cast<std::size_t>(k)];
      offset[static_cast<std::size_t>(k) + 1] = offset[static_cast<std::size_t>(k)] +
                                                start[static_cast<std::size_t>(b) + 1] -
                                                start[static_cast<std::size_t>(b)];
    }
    std::vector<double> scratch(offset[static_cast<std::size_t>(slots)]);
    std::array<std::size_t, 16> fill{};
    for (int k = 0; k < slots; ++k)
      fill[static_cast<std::size_t>(k)] = offset[static_cast<std::size_t>(k)];
    for (double v : data) {
      const int k = slot[static_cast<std::size_t>(bucket_of(v))];
      if (k >= 0) scratch[fill[static_cast<std::size_t>(k)]++] = v;
    }
    for (std::size_t i = 0; i < count_; ++i) {
      const int b = bucket_of_rank[i];
      const std::size_t k = static_cast<std::size_t>(slot[static_cast<std::size_t>(b)]);
      const auto first = scratch.begin() + static_cast<std::ptrdiff_t>(offset[k]);
      const auto last = scratch.begin() + static_cast<std::ptrdiff_t>(offset[k + 1]);
      const auto nth =
          first + static_cast<std::ptrdiff_t>(ranks_[i] - start[static_cast<std::size_t>(b)]);
      std::nth_element(first, nth, last);
      values_[i] = *nth;
    }
  }

  // Selects the requested order statistics of a sample given as counts:
  // counts[v] copies of the value v (v = 0, 1, ...).
  void SelectFromCounts(std::span<const std::size_t> counts) {
    SortRanks();
    std::size_t below = 0;  // sample values smaller than v
    std::size_t i = 0;
    for (std::size_t v = 0; v < counts.size() && i < count_; ++v) {
      below += counts[v];
      while (i < count_ && ranks_[i] < below) values_[i++] = static_cast<double>(v);
    }
  }

  // The same through repeated std::nth_element on `data` (reordered).
  void SelectByPartition(std::vector<double>& data) {
    SortRanks();
    std::size_t from = 0;
    for (std::size_t i = 0; i < count_; ++i) {
      const auto begin = data.begin();
      std::nth_element(begin + static_cast<std::ptrdiff_t>(from),
                       begin + static_cast<std::ptrdiff_t>(ranks_[i]), data.end());
      values_[i] = data[ranks_[i]];
      from = ranks_[i];
    }
  }

  // x_(rank) of the sorted sample; `rank` must have been requested.
  double At(std::size_t rank) const {
    const auto end = ranks_.begin() + static_cast<std::ptrdiff_t>(count_);
    const auto it = std::lower_bound(ranks_.begin(), end, rank);
    return values_[static_cast<std::size_t>(it - ranks_.begin())];
  }

 private:
  void SortRanks() {
    std::sort(ranks_.begin(), ranks_.begin() + static_cast<std::ptrdiff_t>(count_));
    count_ = static_cast<std::size_t>(
        std::unique(ranks_.begin(), ranks_.begin() + static_cast<std::ptrdiff_t>(count_)) -
        ranks_.begin());
  }

  std::array<std::size_t, 16> ranks_{};
  std::array<double, 16> values_{};
  std::size_t count_ = 0;
};

struct PercentileRanks {
  std::size_t low = 0;
  std::size_t high = 0;
  double fraction = 0.0;  // kLinear: weight of `high`
};

PercentileRanks RanksOf(std::size_t n, double q, PercentileMethod method) {
  PercentileRanks ranks;
  if (method == PercentileMethod::kNearestRank) {
    const double k = std::ceil(q / 100.0 * static_cast<double>(n));
    const std::size_t rank = k <= 1.0 ? 0 : static_cast<std::size_t>(k) - 1;
    ranks.low = ranks.high = std::min(rank, n - 1);
    return ranks;
  }
  // numpy: virtual index (q / 100) * (n - 1).
  const double h = std::clamp(q / 100.0, 0.0, 1.0) * static_cast<double>(n - 1);
  const double low = std::floor(h);
  ranks.low = std::min(static_cast<std::size_t>(low), n - 1);
  ranks.high = std::min(ranks.low + 1, n - 1);
  ranks.fraction = h - low;
  return ranks;
}

double PercentileFrom(const RankSelector& selector, const PercentileRanks& ranks) {
  return Lerp(selector.At(ranks.low), selector.At(ranks.high), ranks.fraction);
}

// The quantiles of a sample of n values; `select` selects the requested
// ranks in the selector.
template <typename SelectFn>
Quantiles ComputeQuantiles(std::size_t n, PercentileMethod method, SelectFn select) {
  const std::array<double, 4> qs = {10.0, 25.0, 75.0, 90.0};
  std::array<PercentileRanks, 4> ranks{};
  RankSelector selector;
  for (std::size_t i = 0; i < qs.size(); ++i) {
    ranks[i] = RanksOf(n, qs[i], method);
    selector.Request(ranks[i].low);
    selector.Request(ranks[i].high);
  }
  const std::size_t mid_low = (n - 1) / 2;
  const std::size_t mid_high = n / 2;
  selector.Request(mid_low);
  selector.Request(mid_high);
  select(selector);

  Quantiles out;
  out.p10 = PercentileFrom(selector, ranks[0]);
  out.p25 = PercentileFrom(selector, ranks[1]);
  out.p75 = PercentileFrom(selector, ranks[2]);
  out.p90 = PercentileFrom(selector, ranks[3]);
  // numpy.median: the mean of the two middle values when n is even.
  out.median = mid_low == mid_high ? selector.At(mid_low)
                                   : (selector.At(mid_low) + selector.At(mid_high)) / 2.0;
  return out;
}

// Everything the two families share, for a non-empty finite sample.
struct SampleStats {
  std::size_t n = 0;
  double min = 0.0;
  double max = 0.0;
  double mean = 0.0;
  double m2 = 0.0;  // central moments, population
  double m3 = 0.0;
  double m4 = 0.0;
  Quantiles quantiles;
  double mean_abs_dev = 0.0;
  double robust_mean_abs_dev = 0.0;
  double median_abs_dev = 0.0;
};

// The first pass over a first-order sample: the sum, the energy sum (of
// (v + shift)^2), the smallest value (its first occurrence, as
// std::minmax_element) and the largest (its last occurrence). The two sums are
// independent chains in one loop, each over `data` in its given order.
//
// The pass also counts the bucket sizes of the quantile selection
// (RankSelector::Select) when `map` is valid. The map comes from the
// extremes found by ValueRange, which may differ from the ones above only in
// the sign of a zero; that changes no bucket: v - lo then differs at most in
// the sign of a zero result, which truncates to bucket 0 either way, and
// hi - lo not at all.
struct FirstPass {
  double sum = 0.0;
  double energy = 0.0;
  double min = 0.0;
  double max = 0.0;
  RankSelector::BucketStarts buckets{};  // counted only with a valid map
};

void ComputeFirstPass(std::span<const double> data, double shift,
                      const RankSelector::BucketMap& map, FirstPass& f) {
  if (data.empty()) return;
  double sum = 0.0;
  double energy = 0.0;
  double lo = data[0];
  double hi = data[0];
  if (map.valid) {
    std::size_t* const counts = f.buckets.data() + 1;
    for (double v : data) {
      energy += (v + shift) * (v + shift);
      sum += v;
      lo = v < lo ? v : lo;
      hi = v < hi ? hi : v;
      ++counts[static_cast<std::size_t>(map(v))];
    }
  } else {
    for (double v : data) {
      energy += (v + shift) * (v + shift);
      sum += v;
      lo = v < lo ? v : lo;
      hi = v < hi ? hi : v;
    }
  }
  f.sum = sum;
  f.energy = energy;
  f.min = lo;
  f.max = hi;
}

// The smallest and largest of `data` (non-empty, finite) by value, with
// four lanes (vectorised; no FMA, comparisons only). Which of equal values
// (+0 and -0) is returned is not specified; see FirstPass.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FEDRAD_RANGE_KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define FEDRAD_RANGE_KERNEL
#endif
FEDRAD_RANGE_KERNEL std::pair<double, double> ValueRange(const double* data, std::size_t n) {
  using V4 = double __attribute__((vector_size(32)));
  double lo = data[0];
  double hi = data[0];
  std::size_t i = 0;
  if (n >= 4) {
    V4 vlo;
    std::memcpy(&vlo, data, sizeof(V4));
    V4 vhi = vlo;
    for (i = 4; i + 4 <= n; i += 4) {
      V4 v;
      std::memcpy(&v, data + i, sizeof(V4));
      vlo = v < vlo ? v : vlo;
      vhi = v > vhi ? v : vhi;
    }
    for (int lane = 0; lane < 4; ++lane) {
      lo = vlo[lane] < lo ? vlo[lane] : lo;
      hi = vhi[lane] > hi ? vhi[lane] : hi;
    }
  }
  for (; i < n; ++i) {
    lo = data[i] < lo ? data[i] : lo;
    hi = data[i] > hi ? data[i] : hi;
  }
  return {lo, hi};
}

// `value` when `keep`, else +0.0, by masking its bits (GCC turns a plain
// `keep ? value : 0.0` back into a branch).
inline double KeepIf(bool keep, double value) {
  const std::uint64_t mask = std::uint64_t{0} - static_cast<std::uint64_t>(keep);
  return std::bit_cast<double>(std::bit_cast<std::uint64_t>(value) & mask);
}

// The sums run over `data` in its given order (the ROI's raster order);
// `first` is ComputeFirstPass(data, ...). The conditional sums of the robust
// mean and deviation add 0.0 for the values outside [P_10, P_90] instead of
// branching (unpredictable for speckle): a sum that starts at +0.0 is never
// -0.0, so adding +0.0 leaves it unchanged and the sums are those of the
// branching loop, bit for bit.
SampleStats ComputeSampleStats(std::span<const double> data, const FirstPass& first,
                               const RankSelector::BucketMap& map, PercentileMethod method) {
  SampleStats s;
  s.n = data.size();
  const double n = static_cast<double>(s.n);
  s.min = first.min;
  s.max = first.max;
  s.quantiles = ComputeQuantiles(s.n, method, [&](RankSelector& selector) {
    if (map.valid) {
      selector.SelectCounted(data, map, first.buckets);
    } else {
      selector.Select(data, s.min, s.max);
    }
  });
  if (s.min == s.max) {  // constant sample: exact values, no rounding noise
    s.mean = s.min;
    return s;
  }
  s.mean = first.sum / n;
  double m2 = 0.0, m3 = 0.0, m4 = 0.0, abs_dev = 0.0, median_dev = 0.0;
  double robust_sum = 0.0;
  std::size_t robust_count = 0;
  const Quantiles& q = s.quantiles;
  const double p10 = q.p10;
  const double p90 = q.p90;
  const double median = q.median;
  const double mean = s.mean;
  for (double v : data) {
    const double d = v - mean;
    const double d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
    abs_dev += std::fabs(d);
    median_dev += std::fabs(v - median);
    const bool robust = (v >= p10) & (v <= p90);
    robust_sum += KeepIf(robust, v);
    robust_count += robust ? 1 : 0;
  }
  s.m2 = m2 / n;
  s.m3 = m3 / n;
  s.m4 = m4 / n;
  s.mean_abs_dev = abs_dev / n;
  s.median_abs_dev = median_dev / n;
  if (robust_count > 0) {
    const double robust_mean = robust_sum / static_cast<double>(robust_count);
    double robust_dev = 0.0;
    for (double v : data) {
      const bool robust = (v >= p10) & (v <= p90);
      robust_dev += KeepIf(robust, std::fabs(v - robust_mean));
    }
    s.robust_mean_abs_dev = robust_dev / static_cast<double>(robust_count);
  }
  return s;
}

// The same statistics for the sample holding counts[v] copies of the value v
// (v = 0, 1, ...; a non-empty sample), in O(number of values): each sum adds
// count * term per distinct value. The count-weighted sums differ from
// element-by-element sums in the last bits only (<= about 1e-15 relative to
// the sum of absolute terms); min, max, mean, the quantiles and the median
// deviation (sums of integers and half-integers) are exact either way.
SampleStats ComputeSampleStatsFromCounts(std::span<const std::size_t> counts,
                                         PercentileMethod method) {
  SampleStats s;
  std::size_t lowest = counts.size();
  std::size_t highest = 0;
  std::size_t total = 0;
  double sum = 0.0;
  for (std::size_t v = 0; v < counts.size(); ++v) {
    if (counts[v] == 0) continue;
    lowest = std::min(lowest, v);
    highest = v;
    total += counts[v];
    sum += static_cast<double>(counts[v]) * static_cast<double>(v);
  }
  s.n = total;
  const double n = static_cast<double>(total);
  s.min = static_cast<double>(lowest);
  s.max = static_cast<double>(highest);
  s.quantiles = ComputeQuantiles(
      s.n, method, [&](RankSelector& selector) { selector.SelectFromCounts(counts); });
  if (s.min == s.max) {
    s.mean = s.min;
    return s;
  }
  s.mean = sum / n;
  double m2 = 0.0, m3 = 0.0, m4 = 0.0, abs_dev = 0.0, median_dev = 0.0;
  double robust_sum = 0.0;
  std::size_t robust_count = 0;
  const Quantiles& q = s.quantiles;
  for (std::size_t level = lowest; level <= highest; ++level) {
    if (counts[level] == 0) continue;
    const double c = static_cast<double>(counts[level]);
    const double v = static_cast<double>(level);
    const double d = v - s.mean;
    const double d2 = d * d;
    m2 += c * d2;
    m3 += c * (d2 * d);
    m4 += c * (d2 * d2);
    abs_dev += c * std::fabs(d);
    median_dev += c * std::fabs(v - q.median);
    if (v >= q.p10 && v <= q.p90) {
      robust_sum += c * v;
      robust_count += counts[level];
    }
  }
  s.m2 = m2 / n;
  s.m3 = m3 / n;
  s.m4 = m4 / n;
  s.mean_abs_dev = abs_dev / n;
  s.median_abs_dev = median_dev / n;
  if (robust_count > 0) {
    const double robust_mean = robust_sum / static_cast<double>(robust_count);
    double robust_dev = 0.0;
    for (std::size_t level = lowest; level <= highest; ++level) {
      const double v = static_cast<double>(level);
      if (counts[level] != 0 && v >= q.p10 && v <= q.p90) {
        robust_dev += static_cast<double>(counts[level]) * std::fabs(v - robust_mean);
      }
    }
    s.robust_mean_abs_dev = robust_dev / static_cast<double>(robust_count);
  }
  return s;
}

double Skewness(const SampleStats& s) { return s.m2 > 0.0 ? s.m3 / std::pow(s.m2, 1.5) : 0.0; }
double Kurtosis(const SampleStats& s) { return s.m2 > 0.0 ? s.m4 / (s.m2 * s.m2) : 0.0; }
double ExcessKurtosis(const SampleStats& s) { return s.m2 > 0.0 ? Kurtosis(s) - 3.0 : 0.0; }
double SafeRatio(double numerator, double denominator) {
  return denominator != 0.0 ? numerator / denominator : 0.0;
}
double CoefficientOfVariation(const SampleStats& s) { return SafeRatio(std::sqrt(s.m2), s.mean); }
double QuartileCoefficientOfDispersion(const SampleStats& s) {
  return SafeRatio(s.quantiles.p75 - s.quantiles.p25, s.quantiles.p75 + s.quantiles.p25);
}

// Histogram of valid levels: counts[i] = n_i for i in 1..Ng (counts[0] unused).
struct LevelHistogram {
  std::vector<std::size_t> counts;
  std::size_t total = 0;
  int num_levels = 0;  // Ng
};

// Smallest and largest of the levels (INT_MAX / INT_MIN when empty); a
// branch-free loop the compiler vectorises (also for AVX2, which has the
// integer min/max instructions).
FEDRAD_RANGE_KERNEL std::pair<int, int> LevelRange(std::span<const int> levels) {
  int lowest = std::numeric_limits<int>::max();
  int highest = std::numeric_limits<int>::min();
  for (int level : levels) {
    lowest = std::min(lowest, level);
    highest = std::max(highest, level);
  }
  return {lowest, highest};
}

LevelHistogram BuildHistogram(std::span<const int> levels, int num_levels) {
  const int wanted = std::clamp(num_levels, 0, kMaxDiscretisationLevels);
  std::vector<std::size_t> counts;
  std::size_t total = 0;
  int highest = 0;
  const auto [low, high] = LevelRange(levels);
  if (!levels.empty() && low >= 1 && high <= kMaxDiscretisationLevels) {
    // Usual case, every level valid: the table at its final size at once,
    // then a plain counting loop. The same counts, total and highest level
    // as the general loop below.
    const std::size_t size = static_cast<std::size_t>(std::max({wanted, 64, high})) + 1;
    counts.assign(size, 0);
    // Four interleaved tables, so that runs of one level do not serialise
    // on one counter; integer counts, summed exactly.
    std::vector<std::uint32_t> parts(4 * size, 0);
    std::uint32_t* const part0 = parts.data();
    std::uint32_t* const part1 = part0 + size;
    std::uint32_t* const part2 = part1 + size;
    std::uint32_t* const part3 = part2 + size;
    const std::size_t n = levels.size();
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
      ++part0[static_cast<std::size_t>(levels[i])];
      ++part1[static_cast<std::size_t>(levels[i + 1])];
      ++part2[static_cast<std::size_t>(levels[i + 2])];
      ++part3[static_cast<std::size_t>(levels[i + 3])];
    }
    for (; i < n; ++i) ++part0[static_cast<std::size_t>(levels[i])];
    for (std::size_t v = 0; v < size; ++v) {
      counts[v] = std::size_t{part0[v]} + part1[v] + part2[v] + part3[v];
    }
    total = levels.size();
    highest = high;
  } else {
    // One pass: the table grows to the highest level seen.
    counts.assign(static_cast<std::size_t>(std::max(wanted, 64)) + 1, 0);
    for (int level : levels) {
      if (level < 1 || level > kMaxDiscretisationLevels) continue;
      if (static_cast<std::size_t>(level) >= counts.size()) {
        counts.resize(static_cast<std::size_t>(level) + 1, 0);
      }
      ++counts[static_cast<std::size_t>(level)];
      ++total;
      highest = std::max(highest, level);
    }
  }
  LevelHistogram h;
  if (highest == 0) return h;
  h.num_levels = std::max(highest, wanted);
  counts.resize(static_cast<std::size_t>(h.num_levels) + 1);
  h.counts = std::move(counts);
  h.total = total;
  return h;
}

struct EntropyUniformity {
  double entropy = 0.0;
  double uniformity = 0.0;
};

EntropyUniformity HistogramEntropy(const LevelHistogram& h) {
  EntropyUniformity out;
  const double total = static_cast<double>(h.total);
  for (std::size_t count : h.counts) {
    if (count == 0) continue;
    const double p = static_cast<double>(count) / total;
    out.entropy -= p * std::log2(p);
    out.uniformity += p * p;
  }
  return out;
}

void Add(FeatureList& list, const char* name, const char* ibsi_code, double value) {
  list.push_back(Feature{name, ibsi_code, value});
}

}  // namespace

double Percentile(std::span<const double> values, double q, PercentileMethod method) {
  std::vector<double> data;
  data.reserve(values.size());
  for (double v : values) {
    if (std::isfinite(v)) data.push_back(v);
  }
  if (data.empty()) return 0.0;
  const PercentileRanks ranks = RanksOf(data.size(), q, method);
  RankSelector selector;
  selector.Request(ranks.low);
  selector.Request(ranks.high);
  const auto [min_it, max_it] = std::minmax_element(data.begin(), data.end());
  selector.Select(data, *min_it, *max_it);
  return PercentileFrom(selector, ranks);
}

namespace {

// The feature list of FirstOrderFeatures from its sums and statistics.
FeatureList FirstOrderList(double energy, const SampleStats& s, std::span<const int> levels,
                           const Spacing& spacing, double shift) {
  FeatureList features;
  const Quantiles& q = s.quantiles;
  const LevelHistogram histogram = BuildHistogram(levels, 0);
  const bool has_levels = histogram.total > 0;
  const EntropyUniformity eu = has_levels ? HistogramEntropy(histogram) : EntropyUniformity{};
  const bool ibsi_energy = shift == 0.0;

  features.reserve(23);
  Add(features, "Energy", ibsi_energy ? "N8CA" : "", energy);
  Add(features, "TotalEnergy", "", spacing.x_mm * spacing.y_mm * energy);
  if (has_levels) Add(features, "Entropy", "TLU2", eu.entropy);
  Add(features, "Minimum", "1GSF", s.min);
  Add(features, "10Percentile", "QG58", q.p10);
  Add(features, "90Percentile", "8DWT", q.p90);
  Add(features, "Maximum", "84IY", s.max);
  Add(features, "Mean", "Q4LE", s.mean);
  Add(features, "Median", "Y12H", q.median);
  Add(features, "InterquartileRange", "SALO", q.p75 - q.p25);
  Add(features, "Range", "2OJQ", s.max - s.min);
  Add(features, "MeanAbsoluteDeviation", "4FUA", s.mean_abs_dev);
  Add(features, "RobustMeanAbsoluteDeviation", "1128", s.robust_mean_abs_dev);
  Add(features, "RootMeanSquared", ibsi_energy ? "5ZWQ" : "",
      std::sqrt(energy / static_cast<double>(s.n)));
  Add(features, "StandardDeviation", "", std::sqrt(s.m2));
  Add(features, "Skewness", "KE2A", Skewness(s));
  Add(features, "Kurtosis", "", Kurtosis(s));
  Add(features, "ExcessKurtosis", "IPH6", ExcessKurtosis(s));
  Add(features, "Variance", "ECT3", s.m2);
  if (has_levels) Add(features, "Uniformity", "BJ5W", eu.uniformity);
  Add(features, "MedianAbsoluteDeviation", "N72L", s.median_abs_dev);
  Add(features, "CoefficientOfVariation", "7TET", CoefficientOfVariation(s));
  Add(features, "QuartileCoefficientOfDispersion", "9S40", QuartileCoefficientOfDispersion(s));
  return features;
}

}  // namespace

FeatureList FirstOrderFeatures(std::span<const double> values, std::span<const int> levels,
                               const Spacing& spacing, const FirstOrderOptions& options) {
  // The finite values (a copy only when some value is not finite).
  bool all_finite = true;
  for (double v : values) all_finite &= std::fabs(v) <= std::numeric_limits<double>::max();
  std::vector<double> finite;
  if (!all_finite) {
    finite.reserve(values.size());
    for (double v : values) {
      if (std::isfinite(v)) finite.push_back(v);
    }
  }
  const std::span<const double> data = all_finite ? values : std::span<const double>(finite);
  if (data.empty()) return {};

  const double shift = options.voxel_array_shift;
  const auto [range_lo, range_hi] = ValueRange(data.data(), data.size());
  const RankSelector::BucketMap map = RankSelector::MakeBucketMap(range_lo, range_hi);
  FirstPass first;
  ComputeFirstPass(data, shift, map, first);
  const SampleStats s = ComputeSampleStats(data, first, map, options.percentile_method);
  return FirstOrderList(first.energy, s, levels, spacing, shift);
}

FeatureList IntensityHistogramFeatures(std::span<const int> levels, int num_levels,
                                       PercentileMethod method) {
  FeatureList features;
  const LevelHistogram h = BuildHistogram(levels, num_levels);
  if (h.total == 0) return features;

  // The statistics straight from the level counts (counts[0] is 0).
  const SampleStats s = ComputeSampleStatsFromCounts(h.counts, method);
  const Quantiles& q = s.quantiles;
  const EntropyUniformity eu = HistogramEntropy(h);

  // Mode: highest count; ties -> closest to the mean, then the lower level.
  int mode = 1;
  for (int i = 1; i <= h.num_levels; ++i) {
    const std::size_t count = h.counts[static_cast<std::size_t>(i)];
    const std::size_t best = h.counts[static_cast<std::size_t>(mode)];
    if (count > best || (count == best && std::fabs(i - s.mean) < std::fabs(mode - s.mean))) {
      mode = i;
    }
  }

  // Histogram gradient (IBSI), its extrema and where they are first reached.
  const auto n_at = [&h](int i) {
    return static_cast<double>(h.counts[static_cast<std::size_t>(i)]);
  };
  const int ng = h.num_levels;
  double max_gradient = 0.0, min_gradient = 0.0;
  int max_gradient_level = 1, min_gradient_level = 1;
  for (int i = 1; i <= ng; ++i) {
    double gradient = 0.0;
    if (ng >= 2) {
      if (i == 1) {
        gradient = n_at(2) - n_at(1);
      } else if (i == ng) {
        gradient = n_at(ng) - n_at(ng - 1);
      } else {
        gradient = (n_at(i + 1) - n_at(i - 1)) / 2.0;
      }
    }
    if (i == 1 || gradient > max_gradient) {
      max_gradient = gradient;
      max_gradient_level = i;
    }
    if (i == 1 || gradient < min_gradient) {
      min_gradient = gradient;
      min_gradient_level = i;
    }
  }

  features.reserve(23);
  Add(features, "Mean", "X6K6", s.mean);
  Add(features, "Variance", "CH89", s.m2);
  Add(features, "Skewness", "88K1", Skewness(s));
  Add(features, "ExcessKurtosis", "C3I7", ExcessKurtosis(s));
  Add(features, "Median", "WIFQ", q.median);
  Add(features, "Minimum", "1PR8", s.min);
  Add(features, "10Percentile", "GPMT", q.p10);
  Add(features, "90Percentile", "OZ0C", q.p90);
  Add(features, "Maximum", "3NCY", s.max);
  Add(features, "Mode", "AMMC", static_cast<double>(mode));
  Add(features, "InterquartileRange", "WR0O", q.p75 - q.p25);
  Add(features, "Range", "5Z3W", s.max - s.min);
  Add(features, "MeanAbsoluteDeviation", "D2ZX", s.mean_abs_dev);
  Add(features, "RobustMeanAbsoluteDeviation", "WRZB", s.robust_mean_abs_dev);
  Add(features, "MedianAbsoluteDeviation", "4RNL", s.median_abs_dev);
  Add(features, "CoefficientOfVariation", "CWYJ", CoefficientOfVariation(s));
  Add(features, "QuartileCoefficientOfDispersion", "SLWD", QuartileCoefficientOfDispersion(s));
  Add(features, "Entropy", "TLU2", eu.entropy);
  Add(features, "Uniformity", "BJ5W", eu.uniformity);
  Add(features, "MaximumHistogramGradient", "12CE", max_gradient);
  Add(features, "MaximumHistogramGradientIntensity", "8E6O",
      static_cast<double>(max_gradient_level));
  Add(features, "MinimumHistogramGradient", "VQB3", min_gradient);
  Add(features, "MinimumHistogramGradientIntensity", "RHQZ",
      static_cast<double>(min_gradient_level));
  return features;
}

}  // namespace fedrad::site_agent::radiomics

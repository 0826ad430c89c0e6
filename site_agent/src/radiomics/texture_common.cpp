// Shared helpers of the texture families: input validation, feature lists,
// the level x size statistics and a small symmetric eigenvalue solver.
#include "texture_common.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

namespace fedrad::site_agent::radiomics {

namespace texture_internal {

RoiBox FindRoiBox(const LevelImage& image) {
  const Grid<int>& grid = image.levels;
  if (grid.width < 0 || grid.height < 0 ||
      grid.data.size() !=
          static_cast<std::size_t>(grid.width) * static_cast<std::size_t>(grid.height)) {
    throw std::invalid_argument("texture: LevelImage data size does not match width*height");
  }
  if (image.num_levels < 0 || image.num_levels > kMaxTextureLevels) {
    throw std::invalid_argument("texture: LevelImage num_levels " +
                                std::to_string(image.num_levels) + " is outside 0.." +
                                std::to_string(kMaxTextureLevels));
  }
  RoiBox box{grid.width, grid.height, 0, 0};
  const int num_levels = image.num_levels;
  // All-zero rows (most of a large image with a small ROI) are skipped with
  // memcmp against a zero row, which the C library vectorises.
  const std::vector<int> zeros(static_cast<std::size_t>(grid.width), 0);
  const std::size_t row_bytes = zeros.size() * sizeof(int);
  for (int y = 0; y < grid.height; ++y) {
    const int* row = grid.data.data() + Index(0, y, grid.width);
    if (row_bytes == 0 || std::memcmp(row, zeros.data(), row_bytes) == 0) continue;
    int first = 0;
    while (row[first] == 0) ++first;
    int last = grid.width - 1;
    while (row[last] == 0) --last;
    // Range check without a branch per pixel (vectorised): a level outside
    // 0..num_levels is, as unsigned, above num_levels; only then is it
    // located for the message.
    const auto limit = static_cast<unsigned>(num_levels);
    unsigned outside = 0;
    for (int x = first; x <= last; ++x) {
      outside |= static_cast<unsigned>(static_cast<unsigned>(row[x]) > limit);
    }
    if (outside != 0) {
      for (int x = first; x <= last; ++x) {
        if (row[x] < 0 || row[x] > num_levels) {
          throw std::invalid_argument("texture: level " + std::to_string(row[x]) + " at (" +
                                      std::to_string(x) + "," + std::to_string(y) +
                                      ") is outside 0..num_levels=" + std::to_string(num_levels));
        }
      }
    }
    box.x0 = std::min(box.x0, first);
    box.x1 = std::max(box.x1, last + 1);
    box.y0 = std::min(box.y0, y);
    box.y1 = y + 1;
  }
  if (box.x1 <= box.x0) return RoiBox{};
  return box;
}

PaddedLevels MakePaddedLevels(const LevelImage& image, const RoiBox& box, int pad) {
  PaddedLevels padded;
  padded.pad = pad;
  padded.width = box.width() + 2 * pad;
  padded.height = box.height() + 2 * pad;
  padded.data.assign(
      static_cast<std::size_t>(padded.width) * static_cast<std::size_t>(padded.height), 0);
  for (int y = 0; y < box.height(); ++y) {
    const int* source = image.levels.data.data() + Index(box.x0, box.y0 + y, image.levels.width);
    std::copy_n(source, box.width(),
                padded.data.begin() + static_cast<std::ptrdiff_t>(padded.IndexOf(0, y)));
  }
  return padded;
}

std::vector<std::ptrdiff_t> NeighbourOffsets(const PaddedLevels& padded, int distance) {
  std::vector<std::ptrdiff_t> offsets;
  const int side = 2 * distance + 1;
  offsets.reserve(static_cast<std::size_t>(side * side - 1));
  for (int dy = -distance; dy <= distance; ++dy) {
    for (int dx = -distance; dx <= distance; ++dx) {
      if (dx != 0 || dy != 0) offsets.push_back(padded.Step(dx, dy));
    }
  }
  return offsets;
}

void RequireAtLeast(int value, int minimum, const char* what) {
  if (value < minimum) {
    throw std::invalid_argument(std::string("texture: ") + what + " must be >= " +
                                std::to_string(minimum) + " (got " + std::to_string(value) + ")");
  }
}

FeatureList MakeFeatureList(std::span<const TextureFeatureDef> defs,
                            std::span<const double> values) {
  FeatureList features;
  features.reserve(defs.size());
  for (std::size_t k = 0; k < defs.size(); ++k) {
    features.push_back(
        Feature{std::string(defs[k].name), std::string(defs[k].ibsi_code), values[k]});
  }
  return features;
}

SizeStats ComputeSizeStats(const LevelSizeMatrix& matrix) {
  SizeStats stats{};
  const std::size_t num_columns = matrix.num_columns();
  const int num_levels = matrix.num_levels;
  std::vector<double> column_sums(num_columns, 0.0);
  std::vector<double> row_sums(static_cast<std::size_t>(std::max(num_levels, 0)), 0.0);
  double total = 0.0;
  double small_low = 0.0;
  double small_high = 0.0;
  double large_low = 0.0;
  double large_high = 0.0;
  double entropy_sum = 0.0;  // sum v log2 v, turned into an entropy below
  double energy_sum = 0.0;   // sum v^2
  for (int level = 1; level <= num_levels; ++level) {
    const double i2 = static_cast<double>(level) * level;
    const double* row = matrix.counts.data() + static_cast<std::size_t>(level - 1) * num_columns;
    double row_sum = 0.0;
    double row_small = 0.0;  // sum v / j^2
    double row_large = 0.0;  // sum v j^2
    for (std::size_t c = 0; c < num_columns; ++c) {
      const double v = row[c];
      if (v <= 0.0) continue;
      const double j = matrix.sizes[c];
      const double j2 = j * j;
      row_sum += v;
      row_small += v / j2;
      row_large += v * j2;
      column_sums[c] += v;
      entropy_sum += v * std::log2(v);
      energy_sum += v * v;
    }
    if (row_sum <= 0.0) continue;
    row_sums[static_cast<std::size_t>(level - 1)] = row_sum;
    total += row_sum;
    small_low += row_small / i2;
    small_high += row_small * i2;
    large_low += row_large / i2;
    large_high += row_large * i2;
  }
  if (total <= 0.0) return stats;

  double small = 0.0;
  double large = 0.0;
  double size_nu = 0.0;
  double mean_size = 0.0;
  for (std::size_t c = 0; c < num_columns; ++c) {
    const double v = column_sums[c];
    const double j = matrix.sizes[c];
    small += v / (j * j);
    large += v * j * j;
    size_nu += v * v;
    mean_size += v * j;
  }
  mean_size /= total;
  double size_var = 0.0;
  for (std::size_t c = 0; c < num_columns; ++c) {
    const double dj = matrix.sizes[c] - mean_size;
    size_var += column_sums[c] * dj * dj;
  }

  double low = 0.0;
  double high = 0.0;
  double grey_nu = 0.0;
  double mean_grey = 0.0;
  for (int level = 1; level <= num_levels; ++level) {
    const double v = row_sums[static_cast<std::size_t>(level - 1)];
    const double i2 = static_cast<double>(level) * level;
    low += v / i2;
    high += v * i2;
    grey_nu += v * v;
    mean_grey += v * level;
  }
  mean_grey /= total;
  double grey_var = 0.0;
  for (int level = 1; level <= num_levels; ++level) {
    const double di = level - mean_grey;
    grey_var += row_sums[static_cast<std::size_t>(level - 1)] * di * di;
  }

  // Entropy of p = v/N: -sum (v/N) log2(v/N) = log2 N - (sum v log2 v)/N.
  const double entropy = std::max(0.0, std::log2(total) - entropy_sum / total);

  stats[kSmallEmphasis] = small / total;
  stats[kLargeEmphasis] = large / total;
  stats[kLowGreyEmphasis] = low / total;
  stats[kHighGreyEmphasis] = high / total;
  stats[kSmallLowGreyEmphasis] = small_low / total;
  stats[kSmallHighGreyEmphasis] = small_high / total;
  stats[kLargeLowGreyEmphasis] = large_low / total;
  stats[kLargeHighGreyEmphasis] = large_high / total;
  stats[kGreyNonUniformity] = grey_nu / total;
  stats[kGreyNonUniformityNormalised] = grey_nu / (total * total);
  stats[kSizeNonUniformity] = size_nu / total;
  stats[kSizeNonUniformityNormalised] = size_nu / (total * total);
  stats[kPercentage] = matrix.num_voxels > 0.0 ? total / matrix.num_voxels : 0.0;
  stats[kGreyVariance] = grey_var / total;
  stats[kSizeVariance] = size_var / total;
  stats[kEntropy] = entropy;
  stats[kEnergy] = energy_sum / (total * total);
  return stats;
}

LevelSizeMatrix DenseLevelSizeMatrix(int num_levels, int num_columns) {
  LevelSizeMatrix matrix;
  matrix.num_levels = num_levels;
  matrix.sizes.resize(static_cast<std::size_t>(std::max(num_columns, 0)));
  for (std::size_t c = 0; c < matrix.sizes.size(); ++c) matrix.sizes[c] = static_cast<int>(c) + 1;
  matrix.counts.assign(static_cast<std::size_t>(std::max(num_levels, 0)) * matrix.sizes.size(),
                       0.0);
  return matrix;
}

void TrimTrailingColumns(LevelSizeMatrix& matrix, std::size_t min_columns) {
  const std::size_t old_columns = matrix.num_columns();
  const auto num_levels = static_cast<std::size_t>(std::max(matrix.num_levels, 0));
  std::size_t used = 0;
  for (std::size_t row = 0; row < num_levels; ++row) {
    for (std::size_t c = old_columns; c > used; --c) {
      if (matrix.counts[row * old_columns + c - 1] != 0.0) {
        used = c;
        break;
      }
    }
  }
  const std::size_t new_columns = std::min(old_columns, std::max(used, min_columns));
  if (new_columns == old_columns) return;
  // Rows move towards the front: row r's destination starts before its source.
  for (std::size_t row = 1; row < num_levels; ++row) {
    std::copy_n(matrix.counts.begin() + static_cast<std::ptrdiff_t>(row * old_columns), new_columns,
                matrix.counts.begin() + static_cast<std::ptrdiff_t>(row * new_columns));
  }
  matrix.counts.resize(num_levels * new_columns);
  matrix.sizes.resize(new_columns);
}

namespace {

// sum a[j] b[j], with four independent partial sums (so that the compiler
// can keep them in vector registers).
[[gnu::always_inline]] inline double Dot(const double* a, const double* b, std::size_t length) {
  double s0 = 0.0;
  double s1 = 0.0;
  double s2 = 0.0;
  double s3 = 0.0;
  std::size_t j = 0;
  for (; j + 4 <= length; j += 4) {
    s0 += a[j] * b[j];
    s1 += a[j + 1] * b[j + 1];
    s2 += a[j + 2] * b[j + 2];
    s3 += a[j + 3] * b[j + 3];
  }
  for (; j < length; ++j) s0 += a[j] * b[j];
  return (s0 + s1) + (s2 + s3);
}

// y[j] += c1 x1[j] + c2 x2[j].
[[gnu::always_inline]] inline void AddTwoScaled(double* y, double c1, const double* x1, double c2,
                                                const double* x2, std::size_t length) {
  std::size_t j = 0;
  for (; j + 4 <= length; j += 4) {
    y[j] += c1 * x1[j] + c2 * x2[j];
    y[j + 1] += c1 * x1[j + 1] + c2 * x2[j + 1];
    y[j + 2] += c1 * x1[j + 2] + c2 * x2[j + 2];
    y[j + 3] += c1 * x1[j + 3] + c2 * x2[j + 3];
  }
  for (; j < length; ++j) y[j] += c1 * x1[j] + c2 * x2[j];
}

// Number of eigenvalues of the symmetric tridiagonal matrix (diag, off)
// that are < x (Sturm sequence count via the LDL^T pivots), for the four
// shifts of each of `xa` and `xb` at once (eight independent sequences, in
// two 4-lane vectors: the division latency of one sequence hides behind the
// others). Every lane computes exactly the scalar recurrence
//   q_0 = d_0 - x,  q_i = (d_i - x) - e_{i-1}^2 / q'_{i-1}
// (q' = q, or -1e-300 where q is zero), counting q_i < 0, so its count is
// that of the one-shift loop bit for bit. Compiled for AVX2 too (run-time
// dispatch; no FMA is involved).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FEDRAD_STURM_KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define FEDRAD_STURM_KERNEL
#endif
using Lanes4 = double __attribute__((vector_size(32)));
using LaneMask4 = std::int64_t __attribute__((vector_size(32)));

FEDRAD_STURM_KERNEL void CountEigenvaluesBelow2x4(const double* diag, const double* off_sq,
                                                  std::size_t n, const double* xa, const double* xb,
                                                  std::int64_t* counts_a, std::int64_t* counts_b) {
  constexpr double kTinyPivot = 1e-300;
  Lanes4 x0;
  Lanes4 x1;
  std::memcpy(&x0, xa, sizeof(Lanes4));
  std::memcpy(&x1, xb, sizeof(Lanes4));
  const Lanes4 zero = {0.0, 0.0, 0.0, 0.0};
  const Lanes4 tiny = {-kTinyPivot, -kTinyPivot, -kTinyPivot, -kTinyPivot};
  Lanes4 q0 = diag[0] - x0;
  Lanes4 q1 = diag[0] - x1;
  LaneMask4 c0 = q0 < zero;  // -1 where true
  LaneMask4 c1 = q1 < zero;
  for (std::size_t i = 1; i < n; ++i) {
    q0 = q0 == zero ? tiny : q0;
    q1 = q1 == zero ? tiny : q1;
    q0 = (diag[i] - x0) - off_sq[i - 1] / q0;
    q1 = (diag[i] - x1) - off_sq[i - 1] / q1;
    c0 += q0 < zero;
    c1 += q1 < zero;
  }
  for (int lane = 0; lane < 4; ++lane) {
    counts_a[lane] = -c0[lane];
    counts_b[lane] = -c1[lane];
  }
}

// Bisection for the eigenvalue of rank m (ascending) over [lo, hi]: the
// smallest x with more than m eigenvalues below it, to an absolute
// tolerance. The plain loop is
//   while (hi - lo > tolerance) {
//     mid = (lo + hi) / 2; if (mid <= lo || mid >= hi) break;
//     if (count(mid) > m) hi = mid; else lo = mid;
//   }
//   return (lo + hi) / 2;
// Here two steps are taken per round: the counts at mid and at both
// possible next midpoints, (lo + mid) / 2 and (mid + hi) / 2, are computed
// together, and the two steps are then replayed exactly as the plain loop
// would take them (the next midpoint it computes is, bit for bit, one of the
// two precomputed ones: the same expression of the same operands). Two
// searches run side by side.
struct Bisection {
  double lo = 0.0;
  double hi = 0.0;
  int m = 0;
  bool active = false;
};

// The midpoints of the next round of `b`, or false when the plain loop
// would stop before its next step.
bool NextMidpoints(Bisection& b, double tolerance, double* x) {
  if (!b.active) return false;
  if (!(b.hi - b.lo > tolerance)) {
    b.active = false;
    return false;
  }
  const double mid = 0.5 * (b.lo + b.hi);
  if (mid <= b.lo || mid >= b.hi) {
    b.active = false;
    return false;
  }
  x[0] = mid;
  x[1] = 0.5 * (b.lo + mid);
  x[2] = 0.5 * (mid + b.hi);
  x[3] = mid;
  return true;
}

// Replays the two steps of a round with the counts at x[0..2].
void ApplyRound(Bisection& b, double tolerance, const double* x, const std::int64_t* counts) {
  const bool below = counts[0] > b.m;
  if (below) {
    b.hi = x[0];
  } else {
    b.lo = x[0];
  }
  if (!(b.hi - b.lo > tolerance)) {
    b.active = false;
    return;
  }
  const double mid = 0.5 * (b.lo + b.hi);
  if (mid <= b.lo || mid >= b.hi) {
    b.active = false;
    return;
  }
  // mid is x[1] (hi moved to the old mid) or x[2] (lo moved), bit for bit.
  const std::int64_t count = below ? counts[1] : counts[2];
  if (count > b.m) {
    b.hi = mid;
  } else {
    b.lo = mid;
  }
}

}  // namespace

// Also compiled for AVX2 (run-time dispatch): the Householder loops (Dot,
// AddTwoScaled, inlined) then run 4 lanes wide with the same operations in
// the same order; AVX2 has no FMA, so nothing is contracted.
FEDRAD_STURM_KERNEL std::vector<double> SymmetricEigenvalues(std::vector<double>& a, int n,
                                                             std::span<const int> wanted) {
  std::vector<double> eigenvalues;
  if (n <= 0) return eigenvalues;
  const auto un = static_cast<std::size_t>(n);
  auto at = [&a, un](std::size_t row, std::size_t col) -> double& { return a[row * un + col]; };

  // Householder reduction to tridiagonal form: for column k, reflect the
  // part below the diagonal onto its first element.
  std::vector<double> v(un);
  std::vector<double> w(un);
  for (std::size_t k = 0; k + 2 < un; ++k) {
    double norm_sq = 0.0;
    for (std::size_t i = k + 1; i < un; ++i) norm_sq += at(i, k) * at(i, k);
    const double x0 = at(k + 1, k);
    const double tail_sq = norm_sq - x0 * x0;
    if (tail_sq <= 0.0) continue;  // already tridiagonal in this column
    const double norm = std::sqrt(norm_sq);
    const double alpha = x0 > 0.0 ? -norm : norm;
    // v = (x - alpha e1) / |x - alpha e1|
    const double v_norm = std::sqrt(tail_sq + (x0 - alpha) * (x0 - alpha));
    for (std::size_t i = k + 1; i < un; ++i) v[i] = at(i, k) / v_norm;
    v[k + 1] = (x0 - alpha) / v_norm;
    // p = A v on the trailing block, K = v.p, w = p - K v.
    const std::size_t begin = k + 1;
    const std::size_t length = un - begin;
    double vp = 0.0;
    for (std::size_t i = begin; i < un; ++i) {
      const double p = Dot(&at(i, begin), &v[begin], length);
      w[i] = p;
      vp += v[i] * p;
    }
    for (std::size_t i = begin; i < un; ++i) w[i] -= vp * v[i];
    // H A H = A - 2 v w^T - 2 w v^T on the trailing block.
    for (std::size_t i = begin; i < un; ++i) {
      AddTwoScaled(&at(i, begin), -2.0 * w[i], &v[begin], -2.0 * v[i], &w[begin], length);
    }
    at(k + 1, k) = alpha;
    at(k, k + 1) = alpha;
    for (std::size_t i = k + 2; i < un; ++i) {
      at(i, k) = 0.0;
      at(k, i) = 0.0;
    }
  }
  std::vector<double> diag(un);
  std::vector<double> off_sq(un > 1 ? un - 1 : 0);
  double lower = std::numeric_limits<double>::max();
  double upper = std::numeric_limits<double>::lowest();
  for (std::size_t i = 0; i < un; ++i) {
    diag[i] = at(i, i);
    double radius = 0.0;
    if (i > 0) radius += std::abs(at(i, i - 1));
    if (i + 1 < un) radius += std::abs(at(i + 1, i));
    if (i + 1 < un) off_sq[i] = at(i + 1, i) * at(i + 1, i);
    lower = std::min(lower, diag[i] - radius);
    upper = std::max(upper, diag[i] + radius);
  }
  const double span = std::max(upper - lower, std::numeric_limits<double>::min());
  lower -= 1e-12 * span;
  upper += 1e-12 * span;

  // Bisection for each wanted eigenvalue m (ascending order): the smallest x
  // with more than m eigenvalues below it, to an absolute tolerance.
  const double tolerance = 8.0 * std::numeric_limits<double>::epsilon() *
                           std::max({std::abs(lower), std::abs(upper), 1.0});
  eigenvalues.reserve(wanted.size());
  for (std::size_t first = 0; first < wanted.size(); first += 2) {
    std::array<Bisection, 2> searches;
    for (std::size_t k = 0; k < 2 && first + k < wanted.size(); ++k) {
      searches[k] = Bisection{lower, upper, wanted[first + k], true};
    }
    alignas(32) std::array<std::array<double, 4>, 2> x{};
    std::array<std::array<std::int64_t, 4>, 2> counts{};
    for (;;) {
      bool any = false;
      for (std::size_t k = 0; k < 2; ++k) {
        if (NextMidpoints(searches[k], tolerance, x[k].data())) {
          any = true;
        } else {
          x[k].fill(lower);  // an idle lane (its counts are not used)
        }
      }
      if (!any) break;
      CountEigenvaluesBelow2x4(diag.data(), off_sq.data(), un, x[0].data(), x[1].data(),
                               counts[0].data(), counts[1].data());
      for (std::size_t k = 0; k < 2; ++k) {
        if (searches[k].active) ApplyRound(searches[k], tolerance, x[k].data(), counts[k].data());
      }
    }
    for (std::size_t k = 0; k < 2 && first + k < wanted.size(); ++k) {
      eigenvalues.push_back(0.5 * (searches[k].lo + searches[k].hi));
    }
  }
  return eigenvalues;
}

}  // namespace texture_internal

LevelImage CropToRoi(const LevelImage& image) {
  const texture_internal::RoiBox box = texture_internal::FindRoiBox(image);
  LevelImage cropped;
  cropped.num_levels = image.num_levels;
  if (box.empty()) return cropped;
  cropped.levels = Grid<int>(box.width(), box.height(), 0);
  for (int y = 0; y < box.height(); ++y) {
    const int* source =
        image.levels.data.data() + texture_internal::Index(box.x0, box.y0 + y, image.levels.width);
    std::copy_n(source, box.width(),
                cropped.levels.data.begin() +
                    static_cast<std::ptrdiff_t>(texture_internal::Index(0, y, box.width())));
  }
  return cropped;
}

double LevelSizeMatrix::Total() const {
  double total = 0.0;
  for (double v : counts) total += v;
  return total;
}

LevelSizeMatrix MergeLevelSizeMatrices(std::span<const LevelSizeMatrix> matrices) {
  LevelSizeMatrix merged;
  for (const LevelSizeMatrix& m : matrices)
    merged.num_levels = std::max(merged.num_levels, m.num_levels);
  for (const LevelSizeMatrix& m : matrices) {
    std::vector<int> united;
    united.reserve(merged.sizes.size() + m.sizes.size());
    std::set_union(merged.sizes.begin(), merged.sizes.end(), m.sizes.begin(), m.sizes.end(),
                   std::back_inserter(united));
    merged.sizes = std::move(united);
  }
  const std::size_t num_columns = merged.sizes.size();
  merged.counts.assign(static_cast<std::size_t>(merged.num_levels) * num_columns, 0.0);
  for (const LevelSizeMatrix& m : matrices) {
    merged.num_voxels += m.num_voxels;
    // Column c of m goes to the position of its value in the union.
    std::size_t target = 0;
    for (std::size_t c = 0; c < m.sizes.size(); ++c) {
      while (merged.sizes[target] != m.sizes[c]) ++target;
      for (int level = 1; level <= m.num_levels; ++level) {
        merged.counts[static_cast<std::size_t>(level - 1) * num_columns + target] +=
            m.counts[static_cast<std::size_t>(level - 1) * m.sizes.size() + c];
      }
    }
  }
  return merged;
}

}  // namespace fedrad::site_agent::radiomics

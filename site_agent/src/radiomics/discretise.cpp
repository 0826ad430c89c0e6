#include "fedrad/site_agent/radiomics/discretise.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

namespace fedrad::site_agent::radiomics {
namespace {

constexpr double kMaxLevelsAsDouble = static_cast<double>(kMaxDiscretisationLevels);

// Formats a double for messages: the shortest text that reads back as the
// same value (e.g. "0.1", "25", "-inf").
std::string Num(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

bool SameSize(const Image& image, const Mask& mask) {
  return image.pixels.width == mask.width && image.pixels.height == mask.height &&
         image.pixels.data.size() == mask.data.size();
}

// Python's float modulo (result has the sign of the divisor), which
// PyRadiomics uses for the lowest bin edge: L = min - (min % w).
double PythonMod(double value, double divisor) {
  double mod = std::fmod(value, divisor);
  if (mod != 0.0) {
    if ((divisor < 0.0) != (mod < 0.0)) mod += divisor;
  } else {
    mod = std::copysign(0.0, divisor);
  }
  return mod;
}

// Clamps a level computed in floating point to [1, kMaxDiscretisationLevels]
// before converting it, so that absurd inputs cannot overflow an int.
int ClampLevel(double level) {
  if (!(level >= 1.0)) return 1;  // also catches NaN
  if (level >= kMaxLevelsAsDouble) return kMaxDiscretisationLevels;
  return static_cast<int>(level);
}

// Maps an intensity to its level for one ROI; built from the ROI's finite
// minimum and maximum. Level() returns 0 for non-finite values.
class Binner {
 public:
  Binner(double roi_min, double roi_max, const DiscretisationSettings& settings)
      : mode_(settings.mode),
        min_(roi_min),
        max_(roi_max),
        width_(settings.bin_width),
        count_(settings.bin_count),
        constant_(!(roi_max > roi_min)) {
    switch (mode_) {
      case DiscretisationMode::kFixedBinWidth:
        anchored_ = settings.resegment_min.has_value();
        anchor_ = anchored_ ? *settings.resegment_min : roi_min;
        break;
      case DiscretisationMode::kFixedBinWidthPyRadiomics: {
        // numpy.arange(L, max + 2w, w): length ceil((stop - L) / w); element
        // 1 is L + w and element k >= 2 is L + k * ((L + w) - L).
        anchor_ = roi_min - PythonMod(roi_min, width_);
        step_ = (anchor_ + width_) - anchor_;
        const double stop = roi_max + 2.0 * width_;
        const double length = std::ceil((stop - anchor_) / width_);
        num_edges_ = length >= kMaxLevelsAsDouble + 1.0
                         ? static_cast<std::int64_t>(kMaxDiscretisationLevels) + 1
                         : static_cast<std::int64_t>(std::max(length, 1.0));
        break;
      }
      case DiscretisationMode::kFixedBinCount:
      case DiscretisationMode::kNone:
        break;
    }
  }

  int Level(double x) const {
    if (!std::isfinite(x)) return 0;
    switch (mode_) {
      case DiscretisationMode::kFixedBinWidth:
        if (constant_ && !anchored_) return 1;
        return ClampLevel(std::floor((x - anchor_) / width_) + 1.0);
      case DiscretisationMode::kFixedBinWidthPyRadiomics:
        return PyRadiomicsLevel(x);
      case DiscretisationMode::kFixedBinCount:
        if (constant_) return 1;
        if (x >= max_) return std::clamp(count_, 1, kMaxDiscretisationLevels);
        return std::min(ClampLevel(std::floor(count_ * (x - min_) / (max_ - min_)) + 1.0),
                        std::clamp(count_, 1, kMaxDiscretisationLevels));
      case DiscretisationMode::kNone:
        return ClampLevel(std::nearbyint(x));
    }
    return 0;
  }

  // Ng this binning would produce without the kMaxDiscretisationLevels cap.
  double UncappedLevelCount() const {
    switch (mode_) {
      case DiscretisationMode::kFixedBinWidth:
        if (constant_ && !anchored_) return 1.0;
        return std::floor((max_ - anchor_) / width_) + 1.0;
      case DiscretisationMode::kFixedBinWidthPyRadiomics:
        return std::floor(max_ / width_) - std::floor(min_ / width_) + 1.0;
      case DiscretisationMode::kFixedBinCount:
        return constant_ ? 1.0 : static_cast<double>(count_);
      case DiscretisationMode::kNone:
        return std::nearbyint(max_);
    }
    return 0.0;
  }

 private:
  double Edge(std::int64_t k) const {
    if (k == 0) return anchor_;
    if (k == 1) return anchor_ + width_;
    return anchor_ + static_cast<double>(k) * step_;
  }

  // numpy.digitize(x, edges): the number of edges <= x.
  int PyRadiomicsLevel(double x) const {
    const double estimate = std::floor((x - anchor_) / width_);
    if (!(estimate < kMaxLevelsAsDouble)) return kMaxDiscretisationLevels;
    std::int64_t k = estimate < 0.0 ? -1 : static_cast<std::int64_t>(estimate);
    k = std::min(k, num_edges_ - 1);
    while (k + 1 < num_edges_ && Edge(k + 1) <= x) ++k;
    while (k >= 0 && Edge(k) > x) --k;
    return ClampLevel(static_cast<double>(k + 1));
  }

  DiscretisationMode mode_;
  double min_;
  double max_;
  double width_;
  int count_;
  bool constant_;
  bool anchored_ = false;
  double anchor_ = 0.0;
  double step_ = 0.0;
  std::int64_t num_edges_ = 0;
};

struct Range {
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  std::size_t count = 0;  // finite values seen
};

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FEDRAD_DISCRETISE_KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define FEDRAD_DISCRETISE_KERNEL
#endif

// Fixed bin count levels of a whole image, branch-free so that it vectorises
// (also compiled for AVX2, selected at run time; no FMA): the same operations
// as Binner::Level for a non-constant ROI, i.e. level = min(ClampLevel(
// floor(count (x - lo) / (hi - lo)) + 1), top), top for x >= hi, and 0 outside
// the mask or for non-finite x. Returns the largest level written.
//
// The floor is taken after clamping: with t = count (x - lo) / (hi - lo)
// (computed as before), t is clamped to [0, kMaxDiscretisationLevels] (NaN to
// 0) and truncated, which is floor(t) there (t >= 0). This equals clamping
// floor(t) + 1 to [1, kMaxDiscretisationLevels] and then to top (<= the
// maximum): NaN and t < 0 give 1 either way, t >= the maximum gives top
// either way, and in between both are floor(t) + 1. GCC 12 does not
// vectorise std::floor here; the truncating conversion it does.
FEDRAD_DISCRETISE_KERNEL int FixedBinCountLevels(const double* values, const std::uint8_t* mask,
                                                 int* levels, std::size_t n, double lo, double hi,
                                                 int count) {
  const double count_d = static_cast<double>(count);
  const double span = hi - lo;
  const int top = std::clamp(count, 1, kMaxDiscretisationLevels);
  int max_level = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = values[i];
    double t = count_d * (x - lo) / span;
    t = t >= 0.0 ? t : 0.0;  // also catches NaN
    t = t < kMaxLevelsAsDouble ? t : kMaxLevelsAsDouble;
    int level = std::min(static_cast<int>(t) + 1, top);
    level = x >= hi ? top : level;
    level = (mask[i] != 0 && std::fabs(x) <= std::numeric_limits<double>::max()) ? level : 0;
    levels[i] = level;
    max_level = std::max(max_level, level);
  }
  return max_level;
}

// The range of the finite values under the mask, in raster order (of equal
// extremes, +0 and -0, the first is kept, as std::min / std::max do).
Range RoiRangeInOrder(const double* values, const std::uint8_t* mask, std::size_t n) {
  Range range;
  for (std::size_t i = 0; i < n; ++i) {
    const double v = values[i];
    if (mask[i] == 0 || !std::isfinite(v)) continue;
    range.min = std::min(range.min, v);
    range.max = std::max(range.max, v);
    ++range.count;
  }
  return range;
}

// The same with four lanes and no branch (vectorised; comparisons only).
// Lanes may keep another of two equal extremes, which matters only for the
// sign of a zero: then the in-order loop decides.
FEDRAD_DISCRETISE_KERNEL Range RoiRangeLanes(const double* values, const std::uint8_t* mask,
                                             std::size_t n) {
  using V4 = double __attribute__((vector_size(32)));
  using M4 = std::int64_t __attribute__((vector_size(32)));
  constexpr std::int64_t kExponent = 0x7FF0000000000000;
  V4 lo = {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(),
           std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
  V4 hi = -lo;
  M4 count = {0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    V4 v;
    std::memcpy(&v, values + i, sizeof(V4));
    M4 bits;
    std::memcpy(&bits, &v, sizeof(V4));
    const M4 in_mask = M4{mask[i], mask[i + 1], mask[i + 2], mask[i + 3]} != 0;
    const M4 finite = (bits & kExponent) != kExponent;
    const M4 in = in_mask & finite;  // -1 where the value counts
    lo = (in != 0) & (v < lo) ? v : lo;
    hi = (in != 0) & (v > hi) ? v : hi;
    count -= in;
  }
  Range range;
  for (int lane = 0; lane < 4; ++lane) {
    range.min = std::min(range.min, lo[lane]);
    range.max = std::max(range.max, hi[lane]);
    range.count += static_cast<std::size_t>(count[lane]);
  }
  const Range tail = RoiRangeInOrder(values + i, mask + i, n - i);
  range.min = std::min(range.min, tail.min);
  range.max = std::max(range.max, tail.max);
  range.count += tail.count;
  return range;
}

Range RoiRange(const Image& image, const Mask& mask) {
  const std::size_t n = mask.data.size();
  const Range range = RoiRangeLanes(image.pixels.data.data(), mask.data.data(), n);
  if (range.min == 0.0 || range.max == 0.0) {
    return RoiRangeInOrder(image.pixels.data.data(), mask.data.data(), n);
  }
  return range;
}

}  // namespace

const char* DiscretisationModeName(DiscretisationMode mode) {
  switch (mode) {
    case DiscretisationMode::kFixedBinWidth:
      return "fixed_bin_width";
    case DiscretisationMode::kFixedBinWidthPyRadiomics:
      return "fixed_bin_width_pyradiomics";
    case DiscretisationMode::kFixedBinCount:
      return "fixed_bin_count";
    case DiscretisationMode::kNone:
      return "none";
  }
  return "unknown";
}

std::string CheckDiscretisation(const DiscretisationSettings& settings) {
  switch (settings.mode) {
    case DiscretisationMode::kFixedBinWidth:
    case DiscretisationMode::kFixedBinWidthPyRadiomics:
      if (!std::isfinite(settings.bin_width) || settings.bin_width <= 0.0) {
        return "bin_width must be a finite number > 0 (got " + Num(settings.bin_width) + ")";
      }
      break;
    case DiscretisationMode::kFixedBinCount:
      if (settings.bin_count < 1 || settings.bin_count > kMaxDiscretisationLevels) {
        return "bin_count must be an integer in 1.." + std::to_string(kMaxDiscretisationLevels) +
               " (got " + std::to_string(settings.bin_count) + ")";
      }
      break;
    case DiscretisationMode::kNone:
      break;
    default:
      return "discretisation mode " + std::to_string(static_cast<int>(settings.mode)) +
             " is not one of fixed_bin_width, fixed_bin_width_pyradiomics, fixed_bin_count, none";
  }
  if (settings.resegment_min && !std::isfinite(*settings.resegment_min)) {
    return "resegment_min must be a finite number (got " + Num(*settings.resegment_min) + ")";
  }
  if (settings.resegment_max && !std::isfinite(*settings.resegment_max)) {
    return "resegment_max must be a finite number (got " + Num(*settings.resegment_max) + ")";
  }
  if (settings.resegment_min && settings.resegment_max &&
      *settings.resegment_min > *settings.resegment_max) {
    return "resegment_min (" + Num(*settings.resegment_min) +
           ") must not be greater than resegment_max (" + Num(*settings.resegment_max) + ")";
  }
  const NormalisationSettings& norm = settings.normalisation;
  if (norm.enabled) {
    if (!std::isfinite(norm.scale) || norm.scale <= 0.0) {
      return "normalisation scale must be a finite number > 0 (got " + Num(norm.scale) + ")";
    }
    if (norm.outlier_sigma && (!std::isfinite(*norm.outlier_sigma) || *norm.outlier_sigma <= 0.0)) {
      return "normalisation outlier_sigma must be a finite number > 0 (got " +
             Num(*norm.outlier_sigma) + ")";
    }
  }
  return {};
}

std::string CheckDiscretisationInput(const Image& image, const Mask& mask,
                                     const DiscretisationSettings& settings) {
  if (std::string error = CheckDiscretisation(settings); !error.empty()) return error;
  if (!SameSize(image, mask)) {
    return "image is " + std::to_string(image.pixels.width) + "x" +
           std::to_string(image.pixels.height) + " pixels but mask is " +
           std::to_string(mask.width) + "x" + std::to_string(mask.height);
  }
  std::size_t roi_pixels = 0;
  std::size_t non_finite = 0;
  for (std::size_t i = 0; i < mask.data.size(); ++i) {
    if (mask.data[i] == 0) continue;
    ++roi_pixels;
    if (!std::isfinite(image.pixels.data[i])) ++non_finite;
  }
  if (roi_pixels == 0) return "mask has no ROI pixels";
  if (non_finite > 0) {
    return std::to_string(non_finite) + " of " + std::to_string(roi_pixels) +
           " ROI pixels have non-finite intensities (NaN or infinity)";
  }
  const IntensityRoi roi = PrepareIntensityRoi(image, mask, settings);
  const Range range = RoiRange(roi.image, roi.mask);
  if (range.count == 0) {
    return "ROI is empty after re-segmentation (0 of " + std::to_string(roi_pixels) +
           " pixels inside [" + (settings.resegment_min ? Num(*settings.resegment_min) : "-inf") +
           ", " + (settings.resegment_max ? Num(*settings.resegment_max) : "+inf") + "])";
  }
  if (settings.mode == DiscretisationMode::kNone) {
    const int width = roi.image.pixels.width;
    for (std::size_t i = 0; i < roi.mask.data.size(); ++i) {
      const double v = roi.image.pixels.data[i];
      if (roi.mask.data[i] == 0 || (v >= 1.0 && v == std::floor(v))) continue;
      const int x = width > 0 ? static_cast<int>(i % static_cast<std::size_t>(width)) : 0;
      const int y = width > 0 ? static_cast<int>(i / static_cast<std::size_t>(width)) : 0;
      return "discretisation mode none needs integer intensities >= 1, but pixel (" +
             std::to_string(x) + ", " + std::to_string(y) + ") is " + Num(v);
    }
  }
  const double levels = Binner(range.min, range.max, settings).UncappedLevelCount();
  if (levels > kMaxLevelsAsDouble) {
    return "discretisation would produce " + Num(levels) + " grey levels (ROI range " +
           Num(range.min) + ".." + Num(range.max) + "), more than the limit of " +
           std::to_string(kMaxDiscretisationLevels) + "; use a larger bin_width";
  }
  return {};
}

Image NormaliseImage(const Image& image, const NormalisationSettings& settings) {
  Image out = image;
  if (!settings.enabled) return out;
  // Two passes (mean, then squared deviations) for accuracy.
  double sum = 0.0;
  std::size_t count = 0;
  for (double v : image.pixels.data) {
    if (!std::isfinite(v)) continue;
    sum += v;
    ++count;
  }
  const double mean = count > 0 ? sum / static_cast<double>(count) : 0.0;
  double squares = 0.0;
  for (double v : image.pixels.data) {
    if (!std::isfinite(v)) continue;
    squares += (v - mean) * (v - mean);
  }
  const double sigma = count > 1 ? std::sqrt(squares / static_cast<double>(count - 1)) : 0.0;
  for (double& v : out.pixels.data) {
    if (!std::isfinite(v)) continue;
    double z = sigma > 0.0 ? (v - mean) / sigma : 0.0;
    if (settings.outlier_sigma)
      z = std::clamp(z, -*settings.outlier_sigma, *settings.outlier_sigma);
    v = settings.scale * z;
  }
  return out;
}

Mask ResegmentMask(const Image& image, const Mask& mask, const DiscretisationSettings& settings) {
  if (!SameSize(image, mask)) return Mask{};
  Mask out(mask.width, mask.height, 0);
  const double lo = settings.resegment_min.value_or(-std::numeric_limits<double>::infinity());
  const double hi = settings.resegment_max.value_or(std::numeric_limits<double>::infinity());
  for (std::size_t i = 0; i < mask.data.size(); ++i) {
    const double v = image.pixels.data[i];
    out.data[i] = (mask.data[i] != 0 && std::isfinite(v) && v >= lo && v <= hi) ? 1 : 0;
  }
  return out;
}

IntensityRoi PrepareIntensityRoi(const Image& image, const Mask& mask,
                                 const DiscretisationSettings& settings) {
  IntensityRoi roi;
  roi.image = NormaliseImage(image, settings.normalisation);
  roi.mask = ResegmentMask(roi.image, mask, settings);
  return roi;
}

LevelImage DiscretisePrepared(const IntensityRoi& roi, const DiscretisationSettings& settings) {
  LevelImage out;
  if (!SameSize(roi.image, roi.mask)) return out;
  out.levels = Grid<int>(roi.mask.width, roi.mask.height, 0);
  const Range range = RoiRange(roi.image, roi.mask);
  if (range.count == 0) return out;
  if (settings.mode == DiscretisationMode::kFixedBinCount && range.max > range.min) {
    out.num_levels = FixedBinCountLevels(roi.image.pixels.data.data(), roi.mask.data.data(),
                                         out.levels.data.data(), roi.mask.data.size(), range.min,
                                         range.max, settings.bin_count);
    return out;
  }
  const Binner binner(range.min, range.max, settings);
  int num_levels = 0;
  for (std::size_t i = 0; i < roi.mask.data.size(); ++i) {
    if (roi.mask.data[i] == 0) continue;
    const int level = binner.Level(roi.image.pixels.data[i]);
    out.levels.data[i] = level;
    num_levels = std::max(num_levels, level);
  }
  out.num_levels = num_levels;
  return out;
}

LevelImage Discretise(const Image& image, const Mask& mask,
                      const DiscretisationSettings& settings) {
  if (!SameSize(image, mask)) return LevelImage{};
  return DiscretisePrepared(PrepareIntensityRoi(image, mask, settings), settings);
}

DiscretisedValues DiscretiseValues(std::span<const double> values,
                                   const DiscretisationSettings& settings) {
  DiscretisedValues out;
  out.levels.assign(values.size(), 0);
  Range range;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    range.min = std::min(range.min, v);
    range.max = std::max(range.max, v);
    ++range.count;
  }
  if (range.count == 0) return out;
  const Binner binner(range.min, range.max, settings);
  for (std::size_t i = 0; i < values.size(); ++i) {
    out.levels[i] = binner.Level(values[i]);
    out.num_levels = std::max(out.num_levels, out.levels[i]);
  }
  return out;
}

std::vector<double> RoiValues(const Image& image, const Mask& mask) {
  std::vector<double> values;
  if (!SameSize(image, mask)) return values;
  // Branch-free compaction: every value is written at the next free slot,
  // which advances only for ROI pixels (the buffer has one spare slot).
  values.resize(mask.data.size() + 1);
  std::size_t count = 0;
  for (std::size_t i = 0; i < mask.data.size(); ++i) {
    values[count] = image.pixels.data[i];
    count += mask.data[i] != 0 ? 1 : 0;
  }
  values.resize(count);
  return values;
}

std::vector<int> RoiLevels(const LevelImage& levels) {
  // Branch-free compaction, as in RoiValues.
  std::vector<int> out(levels.levels.data.size() + 1);
  std::size_t count = 0;
  for (int level : levels.levels.data) {
    out[count] = level;
    count += level > 0 ? 1 : 0;
  }
  out.resize(count);
  return out;
}

}  // namespace fedrad::site_agent::radiomics

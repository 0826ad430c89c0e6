// Private helpers shared by the texture families (glcm.cpp, glrlm.cpp, ...).
// Not installed; see texture.hpp for the public API and the maths.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fedrad/site_agent/radiomics/image.hpp"
#include "fedrad/site_agent/radiomics/texture.hpp"

namespace fedrad::site_agent::radiomics::texture_internal {

// Bounding box [x0, x1) x [y0, y1) of the ROI (level > 0).
struct RoiBox {
  int x0 = 0;
  int y0 = 0;
  int x1 = 0;
  int y1 = 0;
  int width() const { return x1 - x0; }
  int height() const { return y1 - y0; }
  bool empty() const { return x1 <= x0 || y1 <= y0; }
};

// Validates the LevelImage (throws std::invalid_argument on a broken
// invariant, see texture.hpp) and returns the ROI bounding box.
RoiBox FindRoiBox(const LevelImage& image);

// A copy of the ROI bounding box surrounded by `pad` rows/columns of zeros
// (outside), so that neighbour look-ups up to `pad` pixels away need no
// bounds checks: the neighbour of index k at (dx, dy) is k + dx + dy*width.
struct PaddedLevels {
  int pad = 0;
  int width = 0;   // box width + 2*pad
  int height = 0;  // box height + 2*pad
  std::vector<int> data;

  // Index of box-local pixel (x, y), 0 <= x < box width.
  std::size_t IndexOf(int x, int y) const {
    return static_cast<std::size_t>(x + pad) +
           static_cast<std::size_t>(width) * static_cast<std::size_t>(y + pad);
  }
  std::ptrdiff_t Step(int dx, int dy) const {
    return static_cast<std::ptrdiff_t>(dx) + static_cast<std::ptrdiff_t>(dy) * width;
  }
};
PaddedLevels MakePaddedLevels(const LevelImage& image, const RoiBox& box, int pad);

// A LevelImage's ROI box (FindRoiBox) and, optionally, its zero-bordered copy
// (MakePaddedLevels), made once by a caller that runs several families on
// the same levels and handed to their kernels, which would otherwise each
// compute the same box and copy again. `padded` (may be null) must be
// MakePaddedLevels(image, box, padded->pad); a kernel uses it when its pad is
// large enough, otherwise it makes its own.
struct PreparedLevels {
  RoiBox box;
  const PaddedLevels* padded = nullptr;
};

// The shared-input forms of GlcmFeatures2D, GlrlmFeatures2D and
// BuildNgtdmAndNgldm8: equal results, with the box (and copy) supplied.
FeatureList GlcmFeaturesPrepared(const LevelImage& image, const PreparedLevels& prepared,
                                 DirectionAggregation aggregation, const GlcmOptions& options);
FeatureList GlrlmFeaturesPrepared(const LevelImage& image, const RoiBox& box,
                                  DirectionAggregation aggregation);

// Index offsets of the Chebyshev neighbourhood of radius `distance`
// (centre excluded) in `padded` (whose pad must be >= distance).
std::vector<std::ptrdiff_t> NeighbourOffsets(const PaddedLevels& padded, int distance);
// The same for distance 1 (the 8-neighbourhood), as a fixed-size array.
inline std::array<std::ptrdiff_t, 8> NeighbourOffsets8(const PaddedLevels& padded) {
  return {padded.Step(-1, -1), padded.Step(0, -1), padded.Step(1, -1), padded.Step(-1, 0),
          padded.Step(1, 0),   padded.Step(-1, 1), padded.Step(0, 1),  padded.Step(1, 1)};
}

// Throws std::invalid_argument naming `what` when value < minimum.
void RequireAtLeast(int value, int minimum, const char* what);

inline std::size_t Index(int x, int y, int width) {
  return static_cast<std::size_t>(x) +
         static_cast<std::size_t>(width) * static_cast<std::size_t>(y);
}

// -p log2 p for p > 0, 0 otherwise.
inline double EntropyTerm(double p) { return p > 0.0 ? -p * std::log2(p) : 0.0; }

FeatureList MakeFeatureList(std::span<const TextureFeatureDef> defs,
                            std::span<const double> values);

// Running mean of fixed-size value arrays.
template <std::size_t N>
class ValueMean {
 public:
  void Add(const std::array<double, N>& values) {
    for (std::size_t k = 0; k < N; ++k) sum_[k] += values[k];
    ++count_;
  }
  int count() const { return count_; }
  // All zeros when nothing was added.
  std::array<double, N> Mean() const {
    std::array<double, N> mean{};
    if (count_ == 0) return mean;
    for (std::size_t k = 0; k < N; ++k) mean[k] = sum_[k] / count_;
    return mean;
  }

 private:
  std::array<double, N> sum_{};
  int count_ = 0;
};

// The 17 statistics shared by the level x size families (texture.hpp), in
// the IBSI order used by GLRLM/GLSZM/GLDZM/NGLDM.
enum SizeStat : int {
  kSmallEmphasis,
  kLargeEmphasis,
  kLowGreyEmphasis,
  kHighGreyEmphasis,
  kSmallLowGreyEmphasis,
  kSmallHighGreyEmphasis,
  kLargeLowGreyEmphasis,
  kLargeHighGreyEmphasis,
  kGreyNonUniformity,
  kGreyNonUniformityNormalised,
  kSizeNonUniformity,
  kSizeNonUniformityNormalised,
  kPercentage,
  kGreyVariance,
  kSizeVariance,
  kEntropy,
  kEnergy,
  kNumSizeStats,
};
using SizeStats = std::array<double, kNumSizeStats>;

// All zeros for an empty matrix (N_s == 0).
SizeStats ComputeSizeStats(const LevelSizeMatrix& matrix);

// A zeroed matrix with dense columns 1..num_columns.
LevelSizeMatrix DenseLevelSizeMatrix(int num_levels, int num_columns);

// Drops the trailing all-zero columns of a dense matrix whose column values
// are 1..sizes.size() (keeps at least `min_columns`).
void TrimTrailingColumns(LevelSizeMatrix& matrix, std::size_t min_columns = 0);

// City-block (4-connected) distance transform of a width x height region
// (row-major, `inside[k] != 0` = inside): for inside pixels the number of
// 4-connected steps to the nearest outside pixel, where everything beyond
// the region counts as outside (so pixels on the region's edge get 1); 0 for
// outside pixels. Two raster passes.
template <typename T>
std::vector<int> CityBlockDistance(int width, int height, const T* inside) {
  const std::size_t size =
      static_cast<std::size_t>(std::max(width, 0)) * static_cast<std::size_t>(std::max(height, 0));
  std::vector<int> distance(size, 0);
  if (size == 0) return distance;
  const int unreachable = width + height;  // larger than any distance
  for (std::size_t k = 0; k < size; ++k) distance[k] = inside[k] != 0 ? unreachable : 0;
  // Forward pass: from the top and from the left.
  for (int y = 0; y < height; ++y) {
    int* row = distance.data() + Index(0, y, width);
    const int* above = y > 0 ? row - width : nullptr;
    for (int x = 0; x < width; ++x) {
      if (row[x] == 0) continue;
      const int up = above != nullptr ? above[x] : 0;
      const int left = x > 0 ? row[x - 1] : 0;
      row[x] = std::min(row[x], std::min(up, left) + 1);
    }
  }
  // Backward pass: from the bottom and from the right.
  for (int y = height - 1; y >= 0; --y) {
    int* row = distance.data() + Index(0, y, width);
    const int* below = y + 1 < height ? row + width : nullptr;
    for (int x = width - 1; x >= 0; --x) {
      if (row[x] == 0) continue;
      const int down = below != nullptr ? below[x] : 0;
      const int right = x + 1 < width ? row[x + 1] : 0;
      row[x] = std::min(row[x], std::min(down, right) + 1);
    }
  }
  return distance;
}

// Selected eigenvalues of the symmetric n x n matrix `a` (row-major;
// destroyed): for each m in `wanted` (0 <= m < n) the m-th smallest, to an
// absolute accuracy of a few ulps of the spectral radius. Householder
// tridiagonalisation + Sturm-sequence bisection.
// The NGTDM of distance 1 and the NGLDM of distance 1 (any alpha) of one
// image from a single pass over the ROI pixels' 8-neighbourhoods: equal, bit
// for bit, to BuildNgtdm(image, 1) and BuildNgldm(image, {1, alpha}) (the same
// pixels in the same raster order, the same arithmetic).
void BuildNgtdmAndNgldm8(const LevelImage& image, int alpha, Ngtdm& ngtdm, Ngldm& ngldm,
                         const PreparedLevels* prepared = nullptr);

// CityBlockDistance of an image whose outermost rows and columns are all
// outside (0), such as a PaddedLevels with pad >= 1: the same values, with
// no edge tests and no branch per pixel (an outside pixel stays 0 because
// min(0, d + 1) = 0 for d >= 0).
inline std::vector<int> CityBlockDistanceBordered(int width, int height, const int* inside) {
  if (width < 3 || height < 3) return CityBlockDistance(width, height, inside);
  const std::size_t size = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  std::vector<int> distance(size);
  const int unreachable = width + height;
  for (std::size_t k = 0; k < size; ++k) distance[k] = inside[k] != 0 ? unreachable : 0;
  for (int y = 1; y < height - 1; ++y) {
    int* row = distance.data() + Index(0, y, width);
    const int* above = row - width;
    for (int x = 1; x < width - 1; ++x) {
      row[x] = std::min(row[x], std::min(above[x], row[x - 1]) + 1);
    }
  }
  for (int y = height - 2; y >= 1; --y) {
    int* row = distance.data() + Index(0, y, width);
    const int* below = row + width;
    for (int x = width - 2; x >= 1; --x) {
      row[x] = std::min(row[x], std::min(below[x], row[x + 1]) + 1);
    }
  }
  return distance;
}

// BuildZoneMatrices with the GLDZM border distances supplied by the caller:
// `border_distance` (image-sized, or null to compute it) must equal
// BorderDistanceMap of the image's own ROI (level > 0), which then need not
// be recomputed for each image type of a region (they share the ROI). Not
// combined with an explicit distance mask.
void BuildZoneMatricesWithDistance(const LevelImage& image, Connectivity2D connectivity,
                                   Glszm* glszm, Gldzm* gldzm, const Mask* distance_mask,
                                   const Grid<int>* border_distance,
                                   const PreparedLevels* prepared = nullptr);

std::vector<double> SymmetricEigenvalues(std::vector<double>& a, int n,
                                         std::span<const int> wanted);

}  // namespace fedrad::site_agent::radiomics::texture_internal

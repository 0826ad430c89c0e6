// Neighbouring grey level dependence matrix, with its IBSI (NGLDM) and
// PyRadiomics (GLDM) feature sets (texture.hpp).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

#include "fedrad/site_agent/radiomics/texture.hpp"
#include "texture_common.hpp"

namespace fedrad::site_agent::radiomics {

namespace {

using texture_internal::FindRoiBox;
using texture_internal::RoiBox;
using texture_internal::SizeStat;

// kGldmFeatureDefs entry k is the level x size statistic kGldmStats[k].
constexpr std::array<SizeStat, kGldmFeatureDefs.size()> kGldmStats = {
    texture_internal::kSmallEmphasis,
    texture_internal::kLargeEmphasis,
    texture_internal::kGreyNonUniformity,
    texture_internal::kSizeNonUniformity,
    texture_internal::kSizeNonUniformityNormalised,
    texture_internal::kGreyVariance,
    texture_internal::kSizeVariance,
    texture_internal::kEntropy,
    texture_internal::kLowGreyEmphasis,
    texture_internal::kHighGreyEmphasis,
    texture_internal::kSmallLowGreyEmphasis,
    texture_internal::kSmallHighGreyEmphasis,
    texture_internal::kLargeLowGreyEmphasis,
    texture_internal::kLargeHighGreyEmphasis,
};
static_assert(kNgldmFeatureDefs.size() == texture_internal::kNumSizeStats);

}  // namespace

namespace {

// Counts the dependence of every ROI pixel of the padded box into `ngldm`
// (dense columns 1..max). `Offsets` as in ngtdm.cpp: fixed-size for
// distance 1, a vector otherwise.
template <typename Offsets>
double AccumulateNgldm(const texture_internal::PaddedLevels& work, const RoiBox& box,
                       const Offsets& offsets, int alpha, Ngldm& ngldm) {
  const int* levels = work.data.data();
  const std::size_t columns = ngldm.num_columns();
  double num_voxels = 0.0;
  for (int y = 0; y < box.height(); ++y) {
    const auto row = static_cast<std::ptrdiff_t>(work.IndexOf(0, y));
    for (int x = 0; x < box.width(); ++x) {
      const std::ptrdiff_t k = row + x;
      const int level = levels[k];
      if (level == 0) continue;
      num_voxels += 1.0;
      int dependence = 1;  // the centre itself (IBSI j = 1 + dependent neighbours)
      if (alpha == 0) {
        // alpha = 0 (the default): dependent = equal level (non-zero, as the
        // centre's level is), counted without a branch per neighbour.
        for (std::ptrdiff_t offset : offsets) {
          dependence += static_cast<int>(levels[k + offset] == level);
        }
      } else {
        for (std::ptrdiff_t offset : offsets) {
          const int neighbour = levels[k + offset];
          dependence += (neighbour != 0 && std::abs(neighbour - level) <= alpha) ? 1 : 0;
        }
      }
      ngldm.counts[static_cast<std::size_t>(level - 1) * columns +
                   static_cast<std::size_t>(dependence - 1)] += 1.0;
    }
  }
  return num_voxels;
}

}  // namespace

Ngldm BuildNgldm(const LevelImage& image, const NgldmOptions& options) {
  texture_internal::RequireAtLeast(options.distance, 1, "NGLDM distance");
  texture_internal::RequireAtLeast(options.alpha, 0, "NGLDM alpha");
  const RoiBox box = FindRoiBox(image);
  const int delta = options.distance;
  const int side = 2 * delta + 1;
  const int max_dependence = box.empty() ? 0 : side * side;
  Ngldm ngldm = texture_internal::DenseLevelSizeMatrix(image.num_levels, max_dependence);
  if (box.empty()) return ngldm;
  const texture_internal::PaddedLevels work = texture_internal::MakePaddedLevels(image, box, delta);
  if (delta == 1) {
    ngldm.num_voxels =
        AccumulateNgldm(work, box, texture_internal::NeighbourOffsets8(work), options.alpha, ngldm);
  } else {
    ngldm.num_voxels = AccumulateNgldm(work, box, texture_internal::NeighbourOffsets(work, delta),
                                       options.alpha, ngldm);
  }
  texture_internal::TrimTrailingColumns(ngldm);
  return ngldm;
}

namespace texture_internal {

namespace {

// Neighbourhood sums of one row of the pass below: for x in [0, w), over the
// 8 neighbours of centre[x] (`offsets` in the padded layout): sum[x] = sum of
// their levels, count[x] = number of non-zero ones, dependence[x] = 1 + the
// number of dependent ones (alpha < 0 selects alpha = 0: equal level, which
// is then non-zero as the centre's is). Plain integer loops over x, which the
// compiler vectorises; also compiled for AVX2 (selected at run time; integer
// arithmetic, so exact either way).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FEDRAD_NEIGHBOUR_KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define FEDRAD_NEIGHBOUR_KERNEL
#endif
FEDRAD_NEIGHBOUR_KERNEL void NeighbourhoodSums8(const int* centre,
                                                const std::array<std::ptrdiff_t, 8>& offsets,
                                                std::size_t w, int alpha, int* __restrict sum,
                                                int* __restrict count, int* __restrict dependence) {
  for (std::size_t x = 0; x < w; ++x) {
    sum[x] = 0;
    count[x] = 0;
    dependence[x] = 1;  // the centre itself (IBSI j = 1 + dependent neighbours)
  }
  for (std::ptrdiff_t offset : offsets) {
    const int* neighbour = centre + offset;
    if (alpha < 0) {
      for (std::size_t x = 0; x < w; ++x) {
        const int v = neighbour[x];
        sum[x] += v;
        count[x] += v != 0 ? 1 : 0;
        dependence[x] += v == centre[x] ? 1 : 0;
      }
    } else {
      for (std::size_t x = 0; x < w; ++x) {
        const int v = neighbour[x];
        sum[x] += v;
        count[x] += v != 0 ? 1 : 0;
        dependence[x] += (v != 0 && std::abs(v - centre[x]) <= alpha) ? 1 : 0;
      }
    }
  }
}

// The pass of BuildNgtdmAndNgldm8; kAlphaZero: dependent = equal level.
// Row by row: first the neighbourhood sums, counts and dependences of every
// pixel of the row (NeighbourhoodSums8), then the ROI pixels' matrix updates
// in raster order. The counts (NGLDM cells, n_i, N_v) are kept as integers
// and converted at the end: adding 1.0 to a double is exact up to 2^53, so
// they equal the sums of ones. The neighbourhood means sum / count (count
// 1..8, sum 0..8 Ng) come from a table of the same divisions, and the s_i
// are summed per level in raster order, as before.
template <bool kAlphaZero>
double AccumulateNgtdmNgldm8(const PaddedLevels& work, const RoiBox& box, int alpha, Ngtdm& ngtdm,
                             Ngldm& ngldm) {
  const std::array<std::ptrdiff_t, 8> offsets = NeighbourOffsets8(work);
  const int* levels = work.data.data();
  const std::size_t columns = ngldm.num_columns();
  const int width = box.width();
  const auto w = static_cast<std::size_t>(width);
  std::vector<int> sums(w);
  std::vector<int> counts(w);
  std::vector<int> dependences(w);
  int* __restrict sum = sums.data();
  int* __restrict count = counts.data();
  int* __restrict dependence = dependences.data();
  const std::size_t ng = ngtdm.s.size();
  // mean[count * sums1 + sum] = double(sum) / count.
  const std::size_t sums1 = 8 * ng + 1;
  std::vector<double> means(9 * sums1, 0.0);
  for (std::size_t c = 1; c <= 8; ++c) {
    for (std::size_t k = 0; k < sums1; ++k) {
      means[c * sums1 + k] = static_cast<double>(static_cast<int>(k)) / static_cast<int>(c);
    }
  }
  std::vector<std::uint32_t> ngldm_counts(ngldm.counts.size(), 0);
  std::vector<std::uint32_t> ngtdm_n(ng, 0);
  double* const s = ngtdm.s.data();
  std::size_t num_voxels = 0;
  for (int y = 0; y < box.height(); ++y) {
    const int* centre = levels + static_cast<std::ptrdiff_t>(work.IndexOf(0, y));
    NeighbourhoodSums8(centre, offsets, w, kAlphaZero ? -1 : alpha, sum, count, dependence);
    for (std::size_t x = 0; x < w; ++x) {
      const int level = centre[x];
      if (level == 0) continue;
      const auto i = static_cast<std::size_t>(level - 1);
      ++num_voxels;
      ++ngldm_counts[i * columns + static_cast<std::size_t>(dependence[x] - 1)];
      if (count[x] == 0) continue;  // no valid NGTDM neighbourhood (IBSI)
      ++ngtdm_n[i];
      s[i] += std::abs(
          level -
          means[static_cast<std::size_t>(count[x]) * sums1 + static_cast<std::size_t>(sum[x])]);
    }
  }
  for (std::size_t k = 0; k < ngldm_counts.size(); ++k) ngldm.counts[k] += ngldm_counts[k];
  for (std::size_t k = 0; k < ng; ++k) ngtdm.n[k] += ngtdm_n[k];
  return static_cast<double>(num_voxels);
}

}  // namespace

void BuildNgtdmAndNgldm8(const LevelImage& image, int alpha, Ngtdm& ngtdm, Ngldm& ngldm,
                         const PreparedLevels* prepared) {
  RequireAtLeast(alpha, 0, "NGLDM alpha");
  const RoiBox box = prepared != nullptr ? prepared->box : FindRoiBox(image);
  ngtdm = Ngtdm{};
  ngtdm.num_levels = image.num_levels;
  ngtdm.n.assign(static_cast<std::size_t>(image.num_levels), 0.0);
  ngtdm.s.assign(static_cast<std::size_t>(image.num_levels), 0.0);
  ngldm = DenseLevelSizeMatrix(image.num_levels, box.empty() ? 0 : 9);
  if (box.empty()) return;
  std::optional<PaddedLevels> own_work;
  if (prepared == nullptr || prepared->padded == nullptr || prepared->padded->pad < 1) {
    own_work = MakePaddedLevels(image, box, 1);
  }
  const PaddedLevels& work = own_work ? *own_work : *prepared->padded;
  ngldm.num_voxels = alpha == 0 ? AccumulateNgtdmNgldm8<true>(work, box, alpha, ngtdm, ngldm)
                                : AccumulateNgtdmNgldm8<false>(work, box, alpha, ngtdm, ngldm);
  TrimTrailingColumns(ngldm);
}

}  // namespace texture_internal

NgldmValues ComputeNgldmValues(const Ngldm& ngldm) {
  return texture_internal::ComputeSizeStats(ngldm);
}

FeatureList NgldmFeatures(const Ngldm& ngldm) {
  return texture_internal::MakeFeatureList(kNgldmFeatureDefs, ComputeNgldmValues(ngldm));
}

FeatureList NgldmFeaturesPerSlice(std::span<const LevelImage> slices, const NgldmOptions& options) {
  texture_internal::ValueMean<kNgldmFeatureDefs.size()> mean;
  for (const LevelImage& slice : slices) {
    const Ngldm ngldm = BuildNgldm(slice, options);
    if (ngldm.Total() > 0.0) mean.Add(ComputeNgldmValues(ngldm));
  }
  if (mean.count() == 0) return {};
  return texture_internal::MakeFeatureList(kNgldmFeatureDefs, mean.Mean());
}

FeatureList NgldmFeatures2D(const LevelImage& image, const NgldmOptions& options) {
  return NgldmFeaturesPerSlice(std::span<const LevelImage>(&image, 1), options);
}

GldmValues ComputeGldmValues(const Ngldm& ngldm) {
  const texture_internal::SizeStats stats = texture_internal::ComputeSizeStats(ngldm);
  GldmValues values{};
  for (std::size_t k = 0; k < values.size(); ++k) values[k] = stats[kGldmStats[k]];
  return values;
}

FeatureList GldmFeatures(const Ngldm& ngldm) {
  return texture_internal::MakeFeatureList(kGldmFeatureDefs, ComputeGldmValues(ngldm));
}

FeatureList GldmFeatures2D(const LevelImage& image, const NgldmOptions& options) {
  const Ngldm ngldm = BuildNgldm(image, options);
  if (ngldm.Total() <= 0.0) return {};
  return GldmFeatures(ngldm);
}

}  // namespace fedrad::site_agent::radiomics

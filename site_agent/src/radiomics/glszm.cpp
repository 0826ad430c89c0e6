// Zone labelling (shared by GLSZM and GLDZM) and the grey level size zone
// matrix features (texture.hpp).
#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "fedrad/site_agent/radiomics/texture.hpp"
#include "texture_common.hpp"

namespace fedrad::site_agent::radiomics {

namespace {

using texture_internal::FindRoiBox;
using texture_internal::Index;
using texture_internal::RoiBox;

// Zone sizes counted in a dense table (larger ones are listed).
constexpr std::size_t kDenseZoneSizes = 64;

struct Step {
  int dx;
  int dy;
};
constexpr std::array<Step, 8> kSteps = {
    {{1, 0}, {-1, 0}, {0, 1}, {0, -1}, {1, 1}, {-1, -1}, {1, -1}, {-1, 1}}};

void ResetZoneMatrix(int num_levels, LevelSizeMatrix* matrix) {
  if (matrix == nullptr) return;
  *matrix = LevelSizeMatrix{};
  matrix->num_levels = num_levels;
}

}  // namespace

void BuildZoneMatrices(const LevelImage& image, Connectivity2D connectivity, Glszm* glszm,
                       Gldzm* gldzm, const Mask* distance_mask) {
  const RoiBox box = FindRoiBox(image);
  const int width = image.levels.width;
  const int height = image.levels.height;
  if (distance_mask != nullptr && gldzm != nullptr &&
      (distance_mask->width != width || distance_mask->height != height ||
       distance_mask->data.size() != image.levels.data.size())) {
    throw std::invalid_argument("texture: GLDZM distance mask size differs from the image");
  }
  if (connectivity != Connectivity2D::kFour && connectivity != Connectivity2D::kEight) {
    throw std::invalid_argument("texture: zone connectivity must be 4 or 8");
  }
  const int num_levels = image.num_levels;
  ResetZoneMatrix(num_levels, glszm);
  ResetZoneMatrix(num_levels, gldzm);
  if (box.empty() || (glszm == nullptr && gldzm == nullptr)) return;

  // Zero-bordered copy of the box; pixels are zeroed once they join a zone.
  texture_internal::PaddedLevels work = texture_internal::MakePaddedLevels(image, box, 1);
  int* levels = work.data.data();

  // Border distances in the padded layout. The box edge is ROI border for the
  // level image's own ROI (nothing outside the box is ROI), so the padded
  // copy is all the distance transform needs; an explicit morphological
  // mask is transformed over the whole image and copied in.
  std::vector<int> distance;
  int max_distance = 1;
  if (gldzm != nullptr) {
    if (distance_mask == nullptr) {
      distance = texture_internal::CityBlockDistanceBordered(work.width, work.height, levels);
    } else {
      const std::vector<int> full =
          texture_internal::CityBlockDistance(width, height, distance_mask->data.data());
      distance.assign(work.data.size(), 0);
      for (int y = 0; y < box.height(); ++y) {
        for (int x = 0; x < box.width(); ++x) {
          distance[work.IndexOf(x, y)] = full[Index(box.x0 + x, box.y0 + y, width)];
        }
      }
    }
    for (int d : distance) max_distance = std::max(max_distance, d);
  }

  // Zone counts: sizes up to kDenseZoneSizes in a dense [level][size] table,
  // larger zones (at most ROI/kDenseZoneSizes of them) in a list; distances
  // (1..max_distance) in a dense [level][distance] table.
  const auto ng = static_cast<std::size_t>(num_levels);
  const auto distance_columns = static_cast<std::size_t>(max_distance);
  std::vector<std::uint32_t> small_zones(glszm != nullptr ? ng * kDenseZoneSizes : 0, 0);
  std::vector<std::pair<int, int>> large_zones;  // (size, level)
  std::vector<std::uint32_t> distance_zones(gldzm != nullptr ? ng * distance_columns : 0, 0);

  const int num_steps = connectivity == Connectivity2D::kFour ? 4 : 8;
  std::array<std::ptrdiff_t, 8> steps{};
  for (std::size_t s = 0; s < steps.size(); ++s) steps[s] = work.Step(kSteps[s].dx, kSteps[s].dy);

  // Iterative flood fill. Every pixel is pushed at most once (it is zeroed
  // when pushed), so the stack is a plain array of the box's size; the
  // neighbour loop has a fixed trip count (4 or 8) so that it unrolls.
  const auto stack_storage = std::make_unique_for_overwrite<std::ptrdiff_t[]>(
      static_cast<std::size_t>(box.width()) * static_cast<std::size_t>(box.height()));
  std::ptrdiff_t* const stack = stack_storage.get();
  double num_voxels = 0.0;
  const auto fill = [&]<int kNumSteps>() {
    for (int y = 0; y < box.height(); ++y) {
      const auto row = static_cast<std::ptrdiff_t>(work.IndexOf(0, y));
      for (int x = 0; x < box.width(); ++x) {
        const std::ptrdiff_t seed = row + x;
        const int level = levels[seed];
        if (level == 0) continue;  // outside, or already in a zone
        int size = 0;
        int zone_distance = max_distance;
        levels[seed] = 0;
        std::ptrdiff_t* top = stack;
        *top++ = seed;
        while (top != stack) {
          const std::ptrdiff_t k = *--top;
          ++size;
          if (gldzm != nullptr) {
            zone_distance = std::min(zone_distance, distance[static_cast<std::size_t>(k)]);
          }
          for (int s = 0; s < kNumSteps; ++s) {
            const std::ptrdiff_t neighbour = k + steps[static_cast<std::size_t>(s)];
            if (levels[neighbour] != level) continue;
            levels[neighbour] = 0;
            *top++ = neighbour;
          }
        }
        num_voxels += size;
        const auto row_index = static_cast<std::size_t>(level - 1);
        if (glszm != nullptr) {
          if (static_cast<std::size_t>(size) <= kDenseZoneSizes) {
            ++small_zones[row_index * kDenseZoneSizes + static_cast<std::size_t>(size - 1)];
          } else {
            large_zones.emplace_back(size, level);
          }
        }
        if (gldzm != nullptr) {
          // ROI pixels outside an explicit distance mask have distance 0: use 1.
          const int column = std::max(zone_distance, 1) - 1;
          ++distance_zones[row_index * distance_columns + static_cast<std::size_t>(column)];
        }
      }
    }
  };
  if (num_steps == 4) {
    fill.operator()<4>();
  } else {
    fill.operator()<8>();
  }

  if (glszm != nullptr) {
    // Columns: the zone sizes that occur, ascending.
    std::sort(large_zones.begin(), large_zones.end());
    std::vector<int>& sizes = glszm->sizes;
    for (std::size_t size = 1; size <= kDenseZoneSizes; ++size) {
      for (std::size_t i = 0; i < ng; ++i) {
        if (small_zones[i * kDenseZoneSizes + size - 1] != 0) {
          sizes.push_back(static_cast<int>(size));
          break;
        }
      }
    }
    const std::size_t num_small_columns = sizes.size();
    for (const auto& [size, level] : large_zones) {
      if (sizes.empty() || sizes.back() != size) sizes.push_back(size);
    }
    const std::size_t columns = sizes.size();
    glszm->counts.assign(ng * columns, 0.0);
    for (std::size_t c = 0; c < num_small_columns; ++c) {
      const auto size = static_cast<std::size_t>(sizes[c]);
      for (std::size_t i = 0; i < ng; ++i) {
        glszm->counts[i * columns + c] = small_zones[i * kDenseZoneSizes + size - 1];
      }
    }
    std::size_t column = num_small_columns;
    for (const auto& [size, level] : large_zones) {
      while (sizes[column] != size) ++column;
      glszm->counts[static_cast<std::size_t>(level - 1) * columns + column] += 1.0;
    }
    glszm->num_voxels = num_voxels;
  }
  if (gldzm != nullptr) {
    *gldzm = texture_internal::DenseLevelSizeMatrix(num_levels, max_distance);
    for (std::size_t k = 0; k < distance_zones.size(); ++k) gldzm->counts[k] = distance_zones[k];
    gldzm->num_voxels = num_voxels;
    texture_internal::TrimTrailingColumns(*gldzm, 1);
  }
}

Glszm BuildGlszm(const LevelImage& image, Connectivity2D connectivity) {
  Glszm glszm;
  BuildZoneMatrices(image, connectivity, &glszm, nullptr);
  return glszm;
}

GlszmValues ComputeGlszmValues(const Glszm& glszm) {
  const texture_internal::SizeStats stats = texture_internal::ComputeSizeStats(glszm);
  GlszmValues values{};
  std::copy_n(stats.begin(), values.size(), values.begin());
  return values;
}

FeatureList GlszmFeatures(const Glszm& glszm) {
  return texture_internal::MakeFeatureList(kGlszmFeatureDefs, ComputeGlszmValues(glszm));
}

FeatureList GlszmFeaturesPerSlice(std::span<const LevelImage> slices, Connectivity2D connectivity) {
  texture_internal::ValueMean<kGlszmFeatureDefs.size()> mean;
  Glszm glszm;
  for (const LevelImage& slice : slices) {
    BuildZoneMatrices(slice, connectivity, &glszm, nullptr);
    if (glszm.Total() > 0.0) mean.Add(ComputeGlszmValues(glszm));
  }
  if (mean.count() == 0) return {};
  return texture_internal::MakeFeatureList(kGlszmFeatureDefs, mean.Mean());
}

FeatureList GlszmFeatures2D(const LevelImage& image, Connectivity2D connectivity) {
  return GlszmFeaturesPerSlice(std::span<const LevelImage>(&image, 1), connectivity);
}

}  // namespace fedrad::site_agent::radiomics

// Zone labelling (shared by GLSZM and GLDZM) and the grey level size zone
// matrix features (texture.hpp).
#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
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

void ResetZoneMatrix(int num_levels, LevelSizeMatrix* matrix) {
  if (matrix == nullptr) return;
  *matrix = LevelSizeMatrix{};
  matrix->num_levels = num_levels;
}

}  // namespace

void BuildZoneMatrices(const LevelImage& image, Connectivity2D connectivity, Glszm* glszm,
                       Gldzm* gldzm, const Mask* distance_mask) {
  texture_internal::BuildZoneMatricesWithDistance(image, connectivity, glszm, gldzm, distance_mask,
                                                  nullptr);
}

void texture_internal::BuildZoneMatricesWithDistance(const LevelImage& image,
                                                     Connectivity2D connectivity, Glszm* glszm,
                                                     Gldzm* gldzm, const Mask* distance_mask,
                                                     const Grid<int>* border_distance,
                                                     const PreparedLevels* prepared) {
  const RoiBox box = prepared != nullptr ? prepared->box : FindRoiBox(image);
  const int width = image.levels.width;
  const int height = image.levels.height;
  if (distance_mask != nullptr && gldzm != nullptr &&
      (distance_mask->width != width || distance_mask->height != height ||
       distance_mask->data.size() != image.levels.data.size())) {
    throw std::invalid_argument("texture: GLDZM distance mask size differs from the image");
  }
  if (border_distance != nullptr && gldzm != nullptr &&
      (distance_mask != nullptr || border_distance->width != width ||
       border_distance->height != height ||
       border_distance->data.size() != image.levels.data.size())) {
    throw std::invalid_argument(
        "texture: GLDZM border distance map size differs from the image, or comes with a mask");
  }
  if (connectivity != Connectivity2D::kFour && connectivity != Connectivity2D::kEight) {
    throw std::invalid_argument("texture: zone connectivity must be 4 or 8");
  }
  const int num_levels = image.num_levels;
  ResetZoneMatrix(num_levels, glszm);
  ResetZoneMatrix(num_levels, gldzm);
  if (box.empty() || (glszm == nullptr && gldzm == nullptr)) return;

  // Zero-bordered copy of the box (neighbour look-ups need no bounds checks).
  std::optional<texture_internal::PaddedLevels> own_work;
  if (prepared == nullptr || prepared->padded == nullptr || prepared->padded->pad < 1) {
    own_work = texture_internal::MakePaddedLevels(image, box, 1);
  }
  const texture_internal::PaddedLevels& work = own_work ? *own_work : *prepared->padded;
  const int* levels = work.data.data();

  // Border distances in the padded layout. The box edge is ROI border for the
  // level image's own ROI (nothing outside the box is ROI), so the padded
  // copy is all the distance transform needs; an explicit morphological
  // mask is transformed over the whole image and copied in.
  std::vector<int> distance;
  int max_distance = 1;
  if (gldzm != nullptr) {
    if (border_distance != nullptr) {
      // The caller's map of this ROI: equal, inside the box, to the
      // transform of the padded box (the box's outside neighbours are
      // outside in both), so only copied.
      distance.assign(work.data.size(), 0);
      for (int y = 0; y < box.height(); ++y) {
        std::copy_n(border_distance->data.data() + Index(box.x0, box.y0 + y, width), box.width(),
                    distance.data() + work.IndexOf(0, y));
      }
    } else if (distance_mask == nullptr) {
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

  // Zone labelling: one raster pass of union-find labelling, then the zones
  // are read off the label table (no second pass over the pixels).
  //
  // What it computes: every zone (maximal set of equal-level ROI pixels,
  // connected through 4- or 8-neighbours) with its level, its size and the
  // smallest border distance of its pixels; the matrices below only need
  // these, so it is equal, zone for zone, to a flood fill from each unvisited
  // pixel (the labelling this replaced; the unit test
  // RadiomicsZoneLabellingTest compares the two on random images). Counts
  // are integers, so the order in which zones are found does not matter.
  //
  // How: pixels are visited in raster order; a pixel is joined to its
  // already visited same-level neighbours (above-left a, above b, above-right
  // c, left d; only b and d for 4-connectivity). Invariant: after a pixel is
  // visited, every pair of visited, 8-adjacent (4-adjacent), same-level
  // pixels lies in one set. With 8-connectivity this needs at most one
  // union per pixel (the decision tree of Wu, Otoo & Suzuki): if b has the
  // level, a, c and d (each adjacent to b) are already in b's set; else if c
  // has it, a or d (not adjacent to c, but adjacent to each other) must be
  // merged into c's set; else a or d (adjacent to each other). Each pixel
  // adds itself to its provisional label's size and minimum distance; at the
  // end, each label's statistics are folded into its set's root (the
  // smallest label of the set: a union always keeps the smaller root), and
  // every root is one zone.
  struct Label {
    int parent;
    int size;
    int distance;  // smallest border distance of the label's pixels
    int level;
  };
  const auto label_storage = std::make_unique_for_overwrite<Label[]>(
      static_cast<std::size_t>(box.width()) * static_cast<std::size_t>(box.height()));
  Label* const labels = label_storage.get();
  // Provisional label per padded pixel; read only where the level matches,
  // so the border (level 0) and unvisited entries are never read.
  const auto pixel_label_storage = std::make_unique_for_overwrite<int[]>(work.data.size());
  int* const pixel_label = pixel_label_storage.get();
  const auto find = [labels](int label) {
    while (labels[label].parent != label) {
      labels[label].parent = labels[labels[label].parent].parent;  // path halving
      label = labels[label].parent;
    }
    return label;
  };
  const auto unite = [labels, &find](int p, int q) {
    p = find(p);
    q = find(q);
    if (p < q) {
      labels[q].parent = p;
    } else if (q < p) {
      labels[p].parent = q;
    }
  };
  const std::ptrdiff_t up = work.Step(0, -1);
  const int* const distances = gldzm != nullptr ? distance.data() : nullptr;
  int num_labels = 0;
  const auto label_pass = [&]<bool kEight, bool kDistance>() {
    for (int y = 0; y < box.height(); ++y) {
      const auto row = static_cast<std::ptrdiff_t>(work.IndexOf(0, y));
      for (std::ptrdiff_t k = row; k < row + box.width(); ++k) {
        const int level = levels[k];
        if (level == 0) continue;
        int label;
        if (levels[k + up] == level) {
          label = pixel_label[k + up];
          if constexpr (!kEight) {
            if (levels[k - 1] == level) unite(label, pixel_label[k - 1]);
          }
        } else if (kEight && levels[k + up + 1] == level) {
          label = pixel_label[k + up + 1];
          if (levels[k + up - 1] == level) {
            unite(label, pixel_label[k + up - 1]);
          } else if (levels[k - 1] == level) {
            unite(label, pixel_label[k - 1]);
          }
        } else if (kEight && levels[k + up - 1] == level) {
          label = pixel_label[k + up - 1];
        } else if (levels[k - 1] == level) {
          label = pixel_label[k - 1];
        } else {
          // A new label: its entry starts with this pixel's statistics.
          label = num_labels++;
          int distance_here = max_distance;
          if constexpr (kDistance) distance_here = std::min(max_distance, distances[k]);
          labels[label] = Label{label, 1, distance_here, level};
          pixel_label[k] = label;
          continue;
        }
        pixel_label[k] = label;
        Label& stats = labels[label];
        ++stats.size;
        if constexpr (kDistance) {
          stats.distance = std::min(stats.distance, distances[k]);
        }
      }
    }
  };
  const bool eight = connectivity == Connectivity2D::kEight;
  if (eight && gldzm != nullptr) {
    label_pass.operator()<true, true>();
  } else if (eight) {
    label_pass.operator()<true, false>();
  } else if (gldzm != nullptr) {
    label_pass.operator()<false, true>();
  } else {
    label_pass.operator()<false, false>();
  }
  // Fold every label into its root (ascending: a root is smaller than its
  // members, so it is final when its members are folded).
  for (int label = 0; label < num_labels; ++label) {
    const int root = find(label);
    if (root == label) continue;
    labels[root].size += labels[label].size;
    labels[root].distance = std::min(labels[root].distance, labels[label].distance);
  }
  double num_voxels = 0.0;
  for (int label = 0; label < num_labels; ++label) {
    if (labels[label].parent != label) continue;
    const int size = labels[label].size;
    const int level = labels[label].level;
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
      const int column = std::max(labels[label].distance, 1) - 1;
      ++distance_zones[row_index * distance_columns + static_cast<std::size_t>(column)];
    }
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

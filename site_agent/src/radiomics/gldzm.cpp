// Grey level distance zone matrix features and the border distance map
// (texture.hpp). The matrix itself is built with the GLSZM zone labelling
// (BuildZoneMatrices in glszm.cpp).
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "fedrad/site_agent/radiomics/texture.hpp"
#include "texture_common.hpp"

namespace fedrad::site_agent::radiomics {

Grid<int> BorderDistanceMap(const Mask& roi) {
  Grid<int> map;
  map.width = roi.width;
  map.height = roi.height;
  if (roi.data.size() != static_cast<std::size_t>(std::max(roi.width, 0)) *
                             static_cast<std::size_t>(std::max(roi.height, 0))) {
    throw std::invalid_argument("texture: mask data size does not match width*height");
  }
  map.data = texture_internal::CityBlockDistance(roi.width, roi.height, roi.data.data());
  return map;
}

Gldzm BuildGldzm(const LevelImage& image, Connectivity2D connectivity, const Mask* distance_mask) {
  Gldzm gldzm;
  BuildZoneMatrices(image, connectivity, nullptr, &gldzm, distance_mask);
  return gldzm;
}

GldzmValues ComputeGldzmValues(const Gldzm& gldzm) {
  const texture_internal::SizeStats stats = texture_internal::ComputeSizeStats(gldzm);
  GldzmValues values{};
  std::copy_n(stats.begin(), values.size(), values.begin());
  return values;
}

FeatureList GldzmFeatures(const Gldzm& gldzm) {
  return texture_internal::MakeFeatureList(kGldzmFeatureDefs, ComputeGldzmValues(gldzm));
}

FeatureList GldzmFeaturesPerSlice(std::span<const LevelImage> slices, Connectivity2D connectivity) {
  texture_internal::ValueMean<kGldzmFeatureDefs.size()> mean;
  Gldzm gldzm;
  for (const LevelImage& slice : slices) {
    BuildZoneMatrices(slice, connectivity, nullptr, &gldzm);
    if (gldzm.Total() > 0.0) mean.Add(ComputeGldzmValues(gldzm));
  }
  if (mean.count() == 0) return {};
  return texture_internal::MakeFeatureList(kGldzmFeatureDefs, mean.Mean());
}

FeatureList GldzmFeatures2D(const LevelImage& image, Connectivity2D connectivity,
                            const Mask* distance_mask) {
  Gldzm gldzm;
  BuildZoneMatrices(image, connectivity, nullptr, &gldzm, distance_mask);
  if (gldzm.Total() <= 0.0) return {};
  return GldzmFeatures(gldzm);
}

}  // namespace fedrad::site_agent::radiomics

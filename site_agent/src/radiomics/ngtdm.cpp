// Neighbourhood grey tone difference matrix and its features (texture.hpp).
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "fedrad/site_agent/radiomics/texture.hpp"
#include "texture_common.hpp"

namespace fedrad::site_agent::radiomics {

namespace {

using texture_internal::FindRoiBox;
using texture_internal::RoiBox;

enum NgtdmIndex : int { kCoarseness, kContrast, kBusyness, kComplexity, kStrength, kNumNgtdm };
static_assert(kNumNgtdm == static_cast<int>(kNgtdmFeatureDefs.size()));

}  // namespace

double Ngtdm::TotalCount() const {
  double total = 0.0;
  for (double v : n) total += v;
  return total;
}

namespace {

// Adds every ROI pixel of the padded box with a non-empty neighbourhood to
// `ngtdm`. `Offsets` is a fixed-size array for the common distance 1 (so
// the neighbour loop unrolls) or a vector.
template <typename Offsets>
void AccumulateNgtdm(const texture_internal::PaddedLevels& work, const RoiBox& box,
                     const Offsets& offsets, Ngtdm& ngtdm) {
  const int* levels = work.data.data();
  for (int y = 0; y < box.height(); ++y) {
    const auto row = static_cast<std::ptrdiff_t>(work.IndexOf(0, y));
    for (int x = 0; x < box.width(); ++x) {
      const std::ptrdiff_t k = row + x;
      const int level = levels[k];
      if (level == 0) continue;
      int sum = 0;
      int count = 0;
      for (std::ptrdiff_t offset : offsets) {
        const int neighbour = levels[k + offset];
        sum += neighbour;
        count += neighbour != 0 ? 1 : 0;
      }
      if (count == 0) continue;  // no valid neighbourhood (IBSI)
      const auto i = static_cast<std::size_t>(level - 1);
      ngtdm.n[i] += 1.0;
      ngtdm.s[i] += std::abs(level - static_cast<double>(sum) / count);
    }
  }
}

}  // namespace

Ngtdm BuildNgtdm(const LevelImage& image, int distance) {
  texture_internal::RequireAtLeast(distance, 1, "NGTDM distance");
  const RoiBox box = FindRoiBox(image);
  Ngtdm ngtdm;
  ngtdm.num_levels = image.num_levels;
  ngtdm.n.assign(static_cast<std::size_t>(image.num_levels), 0.0);
  ngtdm.s.assign(static_cast<std::size_t>(image.num_levels), 0.0);
  if (box.empty()) return ngtdm;
  const texture_internal::PaddedLevels work =
      texture_internal::MakePaddedLevels(image, box, distance);
  if (distance == 1) {
    AccumulateNgtdm(work, box, texture_internal::NeighbourOffsets8(work), ngtdm);
  } else {
    AccumulateNgtdm(work, box, texture_internal::NeighbourOffsets(work, distance), ngtdm);
  }
  return ngtdm;
}

Ngtdm MergeNgtdms(std::span<const Ngtdm> matrices) {
  Ngtdm merged;
  for (const Ngtdm& m : matrices) merged.num_levels = std::max(merged.num_levels, m.num_levels);
  merged.n.assign(static_cast<std::size_t>(merged.num_levels), 0.0);
  merged.s.assign(static_cast<std::size_t>(merged.num_levels), 0.0);
  for (const Ngtdm& m : matrices) {
    for (std::size_t i = 0; i < m.n.size(); ++i) {
      merged.n[i] += m.n[i];
      merged.s[i] += m.s[i];
    }
  }
  return merged;
}

NgtdmValues ComputeNgtdmValues(const Ngtdm& ngtdm) {
  NgtdmValues values{};
  const double n_vc = ngtdm.TotalCount();
  // Levels with p_i > 0: their value i, p_i and s_i.
  std::vector<double> level;
  std::vector<double> p;
  std::vector<double> s;
  double sum_ps = 0.0;
  double sum_s = 0.0;
  if (n_vc > 0.0) {
    for (std::size_t i = 0; i < ngtdm.n.size(); ++i) {
      if (ngtdm.n[i] <= 0.0) continue;
      level.push_back(static_cast<double>(i + 1));
      p.push_back(ngtdm.n[i] / n_vc);
      s.push_back(ngtdm.s[i]);
      sum_ps += p.back() * ngtdm.s[i];
      sum_s += ngtdm.s[i];
    }
  }
  const std::size_t n_gp = level.size();
  values[kCoarseness] = sum_ps > 0.0 ? 1.0 / sum_ps : kNgtdmMaxCoarseness;
  if (n_gp == 0) return values;

  double contrast_sum = 0.0;    // sum p1 p2 (i1-i2)^2
  double busyness_denom = 0.0;  // sum |i1 p1 - i2 p2|
  double complexity_sum = 0.0;  // sum |i1-i2| (p1 s1 + p2 s2)/(p1 + p2)
  double strength_sum = 0.0;    // sum (p1 + p2)(i1-i2)^2
  for (std::size_t a = 0; a < n_gp; ++a) {
    for (std::size_t b = 0; b < n_gp; ++b) {
      const double diff = level[a] - level[b];
      contrast_sum += p[a] * p[b] * diff * diff;
      busyness_denom += std::abs(level[a] * p[a] - level[b] * p[b]);
      complexity_sum += std::abs(diff) * (p[a] * s[a] + p[b] * s[b]) / (p[a] + p[b]);
      strength_sum += (p[a] + p[b]) * diff * diff;
    }
  }
  const auto n_gp_d = static_cast<double>(n_gp);
  values[kContrast] = n_gp > 1 ? contrast_sum / (n_gp_d * (n_gp_d - 1.0)) * (sum_s / n_vc) : 0.0;
  values[kBusyness] = (n_gp > 1 && busyness_denom > 0.0) ? sum_ps / busyness_denom : 0.0;
  values[kComplexity] = complexity_sum / n_vc;
  values[kStrength] = sum_s > 0.0 ? strength_sum / sum_s : 0.0;
  return values;
}

FeatureList NgtdmFeatures(const Ngtdm& ngtdm) {
  return texture_internal::MakeFeatureList(kNgtdmFeatureDefs, ComputeNgtdmValues(ngtdm));
}

FeatureList NgtdmFeaturesPerSlice(std::span<const LevelImage> slices, int distance) {
  texture_internal::ValueMean<kNgtdmFeatureDefs.size()> mean;
  bool any_roi = false;
  for (const LevelImage& slice : slices) {
    const Ngtdm ngtdm = BuildNgtdm(slice, distance);
    if (!FindRoiBox(slice).empty()) any_roi = true;
    if (ngtdm.TotalCount() > 0.0) mean.Add(ComputeNgtdmValues(ngtdm));
  }
  if (!any_roi) return {};
  // Every matrix empty (isolated pixels only): the values of an empty NGTDM.
  if (mean.count() == 0) return NgtdmFeatures(Ngtdm{});
  return texture_internal::MakeFeatureList(kNgtdmFeatureDefs, mean.Mean());
}

FeatureList NgtdmFeatures2D(const LevelImage& image, int distance) {
  return NgtdmFeaturesPerSlice(std::span<const LevelImage>(&image, 1), distance);
}

}  // namespace fedrad::site_agent::radiomics

// Grey level co-occurrence matrix and its features (texture.hpp).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <vector>

#include "fedrad/site_agent/radiomics/texture.hpp"
#include "texture_common.hpp"

namespace fedrad::site_agent::radiomics {

namespace {

using texture_internal::EntropyTerm;
using texture_internal::FindRoiBox;
using texture_internal::Index;
using texture_internal::RoiBox;

enum GlcmIndex : int {
  kAutocorrelation,
  kJointAverage,
  kClusterProminence,
  kClusterShade,
  kClusterTendency,
  kContrast,
  kCorrelation,
  kDifferenceAverage,
  kDifferenceEntropy,
  kDifferenceVariance,
  kJointEnergy,
  kJointEntropy,
  kImc1,
  kImc2,
  kIdm,
  kIdmn,
  kId,
  kIdn,
  kInverseVariance,
  kMaximumProbability,
  kSumAverage,
  kSumEntropy,
  kSumSquares,
  kMcc,
  kSumVariance,
  kDissimilarity,
  kNumGlcmFeatures,
};
static_assert(kNumGlcmFeatures == static_cast<int>(kGlcmFeatureDefs.size()));

void ResetGlcm(int num_levels, Glcm& glcm) {
  const auto cells = static_cast<std::size_t>(num_levels) * static_cast<std::size_t>(num_levels);
  glcm.num_levels = num_levels;
  glcm.counts.assign(cells, 0.0);
}

void CheckOffset(Offset2D direction, int distance) {
  texture_internal::RequireAtLeast(distance, 1, "GLCM distance");
  if (direction.dx == 0 && direction.dy == 0) {
    throw std::invalid_argument("texture: GLCM direction (0,0) is not a direction");
  }
}

// Adds the pairs (p, p + offset) with both pixels inside `box` (every ROI
// pixel is inside it, so no pair is lost). The ordered pairs are counted in
// `scratch` first (two interleaved integer histograms, for even and odd x,
// so that runs of identical pairs do not serialise on one counter), then
// added to `glcm` together with their transpose when symmetric.
void AccumulateInBox(const LevelImage& image, const RoiBox& box, Offset2D direction, int distance,
                     bool symmetric, Glcm& glcm, std::vector<std::uint32_t>& scratch) {
  const int ox = direction.dx * distance;
  const int oy = direction.dy * distance;
  const int x_begin = std::max(box.x0, box.x0 - ox);
  const int x_end = std::min(box.x1, box.x1 - ox);
  const int y_begin = std::max(box.y0, box.y0 - oy);
  const int y_end = std::min(box.y1, box.y1 - oy);
  if (x_begin >= x_end || y_begin >= y_end) return;
  const int width = image.levels.width;
  const auto ng = static_cast<std::size_t>(glcm.num_levels);
  const std::size_t cells = ng * ng;
  scratch.assign(2 * cells, 0);
  for (int y = y_begin; y < y_end; ++y) {
    const int* row = image.levels.data.data() + Index(0, y, width);
    const int* neighbour_row = image.levels.data.data() + Index(0, y + oy, width) + ox;
    for (int x = x_begin; x < x_end; ++x) {
      const int a = row[x];
      const int b = neighbour_row[x];
      if (a == 0 || b == 0) continue;
      std::uint32_t* histogram = scratch.data() + (static_cast<std::size_t>(x) & 1U) * cells;
      ++histogram[static_cast<std::size_t>(a - 1) * ng + static_cast<std::size_t>(b - 1)];
    }
  }
  double* counts = glcm.counts.data();
  for (std::size_t i = 0; i < ng; ++i) {
    for (std::size_t j = 0; j < ng; ++j) {
      const std::uint32_t c = scratch[i * ng + j] + scratch[cells + i * ng + j];
      if (c == 0) continue;
      counts[i * ng + j] += c;
      if (symmetric) counts[j * ng + i] += c;
    }
  }
}

// The ordered pairs (p, p + offsets[k]) of every offset at once, in one pass
// over a zero-bordered copy of the box (a neighbour outside the box reads 0,
// as does a non-ROI pixel, so exactly the pairs AccumulateInBox counts are
// counted). `counts` gets one (Ng+1) x (Ng+1) integer table per offset,
// indexed [a][b] with row and column 0 absorbing the pairs that involve a
// non-ROI pixel, so the inner loop has no branch per neighbour.
template <std::size_t kOffsets>
void CountPairsInBox(const LevelImage& image, const RoiBox& box,
                     const std::array<Offset2D, kOffsets>& offsets,
                     std::vector<std::uint32_t>& counts,
                     const texture_internal::PaddedLevels* padded) {
  int pad = 1;
  for (const Offset2D& o : offsets) pad = std::max({pad, std::abs(o.dx), std::abs(o.dy)});
  // (A supplied copy of the box with a wide enough border serves as well.)
  std::optional<texture_internal::PaddedLevels> own_work;
  if (padded == nullptr || padded->pad < pad) {
    own_work = texture_internal::MakePaddedLevels(image, box, pad);
  }
  const texture_internal::PaddedLevels& work = own_work ? *own_work : *padded;
  const auto ng1 = static_cast<std::size_t>(image.num_levels) + 1;
  const std::size_t cells1 = ng1 * ng1;
  counts.assign(kOffsets * cells1, 0);
  std::array<std::ptrdiff_t, kOffsets> steps{};
  for (std::size_t k = 0; k < kOffsets; ++k) steps[k] = work.Step(offsets[k].dx, offsets[k].dy);
  const int* levels = work.data.data();
  std::uint32_t* tables = counts.data();
  for (int y = 0; y < box.height(); ++y) {
    const auto row = static_cast<std::ptrdiff_t>(work.IndexOf(0, y));
    for (int x = 0; x < box.width(); ++x) {
      const std::ptrdiff_t p = row + x;
      const int a = levels[p];
      if (a == 0) continue;
      const std::size_t base = static_cast<std::size_t>(a) * ng1;
      for (std::size_t k = 0; k < kOffsets; ++k) {
        ++tables[k * cells1 + base + static_cast<std::size_t>(levels[p + steps[k]])];
      }
    }
  }
}

// Adds table `k` of CountPairsInBox to `glcm` (and its transpose when
// symmetric), cell by cell in the order AccumulateInBox adds them.
void AddPairTable(const std::vector<std::uint32_t>& counts, std::size_t k, bool symmetric,
                  Glcm& glcm) {
  const auto ng = static_cast<std::size_t>(glcm.num_levels);
  const std::size_t ng1 = ng + 1;
  const std::uint32_t* table = counts.data() + k * ng1 * ng1;
  double* out = glcm.counts.data();
  for (std::size_t i = 0; i < ng; ++i) {
    for (std::size_t j = 0; j < ng; ++j) {
      const std::uint32_t c = table[(i + 1) * ng1 + j + 1];
      if (c == 0) continue;
      out[i * ng + j] += c;
      if (symmetric) out[j * ng + i] += c;
    }
  }
}

// The offsets of GlcmOptions (see texture.hpp), distance by distance.
std::vector<Offset2D> GlcmOffsets(const GlcmOptions& options) {
  if (options.distances.empty()) {
    throw std::invalid_argument("texture: GlcmOptions::distances is empty");
  }
  std::vector<Offset2D> offsets;
  for (int distance : options.distances) {
    texture_internal::RequireAtLeast(distance, 1, "GLCM distance");
    if (!options.all_offsets_at_distance) {
      for (Offset2D direction : kTextureDirections2D) {
        offsets.push_back(Offset2D{direction.dx * distance, direction.dy * distance});
      }
      continue;
    }
    // The half of the Chebyshev shell with dy > 0, or dy == 0 and dx > 0.
    for (int dy = 0; dy <= distance; ++dy) {
      for (int dx = -distance; dx <= distance; ++dx) {
        if (std::max(std::abs(dx), dy) != distance) continue;
        if (dy == 0 && dx < 0) continue;
        offsets.push_back(Offset2D{dx, dy});
      }
    }
  }
  return offsets;
}

// Maximal correlation coefficient: sqrt of the second largest eigenvalue of
// Q = Dx^-1 P Dy^-1 P^T. Q is similar to B B^T with
// B = Dx^-1/2 P Dy^-1/2 (symmetric PSD), restricted to present levels. For a
// symmetric P, B is symmetric and the eigenvalues of Q are those of B
// squared (the largest is 1, eigenvector sqrt(p_x)).
double ComputeMcc(const Glcm& glcm, const std::vector<double>& px, const std::vector<double>& py,
                  double inv_total) {
  const auto ng = static_cast<std::size_t>(glcm.num_levels);
  std::vector<std::size_t> rows;
  std::vector<std::size_t> cols;
  for (std::size_t i = 0; i < ng; ++i) {
    if (px[i] > 0.0) rows.push_back(i);
    if (py[i] > 0.0) cols.push_back(i);
  }
  const std::size_t n = rows.size();
  if (n <= 1) return 1.0;  // one grey level: a single eigenvalue (PyRadiomics: 1)
  bool symmetric = true;
  for (std::size_t i = 0; i < ng && symmetric; ++i) {
    for (std::size_t j = i + 1; j < ng; ++j) {
      if (glcm.counts[i * ng + j] != glcm.counts[j * ng + i]) {
        symmetric = false;
        break;
      }
    }
  }
  const std::size_t m = cols.size();
  std::vector<double> b(n * m);
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t c = 0; c < m; ++c) {
      const double p = glcm.counts[rows[r] * ng + cols[c]] * inv_total;
      b[r * m + c] = p > 0.0 ? p / std::sqrt(px[rows[r]] * py[cols[c]]) : 0.0;
    }
  }
  double second = 0.0;
  if (symmetric) {
    // The smallest and the second largest eigenvalue of B.
    const std::array<int, 2> wanted = {0, static_cast<int>(n) - 2};
    const std::vector<double> eigen =
        texture_internal::SymmetricEigenvalues(b, static_cast<int>(n), wanted);
    second = std::max(eigen[0] * eigen[0], eigen[1] * eigen[1]);
  } else {
    std::vector<double> q(n * n, 0.0);
    for (std::size_t r = 0; r < n; ++r) {
      for (std::size_t s = r; s < n; ++s) {
        double dot = 0.0;
        for (std::size_t c = 0; c < m; ++c) dot += b[r * m + c] * b[s * m + c];
        q[r * n + s] = dot;
        q[s * n + r] = dot;
      }
    }
    const std::array<int, 1> wanted = {static_cast<int>(n) - 2};
    const std::vector<double> eigen =
        texture_internal::SymmetricEigenvalues(q, static_cast<int>(n), wanted);
    second = eigen[0];
  }
  return std::sqrt(std::clamp(second, 0.0, 1.0));
}

}  // namespace

double Glcm::Total() const {
  double total = 0.0;
  for (double v : counts) total += v;
  return total;
}

void AccumulateGlcm(const LevelImage& image, Offset2D direction, int distance, bool symmetric,
                    Glcm& glcm) {
  CheckOffset(direction, distance);
  const RoiBox box = FindRoiBox(image);
  const auto cells =
      static_cast<std::size_t>(image.num_levels) * static_cast<std::size_t>(image.num_levels);
  if (glcm.num_levels != image.num_levels || glcm.counts.size() != cells) {
    ResetGlcm(image.num_levels, glcm);
  }
  if (box.empty()) return;
  std::vector<std::uint32_t> scratch;
  AccumulateInBox(image, box, direction, distance, symmetric, glcm, scratch);
}

Glcm BuildGlcm(const LevelImage& image, Offset2D direction, int distance, bool symmetric) {
  Glcm glcm;
  AccumulateGlcm(image, direction, distance, symmetric, glcm);
  return glcm;
}

Glcm MergeGlcms(std::span<const Glcm> matrices) {
  Glcm merged;
  if (matrices.empty()) return merged;
  ResetGlcm(matrices.front().num_levels, merged);
  for (const Glcm& m : matrices) {
    if (m.num_levels != merged.num_levels || m.counts.size() != merged.counts.size()) {
      throw std::invalid_argument("texture: MergeGlcms needs matrices of the same size");
    }
    for (std::size_t k = 0; k < m.counts.size(); ++k) merged.counts[k] += m.counts[k];
  }
  return merged;
}

GlcmValues ComputeGlcmValues(const Glcm& glcm) {
  GlcmValues values{};
  const int ng = glcm.num_levels;
  const double total = glcm.Total();
  if (ng <= 0 || total <= 0.0) return values;
  const auto ung = static_cast<std::size_t>(ng);
  const double inv_total = 1.0 / total;

  std::vector<double> px(ung, 0.0);
  std::vector<double> py(ung, 0.0);
  std::vector<double> p_sum(2 * ung + 1, 0.0);  // index k = i + j, 2..2Ng
  std::vector<double> p_diff(ung, 0.0);         // index k = |i - j|, 0..Ng-1
  double max_p = 0.0;
  double autocorrelation = 0.0;
  double energy = 0.0;
  double joint_entropy = 0.0;
  for (int i = 1; i <= ng; ++i) {
    const double* row = glcm.counts.data() + static_cast<std::size_t>(i - 1) * ung;
    for (int j = 1; j <= ng; ++j) {
      const double count = row[j - 1];
      if (count <= 0.0) continue;
      const double p = count * inv_total;
      px[static_cast<std::size_t>(i - 1)] += p;
      py[static_cast<std::size_t>(j - 1)] += p;
      p_sum[static_cast<std::size_t>(i + j)] += p;
      p_diff[static_cast<std::size_t>(std::abs(i - j))] += p;
      max_p = std::max(max_p, p);
      autocorrelation += static_cast<double>(i) * j * p;
      energy += p * p;
      joint_entropy += EntropyTerm(p);
    }
  }

  double mu_x = 0.0;
  double mu_y = 0.0;
  double hx = 0.0;
  double hy = 0.0;
  for (int i = 1; i <= ng; ++i) {
    mu_x += i * px[static_cast<std::size_t>(i - 1)];
    mu_y += i * py[static_cast<std::size_t>(i - 1)];
    hx += EntropyTerm(px[static_cast<std::size_t>(i - 1)]);
    hy += EntropyTerm(py[static_cast<std::size_t>(i - 1)]);
  }
  double var_x = 0.0;
  double var_y = 0.0;
  for (int i = 1; i <= ng; ++i) {
    var_x += (i - mu_x) * (i - mu_x) * px[static_cast<std::size_t>(i - 1)];
    var_y += (i - mu_y) * (i - mu_y) * py[static_cast<std::size_t>(i - 1)];
  }

  double covariance = 0.0;
  double cluster_tendency = 0.0;
  double cluster_shade = 0.0;
  double cluster_prominence = 0.0;
  for (int i = 1; i <= ng; ++i) {
    const double* row = glcm.counts.data() + static_cast<std::size_t>(i - 1) * ung;
    for (int j = 1; j <= ng; ++j) {
      const double count = row[j - 1];
      if (count <= 0.0) continue;
      const double p = count * inv_total;
      covariance += (i - mu_x) * (j - mu_y) * p;
      const double d = i + j - mu_x - mu_y;
      const double d2 = d * d;
      cluster_tendency += d2 * p;
      cluster_shade += d2 * d * p;
      cluster_prominence += d2 * d2 * p;
    }
  }

  const double ng_d = ng;
  double contrast = 0.0;
  double difference_average = 0.0;
  double difference_entropy = 0.0;
  double id = 0.0;
  double idn = 0.0;
  double idm = 0.0;
  double idmn = 0.0;
  double inverse_variance = 0.0;
  for (int k = 0; k < ng; ++k) {
    const double p = p_diff[static_cast<std::size_t>(k)];
    if (p <= 0.0) continue;
    const double kd = k;
    contrast += kd * kd * p;
    difference_average += kd * p;
    difference_entropy += EntropyTerm(p);
    id += p / (1.0 + kd);
    idn += p / (1.0 + kd / ng_d);
    idm += p / (1.0 + kd * kd);
    idmn += p / (1.0 + (kd * kd) / (ng_d * ng_d));
    if (k >= 1) inverse_variance += p / (kd * kd);
  }
  double difference_variance = 0.0;
  for (int k = 0; k < ng; ++k) {
    const double dk = k - difference_average;
    difference_variance += dk * dk * p_diff[static_cast<std::size_t>(k)];
  }

  double sum_average = 0.0;
  double sum_entropy = 0.0;
  for (int k = 2; k <= 2 * ng; ++k) {
    const double p = p_sum[static_cast<std::size_t>(k)];
    sum_average += k * p;
    sum_entropy += EntropyTerm(p);
  }
  double sum_variance = 0.0;
  for (int k = 2; k <= 2 * ng; ++k) {
    const double dk = k - sum_average;
    sum_variance += dk * dk * p_sum[static_cast<std::size_t>(k)];
  }

  // HXY1 = -sum p_ij log2(p_x(i) p_y(j)) and HXY2 = -sum p_x p_y log2(p_x p_y)
  // both equal HX + HY exactly (the marginals sum to 1).
  const double hxy1 = hx + hy;
  const double hxy2 = hx + hy;
  // Entropies below kEntropyFloor bits are rounding noise of a one-level
  // matrix (the smallest real entropy of a 2-level distribution over 1e7
  // pixels is ~2e-6 bits): treat them as 0 so a constant ROI gives the
  // documented Imc1 = Imc2 = 0 and Correlation = 1 whatever its shape.
  constexpr double kEntropyFloor = 1e-12;
  const double h_max = std::max(hx, hy);
  const double imc1 = h_max > kEntropyFloor ? (joint_entropy - hxy1) / h_max : 0.0;
  const double imc2_arg = hxy2 - joint_entropy;
  const double imc2 = imc2_arg > kEntropyFloor ? std::sqrt(1.0 - std::exp(-2.0 * imc2_arg)) : 0.0;
  const double sigma_product = std::sqrt(var_x * var_y);
  const double correlation =
      sigma_product > kEntropyFloor * (1.0 + mu_x * mu_x) ? covariance / sigma_product : 1.0;

  values[kAutocorrelation] = autocorrelation;
  values[kJointAverage] = mu_x;
  values[kClusterProminence] = cluster_prominence;
  values[kClusterShade] = cluster_shade;
  values[kClusterTendency] = cluster_tendency;
  values[kContrast] = contrast;
  values[kCorrelation] = correlation;
  values[kDifferenceAverage] = difference_average;
  values[kDifferenceEntropy] = difference_entropy;
  values[kDifferenceVariance] = difference_variance;
  values[kJointEnergy] = energy;
  values[kJointEntropy] = joint_entropy;
  values[kImc1] = imc1;
  values[kImc2] = imc2;
  values[kIdm] = idm;
  values[kIdmn] = idmn;
  values[kId] = id;
  values[kIdn] = idn;
  values[kInverseVariance] = inverse_variance;
  values[kMaximumProbability] = max_p;
  values[kSumAverage] = sum_average;
  values[kSumEntropy] = sum_entropy;
  values[kSumSquares] = var_x;
  values[kMcc] = ComputeMcc(glcm, px, py, inv_total);
  values[kSumVariance] = sum_variance;
  values[kDissimilarity] = difference_average;
  return values;
}

FeatureList GlcmFeatures(const Glcm& glcm) {
  const GlcmValues values = ComputeGlcmValues(glcm);
  return texture_internal::MakeFeatureList(kGlcmFeatureDefs, values);
}

namespace {

// The features of one slice with a non-empty ROI box added to `mean`
// (GlcmFeaturesPerSlice's loop body).
void AddSliceGlcmFeatures(const LevelImage& slice, const RoiBox& box,
                          const texture_internal::PaddedLevels* padded,
                          const std::vector<Offset2D>& offsets, DirectionAggregation aggregation,
                          const GlcmOptions& options,
                          texture_internal::ValueMean<kGlcmFeatureDefs.size()>& mean) {
  Glcm buffer;  // reused for every matrix
  std::vector<std::uint32_t> scratch;
  {
    if (offsets.size() == kTextureDirections2D.size()) {
      // The usual four offsets: counted in one pass. The counts are whole
      // numbers, so the matrices equal those of AccumulateInBox exactly.
      std::array<Offset2D, kTextureDirections2D.size()> four{};
      std::copy(offsets.begin(), offsets.end(), four.begin());
      CountPairsInBox(slice, box, four, scratch, padded);
      if (aggregation == DirectionAggregation::kAverage) {
        for (std::size_t k = 0; k < four.size(); ++k) {
          ResetGlcm(slice.num_levels, buffer);
          AddPairTable(scratch, k, options.symmetric, buffer);
          if (buffer.Total() > 0.0) mean.Add(ComputeGlcmValues(buffer));
        }
      } else {
        ResetGlcm(slice.num_levels, buffer);
        for (std::size_t k = 0; k < four.size(); ++k) {
          AddPairTable(scratch, k, options.symmetric, buffer);
        }
        if (buffer.Total() > 0.0) mean.Add(ComputeGlcmValues(buffer));
      }
      return;
    }
    if (aggregation == DirectionAggregation::kAverage) {
      for (Offset2D offset : offsets) {
        ResetGlcm(slice.num_levels, buffer);
        AccumulateInBox(slice, box, offset, 1, options.symmetric, buffer, scratch);
        if (buffer.Total() > 0.0) mean.Add(ComputeGlcmValues(buffer));
      }
    } else {
      ResetGlcm(slice.num_levels, buffer);
      for (Offset2D offset : offsets) {
        AccumulateInBox(slice, box, offset, 1, options.symmetric, buffer, scratch);
      }
      if (buffer.Total() > 0.0) mean.Add(ComputeGlcmValues(buffer));
    }
  }
}

}  // namespace

FeatureList GlcmFeaturesPerSlice(std::span<const LevelImage> slices,
                                 DirectionAggregation aggregation, const GlcmOptions& options) {
  const std::vector<Offset2D> offsets = GlcmOffsets(options);
  texture_internal::ValueMean<kGlcmFeatureDefs.size()> mean;
  bool any_roi = false;
  for (const LevelImage& slice : slices) {
    const RoiBox box = FindRoiBox(slice);
    if (box.empty()) continue;
    any_roi = true;
    AddSliceGlcmFeatures(slice, box, nullptr, offsets, aggregation, options, mean);
  }
  if (!any_roi) return {};
  return texture_internal::MakeFeatureList(kGlcmFeatureDefs, mean.Mean());
}

FeatureList texture_internal::GlcmFeaturesPrepared(const LevelImage& image,
                                                   const PreparedLevels& prepared,
                                                   DirectionAggregation aggregation,
                                                   const GlcmOptions& options) {
  if (prepared.box.empty()) return {};
  const std::vector<Offset2D> offsets = GlcmOffsets(options);
  texture_internal::ValueMean<kGlcmFeatureDefs.size()> mean;
  AddSliceGlcmFeatures(image, prepared.box, prepared.padded, offsets, aggregation, options, mean);
  return texture_internal::MakeFeatureList(kGlcmFeatureDefs, mean.Mean());
}

FeatureList GlcmFeatures2D(const LevelImage& image, DirectionAggregation aggregation,
                           const GlcmOptions& options) {
  return GlcmFeaturesPerSlice(std::span<const LevelImage>(&image, 1), aggregation, options);
}

}  // namespace fedrad::site_agent::radiomics

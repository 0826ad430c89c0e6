// The fast paths of the radiomics kernels (one pass for the four GLCM and
// GLRLM directions, one pass for NGTDM and NGLDM, quantiles by bucketed
// selection, histogram statistics from level counts) against the direction-
// by-direction / element-by-element definitions they replace.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "fedrad/site_agent/radiomics/discretise.hpp"
#include "fedrad/site_agent/radiomics/extraction.hpp"
#include "fedrad/site_agent/radiomics/intensity.hpp"
#include "fedrad/site_agent/radiomics/texture.hpp"

namespace fedrad::site_agent::radiomics {
namespace {

// Random levels 1..num_levels with about 15% holes (level 0 = outside the
// ROI) and a few constant patches (long runs, large zones).
LevelImage RandomLevels(int width, int height, int num_levels, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> level(1, num_levels);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  LevelImage image;
  image.num_levels = num_levels;
  image.levels = Grid<int>(width, height, 0);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const bool patch = (x / 5 + y / 4) % 7 == 0;
      image.levels.at(x, y) = unit(rng) < 0.15 ? 0 : (patch ? 2 : level(rng));
    }
  }
  return image;
}

std::vector<double> Values(const FeatureList& features) {
  std::vector<double> out;
  for (const Feature& f : features) out.push_back(f.value);
  return out;
}

// The IBSI 2D:avg mean over the four directions, summed in direction order
// as ValueMean does.
template <std::size_t N>
std::vector<double> MeanOf(const std::vector<std::array<double, N>>& per_direction) {
  std::vector<double> mean(N, 0.0);
  for (const auto& values : per_direction) {
    for (std::size_t k = 0; k < N; ++k) mean[k] += values[k];
  }
  for (double& m : mean) m /= static_cast<double>(per_direction.size());
  return mean;
}

TEST(RadiomicsFusedKernelsTest, GlcmOfFourDirectionsInOnePassEqualsDirectionByDirection) {
  for (unsigned seed : {1U, 2U, 3U}) {
    const LevelImage image = RandomLevels(37, 23, 9, seed);
    std::vector<GlcmValues> per_direction;
    std::vector<Glcm> matrices;
    for (Offset2D direction : kTextureDirections2D) {
      matrices.push_back(BuildGlcm(image, direction));
      per_direction.push_back(ComputeGlcmValues(matrices.back()));
    }
    EXPECT_EQ(Values(GlcmFeatures2D(image, DirectionAggregation::kAverage, GlcmOptions{})),
              MeanOf(per_direction))
        << "seed " << seed;
    const GlcmValues merged = ComputeGlcmValues(MergeGlcms(matrices));
    EXPECT_EQ(Values(GlcmFeatures2D(image, DirectionAggregation::kMerge, GlcmOptions{})),
              std::vector<double>(merged.begin(), merged.end()))
        << "seed " << seed;
  }
}

TEST(RadiomicsFusedKernelsTest, GlrlmOfFourDirectionsInOnePassEqualsDirectionByDirection) {
  // Wide, tall and square boxes (the diagonal lines' lengths differ).
  for (auto [w, h] : {std::pair{41, 17}, std::pair{13, 29}, std::pair{20, 20}}) {
    const LevelImage image = RandomLevels(w, h, 6, static_cast<unsigned>(w * h));
    std::vector<GlrlmValues> per_direction;
    std::vector<Glrlm> matrices;
    for (Offset2D direction : kTextureDirections2D) {
      matrices.push_back(BuildGlrlm(image, direction));
      per_direction.push_back(ComputeGlrlmValues(matrices.back()));
    }
    EXPECT_EQ(Values(GlrlmFeatures2D(image, DirectionAggregation::kAverage)), MeanOf(per_direction))
        << w << "x" << h;
    const GlrlmValues merged = ComputeGlrlmValues(MergeLevelSizeMatrices(matrices));
    EXPECT_EQ(Values(GlrlmFeatures2D(image, DirectionAggregation::kMerge)),
              std::vector<double>(merged.begin(), merged.end()))
        << w << "x" << h;
  }
}

// ExtractFromArrays builds NGTDM and NGLDM in one pass: its lesion features
// on the original image equal the standalone functions' on the same levels.
TEST(RadiomicsFusedKernelsTest, ExtractionNgtdmAndNgldmEqualTheStandaloneFunctions) {
  Image image;
  image.spacing = {1.0, 1.0};
  image.pixels = Grid<double>(30, 24);
  std::mt19937 rng(7);
  std::gamma_distribution<double> speckle(2.0, 30.0);
  for (double& v : image.pixels.data) v = std::round(speckle(rng));
  const Mask lesion(30, 24, 1);  // the whole image: the window is the image
  for (int alpha : {0, 1}) {
    ExtractionParams params = DefaultExtractionParams();
    params.ngldm.alpha = alpha;
    auto result = ExtractFromArrays("case", image, lesion, nullptr, nullptr, params);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    std::map<std::string, double> got(result->features.begin(), result->features.end());

    const IntensityRoi roi = PrepareIntensityRoi(image, lesion, params.discretisation);
    const LevelImage levels = DiscretisePrepared(roi, params.discretisation);
    const auto expect_family = [&](const std::string& family, const FeatureList& expected) {
      ASSERT_FALSE(expected.empty()) << family;
      for (const Feature& f : expected) {
        const std::string name = "lesion_original_" + family + "_" + f.name;
        ASSERT_EQ(got.count(name), 1U) << name;
        EXPECT_EQ(got.at(name), f.value) << name << " alpha " << alpha;
      }
    };
    expect_family("ngtdm", NgtdmFeatures2D(levels, 1));
    expect_family("ngldm", NgldmFeatures2D(levels, params.ngldm));
    expect_family("gldm", GldmFeatures2D(levels, params.ngldm));
  }
}

// numpy.percentile (linear) of a sorted sample.
double SortedPercentile(const std::vector<double>& sorted, double q) {
  const double h = q / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto low = static_cast<std::size_t>(std::floor(h));
  const std::size_t high = std::min(low + 1, sorted.size() - 1);
  const double t = h - std::floor(h);
  const double a = sorted[low];
  const double b = sorted[high];
  return t >= 0.5 ? b - (b - a) * (1.0 - t) : a + (b - a) * t;
}

// Bucketed selection finds the exact order statistics, also for skewed
// samples with ties, single values and a huge dynamic range.
TEST(RadiomicsFusedKernelsTest, PercentilesAreTheExactOrderStatistics) {
  std::mt19937 rng(11);
  std::lognormal_distribution<double> skewed(0.0, 2.0);
  const std::vector<std::size_t> sizes = {1, 2, 3, 10, 1001, 5000};
  for (std::size_t n : sizes) {
    std::vector<double> sample(n);
    for (std::size_t i = 0; i < n; ++i) {
      // Ties (rounded values), a far outlier and negative values.
      sample[i] = i % 7 == 0 ? std::round(skewed(rng)) : -skewed(rng);
    }
    if (n > 3) sample[n / 2] = 1e12;
    std::vector<double> sorted = sample;
    std::sort(sorted.begin(), sorted.end());
    const FeatureList features =
        FirstOrderFeatures(sample, std::span<const int>(), Spacing{1.0, 1.0}, FirstOrderOptions{});
    std::map<std::string, double> got;
    for (const Feature& f : features) got[f.name] = f.value;
    EXPECT_EQ(got.at("10Percentile"), SortedPercentile(sorted, 10.0)) << n;
    EXPECT_EQ(got.at("90Percentile"), SortedPercentile(sorted, 90.0)) << n;
    EXPECT_EQ(got.at("InterquartileRange"),
              SortedPercentile(sorted, 75.0) - SortedPercentile(sorted, 25.0))
        << n;
    const double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
    EXPECT_EQ(got.at("Median"), median) << n;
    EXPECT_EQ(Percentile(sample, 10.0, PercentileMethod::kLinear), SortedPercentile(sorted, 10.0));
  }
}

// The histogram family's statistics come from the level counts; they match
// element-by-element sums in long double to ~1e-15 relative.
TEST(RadiomicsFusedKernelsTest, HistogramStatisticsFromCountsMatchElementSums) {
  std::mt19937 rng(5);
  std::binomial_distribution<int> level(31, 0.3);
  std::vector<int> levels(20011);
  for (int& l : levels) l = level(rng) + 1;
  std::map<std::string, double> got;
  for (const Feature& f : IntensityHistogramFeatures(levels, 32, PercentileMethod::kLinear)) {
    got[f.name] = f.value;
  }
  long double sum = 0.0L;
  for (int l : levels) sum += l;
  const long double n = static_cast<long double>(levels.size());
  const long double mean = sum / n;
  long double m2 = 0.0L;
  long double m3 = 0.0L;
  long double abs_dev = 0.0L;
  for (int l : levels) {
    const long double d = l - mean;
    m2 += d * d;
    m3 += d * d * d;
    abs_dev += std::fabs(d);
  }
  m2 /= n;
  m3 /= n;
  abs_dev /= n;
  EXPECT_EQ(got.at("Mean"), static_cast<double>(mean));
  EXPECT_NEAR(got.at("Variance"), static_cast<double>(m2), 1e-13 * static_cast<double>(m2));
  const double skewness = static_cast<double>(m3 / std::pow(m2, 1.5L));
  EXPECT_NEAR(got.at("Skewness"), skewness, 1e-12);
  EXPECT_NEAR(got.at("MeanAbsoluteDeviation"), static_cast<double>(abs_dev),
              1e-13 * static_cast<double>(abs_dev));
  std::vector<int> sorted = levels;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(got.at("Median"), sorted[sorted.size() / 2]);
  EXPECT_EQ(got.at("Minimum"), sorted.front());
  EXPECT_EQ(got.at("Maximum"), sorted.back());
}

}  // namespace
}  // namespace fedrad::site_agent::radiomics

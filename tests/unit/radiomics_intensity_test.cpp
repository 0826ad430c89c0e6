// Discretisation, first-order and intensity-histogram features on small
// hand-computed examples.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "fedrad/site_agent/radiomics/discretise.hpp"
#include "fedrad/site_agent/radiomics/intensity.hpp"

namespace fedrad::site_agent::radiomics {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

DiscretisationSettings Settings(DiscretisationMode mode, double bin_width = 25.0,
                                int bin_count = 32) {
  DiscretisationSettings settings;
  settings.mode = mode;
  settings.bin_width = bin_width;
  settings.bin_count = bin_count;
  return settings;
}

// A 1-row image holding `values`, with a full mask.
Image RowImage(const std::vector<double>& values) {
  Image image;
  image.pixels = Grid<double>(static_cast<int>(values.size()), 1);
  image.pixels.data = values;
  image.spacing = Spacing{1.0, 1.0};
  return image;
}

Mask FullMask(const Image& image) { return Mask(image.pixels.width, image.pixels.height, 1); }

double Value(const FeatureList& features, const std::string& name) {
  for (const Feature& f : features) {
    if (f.name == name) return f.value;
  }
  ADD_FAILURE() << "no feature named " << name;
  return kNaN;
}

std::string Code(const FeatureList& features, const std::string& name) {
  for (const Feature& f : features) {
    if (f.name == name) return f.ibsi_code;
  }
  ADD_FAILURE() << "no feature named " << name;
  return "?";
}

bool Has(const FeatureList& features, const std::string& name) {
  for (const Feature& f : features) {
    if (f.name == name) return true;
  }
  return false;
}

// ---------------------------------------------------------------- settings

TEST(RadiomicsDiscretiseTest, CheckDiscretisationAcceptsDefaultsAndNamesBadFields) {
  EXPECT_EQ(CheckDiscretisation(DiscretisationSettings{}), "");
  EXPECT_EQ(CheckDiscretisation(Settings(DiscretisationMode::kNone, 0.0, 0)), "");

  const std::string width = CheckDiscretisation(Settings(DiscretisationMode::kFixedBinWidth, 0.0));
  EXPECT_NE(width.find("bin_width"), std::string::npos) << width;
  EXPECT_NE(width.find("(got 0)"), std::string::npos) << width;
  EXPECT_NE(CheckDiscretisation(Settings(DiscretisationMode::kFixedBinWidthPyRadiomics, kNaN))
                .find("bin_width"),
            std::string::npos);
  EXPECT_NE(
      CheckDiscretisation(Settings(DiscretisationMode::kFixedBinCount, 1.0, 0)).find("bin_count"),
      std::string::npos);
  EXPECT_NE(CheckDiscretisation(
                Settings(DiscretisationMode::kFixedBinCount, 1.0, kMaxDiscretisationLevels + 1))
                .find("bin_count"),
            std::string::npos);

  DiscretisationSettings range = Settings(DiscretisationMode::kFixedBinWidth, 1.0);
  range.resegment_min = 5.0;
  range.resegment_max = 2.0;
  EXPECT_NE(CheckDiscretisation(range).find("resegment_min (5)"), std::string::npos);

  DiscretisationSettings norm;
  norm.normalisation.enabled = true;
  norm.normalisation.scale = -1.0;
  EXPECT_NE(CheckDiscretisation(norm).find("scale"), std::string::npos);
  norm.normalisation.scale = 1.0;
  norm.normalisation.outlier_sigma = 0.0;
  EXPECT_NE(CheckDiscretisation(norm).find("outlier_sigma"), std::string::npos);
  norm.normalisation.enabled = false;  // unused settings are not checked
  EXPECT_EQ(CheckDiscretisation(norm), "");

  EXPECT_STREQ(DiscretisationModeName(DiscretisationMode::kFixedBinWidthPyRadiomics),
               "fixed_bin_width_pyradiomics");
}

// ----------------------------------------------------------- binning modes

TEST(RadiomicsDiscretiseTest, IbsiFixedBinWidthCountsFromTheRoiMinimum) {
  const std::vector<double> values = {3.2, 5.9, 7.1};
  // floor((x - 3.2) / 2) + 1: 0 -> 1, 1.35 -> 2, 1.95 -> 2.
  const DiscretisedValues d =
      DiscretiseValues(values, Settings(DiscretisationMode::kFixedBinWidth, 2.0));
  EXPECT_EQ(d.levels, (std::vector<int>{1, 2, 2}));
  EXPECT_EQ(d.num_levels, 2);
}

TEST(RadiomicsDiscretiseTest, PyRadiomicsFixedBinWidthAnchorsEdgesAtZero) {
  const std::vector<double> values = {3.2, 5.9, 7.1};
  // Edges 2, 4, 6, 8, ...: [2,4) -> 1, [4,6) -> 2, [6,8) -> 3.
  const DiscretisedValues d =
      DiscretiseValues(values, Settings(DiscretisationMode::kFixedBinWidthPyRadiomics, 2.0));
  EXPECT_EQ(d.levels, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(d.num_levels, 3);
}

TEST(RadiomicsDiscretiseTest, PyRadiomicsFixedBinWidthDocumentedExampleAndEdges) {
  // PyRadiomics' getBinEdges example: ROI 54..166, w = 25 -> edges 50, 75, ...
  const std::vector<double> values = {54, 74.9, 75, 100, 166};
  EXPECT_EQ(
      DiscretiseValues(values, Settings(DiscretisationMode::kFixedBinWidthPyRadiomics, 25)).levels,
      (std::vector<int>{1, 1, 2, 3, 5}));
  // The same values counted from the minimum 54 (IBSI): 74.9 and 75 share bin 1.
  EXPECT_EQ(DiscretiseValues(values, Settings(DiscretisationMode::kFixedBinWidth, 25)).levels,
            (std::vector<int>{1, 1, 1, 2, 5}));
  // A maximum on an edge opens its own bin (half-open bins, numpy.digitize).
  EXPECT_EQ(DiscretiseValues(std::vector<double>{50, 75, 100},
                             Settings(DiscretisationMode::kFixedBinWidthPyRadiomics, 25))
                .levels,
            (std::vector<int>{1, 2, 3}));
}

TEST(RadiomicsDiscretiseTest, PyRadiomicsFixedBinWidthWithNegativeValues) {
  // Python: -7 % 5 == 3, lowest edge -10; edges -10, -5, 0, 5.
  const std::vector<double> values = {-7, -5, -1, 0, 3};
  EXPECT_EQ(
      DiscretiseValues(values, Settings(DiscretisationMode::kFixedBinWidthPyRadiomics, 5)).levels,
      (std::vector<int>{1, 2, 2, 3, 3}));
}

TEST(RadiomicsDiscretiseTest, IbsiFixedBinCount) {
  const std::vector<double> values = {0, 1, 2.5, 5, 9.99, 10};
  // floor(4 x / 10) + 1, and the maximum -> 4.
  const DiscretisedValues d =
      DiscretiseValues(values, Settings(DiscretisationMode::kFixedBinCount, 1.0, 4));
  EXPECT_EQ(d.levels, (std::vector<int>{1, 1, 2, 3, 4, 4}));
  EXPECT_EQ(d.num_levels, 4);
}

TEST(RadiomicsDiscretiseTest, ConstantRoiGetsOneLevel) {
  const std::vector<double> values = {7.5, 7.5, 7.5};
  for (DiscretisationMode mode :
       {DiscretisationMode::kFixedBinWidth, DiscretisationMode::kFixedBinWidthPyRadiomics,
        DiscretisationMode::kFixedBinCount}) {
    const DiscretisedValues d = DiscretiseValues(values, Settings(mode, 2.0, 16));
    EXPECT_EQ(d.levels, (std::vector<int>{1, 1, 1})) << DiscretisationModeName(mode);
    EXPECT_EQ(d.num_levels, 1) << DiscretisationModeName(mode);
  }
  const DiscretisedValues none =
      DiscretiseValues(std::vector<double>{3, 3}, Settings(DiscretisationMode::kNone));
  EXPECT_EQ(none.levels, (std::vector<int>{3, 3}));
  EXPECT_EQ(none.num_levels, 3);
}

TEST(RadiomicsDiscretiseTest, NoneKeepsIntegerLevelsAndRepairsOthers) {
  const Image image = RowImage({1, 3, 4, 6, 2.4, 0.2});
  Mask mask = FullMask(image);
  const DiscretisationSettings none = Settings(DiscretisationMode::kNone);
  const LevelImage levels = Discretise(image, mask, none);
  EXPECT_EQ(levels.levels.data, (std::vector<int>{1, 3, 4, 6, 2, 1}));
  EXPECT_EQ(levels.num_levels, 6);
  const std::string error = CheckDiscretisationInput(image, mask, none);
  EXPECT_NE(error.find("pixel (4, 0) is 2.4"), std::string::npos) << error;
  mask.data[4] = 0;
  mask.data[5] = 0;
  EXPECT_EQ(CheckDiscretisationInput(image, mask, none), "");
}

TEST(RadiomicsDiscretiseTest, ResegmentationRemovesPixelsAndAnchorsIbsiBins) {
  const Image image = RowImage({1.0, 2.5, 3.0, 4.9, 6.0, 5.0});
  Mask mask = FullMask(image);
  mask.data[5] = 0;  // outside the ROI from the start
  DiscretisationSettings settings = Settings(DiscretisationMode::kFixedBinWidth, 1.0);
  settings.resegment_min = 2.0;
  settings.resegment_max = 5.0;

  const Mask resegmented = ResegmentMask(image, mask, settings);
  EXPECT_EQ(resegmented.data, (std::vector<std::uint8_t>{0, 1, 1, 1, 0, 0}));
  // Bins counted from the lower bound 2 (IBSI): 2.5 -> 1, 3 -> 2, 4.9 -> 3.
  const LevelImage levels = Discretise(image, mask, settings);
  EXPECT_EQ(levels.levels.data, (std::vector<int>{0, 1, 2, 3, 0, 0}));
  EXPECT_EQ(levels.num_levels, 3);

  // Half-open range: only a lower bound.
  settings.resegment_max.reset();
  EXPECT_EQ(ResegmentMask(image, mask, settings).data,
            (std::vector<std::uint8_t>{0, 1, 1, 1, 1, 0}));

  // Everything removed: empty ROI, explained by the input check.
  settings.resegment_min = 100.0;
  const LevelImage empty = Discretise(image, mask, settings);
  EXPECT_EQ(empty.num_levels, 0);
  EXPECT_EQ(RoiLevels(empty).size(), 0u);
  EXPECT_NE(CheckDiscretisationInput(image, mask, settings).find("empty after re-segmentation"),
            std::string::npos);
}

TEST(RadiomicsDiscretiseTest, NonFiniteIntensitiesLeaveTheRoi) {
  const Image image = RowImage({1.0, kNaN, 3.0, std::numeric_limits<double>::infinity()});
  const Mask mask = FullMask(image);
  const DiscretisationSettings settings = Settings(DiscretisationMode::kFixedBinCount, 1.0, 2);
  const LevelImage levels = Discretise(image, mask, settings);
  EXPECT_EQ(levels.levels.data, (std::vector<int>{1, 0, 2, 0}));
  EXPECT_NE(CheckDiscretisationInput(image, mask, settings).find("2 of 4 ROI pixels"),
            std::string::npos);
}

TEST(RadiomicsDiscretiseTest, SizeMismatchAndTooManyLevels) {
  const Image image = RowImage({0.0, 1000.0});
  const Mask small(1, 1, 1);
  const DiscretisationSettings fine = Settings(DiscretisationMode::kFixedBinWidth, 1e-6);
  EXPECT_EQ(Discretise(image, small, fine).levels.size(), 0u);
  EXPECT_NE(CheckDiscretisationInput(image, small, fine).find("mask is 1x1"), std::string::npos);
  EXPECT_NE(CheckDiscretisationInput(image, Mask(2, 1, 0), fine).find("no ROI pixels"),
            std::string::npos);

  // 1e9 levels would be produced: reported, and capped when discretising.
  const std::string error = CheckDiscretisationInput(image, FullMask(image), fine);
  EXPECT_NE(error.find("grey levels"), std::string::npos) << error;
  const LevelImage capped = Discretise(image, FullMask(image), fine);
  EXPECT_EQ(capped.levels.data, (std::vector<int>{1, kMaxDiscretisationLevels}));
  EXPECT_EQ(capped.num_levels, kMaxDiscretisationLevels);
}

TEST(RadiomicsDiscretiseTest, NormalisationUsesTheWholeImage) {
  // Whole image 1..5: mean 3, sample standard deviation sqrt(2.5).
  const Image image = RowImage({1, 2, 3, 4, 5});
  NormalisationSettings norm;
  norm.enabled = true;
  const Image z = NormaliseImage(image, norm);
  const double sigma = std::sqrt(2.5);
  for (int i = 0; i < 5; ++i) {
    EXPECT_NEAR(z.pixels.data[static_cast<std::size_t>(i)], (i + 1 - 3) / sigma, 1e-12);
  }
  // Outliers clipped at +-1 sigma, then scaled by 100 (PyRadiomics order).
  norm.outlier_sigma = 1.0;
  norm.scale = 100.0;
  const Image clipped = NormaliseImage(image, norm);
  EXPECT_NEAR(clipped.pixels.data[0], -100.0, 1e-9);
  EXPECT_NEAR(clipped.pixels.data[1], -100.0 / sigma, 1e-9);
  EXPECT_NEAR(clipped.pixels.data[4], 100.0, 1e-9);

  // The ROI (pixels 3..4) is normalised with the whole image's statistics,
  // and re-segmentation works in normalised units.
  DiscretisationSettings settings = Settings(DiscretisationMode::kFixedBinWidth, 50.0);
  settings.normalisation.enabled = true;
  settings.normalisation.scale = 100.0;
  settings.resegment_min = 50.0;
  Mask mask(5, 1, 0);
  mask.data[2] = mask.data[3] = mask.data[4] = 1;
  const IntensityRoi roi = PrepareIntensityRoi(image, mask, settings);
  EXPECT_EQ(roi.mask.data, (std::vector<std::uint8_t>{0, 0, 0, 1, 1}));
  EXPECT_EQ(RoiValues(roi.image, roi.mask).size(), 2u);
  EXPECT_NEAR(RoiValues(roi.image, roi.mask)[0], 100.0 / sigma, 1e-9);
  // Anchor 50: 63.2 -> 1, 126.5 -> 2.
  EXPECT_EQ(Discretise(image, mask, settings).levels.data, (std::vector<int>{0, 0, 0, 1, 2}));

  // Constant image: all zeros; disabled: unchanged.
  const Image flat = NormaliseImage(RowImage({4, 4, 4}), NormalisationSettings{true, 1.0, {}});
  EXPECT_EQ(flat.pixels.data, (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(NormaliseImage(image, NormalisationSettings{}).pixels.data, image.pixels.data);
}

TEST(RadiomicsDiscretiseTest, RoiValuesAndLevelsAreRowMajor) {
  Image image;
  image.pixels = Grid<double>(2, 2);
  image.pixels.data = {10, 20, 30, 40};
  Mask mask(2, 2, 0);
  mask.at(1, 0) = 1;
  mask.at(0, 1) = 1;
  EXPECT_EQ(RoiValues(image, mask), (std::vector<double>{20, 30}));
  const LevelImage levels =
      Discretise(image, mask, Settings(DiscretisationMode::kFixedBinCount, 1.0, 3));
  EXPECT_EQ(RoiLevels(levels), (std::vector<int>{1, 3}));
}

// ------------------------------------------------------------- first order

TEST(RadiomicsFirstOrderTest, HandComputedSample) {
  // x = 1, 2, 3, 4, 10: mean 4, deviations -3 -2 -1 0 6.
  const std::vector<double> values = {10, 3, 1, 4, 2};
  const std::vector<int> levels = {1, 1, 2, 2};
  const FeatureList f = FirstOrderFeatures(values, levels, Spacing{0.5, 3.0});
  EXPECT_EQ(f.size(), 23u);
  EXPECT_DOUBLE_EQ(Value(f, "Energy"), 130.0);
  EXPECT_DOUBLE_EQ(Value(f, "TotalEnergy"), 195.0);
  EXPECT_DOUBLE_EQ(Value(f, "Entropy"), 1.0);
  EXPECT_DOUBLE_EQ(Value(f, "Uniformity"), 0.5);
  EXPECT_DOUBLE_EQ(Value(f, "Minimum"), 1.0);
  EXPECT_DOUBLE_EQ(Value(f, "Maximum"), 10.0);
  EXPECT_DOUBLE_EQ(Value(f, "Range"), 9.0);
  EXPECT_DOUBLE_EQ(Value(f, "Mean"), 4.0);
  EXPECT_DOUBLE_EQ(Value(f, "Median"), 3.0);
  // numpy linear: P10 at index 0.4 -> 1.4; P90 at 3.6 -> 4 + 0.6 * 6 = 7.6.
  EXPECT_NEAR(Value(f, "10Percentile"), 1.4, 1e-12);
  EXPECT_NEAR(Value(f, "90Percentile"), 7.6, 1e-12);
  EXPECT_DOUBLE_EQ(Value(f, "InterquartileRange"), 2.0);  // P75 4 - P25 2
  EXPECT_DOUBLE_EQ(Value(f, "MeanAbsoluteDeviation"), 2.4);
  EXPECT_NEAR(Value(f, "RobustMeanAbsoluteDeviation"), 2.0 / 3.0, 1e-12);  // {2, 3, 4}
  EXPECT_DOUBLE_EQ(Value(f, "MedianAbsoluteDeviation"), 2.2);
  EXPECT_DOUBLE_EQ(Value(f, "RootMeanSquared"), std::sqrt(26.0));
  EXPECT_DOUBLE_EQ(Value(f, "Variance"), 10.0);
  EXPECT_DOUBLE_EQ(Value(f, "StandardDeviation"), std::sqrt(10.0));
  EXPECT_NEAR(Value(f, "Skewness"), 36.0 / std::pow(10.0, 1.5), 1e-12);
  EXPECT_NEAR(Value(f, "Kurtosis"), 2.788, 1e-12);
  EXPECT_NEAR(Value(f, "ExcessKurtosis"), -0.212, 1e-12);
  EXPECT_NEAR(Value(f, "CoefficientOfVariation"), std::sqrt(10.0) / 4.0, 1e-12);
  EXPECT_NEAR(Value(f, "QuartileCoefficientOfDispersion"), 1.0 / 3.0, 1e-12);

  EXPECT_EQ(Code(f, "Energy"), "N8CA");
  EXPECT_EQ(Code(f, "ExcessKurtosis"), "IPH6");
  EXPECT_EQ(Code(f, "Kurtosis"), "");
  EXPECT_EQ(Code(f, "TotalEnergy"), "");
}

TEST(RadiomicsFirstOrderTest, NearestRankPercentiles) {
  const std::vector<double> values = {1, 2, 3, 4, 10};
  FirstOrderOptions options;
  options.percentile_method = PercentileMethod::kNearestRank;
  const FeatureList f = FirstOrderFeatures(values, {}, Spacing{}, options);
  EXPECT_DOUBLE_EQ(Value(f, "10Percentile"), 1.0);   // rank ceil(0.5) = 1
  EXPECT_DOUBLE_EQ(Value(f, "90Percentile"), 10.0);  // rank ceil(4.5) = 5
  EXPECT_DOUBLE_EQ(Value(f, "InterquartileRange"), 2.0);
  EXPECT_DOUBLE_EQ(Value(f, "Median"), 3.0);

  EXPECT_DOUBLE_EQ(Percentile(values, 50, PercentileMethod::kLinear), 3.0);
  EXPECT_DOUBLE_EQ(Percentile(std::vector<double>{4, 1, 3, 2}, 50, PercentileMethod::kLinear), 2.5);
  EXPECT_DOUBLE_EQ(Percentile(std::vector<double>{4, 1, 3, 2}, 50, PercentileMethod::kNearestRank),
                   2.0);
  EXPECT_DOUBLE_EQ(Percentile(values, 0, PercentileMethod::kNearestRank), 1.0);
  EXPECT_DOUBLE_EQ(Percentile(values, 100, PercentileMethod::kLinear), 10.0);
  EXPECT_DOUBLE_EQ(Percentile(std::vector<double>{}, 50, PercentileMethod::kLinear), 0.0);
}

TEST(RadiomicsFirstOrderTest, EvenSampleMedianIsTheMiddleMean) {
  const FeatureList f = FirstOrderFeatures(std::vector<double>{8, 1, 6, 3}, {}, Spacing{});
  EXPECT_DOUBLE_EQ(Value(f, "Median"), 4.5);
  EXPECT_DOUBLE_EQ(Value(f, "MedianAbsoluteDeviation"), (3.5 + 1.5 + 1.5 + 3.5) / 4.0);
}

TEST(RadiomicsFirstOrderTest, VoxelArrayShiftDropsIbsiCodes) {
  FirstOrderOptions options;
  options.voxel_array_shift = 1.0;
  const FeatureList f =
      FirstOrderFeatures(std::vector<double>{1, 2, 3, 4, 10}, {}, Spacing{}, options);
  EXPECT_DOUBLE_EQ(Value(f, "Energy"), 175.0);
  EXPECT_DOUBLE_EQ(Value(f, "RootMeanSquared"), std::sqrt(35.0));
  EXPECT_EQ(Code(f, "Energy"), "");
  EXPECT_EQ(Code(f, "RootMeanSquared"), "");
  EXPECT_DOUBLE_EQ(Value(f, "Mean"), 4.0);  // unaffected
}

TEST(RadiomicsFirstOrderTest, DegenerateSamples) {
  EXPECT_TRUE(FirstOrderFeatures(std::vector<double>{}, {}, Spacing{}).empty());
  EXPECT_TRUE(FirstOrderFeatures(std::vector<double>{kNaN}, {}, Spacing{}).empty());

  // Without levels, Entropy and Uniformity are omitted.
  const FeatureList no_levels = FirstOrderFeatures(std::vector<double>{1, 2}, {}, Spacing{});
  EXPECT_FALSE(Has(no_levels, "Entropy"));
  EXPECT_FALSE(Has(no_levels, "Uniformity"));
  EXPECT_EQ(no_levels.size(), 21u);

  // Constant: spread and shape statistics are 0 (IBSI / PyRadiomics).
  const FeatureList flat =
      FirstOrderFeatures(std::vector<double>{0.1, 0.1, 0.1}, std::vector<int>{1, 1, 1}, Spacing{});
  EXPECT_DOUBLE_EQ(Value(flat, "Mean"), 0.1);
  for (const char* name : {"Variance", "StandardDeviation", "Skewness", "Kurtosis",
                           "ExcessKurtosis", "Range", "MeanAbsoluteDeviation", "Entropy"}) {
    EXPECT_EQ(Value(flat, name), 0.0) << name;
  }
  EXPECT_DOUBLE_EQ(Value(flat, "Uniformity"), 1.0);

  // Zero denominators give 0, never NaN or infinity.
  const FeatureList symmetric =
      FirstOrderFeatures(std::vector<double>{-1, 1}, std::vector<int>{1, 2}, Spacing{});
  EXPECT_EQ(Value(symmetric, "CoefficientOfVariation"), 0.0);
  EXPECT_EQ(Value(symmetric, "QuartileCoefficientOfDispersion"), 0.0);
  // Two values: [P10, P90] = [-0.8, 0.8] holds neither of them.
  EXPECT_EQ(Value(symmetric, "RobustMeanAbsoluteDeviation"), 0.0);
  for (const Feature& feature : symmetric)
    EXPECT_TRUE(std::isfinite(feature.value)) << feature.name;

  // Non-finite values are ignored.
  const FeatureList with_nan = FirstOrderFeatures(std::vector<double>{1, kNaN, 3}, {}, Spacing{});
  EXPECT_DOUBLE_EQ(Value(with_nan, "Mean"), 2.0);
}

// ------------------------------------------------------ intensity histogram

TEST(RadiomicsIntensityHistogramTest, HandComputedHistogram) {
  // Levels 1, 1, 2, 4 with Ng = 5: n = (2, 1, 0, 1, 0), mean 2.
  const std::vector<int> levels = {4, 1, 2, 1};
  const FeatureList f = IntensityHistogramFeatures(levels, 5);
  EXPECT_EQ(f.size(), 23u);
  EXPECT_DOUBLE_EQ(Value(f, "Mean"), 2.0);
  EXPECT_DOUBLE_EQ(Value(f, "Variance"), 1.5);  // (1 + 1 + 0 + 4) / 4
  EXPECT_DOUBLE_EQ(Value(f, "Median"), 1.5);
  EXPECT_DOUBLE_EQ(Value(f, "Minimum"), 1.0);
  EXPECT_DOUBLE_EQ(Value(f, "Maximum"), 4.0);
  EXPECT_DOUBLE_EQ(Value(f, "Range"), 3.0);
  EXPECT_DOUBLE_EQ(Value(f, "Mode"), 1.0);
  EXPECT_DOUBLE_EQ(Value(f, "Entropy"), 1.5);
  EXPECT_DOUBLE_EQ(Value(f, "Uniformity"), 0.375);
  // H' = (n2 - n1, (n3 - n1)/2, (n4 - n2)/2, (n5 - n3)/2, n5 - n4) = (-1, -1, 0, 0, -1).
  EXPECT_DOUBLE_EQ(Value(f, "MaximumHistogramGradient"), 0.0);
  EXPECT_DOUBLE_EQ(Value(f, "MaximumHistogramGradientIntensity"), 3.0);
  EXPECT_DOUBLE_EQ(Value(f, "MinimumHistogramGradient"), -1.0);
  EXPECT_DOUBLE_EQ(Value(f, "MinimumHistogramGradientIntensity"), 1.0);
  EXPECT_EQ(Code(f, "Mode"), "AMMC");
  EXPECT_EQ(Code(f, "10Percentile"), "GPMT");
  EXPECT_EQ(Code(f, "90Percentile"), "OZ0C");
}

TEST(RadiomicsIntensityHistogramTest, ModeTiesGoToTheBinNearestTheMean) {
  // Counts 1:2, 3:2, 5:1 -> mean 2.6, level 3 is nearer.
  EXPECT_DOUBLE_EQ(Value(IntensityHistogramFeatures(std::vector<int>{1, 1, 3, 3, 5}, 5), "Mode"),
                   3.0);
  // Counts 1:2, 3:2 -> mean 2, equidistant -> the lower one.
  EXPECT_DOUBLE_EQ(Value(IntensityHistogramFeatures(std::vector<int>{3, 1, 3, 1}, 3), "Mode"), 1.0);
}

TEST(RadiomicsIntensityHistogramTest, DegenerateHistograms) {
  EXPECT_TRUE(IntensityHistogramFeatures(std::vector<int>{}, 4).empty());
  EXPECT_TRUE(IntensityHistogramFeatures(std::vector<int>{0, -2}, 4).empty());

  // Ng = 1: gradient 0 at level 1; spread 0.
  const FeatureList one = IntensityHistogramFeatures(std::vector<int>{1, 1, 1}, 1);
  EXPECT_EQ(Value(one, "MaximumHistogramGradient"), 0.0);
  EXPECT_EQ(Value(one, "MaximumHistogramGradientIntensity"), 1.0);
  EXPECT_EQ(Value(one, "Variance"), 0.0);
  EXPECT_EQ(Value(one, "ExcessKurtosis"), 0.0);
  EXPECT_EQ(Value(one, "Uniformity"), 1.0);

  // num_levels smaller than the highest level present: the histogram grows.
  const FeatureList grown = IntensityHistogramFeatures(std::vector<int>{1, 3, 0}, 2);
  EXPECT_DOUBLE_EQ(Value(grown, "Maximum"), 3.0);
  EXPECT_DOUBLE_EQ(Value(grown, "Mean"), 2.0);  // level 0 ignored
}

TEST(RadiomicsIntensityHistogramTest, MatchesFirstOrderOnTheSameLevels) {
  // On integer levels the shared statistics of both families coincide.
  const std::vector<int> levels = {1, 5, 2, 2, 3, 7, 7, 1, 4};
  const std::vector<double> values(levels.begin(), levels.end());
  const FeatureList fo = FirstOrderFeatures(values, levels, Spacing{});
  const FeatureList ih = IntensityHistogramFeatures(levels, 7);
  for (const char* name :
       {"Mean", "Variance", "Skewness", "ExcessKurtosis", "Median", "10Percentile", "90Percentile",
        "InterquartileRange", "MeanAbsoluteDeviation", "RobustMeanAbsoluteDeviation",
        "MedianAbsoluteDeviation", "CoefficientOfVariation", "QuartileCoefficientOfDispersion",
        "Entropy", "Uniformity"}) {
    EXPECT_NEAR(Value(fo, name), Value(ih, name), 1e-12) << name;
  }
}

}  // namespace
}  // namespace fedrad::site_agent::radiomics

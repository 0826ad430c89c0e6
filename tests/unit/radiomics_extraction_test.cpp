// The radiomics pipeline for one case: parameters, regions, names, absent
// features, and that cropping to the region (plus the filter support) gives
// the same values as filtering a larger image.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>

#include "fedrad/site_agent/radiomics/extraction.hpp"

namespace fedrad::site_agent::radiomics {
namespace {

using nlohmann::json;

Image SpeckleImage(int w, int h, unsigned seed, Spacing spacing = {0.5, 0.5}) {
  std::mt19937 rng(seed);
  std::gamma_distribution<double> speckle(2.0, 20.0);
  Image image;
  image.spacing = spacing;
  image.pixels = Grid<double>(w, h);
  for (auto& v : image.pixels.data) v = std::round(speckle(rng));
  return image;
}

Mask Ellipse(int w, int h, double cx, double cy, double rx, double ry) {
  Mask m(w, h, 0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const double u = (x - cx) / rx;
      const double v = (y - cy) / ry;
      m.at(x, y) = u * u + v * v <= 1.0 ? 1 : 0;
    }
  }
  return m;
}

std::map<std::string, double> AsMap(const CaseResult& r) {
  return std::map<std::string, double>(r.features.begin(), r.features.end());
}

ExtractionParams Params(const std::string& text) {
  auto parsed = ParseExtractionParams(json::parse(text), "test.json");
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? *parsed : DefaultExtractionParams();
}

TEST(RadiomicsExtractionTest, ParamErrorsNamePointersAndAllowedValues) {
  auto parsed = ParseExtractionParams(json::parse(R"({
      "imageType": {"Original": {}, "LoG": {"sigma": [1.0, -2.0]}, "Sharpen": {}},
      "featureClass": {"glcm": ["Contrast", "Contrast2"], "texture": []},
      "setting": {"binWidth": 0, "colour": "red"},
      "regions": {"ringWidthsMm": [5, 5]}})"),
                                      "p.json");
  ASSERT_FALSE(parsed.ok());
  const std::string msg = parsed.status().ToString();
  for (const char* expected :
       {"p.json", "/imageType/LoG/sigma/1", "/imageType/Sharpen", "/featureClass/glcm/1",
        "Contrast2", "/featureClass/texture", "unknown feature family", "/setting/binWidth",
        "/setting/colour", "/regions/ringWidthsMm", "twice"}) {
    EXPECT_NE(msg.find(expected), std::string::npos) << "missing \"" << expected << "\" in\n"
                                                     << msg;
  }
}

TEST(RadiomicsExtractionTest, DefaultsAndSettingsHash) {
  const ExtractionParams defaults = DefaultExtractionParams();
  EXPECT_TRUE(defaults.original);
  EXPECT_EQ(defaults.filters.size(), 7u);  // LoG 1, 2, 3 mm + 4 wavelet bands
  EXPECT_EQ(defaults.families.size(), kFeatureFamilies.size());
  EXPECT_EQ(defaults.hash.size(), 64u);
  EXPECT_EQ(Params("{}").hash, defaults.hash) << "an empty file means the defaults";
  EXPECT_NE(Params(R"({"setting": {"binWidth": 10}})").hash, defaults.hash);
  EXPECT_EQ(Params(R"({"setting": {"binWidth": 10}})").hash,
            Params(R"({"setting": {"binWidth": 10.0}})").hash);
}

TEST(RadiomicsExtractionTest, NamesRegionsAndShapeOnlyOnOriginal) {
  const Image image = SpeckleImage(120, 100, 1);
  const Mask lesion = Ellipse(120, 100, 50, 50, 15, 12);
  const Mask parenchyma = Ellipse(120, 100, 95, 50, 12, 30);
  const ExtractionParams params = Params(R"({
      "imageType": {"Original": {}, "LoG": {"sigma": [1.0]}},
      "featureClass": {"firstorder": ["Mean"], "shape2D": [], "glcm": ["Contrast"]},
      "regions": {"ringWidthsMm": [2.5]}})");
  auto result = ExtractFromArrays("case1", image, lesion, &parenchyma, nullptr, params);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const auto values = AsMap(*result);
  for (const char* name :
       {"lesion_original_firstorder_Mean", "lesion_original_glcm_Contrast",
        "lesion_original_shape2D_MeshSurface", "ring2.5mm_original_firstorder_Mean",
        "parenchyma_log-sigma-1-0-mm-2D_glcm_Contrast",
        "lesion_log-sigma-1-0-mm-2D_firstorder_Mean"}) {
    EXPECT_EQ(values.count(name), 1u) << name;
  }
  std::string all;
  for (const auto& [name, value] : values) all += name + "\n";
  SCOPED_TRACE(all);
  for (const auto& [name, value] : values) {
    EXPECT_TRUE(std::isfinite(value)) << name;
    EXPECT_EQ(name.find("log-sigma-1-0-mm-2D_shape2D"), std::string::npos) << name;
    EXPECT_EQ(name.find("firstorder_Median"), std::string::npos) << "not selected: " << name;
  }
  ASSERT_EQ(result->regions.size(), 3u);
  EXPECT_EQ(result->regions[1].name, "ring2.5mm");
  // The lesion mean is the mean of the image over the lesion.
  double sum = 0;
  int n = 0;
  for (std::size_t i = 0; i < lesion.data.size(); ++i) {
    if (lesion.data[i] != 0) {
      sum += image.pixels.data[i];
      ++n;
    }
  }
  EXPECT_NEAR(values.at("lesion_original_firstorder_Mean"), sum / n, 1e-9);
  EXPECT_EQ(result->regions[0].pixels, static_cast<std::size_t>(n));
}

TEST(RadiomicsExtractionTest, AbsentParenchymaAndClippedRingAreAbsentNotZero) {
  const Image image = SpeckleImage(60, 40, 2);
  Mask lesion(60, 40, 0);
  for (int y = 0; y < 40; ++y) {
    for (int x = 0; x < 60; ++x) lesion.at(x, y) = (x >= 1 && y >= 1 && x < 59 && y < 39) ? 1 : 0;
  }
  const ExtractionParams params = Params(R"({"imageType": {"Original": {}},
      "featureClass": {"firstorder": []}, "regions": {"ringWidthsMm": [1.0]}})");
  auto result = ExtractFromArrays("c", image, lesion, nullptr, nullptr, params);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  std::size_t ring_features = 0;
  for (const auto& [name, value] : result->features) {
    EXPECT_EQ(name.find("parenchyma"), std::string::npos) << "no parenchyma mask: " << name;
    ring_features += name.rfind("ring1mm_", 0) == 0 ? 1 : 0;
  }
  EXPECT_GT(ring_features, 0u);
  // The ring is 1 pixel wide around the image edge: 196 pixels >= 10, so it
  // exists; with a large minimum it is dropped with a warning.
  ExtractionParams strict = params;
  strict.minimum_roi_pixels = 500;
  Mask big(60, 40, 1);
  auto dropped = ExtractFromArrays("c", image, big, nullptr, nullptr, strict);
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  ASSERT_FALSE(dropped->warnings.empty());
  EXPECT_NE(dropped->warnings.back().find("ring1mm has 0 pixels"), std::string::npos)
      << dropped->warnings.back();
}

TEST(RadiomicsExtractionTest, EmptyOrTinyLesionIsRefusedWithAReason) {
  const Image image = SpeckleImage(20, 20, 3);
  const ExtractionParams params = DefaultExtractionParams();
  auto empty = ExtractFromArrays("c7", image, Mask(20, 20, 0), nullptr, nullptr, params);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("c7: the lesion mask has no ROI pixels"),
            std::string::npos);
  Mask tiny(20, 20, 0);
  tiny.at(3, 3) = tiny.at(3, 4) = 1;
  auto small = ExtractFromArrays("c8", image, tiny, nullptr, nullptr, params);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.status().message().find("fewer than minimumROISize 10"), std::string::npos);
  auto wrong = ExtractFromArrays("c9", image, Mask(21, 20, 1), nullptr, nullptr, params);
  ASSERT_FALSE(wrong.ok());
}

TEST(RadiomicsExtractionTest, CroppingToTheRegionEqualsFilteringALargerImage) {
  // The same 90x80 content embedded in a 300x260 canvas whose surroundings
  // are different noise: every feature of the lesion region must agree,
  // because the work area is the region's box plus the widest filter support.
  const Image inner = SpeckleImage(90, 80, 4, {0.4, 0.4});
  Image outer = SpeckleImage(300, 260, 5, {0.4, 0.4});
  const int ox = 100;
  const int oy = 90;
  for (int y = 0; y < 80; ++y) {
    for (int x = 0; x < 90; ++x) outer.pixels.at(ox + x, oy + y) = inner.pixels.at(x, y);
  }
  const Mask lesion_inner = Ellipse(90, 80, 45, 40, 8, 7);
  Mask lesion_outer(300, 260, 0);
  for (int y = 0; y < 80; ++y) {
    for (int x = 0; x < 90; ++x) lesion_outer.at(ox + x, oy + y) = lesion_inner.at(x, y);
  }
  const ExtractionParams params = Params(R"({
      "imageType": {"Original": {}, "LoG": {"sigma": [1.0]}, "Gradient": {}},
      "featureClass": {"firstorder": [], "glcm": []}, "regions": {"ringWidthsMm": []}})");
  auto a = ExtractFromArrays("a", inner, lesion_inner, nullptr, nullptr, params);
  auto b = ExtractFromArrays("b", outer, lesion_outer, nullptr, nullptr, params);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_EQ(a->features.size(), b->features.size());
  for (std::size_t i = 0; i < a->features.size(); ++i) {
    EXPECT_EQ(a->features[i].first, b->features[i].first);
    EXPECT_NEAR(a->features[i].second, b->features[i].second,
                1e-9 * (1.0 + std::abs(a->features[i].second)))
        << a->features[i].first;
  }
}

TEST(RadiomicsExtractionTest, RotationBy90DegreesKeepsRotationInvariantFeatures) {
  const Image image = SpeckleImage(70, 50, 6, {0.3, 0.3});
  const Mask lesion = Ellipse(70, 50, 33, 24, 14, 9);
  Image rotated;
  rotated.spacing = image.spacing;
  rotated.pixels = Grid<double>(50, 70);
  Mask lesion_rotated(50, 70, 0);
  for (int y = 0; y < 50; ++y) {
    for (int x = 0; x < 70; ++x) {
      rotated.pixels.at(49 - y, x) = image.pixels.at(x, y);
      lesion_rotated.at(49 - y, x) = lesion.at(x, y);
    }
  }
  const ExtractionParams params = Params(R"({"imageType": {"Original": {}},
      "featureClass": {"firstorder": [], "shape2D": [], "glcm": [], "glrlm": [], "glszm": [],
                       "ngtdm": [], "gldm": []},
      "regions": {"ringWidthsMm": [1.5]}})");
  auto a = ExtractFromArrays("a", image, lesion, nullptr, nullptr, params);
  auto b = ExtractFromArrays("b", rotated, lesion_rotated, nullptr, nullptr, params);
  ASSERT_TRUE(a.ok() && b.ok());
  const auto va = AsMap(*a);
  const auto vb = AsMap(*b);
  ASSERT_EQ(va.size(), vb.size());
  for (const auto& [name, value] : va) {
    EXPECT_NEAR(vb.at(name), value, 1e-9 * (1.0 + std::abs(value))) << name;
  }
}

}  // namespace
}  // namespace fedrad::site_agent::radiomics

namespace fedrad::site_agent::radiomics {
namespace {

TEST(RadiomicsExtractionTest, TooManyGreyLevelsIsAClearErrorNotACrash) {
  Image image = SpeckleImage(40, 40, 7);
  for (std::size_t i = 0; i < image.pixels.data.size(); ++i) {
    image.pixels.data[i] = static_cast<double>(i) * 10.0;  // 16000 distinct values
  }
  ExtractionParams params = Params(R"({"imageType": {"Original": {}},
      "featureClass": {"glcm": []}, "setting": {"binWidth": 1}})");
  auto result = ExtractFromArrays("c", image, Mask(40, 40, 1), nullptr, nullptr, params);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("binWidth"), std::string::npos)
      << result.status().message();
}

}  // namespace
}  // namespace fedrad::site_agent::radiomics

namespace fedrad::site_agent::radiomics {
namespace {

TEST(RadiomicsExtractionTest, ShippedExampleParamsAreExactlyTheDefaults) {
  auto loaded = LoadExtractionParams(std::string(FEDRAD_TEST_DATA_DIR) +
                                     "/../../configs/radiomics.example.json");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->hash, DefaultExtractionParams().hash)
      << loaded->canonical.dump(2) << "\nvs\n"
      << DefaultExtractionParams().canonical.dump(2);
}

}  // namespace
}  // namespace fedrad::site_agent::radiomics

namespace fedrad::site_agent::radiomics {
namespace {

TEST(RadiomicsExtractionTest, ColumnsAreDataIndependentAndCoverEveryFeature) {
  const ExtractionParams params = Params(R"({
      "imageType": {"Original": {}, "LoG": {"sigma": [1.0]}, "Square": {}},
      "featureClass": {"firstorder": [], "shape2D": [], "glszm": ["ZoneEntropy"]},
      "regions": {"ringWidthsMm": [2]}})");
  const std::vector<std::string> columns = FeatureColumns(params);
  const std::set<std::string> column_set(columns.begin(), columns.end());
  EXPECT_EQ(column_set.size(), columns.size());
  const Image image = SpeckleImage(90, 70, 8);
  const Mask lesion = Ellipse(90, 70, 40, 35, 12, 10);
  const Mask parenchyma = Ellipse(90, 70, 75, 35, 8, 20);
  auto result = ExtractFromArrays("c", image, lesion, &parenchyma, nullptr, params);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->features.size(), columns.size()) << "every region present: every column";
  for (const auto& [name, value] : result->features) EXPECT_EQ(column_set.count(name), 1u) << name;
  EXPECT_EQ(column_set.count("parenchyma_square_glszm_ZoneEntropy"), 1u);
  EXPECT_EQ(column_set.count("lesion_square_shape2D_MeshSurface"), 0u);
}

TEST(RadiomicsExtractionTest, PointwiseFiltersScaleByTheWholeImage) {
  // A bright pixel far from the lesion sets the image maximum; the lesion's
  // square-filtered values must use it (as whole-image filtering does).
  Image image = SpeckleImage(200, 100, 9);
  image.pixels.at(190, 90) = 5000.0;
  const Mask lesion = Ellipse(200, 100, 40, 50, 10, 8);
  const ExtractionParams params = Params(R"({"imageType": {"Square": {}},
      "featureClass": {"firstorder": ["Maximum"]}, "regions": {"ringWidthsMm": []}})");
  auto result = ExtractFromArrays("c", image, lesion, nullptr, nullptr, params);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  double lesion_max = 0;
  for (std::size_t i = 0; i < lesion.data.size(); ++i) {
    if (lesion.data[i] != 0) lesion_max = std::max(lesion_max, image.pixels.data[i]);
  }
  const double expected = lesion_max * lesion_max / 5000.0;  // PyRadiomics: x^2 / max|x|
  EXPECT_NEAR(AsMap(*result).at("lesion_square_firstorder_Maximum"), expected, 1e-9 * expected);
}

TEST(RadiomicsExtractionTest, ConstantLesionGivesTheDocumentedGlcmValues) {
  Image image = SpeckleImage(60, 60, 10);
  const Mask lesion = Ellipse(60, 60, 30, 30, 17, 11);
  for (std::size_t i = 0; i < lesion.data.size(); ++i) {
    if (lesion.data[i] != 0) image.pixels.data[i] = 77.0;
  }
  const ExtractionParams params = Params(R"({"imageType": {"Original": {}},
      "featureClass": {"glcm": ["Imc1", "Imc2", "Correlation"]}, "regions": {"ringWidthsMm": []}})");
  auto result = ExtractFromArrays("c", image, lesion, nullptr, nullptr, params);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const auto values = AsMap(*result);
  EXPECT_EQ(values.at("lesion_original_glcm_Imc1"), 0.0);
  EXPECT_EQ(values.at("lesion_original_glcm_Imc2"), 0.0);
  EXPECT_EQ(values.at("lesion_original_glcm_Correlation"), 1.0);
}

TEST(RadiomicsExtractionTest, ResegmentationIsDecidedOnTheOriginalImage) {
  const Image image = SpeckleImage(80, 60, 11);
  const Mask lesion = Ellipse(80, 60, 40, 30, 15, 12);
  const ExtractionParams params = Params(R"({"imageType": {"Original": {}, "LoG": {"sigma": [1.0]}},
      "featureClass": {"shape2D": ["PixelSurface"], "firstorder": ["Mean"]},
      "setting": {"resegmentRange": [20, 60]}, "regions": {"ringWidthsMm": []}})");
  auto result = ExtractFromArrays("c", image, lesion, nullptr, nullptr, params);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  // LoG values lie far outside [20, 60]; with the range applied to the
  // filtered image nothing would be left. The original's intensity mask is
  // used instead, so the LoG features exist.
  EXPECT_EQ(AsMap(*result).count("lesion_log-sigma-1-0-mm-2D_firstorder_Mean"), 1u);
  EXPECT_TRUE(result->warnings.empty()) << result->warnings.front();
}

}  // namespace
}  // namespace fedrad::site_agent::radiomics

// Texture families (texture.hpp) on small hand-checked images: matrix
// contents, feature values, aggregation, rotation invariance and the
// documented degenerate cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "fedrad/site_agent/radiomics/texture.hpp"

namespace fedrad::site_agent::radiomics {
namespace {

// rows[y][x] = level (0 = outside the ROI).
LevelImage MakeLevels(const std::vector<std::vector<int>>& rows, int num_levels) {
  LevelImage image;
  const int height = static_cast<int>(rows.size());
  const int width = height > 0 ? static_cast<int>(rows[0].size()) : 0;
  image.levels = Grid<int>(width, height, 0);
  image.num_levels = num_levels;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x)
      image.levels.at(x, y) = rows[static_cast<std::size_t>(y)][static_cast<std::size_t>(x)];
  }
  return image;
}

// Rotates by 90 degrees: the pixel at (x, y) moves to (height-1-y, x).
LevelImage Rotate90(const LevelImage& image) {
  LevelImage rotated;
  rotated.num_levels = image.num_levels;
  rotated.levels = Grid<int>(image.levels.height, image.levels.width, 0);
  for (int y = 0; y < image.levels.height; ++y) {
    for (int x = 0; x < image.levels.width; ++x) {
      rotated.levels.at(image.levels.height - 1 - y, x) = image.levels.at(x, y);
    }
  }
  return rotated;
}

LevelImage RandomLevels(int width, int height, int num_levels, double roi_fraction, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> level(1, num_levels);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  LevelImage image;
  image.num_levels = num_levels;
  image.levels = Grid<int>(width, height, 0);
  for (int& v : image.levels.data) v = unit(rng) < roi_fraction ? level(rng) : 0;
  return image;
}

double Value(const FeatureList& features, const std::string& name) {
  for (const Feature& f : features) {
    if (f.name == name) return f.value;
  }
  ADD_FAILURE() << "no feature named " << name;
  return std::nan("");
}

// Count of (level, size) in a level x size matrix (0 when the size has no column).
double SizeCount(const LevelSizeMatrix& m, int level, int size) {
  for (std::size_t c = 0; c < m.num_columns(); ++c) {
    if (m.sizes[c] == size) return m.at(level, c);
  }
  return 0.0;
}

void ExpectAllFinite(const FeatureList& features) {
  for (const Feature& f : features) EXPECT_TRUE(std::isfinite(f.value)) << f.name;
}

void ExpectSameFeatures(const FeatureList& a, const FeatureList& b, double tolerance) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].name, b[k].name);
    EXPECT_NEAR(a[k].value, b[k].value, tolerance * std::max(1.0, std::abs(b[k].value)))
        << a[k].name;
  }
}

// The image of PyRadiomics' GLCM/GLRLM/GLSZM documentation examples.
const std::vector<std::vector<int>> kDocGlcmImage = {
    {1, 2, 5, 2, 3}, {3, 2, 1, 3, 1}, {1, 3, 5, 5, 2}, {1, 1, 1, 1, 2}, {1, 2, 4, 3, 5}};
const std::vector<std::vector<int>> kDocZoneImage = {
    {5, 2, 5, 4, 4}, {3, 3, 3, 1, 3}, {2, 1, 1, 1, 3}, {4, 2, 2, 2, 3}, {3, 5, 3, 3, 2}};

// ------------------------------------------------------------------ tables

TEST(RadiomicsTexture, FeatureTablesHaveUniqueNamesAndCodes) {
  auto check = [](auto defs, std::size_t expected, std::size_t expected_codes) {
    EXPECT_EQ(defs.size(), expected);
    std::vector<std::string> names;
    std::vector<std::string> codes;
    for (const TextureFeatureDef& d : defs) {
      names.emplace_back(d.name);
      if (!d.ibsi_code.empty()) {
        codes.emplace_back(d.ibsi_code);
        EXPECT_EQ(d.ibsi_code.size(), 4u) << d.name;
      }
    }
    std::sort(names.begin(), names.end());
    std::sort(codes.begin(), codes.end());
    EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
    EXPECT_EQ(std::adjacent_find(codes.begin(), codes.end()), codes.end());
    EXPECT_EQ(codes.size(), expected_codes);
  };
  check(kGlcmFeatureDefs, 26, 25);  // MCC has no IBSI code
  check(kGlrlmFeatureDefs, 16, 16);
  check(kGlszmFeatureDefs, 16, 16);
  check(kGldzmFeatureDefs, 16, 16);
  check(kNgtdmFeatureDefs, 5, 5);
  check(kNgldmFeatureDefs, 17, 17);
  check(kGldmFeatureDefs, 14, 14);
}

// -------------------------------------------------------------------- GLCM

TEST(RadiomicsTexture, GlcmMatchesPyRadiomicsDocumentationExample) {
  const LevelImage image = MakeLevels(kDocGlcmImage, 5);
  const Glcm glcm = BuildGlcm(image, Offset2D{1, 0});
  const double expected[5][5] = {
      {6, 4, 3, 0, 0}, {4, 0, 2, 1, 3}, {3, 2, 0, 1, 2}, {0, 1, 1, 0, 0}, {0, 3, 2, 0, 2}};
  for (int i = 1; i <= 5; ++i) {
    for (int j = 1; j <= 5; ++j) EXPECT_EQ(glcm.at(i, j), expected[i - 1][j - 1]) << i << "," << j;
  }
}

TEST(RadiomicsTexture, GlcmSymmetryAndDirection) {
  const LevelImage image = RandomLevels(9, 7, 4, 0.8, 11);
  for (Offset2D direction : kTextureDirections2D) {
    const Glcm symmetric = BuildGlcm(image, direction);
    const Glcm forward = BuildGlcm(image, direction, 1, false);
    const Glcm backward = BuildGlcm(image, Offset2D{-direction.dx, -direction.dy}, 1, false);
    for (int i = 1; i <= 4; ++i) {
      for (int j = 1; j <= 4; ++j) {
        EXPECT_EQ(symmetric.at(i, j), symmetric.at(j, i));
        EXPECT_EQ(forward.at(i, j), backward.at(j, i));
        EXPECT_EQ(symmetric.at(i, j), forward.at(i, j) + forward.at(j, i));
      }
    }
  }
}

TEST(RadiomicsTexture, GlcmDistanceTwo) {
  // Horizontal pairs at distance 2 in a 4-wide row: (0,2) and (1,3).
  const LevelImage image = MakeLevels({{1, 2, 3, 1}}, 3);
  const Glcm glcm = BuildGlcm(image, Offset2D{1, 0}, 2);
  EXPECT_EQ(glcm.Total(), 4.0);
  EXPECT_EQ(glcm.at(1, 3), 1.0);
  EXPECT_EQ(glcm.at(3, 1), 1.0);
  EXPECT_EQ(glcm.at(2, 1), 1.0);
  EXPECT_EQ(glcm.at(1, 2), 1.0);
}

TEST(RadiomicsTexture, GlcmFeaturesByHand) {
  // Horizontal symmetric GLCM of
  //   1 1 2
  //   1 2 2
  //   3 3 2
  // counts (1,1)=2 (1,2)=(2,1)=2 (2,2)=2 (3,3)=2 (2,3)=(3,2)=1, total 12.
  const LevelImage image = MakeLevels({{1, 1, 2}, {1, 2, 2}, {3, 3, 2}}, 3);
  const Glcm glcm = BuildGlcm(image, Offset2D{1, 0});
  ASSERT_EQ(glcm.Total(), 12.0);
  EXPECT_EQ(glcm.at(1, 2), 2.0);
  EXPECT_EQ(glcm.at(2, 3), 1.0);
  const FeatureList f = GlcmFeatures(glcm);
  const double sixth = 1.0 / 6.0;
  const double twelfth = 1.0 / 12.0;
  EXPECT_NEAR(Value(f, "Contrast"), 0.5, 1e-12);
  EXPECT_NEAR(Value(f, "JointAverage"), 23.0 / 12.0, 1e-12);
  EXPECT_NEAR(Value(f, "JointEnergy"), 11.0 / 72.0, 1e-12);
  EXPECT_NEAR(Value(f, "MaximumProbability"), sixth, 1e-12);
  EXPECT_NEAR(Value(f, "JointEntropy"),
              5.0 * sixth * std::log2(6.0) + 2.0 * twelfth * std::log2(12.0), 1e-12);
  EXPECT_NEAR(Value(f, "Id"), 0.75, 1e-12);
  EXPECT_NEAR(Value(f, "Idm"), 0.75, 1e-12);
  EXPECT_NEAR(Value(f, "Idn"), 0.5 + 0.5 / (1.0 + 1.0 / 3.0), 1e-12);
  EXPECT_NEAR(Value(f, "Idmn"), 0.5 + 0.5 / (1.0 + 1.0 / 9.0), 1e-12);
  EXPECT_NEAR(Value(f, "InverseVariance"), 0.5, 1e-12);
  EXPECT_NEAR(Value(f, "DifferenceAverage"), 0.5, 1e-12);
  EXPECT_NEAR(Value(f, "Dissimilarity"), 0.5, 1e-12);
  EXPECT_NEAR(Value(f, "DifferenceVariance"), 0.25, 1e-12);
  EXPECT_NEAR(Value(f, "DifferenceEntropy"), 1.0, 1e-12);
  // Marginal p_x = (1/3, 5/12, 1/4); sum distribution p_{x+y}: k=2: 1/6,
  // k=3: 1/3, k=4: 1/6, k=5: 1/6, k=6: 1/6.
  EXPECT_NEAR(Value(f, "SumAverage"), 2 * sixth + 3.0 / 3.0 + 4 * sixth + 5 * sixth + 6 * sixth,
              1e-12);
  const double mu = 23.0 / 12.0;
  const double var =
      (1 - mu) * (1 - mu) / 3.0 + (2 - mu) * (2 - mu) * 5.0 / 12.0 + (3 - mu) * (3 - mu) / 4.0;
  EXPECT_NEAR(Value(f, "SumSquares"), var, 1e-12);
  EXPECT_NEAR(Value(f, "ClusterTendency"), Value(f, "SumVariance"), 1e-12);
  // Autocorrelation sum ij p = (1 + 2*2 + 4 + 9)/6 + 2*6/12.
  EXPECT_NEAR(Value(f, "Autocorrelation"), 18.0 / 6.0 + 1.0, 1e-12);
  // Correlation = (Autocorrelation - mu^2) / var for a symmetric matrix.
  EXPECT_NEAR(Value(f, "Correlation"), (4.0 - mu * mu) / var, 1e-12);
  // HX = HY = H(1/3, 5/12, 1/4), HXY1 = HXY2 = 2 HX.
  const double hx =
      -(std::log2(1.0 / 3.0) / 3.0 + 5.0 / 12.0 * std::log2(5.0 / 12.0) + std::log2(0.25) / 4.0);
  const double hxy = Value(f, "JointEntropy");
  EXPECT_NEAR(Value(f, "Imc1"), (hxy - 2 * hx) / hx, 1e-12);
  EXPECT_NEAR(Value(f, "Imc2"), std::sqrt(1 - std::exp(-2 * (2 * hx - hxy))), 1e-12);
  ExpectAllFinite(f);
}

TEST(RadiomicsTexture, GlcmMcc) {
  Glcm glcm;
  glcm.num_levels = 2;
  // Symmetric 2x2 [[a,b],[b,c]]: eigenvalues of Dx^-1/2 P Dx^-1/2 are 1 and
  // a/(a+b) + c/(b+c) - 1, so MCC = |that|.
  glcm.counts = {2, 1, 1, 3};
  EXPECT_NEAR(Value(GlcmFeatures(glcm), "MCC"), 5.0 / 12.0, 1e-12);
  // Independent levels (P = p_x p_y^T): Q has rank 1, MCC = 0.
  glcm.counts = {1, 2, 2, 4};
  EXPECT_NEAR(Value(GlcmFeatures(glcm), "MCC"), 0.0, 1e-7);
  // Two disconnected blocks: eigenvalue 1 twice, MCC = 1.
  glcm.num_levels = 3;
  glcm.counts = {2, 1, 0, 1, 2, 0, 0, 0, 5};
  EXPECT_NEAR(Value(GlcmFeatures(glcm), "MCC"), 1.0, 1e-9);
  // Asymmetric 2x2 [[a,b],[c,d]]: Q = B B^T with eigenvalues 1 and
  // det(B)^2 = (ad - bc)^2 / (px1 px2 py1 py2).
  glcm.num_levels = 2;
  glcm.counts = {3, 1, 2, 4};  // total 10
  const double px1 = 0.4, px2 = 0.6, py1 = 0.5, py2 = 0.5;
  const double det = (0.3 * 0.4 - 0.1 * 0.2);
  EXPECT_NEAR(Value(GlcmFeatures(glcm), "MCC"), std::abs(det) / std::sqrt(px1 * px2 * py1 * py2),
              1e-12);
  // A larger random symmetric GLCM: MCC in [0, 1] and equal to the value
  // for its transpose-invariant Q computed by power iteration on B^2.
  const LevelImage image = RandomLevels(30, 20, 8, 0.9, 5);
  const Glcm big = BuildGlcm(image, Offset2D{1, 1});
  const double mcc = Value(GlcmFeatures(big), "MCC");
  EXPECT_GE(mcc, 0.0);
  EXPECT_LE(mcc, 1.0);
  // Power iteration on B restricted to the complement of sqrt(p).
  const int n = big.num_levels;
  const double total = big.Total();
  std::vector<double> px(static_cast<std::size_t>(n), 0.0);
  for (int i = 1; i <= n; ++i) {
    for (int j = 1; j <= n; ++j) px[static_cast<std::size_t>(i - 1)] += big.at(i, j) / total;
  }
  std::vector<double> v(static_cast<std::size_t>(n));
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  for (double& x : v) x = unit(rng);
  double lambda_sq = 0.0;
  for (int iteration = 0; iteration < 5000; ++iteration) {
    // Project out sqrt(p), apply B twice (B^2 has eigenvalues lambda^2 >= 0).
    for (int pass = 0; pass < 2; ++pass) {
      double dot = 0.0;
      for (int i = 0; i < n; ++i)
        dot += v[static_cast<std::size_t>(i)] * std::sqrt(px[static_cast<std::size_t>(i)]);
      for (int i = 0; i < n; ++i)
        v[static_cast<std::size_t>(i)] -= dot * std::sqrt(px[static_cast<std::size_t>(i)]);
      std::vector<double> w(static_cast<std::size_t>(n), 0.0);
      for (int i = 1; i <= n; ++i) {
        for (int j = 1; j <= n; ++j) {
          const double b =
              big.at(i, j) / total /
              std::sqrt(px[static_cast<std::size_t>(i - 1)] * px[static_cast<std::size_t>(j - 1)]);
          w[static_cast<std::size_t>(i - 1)] += b * v[static_cast<std::size_t>(j - 1)];
        }
      }
      v = w;
    }
    double norm = 0.0;
    for (double x : v) norm += x * x;
    norm = std::sqrt(norm);
    lambda_sq = norm;  // |B^2 v| for a unit v
    for (double& x : v) x /= norm;
  }
  EXPECT_NEAR(mcc, std::sqrt(lambda_sq), 1e-6);
}

TEST(RadiomicsTexture, GlcmAggregationMatchesPerDirectionMatrices) {
  const LevelImage image = RandomLevels(12, 10, 5, 0.7, 21);
  std::vector<Glcm> matrices;
  GlcmValues mean{};
  for (Offset2D direction : kTextureDirections2D) {
    matrices.push_back(BuildGlcm(image, direction));
    const GlcmValues v = ComputeGlcmValues(matrices.back());
    for (std::size_t k = 0; k < v.size(); ++k) mean[k] += v[k] / 4.0;
  }
  const FeatureList average = GlcmFeatures2D(image, DirectionAggregation::kAverage);
  ASSERT_EQ(average.size(), kGlcmFeatureDefs.size());
  for (std::size_t k = 0; k < mean.size(); ++k) {
    EXPECT_NEAR(average[k].value, mean[k], 1e-12 * std::max(1.0, std::abs(mean[k])))
        << average[k].name;
    EXPECT_EQ(average[k].ibsi_code, kGlcmFeatureDefs[k].ibsi_code);
  }
  ExpectSameFeatures(GlcmFeatures2D(image, DirectionAggregation::kMerge),
                     GlcmFeatures(MergeGlcms(matrices)), 1e-12);
  // Two distances: the average runs over 8 matrices.
  GlcmOptions options;
  options.distances = {1, 2};
  GlcmValues mean2{};
  for (int distance : options.distances) {
    for (Offset2D direction : kTextureDirections2D) {
      const GlcmValues v = ComputeGlcmValues(BuildGlcm(image, direction, distance));
      for (std::size_t k = 0; k < v.size(); ++k) mean2[k] += v[k] / 8.0;
    }
  }
  const FeatureList average2 = GlcmFeatures2D(image, DirectionAggregation::kAverage, options);
  for (std::size_t k = 0; k < mean2.size(); ++k) {
    EXPECT_NEAR(average2[k].value, mean2[k], 1e-12 * std::max(1.0, std::abs(mean2[k])));
  }
}

TEST(RadiomicsTexture, GlcmPyRadiomicsOffsetShell) {
  const LevelImage image = RandomLevels(12, 10, 5, 0.8, 31);
  GlcmOptions shell;
  shell.all_offsets_at_distance = true;
  // Distance 1: the same 4 offsets as IBSI.
  ExpectSameFeatures(GlcmFeatures2D(image, DirectionAggregation::kAverage, shell),
                     GlcmFeatures2D(image, DirectionAggregation::kAverage), 1e-12);
  // Distance 2: the 8 offsets of the Chebyshev shell (one per opposite pair).
  shell.distances = {2};
  const std::vector<Offset2D> offsets = {{2, 0},  {-2, 1}, {2, 1}, {-2, 2},
                                         {-1, 2}, {0, 2},  {1, 2}, {2, 2}};
  std::vector<Glcm> matrices;
  GlcmValues mean{};
  for (Offset2D offset : offsets) {
    matrices.push_back(BuildGlcm(image, offset));
    const GlcmValues v = ComputeGlcmValues(matrices.back());
    for (std::size_t k = 0; k < v.size(); ++k) mean[k] += v[k] / 8.0;
  }
  const FeatureList average = GlcmFeatures2D(image, DirectionAggregation::kAverage, shell);
  for (std::size_t k = 0; k < mean.size(); ++k) {
    EXPECT_NEAR(average[k].value, mean[k], 1e-12 * std::max(1.0, std::abs(mean[k])));
  }
  ExpectSameFeatures(GlcmFeatures2D(image, DirectionAggregation::kMerge, shell),
                     GlcmFeatures(MergeGlcms(matrices)), 1e-12);
}

// ------------------------------------------------------------------- GLRLM

TEST(RadiomicsTexture, GlrlmMatchesPyRadiomicsDocumentationExample) {
  const LevelImage image = MakeLevels(kDocZoneImage, 5);
  const Glrlm glrlm = BuildGlrlm(image, Offset2D{1, 0});
  const double expected[5][5] = {
      {1, 0, 1, 0, 0}, {3, 0, 1, 0, 0}, {4, 1, 1, 0, 0}, {1, 1, 0, 0, 0}, {3, 0, 0, 0, 0}};
  ASSERT_EQ(glrlm.num_columns(), 3u);  // trailing empty columns are trimmed
  for (int i = 1; i <= 5; ++i) {
    for (int j = 1; j <= 5; ++j) {
      EXPECT_EQ(SizeCount(glrlm, i, j), expected[i - 1][j - 1]) << i << "," << j;
    }
  }
  EXPECT_EQ(glrlm.num_voxels, 25.0);
}

TEST(RadiomicsTexture, GlrlmFeaturesByHand) {
  // Horizontal runs of
  //   1 1 2
  //   1 2 2
  //   3 3 2
  // level 1: lengths 2, 1; level 2: 1, 2, 1; level 3: 2. N_s = 6, N_v = 9.
  const LevelImage image = MakeLevels({{1, 1, 2}, {1, 2, 2}, {3, 3, 2}}, 3);
  const Glrlm glrlm = BuildGlrlm(image, Offset2D{1, 0});
  const FeatureList f = GlrlmFeatures(glrlm);
  EXPECT_NEAR(Value(f, "ShortRunEmphasis"), (1 + 0.25 + 2 + 0.25 + 0.25) / 6.0, 1e-12);
  EXPECT_NEAR(Value(f, "LongRunEmphasis"), (1 + 4 + 2 + 4 + 4) / 6.0, 1e-12);
  EXPECT_NEAR(Value(f, "RunPercentage"), 6.0 / 9.0, 1e-12);
  EXPECT_NEAR(Value(f, "GrayLevelNonUniformity"), (4 + 9 + 1) / 6.0, 1e-12);
  EXPECT_NEAR(Value(f, "RunLengthNonUniformity"), (9 + 9) / 6.0, 1e-12);
  EXPECT_NEAR(Value(f, "LowGrayLevelRunEmphasis"), (2 + 3 / 4.0 + 1 / 9.0) / 6.0, 1e-12);
  EXPECT_NEAR(Value(f, "HighGrayLevelRunEmphasis"), (2 + 12 + 9) / 6.0, 1e-12);
  // p = 1/6 four times (1:1, 1:2, 2:2, 3:2) and 2/6 once (2:1).
  EXPECT_NEAR(Value(f, "RunEntropy"),
              -(4 * (1 / 6.0) * std::log2(1 / 6.0) + (2 / 6.0) * std::log2(2 / 6.0)), 1e-12);
  // Run variance: lengths {1:3 runs, 2:3 runs} -> mean 1.5, variance 0.25.
  EXPECT_NEAR(Value(f, "RunVariance"), 0.25, 1e-12);
}

// Straightforward run counting: start at pixels whose predecessor along
// the direction differs, walk to the end.
std::vector<std::vector<double>> NaiveRuns(const LevelImage& image, Offset2D d, int max_length) {
  std::vector<std::vector<double>> runs(
      static_cast<std::size_t>(image.num_levels),
      std::vector<double>(static_cast<std::size_t>(max_length), 0.0));
  const Grid<int>& g = image.levels;
  auto level_at = [&g](int x, int y) { return g.Contains(x, y) ? g.at(x, y) : 0; };
  for (int y = 0; y < g.height; ++y) {
    for (int x = 0; x < g.width; ++x) {
      const int level = g.at(x, y);
      if (level == 0 || level_at(x - d.dx, y - d.dy) == level) continue;
      int length = 1;
      while (level_at(x + length * d.dx, y + length * d.dy) == level) ++length;
      runs[static_cast<std::size_t>(level - 1)][static_cast<std::size_t>(length - 1)] += 1.0;
    }
  }
  return runs;
}

TEST(RadiomicsTexture, GlrlmMatchesNaiveRunCountingInEveryDirection) {
  for (unsigned seed : {1U, 2U, 3U}) {
    // Few levels and a dense ROI so that long runs occur.
    const LevelImage image = RandomLevels(17, 13, 2, 0.9, seed);
    const std::vector<Offset2D> directions = {{1, 0},  {1, 1},  {0, 1}, {-1, 1}, {-1, 0},
                                              {0, -1}, {1, -1}, {2, 0}, {1, 2},  {-2, 1}};
    for (Offset2D d : directions) {
      const Glrlm glrlm = BuildGlrlm(image, d);
      const auto naive = NaiveRuns(image, d, 17);
      double naive_total = 0.0;
      for (int level = 1; level <= 2; ++level) {
        for (int length = 1; length <= 17; ++length) {
          const double expected =
              naive[static_cast<std::size_t>(level - 1)][static_cast<std::size_t>(length - 1)];
          naive_total += expected;
          EXPECT_EQ(SizeCount(glrlm, level, length), expected)
              << "seed " << seed << " direction (" << d.dx << "," << d.dy << ") level " << level
              << " length " << length;
        }
      }
      EXPECT_EQ(glrlm.Total(), naive_total);
    }
  }
}

TEST(RadiomicsTexture, CropToRoiKeepsEveryFeature) {
  LevelImage image = RandomLevels(30, 25, 5, 0.0, 9);
  const LevelImage patch = RandomLevels(9, 7, 5, 0.8, 10);
  for (int y = 0; y < 7; ++y) {
    for (int x = 0; x < 9; ++x) image.levels.at(12 + x, 6 + y) = patch.levels.at(x, y);
  }
  const LevelImage cropped = CropToRoi(image);
  EXPECT_LE(cropped.levels.width, 9);
  EXPECT_LE(cropped.levels.height, 7);
  EXPECT_EQ(cropped.num_levels, 5);
  ExpectSameFeatures(GlcmFeatures2D(cropped, DirectionAggregation::kAverage),
                     GlcmFeatures2D(image, DirectionAggregation::kAverage), 0.0);
  ExpectSameFeatures(GlrlmFeatures2D(cropped, DirectionAggregation::kMerge),
                     GlrlmFeatures2D(image, DirectionAggregation::kMerge), 0.0);
  ExpectSameFeatures(GlszmFeatures2D(cropped), GlszmFeatures2D(image), 0.0);
  ExpectSameFeatures(GldzmFeatures2D(cropped), GldzmFeatures2D(image), 0.0);
  ExpectSameFeatures(NgtdmFeatures2D(cropped), NgtdmFeatures2D(image), 0.0);
  ExpectSameFeatures(NgldmFeatures2D(cropped), NgldmFeatures2D(image), 0.0);
  LevelImage empty;
  empty.num_levels = 3;
  empty.levels = Grid<int>(4, 4, 0);
  const LevelImage none = CropToRoi(empty);
  EXPECT_EQ(none.levels.width, 0);
  EXPECT_TRUE(none.levels.data.empty());
}

TEST(RadiomicsTexture, GlrlmMergeKeepsRunPercentageAndUnitesColumns) {
  const LevelImage image = RandomLevels(11, 8, 3, 0.85, 7);
  std::vector<Glrlm> matrices;
  double total_runs = 0.0;
  for (Offset2D direction : kTextureDirections2D) {
    matrices.push_back(BuildGlrlm(image, direction));
    total_runs += matrices.back().Total();
  }
  const Glrlm merged = MergeLevelSizeMatrices(matrices);
  EXPECT_EQ(merged.Total(), total_runs);
  EXPECT_EQ(merged.num_voxels, 4.0 * matrices[0].num_voxels);
  for (int level = 1; level <= 3; ++level) {
    for (int length = 1; length <= 11; ++length) {
      double sum = 0.0;
      for (const Glrlm& m : matrices) sum += SizeCount(m, level, length);
      EXPECT_EQ(SizeCount(merged, level, length), sum);
    }
  }
  const FeatureList mrg = GlrlmFeatures2D(image, DirectionAggregation::kMerge);
  EXPECT_NEAR(Value(mrg, "RunPercentage"), total_runs / (4.0 * matrices[0].num_voxels), 1e-12);
  EXPECT_LE(Value(mrg, "RunPercentage"), 1.0);
  // Sparse columns merge by value.
  LevelSizeMatrix a;
  a.num_levels = 1;
  a.sizes = {1, 5};
  a.counts = {2, 1};
  a.num_voxels = 7;
  LevelSizeMatrix b;
  b.num_levels = 1;
  b.sizes = {3, 5};
  b.counts = {1, 4};
  b.num_voxels = 17;
  const std::vector<LevelSizeMatrix> pair = {a, b};
  const LevelSizeMatrix ab = MergeLevelSizeMatrices(pair);
  EXPECT_EQ(ab.sizes, (std::vector<int>{1, 3, 5}));
  EXPECT_EQ(ab.counts, (std::vector<double>{2, 1, 5}));
  EXPECT_EQ(ab.num_voxels, 24.0);
}

// ------------------------------------------------------------- GLSZM/GLDZM

TEST(RadiomicsTexture, GlszmMatchesPyRadiomicsDocumentationExample) {
  const LevelImage image = MakeLevels(kDocZoneImage, 5);
  const Glszm glszm = BuildGlszm(image);
  const double expected[5][5] = {
      {0, 0, 0, 1, 0}, {1, 0, 0, 0, 1}, {1, 0, 1, 0, 1}, {1, 1, 0, 0, 0}, {3, 0, 0, 0, 0}};
  for (int i = 1; i <= 5; ++i) {
    for (int j = 1; j <= 5; ++j) {
      EXPECT_EQ(SizeCount(glszm, i, j), expected[i - 1][j - 1]) << i << "," << j;
    }
  }
  EXPECT_EQ(glszm.sizes, (std::vector<int>{1, 2, 3, 4, 5}));
  const FeatureList f = GlszmFeatures(glszm);
  EXPECT_NEAR(Value(f, "ZonePercentage"), 11.0 / 25.0, 1e-12);  // 11 zones
  EXPECT_NEAR(Value(f, "SmallAreaEmphasis"), (6 + 1 / 4.0 + 1 / 9.0 + 1 / 16.0 + 2 / 25.0) / 11.0,
              1e-12);
}

TEST(RadiomicsTexture, GlszmConnectivity) {
  const LevelImage diagonal = MakeLevels({{1, 2}, {2, 1}}, 2);
  const Glszm eight = BuildGlszm(diagonal, Connectivity2D::kEight);
  EXPECT_EQ(eight.sizes, (std::vector<int>{2}));
  EXPECT_EQ(eight.Total(), 2.0);
  const Glszm four = BuildGlszm(diagonal, Connectivity2D::kFour);
  EXPECT_EQ(four.sizes, (std::vector<int>{1}));
  EXPECT_EQ(four.Total(), 4.0);
  EXPECT_EQ(four.num_voxels, 4.0);
}

TEST(RadiomicsTexture, GlszmLargeZoneKeepsOnlyPresentSizes) {
  LevelImage image;
  image.num_levels = 2;
  image.levels = Grid<int>(400, 300, 1);
  image.levels.at(10, 10) = 2;
  const Glszm glszm = BuildGlszm(image);
  EXPECT_EQ(glszm.sizes, (std::vector<int>{1, 400 * 300 - 1}));
  EXPECT_EQ(glszm.counts.size(), 4u);
  EXPECT_EQ(SizeCount(glszm, 1, 400 * 300 - 1), 1.0);
  EXPECT_EQ(SizeCount(glszm, 2, 1), 1.0);
}

TEST(RadiomicsTexture, BorderDistanceMap) {
  Mask square(5, 5, 1);
  const Grid<int> full = BorderDistanceMap(square);
  const std::vector<int> expected = {1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 2, 3,
                                     2, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1};
  EXPECT_EQ(full.data, expected);
  // A hole in the middle is ROI border too (4-connected steps).
  Mask holed = square;
  holed.at(2, 2) = 0;
  const Grid<int> with_hole = BorderDistanceMap(holed);
  EXPECT_EQ(with_hole.at(2, 2), 0);
  EXPECT_EQ(with_hole.at(2, 1), 1);
  EXPECT_EQ(with_hole.at(1, 1), 2);
  Mask wide(7, 3, 1);
  const Grid<int> band = BorderDistanceMap(wide);
  EXPECT_EQ(band.at(3, 1), 2);
  EXPECT_EQ(band.at(3, 0), 1);
}

TEST(RadiomicsTexture, GldzmByHand) {
  // 5x5 ROI of level 1 with a level-2 pixel in the middle (distance 3) and
  // one at the corner (distance 1); the level-1 zone touches the border.
  std::vector<std::vector<int>> rows(5, std::vector<int>(5, 1));
  rows[2][2] = 2;
  rows[0][0] = 2;
  const LevelImage image = MakeLevels(rows, 2);
  const Gldzm gldzm = BuildGldzm(image);
  EXPECT_EQ(gldzm.sizes, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(SizeCount(gldzm, 1, 1), 1.0);
  EXPECT_EQ(SizeCount(gldzm, 2, 1), 1.0);
  EXPECT_EQ(SizeCount(gldzm, 2, 3), 1.0);
  EXPECT_EQ(gldzm.num_voxels, 25.0);
  const FeatureList f = GldzmFeatures(gldzm);
  EXPECT_NEAR(Value(f, "SmallDistanceEmphasis"), (1 + 1 + 1 / 9.0) / 3.0, 1e-12);
  EXPECT_NEAR(Value(f, "LargeDistanceEmphasis"), (1 + 1 + 9) / 3.0, 1e-12);
  EXPECT_NEAR(Value(f, "ZonePercentage"), 3.0 / 25.0, 1e-12);
  // A morphological mask bigger than the intensity ROI moves the border.
  LevelImage inner = image;
  for (int x = 0; x < 5; ++x) {
    inner.levels.at(x, 0) = 0;
  }
  Mask morphological(5, 5, 1);
  const Gldzm with_mask = BuildGldzm(inner, Connectivity2D::kEight, &morphological);
  EXPECT_EQ(SizeCount(with_mask, 2, 3), 1.0);  // centre still 3 steps from the mask edge
  const Gldzm without_mask = BuildGldzm(inner);
  EXPECT_EQ(SizeCount(without_mask, 2, 2), 1.0);  // the ROI edge is now 2 steps away
}

// ------------------------------------------------------------- NGTDM/NGLDM

TEST(RadiomicsTexture, NgtdmByHand) {
  //   1 1 1
  //   1 2 1
  //   1 1 1
  // centre: |2 - 1| = 1; corners: |1 - 4/3| each; edges: |1 - 6/5| each.
  const LevelImage image = MakeLevels({{1, 1, 1}, {1, 2, 1}, {1, 1, 1}}, 2);
  const Ngtdm ngtdm = BuildNgtdm(image);
  EXPECT_EQ(ngtdm.n, (std::vector<double>{8, 1}));
  EXPECT_NEAR(ngtdm.s[0], 32.0 / 15.0, 1e-12);
  EXPECT_NEAR(ngtdm.s[1], 1.0, 1e-12);
  const FeatureList f = NgtdmFeatures(ngtdm);
  EXPECT_NEAR(Value(f, "Coarseness"), 135.0 / 271.0, 1e-12);
  EXPECT_NEAR(Value(f, "Contrast"), 376.0 / 10935.0, 1e-12);
  EXPECT_NEAR(Value(f, "Busyness"), 271.0 / 180.0, 1e-12);
  EXPECT_NEAR(Value(f, "Complexity"), 542.0 / 1215.0, 1e-12);
  EXPECT_NEAR(Value(f, "Strength"), 30.0 / 47.0, 1e-12);
}

TEST(RadiomicsTexture, NgtdmIgnoresPixelsWithoutNeighbours) {
  const LevelImage image = MakeLevels({{1, 0, 0}, {0, 0, 0}, {0, 2, 2}}, 2);
  const Ngtdm ngtdm = BuildNgtdm(image);
  EXPECT_EQ(ngtdm.n, (std::vector<double>{0, 2}));
  EXPECT_EQ(ngtdm.TotalCount(), 2.0);
}

TEST(RadiomicsTexture, NgldmAndGldmByHand) {
  // Same image, alpha 0: corners depend on 2 neighbours (j = 3), edges on 4
  // (j = 5), the centre on none (j = 1).
  const LevelImage image = MakeLevels({{1, 1, 1}, {1, 2, 1}, {1, 1, 1}}, 2);
  const Ngldm ngldm = BuildNgldm(image);
  EXPECT_EQ(SizeCount(ngldm, 1, 3), 4.0);
  EXPECT_EQ(SizeCount(ngldm, 1, 5), 4.0);
  EXPECT_EQ(SizeCount(ngldm, 2, 1), 1.0);
  EXPECT_EQ(ngldm.Total(), 9.0);
  const FeatureList ibsi = NgldmFeatures(ngldm);
  EXPECT_NEAR(Value(ibsi, "LowDependenceEmphasis"), (4 / 9.0 + 4 / 25.0 + 1) / 9.0, 1e-12);
  EXPECT_NEAR(Value(ibsi, "HighDependenceEmphasis"), (36 + 100 + 1) / 9.0, 1e-12);
  EXPECT_NEAR(Value(ibsi, "DependenceCountPercentage"), 1.0, 1e-12);
  EXPECT_NEAR(Value(ibsi, "DependenceCountEnergy"), (16 + 16 + 1) / 81.0, 1e-12);
  // alpha = 1 makes the centre and every neighbour dependent.
  const Ngldm coarse = BuildNgldm(image, NgldmOptions{1, 1});
  EXPECT_EQ(SizeCount(coarse, 2, 9), 1.0);
  EXPECT_EQ(SizeCount(coarse, 1, 4), 4.0);
  EXPECT_EQ(SizeCount(coarse, 1, 6), 4.0);
  // GLDM = same values under PyRadiomics names.
  const FeatureList gldm = GldmFeatures(ngldm);
  ASSERT_EQ(gldm.size(), kGldmFeatureDefs.size());
  for (const Feature& g : gldm) {
    bool found = false;
    for (const Feature& n : ibsi) {
      if (n.ibsi_code == g.ibsi_code) {
        EXPECT_EQ(n.value, g.value) << g.name;
        found = true;
      }
    }
    EXPECT_TRUE(found) << g.name;
  }
  ExpectSameFeatures(GldmFeatures2D(image), gldm, 0.0);
}

// -------------------------------------------------------------- invariance

TEST(RadiomicsTexture, Rotation90LeavesAggregatedFeaturesUnchanged) {
  const LevelImage image = RandomLevels(20, 15, 6, 0.75, 42);
  const LevelImage rotated = Rotate90(image);
  ASSERT_EQ(rotated.levels.width, 15);
  ASSERT_EQ(rotated.levels.height, 20);
  for (DirectionAggregation aggregation :
       {DirectionAggregation::kAverage, DirectionAggregation::kMerge}) {
    ExpectSameFeatures(GlcmFeatures2D(rotated, aggregation), GlcmFeatures2D(image, aggregation),
                       1e-10);
    ExpectSameFeatures(GlrlmFeatures2D(rotated, aggregation), GlrlmFeatures2D(image, aggregation),
                       1e-10);
  }
  ExpectSameFeatures(GlszmFeatures2D(rotated), GlszmFeatures2D(image), 1e-10);
  ExpectSameFeatures(GldzmFeatures2D(rotated), GldzmFeatures2D(image), 1e-10);
  ExpectSameFeatures(NgtdmFeatures2D(rotated), NgtdmFeatures2D(image), 1e-10);
  ExpectSameFeatures(NgldmFeatures2D(rotated), NgldmFeatures2D(image), 1e-10);
  // Sanity: the features are not trivially constant.
  EXPECT_GT(Value(GlcmFeatures2D(image, DirectionAggregation::kAverage), "Contrast"), 0.0);
}

TEST(RadiomicsTexture, PerSliceAggregationOfOneSliceIs2D) {
  const LevelImage image = RandomLevels(10, 9, 4, 0.8, 3);
  const std::vector<LevelImage> one = {image};
  ExpectSameFeatures(GlcmFeaturesPerSlice(one, DirectionAggregation::kMerge),
                     GlcmFeatures2D(image, DirectionAggregation::kMerge), 0.0);
  ExpectSameFeatures(GlrlmFeaturesPerSlice(one, DirectionAggregation::kAverage),
                     GlrlmFeatures2D(image, DirectionAggregation::kAverage), 0.0);
  // Two slices: the mean of the two, an empty slice does not count.
  const LevelImage other = RandomLevels(10, 9, 4, 0.8, 4);
  LevelImage empty = image;
  std::fill(empty.levels.data.begin(), empty.levels.data.end(), 0);
  const std::vector<LevelImage> three = {image, empty, other};
  const FeatureList a = GlszmFeatures2D(image);
  const FeatureList b = GlszmFeatures2D(other);
  const FeatureList mean = GlszmFeaturesPerSlice(three);
  ASSERT_EQ(mean.size(), a.size());
  for (std::size_t k = 0; k < a.size(); ++k) {
    EXPECT_NEAR(mean[k].value, 0.5 * (a[k].value + b[k].value), 1e-12) << a[k].name;
  }
}

// -------------------------------------------------------- degenerate cases

TEST(RadiomicsTexture, ConstantRoiGivesDocumentedValues) {
  LevelImage image;
  image.num_levels = 4;
  image.levels = Grid<int>(5, 4, 3);
  for (DirectionAggregation aggregation :
       {DirectionAggregation::kAverage, DirectionAggregation::kMerge}) {
    const FeatureList f = GlcmFeatures2D(image, aggregation);
    ASSERT_EQ(f.size(), kGlcmFeatureDefs.size());
    ExpectAllFinite(f);
    EXPECT_EQ(Value(f, "Correlation"), 1.0);
    EXPECT_EQ(Value(f, "Imc1"), 0.0);
    EXPECT_EQ(Value(f, "Imc2"), 0.0);
    EXPECT_EQ(Value(f, "MCC"), 1.0);
    EXPECT_EQ(Value(f, "MaximumProbability"), 1.0);
    EXPECT_EQ(Value(f, "JointEnergy"), 1.0);
    EXPECT_EQ(Value(f, "Id"), 1.0);
    EXPECT_EQ(Value(f, "Idmn"), 1.0);
    EXPECT_EQ(Value(f, "JointAverage"), 3.0);
    EXPECT_EQ(Value(f, "SumAverage"), 6.0);
    EXPECT_EQ(Value(f, "Autocorrelation"), 9.0);
    EXPECT_EQ(Value(f, "Contrast"), 0.0);
    EXPECT_EQ(Value(f, "JointEntropy"), 0.0);
    EXPECT_EQ(Value(f, "SumSquares"), 0.0);
    EXPECT_EQ(Value(f, "ClusterProminence"), 0.0);
    EXPECT_EQ(Value(f, "InverseVariance"), 0.0);
  }
  const FeatureList rlm = GlrlmFeatures2D(image, DirectionAggregation::kAverage);
  ExpectAllFinite(rlm);
  EXPECT_EQ(Value(rlm, "GrayLevelVariance"), 0.0);
  EXPECT_EQ(Value(rlm, "GrayLevelNonUniformityNormalized"), 1.0);
  const FeatureList szm = GlszmFeatures2D(image);
  ExpectAllFinite(szm);
  EXPECT_EQ(Value(szm, "ZonePercentage"), 1.0 / 20.0);
  EXPECT_EQ(Value(szm, "ZoneEntropy"), 0.0);
  ExpectAllFinite(GldzmFeatures2D(image));
  const FeatureList ngt = NgtdmFeatures2D(image);
  EXPECT_EQ(Value(ngt, "Coarseness"), kNgtdmMaxCoarseness);
  EXPECT_EQ(Value(ngt, "Contrast"), 0.0);
  EXPECT_EQ(Value(ngt, "Busyness"), 0.0);
  EXPECT_EQ(Value(ngt, "Complexity"), 0.0);
  EXPECT_EQ(Value(ngt, "Strength"), 0.0);
  const FeatureList ngl = NgldmFeatures2D(image);
  ExpectAllFinite(ngl);
  EXPECT_EQ(Value(ngl, "GrayLevelVariance"), 0.0);
}

TEST(RadiomicsTexture, SinglePixelRoiGivesDocumentedValues) {
  LevelImage image;
  image.num_levels = 3;
  image.levels = Grid<int>(6, 5, 0);
  image.levels.at(2, 3) = 2;
  for (DirectionAggregation aggregation :
       {DirectionAggregation::kAverage, DirectionAggregation::kMerge}) {
    const FeatureList f = GlcmFeatures2D(image, aggregation);
    ASSERT_EQ(f.size(), kGlcmFeatureDefs.size());  // every matrix empty -> all 0
    for (const Feature& feature : f) EXPECT_EQ(feature.value, 0.0) << feature.name;
    const FeatureList rlm = GlrlmFeatures2D(image, aggregation);
    ExpectAllFinite(rlm);
    EXPECT_EQ(Value(rlm, "ShortRunEmphasis"), 1.0);
    EXPECT_EQ(Value(rlm, "RunPercentage"), 1.0);
    EXPECT_EQ(Value(rlm, "HighGrayLevelRunEmphasis"), 4.0);
  }
  const FeatureList szm = GlszmFeatures2D(image);
  EXPECT_EQ(Value(szm, "SmallAreaEmphasis"), 1.0);
  EXPECT_EQ(Value(szm, "ZonePercentage"), 1.0);
  const Gldzm gldzm = BuildGldzm(image);
  EXPECT_EQ(SizeCount(gldzm, 2, 1), 1.0);
  const FeatureList ngt = NgtdmFeatures2D(image);
  ASSERT_EQ(ngt.size(), kNgtdmFeatureDefs.size());
  EXPECT_EQ(Value(ngt, "Coarseness"), kNgtdmMaxCoarseness);
  EXPECT_EQ(Value(ngt, "Contrast"), 0.0);
  EXPECT_EQ(Value(ngt, "Busyness"), 0.0);
  EXPECT_EQ(Value(ngt, "Complexity"), 0.0);
  EXPECT_EQ(Value(ngt, "Strength"), 0.0);
  const FeatureList ngl = NgldmFeatures2D(image);
  EXPECT_EQ(Value(ngl, "LowDependenceEmphasis"), 1.0);
  EXPECT_EQ(Value(ngl, "HighDependenceEmphasis"), 1.0);
}

TEST(RadiomicsTexture, OnePixelWideLineUsesOnlyNonEmptyDirections) {
  // A horizontal line: only the 0-degree GLCM has pairs.
  LevelImage image;
  image.num_levels = 3;
  image.levels = Grid<int>(8, 3, 0);
  const int line[6] = {1, 1, 2, 3, 3, 3};
  for (int x = 0; x < 6; ++x) image.levels.at(x + 1, 1) = line[x];
  EXPECT_EQ(BuildGlcm(image, Offset2D{0, 1}).Total(), 0.0);
  EXPECT_EQ(BuildGlcm(image, Offset2D{1, 1}).Total(), 0.0);
  const FeatureList horizontal = GlcmFeatures(BuildGlcm(image, Offset2D{1, 0}));
  ExpectSameFeatures(GlcmFeatures2D(image, DirectionAggregation::kAverage), horizontal, 1e-12);
  ExpectSameFeatures(GlcmFeatures2D(image, DirectionAggregation::kMerge), horizontal, 1e-12);
  ExpectAllFinite(horizontal);
  // Runs exist in every direction (length-1 runs across the line).
  const FeatureList rlm = GlrlmFeatures2D(image, DirectionAggregation::kAverage);
  ExpectAllFinite(rlm);
  const Glrlm vertical = BuildGlrlm(image, Offset2D{0, 1});
  EXPECT_EQ(vertical.Total(), 6.0);
  EXPECT_EQ(vertical.sizes, (std::vector<int>{1}));
  // Every pixel of a one-pixel-wide ROI is on its border.
  const Gldzm gldzm = BuildGldzm(image);
  EXPECT_EQ(gldzm.sizes, (std::vector<int>{1}));
  ExpectAllFinite(NgtdmFeatures2D(image));
  ExpectAllFinite(NgldmFeatures2D(image));
}

TEST(RadiomicsTexture, EmptyRoiGivesNoFeatures) {
  LevelImage image;
  image.num_levels = 0;
  image.levels = Grid<int>(4, 4, 0);
  EXPECT_TRUE(GlcmFeatures2D(image, DirectionAggregation::kAverage).empty());
  EXPECT_TRUE(GlrlmFeatures2D(image, DirectionAggregation::kMerge).empty());
  EXPECT_TRUE(GlszmFeatures2D(image).empty());
  EXPECT_TRUE(GldzmFeatures2D(image).empty());
  EXPECT_TRUE(NgtdmFeatures2D(image).empty());
  EXPECT_TRUE(NgldmFeatures2D(image).empty());
  EXPECT_TRUE(GldmFeatures2D(image).empty());
  // An explicitly passed empty matrix has all-zero features.
  for (double v : ComputeGlcmValues(Glcm{})) EXPECT_EQ(v, 0.0);
  for (double v : ComputeGlrlmValues(Glrlm{})) EXPECT_EQ(v, 0.0);
  const Glcm zero = BuildGlcm(image, Offset2D{1, 0});
  EXPECT_EQ(zero.Total(), 0.0);
}

TEST(RadiomicsTexture, RandomSmallImagesGiveFiniteFeatures) {
  std::mt19937 rng(123);
  GlcmOptions asymmetric;
  asymmetric.symmetric = false;
  asymmetric.distances = {1, 2};
  for (int trial = 0; trial < 200; ++trial) {
    const int width = 1 + static_cast<int>(rng() % 7);
    const int height = 1 + static_cast<int>(rng() % 7);
    const int levels = 1 + static_cast<int>(rng() % 4);
    const double fraction = 0.2 + 0.8 * static_cast<double>(rng() % 100) / 100.0;
    const LevelImage image =
        RandomLevels(width, height, levels, fraction, static_cast<unsigned>(trial));
    for (DirectionAggregation aggregation :
         {DirectionAggregation::kAverage, DirectionAggregation::kMerge}) {
      ExpectAllFinite(GlcmFeatures2D(image, aggregation));
      ExpectAllFinite(GlcmFeatures2D(image, aggregation, asymmetric));
      ExpectAllFinite(GlrlmFeatures2D(image, aggregation));
    }
    ExpectAllFinite(GlszmFeatures2D(image, Connectivity2D::kFour));
    ExpectAllFinite(GldzmFeatures2D(image));
    ExpectAllFinite(NgtdmFeatures2D(image, 2));
    ExpectAllFinite(NgldmFeatures2D(image, NgldmOptions{2, 1}));
    ExpectAllFinite(GldmFeatures2D(image));
    const FeatureList glcm = GlcmFeatures2D(image, DirectionAggregation::kAverage);
    if (!glcm.empty()) {
      EXPECT_GE(Value(glcm, "MCC"), 0.0);
      EXPECT_LE(Value(glcm, "MCC"), 1.0);
      EXPECT_GE(Value(glcm, "Correlation"), -1.0 - 1e-9);
      EXPECT_LE(Value(glcm, "Correlation"), 1.0 + 1e-9);
    }
  }
}

TEST(RadiomicsTexture, InvalidInputThrows) {
  LevelImage image = MakeLevels({{1, 2}, {3, 1}}, 2);  // level 3 > Ng
  EXPECT_THROW(BuildGlcm(image, Offset2D{1, 0}), std::invalid_argument);
  image.num_levels = 3;
  EXPECT_NO_THROW(BuildGlcm(image, Offset2D{1, 0}));
  EXPECT_THROW(BuildGlcm(image, Offset2D{0, 0}), std::invalid_argument);
  EXPECT_THROW(BuildGlcm(image, Offset2D{1, 0}, 0), std::invalid_argument);
  EXPECT_THROW(BuildNgldm(image, NgldmOptions{1, -1}), std::invalid_argument);
  EXPECT_THROW(BuildNgtdm(image, 0), std::invalid_argument);
  image.levels.data.pop_back();  // size mismatch
  EXPECT_THROW(BuildGlszm(image), std::invalid_argument);
  LevelImage too_many;
  too_many.num_levels = kMaxTextureLevels + 1;
  too_many.levels = Grid<int>(2, 2, 1);
  EXPECT_THROW(BuildGlcm(too_many, Offset2D{1, 0}), std::invalid_argument);
}

}  // namespace
}  // namespace fedrad::site_agent::radiomics

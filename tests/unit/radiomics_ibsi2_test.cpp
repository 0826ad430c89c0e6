// IBSI-2 phase-1 2D test cases (tests/data/ibsi2, see its README): each
// phantom z-slice is filtered in 2D with the case's parameters and compared
// with the reference response map. A case passes when every voxel satisfies
// |computed - reference| <= 1 % of (max(reference) - min(reference)), the IBSI
// pass rule. The maximum deviation of every case is printed.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "fedrad/site_agent/radiomics/filters.hpp"

namespace fedrad::site_agent::radiomics {
namespace {

constexpr int kSize = 64;
constexpr double kSpacingMm = 2.0;

struct Volume {
  int nz = 0;
  std::vector<float> values;  // x fastest, then y, then z
};

Volume ReadVolume(const std::string& name, int nz) {
  static_assert(std::endian::native == std::endian::little, "test data are little-endian");
  const std::string path = std::string(FEDRAD_TEST_DATA_DIR) + "/ibsi2/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  Volume v;
  v.nz = nz;
  const std::size_t count = static_cast<std::size_t>(kSize) * kSize * nz;
  EXPECT_EQ(bytes.size(), count * sizeof(float)) << path;
  v.values.assign(count, 0.0f);
  if (bytes.size() == count * sizeof(float))
    std::memcpy(v.values.data(), bytes.data(), bytes.size());
  return v;
}

Image Slice(const Volume& v, int z) {
  Image img{Grid<double>(kSize, kSize), Spacing{kSpacingMm, kSpacingMm}};
  const std::size_t offset = static_cast<std::size_t>(kSize) * kSize * z;
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels.data[i] = v.values[offset + i];
  return img;
}

struct Deviation {
  double max_abs = 0.0;
  double tolerance = 0.0;
  double range = 0.0;
};

// Filters every slice of `input` and compares with `reference`.
Deviation RunCase(const char* id, const std::string& input_file, const std::string& reference_file,
                  int nz, const std::function<Image(const Image&)>& filter) {
  const Volume input = ReadVolume(input_file, nz);
  const Volume reference = ReadVolume(reference_file, nz);
  Deviation d;
  if (input.values.empty() || reference.values.empty()) return d;
  const auto [lo, hi] = std::minmax_element(reference.values.begin(), reference.values.end());
  d.range = static_cast<double>(*hi) - static_cast<double>(*lo);
  d.tolerance = 0.01 * d.range;
  for (int z = 0; z < nz; ++z) {
    const Image out = filter(Slice(input, z));
    const std::size_t offset = static_cast<std::size_t>(kSize) * kSize * z;
    for (std::size_t i = 0; i < out.pixels.size(); ++i) {
      const double diff = std::abs(out.pixels.data[i] - reference.values[offset + i]);
      d.max_abs = std::max(d.max_abs, diff);
    }
  }
  std::printf("[IBSI-2 %s] max |computed - reference| = %.6g (%.3g %% of range), tolerance %.6g\n",
              id, d.max_abs, 100.0 * d.max_abs / d.range, d.tolerance);
  return d;
}

void ExpectPass(const Deviation& d) {
  EXPECT_GT(d.range, 0.0);
  EXPECT_LE(d.max_abs, d.tolerance);
}

TEST(RadiomicsIbsi2Test, Mean1b1) {
  MeanParams p;
  p.support = 15;
  p.padding = Padding::kConstant;
  ExpectPass(RunCase("1.b.1", "phantom_impulse.f32", "ref_1_b_1.f32", kSize,
                     [&](const Image& img) { return MeanFilter(img, p); }));
}

TEST(RadiomicsIbsi2Test, LaplacianOfGaussian2c) {
  LogParams p;
  p.sigma_mm = 5.0;  // 2.5 voxels, radius floor(4 * 2.5 + 0.5) = 10
  p.convention = LogConvention::kIbsi;
  p.padding = Padding::kMirror;
  EXPECT_EQ(LogKernelRadius(2.5, p), 10);
  ExpectPass(RunCase("2.c", "phantom_checkerboard.f32", "ref_2_c.f32", kSize,
                     [&](const Image& img) { return LaplacianOfGaussian(img, p); }));
}

TEST(RadiomicsIbsi2Test, LawsL5S53c1) {
  LawsParams p;
  p.kernel = "L5S5";
  p.padding = Padding::kMirror;
  ExpectPass(RunCase("3.c.1", "phantom_checkerboard.f32", "ref_3_c_1.f32", kSize,
                     [&](const Image& img) { return LawsFilter(img, p); }));
}

TEST(RadiomicsIbsi2Test, LawsL5S5RotationMax3c2) {
  LawsParams p;
  p.kernel = "L5S5";
  p.rotation_invariant = true;
  p.pooling = Pooling::kMax;
  p.padding = Padding::kMirror;
  ExpectPass(RunCase("3.c.2", "phantom_checkerboard.f32", "ref_3_c_2.f32", kSize,
                     [&](const Image& img) { return LawsFilter(img, p); }));
}

TEST(RadiomicsIbsi2Test, LawsL5S5Energy3c3) {
  LawsParams p;
  p.kernel = "L5S5";
  p.rotation_invariant = true;
  p.pooling = Pooling::kMax;
  p.energy_map = true;
  p.energy_distance = 7;
  p.padding = Padding::kMirror;
  ExpectPass(RunCase("3.c.3", "phantom_checkerboard.f32", "ref_3_c_3.f32", kSize,
                     [&](const Image& img) { return LawsFilter(img, p); }));
}

TEST(RadiomicsIbsi2Test, Gabor4a1) {
  GaborParams p;
  p.sigma_mm = 10.0;
  p.lambda_mm = 4.0;
  p.gamma = 0.5;
  p.theta_deg = 60.0;
  p.padding = Padding::kConstant;
  ExpectPass(RunCase("4.a.1", "phantom_impulse.f32", "ref_4_a_1.f32", kSize,
                     [&](const Image& img) { return GaborFilter(img, p); }));
}

TEST(RadiomicsIbsi2Test, Gabor4b1) {
  GaborParams p;
  p.sigma_mm = 20.0;
  p.lambda_mm = 8.0;
  p.gamma = 2.5;
  p.theta_deg = 225.0;
  p.padding = Padding::kMirror;
  ExpectPass(RunCase("4.b.1", "phantom_sphere.f32", "ref_4_b_1.f32", kSize,
                     [&](const Image& img) { return GaborFilter(img, p); }));
}

TEST(RadiomicsIbsi2Test, DerivedWaveletDb2LH) {
  WaveletParams p;
  p.family = WaveletFamily::kDb2;
  p.band = WaveletBand::kLH;
  p.level = 1;
  p.convention = WaveletConvention::kIbsi;
  p.padding = Padding::kConstant;
  ExpectPass(RunCase("D1 (derived) db2 LH", "derived_db2_LH_input.f32", "derived_db2_LH_ref.f32", 1,
                     [&](const Image& img) { return WaveletFilter(img, p); }));
}

TEST(RadiomicsIbsi2Test, DerivedWaveletCoif1HH) {
  WaveletParams p;
  p.family = WaveletFamily::kCoif1;
  p.band = WaveletBand::kHH;
  p.level = 1;
  p.convention = WaveletConvention::kIbsi;
  p.padding = Padding::kPeriodic;
  ExpectPass(RunCase("D2 (derived) coif1 HH", "derived_coif1_HH_input.f32",
                     "derived_coif1_HH_ref.f32", 1,
                     [&](const Image& img) { return WaveletFilter(img, p); }));
  // Level 1 with periodic padding on an even-sized image: PyRadiomics'
  // convention gives the same map.
  WaveletParams py = p;
  py.convention = WaveletConvention::kPyRadiomics;
  ExpectPass(RunCase("D2 (derived) coif1 HH, PyRadiomics convention", "derived_coif1_HH_input.f32",
                     "derived_coif1_HH_ref.f32", 1,
                     [&](const Image& img) { return WaveletFilter(img, py); }));
}

}  // namespace
}  // namespace fedrad::site_agent::radiomics

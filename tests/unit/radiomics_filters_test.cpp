// Properties and hand-computed examples of the image filters (filters.hpp).
// The IBSI-2 reference maps are checked in radiomics_ibsi2_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numbers>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "fedrad/site_agent/radiomics/filters.hpp"

namespace fedrad::site_agent::radiomics {
namespace {

Image Constant(int w, int h, double value, Spacing spacing = {}) {
  return Image{Grid<double>(w, h, value), spacing};
}

Image Random(int w, int h, std::uint32_t seed, Spacing spacing = {}) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(-50.0, 150.0);
  Image img{Grid<double>(w, h), spacing};
  for (double& v : img.pixels.data) v = dist(rng);
  return img;
}

Image Impulse(int w, int h, int x, int y, double value = 1.0) {
  Image img = Constant(w, h, 0.0);
  img.pixels.at(x, y) = value;
  return img;
}

Image FromRows(const std::vector<std::vector<double>>& rows) {
  Image img{Grid<double>(static_cast<int>(rows[0].size()), static_cast<int>(rows.size())), {}};
  for (int y = 0; y < img.pixels.height; ++y) {
    for (int x = 0; x < img.pixels.width; ++x) img.pixels.at(x, y) = rows[y][x];
  }
  return img;
}

// Rotates a square image by 90 degrees: out(x, y) = in(y, n - 1 - x).
Image Rotate90(const Image& in) {
  const int n = in.pixels.width;
  Image out{Grid<double>(n, n), in.spacing};
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) out.pixels.at(x, y) = in.pixels.at(y, n - 1 - x);
  }
  return out;
}

double MaxAbsDiff(const Grid<double>& a, const Grid<double>& b) {
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.height, b.height);
  double m = 0.0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    m = std::max(m, std::abs(a.data[i] - b.data[i]));
  }
  return m;
}

double SumOfSquares(const Grid<double>& g) {
  double s = 0.0;
  for (const double v : g.data) s += v * v;
  return s;
}

// ---------------------------------------------------------------------------
// Padding.

TEST(RadiomicsFiltersTest, PadIndexModes) {
  // Row [a b c d] = indices 0..3.
  const int n = 4;
  // kConstant
  EXPECT_EQ(PadIndex(-1, n, Padding::kConstant), -1);
  EXPECT_EQ(PadIndex(4, n, Padding::kConstant), -1);
  EXPECT_EQ(PadIndex(2, n, Padding::kConstant), 2);
  // kNearest: a a | a b c d | d d
  EXPECT_EQ(PadIndex(-3, n, Padding::kNearest), 0);
  EXPECT_EQ(PadIndex(7, n, Padding::kNearest), 3);
  // kPeriodic: c d | a b c d | a b
  EXPECT_EQ(PadIndex(-1, n, Padding::kPeriodic), 3);
  EXPECT_EQ(PadIndex(-2, n, Padding::kPeriodic), 2);
  EXPECT_EQ(PadIndex(5, n, Padding::kPeriodic), 1);
  EXPECT_EQ(PadIndex(-9, n, Padding::kPeriodic), 3);
  // kMirror: a b c d d c b a | a b c d | d c b a a b c d
  const int mirror[] = {0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3};
  for (int i = -8; i < 12; ++i) EXPECT_EQ(PadIndex(i, n, Padding::kMirror), mirror[i + 8]) << i;
  // kReflect: a b c d c b | a b c d | c b a b
  const int reflect[] = {0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1};
  for (int i = -6; i < 8; ++i) EXPECT_EQ(PadIndex(i, n, Padding::kReflect), reflect[i + 6]) << i;
  EXPECT_EQ(PadIndex(-5, 1, Padding::kReflect), 0);
  EXPECT_EQ(PadIndex(5, 1, Padding::kMirror), 0);
}

TEST(RadiomicsFiltersTest, PaddingNamesRoundTrip) {
  for (const Padding p : {Padding::kConstant, Padding::kNearest, Padding::kPeriodic,
                          Padding::kMirror, Padding::kReflect}) {
    EXPECT_EQ(ParsePadding(PaddingName(p)), p);
  }
  EXPECT_EQ(ParsePadding("symmetric"), Padding::kMirror);
  EXPECT_EQ(ParsePadding("wrap"), Padding::kPeriodic);
  EXPECT_EQ(ParsePadding("zero"), Padding::kConstant);
  EXPECT_FALSE(ParsePadding("bogus").has_value());
}

// ---------------------------------------------------------------------------
// Mean.

TEST(RadiomicsFiltersTest, MeanOfConstantIsConstant) {
  const Image img = Constant(9, 7, 3.5);
  for (const Padding p :
       {Padding::kNearest, Padding::kPeriodic, Padding::kMirror, Padding::kReflect}) {
    const Image out = MeanFilter(img, {5, p});
    for (const double v : out.pixels.data) EXPECT_NEAR(v, 3.5, 1e-12);
  }
  // Zero padding: constant away from the border only.
  const Image out = MeanFilter(img, {3, Padding::kConstant});
  EXPECT_NEAR(out.pixels.at(4, 3), 3.5, 1e-12);
  EXPECT_NEAR(out.pixels.at(0, 0), 3.5 * 4.0 / 9.0, 1e-12);
}

TEST(RadiomicsFiltersTest, MeanHandExample) {
  const Image img = FromRows({{1, 2, 3}, {4, 5, 6}, {7, 8, 9}});
  const Image out = MeanFilter(img, {3, Padding::kConstant});
  EXPECT_NEAR(out.pixels.at(1, 1), 5.0, 1e-12);
  EXPECT_NEAR(out.pixels.at(0, 0), (1 + 2 + 4 + 5) / 9.0, 1e-12);
  EXPECT_NEAR(out.pixels.at(2, 1), (2 + 3 + 5 + 6 + 8 + 9) / 9.0, 1e-12);
  // Support 1 is the identity.
  EXPECT_EQ(MeanFilter(img, {1, Padding::kMirror}).pixels, img.pixels);
}

// ---------------------------------------------------------------------------
// Laplacian of Gaussian.

TEST(RadiomicsFiltersTest, LogOfConstantIsZeroAwayFromBorders) {
  const Image img = Constant(48, 40, 100.0);
  // 4-sigma truncation: the truncated sampled kernel sums to ~0 (tail of G''
  // beyond 4 sigma), so the response is a tiny fraction of the constant.
  LogParams ibsi;
  ibsi.sigma_mm = 2.0;
  ibsi.padding = Padding::kConstant;
  const Image out = LaplacianOfGaussian(img, ibsi);
  const int r = LogKernelRadius(2.0, ibsi);
  EXPECT_EQ(r, 8);
  for (int y = r; y < 40 - r; ++y) {
    for (int x = r; x < 48 - r; ++x) EXPECT_NEAR(out.pixels.at(x, y), 0.0, 1e-3 * 100.0);
  }
  // At the border, zero padding creates an edge response.
  EXPECT_GT(std::abs(out.pixels.at(0, 0)), 1.0);
  // 6-sigma (PyRadiomics) truncation and mirror padding: ~0 everywhere.
  LogParams py;
  py.sigma_mm = 2.0;
  py.convention = LogConvention::kPyRadiomics;
  py.padding = Padding::kMirror;
  for (const double v : LaplacianOfGaussian(img, py).pixels.data) EXPECT_NEAR(v, 0.0, 1e-5);
}

TEST(RadiomicsFiltersTest, LogOfGaussianBlobPeaksNegativeAtCentre) {
  const int n = 41;
  const double b = 3.0;
  Image img = Constant(n, n, 0.0);
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      const double r2 = (x - 20.0) * (x - 20.0) + (y - 20.0) * (y - 20.0);
      img.pixels.at(x, y) = 100.0 * std::exp(-r2 / (2.0 * b * b));
    }
  }
  for (const LogConvention c : {LogConvention::kIbsi, LogConvention::kPyRadiomics}) {
    LogParams p;
    p.sigma_mm = 3.0;
    p.convention = c;
    const Image out = LaplacianOfGaussian(img, p);
    const auto it = std::min_element(out.pixels.data.begin(), out.pixels.data.end());
    const std::size_t idx = static_cast<std::size_t>(it - out.pixels.data.begin());
    EXPECT_EQ(idx % n, 20u);
    EXPECT_EQ(idx / n, 20u);
    EXPECT_LT(*it, 0.0);
    // Continuous value at the centre: Laplacian of a Gaussian of variance
    // b^2 + s^2 = 18 with amplitude 100 b^2 / 18: -2 * 100 * 9 / 18^2 = -5.556
    // (IBSI, pixel units); PyRadiomics multiplies by s^2 = 9.
    const double expected =
        (c == LogConvention::kIbsi ? 1.0 : 9.0) * -2.0 * 100.0 * 9.0 / (18.0 * 18.0);
    EXPECT_NEAR(*it, expected, 0.01 * std::abs(expected));
  }
}

TEST(RadiomicsFiltersTest, LogDoublingSpacingEqualsHalvingSigmaInPixels) {
  const Image base = Random(37, 29, 7);
  for (const LogConvention c : {LogConvention::kIbsi, LogConvention::kPyRadiomics}) {
    LogParams p;
    p.convention = c;
    Image a = base;
    a.spacing = {2.0, 2.0};
    p.sigma_mm = 3.0;  // 1.5 pixels
    const Image out_a = LaplacianOfGaussian(a, p);
    Image b = base;
    b.spacing = {1.0, 1.0};
    p.sigma_mm = 1.5;  // 1.5 pixels
    const Image out_b = LaplacianOfGaussian(b, p);
    EXPECT_LT(MaxAbsDiff(out_a.pixels, out_b.pixels), 1e-9);
    EXPECT_EQ(out_a.spacing, a.spacing);
  }
}

TEST(RadiomicsFiltersTest, LogScaleNormalisedIsSpacingAwareAlongEachAxis) {
  // An image that varies along x only: its physical Laplacian does not depend
  // on the row spacing, nor does the scale-normalised response.
  Image img = Constant(40, 30, 0.0);
  for (int y = 0; y < 30; ++y) {
    for (int x = 0; x < 40; ++x) img.pixels.at(x, y) = x < 20 ? 0.0 : 100.0;
  }
  LogParams p;
  p.sigma_mm = 2.0;
  p.convention = LogConvention::kPyRadiomics;
  img.spacing = {1.0, 1.0};
  const Image iso = LaplacianOfGaussian(img, p);
  img.spacing = {1.0, 1.6};  // sigma 1.25 px along y
  const Image aniso = LaplacianOfGaussian(img, p);
  EXPECT_LT(MaxAbsDiff(iso.pixels, aniso.pixels), 1e-4);
  // The response changes sign across the edge (negative on the bright side).
  EXPECT_GT(iso.pixels.at(18, 15), 0.0);
  EXPECT_LT(iso.pixels.at(21, 15), 0.0);
}

TEST(RadiomicsFiltersTest, LogKernelRadiusConventions) {
  LogParams p;
  EXPECT_EQ(LogKernelRadius(2.5, p), 10);   // floor(4 * 2.5 + 0.5)
  EXPECT_EQ(LogKernelRadius(1.535, p), 6);  // floor(6.64)
  p.convention = LogConvention::kPyRadiomics;
  EXPECT_EQ(LogKernelRadius(1.535, p), 10);  // ceil(9.21)
  p.truncation_sigmas = 3.0;
  EXPECT_EQ(LogKernelRadius(2.0, p), 6);
}

// ---------------------------------------------------------------------------
// Laws.

TEST(RadiomicsFiltersTest, LawsImpulseResponseIsTheKernel) {
  // True convolution: the response to a unit impulse at (c, c) is K(x-c, y-c)
  // with K(u, v) = E5(u) * L5(v) for "E5L5" (E5 along x).
  const double e5[] = {-1, -2, 0, 2, 1};
  const double l5[] = {1, 4, 6, 4, 1};
  const Image img = Impulse(11, 11, 5, 5);
  LawsParams p;
  p.kernel = "E5L5";
  p.padding = Padding::kConstant;
  const Image out = LawsFilter(img, p);
  const double norm = std::sqrt(10.0) * std::sqrt(70.0);
  for (int v = -2; v <= 2; ++v) {
    for (int u = -2; u <= 2; ++u) {
      EXPECT_NEAR(out.pixels.at(5 + u, 5 + v), e5[u + 2] * l5[v + 2] / norm, 1e-12);
    }
  }
  EXPECT_EQ(out.pixels.at(0, 0), 0.0);
}

TEST(RadiomicsFiltersTest, LawsRotationInvariance) {
  const Image img = Random(16, 16, 3);
  for (const Pooling pooling : {Pooling::kMax, Pooling::kAverage}) {
    LawsParams p;
    p.kernel = "E5W5";
    p.rotation_invariant = true;
    p.pooling = pooling;
    p.padding = Padding::kConstant;
    const Image a = Rotate90(LawsFilter(img, p));
    const Image b = LawsFilter(Rotate90(img), p);
    EXPECT_LT(MaxAbsDiff(a.pixels, b.pixels), 1e-9);
    p.energy_map = true;
    p.energy_distance = 2;
    EXPECT_LT(MaxAbsDiff(Rotate90(LawsFilter(img, p)).pixels, LawsFilter(Rotate90(img), p).pixels),
              1e-9);
  }
  // Without rotation invariance E5W5 is not rotation equivariant.
  LawsParams plain;
  plain.kernel = "E5W5";
  EXPECT_GT(
      MaxAbsDiff(Rotate90(LawsFilter(img, plain)).pixels, LawsFilter(Rotate90(img), plain).pixels),
      1.0);
}

TEST(RadiomicsFiltersTest, LawsEnergyIsWindowMeanOfAbsoluteResponse) {
  const Image img = Random(12, 10, 11);
  LawsParams p;
  p.kernel = "S3E3";
  p.padding = Padding::kMirror;
  Image response = LawsFilter(img, p);
  for (double& v : response.pixels.data) v = std::abs(v);
  const Image expected = MeanFilter(response, {5, Padding::kMirror});
  p.energy_map = true;
  p.energy_distance = 2;
  EXPECT_LT(MaxAbsDiff(LawsFilter(img, p).pixels, expected.pixels), 1e-12);
}

// ---------------------------------------------------------------------------
// Gabor.

TEST(RadiomicsFiltersTest, GaborImpulseModulusIsTheEnvelope) {
  // |g| = exp(-(xt^2 + gamma^2 yt^2) / (2 sigma^2)), in mm, anisotropic pixels.
  const Spacing spacing{0.8, 1.3};
  Image img = Impulse(41, 37, 20, 18);
  img.spacing = spacing;
  GaborParams p;
  p.sigma_mm = 3.0;
  p.lambda_mm = 2.0;
  p.gamma = 0.6;
  p.theta_deg = 30.0;
  p.padding = Padding::kConstant;
  const Image out = GaborFilter(img, p);
  const double th = 30.0 * std::numbers::pi / 180.0;
  double max_err = 0.0;
  for (int y = 0; y < 37; ++y) {
    for (int x = 0; x < 41; ++x) {
      const double dx = (x - 20) * spacing.x_mm;
      const double dy = (y - 18) * spacing.y_mm;
      const double xt = dx * std::cos(th) + dy * std::sin(th);
      const double yt = -dx * std::sin(th) + dy * std::cos(th);
      double expected = std::exp(-(xt * xt + 0.36 * yt * yt) / 18.0);
      // Outside the truncated kernel (radius floor(4 * 5 / h + 0.5) pixels).
      if (std::abs(x - 20) > 25 || std::abs(y - 18) > 15) expected = 0.0;
      max_err = std::max(max_err, std::abs(out.pixels.at(x, y) - expected));
    }
  }
  EXPECT_LT(max_err, 1e-12);
}

TEST(RadiomicsFiltersTest, GaborRotationInvariantPooling) {
  const Image img = Random(24, 20, 5);
  GaborParams p;
  p.sigma_mm = 2.0;
  p.lambda_mm = 3.0;
  p.gamma = 0.5;
  p.theta_deg = 10.0;
  const Image a = GaborFilter(img, p);
  p.theta_deg = 100.0;
  const Image b = GaborFilter(img, p);
  p.theta_deg = 190.0;  // same modulus as 10 degrees
  EXPECT_LT(MaxAbsDiff(GaborFilter(img, p).pixels, a.pixels), 1e-9);
  p.theta_deg = 10.0;
  p.theta_step_deg = 90.0;
  p.pooling = Pooling::kAverage;
  const Image avg = GaborFilter(img, p);
  p.pooling = Pooling::kMax;
  const Image max = GaborFilter(img, p);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) {
    EXPECT_NEAR(avg.pixels.data[i], 0.5 * (a.pixels.data[i] + b.pixels.data[i]), 1e-9);
    EXPECT_NEAR(max.pixels.data[i], std::max(a.pixels.data[i], b.pixels.data[i]), 1e-9);
  }
}

// ---------------------------------------------------------------------------
// Wavelets.

TEST(RadiomicsFiltersTest, WaveletFiltersMatchPublishedCoefficients) {
  // PyWavelets dec_lo / dec_hi as printed in the IBSI-2 derived-case JSON
  // (tests/data/ibsi2/case_derived_*.json).
  const std::vector<double> db2_lo = {-0.12940952255126037, 0.2241438680420134, 0.8365163037378079,
                                      0.48296291314453416};
  const std::vector<double> db2_hi = {-0.48296291314453416, 0.8365163037378079, -0.2241438680420134,
                                      -0.12940952255126037};
  const std::vector<double> coif1_lo = {-0.015655728135791993, -0.07273261951252645,
                                        0.3848648468648578,    0.8525720202116004,
                                        0.3378976624574818,    -0.07273261951252645};
  const std::vector<double> coif1_hi = {0.07273261951252645, 0.3378976624574818,
                                        -0.8525720202116004, 0.3848648468648578,
                                        0.07273261951252645, -0.015655728135791993};
  // db3 (Daubechies 1992, Table 6.1, reversed into dec_lo order).
  const std::vector<double> db3_lo = {0.035226291885709536, -0.08544127388202666,
                                      -0.13501102001025458, 0.45987750211849154,
                                      0.8068915093110925,   0.33267055295008263};
  auto expect_near = [](const std::vector<double>& a, const std::vector<double>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-14) << i;
  };
  expect_near(GetWaveletFilters(WaveletFamily::kDb2).dec_lo, db2_lo);
  expect_near(GetWaveletFilters(WaveletFamily::kDb2).dec_hi, db2_hi);
  expect_near(GetWaveletFilters(WaveletFamily::kCoif1).dec_lo, coif1_lo);
  expect_near(GetWaveletFilters(WaveletFamily::kCoif1).dec_hi, coif1_hi);
  expect_near(GetWaveletFilters(WaveletFamily::kDb3).dec_lo, db3_lo);
  expect_near(GetWaveletFilters(WaveletFamily::kHaar).dec_hi,
              {-1.0 / std::numbers::sqrt2, 1.0 / std::numbers::sqrt2});
  for (const WaveletFamily f :
       {WaveletFamily::kHaar, WaveletFamily::kDb2, WaveletFamily::kDb3, WaveletFamily::kCoif1}) {
    const WaveletFilters w = GetWaveletFilters(f);
    double sum = 0.0;
    double sum_sq = 0.0;
    double dot = 0.0;
    for (std::size_t i = 0; i < w.dec_lo.size(); ++i) {
      sum += w.dec_lo[i];
      sum_sq += w.dec_lo[i] * w.dec_lo[i];
      dot += w.dec_lo[i] * w.dec_hi[i];
    }
    EXPECT_NEAR(sum, std::numbers::sqrt2, 1e-14);
    EXPECT_NEAR(sum_sq, 1.0, 1e-14);
    EXPECT_NEAR(dot, 0.0, 1e-14);
    EXPECT_EQ(ParseWaveletFamily(WaveletFamilyName(f)), f);
  }
}

TEST(RadiomicsFiltersTest, HaarOfConstant) {
  const Image img = Constant(10, 8, 3.0);
  for (const WaveletConvention c : {WaveletConvention::kIbsi, WaveletConvention::kPyRadiomics}) {
    WaveletParams p;
    p.family = WaveletFamily::kHaar;
    p.convention = c;
    const auto bands = WaveletDecomposition(img, p);
    for (const double v : bands[0].pixels.data) EXPECT_NEAR(v, 6.0, 1e-12);  // 3 * sqrt(2)^2
    for (int b = 1; b < 4; ++b) {
      for (const double v : bands[b].pixels.data) EXPECT_NEAR(v, 0.0, 1e-12);
    }
    p.level = 2;
    p.band = WaveletBand::kLL;
    for (const double v : WaveletFilter(img, p).pixels.data) {
      EXPECT_NEAR(v, 12.0, 1e-12);
    }
  }
}

TEST(RadiomicsFiltersTest, HaarLHHandExample) {
  // IBSI alignment, n = 2: low out[x] = (in[x+1] + in[x]) / sqrt(2) along x,
  // high out[y] = (in[y] - in[y+1]) / sqrt(2) along y.
  const Image img = Random(6, 5, 13);
  WaveletParams p;
  p.family = WaveletFamily::kHaar;
  p.band = WaveletBand::kLH;
  p.padding = Padding::kConstant;
  const Image out = WaveletFilter(img, p);
  const auto& in = img.pixels;
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 5; ++x) {
      const double expected =
          0.5 * ((in.at(x + 1, y) + in.at(x, y)) - (in.at(x + 1, y + 1) + in.at(x, y + 1)));
      EXPECT_NEAR(out.pixels.at(x, y), expected, 1e-12);
    }
  }
  EXPECT_EQ(WaveletBandName(WaveletBand::kLH), "LH");
  EXPECT_EQ(PyWaveletsSwt2Name(WaveletBand::kLH), "cH");
  EXPECT_EQ(PyWaveletsSwt2Name(WaveletBand::kHL), "cV");
  EXPECT_EQ(ParseWaveletBand("HH"), WaveletBand::kHH);
}

TEST(RadiomicsFiltersTest, WaveletBandsConserveEnergyWithPeriodicPadding) {
  // Orthonormal filters, periodic padding: |lo|^2 + |hi|^2 = 2 per axis, so
  // the four bands carry 4x the input energy (for every level).
  const Image img = Random(32, 24, 21);
  for (const WaveletFamily f :
       {WaveletFamily::kHaar, WaveletFamily::kDb2, WaveletFamily::kDb3, WaveletFamily::kCoif1}) {
    for (const int level : {1, 2}) {
      WaveletParams p;
      p.family = f;
      p.level = level;
      p.padding = Padding::kPeriodic;
      const auto bands = WaveletDecomposition(img, p);
      // Level 2 bands split the level-1 LL.
      const double input_energy =
          level == 1 ? SumOfSquares(img.pixels)
                     : SumOfSquares(WaveletFilter(img, {.family = f,
                                                        .band = WaveletBand::kLL,
                                                        .level = 1,
                                                        .padding = Padding::kPeriodic})
                                        .pixels);
      double energy = 0.0;
      for (const Image& b : bands) energy += SumOfSquares(b.pixels);
      EXPECT_NEAR(energy / input_energy, 4.0, 1e-10) << WaveletFamilyName(f) << " " << level;
      // Single-band calls agree with the decomposition.
      for (const WaveletBand band :
           {WaveletBand::kLL, WaveletBand::kLH, WaveletBand::kHL, WaveletBand::kHH}) {
        p.band = band;
        EXPECT_LT(MaxAbsDiff(WaveletFilter(img, p).pixels, bands[static_cast<int>(band)].pixels),
                  1e-12);
      }
    }
  }
}

TEST(RadiomicsFiltersTest, WaveletPyRadiomicsConvention) {
  // Odd sizes: PyRadiomics wrap-extends by one column/row (a copy of the
  // first), filters periodically, crops.
  const Image img = Random(7, 5, 17);
  Image ext{Grid<double>(8, 6), img.spacing};
  for (int y = 0; y < 6; ++y) {
    for (int x = 0; x < 8; ++x) ext.pixels.at(x, y) = img.pixels.at(x % 7, y % 5);
  }
  WaveletParams py;
  py.family = WaveletFamily::kDb2;
  py.convention = WaveletConvention::kPyRadiomics;
  WaveletParams ibsi = py;
  ibsi.convention = WaveletConvention::kIbsi;
  ibsi.padding = Padding::kPeriodic;
  const auto a = WaveletDecomposition(img, py);
  const auto b = WaveletDecomposition(ext, ibsi);
  for (int band = 0; band < 4; ++band) {
    ASSERT_EQ(a[band].pixels.width, 7);
    ASSERT_EQ(a[band].pixels.height, 5);
    for (int y = 0; y < 5; ++y) {
      for (int x = 0; x < 7; ++x) {
        EXPECT_NEAR(a[band].pixels.at(x, y), b[band].pixels.at(x, y), 1e-12);
      }
    }
  }
  // Level 2 = the undilated level-1 transform applied to the level-1 LL.
  const Image even = Random(10, 8, 19);
  py.level = 2;
  py.band = WaveletBand::kHL;
  const Image ll1 = WaveletFilter(even, {.family = WaveletFamily::kDb2,
                                         .band = WaveletBand::kLL,
                                         .convention = WaveletConvention::kPyRadiomics});
  const Image expected = WaveletFilter(ll1, {.family = WaveletFamily::kDb2,
                                             .band = WaveletBand::kHL,
                                             .convention = WaveletConvention::kPyRadiomics});
  EXPECT_LT(MaxAbsDiff(WaveletFilter(even, py).pixels, expected.pixels), 1e-12);
  // ... whereas the IBSI level 2 dilates the filters and differs.
  ibsi.level = 2;
  ibsi.band = WaveletBand::kHL;
  EXPECT_GT(MaxAbsDiff(WaveletFilter(even, ibsi).pixels, expected.pixels), 1e-3);
}

TEST(RadiomicsFiltersTest, WaveletRotationInvariance) {
  const Image img = Random(12, 12, 23);
  WaveletParams p;
  p.family = WaveletFamily::kCoif1;
  p.padding = Padding::kConstant;
  p.rotation_invariant = true;
  for (const WaveletBand band : {WaveletBand::kLL, WaveletBand::kHH}) {
    for (const int level : {1, 2}) {
      p.band = band;
      p.level = level;
      EXPECT_LT(MaxAbsDiff(Rotate90(WaveletFilter(img, p)).pixels,
                           WaveletFilter(Rotate90(img), p).pixels),
                1e-9);
    }
  }
  // Without rotation invariance the response is not rotation equivariant.
  p.rotation_invariant = false;
  p.level = 1;
  EXPECT_GT(
      MaxAbsDiff(Rotate90(WaveletFilter(img, p)).pixels, WaveletFilter(Rotate90(img), p).pixels),
      1.0);
}

// ---------------------------------------------------------------------------
// Intensity transforms.

TEST(RadiomicsFiltersTest, IntensityTransformsHandExample) {
  const Image img = FromRows({{-4, -1, 0, 1, 2, 4}});
  const double l2 = std::log(2.0);
  const double l3 = std::log(3.0);
  const double l5 = std::log(5.0);
  const std::vector<double> square = {4, 0.25, 0, 0.25, 1, 4};
  const std::vector<double> root = {-4, -2, 0, 2, 2 * std::sqrt(2.0), 4};
  const std::vector<double> log = {-4, -4 * l2 / l5, 0, 4 * l2 / l5, 4 * l3 / l5, 4};
  const std::vector<double> exp = {0.25, std::pow(4.0, -0.25), 1, std::pow(4.0, 0.25), 2, 4};
  const Image sq = SquareFilter(img);
  const Image rt = SquareRootFilter(img);
  const Image lg = LogarithmFilter(img);
  const Image ex = ExponentialFilter(img);
  for (int x = 0; x < 6; ++x) {
    EXPECT_NEAR(sq.pixels.at(x, 0), square[x], 1e-12) << x;
    EXPECT_NEAR(rt.pixels.at(x, 0), root[x], 1e-12) << x;
    EXPECT_NEAR(lg.pixels.at(x, 0), log[x], 1e-12) << x;
    EXPECT_NEAR(ex.pixels.at(x, 0), exp[x], 1e-12) << x;
  }
  // Degenerate all-zero image.
  const Image zero = Constant(3, 2, 0.0);
  EXPECT_EQ(SquareFilter(zero).pixels, zero.pixels);
  EXPECT_EQ(SquareRootFilter(zero).pixels, zero.pixels);
  EXPECT_EQ(LogarithmFilter(zero).pixels, zero.pixels);
  for (const double v : ExponentialFilter(zero).pixels.data) EXPECT_EQ(v, 1.0);
}

// ---------------------------------------------------------------------------
// Gradient.

TEST(RadiomicsFiltersTest, GradientOfRampIsSlopeOverSpacing) {
  Image img = Constant(6, 5, 0.0, Spacing{0.5, 2.0});
  for (int y = 0; y < 5; ++y) {
    for (int x = 0; x < 6; ++x) img.pixels.at(x, y) = 3.0 * x + 4.0 * y;
  }
  const Image g = GradientMagnitude(img, {});
  // Interior: sqrt((3 / 0.5)^2 + (4 / 2)^2).
  EXPECT_NEAR(g.pixels.at(2, 2), std::sqrt(36.0 + 4.0), 1e-12);
  // Border (nearest padding): one-sided half difference along x.
  EXPECT_NEAR(g.pixels.at(0, 2), std::sqrt(9.0 + 4.0), 1e-12);
  GradientParams no_spacing;
  no_spacing.use_spacing = false;
  EXPECT_NEAR(GradientMagnitude(img, no_spacing).pixels.at(3, 1), 5.0, 1e-12);
}

// ---------------------------------------------------------------------------
// LBP.

TEST(RadiomicsFiltersTest, LbpHandMade3x3) {
  LbpParams p;  // radius 1, 8 samples
  // Only the right neighbour is brighter; the up-right diagonal sample
  // interpolates to 0.7071 * 1 + 0.2929 * (0.2929 * 5 + 0.7071 * 9) = 3 < 5.
  EXPECT_EQ(LocalBinaryPattern2D(FromRows({{1, 1, 1}, {1, 5, 9}, {1, 1, 1}}), p).pixels.at(1, 1),
            1.0);
  // Left and right brighter, the rest darker: 3 consecutive changes, not
  // uniform.
  EXPECT_EQ(LocalBinaryPattern2D(FromRows({{1, 1, 1}, {9, 5, 9}, {1, 1, 1}}), p).pixels.at(1, 1),
            9.0);
  // Top row and both sides brighter (samples 0..4): uniform, five ones.
  EXPECT_EQ(LocalBinaryPattern2D(FromRows({{9, 9, 9}, {9, 5, 9}, {1, 1, 1}}), p).pixels.at(1, 1),
            5.0);
  // Everything darker: 0; everything brighter: 8.
  EXPECT_EQ(LocalBinaryPattern2D(FromRows({{1, 1, 1}, {1, 5, 1}, {1, 1, 1}}), p).pixels.at(1, 1),
            0.0);
  EXPECT_EQ(LocalBinaryPattern2D(FromRows({{9, 9, 9}, {9, 5, 9}, {9, 9, 9}}), p).pixels.at(1, 1),
            8.0);
  // Corner pixel: samples outside the image are 0 (darker), so only the
  // right and lower neighbours and the diagonal between them count.
  const Image corner = LocalBinaryPattern2D(FromRows({{5, 9, 1}, {9, 9, 1}, {1, 1, 1}}), p);
  // Samples: 0 right = 9 (1); 1..5 mix outside zeros (< 5, so 0); 6 down = 9
  // (1); 7 down-right interpolates 5, 9, 9, 9 to 8.66 (1): bits
  // 1 0 0 0 0 0 1 1 -> uniform, three ones.
  EXPECT_EQ(corner.pixels.at(0, 0), 3.0);
}

// ---------------------------------------------------------------------------
// Parameter checks, dispatch and names.

TEST(RadiomicsFiltersTest, CheckFilterParamsMessages) {
  EXPECT_EQ(CheckFilterParams(LogParams{}), "");
  EXPECT_EQ(CheckFilterParams(MeanParams{}), "");
  EXPECT_EQ(CheckFilterParams(LawsParams{}), "");
  EXPECT_EQ(CheckFilterParams(GaborParams{}), "");
  EXPECT_EQ(CheckFilterParams(WaveletParams{}), "");
  EXPECT_EQ(CheckFilterParams(LbpParams{}), "");
  EXPECT_EQ(CheckFilterParams(SquareParams{}), "");

  LogParams log;
  log.sigma_mm = -1.0;
  EXPECT_EQ(CheckFilterParams(log), "log: sigma_mm must be > 0, got -1");
  MeanParams mean;
  mean.support = 4;
  EXPECT_NE(CheckFilterParams(mean).find("odd"), std::string::npos);
  LawsParams laws;
  laws.kernel = "L5X5";
  EXPECT_NE(CheckFilterParams(laws).find("unknown 1D kernel"), std::string::npos);
  laws.kernel = "L5S3";
  EXPECT_NE(CheckFilterParams(laws).find("same length"), std::string::npos);
  GaborParams gabor;
  gabor.theta_step_deg = 7.0;
  EXPECT_NE(CheckFilterParams(gabor).find("divisor of 360"), std::string::npos);
  gabor.theta_step_deg = 0.0;
  gabor.gamma = 0.0;
  EXPECT_NE(CheckFilterParams(gabor).find("gamma"), std::string::npos);
  WaveletParams wavelet;
  wavelet.level = 0;
  EXPECT_NE(CheckFilterParams(wavelet).find("level"), std::string::npos);
  wavelet.level = 1;
  wavelet.convention = WaveletConvention::kPyRadiomics;
  wavelet.rotation_invariant = true;
  EXPECT_NE(CheckFilterParams(wavelet).find("IBSI"), std::string::npos);
  LbpParams lbp;
  lbp.samples = 0;
  EXPECT_NE(CheckFilterParams(lbp).find("samples"), std::string::npos);

  const Image img = Constant(5, 5, 1.0);
  EXPECT_THROW(ApplyFilter(img, log), std::invalid_argument);
  EXPECT_THROW(LaplacianOfGaussian(img, log), std::invalid_argument);
  EXPECT_LT(MaxAbsDiff(ApplyFilter(img, MeanParams{3, Padding::kMirror}).pixels, img.pixels),
            1e-12);
}

TEST(RadiomicsFiltersTest, FilterNames) {
  LogParams log;
  log.sigma_mm = 1.5;
  EXPECT_EQ(FilterName(log), "log-sigma-1-5-mm-2D");
  EXPECT_EQ(FilterName(MeanParams{5, Padding::kMirror}), "mean-5");
  WaveletParams w;
  w.band = WaveletBand::kHL;
  EXPECT_EQ(FilterName(w), "wavelet-HL");
  w.level = 2;
  EXPECT_EQ(FilterName(w), "wavelet2-HL");
  LawsParams laws;
  laws.rotation_invariant = true;
  laws.energy_map = true;
  EXPECT_EQ(FilterName(laws), "laws-L5S5-rot-max-energy-7");
  GaborParams g;
  g.sigma_mm = 2.5;
  g.lambda_mm = 4;
  g.gamma = 0.5;
  g.theta_deg = -30;
  EXPECT_EQ(FilterName(g), "gabor-s2-5-l4-0-g0-5-tm30-0");
  EXPECT_EQ(FilterName(SquareParams{}), "square");
  EXPECT_EQ(FilterName(SquareRootParams{}), "squareroot");
  EXPECT_EQ(FilterName(LogarithmParams{}), "logarithm");
  EXPECT_EQ(FilterName(ExponentialParams{}), "exponential");
  EXPECT_EQ(FilterName(GradientParams{}), "gradient");
  EXPECT_EQ(FilterName(LbpParams{}), "lbp-2D");
}

TEST(RadiomicsFiltersTest, TinyAndEmptyImagesKeepTheirSize) {
  std::vector<FilterSpec> specs = {MeanParams{5, Padding::kMirror},
                                   LogParams{},
                                   LawsParams{},
                                   GaborParams{},
                                   WaveletParams{},
                                   SquareParams{},
                                   SquareRootParams{},
                                   LogarithmParams{},
                                   ExponentialParams{},
                                   GradientParams{},
                                   LbpParams{}};
  WaveletParams py;
  py.convention = WaveletConvention::kPyRadiomics;
  py.level = 2;
  specs.push_back(py);
  for (const Padding p : {Padding::kConstant, Padding::kNearest, Padding::kPeriodic,
                          Padding::kMirror, Padding::kReflect}) {
    LawsParams laws;
    laws.padding = p;
    laws.rotation_invariant = true;
    laws.energy_map = true;
    specs.push_back(laws);
    GaborParams gabor;
    gabor.padding = p;
    specs.push_back(gabor);
  }
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{{0, 0}, {1, 1}, {1, 3}, {3, 2}}) {
    const Image img = Random(w, h, 31);
    for (const FilterSpec& spec : specs) {
      const Image out = ApplyFilter(img, spec);
      EXPECT_EQ(out.pixels.width, w) << FilterName(spec);
      EXPECT_EQ(out.pixels.height, h) << FilterName(spec);
      for (const double v : out.pixels.data) EXPECT_TRUE(std::isfinite(v)) << FilterName(spec);
    }
  }
}

// Not a benchmark, a guard: the pipeline runs LoG at 3 sigmas and the 4
// wavelet bands on 800x600 images. Prints the times.
TEST(RadiomicsFiltersTest, TimingOn800x600) {
  const Image img = Random(800, 600, 29, Spacing{0.7, 0.7});
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  double total = 0.0;
  for (const double sigma : {1.0, 2.0, 3.0}) {
    LogParams p;
    p.sigma_mm = sigma;
    const auto t0 = Clock::now();
    const Image out = LaplacianOfGaussian(img, p);
    const double t = ms(Clock::now() - t0);
    total += t;
    std::printf("[timing] LoG sigma %.0f mm (%.2f px, radius %d) on 800x600: %.1f ms\n", sigma,
                sigma / 0.7, LogKernelRadius(sigma / 0.7, p), t);
    EXPECT_EQ(out.pixels.size(), img.pixels.size());
  }
  const auto t0 = Clock::now();
  const auto bands = WaveletDecomposition(img, WaveletParams{});
  const double t = ms(Clock::now() - t0);
  total += t;
  std::printf("[timing] coif1 level-1 SWT, 4 bands, on 800x600: %.1f ms\n", t);
  EXPECT_EQ(bands[3].pixels.size(), img.pixels.size());
  EXPECT_LT(total, 5000.0);
}

}  // namespace
}  // namespace fedrad::site_agent::radiomics

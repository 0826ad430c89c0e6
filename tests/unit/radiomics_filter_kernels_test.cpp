// The blocked filter kernels (two output rows of a column pass at once,
// vector blocks with scalar tails) against a plain evaluation of the
// separable LoG sums, operation by operation in the documented order: the
// results must be equal bit for bit, not only close.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numbers>
#include <random>
#include <vector>

#include "../../site_agent/src/radiomics/filters_internal.hpp"  // filter_detail passes
#include "fedrad/site_agent/radiomics/filters.hpp"

namespace fedrad::site_agent::radiomics {
namespace {

// Sampled normalised Gaussian (g) and its second derivative times d2_scale
// (d2) over offsets -r..r, as filters.hpp documents the LoG taps.
void Taps(double s, int r, double d2_scale, std::vector<double>& g, std::vector<double>& d2) {
  g.assign(static_cast<std::size_t>(2 * r + 1), 0.0);
  d2.assign(g.size(), 0.0);
  const double norm = 1.0 / (std::sqrt(2.0 * std::numbers::pi) * s);
  const double s2 = s * s;
  for (int k = -r; k <= r; ++k) {
    const double k2 = static_cast<double>(k) * static_cast<double>(k);
    const double value = norm * std::exp(-k2 / (2.0 * s2));
    g[static_cast<std::size_t>(k + r)] = value;
    d2[static_cast<std::size_t>(k + r)] = d2_scale * value * (k2 - s2) / (s2 * s2);
  }
}

// Symmetric correlation at one point: w_c x_0 + sum_{j<r} w_j (x_{j-r} + x_{r-j}),
// j ascending; at(o) reads offset o.
template <typename At>
double SymmetricSum(const std::vector<double>& w, At at) {
  const int r = static_cast<int>(w.size()) / 2;
  double acc = w[static_cast<std::size_t>(r)] * at(0);
  for (int j = 0; j < r; ++j) acc += w[static_cast<std::size_t>(j)] * (at(j - r) + at(r - j));
  return acc;
}

// rows(tx) then columns(ty) of `image` with zero where the padding has no
// pixel (PadIndex < 0).
std::vector<double> Separable(const Grid<double>& image, const std::vector<double>& tx,
                              const std::vector<double>& ty, Padding padding) {
  const int w = image.width;
  const int h = image.height;
  const auto row_pass = [&](int v, int x) {
    const int m = PadIndex(v, h, padding);
    if (m < 0) return 0.0;
    return SymmetricSum(tx, [&](int o) {
      const int c = PadIndex(x + o, w, padding);
      return c < 0 ? 0.0 : image.at(c, m);
    });
  };
  std::vector<double> out(static_cast<std::size_t>(w) * static_cast<std::size_t>(h));
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      out[static_cast<std::size_t>(y) * static_cast<std::size_t>(w) + static_cast<std::size_t>(x)] =
          SymmetricSum(ty, [&](int o) { return row_pass(y + o, x); });
    }
  }
  return out;
}

void ExpectLogEqualsPlainSums(int width, int height, double sigma_mm, Spacing spacing,
                              unsigned seed) {
  std::mt19937 rng(seed);
  std::gamma_distribution<double> speckle(2.0, 30.0);
  Image image;
  image.spacing = spacing;
  image.pixels = Grid<double>(width, height);
  for (double& v : image.pixels.data) v = std::round(speckle(rng));
  LogParams params;
  params.sigma_mm = sigma_mm;
  const Image response = LaplacianOfGaussian(image, params);

  // IBSI convention: A = hx hy, mirror padding (filters.hpp).
  const double hx = spacing.x_mm;
  const double hy = spacing.y_mm;
  const double sx = sigma_mm / hx;
  const double sy = sigma_mm / hy;
  std::vector<double> gx, dxx, gy, dyy;
  Taps(sx, LogKernelRadius(sx, params), hx * hy / (hx * hx), gx, dxx);
  Taps(sy, LogKernelRadius(sy, params), hx * hy / (hy * hy), gy, dyy);
  const std::vector<double> first = Separable(image.pixels, dxx, gy, Padding::kMirror);
  const std::vector<double> second = Separable(image.pixels, gx, dyy, Padding::kMirror);
  ASSERT_EQ(response.pixels.data.size(), first.size());
  std::size_t differing = 0;
  for (std::size_t i = 0; i < first.size(); ++i) {
    const double expected = second[i] + first[i];
    if (std::memcmp(&expected, &response.pixels.data[i], sizeof(double)) != 0) ++differing;
  }
  EXPECT_EQ(differing, 0U) << width << "x" << height << ", sigma " << sigma_mm << " mm";
}

TEST(RadiomicsFilterKernelsTest, LogEqualsPlainSumsBitForBit) {
  // Odd and even heights (a last single row after the row pairs), widths
  // that leave scalar tails after the vector blocks, radii from 2 to 16 px,
  // kernels reaching past the image (padding on both axes).
  ExpectLogEqualsPlainSums(37, 29, 0.26, {0.2, 0.2}, 1);
  ExpectLogEqualsPlainSums(53, 40, 0.8, {0.2, 0.2}, 2);
  ExpectLogEqualsPlainSums(21, 18, 1.3, {0.3, 0.25}, 3);
  // sigma = 3 px exactly: the second derivative's taps at +-3 px are exactly
  // zero (skipped by the sums, also by the paired column rows).
  ExpectLogEqualsPlainSums(45, 31, 0.75, {0.25, 0.25}, 4);
}

// The fused LoG pass (both row kernels in one sweep) against the two
// separable calls it replaces, on windows inside a larger image (so the
// padding is sometimes reached, sometimes not), with zero taps in the
// second-derivative kernels: equal bit for bit. Where the fused pass does
// not apply (no AVX-512F) it must return false and leave the output alone.
TEST(RadiomicsFilterKernelsTest, FusedLogPassEqualsTwoSeparablePasses) {
  std::mt19937 rng(7);
  std::gamma_distribution<double> speckle(2.0, 30.0);
  Grid<double> image(70, 53);
  for (double& v : image.data) v = std::round(speckle(rng));
  for (const double s : {1.0, 3.0, 4.5}) {
    const int r = static_cast<int>(std::ceil(4.0 * s));
    std::vector<double> g, d2;
    Taps(s, r, 1.0, g, d2);
    const filter_detail::Taps gx{-r, g};
    const filter_detail::Taps dxx{-r, d2};
    for (const filter_detail::Window window :
         {filter_detail::Window{0, 0, 70, 53}, filter_detail::Window{5, 3, 41, 30},
          filter_detail::Window{20, 10, 33, 1}, filter_detail::Window{64, 50, 6, 3}}) {
      for (const Padding padding : {Padding::kMirror, Padding::kNearest, Padding::kConstant}) {
        Grid<double> expected;
        filter_detail::FilterSeparableWindowInto(image, dxx, {&gx}, padding, window, {&expected},
                                                 false);
        filter_detail::FilterSeparableWindowInto(image, gx, {&dxx}, padding, window, {&expected},
                                                 true);
        Grid<double> fused(2, 2, -1.0);
        if (!filter_detail::FilterSeparablePairWindowInto(image, dxx, gx, gx, dxx, padding, window,
                                                          fused)) {
          EXPECT_EQ(fused, Grid<double>(2, 2, -1.0));
          continue;
        }
        ASSERT_EQ(fused.width, expected.width);
        ASSERT_EQ(fused.height, expected.height);
        EXPECT_EQ(std::memcmp(fused.data.data(), expected.data.data(),
                              expected.data.size() * sizeof(double)),
                  0)
            << "sigma " << s << " px, window " << window.x0 << "," << window.y0 << " "
            << window.width << "x" << window.height;
      }
    }
  }
}

}  // namespace
}  // namespace fedrad::site_agent::radiomics

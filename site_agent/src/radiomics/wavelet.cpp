// Stationary (undecimated) separable wavelet transform, 2D, in the IBSI and
// PyRadiomics conventions. See filters.hpp.
#include <array>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fedrad/site_agent/radiomics/filters.hpp"
#include "filters_internal.hpp"

namespace fedrad::site_agent::radiomics {

namespace {

constexpr int kMaxWaveletLevel = 8;

// Decomposition low-pass filters, in PyWavelets' dec_lo order (the reverse of
// the scaling-filter order h_0..h_{n-1} printed in the literature), from their
// closed forms:
// * haar: [1, 1] / sqrt(2).
// * db2, db3: Daubechies' extremal-phase filters with 2 and 3 vanishing
//   moments, I. Daubechies, "Ten Lectures on Wavelets", SIAM 1992, Table 6.1;
//   closed forms with sqrt(3) (db2) and sqrt(10), sqrt(5 + 2 sqrt(10)) (db3).
// * coif1: the 6-tap coiflet, ibid. section 8.2; closed form with
//   sqrt(7).
// The resulting values equal PyWavelets' pywt.Wavelet(name).dec_lo (the
// filters PyRadiomics uses) to within 1e-15, e.g.
//   db2   dec_lo = [-0.129409522551, 0.224143868042, 0.836516303738, 0.482962913145]
//   db3   dec_lo = [0.035226291886, -0.085441273882, -0.135011020010,
//                   0.459877502118, 0.806891509311, 0.332670552950]
//   coif1 dec_lo = [-0.015655728136, -0.072732619513, 0.384864846865,
//                   0.852572020212, 0.337897662457, -0.072732619513]
// (the unit test checks db2 and coif1 against the IBSI-2 derived-case JSON).
std::vector<double> DecLo(WaveletFamily family) {
  const double r2 = std::sqrt(2.0);
  switch (family) {
    case WaveletFamily::kHaar:
      return {1.0 / r2, 1.0 / r2};
    case WaveletFamily::kDb2: {
      const double r3 = std::sqrt(3.0);
      const double d = 4.0 * r2;
      return {(1.0 - r3) / d, (3.0 - r3) / d, (3.0 + r3) / d, (1.0 + r3) / d};
    }
    case WaveletFamily::kDb3: {
      const double r10 = std::sqrt(10.0);
      const double q = std::sqrt(5.0 + 2.0 * r10);
      const double c = r2 / 32.0;
      return {c * (1.0 + r10 - q),
              c * (5.0 + r10 - 3.0 * q),
              c * (10.0 - 2.0 * r10 - 2.0 * q),
              c * (10.0 - 2.0 * r10 + 2.0 * q),
              c * (5.0 + r10 + 3.0 * q),
              c * (1.0 + r10 + q)};
    }
    case WaveletFamily::kCoif1: {
      const double r7 = std::sqrt(7.0);
      const double d = 16.0 * r2;
      return {(r7 - 3.0) / d,        (1.0 - r7) / d, (14.0 - 2.0 * r7) / d,
              (14.0 + 2.0 * r7) / d, (5.0 + r7) / d, (1.0 - r7) / d};
    }
  }
  return {};
}

// Taps of out[x] = sum_m h[m] * in[x + n s / 2 - s m] (dilation s).
filter_detail::Taps WaveletTaps(const std::vector<double>& h, int dilation) {
  const int n = static_cast<int>(h.size());
  filter_detail::Taps taps;
  taps.first = n * dilation / 2 - dilation * (n - 1);
  taps.w.assign(static_cast<std::size_t>(dilation * (n - 1) + 1), 0.0);
  for (int m = 0; m < n; ++m) {
    const int d = n * dilation / 2 - dilation * m;
    taps.w[d - taps.first] = h[m];
  }
  return taps;
}

bool IsLow(WaveletBand band, int axis) {
  // axis 0 = x (first letter), 1 = y (second letter).
  switch (band) {
    case WaveletBand::kLL:
      return true;
    case WaveletBand::kLH:
      return axis == 0;
    case WaveletBand::kHL:
      return axis == 1;
    case WaveletBand::kHH:
      return false;
  }
  return false;
}

// Taps of one level: [low, high] x [as is, mirrored].
struct LevelTaps {
  filter_detail::Taps taps[2][2];
  LevelTaps(const WaveletFilters& f, int dilation) {
    taps[0][0] = WaveletTaps(f.dec_lo, dilation);
    taps[1][0] = WaveletTaps(f.dec_hi, dilation);
    taps[0][1] = filter_detail::Mirrored(taps[0][0]);
    taps[1][1] = filter_detail::Mirrored(taps[1][0]);
  }
};

// Which 1D filter (0 low / 1 high, mirrored or not) goes along x and along y
// for a band under in-plane rotation r (0..3, by 90 degrees). With the
// separable kernel C(dx, dy) = a(dx) b(dy), the rotations are a(dx) b(dy),
// b(-dx) a(dy), a(-dx) b(-dy), b(dx) a(-dy).
struct AxisFilter {
  int kind;  // 0 = low, 1 = high
  int mirrored;
};
std::pair<AxisFilter, AxisFilter> RotatedFilters(WaveletBand band, int rotation) {
  const int a = IsLow(band, 0) ? 0 : 1;
  const int b = IsLow(band, 1) ? 0 : 1;
  switch (rotation) {
    case 1:
      return {{b, 1}, {a, 0}};
    case 2:
      return {{a, 1}, {b, 1}};
    case 3:
      return {{b, 0}, {a, 1}};
    default:
      return {{a, 0}, {b, 0}};
  }
}

// Requested bands of one rotation, IBSI convention (a trous levels), added
// to `sums` (assigned for rotation 0).
void IbsiRotation(const Grid<double>& input, const WaveletFilters& filters,
                  const WaveletParams& params, int rotation, const std::vector<WaveletBand>& bands,
                  const filter_detail::Window& window, std::array<Grid<double>, 4>& sums) {
  const Grid<double>* data = &input;
  Grid<double> low;
  for (int level = 1; level < params.level; ++level) {
    const LevelTaps lt(filters, 1 << (level - 1));
    const auto [fx, fy] = RotatedFilters(WaveletBand::kLL, rotation);
    low = filter_detail::FilterSeparable(*data, lt.taps[fx.kind][fx.mirrored],
                                         lt.taps[fy.kind][fy.mirrored], params.padding);
    data = &low;
  }
  const LevelTaps lt(filters, 1 << (params.level - 1));
  // One streamed pass per distinct x filter, shared by the bands that use it.
  for (int key = 0; key < 4; ++key) {
    std::vector<const filter_detail::Taps*> tys;
    std::vector<Grid<double>*> outs;
    for (const WaveletBand band : bands) {
      const auto [fx, fy] = RotatedFilters(band, rotation);
      if (2 * fx.kind + fx.mirrored != key) continue;
      tys.push_back(&lt.taps[fy.kind][fy.mirrored]);
      outs.push_back(&sums[static_cast<int>(band)]);
    }
    if (tys.empty()) continue;
    filter_detail::FilterSeparableWindowInto(*data, lt.taps[key / 2][key % 2], tys, params.padding,
                                             window, outs, /*accumulate=*/rotation > 0);
  }
}

std::array<Grid<double>, 4> IbsiBands(const Grid<double>& input, const WaveletParams& params,
                                      const std::vector<WaveletBand>& bands,
                                      const filter_detail::Window& window) {
  const WaveletFilters filters = GetWaveletFilters(params.family);
  std::array<Grid<double>, 4> sums;
  const int rotations = params.rotation_invariant ? 4 : 1;
  for (int r = 0; r < rotations; ++r) IbsiRotation(input, filters, params, r, bands, window, sums);
  if (rotations > 1) {
    for (Grid<double>& g : sums) {
      for (double& v : g.data) v /= static_cast<double>(rotations);
    }
  }
  return sums;
}

// PyRadiomics' _swt3 with force2D: wrap-extend odd sizes to even, apply the
// undilated level-1 periodic SWT `level` times to the approximation, crop
// (to `window`, which lies inside the input).
std::array<Grid<double>, 4> PyRadiomicsBands(const Grid<double>& input, const WaveletParams& params,
                                             const std::vector<WaveletBand>& bands,
                                             const filter_detail::Window& window) {
  const int width = input.width;
  const int height = input.height;
  const int ext_w = width + width % 2;
  const int ext_h = height + height % 2;
  Grid<double> data(ext_w, ext_h);
  for (int y = 0; y < ext_h; ++y) {
    for (int x = 0; x < ext_w; ++x) {
      data.at(x, y) = input.at(x < width ? x : 0, y < height ? y : 0);
    }
  }
  const LevelTaps lt(GetWaveletFilters(params.family), 1);
  const filter_detail::Taps& low = lt.taps[0][0];
  const filter_detail::Taps& high = lt.taps[1][0];
  for (int level = 1; level < params.level; ++level) {
    data = filter_detail::FilterSeparable(data, low, low, Padding::kPeriodic);
  }
  std::array<Grid<double>, 4> result;
  for (int kind = 0; kind < 2; ++kind) {
    std::vector<const filter_detail::Taps*> tys;
    std::vector<Grid<double>*> outs;
    for (const WaveletBand band : bands) {
      if (IsLow(band, 0) != (kind == 0)) continue;
      tys.push_back(IsLow(band, 1) ? &low : &high);
      outs.push_back(&result[static_cast<int>(band)]);
    }
    if (tys.empty()) continue;
    filter_detail::FilterSeparableWindowInto(data, kind == 0 ? low : high, tys, Padding::kPeriodic,
                                             window, outs, /*accumulate=*/false);
  }
  return result;
}

std::array<Grid<double>, 4> ComputeBands(const Image& image, const WaveletParams& params,
                                         const std::vector<WaveletBand>& bands,
                                         const filter_detail::Window& window) {
  filter_detail::ThrowIfInvalid(filter_detail::CheckWavelet(params));
  if (image.pixels.width == 0 || image.pixels.height == 0) {
    std::array<Grid<double>, 4> empty;
    for (Grid<double>& g : empty) g = image.pixels;
    return empty;
  }
  return params.convention == WaveletConvention::kPyRadiomics
             ? PyRadiomicsBands(image.pixels, params, bands, window)
             : IbsiBands(image.pixels, params, bands, window);
}

filter_detail::Window WholeImage(const Image& image) {
  return filter_detail::Window{0, 0, image.pixels.width, image.pixels.height};
}

}  // namespace

namespace filter_detail {

std::string CheckWavelet(const WaveletParams& params) {
  if (params.level < 1 || params.level > kMaxWaveletLevel) {
    return "wavelet: level must be in [1, " + std::to_string(kMaxWaveletLevel) + "], got " +
           std::to_string(params.level);
  }
  if (DecLo(params.family).empty()) {
    return "wavelet: unknown wavelet family (expected haar, db2, db3 or coif1)";
  }
  if (params.convention == WaveletConvention::kPyRadiomics && params.rotation_invariant) {
    return "wavelet: rotation_invariant is only available with the IBSI convention";
  }
  return {};
}

}  // namespace filter_detail

std::string_view WaveletFamilyName(WaveletFamily family) {
  switch (family) {
    case WaveletFamily::kHaar:
      return "haar";
    case WaveletFamily::kDb2:
      return "db2";
    case WaveletFamily::kDb3:
      return "db3";
    case WaveletFamily::kCoif1:
      return "coif1";
  }
  return "unknown";
}

std::optional<WaveletFamily> ParseWaveletFamily(std::string_view name) {
  if (name == "haar" || name == "db1") return WaveletFamily::kHaar;
  if (name == "db2") return WaveletFamily::kDb2;
  if (name == "db3") return WaveletFamily::kDb3;
  if (name == "coif1") return WaveletFamily::kCoif1;
  return std::nullopt;
}

std::string_view WaveletBandName(WaveletBand band) {
  switch (band) {
    case WaveletBand::kLL:
      return "LL";
    case WaveletBand::kLH:
      return "LH";
    case WaveletBand::kHL:
      return "HL";
    case WaveletBand::kHH:
      return "HH";
  }
  return "??";
}

std::optional<WaveletBand> ParseWaveletBand(std::string_view name) {
  if (name == "LL") return WaveletBand::kLL;
  if (name == "LH") return WaveletBand::kLH;
  if (name == "HL") return WaveletBand::kHL;
  if (name == "HH") return WaveletBand::kHH;
  return std::nullopt;
}

std::string_view PyWaveletsSwt2Name(WaveletBand band) {
  switch (band) {
    case WaveletBand::kLL:
      return "cA";
    case WaveletBand::kLH:
      return "cH";
    case WaveletBand::kHL:
      return "cV";
    case WaveletBand::kHH:
      return "cD";
  }
  return "??";
}

WaveletFilters GetWaveletFilters(WaveletFamily family) {
  WaveletFilters f;
  f.dec_lo = DecLo(family);
  // Quadrature mirror: dec_hi[k] = (-1)^(k+1) dec_lo[n-1-k] (PyWavelets).
  const std::size_t n = f.dec_lo.size();
  f.dec_hi.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    const double v = f.dec_lo[n - 1 - k];
    f.dec_hi[k] = k % 2 == 0 ? -v : v;
  }
  return f;
}

Image WaveletFilter(const Image& image, const WaveletParams& params) {
  std::array<Grid<double>, 4> bands = ComputeBands(image, params, {params.band}, WholeImage(image));
  return Image{std::move(bands[static_cast<int>(params.band)]), image.spacing};
}

std::array<Image, 4> WaveletDecomposition(const Image& image, const WaveletParams& params) {
  std::array<Grid<double>, 4> bands = ComputeBands(
      image, params, {WaveletBand::kLL, WaveletBand::kLH, WaveletBand::kHL, WaveletBand::kHH},
      WholeImage(image));
  std::array<Image, 4> out;
  for (int b = 0; b < 4; ++b) out[b] = Image{std::move(bands[b]), image.spacing};
  return out;
}

namespace filter_detail {

std::array<Image, 4> WaveletBandsWindow(const Image& image, const WaveletParams& params,
                                        const std::vector<WaveletBand>& bands,
                                        const Window& window) {
  std::array<Grid<double>, 4> grids = ComputeBands(image, params, bands, window);
  std::array<Image, 4> out;
  for (int b = 0; b < 4; ++b) out[b] = Image{std::move(grids[b]), image.spacing};
  return out;
}

}  // namespace filter_detail

}  // namespace fedrad::site_agent::radiomics

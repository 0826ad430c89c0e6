// Laplacian of Gaussian, 2D, separable: see filters.hpp for the maths and the
// IBSI / PyRadiomics conventions.
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include "fedrad/site_agent/radiomics/filters.hpp"
#include "filters_internal.hpp"

namespace fedrad::site_agent::radiomics {

namespace {

// Radius ceil(6 s) of the PyRadiomics convention: exp(-18) * 36 < 1e-6.
constexpr double kSimpleItkCutoffSigmas = 6.0;
constexpr double kIbsiCutoffSigmas = 4.0;

}  // namespace

namespace filter_detail {

std::string CheckLog(const LogParams& params) {
  if (!(params.sigma_mm > 0.0) || !std::isfinite(params.sigma_mm)) {
    return "log: sigma_mm must be > 0, got " + FormatNumber(params.sigma_mm);
  }
  if (!(params.truncation_sigmas >= 0.0) || !std::isfinite(params.truncation_sigmas)) {
    return "log: truncation_sigmas must be >= 0 (0 = convention default), got " +
           FormatNumber(params.truncation_sigmas);
  }
  return {};
}

}  // namespace filter_detail

int LogKernelRadius(double sigma_px, const LogParams& params) {
  if (params.truncation_sigmas > 0.0) {
    return static_cast<int>(std::floor(params.truncation_sigmas * sigma_px + 0.5));
  }
  if (params.convention == LogConvention::kPyRadiomics) {
    return static_cast<int>(std::ceil(kSimpleItkCutoffSigmas * sigma_px));
  }
  return static_cast<int>(std::floor(kIbsiCutoffSigmas * sigma_px + 0.5));
}

namespace {

// Sampled normalised Gaussian and its second derivative (times `d2_scale`)
// over offsets -r..r, as symmetric correlation taps.
void GaussianTaps(double s, int r, double d2_scale, filter_detail::Taps& gauss,
                  filter_detail::Taps& second) {
  gauss.first = -r;
  second.first = -r;
  gauss.w.resize(static_cast<std::size_t>(2 * r + 1));
  second.w.resize(gauss.w.size());
  const double norm = 1.0 / (std::sqrt(2.0 * std::numbers::pi) * s);
  const double s2 = s * s;
  for (int k = -r; k <= r; ++k) {
    const double k2 = static_cast<double>(k) * static_cast<double>(k);
    const double g = norm * std::exp(-k2 / (2.0 * s2));
    gauss.w[k + r] = g;
    second.w[k + r] = d2_scale * g * (k2 - s2) / (s2 * s2);
  }
}

}  // namespace

Image LaplacianOfGaussian(const Image& image, const LogParams& params) {
  return filter_detail::LaplacianOfGaussianWindow(
      image, params, filter_detail::Window{0, 0, image.pixels.width, image.pixels.height});
}

namespace filter_detail {

Image LaplacianOfGaussianWindow(const Image& image, const LogParams& params, const Window& window) {
  filter_detail::ThrowIfInvalid(filter_detail::CheckLog(params));
  const double hx = image.spacing.x_mm;
  const double hy = image.spacing.y_mm;
  if (!(hx > 0.0) || !(hy > 0.0)) {
    throw std::invalid_argument("log: pixel spacing must be > 0 mm, got " +
                                filter_detail::FormatNumber(hx) + " x " +
                                filter_detail::FormatNumber(hy));
  }
  const Padding padding = params.padding.value_or(
      params.convention == LogConvention::kPyRadiomics ? Padding::kNearest : Padding::kMirror);
  const double sx = params.sigma_mm / hx;
  const double sy = params.sigma_mm / hy;
  // Response = A * (1/hx^2 * d2/dx2 + 1/hy^2 * d2/dy2) in pixel derivatives.
  const double scale = params.convention == LogConvention::kPyRadiomics
                           ? params.sigma_mm * params.sigma_mm
                           : hx * hy;
  filter_detail::Taps gx;
  filter_detail::Taps dxx;
  filter_detail::Taps gy;
  filter_detail::Taps dyy;
  GaussianTaps(sx, LogKernelRadius(sx, params), scale / (hx * hx), gx, dxx);
  GaussianTaps(sy, LogKernelRadius(sy, params), scale / (hy * hy), gy, dyy);

  Image out{Grid<double>(), image.spacing};
  if (filter_detail::FilterSeparablePairWindowInto(image.pixels, dxx, gy, gx, dyy, padding, window,
                                                   out.pixels)) {
    return out;
  }
  filter_detail::FilterSeparableWindowInto(image.pixels, dxx, {&gy}, padding, window, {&out.pixels},
                                           /*accumulate=*/false);
  filter_detail::FilterSeparableWindowInto(image.pixels, gx, {&dyy}, padding, window, {&out.pixels},
                                           /*accumulate=*/true);
  return out;
}

}  // namespace filter_detail

}  // namespace fedrad::site_agent::radiomics

// Laws kernels, 2D (IBSI 3): separable convolution, optional in-plane
// rotation invariance and energy map. See filters.hpp.
#include <algorithm>
#include <cctype>
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

// The unnormalised IBSI Laws 1D kernels; LawsKernel() normalises them to unit
// L2 norm.
std::optional<std::vector<double>> LawsKernel(std::string_view name) {
  std::vector<double> k;
  if (name == "L3") {
    k = {1, 2, 1};
  } else if (name == "E3") {
    k = {-1, 0, 1};
  } else if (name == "S3") {
    k = {-1, 2, -1};
  } else if (name == "L5") {
    k = {1, 4, 6, 4, 1};
  } else if (name == "E5") {
    k = {-1, -2, 0, 2, 1};
  } else if (name == "S5") {
    k = {-1, 0, 2, 0, -1};
  } else if (name == "W5") {
    k = {-1, 2, 0, -2, 1};
  } else if (name == "R5") {
    k = {1, -4, 6, -4, 1};
  } else {
    return std::nullopt;
  }
  double sum_sq = 0.0;
  for (const double v : k) sum_sq += v * v;
  const double norm = std::sqrt(sum_sq);
  for (double& v : k) v /= norm;
  return k;
}

std::string Upper(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

}  // namespace

namespace filter_detail {

std::string CheckLaws(const LawsParams& params) {
  const std::string name = Upper(params.kernel);
  if (name.size() != 4) {
    return "laws: kernel must be two 1D kernel names such as \"L5S5\" (first along x, second "
           "along y), got \"" +
           params.kernel + "\"";
  }
  const auto kx = LawsKernel(name.substr(0, 2));
  const auto ky = LawsKernel(name.substr(2, 2));
  if (!kx || !ky) {
    return "laws: unknown 1D kernel in \"" + params.kernel +
           "\" (expected L3, E3, S3, L5, E5, S5, W5 or R5)";
  }
  if (kx->size() != ky->size()) {
    return "laws: both 1D kernels must have the same length, got \"" + params.kernel + "\"";
  }
  if (params.energy_map && params.energy_distance < 0) {
    return "laws: energy_distance must be >= 0 pixels, got " +
           std::to_string(params.energy_distance);
  }
  return {};
}

}  // namespace filter_detail

Image LawsFilter(const Image& image, const LawsParams& params) {
  filter_detail::ThrowIfInvalid(filter_detail::CheckLaws(params));
  const std::string name = Upper(params.kernel);
  const std::vector<double> kx = *LawsKernel(name.substr(0, 2));
  const std::vector<double> ky = *LawsKernel(name.substr(2, 2));
  const filter_detail::Taps a = filter_detail::ConvolutionTaps(kx, static_cast<int>(kx.size()) / 2);
  const filter_detail::Taps b = filter_detail::ConvolutionTaps(ky, static_cast<int>(ky.size()) / 2);

  Image out{Grid<double>(), image.spacing};
  if (!params.rotation_invariant) {
    out.pixels = filter_detail::FilterSeparable(image.pixels, a, b, params.padding);
  } else {
    // K(u,v) = a(u) b(v) rotated by 0, 90, 180, 270 degrees:
    // a(u) b(v), b(-u) a(v), a(-u) b(-v), b(u) a(-v).
    const filter_detail::Taps a_m = filter_detail::Mirrored(a);
    const filter_detail::Taps b_m = filter_detail::Mirrored(b);
    const filter_detail::Taps* rotations[4][2] = {{&a, &b}, {&b_m, &a}, {&a_m, &b_m}, {&b, &a_m}};
    for (int r = 0; r < 4; ++r) {
      Grid<double> response = filter_detail::FilterSeparable(image.pixels, *rotations[r][0],
                                                             *rotations[r][1], params.padding);
      if (r == 0) {
        out.pixels = std::move(response);
        continue;
      }
      for (std::size_t i = 0; i < response.size(); ++i) {
        double& acc = out.pixels.data[i];
        acc = params.pooling == Pooling::kMax ? std::max(acc, response.data[i])
                                              : acc + response.data[i];
      }
    }
    if (params.pooling == Pooling::kAverage) {
      for (double& v : out.pixels.data) v *= 0.25;
    }
  }

  if (params.energy_map) {
    for (double& v : out.pixels.data) v = std::abs(v);
    const int m = 2 * params.energy_distance + 1;
    const std::vector<double> box(static_cast<std::size_t>(m), 1.0 / static_cast<double>(m));
    const filter_detail::Taps t = filter_detail::ConvolutionTaps(box, params.energy_distance);
    out.pixels = filter_detail::FilterSeparable(out.pixels, t, t, params.padding);
  }
  return out;
}

}  // namespace fedrad::site_agent::radiomics

// Gabor filter, 2D (IBSI 4), computed by FFT convolution of the padded image:
// the kernel is not separable once rotated, and IBSI-sized kernels (81x81)
// make direct convolution needlessly slow. See filters.hpp for the maths.
#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include "fedrad/site_agent/radiomics/filters.hpp"
#include "filters_internal.hpp"

namespace fedrad::site_agent::radiomics {

namespace {

using Complex = std::complex<double>;

// Plain complex product: std::complex's operator* adds C99 Annex G NaN/inf
// recovery (a libgcc call per product) that finite data never need.
inline Complex Mul(Complex a, Complex b) {
  return Complex(a.real() * b.real() - a.imag() * b.imag(),
                 a.real() * b.imag() + a.imag() * b.real());
}

int NextPowerOfTwo(int n) {
  int p = 1;
  while (p < n) p *= 2;
  return p;
}

// Iterative radix-2 complex FFT of one length (a power of two). Twiddles are
// evaluated directly with cos/sin (no recurrence) to keep the rounding error
// at a few ulps times log2(n).
class Fft {
 public:
  explicit Fft(int n) : n_(n), twiddle_(static_cast<std::size_t>(n / 2)), bitrev_(n) {
    for (int k = 0; k < n / 2; ++k) {
      const double angle =
          -2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(n);
      twiddle_[k] = Complex(std::cos(angle), std::sin(angle));
    }
    int bits = 0;
    while ((1 << bits) < n) ++bits;
    for (int i = 0; i < n; ++i) {
      int r = 0;
      for (int b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
      bitrev_[i] = r;
    }
  }

  // In place; the inverse is unscaled (the caller divides by n).
  void Transform(Complex* a, bool inverse) const {
    for (int i = 0; i < n_; ++i) {
      if (i < bitrev_[i]) std::swap(a[i], a[bitrev_[i]]);
    }
    for (int len = 2; len <= n_; len *= 2) {
      const int half = len / 2;
      const int step = n_ / len;
      for (int start = 0; start < n_; start += len) {
        for (int j = 0; j < half; ++j) {
          Complex w = twiddle_[static_cast<std::size_t>(j * step)];
          if (inverse) w = std::conj(w);
          const Complex u = a[start + j];
          const Complex v = Mul(a[start + j + half], w);
          a[start + j] = u + v;
          a[start + j + half] = u - v;
        }
      }
    }
  }

 private:
  int n_;
  std::vector<Complex> twiddle_;
  std::vector<int> bitrev_;
};

// dst (cols x rows) = transpose of src (rows x cols), in cache-sized blocks.
void Transpose(const std::vector<Complex>& src, int cols, int rows, std::vector<Complex>& dst) {
  constexpr int kBlock = 32;
  dst.resize(src.size());
  for (int y0 = 0; y0 < rows; y0 += kBlock) {
    for (int x0 = 0; x0 < cols; x0 += kBlock) {
      const int y1 = std::min(rows, y0 + kBlock);
      const int x1 = std::min(cols, x0 + kBlock);
      for (int y = y0; y < y1; ++y) {
        for (int x = x0; x < x1; ++x) {
          dst[static_cast<std::size_t>(rows) * x + y] = src[static_cast<std::size_t>(cols) * y + x];
        }
      }
    }
  }
}

// 1D FFTs of rows [row_begin, row_end) of `data` (row-major, `cols` wide).
void RowFfts(std::vector<Complex>& data, int cols, int row_begin, int row_end, const Fft& fft_x,
             bool inverse) {
  for (int y = row_begin; y < row_end; ++y) {
    fft_x.Transform(&data[static_cast<std::size_t>(cols) * y], inverse);
  }
}

// Second half of a forward 2D FFT (rows x cols, both powers of two) whose row
// FFTs are done: the spectrum is returned transposed (cols x rows); products
// of spectra and InverseFft2d work in that layout.
void ForwardColumns(const std::vector<Complex>& data, int cols, int rows, const Fft& fft_y,
                    std::vector<Complex>& spectrum) {
  Transpose(data, cols, rows, spectrum);
  for (int x = 0; x < cols; ++x) {
    fft_y.Transform(&spectrum[static_cast<std::size_t>(rows) * x], /*inverse=*/false);
  }
}

// Unscaled inverse of the transposed spectrum into `data` (rows x cols); only rows in
// [row_begin, row_end) are completed. `spectrum` is clobbered.
void InverseFft2d(std::vector<Complex>& spectrum, int cols, int rows, int row_begin, int row_end,
                  const Fft& fft_x, const Fft& fft_y, std::vector<Complex>& data) {
  for (int x = 0; x < cols; ++x) {
    fft_y.Transform(&spectrum[static_cast<std::size_t>(rows) * x], /*inverse=*/true);
  }
  Transpose(spectrum, rows, cols, data);
  for (int y = row_begin; y < row_end; ++y) {
    fft_x.Transform(&data[static_cast<std::size_t>(cols) * y], /*inverse=*/true);
  }
}

constexpr double kAngleTolerance = 1e-9;

}  // namespace

namespace filter_detail {

std::string CheckGabor(const GaborParams& params) {
  auto positive = [](double v) { return v > 0.0 && std::isfinite(v); };
  if (!positive(params.sigma_mm)) {
    return "gabor: sigma_mm must be > 0, got " + FormatNumber(params.sigma_mm);
  }
  if (!positive(params.lambda_mm)) {
    return "gabor: lambda_mm must be > 0, got " + FormatNumber(params.lambda_mm);
  }
  if (!positive(params.gamma)) {
    return "gabor: gamma must be > 0, got " + FormatNumber(params.gamma);
  }
  if (!std::isfinite(params.theta_deg)) {
    return "gabor: theta_deg must be finite, got " + FormatNumber(params.theta_deg);
  }
  if (!positive(params.truncation_sigmas)) {
    return "gabor: truncation_sigmas must be > 0, got " + FormatNumber(params.truncation_sigmas);
  }
  if (params.theta_step_deg != 0.0) {
    const double count = 360.0 / params.theta_step_deg;
    if (!(params.theta_step_deg > 0.0) || !std::isfinite(count) ||
        std::abs(count - std::round(count)) > kAngleTolerance * count) {
      return "gabor: theta_step_deg must be 0 (no rotation invariance) or a positive divisor of "
             "360, got " +
             FormatNumber(params.theta_step_deg);
    }
  }
  return {};
}

}  // namespace filter_detail

Image GaborFilter(const Image& image, const GaborParams& params) {
  filter_detail::ThrowIfInvalid(filter_detail::CheckGabor(params));
  const double hx = image.spacing.x_mm;
  const double hy = image.spacing.y_mm;
  if (!(hx > 0.0) || !(hy > 0.0)) {
    throw std::invalid_argument("gabor: pixel spacing must be > 0 mm");
  }
  const int width = image.pixels.width;
  const int height = image.pixels.height;
  Image out{Grid<double>(width, height), image.spacing};
  if (width == 0 || height == 0) return out;

  // Kernel support (mm) and radius (pixels) per axis.
  const double extent_mm =
      params.truncation_sigmas * std::max(params.sigma_mm, params.sigma_mm / params.gamma);
  const int rx = static_cast<int>(std::floor(extent_mm / hx + 0.5));
  const int ry = static_cast<int>(std::floor(extent_mm / hy + 0.5));
  const int padded_w = width + 2 * rx;
  const int padded_h = height + 2 * ry;
  const int mx = NextPowerOfTwo(padded_w);
  const int my = NextPowerOfTwo(padded_h);
  const Fft fft_x(mx);
  const Fft fft_y(my);

  // Padded image P[j][i] = I(i - rx, j - ry) and its spectrum.
  std::vector<Complex> padded(static_cast<std::size_t>(mx) * static_cast<std::size_t>(my));
  for (int j = 0; j < padded_h; ++j) {
    const int sy = PadIndex(j - ry, height, params.padding);
    if (sy < 0) continue;
    for (int i = 0; i < padded_w; ++i) {
      const int sx = PadIndex(i - rx, width, params.padding);
      if (sx < 0) continue;
      padded[static_cast<std::size_t>(mx) * j + i] = image.pixels.at(sx, sy);
    }
  }
  std::vector<Complex> image_spectrum;
  RowFfts(padded, mx, 0, padded_h, fft_x, /*inverse=*/false);  // other rows are zero
  ForwardColumns(padded, mx, my, fft_y, image_spectrum);

  // Orientations: theta + k * step over the full circle; theta + 180 deg gives
  // the same modulus, so half of an even count is enough.
  std::vector<double> thetas{params.theta_deg};
  if (params.theta_step_deg > 0.0) {
    int count = static_cast<int>(std::lround(360.0 / params.theta_step_deg));
    if (count % 2 == 0) count /= 2;
    thetas.clear();
    for (int k = 0; k < count; ++k) thetas.push_back(params.theta_deg + k * params.theta_step_deg);
  }

  const double inv_two_sigma2 = 1.0 / (2.0 * params.sigma_mm * params.sigma_mm);
  const double gamma2 = params.gamma * params.gamma;
  const double wave = 2.0 * std::numbers::pi / params.lambda_mm;
  const double inv_size = 1.0 / (static_cast<double>(mx) * static_cast<double>(my));
  std::vector<Complex> work(padded.size());
  std::vector<Complex> product;
  for (std::size_t t = 0; t < thetas.size(); ++t) {
    const double theta = thetas[t] * std::numbers::pi / 180.0;
    const double c = std::cos(theta);
    const double s = std::sin(theta);
    std::fill(work.begin(), work.end(), Complex());
    for (int v = -ry; v <= ry; ++v) {
      const double y = v * hy;
      const std::size_t row = static_cast<std::size_t>(mx) * ((v + my) % my);
      for (int u = -rx; u <= rx; ++u) {
        const double x = u * hx;
        const double xt = x * c + y * s;
        const double yt = -x * s + y * c;
        const double envelope = std::exp(-(xt * xt + gamma2 * yt * yt) * inv_two_sigma2);
        work[row + static_cast<std::size_t>((u + mx) % mx)] =
            Complex(envelope * std::cos(wave * xt), envelope * std::sin(wave * xt));
      }
    }
    // The kernel occupies rows 0..ry and my-ry..my-1 (wrapped offsets).
    RowFfts(work, mx, 0, ry + 1, fft_x, /*inverse=*/false);
    RowFfts(work, mx, my - ry, my, fft_x, /*inverse=*/false);
    ForwardColumns(work, mx, my, fft_y, product);
    for (std::size_t i = 0; i < product.size(); ++i) {
      product[i] = Mul(product[i], image_spectrum[i]);
    }
    InverseFft2d(product, mx, my, ry, ry + height, fft_x, fft_y, work);
    for (int y = 0; y < height; ++y) {
      const std::size_t row = static_cast<std::size_t>(mx) * (y + ry);
      for (int x = 0; x < width; ++x) {
        const Complex z = work[row + x + rx];
        const double modulus = std::sqrt(z.real() * z.real() + z.imag() * z.imag()) * inv_size;
        double& acc = out.pixels.at(x, y);
        if (t == 0) {
          acc = modulus;
        } else if (params.pooling == Pooling::kMax) {
          acc = std::max(acc, modulus);
        } else {
          acc += modulus;
        }
      }
    }
  }
  if (params.pooling == Pooling::kAverage && thetas.size() > 1) {
    const double inv = 1.0 / static_cast<double>(thetas.size());
    for (double& v : out.pixels.data) v *= inv;
  }
  return out;
}

}  // namespace fedrad::site_agent::radiomics

// Private helpers shared by the filter implementations (filters.cpp,
// log_filter.cpp, laws.cpp, gabor.cpp, wavelet.cpp): the 1D pass engine of the
// separable filters and parameter checks.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "fedrad/site_agent/radiomics/filters.hpp"
#include "fedrad/site_agent/radiomics/image.hpp"

namespace fedrad::site_agent::radiomics::filter_detail {

// A 1D kernel in correlation form: out[x] = sum_j w[j] * in[x + first + j].
struct Taps {
  int first = 0;
  std::vector<double> w;
};

// Taps of the true convolution with `kernel` whose centre (offset 0) is
// kernel[centre]: out[x] = sum_i kernel[i] * in[x - (i - centre)].
Taps ConvolutionTaps(const std::vector<double>& kernel, int centre);
// The same filter mirrored about offset 0 (tap at offset d moves to -d).
Taps Mirrored(const Taps& taps);

// 1D pass along x (rows) / y (columns). `out` is resized to the input size.
void FilterRows(const Grid<double>& in, const Taps& taps, Padding padding, Grid<double>& out);
void FilterColumns(const Grid<double>& in, const Taps& taps, Padding padding, Grid<double>& out);
// Adds the column pass of `in` to `out` (resized and zeroed if its size differs).
void FilterColumnsAdd(const Grid<double>& in, const Taps& taps, Padding padding, Grid<double>& out);
// Rows with tx, then columns with ty. Streams the image: the row-filtered
// lines live in a small ring buffer (hi - lo + 1 lines), so the image is read
// once and the output written once (cache friendly, no full intermediate).
Grid<double> FilterSeparable(const Grid<double>& in, const Taps& tx, const Taps& ty,
                             Padding padding);
// A rectangle [x0, x0 + width) x [y0, y0 + height) of an image.
struct Window {
  int x0 = 0;
  int y0 = 0;
  int width = 0;
  int height = 0;
};

// Several outputs sharing the row pass: *outs[k] = columns(tys[k], rows(tx,
// in)); with `accumulate` the result is added to *outs[k] (which must then
// have the input's size, otherwise it is reset to zero first).
void FilterSeparableInto(const Grid<double>& in, const Taps& tx,
                         const std::vector<const Taps*>& tys, Padding padding,
                         const std::vector<Grid<double>*>& outs, bool accumulate);
// The same restricted to `window` of the input: *outs[k] (window-sized)
// receives the window of what FilterSeparableInto would produce, bit for bit
// (same padding about the whole input, same sums in the same order), at the
// cost of the window plus the column taps' reach only. Throws
// std::invalid_argument when the window does not lie inside the input.
void FilterSeparableWindowInto(const Grid<double>& in, const Taps& tx,
                               const std::vector<const Taps*>& tys, Padding padding,
                               const Window& window, const std::vector<Grid<double>*>& outs,
                               bool accumulate);
// The LoG's two separable terms on `window`, fused: out = columns(ty2,
// rows(tx2, in)) + columns(ty1, rows(tx1, in)), bit for bit what
// FilterSeparableWindowInto(tx1, {ty1}) followed by an accumulating
// FilterSeparableWindowInto(tx2, {ty2}) gives, with the row pass of both
// row kernels in one sweep (each pair sum loaded and added once). Returns
// false, touching nothing, where it does not apply (no AVX-512F, row
// kernels not symmetric or of different lengths, column kernels of
// different extents, empty window): the caller then makes the two calls.
bool FilterSeparablePairWindowInto(const Grid<double>& in, const Taps& tx1, const Taps& ty1,
                                   const Taps& tx2, const Taps& ty2, Padding padding,
                                   const Window& window, Grid<double>& out);

// Filter responses on a window of the image only (window-sized results),
// equal bit for bit to the same window of the whole-image response: the
// padding still refers to the whole image, and only the window plus the
// kernels' reach is computed. Used by the extraction pipeline, which needs
// the response on the ROI's bounding box only.
Image LaplacianOfGaussianWindow(const Image& image, const LogParams& params, const Window& window);
// The requested bands (others stay empty), indexed by WaveletBand;
// params.band is ignored.
std::array<Image, 4> WaveletBandsWindow(const Image& image, const WaveletParams& params,
                                        const std::vector<WaveletBand>& bands,
                                        const Window& window);
// Any filter: LoG and wavelets as above, the others filter the whole image
// and cut the window out.
Image ApplyFilterWindow(const Image& image, const FilterSpec& spec, const Window& window);

// Throws std::invalid_argument(message) when message is not empty.
void ThrowIfInvalid(const std::string& message);

// Per-filter parameter checks (empty = valid), used by CheckFilterParams and
// by each filter before it runs.
std::string CheckMean(const MeanParams& params);
std::string CheckLog(const LogParams& params);
std::string CheckLaws(const LawsParams& params);
std::string CheckGabor(const GaborParams& params);
std::string CheckWavelet(const WaveletParams& params);
std::string CheckGradient(const GradientParams& params);
std::string CheckLbp(const LbpParams& params);

// Formats a double compactly for messages and names ("1.5", "-2", "0.25").
std::string FormatNumber(double value);

}  // namespace fedrad::site_agent::radiomics::filter_detail

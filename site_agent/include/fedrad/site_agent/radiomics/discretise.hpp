// Intensity pre-processing before feature computation: optional z-score
// normalisation, optional re-segmentation of the intensity mask, and grey-level
// discretisation into a LevelImage (levels 1..Ng inside the ROI, 0 outside).
//
// Order of the steps (as in PyRadiomics' extractor): normalise the whole
// image -> re-segment the mask on the (normalised) intensities -> discretise
// the remaining ROI pixels. All functions are pure: no I/O, no globals, no
// exceptions for bad data; invalid settings are reported in words by
// CheckDiscretisation() (empty string = valid, liblinear style), and
// data-dependent problems by CheckDiscretisationInput().
//
// Discretisation modes (x = intensity of an ROI pixel, w = bin_width,
// N = bin_count, min/max over the ROI after re-segmentation):
//
//   kFixedBinWidth            IBSI "fixed bin size" (FBS): bins are counted
//                             from the lower anchor a:
//                                 level = floor((x - a) / w) + 1
//                             where a = resegment_min when it is set (IBSI
//                             recommends anchoring FBS at the lower bound of
//                             the re-segmentation range so that levels mean
//                             the same intensities in every image) and the ROI
//                             minimum otherwise.
//   kFixedBinWidthPyRadiomics PyRadiomics binImage()/getBinEdges(): bin edges
//                             at multiples of w counted from 0,
//                                 edges e_k = L + k*w, L = floor(min/w)*w,
//                                 level = #{k : e_k <= x}   (numpy.digitize)
//                             i.e. level = floor(x/w) - floor(min/w) + 1 in
//                             exact arithmetic. The edges are generated the way
//                             numpy.arange does (e_k = L + k*((L + w) - L)) and
//                             compared with `<=` so that values on an edge land
//                             in the same bin as in PyRadiomics. The minimum
//                             always gets level 1; bins are half-open [e_k,
//                             e_k+1), so a maximum that sits on an edge opens a
//                             new bin (PyRadiomics documents the same).
//   kFixedBinCount            IBSI "fixed bin number" (FBN):
//                                 level = floor(N (x - min) / (max - min)) + 1,
//                                 and level = N when x == max.
//                             The re-segmentation range is NOT used as the
//                             range (IBSI: FBN uses the actual ROI range).
//   kNone                     No binning: the intensities already are grey
//                             levels (e.g. the IBSI digital phantom). They must
//                             be integers >= 1; level = x. Values that are not
//                             (CheckDiscretisationInput() reports them) are
//                             rounded to the nearest integer and raised to 1 so
//                             that the output is still a valid LevelImage.
//
// Number of levels Ng (LevelImage::num_levels): the highest level present in
// the ROI (= N for kFixedBinCount). Levels between 1 and Ng may be absent
// (e.g. kFixedBinWidth anchored at resegment_min below the ROI minimum, or
// kNone with gaps such as the phantom's levels 1, 3, 4, 6 -> Ng = 6).
//
// Degenerate cases:
//   * constant ROI (max == min): every ROI pixel gets level 1 and Ng = 1 in
//     the three binning modes (kNone keeps the pixel's own level).
//   * empty ROI (empty mask, or every pixel removed by re-segmentation):
//     all levels 0 and Ng = 0. Feature functions return no features for it.
//   * non-finite intensities (NaN, +-inf) are removed from the intensity mask
//     (like re-segmentation) so that they cannot poison min/max.
//   * image and mask of different sizes: Discretise() returns an empty
//     LevelImage (0 x 0, Ng = 0); CheckDiscretisationInput() says why.
//   * levels are capped at kMaxDiscretisationLevels (a too-small bin width on
//     a wide range would otherwise make texture matrices of Ng^2 cells
//     explode); CheckDiscretisationInput() reports when the cap is hit.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fedrad/site_agent/radiomics/image.hpp"

namespace fedrad::site_agent::radiomics {

// Upper bound on Ng produced by any mode (see "Degenerate cases").
inline constexpr int kMaxDiscretisationLevels = 1 << 16;

enum class DiscretisationMode {
  kFixedBinWidth,             // IBSI FBS, bins counted from the ROI minimum / resegment_min
  kFixedBinWidthPyRadiomics,  // PyRadiomics binWidth, bin edges at multiples of w from 0
  kFixedBinCount,             // IBSI FBN
  kNone,                      // intensities are already integer levels >= 1
};

// Stable lower-case name of a mode, e.g. "fixed_bin_width" (for logs/configs).
const char* DiscretisationModeName(DiscretisationMode mode);

// Z-score normalisation as PyRadiomics' `normalize` setting
// (imageoperations.normalizeImage, i.e. sitk.Normalize + options):
//   z(x) = (x - mu) / sigma                  over ALL pixels of the image
//                                            (not just the ROI), sigma the
//                                            sample standard deviation (N-1,
//                                            as ITK's StatisticsImageFilter);
//   if outlier_sigma = n is set: z = clamp(z, -n, +n)   (PyRadiomics
//                                            `removeOutliers`: outliers are
//                                            clipped, not removed);
//   f(x) = scale * z                         (`normalizeScale`).
// A constant image (sigma == 0) normalises to all zeros. Non-finite pixels
// are ignored for mu/sigma and left as they are.
struct NormalisationSettings {
  bool enabled = false;
  double scale = 1.0;                   // > 0
  std::optional<double> outlier_sigma;  // > 0 when set
};

struct DiscretisationSettings {
  DiscretisationMode mode = DiscretisationMode::kFixedBinWidth;
  double bin_width = 25.0;  // used by the two fixed-bin-width modes; > 0
  int bin_count = 32;       // used by kFixedBinCount; 1..kMaxDiscretisationLevels
  // Re-segmentation range of the intensity mask (PyRadiomics `resegmentRange`
  // in "absolute" mode; IBSI range re-segmentation): ROI pixels with
  // x < resegment_min or x > resegment_max are removed (closed range kept).
  // Either bound may be absent (half-open range). Bounds are in normalised
  // units when normalisation is enabled (as in PyRadiomics).
  std::optional<double> resegment_min;
  std::optional<double> resegment_max;
  NormalisationSettings normalisation;
};

// Empty when `settings` is valid; otherwise one readable sentence naming the
// offending field and the accepted range, e.g.
//   "bin_width must be a finite number > 0 (got 0)".
// Only fields used by the selected mode are checked.
std::string CheckDiscretisation(const DiscretisationSettings& settings);

// Data-dependent checks, for callers that want to refuse rather than rely on
// the documented fallbacks: settings invalid, image/mask size mismatch, empty
// ROI after re-segmentation, non-finite ROI intensities, kNone with
// non-integer or < 1 values, or more than kMaxDiscretisationLevels levels.
// Empty string = OK.
std::string CheckDiscretisationInput(const Image& image, const Mask& mask,
                                     const DiscretisationSettings& settings);

// Step 1: z-score normalisation (see NormalisationSettings). Returns a copy
// of `image` unchanged when normalisation is disabled.
Image NormaliseImage(const Image& image, const NormalisationSettings& settings);

// Step 2: the intensity mask: `mask` (non-zero = inside) minus pixels outside
// [resegment_min, resegment_max] and pixels with non-finite intensities.
// Result values are 0/1. A size mismatch yields an empty (0 x 0) mask.
Mask ResegmentMask(const Image& image, const Mask& mask, const DiscretisationSettings& settings);

// Steps 1 and 2 together: the image every intensity feature should see
// (normalised if enabled) and its intensity mask.
struct IntensityRoi {
  Image image;
  Mask mask;
};
IntensityRoi PrepareIntensityRoi(const Image& image, const Mask& mask,
                                 const DiscretisationSettings& settings);

// Step 3 only: bins `roi` (already normalised and re-segmented, e.g. from
// PrepareIntensityRoi) with the selected mode.
LevelImage DiscretisePrepared(const IntensityRoi& roi, const DiscretisationSettings& settings);

// Steps 1-3: the LevelImage texture families consume.
LevelImage Discretise(const Image& image, const Mask& mask, const DiscretisationSettings& settings);

// Step 3 on a flat sample (e.g. ROI values pooled over several slices): the
// levels of `values` in the same order, and Ng. Normalisation and
// re-segmentation are NOT applied (they need the image); resegment_min is
// still the kFixedBinWidth anchor when set. Non-finite values get level 0.
struct DiscretisedValues {
  std::vector<int> levels;
  int num_levels = 0;
};
DiscretisedValues DiscretiseValues(std::span<const double> values,
                                   const DiscretisationSettings& settings);

// The intensities of the ROI pixels (mask != 0), row-major order. Empty on a
// size mismatch.
std::vector<double> RoiValues(const Image& image, const Mask& mask);

// The levels > 0 of a LevelImage, row-major order.
std::vector<int> RoiLevels(const LevelImage& levels);

}  // namespace fedrad::site_agent::radiomics

// Intensity features of an ROI: PyRadiomics' "firstorder" family (extended
// with the IBSI intensity-based statistics it lacks) and the IBSI intensity
// histogram family.
//
// Inputs are flat samples (std::span), not images, so that callers can pool
// the pixels of several slices (the IBSI digital phantom test pools its 74
// voxels) or pass the output of RoiValues()/RoiLevels() (discretise.hpp).
// Non-finite values are ignored. An empty sample yields an empty FeatureList
// (no NaNs are ever produced). Every function is O(n) (percentiles by
// std::nth_element on one scratch copy; no per-pixel allocation).
//
// Notation: X = the N finite ROI intensities, mu = mean, m_k = (1/N) sum
// (x - mu)^k the central moments (population, no bias correction, as IBSI and
// PyRadiomics), P_q the q-th percentile (PercentileMethod), M the median,
// p_i = n_i / N the fraction of pixels at discretised level i.
//
// ---------------------------------------------------------------------------
// FirstOrderFeatures(): name (PyRadiomics)   IBSI code  definition
//   Energy                          N8CA  sum (x + c)^2      (c = voxel_array_shift)
//   TotalEnergy                     -     A_pixel * Energy   (A_pixel = x_mm * y_mm, 2D)
//   Entropy                         TLU2  -sum p_i log2 p_i  (on the discretised levels)
//   Minimum                         1GSF  min X
//   10Percentile                    QG58  P_10
//   90Percentile                    8DWT  P_90
//   Maximum                         84IY  max X
//   Mean                            Q4LE  mu
//   Median                          Y12H  M (sample median: mean of the two
//                                         middle values when N is even)
//   InterquartileRange              SALO  P_75 - P_25
//   Range                           2OJQ  max X - min X
//   MeanAbsoluteDeviation           4FUA  (1/N) sum |x - mu|
//   RobustMeanAbsoluteDeviation     1128  same on {x : P_10 <= x <= P_90}, around
//                                         that subset's own mean (0 if the subset
//                                         is empty, possible with kLinear and N=2)
//   RootMeanSquared                 5ZWQ  sqrt(Energy / N)
//   StandardDeviation               -     sqrt(m_2)  (population, as PyRadiomics 3)
//   Skewness                        KE2A  m_3 / m_2^(3/2)
//   Kurtosis                        -     m_4 / m_2^2  (PyRadiomics: NOT excess)
//   ExcessKurtosis                  IPH6  m_4 / m_2^2 - 3  (IBSI)
//   Variance                        ECT3  m_2
//   Uniformity                      BJ5W  sum p_i^2  (on the discretised levels)
//   MedianAbsoluteDeviation         N72L  (1/N) sum |x - M|
//   CoefficientOfVariation          7TET  sqrt(m_2) / mu
//   QuartileCoefficientOfDispersion 9S40  (P_75 - P_25) / (P_75 + P_25)
// The first 20 names are exactly PyRadiomics' firstorder names (plus
// ExcessKurtosis); the last three are IBSI statistics PyRadiomics lacks, so
// all 18 IBSI "intensity-based statistical features" are covered.
//
// Kurtosis: PyRadiomics reports m_4/m_2^2 (normal distribution -> 3) under the
// name Kurtosis, IBSI reports the excess kurtosis (normal -> 0). Both are
// output, under different names, so PyRadiomics users are not surprised and
// the IBSI value (IPH6) is available: Kurtosis = ExcessKurtosis + 3.
//
// Entropy / Uniformity use the histogram of the discretised levels passed in
// `levels`, as PyRadiomics does (its firstorder Entropy is IBSI's intensity
// histogram entropy TLU2). They equal PyRadiomics' values when `levels` comes
// from DiscretisationMode::kFixedBinWidthPyRadiomics with the same bin width
// (PyRadiomics adds eps = 2.2e-16 inside the log, which changes the value by
// less than 1e-14). When `levels` is empty these two features are omitted.
//
// Energy and RootMeanSquared carry their IBSI codes only when
// voxel_array_shift == 0 (IBSI defines them without the shift); TotalEnergy,
// StandardDeviation and Kurtosis have no IBSI definition (empty code).
//
// ---------------------------------------------------------------------------
// IntensityHistogramFeatures(): IBSI intensity histogram family, computed on
// the discretised levels X_d (as doubles) with the non-sparse histogram
// n_1..n_Ng (Ng = max(num_levels, highest level present)):
//   Mean X6K6, Variance CH89, Skewness 88K1, ExcessKurtosis C3I7, Median WIFQ,
//   Minimum 1PR8, 10Percentile GPMT, 90Percentile OZ0C, Maximum 3NCY,
//   Mode AMMC, InterquartileRange WR0O, Range 5Z3W, MeanAbsoluteDeviation D2ZX,
//   RobustMeanAbsoluteDeviation WRZB, MedianAbsoluteDeviation 4RNL,
//   CoefficientOfVariation CWYJ, QuartileCoefficientOfDispersion SLWD,
//   Entropy TLU2, Uniformity BJ5W,
//   MaximumHistogramGradient 12CE, MaximumHistogramGradientIntensity 8E6O,
//   MinimumHistogramGradient VQB3, MinimumHistogramGradientIntensity RHQZ
// with the same formulas as above on X_d, and
//   Mode: the level with the highest count; ties -> the one closest to the
//         mean, and of two equidistant ones the lower (IBSI).
//   Histogram gradient H'_1 = n_2 - n_1, H'_i = (n_{i+1} - n_{i-1}) / 2,
//         H'_Ng = n_Ng - n_{Ng-1} (IBSI); its max/min and the level where it
//         is reached (the lowest such level on ties). Ng = 1: H' = (0).
// Levels <= 0 (outside the ROI) and > kMaxDiscretisationLevels are ignored.
//
// ---------------------------------------------------------------------------
// Conventions for degenerate samples (IBSI and PyRadiomics agree where they
// define one): constant sample (max == min) -> Variance, StandardDeviation,
// Skewness, Kurtosis and ExcessKurtosis are 0. A ratio whose denominator is 0
// (CoefficientOfVariation with mean 0, QuartileCoefficientOfDispersion with
// P_75 + P_25 = 0) is reported as 0 so that outputs stay finite.
#pragma once

#include <span>

#include "fedrad/site_agent/radiomics/image.hpp"

namespace fedrad::site_agent::radiomics {

// Family names, for prefixing feature names ("firstorder_Mean").
inline constexpr const char* kFirstOrderFamily = "firstorder";
inline constexpr const char* kIntensityHistogramFamily = "histogram";

// How percentiles P_q (q in [0, 100]) of a sorted sample x_0 <= ... <= x_{N-1}
// are computed. The IBSI manual does not fix a method (it notes that some
// implementations get 4.2 instead of 4 for the phantom's P_90); both methods
// below give the IBSI reference values on the digital phantom.
enum class PercentileMethod {
  // numpy.percentile's default ("linear", Hyndman-Fan type 7):
  //   h = (N - 1) q / 100, P_q = x_floor(h) + (h - floor(h)) (x_floor(h)+1 - x_floor(h)).
  // This is what PyRadiomics uses and what most IBSI-compliant tools use, so
  // it is the default.
  kLinear,
  // Nearest rank (type 1, inverse of the empirical CDF): P_q = x_(k-1) with
  // k = max(1, ceil(q N / 100)); always one of the sample values.
  kNearestRank,
};

// P_q of the finite values of `values` with `method`; 0 for an empty sample.
// Copies the sample once (O(N)).
double Percentile(std::span<const double> values, double q, PercentileMethod method);

struct FirstOrderOptions {
  // PyRadiomics `voxelArrayShift` c, added to x in Energy, TotalEnergy and
  // RootMeanSquared only. PyRadiomics 3 and IBSI default to 0.
  double voxel_array_shift = 0.0;
  PercentileMethod percentile_method = PercentileMethod::kLinear;
};

// See the table above. `values`: ROI intensities (after normalisation and
// re-segmentation, e.g. RoiValues(PrepareIntensityRoi(...))). `levels`: the
// discretised levels of the same ROI, any order (e.g. RoiLevels(Discretise(
// ...))), used only by Entropy and Uniformity. `spacing`: pixel size for
// TotalEnergy. Returns an empty list when `values` has no finite value.
FeatureList FirstOrderFeatures(std::span<const double> values, std::span<const int> levels,
                               const Spacing& spacing, const FirstOrderOptions& options = {});

// The 23 IBSI intensity histogram features of discretised `levels` (1..Ng;
// any order) with Ng = `num_levels` (see above). Empty list when no level is
// in 1..kMaxDiscretisationLevels.
FeatureList IntensityHistogramFeatures(std::span<const int> levels, int num_levels,
                                       PercentileMethod method = PercentileMethod::kLinear);

}  // namespace fedrad::site_agent::radiomics

// 2D texture feature families of the radiomics extractor: GLCM, GLRLM,
// GLSZM, GLDZM, NGTDM and NGLDM (with PyRadiomics' GLDM view of the NGLDM),
// following the IBSI reference manual (arXiv:1612.07003, "Image features")
// and using PyRadiomics' feature names where PyRadiomics has the feature.
//
// Everything here is pure (no I/O, no globals) and works on one 2D
// LevelImage (a slice / an ultrasound frame): grey levels 1..Ng inside the
// ROI, 0 outside. Only pixels with level > 0 take part; pixels outside the
// image count as outside the ROI. Every builder scans the image once to
// find (and validate) the ROI bounding box, then works in O(box) time with
// O(box) scratch (a zero-bordered copy of the box, so that neighbour
// look-ups need no bounds checks); see CropToRoi() for small ROIs in large
// frames.
//
// Conventions used by every family
// --------------------------------
//   * Grey level i runs over 1..Ng (Ng = LevelImage::num_levels, absent
//     levels are allowed and simply have empty rows). Matrices store counts
//     (not probabilities) as flat row-major std::vector<double>.
//   * log is log2; entropies sum over the non-zero probabilities only (no
//     epsilon; PyRadiomics uses log2(p + eps), a difference of ~1e-16 per term).
//   * 2D directions (dx, dy) with x = column, y = row:
//       (1,0) 0 deg, (1,1) 45 deg, (0,1) 90 deg, (-1,1) 135 deg
//     (kTextureDirections2D). With symmetric matrices the opposite
//     directions are the same, so these 4 cover the 8-neighbourhood.
//   * Preconditions (broken invariants, reported by throwing
//     std::invalid_argument): levels in 0..num_levels, data size ==
//     width*height, 0 <= num_levels <= kMaxTextureLevels, distance >= 1,
//     alpha >= 0.
//
// Matrices
// --------
// GLCM P(i,j) for offset d*(dx,dy): number of pixel pairs (p, p + d*(dx,dy))
//   both in the ROI with levels i at p and j at the neighbour. Symmetric by
//   default (IBSI, PyRadiomics): P + P^T, i.e. each pair is counted in both
//   orders. p_ij = P(i,j) / sum(P).
// GLRLM r(i,j): number of runs (maximal sets of consecutive ROI pixels along
//   the direction with the same level) of level i and length j. N_v = number
//   of ROI pixels.
// GLSZM s(i,j): number of zones (connected sets of ROI pixels with the same
//   level; 8-connected by default, 4 on request) of level i and size j.
// GLDZM d(i,j): number of zones (as GLSZM) of level i whose distance to the
//   ROI border is j. The distance of a pixel is the 4-connected (Manhattan,
//   "city block") number of steps needed to leave the ROI; pixels outside the
//   ROI and outside the image are border (distance 0), so ROI pixels touching
//   them have distance 1. A zone's distance is the minimum over its pixels.
//   By default the ROI for distances is the level image's ROI; IBSI
//   prescribes the morphological mask, which can be passed separately.
// NGTDM (n_i, s_i): for each ROI pixel k with level i whose Chebyshev
//   neighbourhood of radius delta (excluding k itself) contains W_k >= 1 ROI
//   pixels, A_k = mean level of those W_k neighbours; n_i counts such pixels
//   and s_i = sum |i - A_k|. Pixels without any ROI neighbour are left out
//   (IBSI "valid neighbourhood"; PyRadiomics counts them in n_i with s = 0,
//   which differs only for isolated pixels). N_vc = sum n_i, p_i = n_i/N_vc.
// NGLDM s(i,j): for every ROI pixel of level i, its dependence
//   j = 1 + #{ROI neighbours within Chebyshev distance delta with
//   |level difference| <= alpha}; j is 1..(2 delta+1)^2. PyRadiomics' GLDM
//   is the same matrix: its C code counts dependent neighbours dep = 0..8
//   and stores them at column dep, read as dependence dep+1 ("the centre
//   voxel is counted too"), so GLDM features are computed from this matrix.
//
// The four "level x size" matrices (GLRLM, GLSZM, GLDZM, NGLDM) share one
// type, LevelSizeMatrix: rows are levels 1..Ng, columns carry explicit
// column values `sizes` (run length / zone size / distance / dependence),
// ascending. GLRLM, GLDZM and NGLDM use dense columns 1..max; GLSZM keeps
// only the zone sizes that occur (a zone can be as large as the ROI).
//
// Features of the level x size families (x = r, s, d as above, N_s = sum of
// the matrix, j = column value, i = level, x_i. / x_.j marginals,
// p_ij = x_ij / N_s, N_v = num_voxels):
//   small j emphasis  sum x/j^2 / N_s          large j emphasis  sum x j^2 / N_s
//   low grey emphasis sum x/i^2 / N_s          high grey emphasis sum x i^2 / N_s
//   small-low  sum x/(i^2 j^2)/N_s   small-high sum x i^2/j^2/N_s
//   large-low  sum x j^2/i^2/N_s     large-high sum x i^2 j^2/N_s
//   grey level non-uniformity sum_i x_i.^2/N_s   (normalised: /N_s^2)
//   size non-uniformity       sum_j x_.j^2/N_s   (normalised: /N_s^2)
//   percentage N_s/N_v, grey level variance sum (i-mu_i)^2 p_ij,
//   size variance sum (j-mu_j)^2 p_ij, entropy -sum p log2 p,
//   (NGLDM only) energy sum p_ij^2.
//
// GLCM features (p_ij normalised matrix, p_x/p_y marginals, mu_x/mu_y and
// sigma_x/sigma_y their means/standard deviations, p_{x+y}(k) k=2..2Ng,
// p_{x-y}(k) k=0..Ng-1, HX/HY marginal entropies, HXY joint entropy; note
// HXY1 = HXY2 = HX + HY identically):
//   Autocorrelation sum ij p; JointAverage mu_x; SumSquares (joint variance)
//   sum (i-mu_x)^2 p; ClusterTendency/Shade/Prominence sum (i+j-mu_x-mu_y)^
//   {2,3,4} p; Contrast sum (i-j)^2 p; Correlation sum (i-mu_x)(j-mu_y)p /
//   (sigma_x sigma_y); DifferenceAverage sum k p_{x-y}; DifferenceVariance
//   sum (k-DA)^2 p_{x-y}; DifferenceEntropy; SumAverage sum k p_{x+y};
//   SumVariance sum (k-SA)^2 p_{x+y} (== ClusterTendency); SumEntropy;
//   JointEnergy sum p^2; JointEntropy HXY; MaximumProbability max p;
//   Id sum p/(1+|i-j|); Idn sum p/(1+|i-j|/Ng); Idm sum p/(1+(i-j)^2);
//   Idmn sum p/(1+(i-j)^2/Ng^2); InverseVariance sum_{k>=1} p_{x-y}(k)/k^2;
//   Dissimilarity sum |i-j| p (== DifferenceAverage);
//   Imc1 (HXY - HXY1)/max(HX,HY); Imc2 sqrt(1 - exp(-2 (HXY2 - HXY)));
//   MCC sqrt(second largest eigenvalue of Q), Q_ij = sum_k p_ik p_jk /
//   (p_x(i) p_y(k)) (PyRadiomics; computed over the levels present). MCC is
//   the one O(n^3) feature (n = levels present; ~0.05 ms at n = 32, ~1 ms at
//   128, ~7 ms at 256 per matrix), as in PyRadiomics.
//   Ng in Idn/Idmn is LevelImage::num_levels (the IBSI phantom uses Ng = 6
//   although levels 2 and 5 are absent).
//
// NGTDM features (N_gp = number of levels with p_i > 0, sums over such i):
//   Coarseness 1 / sum p_i s_i; Contrast [sum_{i1,i2} p_i1 p_i2 (i1-i2)^2 /
//   (N_gp (N_gp-1))] [sum s_i / N_vc]; Busyness sum p_i s_i / sum_{i1,i2}
//   |i1 p_i1 - i2 p_i2|; Complexity sum_{i1,i2} |i1-i2| (p_i1 s_i1 + p_i2
//   s_i2)/(p_i1 + p_i2) / N_vc; Strength sum_{i1,i2} (p_i1+p_i2)(i1-i2)^2 /
//   sum s_i.
//
// Aggregation (IBSI nomenclature)
// -------------------------------
// One 2D image (an ultrasound frame), *Features2D():
//   GLCM/GLRLM DirectionAggregation::kAverage ("2D:avg", BTW3): the feature
//     is computed on each direction (and distance) matrix and the values are
//     averaged (PyRadiomics default, weightingNorm = None).
//   GLCM/GLRLM DirectionAggregation::kMerge ("2D:mrg", SUJT): the direction
//     matrices are summed and the feature is computed once (PyRadiomics
//     weightingNorm = 'no_weighting'). For GLRLM the merged matrix's N_v is
//     the sum over the merged matrices (N_v x number of directions), as the
//     IBSI manual requires, so RunPercentage stays in (0, 1].
//   GLSZM/GLDZM/NGTDM/NGLDM: one matrix per image.
// Several slices of one volume, *FeaturesPerSlice() (used by the IBSI
// phantom test; a single-element span gives the *Features2D() result):
//   2D:avg   mean over all (slice, direction) matrices;
//   2D:mrg   per slice the direction matrices are summed, mean over slices;
//   "2D" (8QNN) for the zone/neighbourhood families: mean over slices.
// Matrices that are empty (no pair / no run / no zone / no valid NGTDM
// neighbourhood) do not take part in an average (PyRadiomics drops empty
// GLCM angles the same way); slices without ROI pixels are skipped.
//
// Degenerate cases (never NaN or inf)
// -----------------------------------
//   * Empty ROI (every level 0, in every slice): the *Features2D() and
//     *FeaturesPerSlice() helpers return an empty FeatureList; features of an
//     explicitly passed empty matrix are all 0 (NGTDM: Coarseness 1e6, the
//     rest 0, as below).
//   * Empty matrix with a non-empty ROI (e.g. a single pixel, or a ROI one
//     pixel wide has no pair in some GLCM direction): that matrix is skipped
//     in averages; if every matrix is empty (a single-pixel ROI for GLCM),
//     every GLCM feature is 0.
//   * GLCM with one grey level (constant ROI): Correlation = 1 (PyRadiomics),
//     Imc1 = 0 (max(HX,HY) = 0), Imc2 = 0, MCC = 1 (only one eigenvalue),
//     MaximumProbability = JointEnergy = Id = Idn = Idm = Idmn = 1,
//     JointAverage = i, SumAverage = 2i, Autocorrelation = i^2, the rest 0.
//     Imc2 is clamped at 0 if rounding makes HXY2 - HXY negative.
//   * NGTDM: sum p_i s_i = 0 (constant ROI, or no pixel with a ROI
//     neighbour) -> Coarseness = 1e6 (IBSI/PyRadiomics cap); N_gp <= 1 ->
//     Contrast = Busyness = 0; busyness denominator 0 -> Busyness = 0;
//     sum s_i = 0 -> Strength = 0; N_vc = 0 -> Contrast = Complexity = 0.
//   * Level x size families: N_s >= 1 whenever the ROI is not empty, so
//     every feature is finite; a constant ROI just gives zero variances.
//
// Feature name <-> IBSI code
// --------------------------
// The k*FeatureDefs tables below are the map (name = Feature::name,
// ibsi_code = Feature::ibsi_code, empty for MCC which IBSI does not define)
// and fix the order of every FeatureList / *Values array. IBSI-only features
// are SumVariance (OEEB) and Dissimilarity (8S9J) in the GLCM, every GLDZM
// feature, and DependenceCountEnergy (CAS9) in the NGLDM.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "fedrad/site_agent/radiomics/image.hpp"

namespace fedrad::site_agent::radiomics {

// Upper bound on LevelImage::num_levels accepted by the texture builders
// (a GLCM has Ng^2 cells: 2048 levels = 32 MiB).
inline constexpr int kMaxTextureLevels = 2048;

// One entry of a feature table: PyRadiomics-style name and IBSI code.
struct TextureFeatureDef {
  std::string_view name;
  std::string_view ibsi_code;
};

struct Offset2D {
  int dx = 0;
  int dy = 0;
};

// The 4 IBSI/PyRadiomics 2D directions: 0, 45, 90 and 135 degrees.
inline constexpr std::array<Offset2D, 4> kTextureDirections2D = {{{1, 0}, {1, 1}, {0, 1}, {-1, 1}}};

enum class DirectionAggregation {
  kAverage,  // IBSI 2D:avg (BTW3): feature per direction matrix, then mean
  kMerge,    // IBSI 2D:mrg (SUJT): direction matrices summed, feature once
};

enum class Connectivity2D {
  kFour = 4,
  kEight = 8,
};

// The ROI's bounding box as its own LevelImage (same num_levels; 0 x 0 for
// an empty ROI). Every feature here is unchanged by this crop (GLDZM with an
// explicit distance_mask needs the mask cropped alike). Each builder scans
// the whole image once to find the ROI; for a small ROI in a large frame
// that scan costs more than the matrix, so crop once before computing
// several families.
LevelImage CropToRoi(const LevelImage& image);

// =========================================================================
// GLCM: grey level co-occurrence matrix (IBSI LFYI)
// =========================================================================

struct Glcm {
  int num_levels = 0;
  std::vector<double> counts;  // Ng x Ng, counts[(i-1)*Ng + (j-1)] = P(i,j)

  double at(int i, int j) const {
    return counts[static_cast<std::size_t>(i - 1) * static_cast<std::size_t>(num_levels) +
                  static_cast<std::size_t>(j - 1)];
  }
  double Total() const;
};

struct GlcmOptions {
  // Distances d >= 1; one matrix per (distance, offset), all averaged
  // (kAverage) or all summed (kMerge).
  std::vector<int> distances{1};
  bool symmetric = true;
  // false (IBSI): the offsets of distance d are d*(dx,dy) for the 4
  //   kTextureDirections2D.
  // true (PyRadiomics `distances`): every offset with Chebyshev norm d, one
  //   of each opposite pair: 4 for d = 1 (the same as above), 4d in general.
  bool all_offsets_at_distance = false;
};

// The GLCM of one offset distance*(dx, dy).
Glcm BuildGlcm(const LevelImage& image, Offset2D direction, int distance = 1,
               bool symmetric = true);
// Adds the co-occurrences of offset distance*(dx, dy) to `glcm` (which is
// reset to a zero Ng x Ng matrix first if its size does not match). Lets a
// caller reuse one buffer for many matrices.
void AccumulateGlcm(const LevelImage& image, Offset2D direction, int distance, bool symmetric,
                    Glcm& glcm);
// Element-wise sum (2D:mrg). All inputs must have the same num_levels.
Glcm MergeGlcms(std::span<const Glcm> matrices);

inline constexpr std::array<TextureFeatureDef, 26> kGlcmFeatureDefs = {{
    {"Autocorrelation", "QWB0"},
    {"JointAverage", "60VM"},
    {"ClusterProminence", "AE86"},
    {"ClusterShade", "7NFM"},
    {"ClusterTendency", "DG8W"},
    {"Contrast", "ACUI"},
    {"Correlation", "NI2N"},
    {"DifferenceAverage", "TF7R"},
    {"DifferenceEntropy", "NTRS"},
    {"DifferenceVariance", "D3YU"},
    {"JointEnergy", "8ZQL"},  // IBSI "angular second moment"
    {"JointEntropy", "TU9B"},
    {"Imc1", "R8DG"},  // information correlation 1
    {"Imc2", "JN9H"},  // information correlation 2
    {"Idm", "WF0Z"},   // inverse difference moment
    {"Idmn", "1QCO"},  // normalised inverse difference moment
    {"Id", "IB1Z"},    // inverse difference
    {"Idn", "NDRX"},   // normalised inverse difference
    {"InverseVariance", "E8JP"},
    {"MaximumProbability", "GYBY"},  // IBSI "joint maximum"
    {"SumAverage", "ZGXS"},
    {"SumEntropy", "P6QZ"},
    {"SumSquares", "UR99"},     // IBSI "joint variance"
    {"MCC", ""},                // maximal correlation coefficient (PyRadiomics only)
    {"SumVariance", "OEEB"},    // IBSI only (== ClusterTendency)
    {"Dissimilarity", "8S9J"},  // IBSI only (== DifferenceAverage)
}};
using GlcmValues = std::array<double, kGlcmFeatureDefs.size()>;

GlcmValues ComputeGlcmValues(const Glcm& glcm);
FeatureList GlcmFeatures(const Glcm& glcm);
FeatureList GlcmFeatures2D(const LevelImage& image, DirectionAggregation aggregation,
                           const GlcmOptions& options = {});
FeatureList GlcmFeaturesPerSlice(std::span<const LevelImage> slices,
                                 DirectionAggregation aggregation, const GlcmOptions& options = {});

// =========================================================================
// Level x size matrices: GLRLM, GLSZM, GLDZM, NGLDM
// =========================================================================

struct LevelSizeMatrix {
  int num_levels = 0;
  std::vector<int> sizes;      // column values j, strictly ascending, >= 1
  std::vector<double> counts;  // Ng x sizes.size(), counts[(i-1)*sizes.size() + c]
  double num_voxels = 0.0;     // N_v (summed when matrices are merged)

  std::size_t num_columns() const { return sizes.size(); }
  double at(int level, std::size_t column) const {
    return counts[static_cast<std::size_t>(level - 1) * sizes.size() + column];
  }
  double Total() const;
};
using Glrlm = LevelSizeMatrix;
using Glszm = LevelSizeMatrix;
using Gldzm = LevelSizeMatrix;
using Ngldm = LevelSizeMatrix;

// Element-wise sum over the union of the column values; num_voxels summed.
LevelSizeMatrix MergeLevelSizeMatrices(std::span<const LevelSizeMatrix> matrices);

// ---- GLRLM: grey level run length matrix (IBSI TP0I) ----

Glrlm BuildGlrlm(const LevelImage& image, Offset2D direction);

inline constexpr std::array<TextureFeatureDef, 16> kGlrlmFeatureDefs = {{
    {"ShortRunEmphasis", "22OV"},
    {"LongRunEmphasis", "W4KF"},
    {"LowGrayLevelRunEmphasis", "V3SW"},
    {"HighGrayLevelRunEmphasis", "G3QZ"},
    {"ShortRunLowGrayLevelEmphasis", "HTZT"},
    {"ShortRunHighGrayLevelEmphasis", "GD3A"},
    {"LongRunLowGrayLevelEmphasis", "IVPO"},
    {"LongRunHighGrayLevelEmphasis", "3KUM"},
    {"GrayLevelNonUniformity", "R5YN"},
    {"GrayLevelNonUniformityNormalized", "OVBL"},
    {"RunLengthNonUniformity", "W92Y"},
    {"RunLengthNonUniformityNormalized", "IC23"},
    {"RunPercentage", "9ZK5"},
    {"GrayLevelVariance", "8CE5"},
    {"RunVariance", "SXLW"},
    {"RunEntropy", "HJ9O"},
}};
using GlrlmValues = std::array<double, kGlrlmFeatureDefs.size()>;

GlrlmValues ComputeGlrlmValues(const Glrlm& glrlm);
FeatureList GlrlmFeatures(const Glrlm& glrlm);
FeatureList GlrlmFeatures2D(const LevelImage& image, DirectionAggregation aggregation);
FeatureList GlrlmFeaturesPerSlice(std::span<const LevelImage> slices,
                                  DirectionAggregation aggregation);

// ---- GLSZM / GLDZM: grey level size / distance zone matrices ----

Glszm BuildGlszm(const LevelImage& image, Connectivity2D connectivity = Connectivity2D::kEight);
// `distance_mask` (same size as the image, non-zero = inside): the
// morphological ROI used for the border distance; nullptr = the level
// image's ROI. ROI pixels outside `distance_mask` get distance 1.
Gldzm BuildGldzm(const LevelImage& image, Connectivity2D connectivity = Connectivity2D::kEight,
                 const Mask* distance_mask = nullptr);
// Both zone matrices from one zone labelling (either pointer may be null).
void BuildZoneMatrices(const LevelImage& image, Connectivity2D connectivity, Glszm* glszm,
                       Gldzm* gldzm, const Mask* distance_mask = nullptr);
// The GLDZM distance map of a ROI (non-zero = inside): for inside pixels the
// 4-connected number of steps to the nearest outside pixel or image edge
// (>= 1); 0 outside.
Grid<int> BorderDistanceMap(const Mask& roi);

inline constexpr std::array<TextureFeatureDef, 16> kGlszmFeatureDefs = {{
    {"SmallAreaEmphasis", "5QRC"},
    {"LargeAreaEmphasis", "48P8"},
    {"LowGrayLevelZoneEmphasis", "XMSY"},
    {"HighGrayLevelZoneEmphasis", "5GN9"},
    {"SmallAreaLowGrayLevelEmphasis", "5RAI"},
    {"SmallAreaHighGrayLevelEmphasis", "HW1V"},
    {"LargeAreaLowGrayLevelEmphasis", "YH51"},
    {"LargeAreaHighGrayLevelEmphasis", "J17V"},
    {"GrayLevelNonUniformity", "JNSA"},
    {"GrayLevelNonUniformityNormalized", "Y1RO"},
    {"SizeZoneNonUniformity", "4JP3"},
    {"SizeZoneNonUniformityNormalized", "VB3A"},
    {"ZonePercentage", "P30P"},
    {"GrayLevelVariance", "BYLV"},
    {"ZoneVariance", "3NSA"},
    {"ZoneEntropy", "GU8N"},
}};
using GlszmValues = std::array<double, kGlszmFeatureDefs.size()>;

// GLDZM has no PyRadiomics counterpart; names follow the GLSZM pattern.
inline constexpr std::array<TextureFeatureDef, 16> kGldzmFeatureDefs = {{
    {"SmallDistanceEmphasis", "0GBI"},
    {"LargeDistanceEmphasis", "MB4I"},
    {"LowGrayLevelZoneEmphasis", "S1RA"},
    {"HighGrayLevelZoneEmphasis", "K26C"},
    {"SmallDistanceLowGrayLevelEmphasis", "RUVG"},
    {"SmallDistanceHighGrayLevelEmphasis", "DKNJ"},
    {"LargeDistanceLowGrayLevelEmphasis", "A7WM"},
    {"LargeDistanceHighGrayLevelEmphasis", "KLTH"},
    {"GrayLevelNonUniformity", "VFT7"},
    {"GrayLevelNonUniformityNormalized", "7HP3"},
    {"ZoneDistanceNonUniformity", "V294"},
    {"ZoneDistanceNonUniformityNormalized", "IATH"},
    {"ZonePercentage", "VIWW"},
    {"GrayLevelVariance", "QK93"},
    {"ZoneDistanceVariance", "7WT1"},
    {"ZoneDistanceEntropy", "GBDU"},
}};
using GldzmValues = std::array<double, kGldzmFeatureDefs.size()>;

GlszmValues ComputeGlszmValues(const Glszm& glszm);
FeatureList GlszmFeatures(const Glszm& glszm);
FeatureList GlszmFeatures2D(const LevelImage& image,
                            Connectivity2D connectivity = Connectivity2D::kEight);
FeatureList GlszmFeaturesPerSlice(std::span<const LevelImage> slices,
                                  Connectivity2D connectivity = Connectivity2D::kEight);

GldzmValues ComputeGldzmValues(const Gldzm& gldzm);
FeatureList GldzmFeatures(const Gldzm& gldzm);
FeatureList GldzmFeatures2D(const LevelImage& image,
                            Connectivity2D connectivity = Connectivity2D::kEight,
                            const Mask* distance_mask = nullptr);
FeatureList GldzmFeaturesPerSlice(std::span<const LevelImage> slices,
                                  Connectivity2D connectivity = Connectivity2D::kEight);

// ---- NGLDM (IBSI REK0) and PyRadiomics' GLDM view of it ----

struct NgldmOptions {
  int distance = 1;  // Chebyshev radius delta of the neighbourhood
  int alpha = 0;     // coarseness: neighbours with |level difference| <= alpha are dependent
};

Ngldm BuildNgldm(const LevelImage& image, const NgldmOptions& options = {});

inline constexpr std::array<TextureFeatureDef, 17> kNgldmFeatureDefs = {{
    {"LowDependenceEmphasis", "SODN"},
    {"HighDependenceEmphasis", "IMOQ"},
    {"LowGrayLevelCountEmphasis", "TL9H"},
    {"HighGrayLevelCountEmphasis", "OAE7"},
    {"LowDependenceLowGrayLevelEmphasis", "EQ3F"},
    {"LowDependenceHighGrayLevelEmphasis", "JA6D"},
    {"HighDependenceLowGrayLevelEmphasis", "NBZI"},
    {"HighDependenceHighGrayLevelEmphasis", "9QMG"},
    {"GrayLevelNonUniformity", "FP8K"},
    {"GrayLevelNonUniformityNormalized", "5SPA"},
    {"DependenceCountNonUniformity", "Z87G"},
    {"DependenceCountNonUniformityNormalized", "OKJI"},
    {"DependenceCountPercentage", "6XV8"},  // N_s / N_v, always 1 here
    {"GrayLevelVariance", "1PFV"},
    {"DependenceCountVariance", "DNX2"},
    {"DependenceCountEntropy", "FCBV"},
    {"DependenceCountEnergy", "CAS9"},  // IBSI only
}};
using NgldmValues = std::array<double, kNgldmFeatureDefs.size()>;

// PyRadiomics GLDM (its 14 non-deprecated features), same matrix and values
// as the NGLDM entries with the same IBSI code.
inline constexpr std::array<TextureFeatureDef, 14> kGldmFeatureDefs = {{
    {"SmallDependenceEmphasis", "SODN"},
    {"LargeDependenceEmphasis", "IMOQ"},
    {"GrayLevelNonUniformity", "FP8K"},
    {"DependenceNonUniformity", "Z87G"},
    {"DependenceNonUniformityNormalized", "OKJI"},
    {"GrayLevelVariance", "1PFV"},
    {"DependenceVariance", "DNX2"},
    {"DependenceEntropy", "FCBV"},
    {"LowGrayLevelEmphasis", "TL9H"},
    {"HighGrayLevelEmphasis", "OAE7"},
    {"SmallDependenceLowGrayLevelEmphasis", "EQ3F"},
    {"SmallDependenceHighGrayLevelEmphasis", "JA6D"},
    {"LargeDependenceLowGrayLevelEmphasis", "NBZI"},
    {"LargeDependenceHighGrayLevelEmphasis", "9QMG"},
}};
using GldmValues = std::array<double, kGldmFeatureDefs.size()>;

NgldmValues ComputeNgldmValues(const Ngldm& ngldm);
FeatureList NgldmFeatures(const Ngldm& ngldm);
FeatureList NgldmFeatures2D(const LevelImage& image, const NgldmOptions& options = {});
FeatureList NgldmFeaturesPerSlice(std::span<const LevelImage> slices,
                                  const NgldmOptions& options = {});

GldmValues ComputeGldmValues(const Ngldm& ngldm);
FeatureList GldmFeatures(const Ngldm& ngldm);
FeatureList GldmFeatures2D(const LevelImage& image, const NgldmOptions& options = {});

// =========================================================================
// NGTDM: neighbourhood grey tone difference matrix (IBSI IPET)
// =========================================================================

struct Ngtdm {
  int num_levels = 0;
  std::vector<double> n;  // n_i at [i-1]: pixels of level i with >= 1 ROI neighbour
  std::vector<double> s;  // s_i at [i-1]: sum |i - A_k| over those pixels

  double TotalCount() const;  // N_vc
};

Ngtdm BuildNgtdm(const LevelImage& image, int distance = 1);
// Sums n_i and s_i (IBSI 2.5D merging).
Ngtdm MergeNgtdms(std::span<const Ngtdm> matrices);

// Coarseness when sum p_i s_i == 0 (IBSI / PyRadiomics).
inline constexpr double kNgtdmMaxCoarseness = 1e6;

inline constexpr std::array<TextureFeatureDef, 5> kNgtdmFeatureDefs = {{
    {"Coarseness", "QCDE"},
    {"Contrast", "65HE"},
    {"Busyness", "NQ30"},
    {"Complexity", "HDEZ"},
    {"Strength", "1X9X"},
}};
using NgtdmValues = std::array<double, kNgtdmFeatureDefs.size()>;

NgtdmValues ComputeNgtdmValues(const Ngtdm& ngtdm);
FeatureList NgtdmFeatures(const Ngtdm& ngtdm);
FeatureList NgtdmFeatures2D(const LevelImage& image, int distance = 1);
FeatureList NgtdmFeaturesPerSlice(std::span<const LevelImage> slices, int distance = 1);

}  // namespace fedrad::site_agent::radiomics

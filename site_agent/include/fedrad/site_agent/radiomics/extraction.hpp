// One case through the whole radiomics pipeline: read the image and masks,
// build the regions, filter, discretise and compute every enabled feature
// family on every (region, image type) pair.
//
// Parameter file (JSON; PyRadiomics' sections plus fedrad's regions; unknown
// keys are errors; docs/radiomics.md documents every key and default):
//
//   {
//     "imageType": {"Original": {}, "LoG": {"sigma": [1.0, 2.0, 3.0]},
//                   "Wavelet": {"wavelet": "coif1", "bands": ["LL","LH","HL","HH"]},
//                   "Square": {}, "SquareRoot": {}, "Logarithm": {}, "Exponential": {},
//                   "Gradient": {}, "LBP2D": {"radius": 1, "samples": 8}},
//     "featureClass": {"firstorder": [], "histogram": [], "shape2D": [], "glcm": [], "glrlm": [],
//                      "glszm": [], "gldm": [], "ngtdm": [], "ngldm": [], "gldzm": []},
//     "setting": {"binWidth": 25, ...},
//     "regions": {"lesion": {"components": "largest"}, "ringWidthsMm": [5],
//                 "parenchyma": true}
//   }
//
// An empty feature list selects every feature of the family; a family that
// is not listed is not computed. Feature names are
//   <region>_<imageType>_<family>_<Feature>
// e.g. lesion_original_glcm_Contrast, ring5mm_wavelet-LH_glszm_ZoneEntropy.
// Shape features are computed on the original image only.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/site_agent/radiomics/discretise.hpp"
#include "fedrad/site_agent/radiomics/filters.hpp"
#include "fedrad/site_agent/radiomics/image.hpp"
#include "fedrad/site_agent/radiomics/image_io.hpp"
#include "fedrad/site_agent/radiomics/intensity.hpp"
#include "fedrad/site_agent/radiomics/regions.hpp"
#include "fedrad/site_agent/radiomics/texture.hpp"

namespace fedrad::site_agent::radiomics {

// Families in computation order.
inline const std::vector<std::string> kFeatureFamilies = {
    "firstorder", "histogram", "shape2D", "glcm",  "glrlm",
    "glszm",      "gldm",      "ngtdm",   "ngldm", "gldzm"};

struct ExtractionParams {
  // imageType: image types in order ("original" first when enabled).
  bool original = true;
  std::vector<FilterSpec> filters;

  // featureClass: family -> selected feature names (empty = all).
  std::map<std::string, std::vector<std::string>> families;

  // setting
  DiscretisationSettings discretisation;
  FirstOrderOptions first_order;
  GlcmOptions glcm;
  DirectionAggregation aggregation = DirectionAggregation::kAverage;
  Connectivity2D zone_connectivity = Connectivity2D::kEight;
  NgldmOptions ngldm;
  int ngtdm_distance = 1;
  ColorRule color_rule = ColorRule::kLuminance;
  int mask_label = 0;                    // 0 = any non-zero pixel
  int minimum_roi_pixels = 10;           // smaller ROIs are refused
  std::optional<Spacing> pixel_spacing;  // used when the manifest gives none

  // regions
  ComponentRule lesion_components = ComponentRule::kLargest;
  std::vector<double> ring_widths_mm = {5.0};
  bool parenchyma = true;

  // Canonical JSON of the parameters as parsed (defaults filled in) and its
  // SHA-256: the settings hash every feature table carries.
  nlohmann::json canonical;
  std::string hash;
};

// Parses and validates parameters; every error names the source and JSON
// pointer, all problems in one pass.
common::Result<ExtractionParams> ParseExtractionParams(const nlohmann::json& json,
                                                       const std::string& source);
common::Result<ExtractionParams> LoadExtractionParams(const std::string& path);
// The defaults (original + LoG 1,2,3 mm + coif1 wavelet, all families).
ExtractionParams DefaultExtractionParams();

struct CaseInput {
  std::string case_id;
  std::string image_path;
  std::string lesion_mask_path;
  std::string parenchyma_mask_path;     // empty: no parenchyma region
  std::string field_of_view_mask_path;  // empty: the whole image
  std::optional<Spacing> spacing;       // overrides the params' pixel_spacing
};

struct RegionInfo {
  std::string name;
  std::size_t pixels = 0;
  int min_x = 0, min_y = 0, max_x = -1, max_y = -1;  // bounding box (inclusive)
};

struct CaseResult {
  std::string case_id;
  std::vector<std::pair<std::string, double>> features;  // in computation order
  std::vector<RegionInfo> regions;
  std::string image_sha256;
  std::string lesion_mask_sha256;
  std::string parenchyma_mask_sha256;
  std::string field_of_view_mask_sha256;
  Spacing spacing;
  int width = 0;
  int height = 0;
  std::vector<std::string> warnings;

  // Provenance record for the JSON sidecar.
  nlohmann::json Provenance() const;
};

// The feature columns these parameters produce, in table order: regions
// (lesion, rings, parenchyma), then image types, families and features in
// computation order. Independent of the data, so every table made with the
// same parameters has the same columns.
std::vector<std::string> FeatureColumns(const ExtractionParams& params);

// Computes features of an image already in memory (no file access).
common::Result<CaseResult> ExtractFromArrays(const std::string& case_id, const Image& image,
                                             const Mask& lesion_mask, const Mask* parenchyma_mask,
                                             const Mask* field_of_view,
                                             const ExtractionParams& params);

// Process-wide allocator setting for a process that extracts many cases
// (`fedrad extract`; the benchmark with --tuned-malloc): glibc otherwise
// returns an image's freed working set (blocks above its dynamic mmap
// threshold, and heap tops above its trim threshold) to the kernel after
// each case and faults it in again for the next (about 1,700 page faults, a
// few ms, per 800x600 image). With fixed thresholds of 64 MB (mmap) and
// 128 MB (trim) the memory is reused instead; the resident set then stays
// at the largest case's working set (about 15 MB per worker) between cases.
// No effect (and false) where the C library is not glibc.
bool TuneAllocatorForExtraction();

// Reads the files of one case and extracts it. Errors name the file.
common::Result<CaseResult> ExtractCase(const CaseInput& input, const ExtractionParams& params);

}  // namespace fedrad::site_agent::radiomics

// `fedrad extract`: radiomics for one case or a whole cohort, like
// PyRadiomics' command line, writing a feature table and its provenance.
//
//   fedrad extract --manifest cohort.csv --params P.json --out features.csv [--jobs N]
//   fedrad extract --image I --mask M [--parenchyma P] [--spacing X,Y] --params P.json
//                  --out features.csv
//
// Manifest: CSV with a header; columns case_id, image, lesion_mask (required),
// parenchyma_mask, fov_mask, spacing_x_mm, spacing_y_mm (optional; empty cells
// allowed). Relative paths are resolved against the manifest's folder.
// Output: features.csv (case_id, then one column per feature, %.17g, C locale;
// an empty cell = absent) and features.provenance.json (fedrad version, params
// and their hash, per case: file hashes, spacing, ROI sizes, bounding boxes,
// warnings; and the failed cases with their reasons). A bad case is reported
// and the run goes on; the exit status is non-zero if any case failed, and
// every case that succeeded is written. Both files are replaced atomically.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/site_agent/radiomics/extraction.hpp"

namespace fedrad::site_agent {

struct ExtractOptions {
  std::string manifest;
  std::string image;
  std::string mask;
  std::string parenchyma;
  std::string field_of_view;
  std::string spacing;  // "X,Y" in mm, single-case mode
  std::string params;   // empty: the defaults
  std::string out;
  int jobs = 1;
  bool progress = true;
};

struct ExtractSummary {
  std::size_t cases = 0;
  std::size_t succeeded = 0;
  std::vector<std::pair<std::string, std::string>> failures;  // case id, reason
  std::string table_path;
  std::string provenance_path;
  double seconds = 0.0;
};

// Reads a manifest into case inputs (errors name the file, line and column).
common::Result<std::vector<radiomics::CaseInput>> ReadManifest(const std::string& path);

// Runs the extraction; progress lines go to `progress` (a carriage-return
// display when `tty`). Returns the summary, or an error when nothing could be
// started (bad params, bad manifest, unwritable output). Per-case failures are
// in the summary.
common::Result<ExtractSummary> RunExtract(const ExtractOptions& options, std::ostream& progress,
                                          bool tty);

// The provenance sidecar path for a table path: "x.csv" -> "x.provenance.json".
std::string ProvenancePath(const std::string& table_path);

}  // namespace fedrad::site_agent

// A site's study table, built and validated from its own data before
// anything leaves the site (docs/configuration.md, "Site data").
//
// Inputs (site config "data" section, site_config.hpp):
//   clinical  the clinical CSV; checked against the study spec's
//             data_dictionary (protocols/study_spec.hpp): the id and label
//             columns and every variable must be present; ids non-empty and
//             unique; labels 0 or 1; binary values 0 or 1; integers whole and
//             within their range; numbers finite and within their range;
//             categorical values among their levels. A missing value is an
//             empty cell or "NA": with "missing": "refuse" it is a problem,
//             with "complete_case" the row is left out (a row left out needs
//             no radiomics); with "impute" the cell stays missing (NaN) in
//             the study table, as does every column made from it (a
//             categorical variable's dummy columns, a derived variable),
//             and each request fills it with the pooled imputation values
//             it carries (stats/providers.hpp "Missing values"; a missing
//             label is still a problem). Columns not in the dictionary are
//             ignored.
//   manifest  a `fedrad extract` manifest: the site extracts the radiomics
//             with the spec's params into <work_dir>/radiomics.csv (+ its
//             provenance sidecar) and reuses that table while the params hash,
//             the manifest's SHA-256, the fedrad version and every image and
//             mask file's SHA-256 are unchanged (<work_dir>/radiomics.cache.json);
//             a case that fails to extract (missing or unreadable file, empty
//             mask, ...) is a problem;
//   features  OR a precomputed radiomics table from `fedrad extract`: its
//             provenance sidecar must exist and name the spec's params hash
//             (else the site refuses, naming both hashes); its header must be
//             the params' feature columns; an empty cell is a missing value
//             (refused, its case left out, or kept as NaN, by "missing").
// Clinical and radiomics are joined on the case id: a case in one and not
// in the other is a problem (named). Every problem of the clinical CSV, the
// extraction and the join is collected in one pass; the status lists the
// first 20 with their file, line and column, e.g.
//   clinical.csv:17: column 'ca19_9_u_ml': expected a number in [0, 100000] U/mL, got '-3'
// and the count of the rest.
//
// The study table (stats::FeatureTable, so stats::BuildDatasets applies
// unchanged): rows in the clinical CSV's order; y from the dictionary's
// label column; columns StudyFeatureColumns(spec): "clin_<feature>" for a
// binary, integer, number or derived feature (derived: 1 if
// value <op> threshold, else 0), "clin_<name>_<level>" (1/0) for each level
// but the first of a categorical feature, then the radiomics columns in
// radiomics::FeatureColumns(params) order. `sha256` is the SHA-256 of the
// table written as CSV (id, label, columns; %.17g).
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/protocols/study_spec.hpp"
#include "fedrad/site_agent/site_config.hpp"
#include "fedrad/site_agent/stats/feature_table.hpp"

namespace fedrad::site_agent {

// What a site reports in JOB_ACCEPT (docs/protocol.md 4.4): the fedrad
// version that made its radiomics (the running version when it extracted,
// the sidecar's for a precomputed table), the SHA-256 of the radiomics
// params behind the table ("" without radiomics) and of the data dictionary
// ("" without one).
struct StudyDataProvenance {
  std::string fedrad_version;
  std::string radiomics_params_sha256;
  std::string data_dictionary_sha256;
  std::size_t cases = 0;
};

// Where one site's data is (the config's "data" section; paths resolved).
struct StudyDataSources {
  std::string clinical;
  std::string manifest;  // exactly one of manifest / features when the spec has radiomics
  std::string features;
  std::string work_dir;  // extraction output and cache (created if missing)
  int extract_jobs = 1;  // extraction threads
};

// The feature dictionary of a spec with a data dictionary: the clinical
// columns (protocols::ClinicalFeatureColumns) then the radiomics columns of
// its params. kInvalidArgument if the params are invalid or the spec has no
// data dictionary.
common::Result<std::vector<std::string>> StudyFeatureColumns(const protocols::StudySpec& spec);

// Fills spec->feature_dictionary with StudyFeatureColumns when the spec has
// a data dictionary and no feature_dictionary (the hook the CLI applies
// before the coordinator or fit/simulate uses a spec); checks every model's
// patterns against it. A no-op otherwise.
common::Status ResolveStudyFeatureDictionary(protocols::StudySpec* spec);

// Builds and validates the study table from `sources` (see above). The spec
// must have a data dictionary. `progress` (may be null) gets extraction
// progress lines. kInvalidArgument with the problem summary when the data
// fail validation; kFailedPrecondition when a precomputed table's params
// hash is not the spec's.
common::Result<stats::FeatureTable> BuildStudyTableFrom(const StudyDataSources& sources,
                                                        const protocols::StudySpec& spec,
                                                        StudyDataProvenance* provenance,
                                                        std::ostream* progress);

// The site's study table for `spec`: with a data dictionary, from the
// config's data section (clinical + manifest / features); without one, the
// complete table of study.features (stats::ReadFeatureTable). Provenance
// (may be null) as above.
common::Result<stats::FeatureTable> BuildStudyTable(const SiteConfig& config,
                                                    const protocols::StudySpec& spec,
                                                    StudyDataProvenance* provenance,
                                                    std::ostream* progress);

}  // namespace fedrad::site_agent

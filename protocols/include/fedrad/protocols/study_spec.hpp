// The study specification: what every party of a study agrees on (the
// coordinator runs it, each site approves it by its SHA-256 and builds its
// datasets from it). A JSON file, documented in docs/configuration.md
// ("Study specification"); unknown keys are errors, every error names the
// file and the JSON pointer of the field.
//
//   {
//     "study_id": "crlm-recurrence",                    (name rule of protocol.md)
//     "table": {"id_column": "case_id", "label_column": "label",
//               "fold_column": ""},                     ("" = sites assign folds)
//     "feature_dictionary": "features.txt",             (optional; see below)
//     "models": [
//       {"name": "clinical", "columns": ["clin_*"]},
//       {"name": "radiomics", "columns": ["lesion_*", "ring5mm_*", "parenchyma_*"]},
//       {"name": "combined", "columns": ["clin_*", "lesion_*", "ring5mm_*", "parenchyma_*"]}
//     ],
//     "cv": {"folds": 5, "seed": 20260101, "selection": "nested"},   ("nested" | "outside_cv")
//     "lasso": {"nlambda": 100, "lambda_min_ratio": 0, "kkt_tolerance": 1e-7,
//               "lambda_choice": "lambda.min", "fold_lambda_path": "own"},
//     "svm": {"c_grid": [...], "loss": "squared_hinge", "regularize_bias": false,
//             "bias_value": 1, "histogram_bins": 512},
//     "platt": true,
//     "sites": [                                        (optional for fit/simulate)
//       {"id": "hospital_a", "sign_public_key": "<64 hex>", "role": "train"}, ...
//     ],
//     "privacy": {"secure_aggregation": true, "min_sites": 3,
//                 "allow_fewer_sites": false, "threshold": 0,
//                 "on_refusal": "stop"}                 ("stop" | "continue")
//   }
//
// Sites: every party of the study with its Ed25519 identity key (from
// `fedrad keygen`, the "sign_public_key" of its .public file) and its role
// ("train": in the cross-validated fits; "external": held-out evaluation
// only). Sites pin each other's keys from this list for secure aggregation
// (secure_aggregation.hpp), so a coordinator cannot substitute a key: the
// list is part of the spec every site approves by hash. A live study with
// secure aggregation on (the default) needs the list; fit/simulate ignore it.
//
// Privacy: secure_aggregation (default on) masks every site's statistics so
// that the coordinator learns only sums; min_sites (2..255, default 3) is the
// fewest sites a sum may cover unless allow_fewer_sites; threshold is the
// Shamir t (0 = floor(n/2) + 1, else in [floor(n/2) + 1, n]); on_refusal says
// what the coordinator does when a site's disclosure gate refuses a request:
// "stop" the study, or "continue" without that site (the study restarts from
// its first round over the remaining sites, if min_sites still holds).
//
// Column patterns: an entry is an exact column name or a glob with '*'
// (any run of characters); a model's columns are the feature columns that
// match any of its entries, in the order of the feature dictionary (each
// once). A pattern that matches nothing is an error. The feature dictionary
// is the ordered list of feature column names all sites share: the file
// named by "feature_dictionary" (one name per line, '#' comments; path
// relative to the spec file), or, when absent, the table header minus the
// id, label and fold columns (fedrad fit / simulate only: the coordinator
// needs a dictionary).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fedrad/common/status.hpp"

namespace fedrad::protocols {

struct StudyModelSpec {
  std::string name;                  // name rule; unique within the study
  std::vector<std::string> columns;  // exact names or '*' globs
};

struct StudySiteSpec {
  std::string id;               // name rule; the site id of the coordinator's config
  std::string sign_public_hex;  // "sign_public_key": Ed25519, 64 hex digits
  bool external = false;        // "role": "train" (false) | "external"
};

struct StudyPrivacySpec {
  bool secure_aggregation = true;
  int min_sites = 3;  // 2..255
  bool allow_fewer_sites = false;
  int threshold = 0;                 // 0 = floor(n/2) + 1
  bool continue_on_refusal = false;  // "on_refusal": "stop" (false) | "continue"
};

struct StudySpec {
  std::string study_id;
  std::string id_column = "case_id";
  std::string label_column = "label";
  std::string fold_column;                      // "" = each site assigns stratified folds
  std::vector<std::string> feature_dictionary;  // resolved names; empty = from the table header
  std::string feature_dictionary_path;          // as given ("" if none), for provenance
  std::vector<StudyModelSpec> models;

  int folds = 5;                  // outer folds (and inner folds in nested CV)
  std::uint64_t seed = 20260101;  // fold assignment
  bool nested = true;             // "selection": "nested" | "outside_cv"

  int nlambda = 100;
  double lambda_min_ratio = 0.0;  // 0 = glmnet's default
  double kkt_tolerance = 1e-7;
  bool lambda_1se = false;      // "lambda_choice": "lambda.min" (false) | "lambda.1se"
  bool fold_lambda_own = true;  // "fold_lambda_path": "own" | "master"

  std::vector<double> c_grid;  // default: 2^-7, 2^-6, ..., 2^2 (10 values)
  bool hinge = false;          // "loss": "squared_hinge" (false) | "hinge"
  bool regularize_bias = false;
  double bias_value = 1.0;
  int histogram_bins = 512;
  bool platt = true;

  std::vector<StudySiteSpec> sites;  // empty = not given (fit / simulate only)
  StudyPrivacySpec privacy;

  std::string sha256;  // of the spec file's bytes (set by LoadStudySpec)
};

// Reads and checks a spec file (and its feature dictionary file, if named).
common::Result<StudySpec> LoadStudySpec(const std::string& path);
// Checks a parsed document; `source` names it in errors; `base_dir` resolves
// a relative feature_dictionary path.
common::Result<StudySpec> ParseStudySpec(const nlohmann::json& document, const std::string& source,
                                         const std::string& base_dir);

// The model's columns resolved against `dictionary` (see above): names in
// dictionary order. kInvalidArgument naming the model and the pattern that
// matches nothing.
common::Result<std::vector<std::string>> ResolveModelColumns(
    const StudyModelSpec& model, const std::vector<std::string>& dictionary);

}  // namespace fedrad::protocols

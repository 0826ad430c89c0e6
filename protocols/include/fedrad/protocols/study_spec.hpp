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
//     "evaluation": {"grid_points": 100001,             (fine grid, default 100001)
//                    "fallback_grid_points": 101},      (optional; absent = none)
//     "sites": [                                        (optional for fit/simulate)
//       {"id": "hospital_a", "sign_public_key": "<64 hex>", "role": "train"}, ...
//     ],
//     "privacy": {"secure_aggregation": true, "min_sites": 3,
//                 "allow_fewer_sites": false, "threshold": 0,
//                 "on_refusal": "stop",                 ("stop" | "continue")
//                 "on_dropout": "continue"}             ("continue" | "wait")
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
// its first round over the remaining sites, if min_sites still holds);
// on_dropout says what it does when a train site drops out of a round
// (session lost, no answer in time): "continue" restarts without it when
// min_sites still holds (else waits for it), "wait" always waits for it to
// come back and then finishes with the identical result (the coordinator's
// rejoin_timeout_s bounds the wait). Restarting without a site exposes that
// site's share of the rounds already run (all-site sums minus the new
// sums); "wait" does not (docs/security.md).
//
// Evaluation: pooled ROC statistics (AUC, DeLong, ROC curve) are computed
// on a public probability grid of G points on [0, 1] (resolution 1/(G-1)),
// fixed in the spec before any data are seen. grid_points (2..1000001,
// default 100001 = resolution 1e-5) is the fine grid every cohort is tried
// on first; fallback_grid_points (2..grid_points-1, optional) is a coarser
// grid the coordinator uses for a cohort when a site's disclosure gate
// refuses the fine grid's histograms (a policy with "histogram_cells"
// checking grid_histogram in secure rounds, site_agent/policy.hpp). Absent:
// no fallback, a refusal is handled by privacy.on_refusal.
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
//
// Data dictionary (optional, "data_dictionary"): the clinical variables a
// site's clinical CSV must hold, the variables derived from them, and the
// features that enter the models. Each site validates its clinical CSV
// against it before it accepts a study and builds its study table from it
// (site_agent/study_data.hpp):
//
//   "data_dictionary": {
//     "id_column": "case_id",          (clinical CSV; default: table.id_column)
//     "label_column": "recurrence_2y", (clinical CSV, values 0/1; default: table.label_column)
//     "missing": "refuse",             ("refuse" | "complete_case" | "impute")
//     "variables": [{"name": "age_years", "type": "integer", "unit": "years",
//                    "range": [18, 100], "description": "..."}, ...],
//                                      (type: binary | integer | number | categorical;
//                                       "levels" for categorical (first = reference),
//                                       "range" [lo, hi] for integer/number)
//     "derived": [{"name": "ca19_9_gt_200", "variable": "ca19_9_u_ml", "op": ">",
//                  "threshold": 200}],  (op: > >= < <=; value 0/1; from a numeric variable)
//     "features": ["nodal_positive", "ca19_9_gt_200", ...]   (variables / derived, once each)
//   }
//
// Radiomics (optional, "radiomics"): {"params": "radiomics.json"} (a path
// relative to the spec file, read here) or {"params": {...}} (inline); the
// parameter object of `fedrad extract` (site_agent/radiomics/extraction.hpp),
// kept here as raw JSON (protocols does not parse radiomics parameters; the
// site does, and an invalid object fails there). Study table columns of a
// spec with a data dictionary: "clin_<feature>" (categorical: one column
// "clin_<name>_<level>" per level but the first), then the radiomics
// feature columns of the params; site_agent::StudyFeatureColumns(spec).
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

// "evaluation": the public probability grids of the pooled ROC statistics.
inline constexpr std::int64_t kDefaultEvaluationGridPoints = 100001;  // 1e-5
inline constexpr std::int64_t kMaxEvaluationGridPoints = 1000001;     // 1e-6
struct StudyEvaluationSpec {
  std::int64_t grid_points = kDefaultEvaluationGridPoints;  // G of the fine grid
  std::int64_t fallback_grid_points = 0;                    // 0 = no fallback grid
};

struct StudyPrivacySpec {
  bool secure_aggregation = true;
  int min_sites = 3;  // 2..255
  bool allow_fewer_sites = false;
  int threshold = 0;                 // 0 = floor(n/2) + 1
  bool continue_on_refusal = false;  // "on_refusal": "stop" (false) | "continue"
  bool wait_on_dropout = false;      // "on_dropout": "continue" (false) | "wait"
};

// One clinical variable of the data dictionary.
enum class VariableType { kBinary, kInteger, kNumber, kCategorical };

struct StudyVariable {
  std::string name;  // a column of the clinical CSV (name rule)
  VariableType type = VariableType::kNumber;
  std::string unit;                 // free text, for messages and reports ("" = none)
  std::string description;          // free text
  bool has_range = false;           // integer / number only
  double range_min = 0.0;           // inclusive
  double range_max = 0.0;           // inclusive
  std::vector<std::string> levels;  // categorical: >= 2 distinct levels, first = reference
};

// A 0/1 variable computed at the site: value = [variable <op> threshold].
struct StudyDerived {
  std::string name;
  std::string variable;  // a binary / integer / number variable
  std::string op;        // ">" ">=" "<" "<="
  double threshold = 0.0;
};

struct StudyDataDictionary {
  std::string id_column;       // of the clinical CSV
  std::string label_column;    // of the clinical CSV (0/1)
  bool complete_case = false;  // "missing": "refuse" (false) | "complete_case"
  // "missing": "impute": a missing predictor cell stays NaN in the site's
  // study table and is filled with a pooled statistic of the training rows
  // in scope (docs/methods.md, "Missing values"); labels are never imputed.
  bool impute = false;
  std::vector<StudyVariable> variables;
  std::vector<StudyDerived> derived;
  std::vector<std::string> features;  // names of variables / derived, in column order
  // SHA-256 of the section's canonical JSON (nlohmann dump() of the section
  // as written), the "data_dictionary_sha256" sites report (protocol.md 4.4).
  std::string sha256;
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

  StudyEvaluationSpec evaluation;

  std::vector<StudySiteSpec> sites;  // empty = not given (fit / simulate only)
  StudyPrivacySpec privacy;

  // "data_dictionary" (has_data_dictionary false: absent).
  bool has_data_dictionary = false;
  StudyDataDictionary data_dictionary;
  // "radiomics": the params object (inline, or read from the file named),
  // null when absent; radiomics_params_path is the resolved file ("" when
  // inline or absent), for messages.
  nlohmann::json radiomics_params;
  std::string radiomics_params_path;

  std::string sha256;  // of the spec file's bytes (set by LoadStudySpec)
};

// The study-table columns the data dictionary contributes, in order:
// "clin_<feature>" (categorical: "clin_<name>_<level>" for every level but the
// first). Empty without a data dictionary.
std::vector<std::string> ClinicalFeatureColumns(const StudySpec& spec);
// "binary" | "integer" | "number" | "categorical".
std::string VariableTypeName(VariableType type);

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

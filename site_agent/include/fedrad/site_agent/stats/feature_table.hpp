// A site's feature table (CSV) and the per-model datasets built from it.
//
// The CSV has a header; columns: the study's id column, its label column
// (0/1), optionally its fold column (integers >= 0), and feature columns
// (numbers in the C locale). Rows are cases. It is either the output of
// `fedrad extract` joined to the clinical table or a precomputed table.
// Errors name the file, the line and the column, and what was expected
// (e.g. "features.csv:17: column 'label': expected 0 or 1, got '2'").
#pragma once

#include <string>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/protocols/study_spec.hpp"
#include "fedrad/site_agent/stats/local_table.hpp"
#include "fedrad/site_agent/stats/providers.hpp"

namespace fedrad::site_agent::stats {

struct FeatureTable {
  std::string path;
  std::string sha256;                // of the file's bytes (provenance)
  std::vector<std::string> ids;      // case ids (unique)
  std::vector<std::string> columns;  // feature column names, header order
  Eigen::MatrixXd x;                 // n x columns.size()
  Eigen::VectorXd y;                 // 0/1
  std::vector<int> fold;             // from the fold column, or empty
};

common::Result<FeatureTable> ReadFeatureTable(const std::string& path,
                                              const protocols::StudySpec& spec);

// One LocalTable per model of `spec` (dataset name = model name), columns
// resolved against the spec's dictionary (or the table's feature columns
// when the spec has none); every dictionary column must be present in the
// table. Outer fold ids: the fold column when given, else AssignFolds(y,
// spec.folds, spec.seed). Inner fold ids for every outer
// fold f: AssignFolds on the rows outside fold f with seed spec.seed + f + 1
// (built for outside_cv as well: its per-fold SVM and Platt refits use them).
common::Result<Datasets> BuildDatasets(const FeatureTable& table, const protocols::StudySpec& spec);

}  // namespace fedrad::site_agent::stats

// A site's local dense training table, as the statistic providers see it.
//
// Rows are cases, columns are features (already joined and numeric). Labels
// are 0/1; fold ids (optional) assign each case to a cross-validation fold
// chosen by the site itself. The table never leaves the site: only the
// aggregated arrays computed from it by the providers in providers.hpp do.
#pragma once

#include <Eigen/Dense>
#include <string>
#include <vector>

#include "fedrad/common/status.hpp"

namespace fedrad::site_agent::stats {

struct LocalTable {
  Eigen::MatrixXd x;      // n x p features
  Eigen::VectorXd y;      // n labels, each 0 or 1
  std::vector<int> fold;  // empty, or n fold ids >= 0 (outer folds)
  // Nested cross-validation: empty, or one vector per outer fold f (indexed
  // by f), each with n entries: the inner fold id (>= 0) of every row whose
  // outer fold is not f, and -1 for the rows of outer fold f itself.
  std::vector<std::vector<int>> inner_fold;
  // The dataset's name and column names (empty, or one per column of x),
  // for messages only.
  std::string name;
  std::vector<std::string> columns;
};

// Checks shapes, labels in {0, 1}, features finite or NaN (a missing cell,
// data_dictionary "missing": "impute"; the providers refuse to read one
// without an imputation value) and non-negative fold ids.
common::Status ValidateTable(const LocalTable& table);

// Which rows of a table a request is about. Sites resolve fold ids locally;
// the coordinator never learns which row is in which fold.
//
// Scoping for nested cross-validation: with outer_fold = f >= 0 the request
// only sees the training part of outer fold f (rows whose fold id is not f),
// and `kind`/`fold` then refer to the inner fold ids inner_fold[f] of those
// rows. With outer_fold = -1 (default) `kind`/`fold` refer to the fold ids.
struct RowSubset {
  enum class Kind {
    kAll,          // every row (in scope)
    kTrainOfFold,  // rows whose fold id differs from `fold` (training part)
    kTestOfFold,   // rows whose fold id equals `fold` (held-out part)
  };
  Kind kind = Kind::kAll;
  int fold = -1;
  int outer_fold = -1;
};

// Indices of the rows of `table` selected by `subset` (kInvalidArgument if a
// fold subset is asked of a table without fold ids).
common::Result<std::vector<Eigen::Index>> SelectRows(const LocalTable& table,
                                                     const RowSubset& subset);

}  // namespace fedrad::site_agent::stats

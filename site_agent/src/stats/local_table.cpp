#include "fedrad/site_agent/stats/local_table.hpp"

#include <cmath>
#include <string>

namespace fedrad::site_agent::stats {

using common::InvalidArgument;
using common::Result;
using common::Status;

Status ValidateTable(const LocalTable& table) {
  if (table.y.size() != table.x.rows()) {
    return InvalidArgument("local table: " + std::to_string(table.x.rows()) + " feature rows but " +
                           std::to_string(table.y.size()) + " labels");
  }
  if (!table.fold.empty() && static_cast<Eigen::Index>(table.fold.size()) != table.x.rows()) {
    return InvalidArgument("local table: " + std::to_string(table.x.rows()) + " rows but " +
                           std::to_string(table.fold.size()) + " fold ids");
  }
  for (Eigen::Index i = 0; i < table.y.size(); ++i) {
    if (table.y[i] != 0.0 && table.y[i] != 1.0) {
      return InvalidArgument("local table: row " + std::to_string(i) +
                             ": label must be 0 or 1, got " + std::to_string(table.y[i]));
    }
  }
  // NaN marks a missing cell (filled per request, providers.hpp); an
  // infinite value is never data.
  if ((table.x.array().isInf()).any()) {
    return InvalidArgument("local table: features contain infinite values");
  }
  if (!table.columns.empty() && static_cast<Eigen::Index>(table.columns.size()) != table.x.cols()) {
    return InvalidArgument("local table: " + std::to_string(table.columns.size()) +
                           " column names for " + std::to_string(table.x.cols()) + " columns");
  }
  for (std::size_t i = 0; i < table.fold.size(); ++i) {
    if (table.fold[i] < 0) {
      return InvalidArgument("local table: row " + std::to_string(i) +
                             ": fold id must be >= 0, got " + std::to_string(table.fold[i]));
    }
  }
  return Status::Ok();
}

Result<std::vector<Eigen::Index>> SelectRows(const LocalTable& table, const RowSubset& subset) {
  std::vector<Eigen::Index> rows;
  const Eigen::Index n = table.x.rows();
  // The fold ids `kind`/`fold` refer to: the outer ids, or the inner ids of
  // an outer fold (whose own rows, marked -1, are out of scope).
  const std::vector<int>* ids = nullptr;
  if (subset.outer_fold >= 0) {
    if (static_cast<std::size_t>(subset.outer_fold) >= table.inner_fold.size() ||
        static_cast<Eigen::Index>(
            table.inner_fold[static_cast<std::size_t>(subset.outer_fold)].size()) != n) {
      return InvalidArgument("row subset: outer fold " + std::to_string(subset.outer_fold) +
                             " requested but the local table has no inner fold ids for it");
    }
    ids = &table.inner_fold[static_cast<std::size_t>(subset.outer_fold)];
  } else if (subset.kind != RowSubset::Kind::kAll) {
    if (static_cast<Eigen::Index>(table.fold.size()) != n) {
      return InvalidArgument("row subset: fold " + std::to_string(subset.fold) +
                             " requested but the local table has no fold ids");
    }
    ids = &table.fold;
  }
  rows.reserve(static_cast<std::size_t>(n));
  const bool test = subset.kind == RowSubset::Kind::kTestOfFold;
  for (Eigen::Index i = 0; i < n; ++i) {
    const int id = ids == nullptr ? 0 : (*ids)[static_cast<std::size_t>(i)];
    if (id < 0) continue;  // outside the outer fold's training part
    if (subset.kind == RowSubset::Kind::kAll || (id == subset.fold) == test) rows.push_back(i);
  }
  return rows;
}

}  // namespace fedrad::site_agent::stats

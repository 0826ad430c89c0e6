// Synthetic studies for the pipeline tests (pipeline_test.cpp,
// federated_equivalence_test.cpp, degenerate_inputs_test.cpp): tables with
// outer and inner fold ids fixed per row, split over sites, and small,
// fast model options.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/pipeline.hpp"
#include "fedrad/site_agent/stats/folds.hpp"
#include "fedrad/site_agent/stats/local_table.hpp"
#include "fedrad/site_agent/stats/providers.hpp"
#include "solver_test_data.hpp"

namespace fedrad::testing {

// Outer fold ids (stratified, seeded) and, per outer fold f, inner fold ids
// of its training rows (-1 on fold f), as feature_table.cpp assigns them.
// Assigned on the whole table so that every row keeps its ids whatever the
// split over sites.
inline void AssignNestedFolds(site_agent::stats::LocalTable& t, int k, std::uint64_t seed) {
  t.fold = site_agent::stats::AssignFolds(t.y, k, seed).value();
  t.inner_fold.assign(static_cast<std::size_t>(k), {});
  for (int f = 0; f < k; ++f) {
    std::vector<Eigen::Index> rows;
    for (Eigen::Index i = 0; i < t.y.size(); ++i) {
      if (t.fold[static_cast<std::size_t>(i)] != f) rows.push_back(i);
    }
    Eigen::VectorXd labels(static_cast<Eigen::Index>(rows.size()));
    for (std::size_t r = 0; r < rows.size(); ++r)
      labels[static_cast<Eigen::Index>(r)] = t.y[rows[r]];
    const auto ids =
        site_agent::stats::AssignFolds(labels, k, seed + static_cast<std::uint64_t>(f) + 1).value();
    auto& out = t.inner_fold[static_cast<std::size_t>(f)];
    out.assign(static_cast<std::size_t>(t.y.size()), -1);
    for (std::size_t r = 0; r < rows.size(); ++r) out[static_cast<std::size_t>(rows[r])] = ids[r];
  }
}

// Rows [begin, end) with their fold and inner fold ids.
inline site_agent::stats::LocalTable Slice(const site_agent::stats::LocalTable& t, int begin,
                                           int end) {
  site_agent::stats::LocalTable part;
  part.x = t.x.middleRows(begin, end - begin);
  part.y = t.y.segment(begin, end - begin);
  if (!t.fold.empty()) part.fold.assign(t.fold.begin() + begin, t.fold.begin() + end);
  for (const auto& inner : t.inner_fold) {
    part.inner_fold.emplace_back(inner.begin() + begin, inner.begin() + end);
  }
  return part;
}

// Columns of a table (rows, labels and fold ids kept).
inline site_agent::stats::LocalTable Columns(const site_agent::stats::LocalTable& t,
                                             const std::vector<int>& columns) {
  site_agent::stats::LocalTable out = t;
  out.x.resize(t.x.rows(), static_cast<Eigen::Index>(columns.size()));
  for (std::size_t c = 0; c < columns.size(); ++c) {
    out.x.col(static_cast<Eigen::Index>(c)) = t.x.col(columns[c]);
  }
  return out;
}

// A study's sites: `models` maps dataset name -> columns of `all`; the rows
// of `all` are split at `cuts` (site s = rows [cuts[s], cuts[s+1])).
struct StudySites {
  std::vector<site_agent::stats::Datasets> sites;
  std::vector<const site_agent::stats::Datasets*> pointers() const {
    std::vector<const site_agent::stats::Datasets*> out;
    for (const auto& s : sites) out.push_back(&s);
    return out;
  }
};

inline StudySites SplitStudy(const site_agent::stats::LocalTable& all,
                             const std::map<std::string, std::vector<int>>& models,
                             const std::vector<int>& cuts) {
  StudySites out;
  for (std::size_t s = 0; s + 1 < cuts.size(); ++s) {
    const site_agent::stats::LocalTable rows = Slice(all, cuts[s], cuts[s + 1]);
    site_agent::stats::Datasets datasets;
    for (const auto& [name, columns] : models) datasets.emplace(name, Columns(rows, columns));
    out.sites.push_back(std::move(datasets));
  }
  return out;
}

// n rows cut into `num_sites` near-equal, deliberately uneven sites.
inline std::vector<int> Cuts(int n, int num_sites) {
  std::vector<int> cuts{0};
  for (int s = 1; s < num_sites; ++s) {
    // Sizes vary by about ±25% around n / num_sites.
    const double share = (s + 0.25 * ((s % 2) ? 1 : -1)) / num_sites;
    cuts.push_back(static_cast<int>(share * n));
  }
  cuts.push_back(n);
  return cuts;
}

// Small, fast options for K folds.
inline coordinator::ModelOptions SmallModelOptions(int k) {
  coordinator::ModelOptions o;
  o.lasso_cv.num_folds = k;
  o.lasso_cv.lasso.nlambda = 20;
  o.lasso_cv.choice = coordinator::LambdaChoice::kMin;
  o.svm_cv.num_folds = k;
  o.svm_cv.c_grid = {0.01, 0.1, 1.0, 10.0};
  o.platt = true;
  return o;
}

}  // namespace fedrad::testing

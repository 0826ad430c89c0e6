// Stratified, seeded assignment of a site's cases to cross-validation folds.
//
// Each site assigns its own cases (the coordinator never sees the ids). For
// each class c in {0, 1} separately, the n_c indices of that class are put in
// a random order (Fisher-Yates on std::mt19937_64(seed), with draws mapped to
// [0, i] by rejection sampling, so the order is the same with every standard
// library), and the k folds are dealt out in turn: 0, 1, .., k-1, 0, 1, ..
// The deal continues across classes (class 1 starts with the fold after the
// last fold of class 0), so that:
//   - fold f holds floor(n_c / k) or ceil(n_c / k) cases of class c (within
//     ±1 of the ideal n_c / k), and
//   - fold sizes differ by at most 1 as well.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "fedrad/common/status.hpp"

namespace fedrad::site_agent::stats {

// Fold ids in [0, k) for labels in {0, 1}. kInvalidArgument if k < 1 or a
// label is not 0 or 1. Pure: the same (labels, k, seed) give the same ids.
common::Result<std::vector<int>> AssignFolds(const Eigen::VectorXd& labels, int k,
                                             std::uint64_t seed);

}  // namespace fedrad::site_agent::stats

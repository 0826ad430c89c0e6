#include "fedrad/site_agent/stats/folds.hpp"

#include <random>
#include <string>
#include <utility>

namespace fedrad::site_agent::stats {

namespace {

// Uniform integer in [0, bound] from the engine, by rejection (unbiased and
// independent of the standard library's distributions).
std::uint64_t UniformUpTo(std::mt19937_64& rng, std::uint64_t bound) {
  if (bound == 0) return 0;
  const std::uint64_t range = bound + 1;
  const std::uint64_t limit = range == 0 ? 0 : (~std::uint64_t{0} / range) * range;
  while (true) {
    const std::uint64_t draw = rng();
    if (range == 0) return draw;
    if (draw < limit) return draw % range;
  }
}

}  // namespace

common::Result<std::vector<int>> AssignFolds(const Eigen::VectorXd& labels, int k,
                                             std::uint64_t seed) {
  if (k < 1) return common::InvalidArgument("folds: k must be >= 1, got " + std::to_string(k));
  std::vector<Eigen::Index> by_class[2];
  for (Eigen::Index i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0.0 && labels[i] != 1.0) {
      return common::InvalidArgument("folds: label of row " + std::to_string(i) +
                                     " must be 0 or 1, got " + std::to_string(labels[i]));
    }
    by_class[labels[i] == 1.0 ? 1 : 0].push_back(i);
  }
  std::mt19937_64 rng(seed);
  std::vector<int> fold(static_cast<std::size_t>(labels.size()), 0);
  int next = 0;
  for (auto& indices : by_class) {
    for (std::size_t i = indices.size(); i > 1; --i) {
      std::swap(indices[i - 1], indices[UniformUpTo(rng, i - 1)]);
    }
    for (const Eigen::Index row : indices) {
      fold[static_cast<std::size_t>(row)] = next;
      next = (next + 1) % k;
    }
  }
  return fold;
}

}  // namespace fedrad::site_agent::stats

// Seeded synthetic data for the solver tests (coordinator_*_test.cpp).
#pragma once

#include <Eigen/Dense>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "fedrad/site_agent/stats/local_table.hpp"

namespace fedrad::testing {

// n rows, p features on deliberately different scales and offsets, a sparse
// true coefficient vector and Bernoulli labels from the logistic model.
// Box-Muller on mt19937_64 so the data are the same with every library.
inline site_agent::stats::LocalTable MakeLogisticData(int n, int p, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto uniform = [&rng] { return (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53; };
  auto normal = [&uniform] {
    return std::sqrt(-2.0 * std::log(uniform())) * std::cos(2.0 * M_PI * uniform());
  };
  site_agent::stats::LocalTable t;
  t.x.resize(n, p);
  t.y.resize(n);
  Eigen::VectorXd beta = Eigen::VectorXd::Zero(p);
  for (int j = 0; j < p; j += 3) beta[j] = (j % 2 == 0 ? 1.0 : -0.7) / (1.0 + 0.2 * j);
  for (int i = 0; i < n; ++i) {
    double eta = -0.3;
    for (int j = 0; j < p; ++j) {
      const double z = normal();
      t.x(i, j) = 2.0 * j - 5.0 + (0.5 + 0.3 * j) * z;  // shifted and scaled
      eta += beta[j] * z;
    }
    t.y[i] = uniform() < 1.0 / (1.0 + std::exp(-eta)) ? 1.0 : 0.0;
  }
  return t;
}

// Rows [begin, end) of a table.
inline site_agent::stats::LocalTable Rows(const site_agent::stats::LocalTable& t, int begin,
                                          int end) {
  site_agent::stats::LocalTable part;
  part.x = t.x.middleRows(begin, end - begin);
  part.y = t.y.segment(begin, end - begin);
  if (!t.fold.empty()) part.fold.assign(t.fold.begin() + begin, t.fold.begin() + end);
  return part;
}

}  // namespace fedrad::testing

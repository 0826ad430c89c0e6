// Pooled standardisation from summed moments (glmnet standardize=TRUE).
//
// From the sums over sites of n, Σx_j and Σx_j² (MomentsRequest), the pooled
// mean and standard deviation with divisor N (not N - 1, as glmnet):
//   mean_j = Σx_j / N,   sd_j = sqrt(max(0, Σx_j² / N - mean_j²)).
// A column whose sd is below 1e-10 · max(1, |mean_j|) is constant in the
// pooled data: its sd is reported as 0 and solvers exclude it (glmnet drops
// constant columns and reports a zero coefficient).
#pragma once

#include <Eigen/Dense>

#include "fedrad/common/status.hpp"
#include "fedrad/coordinator/aggregator.hpp"

namespace fedrad::coordinator {

struct Standardization {
  double n = 0.0;        // pooled number of rows
  double sum_y = 0.0;    // pooled number of positive labels
  Eigen::VectorXd mean;  // p
  Eigen::VectorXd sd;    // p, 0 for constant columns

  // From a summed moments array of a table with p features.
  static common::Result<Standardization> FromMoments(const std::vector<double>& sums, int p);
};

// One round: the moments of `rows` summed over sites.
common::Result<Standardization> ComputeStandardization(Aggregator& aggregator,
                                                       const site_agent::stats::RowSubset& rows);

}  // namespace fedrad::coordinator

#include "fedrad/coordinator/standardization.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace fedrad::coordinator {

using common::Result;

Result<Standardization> Standardization::FromMoments(const std::vector<double>& sums, int p) {
  const auto pp = static_cast<std::size_t>(p);
  if (p < 0 || sums.size() != 2 + 2 * pp) {
    return common::InvalidArgument("standardization: expected " + std::to_string(2 + 2 * pp) +
                                   " moment sums, got " + std::to_string(sums.size()));
  }
  if (sums[0] < 1.0) return common::InvalidArgument("standardization: no rows");
  Standardization s;
  s.n = sums[0];
  s.sum_y = sums[1];
  s.mean.resize(p);
  s.sd.resize(p);
  for (std::size_t j = 0; j < pp; ++j) {
    const double mean = sums[2 + j] / s.n;
    const double var = std::max(0.0, sums[2 + pp + j] / s.n - mean * mean);
    const double sd = std::sqrt(var);
    const auto jj = static_cast<Eigen::Index>(j);
    s.mean[jj] = mean;
    s.sd[jj] = sd < 1e-10 * std::max(1.0, std::abs(mean)) ? 0.0 : sd;
  }
  return s;
}

Result<Standardization> ComputeStandardization(Aggregator& aggregator,
                                               const site_agent::stats::RowSubset& rows) {
  site_agent::stats::MomentsRequest request;
  request.rows = rows;
  FEDRAD_ASSIGN_OR_RETURN(auto sums, aggregator.Sum(request));
  return Standardization::FromMoments(sums, aggregator.num_features());
}

}  // namespace fedrad::coordinator

#include "fedrad/coordinator/aggregator.hpp"

#include <string>
#include <utility>

namespace fedrad::coordinator {

using common::InvalidArgument;
using common::Result;
using site_agent::stats::LocalTable;

Result<InProcessAggregator> InProcessAggregator::Create(std::vector<const LocalTable*> tables) {
  if (tables.empty()) return InvalidArgument("in-process aggregator: no site table");
  const auto p = tables.front()->x.cols();
  for (std::size_t s = 0; s < tables.size(); ++s) {
    if (tables[s] == nullptr) {
      return InvalidArgument("in-process aggregator: site " + std::to_string(s) + " has no table");
    }
    if (tables[s]->x.cols() != p) {
      return InvalidArgument("in-process aggregator: site " + std::to_string(s) + " has " +
                             std::to_string(tables[s]->x.cols()) + " features, site 0 has " +
                             std::to_string(p));
    }
    auto status = site_agent::stats::ValidateTable(*tables[s]);
    if (!status.ok()) return status.Wrap("in-process aggregator: site " + std::to_string(s));
  }
  return InProcessAggregator(std::move(tables), static_cast<int>(p));
}

Result<std::vector<double>> InProcessAggregator::Sum(
    const site_agent::stats::StatRequest& request) {
  ++rounds_;
  return SumOne(request);
}

Result<std::vector<std::vector<double>>> InProcessAggregator::SumBatch(
    const std::vector<site_agent::stats::StatRequest>& requests) {
  ++rounds_;
  std::vector<std::vector<double>> totals;
  totals.reserve(requests.size());
  for (std::size_t r = 0; r < requests.size(); ++r) {
    auto total = SumOne(requests[r]);
    if (!total.ok()) return total.status().Wrap("batch request " + std::to_string(r));
    totals.push_back(std::move(total).value());
  }
  return totals;
}

Result<std::vector<double>> InProcessAggregator::SumOne(
    const site_agent::stats::StatRequest& request) const {
  std::vector<double> total(site_agent::stats::ResultSize(request, num_features_), 0.0);
  for (std::size_t s = 0; s < tables_.size(); ++s) {
    auto part = site_agent::stats::Compute(*tables_[s], request);
    if (!part.ok()) return part.status().Wrap("site " + std::to_string(s));
    if (part->size() != total.size()) {
      return common::Internal("site " + std::to_string(s) + " returned " +
                              std::to_string(part->size()) + " values, expected " +
                              std::to_string(total.size()));
    }
    for (std::size_t i = 0; i < total.size(); ++i) total[i] += (*part)[i];
  }
  return total;
}

}  // namespace fedrad::coordinator

#include "fedrad/coordinator/aggregator.hpp"

#include <string>
#include <utility>

#include "fedrad/protocols/messages.hpp"
#include "fedrad/site_agent/stats/wire.hpp"
#include "wire_bytes.hpp"

namespace fedrad::coordinator {

using common::InvalidArgument;
using common::Result;
using site_agent::stats::Datasets;
using site_agent::stats::LocalTable;
using site_agent::stats::StatRequest;

Result<InProcessAggregator> InProcessAggregator::Create(std::vector<const LocalTable*> tables) {
  if (tables.empty()) return InvalidArgument("in-process aggregator: no site table");
  std::vector<std::map<std::string, const LocalTable*>> sites;
  for (std::size_t s = 0; s < tables.size(); ++s) {
    if (tables[s] == nullptr) {
      return InvalidArgument("in-process aggregator: site " + std::to_string(s) + " has no table");
    }
    if (tables[s]->x.cols() != tables.front()->x.cols()) {
      return InvalidArgument("in-process aggregator: site " + std::to_string(s) + " has " +
                             std::to_string(tables[s]->x.cols()) + " features, site 0 has " +
                             std::to_string(tables.front()->x.cols()));
    }
    auto status = site_agent::stats::ValidateTable(*tables[s]);
    if (!status.ok()) return status.Wrap("in-process aggregator: site " + std::to_string(s));
    sites.push_back({{"", tables[s]}});
  }
  const auto p = static_cast<int>(tables.front()->x.cols());
  return InProcessAggregator(std::move(sites), p);
}

Result<InProcessAggregator> InProcessAggregator::CreateMulti(std::vector<const Datasets*> sites) {
  if (sites.empty()) return InvalidArgument("in-process aggregator: no site");
  std::vector<std::map<std::string, const LocalTable*>> maps;
  for (std::size_t s = 0; s < sites.size(); ++s) {
    const std::string who = "in-process aggregator: site " + std::to_string(s);
    if (sites[s] == nullptr || sites[s]->empty()) return InvalidArgument(who + " has no dataset");
    if (sites[s]->size() != sites.front()->size()) {
      return InvalidArgument(who + " has " + std::to_string(sites[s]->size()) +
                             " datasets, site 0 has " + std::to_string(sites.front()->size()));
    }
    std::map<std::string, const LocalTable*> map;
    for (const auto& [name, table] : *sites[s]) {
      const auto first = sites.front()->find(name);
      if (first == sites.front()->end()) {
        return InvalidArgument(who + " has dataset '" + name + "', site 0 has not");
      }
      if (table.x.cols() != first->second.x.cols()) {
        return InvalidArgument(who + ": dataset '" + name + "' has " +
                               std::to_string(table.x.cols()) + " features, site 0's has " +
                               std::to_string(first->second.x.cols()));
      }
      auto status = site_agent::stats::ValidateTable(table);
      if (!status.ok()) return status.Wrap(who + ", dataset '" + name + "'");
      map.emplace(name, &table);
    }
    maps.push_back(std::move(map));
  }
  const auto def = sites.front()->find("");
  const int p = def == sites.front()->end() ? 0 : static_cast<int>(def->second.x.cols());
  return InProcessAggregator(std::move(maps), p);
}

Result<std::vector<double>> InProcessAggregator::Sum(const StatRequest& request) {
  ++rounds_;
  auto total = SumOne(request);
  if (total.ok()) (void)CountTraffic({request}, {*total});
  return total;
}

// The bytes WireAggregator would put on the wire for this round: the
// ROUND_REQUEST to each site, and one site's ROUND_REPLY (every site's reply
// has the same size, that of the totals).
common::Status InProcessAggregator::CountTraffic(const std::vector<StatRequest>& requests,
                                                 const std::vector<std::vector<double>>& totals) {
  if (requests.empty()) return common::Status::Ok();
  FEDRAD_ASSIGN_OR_RETURN(auto request, site_agent::stats::EncodeStatsBatch(
                                            kStudyJobId, rounds_ + round_id_offset_, requests));
  FEDRAD_ASSIGN_OR_RETURN(auto reply, site_agent::stats::EncodeStatsResults(
                                          kStudyJobId, rounds_ + round_id_offset_, totals));
  FEDRAD_ASSIGN_OR_RETURN(std::int64_t to, WireBytes(std::move(request)));
  FEDRAD_ASSIGN_OR_RETURN(std::int64_t from, WireBytes(std::move(reply)));
  bytes_to_ += to;
  bytes_from_ += from;
  return common::Status::Ok();
}

Result<std::vector<std::vector<double>>> InProcessAggregator::SumBatch(
    const std::vector<StatRequest>& requests) {
  ++rounds_;
  std::vector<std::vector<double>> totals;
  totals.reserve(requests.size());
  for (std::size_t r = 0; r < requests.size(); ++r) {
    auto total = SumOne(requests[r]);
    if (!total.ok()) return total.status().Wrap("batch request " + std::to_string(r));
    totals.push_back(std::move(total).value());
  }
  // A batch the wire could not carry (e.g. a non-finite total) is not
  // counted; WireAggregator would fail that round.
  (void)CountTraffic(requests, totals);
  return totals;
}

Result<std::vector<double>> InProcessAggregator::SumOne(const StatRequest& request) const {
  if (std::holds_alternative<site_agent::stats::LocalEvaluationRequest>(request) &&
      sites_.size() != 1) {
    return common::InvalidArgument(
        "a local evaluation is one site's release, not a sum: this aggregator holds " +
        std::to_string(sites_.size()) + " sites");
  }
  const std::string& dataset = site_agent::stats::DatasetOf(request);
  std::vector<double> total;
  for (std::size_t s = 0; s < sites_.size(); ++s) {
    const auto it = sites_[s].find(dataset);
    if (it == sites_[s].end()) {
      return common::NotFound("site " + std::to_string(s) + ": no dataset '" + dataset + "'");
    }
    // With the site's every dataset: an evaluation request's models name their own.
    auto part = site_agent::stats::Compute(sites_[s], request);
    if (!part.ok()) return part.status().Wrap("site " + std::to_string(s));
    const std::size_t expected =
        site_agent::stats::ResultSize(request, static_cast<int>(it->second->x.cols()));
    if (part->size() != expected) {
      return common::Internal("site " + std::to_string(s) + " returned " +
                              std::to_string(part->size()) + " values, expected " +
                              std::to_string(expected));
    }
    if (s == 0) {
      total = std::move(part).value();
    } else {
      for (std::size_t i = 0; i < total.size(); ++i) total[i] += (*part)[i];
    }
  }
  return total;
}

Result<std::vector<double>> ScopedAggregator::Sum(const StatRequest& request) {
  return base_.Sum(site_agent::stats::Scoped(request, dataset_, outer_fold_));
}

Result<std::vector<std::vector<double>>> ScopedAggregator::SumBatch(
    const std::vector<StatRequest>& requests) {
  std::vector<StatRequest> scoped;
  scoped.reserve(requests.size());
  for (const auto& request : requests) {
    scoped.push_back(site_agent::stats::Scoped(request, dataset_, outer_fold_));
  }
  return base_.SumBatch(scoped);
}

Result<std::vector<double>> ImputingAggregator::Sum(const StatRequest& request) {
  if (values_.size() == 0) return base_.Sum(request);
  return base_.Sum(site_agent::stats::WithFill(request, values_, by_fold_));
}

Result<std::vector<std::vector<double>>> ImputingAggregator::SumBatch(
    const std::vector<StatRequest>& requests) {
  if (values_.size() == 0) return base_.SumBatch(requests);
  std::vector<StatRequest> filled;
  filled.reserve(requests.size());
  for (const auto& request : requests) {
    filled.push_back(site_agent::stats::WithFill(request, values_, by_fold_));
  }
  return base_.SumBatch(filled);
}

}  // namespace fedrad::coordinator

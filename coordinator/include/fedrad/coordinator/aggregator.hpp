// Aggregator: the only way the coordinator's solvers see data.
//
// A solver hands the aggregator a request (site_agent/stats/providers.hpp);
// every site computes the request's array on its own rows, and the
// aggregator returns the element-wise sum over sites. The interface has no
// way to name a site or to obtain one site's array: the solvers can only ever
// see sums. Implementations:
//   - InProcessAggregator: N local tables in this process (tests, simulation;
//     with one table it is the pooled reference);
//   - the ZeroMQ aggregator with secure aggregation (later: issue 4 item 1).
// Every call to Sum() or SumBatch() is one communication round and is
// counted: a batch carries several requests in one message to every site
// (e.g. one per cross-validation fold) and comes back as one message of
// several arrays, so that independent fits advance in the same rounds.
#pragma once

#include <cstdint>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/site_agent/stats/local_table.hpp"
#include "fedrad/site_agent/stats/providers.hpp"

namespace fedrad::coordinator {

class Aggregator {
 public:
  virtual ~Aggregator() = default;

  // Number of features every site's table has.
  virtual int num_features() const = 0;
  // Σ over sites of the request's array (one round).
  virtual common::Result<std::vector<double>> Sum(
      const site_agent::stats::StatRequest& request) = 0;
  // Σ over sites of each request's array, all in one round.
  virtual common::Result<std::vector<std::vector<double>>> SumBatch(
      const std::vector<site_agent::stats::StatRequest>& requests) = 0;
  // Rounds (calls to Sum or SumBatch) so far, successful or not.
  virtual std::int64_t rounds() const = 0;
};

// Sums over tables held in this process. The tables must outlive it.
class InProcessAggregator final : public Aggregator {
 public:
  // kInvalidArgument if there is no table, the tables disagree on the number
  // of features, or one fails ValidateTable.
  static common::Result<InProcessAggregator> Create(
      std::vector<const site_agent::stats::LocalTable*> tables);

  int num_features() const override { return num_features_; }
  common::Result<std::vector<double>> Sum(const site_agent::stats::StatRequest& request) override;
  common::Result<std::vector<std::vector<double>>> SumBatch(
      const std::vector<site_agent::stats::StatRequest>& requests) override;
  std::int64_t rounds() const override { return rounds_; }

 private:
  common::Result<std::vector<double>> SumOne(const site_agent::stats::StatRequest& request) const;

  InProcessAggregator(std::vector<const site_agent::stats::LocalTable*> tables, int num_features)
      : tables_(std::move(tables)), num_features_(num_features) {}

  std::vector<const site_agent::stats::LocalTable*> tables_;
  int num_features_ = 0;
  std::int64_t rounds_ = 0;
};

}  // namespace fedrad::coordinator

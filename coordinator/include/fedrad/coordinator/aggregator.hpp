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
#include <map>
#include <string>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/site_agent/stats/local_table.hpp"
#include "fedrad/site_agent/stats/providers.hpp"

namespace fedrad::coordinator {

// The job id of a study on the wire (the coordinator's `study` job); the
// in-process aggregator counts its traffic with the same id.
inline constexpr char kStudyJobId[] = "study-1";

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
  // Traffic so far with each site, in bytes as encoded on the wire
  // (site_agent/stats/wire.hpp: ROUND_REQUEST to a site, ROUND_REPLY from
  // it; every site gets the same requests and replies of the same size). The
  // in-process aggregator reports what the wire would carry.
  virtual std::int64_t bytes_to_each_site() const { return 0; }
  virtual std::int64_t bytes_from_each_site() const { return 0; }
  // From now on, number rounds on the wire from offset + 1 on (offset +
  // this aggregator's rounds): a resumed study (round_journal.hpp) continues
  // the round ids of the rounds it replayed from its journal, so its
  // messages are those of an uninterrupted run. rounds() is unchanged.
  // Default: ignored (an aggregator that puts no round id anywhere).
  virtual void SetRoundIdOffset(std::int64_t offset) { (void)offset; }
};

// Sums over tables held in this process. The tables must outlive it.
class InProcessAggregator final : public Aggregator {
 public:
  // One table per site, as dataset "" (kInvalidArgument if there is no
  // table, the tables disagree on the number of features, or one fails
  // ValidateTable).
  static common::Result<InProcessAggregator> Create(
      std::vector<const site_agent::stats::LocalTable*> tables);
  // Several datasets per site (a study's models). Every site must hold the
  // same dataset names with the same number of features per dataset;
  // num_features() is that of dataset "" if present, else 0 (use a
  // ScopedAggregator, which knows its dataset's width).
  static common::Result<InProcessAggregator> CreateMulti(
      std::vector<const site_agent::stats::Datasets*> sites);

  int num_features() const override { return num_features_; }
  common::Result<std::vector<double>> Sum(const site_agent::stats::StatRequest& request) override;
  common::Result<std::vector<std::vector<double>>> SumBatch(
      const std::vector<site_agent::stats::StatRequest>& requests) override;
  std::int64_t rounds() const override { return rounds_; }
  // What the wire would carry: each round encoded as WireAggregator does
  // (job id kStudyJobId), see aggregator.cpp.
  std::int64_t bytes_to_each_site() const override { return bytes_to_; }
  std::int64_t bytes_from_each_site() const override { return bytes_from_; }
  void SetRoundIdOffset(std::int64_t offset) override { round_id_offset_ = offset - rounds_; }

 private:
  common::Result<std::vector<double>> SumOne(const site_agent::stats::StatRequest& request) const;
  common::Status CountTraffic(const std::vector<site_agent::stats::StatRequest>& requests,
                              const std::vector<std::vector<double>>& totals);

  InProcessAggregator(
      std::vector<std::map<std::string, const site_agent::stats::LocalTable*>> sites,
      int num_features)
      : sites_(std::move(sites)), num_features_(num_features) {}

  // Per site: dataset name -> table (not owned).
  std::vector<std::map<std::string, const site_agent::stats::LocalTable*>> sites_;
  int num_features_ = 0;
  std::int64_t rounds_ = 0;
  std::int64_t round_id_offset_ = 0;  // round id = rounds_ + round_id_offset_
  std::int64_t bytes_to_ = 0;
  std::int64_t bytes_from_ = 0;
};

// A view of another aggregator restricted to one dataset and, optionally,
// to the training part of one outer cross-validation fold: every request is
// rewritten by site_agent::stats::Scoped(request, dataset, outer_fold) and
// forwarded; rounds are the base's. The solvers run unchanged on the view
// (e.g. a whole model fit inside outer fold f of nested CV).
class ScopedAggregator final : public Aggregator {
 public:
  ScopedAggregator(Aggregator& base, std::string dataset, int num_features, int outer_fold = -1)
      : base_(base),
        dataset_(std::move(dataset)),
        num_features_(num_features),
        outer_fold_(outer_fold) {}

  int num_features() const override { return num_features_; }
  common::Result<std::vector<double>> Sum(const site_agent::stats::StatRequest& request) override;
  common::Result<std::vector<std::vector<double>>> SumBatch(
      const std::vector<site_agent::stats::StatRequest>& requests) override;
  std::int64_t rounds() const override { return base_.rounds(); }
  std::int64_t bytes_to_each_site() const override { return base_.bytes_to_each_site(); }
  std::int64_t bytes_from_each_site() const override { return base_.bytes_from_each_site(); }
  void SetRoundIdOffset(std::int64_t offset) override { base_.SetRoundIdOffset(offset); }

 private:
  Aggregator& base_;
  std::string dataset_;
  int num_features_ = 0;
  int outer_fold_ = -1;
};

// A view of another aggregator that fills missing cells (data_dictionary
// "missing": "impute", docs/methods.md §11) for ONE fit: every request is
// rewritten by site_agent::stats::WithFill(request, values, by_fold) and
// forwarded; rounds are the base's. `values` (one per feature of the
// dataset in scope) are those of the fit's training rows, by_fold[g] those
// of the training part of its CV fold g, used by every request (or part)
// on the rows of fold g. The values travel with every request, so a site
// keeps no imputation state (a resumed coordinator or a rejoining site
// needs none). Empty values forward the requests unchanged.
class ImputingAggregator final : public Aggregator {
 public:
  ImputingAggregator(Aggregator& base, Eigen::VectorXd values,
                     std::vector<Eigen::VectorXd> by_fold = {})
      : base_(base), values_(std::move(values)), by_fold_(std::move(by_fold)) {}

  int num_features() const override { return base_.num_features(); }
  common::Result<std::vector<double>> Sum(const site_agent::stats::StatRequest& request) override;
  common::Result<std::vector<std::vector<double>>> SumBatch(
      const std::vector<site_agent::stats::StatRequest>& requests) override;
  std::int64_t rounds() const override { return base_.rounds(); }
  std::int64_t bytes_to_each_site() const override { return base_.bytes_to_each_site(); }
  std::int64_t bytes_from_each_site() const override { return base_.bytes_from_each_site(); }
  void SetRoundIdOffset(std::int64_t offset) override { base_.SetRoundIdOffset(offset); }

 private:
  Aggregator& base_;
  Eigen::VectorXd values_;
  std::vector<Eigen::VectorXd> by_fold_;
};

}  // namespace fedrad::coordinator

// The Aggregator over the ZeroMQ transport: one round = one ROUND_REQUEST
// ("stats_batch", site_agent/stats/wire.hpp) to every site of the job and
// one ROUND_REPLY from each, summed element-wise. The solvers above it see
// only the sums. With options.secure (a study with secure aggregation, the
// default) every round is a secure round instead (docs/protocol.md 6.5): the
// sites' arrays arrive masked and only their sum is ever decoded.
//
// A round fails (kUnavailable naming the site) when a site's session is lost
// or it does not answer within round_timeout, kProtocolError naming the site
// on a malformed or mis-sized reply, and kFailedPrecondition with the site's
// message when the site answers with an ERROR (e.g. unknown dataset).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/session_manager.hpp"
#include "fedrad/protocols/secure_aggregation.hpp"

namespace fedrad::coordinator {

struct WireAggregatorOptions {
  std::string job_id;
  std::vector<std::string> sites;               // the job's sites (all must answer)
  std::map<std::string, int> dataset_features;  // p of each dataset (ResultSize)
  std::chrono::milliseconds round_timeout{600000};
  // Optional hooks (the audit trail): on_round_start before the round's
  // request is sent, on_round_end after every site answered. An error fails
  // the round.
  std::function<common::Status(std::int64_t round_id)> on_round_start;
  std::function<common::Status(std::int64_t round_id)> on_round_end;
  // Secure aggregation (docs/protocol.md 6.5): when set, every round runs
  // the four exchanges of a secure round. secure->sites are the study spec's
  // train sites in spec order (the sites' own configurations are built from
  // the same list); `sites` must be among them (all of them, or those left
  // after a site was excluded).
  std::optional<protocols::SecAggConfig> secure;
  // Round ids shared by several aggregators of one job (the training sites',
  // each external site's, the external sites' pooled): when set, each round
  // takes the id ++*shared_round_ids, so ids stay unique and increasing
  // within the job (the sites cache replies and order secure rounds by id);
  // else this aggregator's own count. rounds() counts this aggregator's
  // rounds either way.
  std::int64_t* shared_round_ids = nullptr;
};

class WireAggregator final : public Aggregator {
 public:
  WireAggregator(SessionManager* sessions, WireAggregatorOptions options);

  int num_features() const override;  // of dataset "" if declared, else 0
  common::Result<std::vector<double>> Sum(const site_agent::stats::StatRequest& request) override;
  common::Result<std::vector<std::vector<double>>> SumBatch(
      const std::vector<site_agent::stats::StatRequest>& requests) override;
  std::int64_t rounds() const override { return rounds_; }
  std::int64_t bytes_to_each_site() const override { return bytes_to_; }
  std::int64_t bytes_from_each_site() const override { return bytes_from_; }
  // Own round ids continue from offset + 1 (a resumed study); with
  // options.shared_round_ids the owner of that counter sets it instead.
  void SetRoundIdOffset(std::int64_t offset) override { round_id_offset_ = offset - rounds_; }

  // The site that made the last round fail ("" if none or not one site's
  // fault), and whether it failed by a disclosure-gate refusal (ERROR code
  // policy_refused, status kPermissionDenied). The study job uses these to
  // stop or to restart without the site (privacy.on_refusal).
  const std::string& last_failed_site() const { return last_failed_site_; }
  bool last_failure_was_refusal() const { return last_failure_was_refusal_; }

 private:
  SessionManager* sessions_;
  WireAggregatorOptions options_;
  std::int64_t rounds_ = 0;
  std::int64_t round_id_offset_ = 0;
  std::int64_t bytes_to_ = 0;
  std::int64_t bytes_from_ = 0;
  std::string last_failed_site_;
  bool last_failure_was_refusal_ = false;
  std::optional<protocols::ServerSession> secure_session_;  // created at the first secure round

  common::Result<std::vector<std::vector<double>>> SecureSumBatch(
      std::int64_t round_id, const std::vector<site_agent::stats::StatRequest>& requests,
      const std::vector<std::size_t>& sizes, protocols::RoundRequest message);
};

}  // namespace fedrad::coordinator

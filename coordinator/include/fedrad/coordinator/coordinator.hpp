// The coordinator process: loads its identity, binds the CurveZMQ ROUTER,
// admits the configured sites and runs a job over them.
//
// Job in this release: `cohort_size` -- every admitted site is offered the
// job, asked for its number of cases in one round, and the coordinator
// reports the per-site counts and their total. Later jobs (federated LASSO,
// SVM, evaluation) reuse the same session plumbing.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/coordinator/coordinator_config.hpp"

namespace fedrad::coordinator {

struct CohortSummary {
  std::map<std::string, std::int64_t> counts;   // per site that answered
  std::map<std::string, std::string> declined;  // site -> reason
  std::int64_t total = 0;
  bool complete = false;  // every expected site answered
};

// Runs the cohort-size job to completion. Prints a human summary to `out`.
// Returns the summary, or kTimeout (job_timeout_s passed; names the sites
// still missing) or kCancelled (`stop` became true).
common::Result<CohortSummary> RunCoordinator(const CoordinatorConfig& config,
                                             const std::atomic<bool>* stop, std::ostream& out);

}  // namespace fedrad::coordinator

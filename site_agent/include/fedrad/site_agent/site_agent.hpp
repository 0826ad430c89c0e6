// The site agent process: connects out to the coordinator over CurveZMQ,
// keeps the session alive (heartbeats, reconnect with back-off) and answers
// the coordinator's jobs from local data. Patient rows never leave: replies
// are aggregate statistics only.
//
// Statistics in this release: `cohort_size` (the number of data rows of the
// cohort file named in the site config).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "fedrad/common/status.hpp"
#include "fedrad/site_agent/site_config.hpp"

namespace fedrad::site_agent {

struct SiteRunOptions {
  // Exit (OK) when the coordinator closes the session with BYE instead of
  // reconnecting to wait for the next study (demo, tests, cron use).
  bool exit_after_bye = false;
};

// Counts the data rows of a CSV cohort file: non-empty lines after the header
// line. Errors name the file.
common::Result<std::int64_t> CountCohortRows(const std::string& path);

// Runs until `stop` is set, a fatal error, or (with exit_after_bye) the end
// of the study. Fatal errors from the coordinator (e.g. version mismatch,
// key not authorised) come back as non-OK statuses naming the cause.
common::Status RunSite(const SiteConfig& config, const SiteRunOptions& options,
                       const std::atomic<bool>* stop);

}  // namespace fedrad::site_agent

// The coordinator's configuration file (docs/configuration.md, "coordinator").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fedrad/common/logging.hpp"
#include "fedrad/common/status.hpp"

namespace fedrad::coordinator {

// One admitted site: the block `fedrad keygen` prints, pasted as-is.
struct SiteEntry {
  std::string id;
  std::string curve_public_key;  // Z85, 40 characters
  std::string sign_public_key;   // hex, 64 characters
};

struct CoordinatorConfig {
  std::string source_path;  // the file this was read from
  std::string id = "coordinator";
  std::string bind;             // ZeroMQ endpoint, e.g. "tcp://0.0.0.0:7700"
  std::string secret_key_file;  // from `fedrad keygen`; relative to the config file
  std::int64_t heartbeat_interval_ms = 1000;
  std::int64_t heartbeat_liveness = 5;
  std::int64_t max_message_bytes = 64 << 20;
  std::int64_t job_timeout_s = 600;
  // How many of the listed sites must answer before a job runs (0 = all).
  std::int64_t expected_sites = 0;
  std::string ready_file;  // optional: the bound endpoint is written here
  // The job to run: "cohort_size" (default) or "study" (needs the "study"
  // section: the study spec, the output folder and a per-round timeout).
  std::string job = "cohort_size";
  std::string study_spec;
  std::string study_out_dir;
  std::int64_t study_round_timeout_s = 600;
  common::LogOptions log;
  // Optional "audit" section: the audit log (docs/audit.md) every message is
  // written to. Default: "<id>.audit.jsonl" in the config file's folder.
  std::string audit_log;
  std::vector<SiteEntry> sites;
};

// Reads and validates a coordinator config. Every error names the file and
// the JSON pointer; all problems are reported in one pass. Relative paths
// are resolved against the config file's directory.
common::Result<CoordinatorConfig> LoadCoordinatorConfig(const std::string& path);

}  // namespace fedrad::coordinator

// The coordinator's configuration file (docs/configuration.md, "coordinator").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fedrad/common/logging.hpp"
#include "fedrad/common/status.hpp"
#include "fedrad/protocols/study_spec.hpp"

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
  // The round journal (coordinator/round_journal.hpp): durable study state.
  // Default "<out_dir>/coordinator.journal".
  std::string study_journal;
  // How long the study waits for a site that dropped out of a round to come
  // back when it cannot continue without it (privacy.min_sites).
  std::int64_t study_rejoin_timeout_s = 300;
  common::LogOptions log;
  // Optional "audit" section: the audit log (docs/audit.md) every message is
  // written to. Default: "<id>.audit.jsonl" in the config file's folder.
  std::string audit_log;
  std::vector<SiteEntry> sites;
  // Not from the file: applied to the loaded study spec before the study
  // runs (the CLI sets site_agent::ResolveStudyFeatureDictionary, which fills
  // the feature dictionary of a spec with a data_dictionary; the coordinator
  // library does not link the radiomics). Empty: none.
  std::function<common::Status(protocols::StudySpec*)> prepare_spec;
  // Not from the file (`fedrad coordinator --resume`): continue the study
  // recorded in study_journal instead of starting a new one.
  bool resume = false;
};

// Reads and validates a coordinator config. Every error names the file and
// the JSON pointer; all problems are reported in one pass. Relative paths
// are resolved against the config file's directory.
common::Result<CoordinatorConfig> LoadCoordinatorConfig(const std::string& path);

}  // namespace fedrad::coordinator

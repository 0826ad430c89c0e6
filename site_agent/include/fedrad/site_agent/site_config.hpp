// The site agent's configuration file (docs/configuration.md, "site").
#pragma once

#include <cstdint>
#include <string>

#include "fedrad/common/logging.hpp"
#include "fedrad/common/status.hpp"

namespace fedrad::site_agent {

struct SiteConfig {
  std::string source_path;
  std::string id;                      // must equal the name in the key files
  std::string secret_key_file;         // relative to the config file
  std::string coordinator_endpoint;    // e.g. "tcp://coordinator.example.org:7700"
  std::string coordinator_public_key;  // Z85, pinned
  std::string cohort_file;             // CSV with a header line and one row per case
  // "data" for a study with a data dictionary (study_data.hpp): the clinical
  // CSV, and the radiomics as a manifest to extract (images + masks) or a
  // precomputed `fedrad extract` table (at most one of the two); work_dir
  // holds the extraction and its cache (default "<config dir>/work/<site id>").
  std::string data_clinical;
  std::string data_manifest;
  std::string data_features;
  std::string data_work_dir;
  int data_extract_jobs = 1;                 // "extract_jobs": extraction threads, 1..64
  std::int64_t hello_timeout_ms = 3000;      // wait this long for WELCOME
  std::int64_t reconnect_interval_ms = 500;  // first back-off
  std::int64_t reconnect_max_ms = 10000;     // back-off cap
  std::int64_t max_message_bytes = 64 << 20;
  // Optional "study" section: the study spec this site approved (a
  // JOB_OFFER of kind "study" must carry its SHA-256) and, for a spec
  // without a data dictionary, the site's complete study table (CSV, see
  // stats/feature_table.hpp). "features" may be absent when data.clinical is
  // given.
  std::string study_spec;
  std::string study_features;
  common::LogOptions log;
  // "policy": this site's disclosure policy and study approvals
  // (site_agent/policy.hpp), relative to the config file. Default:
  // "policy.json" beside the config file. A missing file means the built-in
  // default policy (approval required); a malformed one stops the site.
  std::string policy_file;
  // Optional "audit" section: the audit log (docs/audit.md) every message is
  // written to. Default: "<id>.audit.jsonl" in the config file's folder.
  std::string audit_log;
};

common::Result<SiteConfig> LoadSiteConfig(const std::string& path);

}  // namespace fedrad::site_agent

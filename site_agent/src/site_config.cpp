#include "fedrad/site_agent/site_config.hpp"

#include "fedrad/common/config_common.hpp"
#include "fedrad/common/json_reader.hpp"
#include "fedrad/common/keys.hpp"

namespace fedrad::site_agent {

using common::ObjectReader;

common::Result<SiteConfig> LoadSiteConfig(const std::string& path) {
  FEDRAD_ASSIGN_OR_RETURN(nlohmann::json json, common::ReadJsonFile(path));
  common::ErrorList errors(path);
  SiteConfig cfg;
  cfg.source_path = path;

  ObjectReader root(json, "", &errors);
  ObjectReader site = root.Object("site");
  cfg.id = site.String("id");
  if (!cfg.id.empty()) {
    if (auto s = common::ValidatePartyName(cfg.id); !s.ok()) site.Error("id", s.message());
  }
  cfg.secret_key_file = common::ResolveConfigPath(path, site.String("secret_key_file"));
  site.Finish();

  ObjectReader coord = root.Object("coordinator");
  cfg.coordinator_endpoint = coord.String("endpoint");
  if (!cfg.coordinator_endpoint.empty() && cfg.coordinator_endpoint.rfind("tcp://", 0) != 0) {
    coord.Error("endpoint",
                "expected a tcp:// endpoint such as \"tcp://coordinator:7700\", got \"" +
                    cfg.coordinator_endpoint + "\"");
  }
  cfg.coordinator_public_key = coord.String("public_key");
  if (!cfg.coordinator_public_key.empty()) {
    if (auto s = common::ValidateCurvePublicKey(cfg.coordinator_public_key); !s.ok()) {
      coord.Error("public_key", s.message());
    }
  }
  coord.Finish();

  // A site needs a cohort file (cohort_size jobs), a study section, or both.
  const bool has_study = root.Has("study");
  ObjectReader data = has_study ? root.OptionalObject("data") : root.Object("data");
  cfg.cohort_file = common::ResolveConfigPath(
      path, has_study ? data.String("cohort_file", "") : data.String("cohort_file"));
  const std::string clinical = data.String("clinical", "");
  const std::string manifest = data.String("manifest", "");
  const std::string features = data.String("features", "");
  cfg.data_clinical = common::ResolveConfigPath(path, clinical);
  cfg.data_manifest = common::ResolveConfigPath(path, manifest);
  cfg.data_features = common::ResolveConfigPath(path, features);
  // Default per site: several sites' configs may share a folder (a demo).
  cfg.data_work_dir = common::ResolveConfigPath(path, data.String("work_dir", "work/" + cfg.id));
  cfg.data_extract_jobs = static_cast<int>(data.Int("extract_jobs", 1, 1, 64));
  if (!manifest.empty() && !features.empty()) {
    data.Error("features",
               "give the radiomics either as a manifest to extract (\"manifest\") or as a "
               "precomputed table (\"features\"), not both");
  }
  if ((!manifest.empty() || !features.empty()) && clinical.empty()) {
    data.Error("clinical",
               "missing: the radiomics (\"manifest\" / \"features\") are joined to a clinical "
               "CSV (\"clinical\") by case id");
  }
  data.Finish();

  ObjectReader study = root.OptionalObject("study");
  if (has_study) {
    cfg.study_spec = common::ResolveConfigPath(path, study.String("spec"));
    // The complete study table (specs without a data dictionary); optional
    // when the data section names a clinical CSV.
    cfg.study_features = common::ResolveConfigPath(
        path, clinical.empty() ? study.String("features") : study.String("features", ""));
  }
  study.Finish();

  ObjectReader net = root.OptionalObject("network");
  cfg.hello_timeout_ms = net.Int("hello_timeout_ms", 3000, 100, 600000);
  cfg.reconnect_interval_ms = net.Int("reconnect_interval_ms", 500, 10, 600000);
  cfg.reconnect_max_ms = net.Int("reconnect_max_ms", 10000, 10, 3600000);
  cfg.max_message_bytes = net.Int("max_message_bytes", 64 << 20, 1024, INT32_MAX);
  if (cfg.reconnect_max_ms < cfg.reconnect_interval_ms) {
    net.Error("reconnect_max_ms", "must be at least reconnect_interval_ms (" +
                                      std::to_string(cfg.reconnect_interval_ms) + ")");
  }
  net.Finish();

  cfg.log = common::ReadLogSection(root, path);

  const std::string policy = root.String("policy", "policy.json");
  if (policy.empty()) {
    root.Error("policy",
               "expected the path of this site's policy file (default \"policy.json\" beside "
               "this config)");
  }
  cfg.policy_file = common::ResolveConfigPath(path, policy);

  ObjectReader audit = root.OptionalObject("audit");
  cfg.audit_log = common::ResolveConfigPath(path, audit.String("log", cfg.id + ".audit.jsonl"));
  audit.Finish();
  root.Finish();
  FEDRAD_RETURN_IF_ERROR(errors.ToStatus());
  return cfg;
}

}  // namespace fedrad::site_agent

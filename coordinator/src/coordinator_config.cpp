#include "fedrad/coordinator/coordinator_config.hpp"

#include <set>

#include "fedrad/common/config_common.hpp"
#include "fedrad/common/json_reader.hpp"
#include "fedrad/common/keys.hpp"

namespace fedrad::coordinator {

using common::ObjectReader;

common::Result<CoordinatorConfig> LoadCoordinatorConfig(const std::string& path) {
  FEDRAD_ASSIGN_OR_RETURN(nlohmann::json json, common::ReadJsonFile(path));
  common::ErrorList errors(path);
  CoordinatorConfig cfg;
  cfg.source_path = path;

  ObjectReader root(json, "", &errors);
  ObjectReader coord = root.Object("coordinator");
  cfg.id = coord.String("id", "coordinator");
  if (!cfg.id.empty()) {
    if (auto s = common::ValidatePartyName(cfg.id); !s.ok()) coord.Error("id", s.message());
  }
  cfg.bind = coord.String("bind");
  if (!cfg.bind.empty() && cfg.bind.rfind("tcp://", 0) != 0) {
    coord.Error("bind", "expected a tcp:// endpoint such as \"tcp://0.0.0.0:7700\", got \"" +
                            cfg.bind + "\"");
  }
  cfg.secret_key_file = common::ResolveConfigPath(path, coord.String("secret_key_file"));
  cfg.heartbeat_interval_ms = coord.Int("heartbeat_interval_ms", 1000, 10, 600000);
  cfg.heartbeat_liveness = coord.Int("heartbeat_liveness", 5, 1, 100);
  cfg.max_message_bytes = coord.Int("max_message_bytes", 64 << 20, 1024, INT32_MAX);
  cfg.job_timeout_s = coord.Int("job_timeout_s", 600, 1, 7 * 24 * 3600);
  cfg.expected_sites = coord.Int("expected_sites", 0, 0, 10000);
  cfg.ready_file = common::ResolveConfigPath(path, coord.String("ready_file", ""));
  cfg.job = coord.Choice("job", {"cohort_size", "study"}, "cohort_size");
  coord.Finish();

  ObjectReader study = cfg.job == "study" ? root.Object("study") : root.OptionalObject("study");
  if (cfg.job == "study") {
    cfg.study_spec = common::ResolveConfigPath(path, study.String("spec"));
    cfg.study_out_dir = common::ResolveConfigPath(path, study.String("out_dir"));
  } else if (root.Has("study")) {
    cfg.study_spec = common::ResolveConfigPath(path, study.String("spec", ""));
    cfg.study_out_dir = common::ResolveConfigPath(path, study.String("out_dir", ""));
  }
  cfg.study_round_timeout_s = study.Int("round_timeout_s", 600, 1, 7 * 24 * 3600);
  cfg.study_rejoin_timeout_s = study.Int("rejoin_timeout_s", 300, 1, 7 * 24 * 3600);
  {
    const std::string journal = study.String("journal", "");
    if (!journal.empty()) {
      cfg.study_journal = common::ResolveConfigPath(path, journal);
    } else if (!cfg.study_out_dir.empty()) {
      cfg.study_journal = cfg.study_out_dir + "/coordinator.journal";
    }
  }
  study.Finish();

  cfg.log = common::ReadLogSection(root, path);

  ObjectReader audit = root.OptionalObject("audit");
  cfg.audit_log = common::ResolveConfigPath(path, audit.String("log", cfg.id + ".audit.jsonl"));
  audit.Finish();

  std::set<std::string> ids;
  std::set<std::string> keys;
  auto sites = root.ObjectArray("sites");
  if (root.Has("sites") && sites.empty()) root.Error("sites", "expected at least one site");
  for (ObjectReader& site : sites) {
    SiteEntry entry;
    entry.id = site.String("id");
    entry.curve_public_key = site.String("curve_public_key");
    entry.sign_public_key = site.String("sign_public_key");
    if (!entry.id.empty()) {
      if (auto s = common::ValidatePartyName(entry.id); !s.ok()) {
        site.Error("id", s.message());
      } else if (!ids.insert(entry.id).second) {
        site.Error("id", "site id \"" + entry.id + "\" is listed twice");
      }
    }
    if (!entry.curve_public_key.empty()) {
      if (auto s = common::ValidateCurvePublicKey(entry.curve_public_key); !s.ok()) {
        site.Error("curve_public_key", s.message());
      } else if (!keys.insert(entry.curve_public_key).second) {
        site.Error("curve_public_key", "this key is already listed for another site");
      }
    }
    if (!entry.sign_public_key.empty()) {
      if (auto s = common::ValidateSignPublicKey(entry.sign_public_key); !s.ok()) {
        site.Error("sign_public_key", s.message());
      }
    }
    site.Finish();
    cfg.sites.push_back(std::move(entry));
  }
  if (cfg.expected_sites > static_cast<std::int64_t>(cfg.sites.size()) && !cfg.sites.empty()) {
    coord.Error("expected_sites", "is " + std::to_string(cfg.expected_sites) + " but only " +
                                      std::to_string(cfg.sites.size()) + " sites are listed");
  }
  root.Finish();
  FEDRAD_RETURN_IF_ERROR(errors.ToStatus());
  return cfg;
}

}  // namespace fedrad::coordinator

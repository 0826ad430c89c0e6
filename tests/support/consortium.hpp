// A small federated study on 127.0.0.1 for the integration tests: a
// coordinator and its sites, each with keys made by `fedrad keygen`, a
// cohort CSV, a config file and a log file in one TempDir.
//
// Usage (inside a TEST body):
//   TempDir dir;
//   Consortium study(dir, {.sites = {{"site_a", 80}, {"site_b", 75}}});
//   ASSERT_NO_FATAL_FAILURE(study.Setup());
//   ASSERT_NO_FATAL_FAILURE(study.StartCoordinator());
//   auto site_a = study.StartSite("site_a");
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace fedrad::integration {

struct SiteSpec {
  std::string id;
  std::int64_t cases = 0;
};

struct ConsortiumOptions {
  // Sites on the coordinator's allowlist, each with a config and a cohort.
  std::vector<SiteSpec> sites{};
  // Parties with keys and a site config who are NOT on the allowlist.
  std::vector<SiteSpec> strangers{};
  // Keys on the allowlist without a site config (driven from the test).
  std::vector<std::string> extra_allowlisted{};
  std::int64_t expected_sites = 0;  // 0 = every listed site
  std::optional<std::int64_t> max_message_bytes{};
  std::int64_t heartbeat_interval_ms = 200;
  std::int64_t heartbeat_liveness = 5;
  std::int64_t job_timeout_s = 45;
  std::int64_t hello_timeout_ms = 1000;
  std::int64_t reconnect_interval_ms = 200;
  std::int64_t reconnect_max_ms = 1000;
};

class Consortium {
 public:
  // Overall limit for a site or coordinator to finish a job in these tests.
  static constexpr milliseconds kJobWait{40000};
  static constexpr milliseconds kStartWait{10000};

  Consortium(const TempDir& dir, ConsortiumOptions options);

  // Generates every key, writes cohorts and configs. Use with
  // ASSERT_NO_FATAL_FAILURE.
  void Setup();
  // Starts `fedrad coordinator` and waits for its ready file (endpoint).
  void StartCoordinator();
  // Starts `fedrad site` for a site or stranger. `instance` makes the output
  // file names unique when a site is started again. Logs go to the same
  // log file (appended).
  std::unique_ptr<Process> StartSite(const std::string& id, bool exit_after_study = true,
                                     const std::string& instance = "");

  // SIGKILLs the coordinator and starts a fresh one on the same endpoint
  // (no state survives: the job starts over).
  void KillAndRestartCoordinator();

  // Points every site config at `endpoint` instead (a coordinator run by the
  // test itself, for site-side tests).
  void UseCoordinatorEndpoint(const std::string& endpoint);

  Process& coordinator() { return *coordinator_; }
  const std::string& endpoint() const { return endpoint_; }
  std::uint16_t port() const;
  const std::string& coordinator_public_key() const;
  std::string SecretKeyFile(const std::string& party) const;
  std::string PublicKey(const std::string& party) const;
  // The Ed25519 key `fedrad keygen` made for `party` (64 hex digits).
  std::string SignPublicKey(const std::string& party) const;
  // A study spec's "sites" list (docs/configuration.md): each of `ids` with
  // its generated sign_public_key and role "train", in this order; secure
  // aggregation (on by default) needs it in every live study's spec.
  nlohmann::json StudySites(const std::vector<std::string>& ids) const;
  std::string CoordinatorLog() const;
  std::string SiteLog(const std::string& id) const;
  std::string SiteConfig(const std::string& id) const;
  // The site's policy file ("<id>.policy.json"; absent = the default policy,
  // which requires approval) and `fedrad site approve SPEC` into it (use with
  // ASSERT_NO_FATAL_FAILURE).
  std::string SitePolicy(const std::string& id) const;
  void ApproveStudy(const std::string& id, const std::string& spec) const;
  // Sum of the cases of the allowlisted sites.
  std::int64_t TotalCases() const;
  const TempDir& dir() const { return dir_; }

  // How long a site started with --exit-after-study may take to exit once
  // the study is over.
  static constexpr milliseconds kSiteExitWait{15000};
  // Waits for such a site to exit and expects exit code 0 (use with
  // ASSERT_NO_FATAL_FAILURE).
  static void ExpectSiteFinished(Process* site);

  // Waits for the coordinator to exit (kJobWait) and checks exit code 0 and a
  // summary line "total <total>  (<sites> sites)". Use with
  // ASSERT_NO_FATAL_FAILURE / EXPECT_NO_FATAL_FAILURE.
  void ExpectCoordinatorTotal(std::int64_t total, std::size_t sites);
  // Site -> count from the per-site lines of the coordinator's summary.
  std::map<std::string, std::int64_t> SummaryCounts() const;

 private:
  struct PublicKeys {
    std::string curve;
    std::string sign;
  };
  void Keygen(const std::string& party);
  void WriteCohort(const SiteSpec& site);
  void WriteSiteConfig(const SiteSpec& site);
  void WriteCoordinatorConfig(const std::string& bind = "tcp://127.0.0.1:*");

  const TempDir& dir_;
  ConsortiumOptions options_;
  std::map<std::string, PublicKeys> keys_;
  std::unique_ptr<Process> coordinator_;
  std::string endpoint_;
};

// Starts `fedrad coordinator --config DIR/coordinator.json` (plus `extra`,
// e.g. "--resume") as a process the test owns, outside any Consortium, and
// waits (Consortium::kStartWait) for its ready file; `endpoint` (may be null)
// gets the endpoint it names ("" if none was written in time). nullptr if
// the process could not start.
std::unique_ptr<Process> StartCoordinatorProcess(const TempDir& dir, const std::string& name,
                                                 const std::vector<std::string>& extra,
                                                 std::string* endpoint);

}  // namespace fedrad::integration

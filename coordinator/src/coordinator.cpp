#include "fedrad/coordinator/coordinator.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "fedrad/common/audit_log.hpp"
#include "fedrad/common/files.hpp"
#include "fedrad/common/keys.hpp"
#include "fedrad/common/logging.hpp"
#include "fedrad/common/sodium_init.hpp"
#include "fedrad/common/version.hpp"
#include "fedrad/coordinator/pipeline.hpp"
#include "fedrad/coordinator/round_journal.hpp"
#include "fedrad/coordinator/session_manager.hpp"
#include "fedrad/coordinator/study_results.hpp"
#include "fedrad/coordinator/study_runner.hpp"
#include "fedrad/coordinator/wire_aggregator.hpp"
#include "fedrad/protocols/audit_observer.hpp"
#include "fedrad/protocols/study_spec.hpp"
#include "fedrad/protocols/transport.hpp"
#include "fedrad/site_agent/stats/secure_round.hpp"

namespace fedrad::coordinator {

using common::Log;
using common::LogLevel;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kJobKind = "cohort_size";
constexpr std::int64_t kMaxCohortSize = 100000000;

enum class SiteState { kWaiting, kOffered, kRequested, kDone, kDeclined };

struct SiteProgress {
  SiteState state = SiteState::kWaiting;
  std::int64_t round_id = 0;
};

// Checks a cohort_size reply and returns the count.
common::Result<std::int64_t> ReadCount(const protocols::RoundReply& reply) {
  if (reply.arrays.size() != 1 || reply.arrays[0].name != "n" ||
      reply.arrays[0].dtype != protocols::DType::kI64 || reply.arrays[0].i64.size() != 1) {
    return common::ProtocolError(
        "cohort_size reply must hold exactly one i64 array \"n\" of shape [1]");
  }
  const std::int64_t n = reply.arrays[0].i64[0];
  if (n < 0 || n > kMaxCohortSize) {
    return common::ProtocolError("cohort_size n = " + std::to_string(n) + " is outside [0, " +
                                 std::to_string(kMaxCohortSize) + "]");
  }
  return n;
}

void PrintSummary(const CohortSummary& summary, const std::string& job_id, std::ostream& out) {
  out << "job " << job_id << " (" << kJobKind << ") "
      << (summary.complete ? "completed" : "incomplete") << "\n";
  std::size_t width = 5;
  for (const auto& [site, n] : summary.counts) width = std::max(width, site.size());
  for (const auto& [site, why] : summary.declined) width = std::max(width, site.size());
  char line[256];
  for (const auto& [site, n] : summary.counts) {
    std::snprintf(line, sizeof(line), "  %-*s %10lld\n", static_cast<int>(width), site.c_str(),
                  static_cast<long long>(n));
    out << line;
  }
  for (const auto& [site, why] : summary.declined) {
    out << "  " << site << std::string(width - site.size(), ' ') << "   declined: " << why << "\n";
  }
  std::snprintf(line, sizeof(line), "  %-*s %10lld  (%zu sites)\n", static_cast<int>(width),
                "total", static_cast<long long>(summary.total), summary.counts.size());
  out << line;
  out.flush();
}

// How long the closing handshake waits for the sites' BYE.
constexpr std::chrono::milliseconds kDrainTimeout{5000};

// The party's audit trail (docs/audit.md): the log and the transport's
// observer that writes every message to it.
struct Audit {
  common::AuditLog* log = nullptr;
  protocols::AuditObserver* observer = nullptr;
  // The first audit failure (a failed write stops the coordinator).
  common::Status Check() const { return observer->status(); }
  common::Status Record(const std::string& event, const std::string& study, std::int64_t round,
                        const std::string& detail, const std::string& peer = "") const {
    FEDRAD_RETURN_IF_ERROR(Check());
    common::AuditEntry entry;
    entry.event = event;
    entry.peer = peer;
    entry.study = study;
    entry.round = round;
    entry.detail = detail;
    auto appended = log->Append(std::move(entry));
    return appended.ok() ? common::Status::Ok()
                         : appended.status().Wrap("audit log " + log->path());
  }
};

// Ends job `job_id` at every connected site (JOB_END) without closing.
void SendJobEnd(SessionManager& sessions, const std::string& job_id, bool completed,
                const std::string& summary) {
  protocols::JobEnd end;
  end.job_id = job_id;
  end.outcome = completed ? "completed" : "aborted";
  end.summary = summary.substr(0, 4000);
  for (const std::string& site : sessions.ConnectedSites()) (void)sessions.Send(site, end);
}

// Ends the job at every connected site and closes the sessions.
void EndJob(SessionManager& sessions, const std::string& job_id, bool completed,
            const std::string& summary, const std::string& bye) {
  SendJobEnd(sessions, job_id, completed, summary);
  sessions.CloseAllAndDrain(bye, kDrainTimeout);
}

// The JOB_OFFER of a study job.
protocols::JobOffer StudyOffer(const protocols::StudySpec& spec, const std::string& job_id) {
  protocols::JobOffer offer;
  offer.job_id = job_id;
  offer.kind = "study";
  offer.description = "Study " + spec.study_id + ": " + std::to_string(spec.models.size()) +
                      " model(s), LASSO with cross-validation and a linear SVM, on "
                      "aggregate statistics of the site's feature table.";
  offer.parameters = {{"study_id", spec.study_id}, {"spec_sha256", spec.sha256}};
  return offer;
}

// The first provenance field (docs/protocol.md 4.4) on which the sites
// differ, as "radiomics_params_sha256: hospital_a has \"..\", hospital_b has
// \"..\"" (sites grouped by value), or "" when they all agree. A missing or
// non-string field counts as "".
std::string ProvenanceDifference(const std::vector<std::string>& sites,
                                 const std::map<std::string, nlohmann::json>& provenance) {
  for (const char* field :
       {"fedrad_version", "radiomics_params_sha256", "data_dictionary_sha256"}) {
    std::map<std::string, std::vector<std::string>> by_value;  // value -> sites
    for (const std::string& site : sites) {
      std::string value;
      const auto it = provenance.find(site);
      if (it != provenance.end() && it->second.is_object() && it->second.contains(field) &&
          it->second[field].is_string()) {
        value = it->second[field].get<std::string>();
      }
      by_value[value].push_back(site);
    }
    if (by_value.size() <= 1) continue;
    std::string text = std::string(field) + " differs:";
    bool first = true;
    for (const auto& [value, holders] : by_value) {
      std::string names;
      for (const std::string& site : holders) names += (names.empty() ? "" : ", ") + site;
      text += std::string(first ? " " : "; ") + names + (holders.size() == 1 ? " has " : " have ") +
              (value.empty() ? std::string("none") : "\"" + value + "\"");
      first = false;
    }
    return text;
  }
  return {};
}

// Offers study job `job_id` and waits until enough sites accepted it. With
// `restart_sites` null (the first job) every site that connects is offered
// the job until `expected` accepted; otherwise (a restart without a site
// that refused, privacy.on_refusal "continue") exactly those connected sites
// are offered it and all must accept. A decline aborts the study. Returns
// the accepting sites in the coordinator config's order.
common::Result<std::vector<std::string>> GatherStudySites(
    const CoordinatorConfig& config, SessionManager& sessions, const Audit& audit,
    const protocols::StudySpec& spec, const std::string& job_id,
    const std::vector<std::string>* restart_sites, const std::atomic<bool>* stop,
    std::map<std::string, nlohmann::json>* provenance_out = nullptr) {
  const std::size_t expected = restart_sites != nullptr ? restart_sites->size()
                               : config.expected_sites > 0
                                   ? static_cast<std::size_t>(config.expected_sites)
                                   : config.sites.size();
  std::set<std::string> offered;
  std::set<std::string> accepted;
  std::map<std::string, nlohmann::json> provenance;  // JOB_ACCEPT provenance (4.4) per site
  if (restart_sites != nullptr) {
    for (const std::string& site : *restart_sites) {
      if (auto s = sessions.Send(site, StudyOffer(spec, job_id)); !s.ok()) {
        EndJob(sessions, job_id, false, "site " + site + " is gone", "study aborted");
        return common::Unavailable("study " + spec.study_id + ": cannot offer job " + job_id +
                                   " (the restart without the refusing site) to site " + site +
                                   ": " + s.message());
      }
      offered.insert(site);
    }
  }
  const auto deadline = Clock::now() + std::chrono::seconds(config.job_timeout_s);
  while (accepted.size() < expected) {
    if (stop != nullptr && stop->load()) {
      sessions.CloseAll("coordinator shutting down");
      return common::Cancelled("coordinator stopped by a signal before the study started");
    }
    if (Clock::now() > deadline) {
      std::string missing;
      for (const auto& site : config.sites) {
        if (accepted.count(site.id) == 0) missing += (missing.empty() ? "" : ", ") + site.id;
      }
      sessions.CloseAll("job timed out");
      return common::TimeoutError(
          "study " + spec.study_id + ": only " + std::to_string(accepted.size()) + " of " +
          std::to_string(expected) + " sites accepted job " + job_id + " within " +
          std::to_string(config.job_timeout_s) + " s; not accepted: " + missing);
    }
    std::optional<SiteMessage> incoming = sessions.Poll(std::chrono::milliseconds(100));
    if (auto s = audit.Check(); !s.ok()) {
      sessions.CloseAll("coordinator audit log failed");
      return s;
    }
    for (const std::string& site : sessions.TakeLostSessions()) {
      if (restart_sites != nullptr && offered.count(site) > 0) {
        EndJob(sessions, job_id, false, "site " + site + " was lost", "study aborted");
        return common::Unavailable("study " + spec.study_id + ": site " + site +
                                   " was lost before it accepted job " + job_id);
      }
      offered.erase(site);
      if (accepted.erase(site) > 0) {
        Log(LogLevel::kWarn, "coordinator", "site lost before the study started; will offer again",
            {{"site", site}, {"job", job_id}});
      }
    }
    for (const std::string& site : sessions.TakeNewSessions()) {
      if (restart_sites != nullptr) continue;  // a restart offers only the remaining sites
      accepted.erase(site);
      if (sessions.Send(site, StudyOffer(spec, job_id)).ok()) offered.insert(site);
    }
    if (!incoming) continue;
    const std::string& site = incoming->site_id;
    const protocols::Body& body = incoming->message.body;
    if (const auto* accept = std::get_if<protocols::JobAccept>(&body)) {
      if (accept->job_id != job_id || offered.count(site) == 0) continue;
      accepted.insert(site);
      provenance[site] = accept->provenance;
      Log(LogLevel::kInfo, "coordinator", "site accepted the study",
          {{"site", site},
           {"job", job_id},
           {"accepted", std::to_string(accepted.size()) + "/" + std::to_string(expected)}});
    } else if (const auto* decline = std::get_if<protocols::JobDecline>(&body)) {
      if (decline->job_id != job_id) continue;
      Log(LogLevel::kError, "coordinator", "site declined the study",
          {{"site", site}, {"job", job_id}, {"reason", decline->reason}});
      EndJob(sessions, job_id, false, "site " + site + " declined the study", "study aborted");
      return common::FailedPrecondition("study " + spec.study_id + ": site " + site +
                                        " declined: " + decline->reason);
    } else if (const auto* error = std::get_if<protocols::Error>(&body)) {
      Log(LogLevel::kWarn, "coordinator", "site reported an error",
          {{"site", site}, {"code", error->code}, {"message", error->message}});
    }
  }
  std::vector<std::string> sites;
  for (const auto& site : config.sites) {
    if (accepted.count(site.id) > 0) sites.push_back(site.id);  // config order
  }
  // Same features everywhere (4.4): the sites' data must have been made by
  // the same fedrad version, radiomics params and data dictionary.
  if (const std::string difference = ProvenanceDifference(sites, provenance); !difference.empty()) {
    Log(LogLevel::kError, "coordinator", "the sites' study data differ; refusing to start",
        {{"job", job_id}, {"difference", difference}});
    EndJob(sessions, job_id, false, "the sites' study data differ: " + difference, "study aborted");
    return common::PermissionDenied("study " + spec.study_id +
                                    ": refusing to start: the sites' study data were made "
                                    "differently: " +
                                    difference);
  }
  if (provenance_out != nullptr) {
    for (const auto& [site, value] : provenance) (*provenance_out)[site] = value;
  }
  return sites;
}

// What a site released about its cohort in its JOB_ACCEPT (docs/protocol.md
// JOB_ACCEPT, "cohort"): counts already withheld by the site's own k are
// nullopt; any other shape is "unknown" (std::nullopt).
std::optional<KnownSiteCounts> ReleasedCounts(const std::string& site, bool external,
                                              const nlohmann::json& provenance) {
  if (!provenance.is_object() || !provenance.contains("cohort")) return std::nullopt;
  const nlohmann::json& cohort = provenance["cohort"];
  if (!cohort.is_object() || !cohort.contains("disclosure_minimum") ||
      !cohort["disclosure_minimum"].is_number_integer()) {
    return std::nullopt;
  }
  KnownSiteCounts counts;
  counts.site_id = site;
  counts.external = external;
  counts.disclosure_minimum =
      std::max<std::int64_t>(0, cohort["disclosure_minimum"].get<std::int64_t>());
  for (const auto& [key, out] :
       {std::pair{"cases", &counts.cases}, {"controls", &counts.controls}}) {
    if (!cohort.contains(key)) return std::nullopt;
    const nlohmann::json& value = cohort[key];
    if (value.is_number_integer() && value.get<std::int64_t>() >= 0) {
      *out = value.get<std::int64_t>();
    } else if (!value.is_null()) {
      return std::nullopt;
    }
  }
  return counts;
}

// The site's own words from a failed round's status ("... site S answered
// policy_refused: <words>"); the whole message if the pattern is absent.
std::string RefusalReason(const common::Status& status) {
  const std::string text = status.ToString();
  const std::string marker = "policy_refused: ";
  const auto at = text.find(marker);
  return at == std::string::npos ? text : text.substr(at + marker.size());
}

// Secure aggregation of a study (docs/protocol.md 6.5), fixed before any site
// is offered it: with privacy.secure_aggregation the spec must list its
// sites, and every train site must be one of the coordinator's sites with
// the same Ed25519 key; std::nullopt (with a warning) when it is off.
common::Result<std::optional<protocols::SecAggConfig>> SecureAggregationOf(
    const CoordinatorConfig& config, const protocols::StudySpec& spec) {
  if (!spec.privacy.secure_aggregation) {
    Log(LogLevel::kWarn, "coordinator",
        "secure aggregation is off (privacy.secure_aggregation is false): the coordinator sees "
        "each site's statistics",
        {{"study", spec.study_id}, {"spec", config.study_spec}});
    return std::optional<protocols::SecAggConfig>();
  }
  auto secagg = site_agent::stats::SecAggConfigOf(spec);
  if (!secagg.ok()) return secagg.status().Wrap(config.study_spec);
  const auto lower = [](std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  };
  for (const protocols::StudySiteSpec& site : spec.sites) {
    if (site.external) continue;
    const auto entry = std::find_if(config.sites.begin(), config.sites.end(),
                                    [&](const SiteEntry& e) { return e.id == site.id; });
    if (entry == config.sites.end()) {
      return common::FailedPrecondition(
          config.study_spec + ": train site \"" + site.id +
          "\" of the study spec is not among the coordinator's sites (" + config.source_path +
          "); refusing to start the study");
    }
    if (lower(entry->sign_public_key) != lower(site.sign_public_hex)) {
      return common::FailedPrecondition(
          config.study_spec + ": site \"" + site.id + "\": the study spec pins sign_public_key " +
          site.sign_public_hex + " but the coordinator's config (" + config.source_path + ") has " +
          entry->sign_public_key + "; refusing to start the study");
    }
  }
  return std::optional<protocols::SecAggConfig>(std::move(secagg).value());
}

// --- external sites (docs/methods.md §10, C4) ---
// The job's sites without those of role "external" in the spec.
std::vector<std::string> TrainSites(const protocols::StudySpec& spec,
                                    const std::vector<std::string>& sites) {
  std::vector<std::string> out;
  for (const std::string& site : sites) {
    const auto it = std::find_if(spec.sites.begin(), spec.sites.end(),
                                 [&](const protocols::StudySiteSpec& s) { return s.id == site; });
    if (it == spec.sites.end() || !it->external) out.push_back(site);
  }
  return out;
}

// The spec's external sites, checked before any site is offered the study:
// each must be one of the coordinator's sites (with the pinned key when the
// study uses secure aggregation); 2..min_sites-1 of them cannot be pooled
// unless privacy.allow_fewer_sites. Returns their secure-aggregation group
// when the pooled external cohort runs secure rounds (2+ sites, secure
// study), else std::nullopt.
common::Result<std::optional<protocols::SecAggConfig>> ExternalSitesOf(
    const CoordinatorConfig& config, const protocols::StudySpec& spec) {
  std::vector<std::string> ids;
  for (const protocols::StudySiteSpec& site : spec.sites) {
    if (!site.external) continue;
    ids.push_back(site.id);
    const auto entry = std::find_if(config.sites.begin(), config.sites.end(),
                                    [&](const SiteEntry& e) { return e.id == site.id; });
    if (entry == config.sites.end()) {
      return common::FailedPrecondition(
          config.study_spec + ": external site \"" + site.id +
          "\" of the study spec is not among the coordinator's sites (" + config.source_path +
          "); add it there so that it can be offered the evaluation, or remove it from the spec");
    }
  }
  const auto n = static_cast<int>(ids.size());
  if (n >= 2 && n < spec.privacy.min_sites && !spec.privacy.allow_fewer_sites) {
    std::string names;
    for (const std::string& id : ids) names += (names.empty() ? "" : ", ") + id;
    return common::FailedPrecondition(
        config.study_spec + ": the spec lists " + std::to_string(n) + " external sites (" + names +
        "); their pooled evaluation would be a sum over fewer than privacy.min_sites " +
        std::to_string(spec.privacy.min_sites) +
        " sites (a site could subtract its own share and see the other's); add external sites, "
        "keep one, or set privacy.allow_fewer_sites; refusing to start the study");
  }
  if (n < 2 || !spec.privacy.secure_aggregation) return std::optional<protocols::SecAggConfig>();
  auto group = site_agent::stats::ExternalSecAggConfigOf(spec);
  if (!group.ok()) return group.status().Wrap(config.study_spec);
  return std::optional<protocols::SecAggConfig>(std::move(group).value());
}

// The external sites' aggregators of one study job and their share of the
// results: one WireAggregator per external site (a local evaluation, in the
// clear, to that site only) and, with two or more, one over all of them
// (the pooled rounds; secure among them when the study is). Their rounds
// follow the training's in the job's round ids.
class ExternalEvaluation {
 public:
  void Build(SessionManager& sessions, const WireAggregatorOptions& training,
             const protocols::StudySpec& spec, const std::vector<std::string>& job_sites,
             const std::optional<protocols::SecAggConfig>& secure_group, RoundJournal* journal) {
    for (const protocols::StudySiteSpec& site : spec.sites) {
      if (!site.external) continue;
      if (std::count(job_sites.begin(), job_sites.end(), site.id) == 0) {
        missing_.push_back(site.id);
        continue;
      }
      sites_.push_back(site.id);
    }
    for (const std::string& site : sites_) {
      WireAggregatorOptions options = training;
      options.sites = {site};
      options.secure.reset();
      wires_.push_back(std::make_unique<WireAggregator>(&sessions, options));
      // Journaled like the training rounds (a resumed study replays them).
      per_site_.push_back(
          std::make_unique<JournaledAggregator>(*wires_.back(), *journal, "external:" + site));
    }
    if (sites_.size() >= 2) {
      WireAggregatorOptions options = training;
      options.sites = sites_;
      options.secure = secure_group;
      if (secure_group) {  // the group's order (6.5)
        options.sites.clear();
        for (const auto& participant : secure_group->sites) {
          if (std::count(sites_.begin(), sites_.end(), participant.site_id) > 0) {
            options.sites.push_back(participant.site_id);
          }
        }
      }
      pooled_wire_ = std::make_unique<WireAggregator>(&sessions, options);
      pooled_ = std::make_unique<JournaledAggregator>(*pooled_wire_, *journal, "external-pooled");
    }
  }

  void AddTo(EvaluationCohorts* cohorts) const {
    for (std::size_t e = 0; e < sites_.size(); ++e) {
      cohorts->external_sites.push_back({sites_[e], per_site_[e].get(), true});
    }
    cohorts->external_pooled = pooled_.get();
  }

  std::int64_t rounds() const {
    std::int64_t total = pooled_ ? pooled_->rounds() : 0;
    for (const auto& a : per_site_) total += a->rounds();
    return total;
  }

  // The external sites in the cohort table (the counts their local
  // evaluation released) and in the privacy ledger; a note for a missing one.
  void Report(StudyResults* results) const {
    for (std::size_t e = 0; e < sites_.size(); ++e) {
      const std::string& site = sites_[e];
      SiteCohort cohort;
      cohort.site_id = site;
      cohort.role = "external";
      for (const CohortMetrics& m : results->metrics) {
        if (m.cohort.kind == "external_site" && m.cohort.name == site) {
          cohort.cases = m.cases;
          cohort.controls = m.controls;
          break;
        }
      }
      results->sites.push_back(std::move(cohort));
      SiteLedger ledger;
      ledger.site_id = site;
      ledger.role = "external";
      ledger.rounds = per_site_[e]->rounds();
      ledger.bytes_to = per_site_[e]->bytes_to_each_site();
      ledger.bytes_from = per_site_[e]->bytes_from_each_site();
      ledger.statistic_kinds = {"local_evaluation"};
      if (pooled_) {
        ledger.rounds += pooled_->rounds();
        ledger.bytes_to += pooled_->bytes_to_each_site();
        ledger.bytes_from += pooled_->bytes_from_each_site();
        for (const char* kind : {"grid_histogram", "placement_sums", "threshold_counts", "platt"}) {
          ledger.statistic_kinds.emplace_back(kind);
        }
      }
      results->ledger.push_back(std::move(ledger));
    }
    for (const std::string& site : missing_) {
      results->notes.push_back("external site " + site +
                               " did not take part in the study (not connected when it started)");
    }
  }

 private:
  std::vector<std::string> sites_;    // accepted external sites, spec order
  std::vector<std::string> missing_;  // external sites of the spec that did not accept
  std::vector<std::unique_ptr<WireAggregator>> wires_;
  std::vector<std::unique_ptr<JournaledAggregator>> per_site_;  // over wires_
  std::unique_ptr<WireAggregator> pooled_wire_;
  std::unique_ptr<JournaledAggregator> pooled_;  // over pooled_wire_
};
// --- end external sites ---

// --- durable study state (coordinator/round_journal.hpp) ---
// Without --resume a study never starts over an existing journal (a
// half-finished run would be lost); with it, the journal must exist and
// belong to this spec.
common::Status OpenStudyJournal(const CoordinatorConfig& config, const protocols::StudySpec& spec,
                                std::optional<RoundJournal>* journal) {
  if (config.study_journal.empty()) {
    return common::InvalidArgument(config.source_path + ": /study/journal: no journal path");
  }
  if (!config.resume) {
    if (std::filesystem::exists(config.study_journal)) {
      return common::FailedPrecondition(
          config.study_journal +
          ": the round journal of an unfinished run of this study exists; continue that run "
          "with `fedrad coordinator --config " +
          config.source_path + " --resume`, or move the journal away to start the study over");
    }
    return common::Status::Ok();
  }
  auto opened = RoundJournal::Open(config.study_journal);
  if (!opened.ok()) return opened.status().Wrap("--resume: cannot resume the study");
  const JournalHeader& header = opened->header();
  if (header.spec_sha256 != spec.sha256 || header.study_id != spec.study_id) {
    return common::FailedPrecondition(
        config.study_journal + ": --resume: the journal is of study \"" + header.study_id +
        "\" with spec SHA-256 " + header.spec_sha256 + ", but " + config.study_spec +
        " is study \"" + spec.study_id + "\" with SHA-256 " + spec.sha256 +
        "; resume with the spec the journal was written for, or move the journal away");
  }
  Log(LogLevel::kInfo, "coordinator", "resuming the study from its journal",
      {{"journal", config.study_journal},
       {"job", header.job_id},
       {"rounds", std::to_string(opened->total_recorded())},
       {"cut_bytes", std::to_string(opened->truncated_bytes())}});
  journal->emplace(std::move(opened).value());
  return common::Status::Ok();
}

// A new journal for job `job_id` over `sites`; a previous job's journal (a
// restart without a site) is kept beside it as "<journal>.<its job id>".
common::Status NewStudyJournal(const CoordinatorConfig& config, const protocols::StudySpec& spec,
                               const std::string& job_id, const std::vector<std::string>& sites,
                               const std::vector<std::pair<std::string, std::string>>& excluded,
                               std::optional<RoundJournal>* journal) {
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(config.study_journal).parent_path(),
                                      error);
  if (journal->has_value()) {
    const std::string kept = config.study_journal + "." + (*journal)->header().job_id;
    journal->reset();
    std::filesystem::rename(config.study_journal, kept, error);
    if (error) {
      return common::IoError("cannot keep the journal " + config.study_journal + " as " + kept +
                             ": " + error.message());
    }
  }
  JournalHeader header;
  header.study_id = spec.study_id;
  header.spec_sha256 = spec.sha256;
  header.job_id = job_id;
  header.sites = sites;
  header.excluded = excluded;
  header.fedrad_version = std::string(common::Version());
  header.created_utc = UtcNow();
  auto created = RoundJournal::Create(config.study_journal, std::move(header));
  if (!created.ok()) return created.status().Wrap("study " + spec.study_id);
  journal->emplace(std::move(created).value());
  return common::Status::Ok();
}

// After the outputs are written: the journal is kept as
// "<journal>.completed" (replacing an older one), so that the next study can
// start and an auditor can still read what was recorded.
void RetireStudyJournal(const CoordinatorConfig& config, std::optional<RoundJournal>* journal) {
  journal->reset();
  std::error_code error;
  std::filesystem::rename(config.study_journal, config.study_journal + ".completed", error);
  if (error) {
    Log(LogLevel::kWarn, "coordinator", "cannot rename the completed study's journal",
        {{"journal", config.study_journal}, {"error", error.message()}});
  }
}

// Waits up to rejoin_timeout_s for `site` to open a new session.
common::Status AwaitRejoin(const CoordinatorConfig& config, SessionManager& sessions,
                           const std::string& site, const std::atomic<bool>* stop) {
  const auto deadline = Clock::now() + std::chrono::seconds(config.study_rejoin_timeout_s);
  while (Clock::now() < deadline) {
    if (stop != nullptr && stop->load()) {
      return common::Cancelled("coordinator stopped by a signal while waiting for site " + site);
    }
    (void)sessions.Poll(std::chrono::milliseconds(100));
    (void)sessions.TakeLostSessions();
    for (const std::string& back : sessions.TakeNewSessions()) {
      if (back == site) return common::Status::Ok();
    }
  }
  return common::TimeoutError("site " + site + " did not come back within " +
                              std::to_string(config.study_rejoin_timeout_s) +
                              " s (study.rejoin_timeout_s)");
}
// --- end durable study state ---

// The `study` job: every expected site is offered the study (its id and the
// spec's SHA-256) and must accept; then the whole study runs over the wire
// (RunStudy on a WireAggregator) and its outputs are written. When a site's
// disclosure gate refuses a round (ERROR policy_refused, docs/protocol.md
// 6.6), privacy.on_refusal "stop" aborts the study naming the site and its
// rule; "continue" ends the job, and if at least privacy.min_sites remain
// (2 with allow_fewer_sites) offers the study again as a new job
// (study-2, study-3, ...) to the remaining sites, which runs from its first
// round; study.json names the excluded sites and why.
common::Result<CohortSummary> RunStudyJob(const CoordinatorConfig& config, SessionManager& sessions,
                                          const Audit& audit, const std::atomic<bool>* stop,
                                          std::ostream& out) {
  const auto started = Clock::now();
  const std::string started_utc = UtcNow();
  auto loaded = protocols::LoadStudySpec(config.study_spec);
  if (!loaded.ok())
    return loaded.status().Wrap("coordinator " + config.source_path + ": /study/spec");
  protocols::StudySpec resolved_spec = std::move(loaded).value();
  // A spec with a data_dictionary and no feature_dictionary: the hook (the
  // CLI: site_agent::ResolveStudyFeatureDictionary) fills the dictionary.
  if (config.prepare_spec) {
    if (auto s = config.prepare_spec(&resolved_spec); !s.ok()) return s.Wrap(config.study_spec);
  }
  const protocols::StudySpec spec = std::move(resolved_spec);
  if (spec.feature_dictionary.empty()) {
    return common::InvalidArgument(
        config.study_spec +
        ": the coordinator needs a feature_dictionary in the study spec (or a data_dictionary) "
        "to resolve the models' columns (only fedrad fit / simulate can take them from a table "
        "header)");
  }
  ModelColumns columns;
  for (const auto& model : spec.models) {
    auto resolved = protocols::ResolveModelColumns(model, spec.feature_dictionary);
    if (!resolved.ok()) return resolved.status().Wrap(config.study_spec);
    columns[model.name] = std::move(resolved).value();
  }
  FEDRAD_ASSIGN_OR_RETURN(StudyPlan plan, MakeStudyPlan(spec, columns));

  FEDRAD_ASSIGN_OR_RETURN(std::optional<protocols::SecAggConfig> secure,
                          SecureAggregationOf(config, spec));
  FEDRAD_ASSIGN_OR_RETURN(std::optional<protocols::SecAggConfig> external_secure,
                          ExternalSitesOf(config, spec));
  std::string job_id = kStudyJobId;
  int job_number = 1;  // study-1, study-2 (a restart without a site), ...
  // Sites removed after a refusal (privacy.on_refusal "continue") or a
  // dropout: site -> reason.
  std::vector<std::pair<std::string, std::string>> excluded;
  // Durable state: every completed round is journaled; --resume replays it.
  std::optional<RoundJournal> journal;
  FEDRAD_RETURN_IF_ERROR(OpenStudyJournal(config, spec, &journal));
  if (journal) {
    job_id = journal->header().job_id;
    excluded = journal->header().excluded;
    if (job_id.rfind("study-", 0) == 0) job_number = std::atoi(job_id.c_str() + 6);
  }
  audit.log->SetContext(spec.study_id, 0);
  FEDRAD_RETURN_IF_ERROR(
      audit.Record("study_start", spec.study_id, 0, "spec_sha256=" + spec.sha256));
  // Each site's JOB_ACCEPT provenance (its released cohort counts).
  std::map<std::string, nlohmann::json> site_provenance;
  FEDRAD_ASSIGN_OR_RETURN(
      std::vector<std::string> job_sites,
      GatherStudySites(config, sessions, audit, spec, job_id, nullptr, stop, &site_provenance));
  if (journal) {
    std::vector<std::string> expected = journal->header().sites;
    std::vector<std::string> now = job_sites;
    std::sort(expected.begin(), expected.end());
    std::sort(now.begin(), now.end());
    if (expected != now) {
      std::string was;
      std::string is;
      for (const auto& site : expected) was += (was.empty() ? "" : ", ") + site;
      for (const auto& site : now) is += (is.empty() ? "" : ", ") + site;
      EndJob(sessions, job_id, false, "the resumed study's sites differ", "study aborted");
      return common::FailedPrecondition(config.study_journal + ": --resume: job " + job_id +
                                        " ran over the sites " + was + ", but now " + is +
                                        " accepted it; it cannot be resumed over other sites");
    }
  } else {
    FEDRAD_RETURN_IF_ERROR(NewStudyJournal(config, spec, job_id, job_sites, excluded, &journal));
  }
  for (;;) {
    // The job's options, built in one place for this attempt's sites (a
    // restart after a refusal has fewer).
    WireAggregatorOptions options;
    options.job_id = job_id;
    // Round ids unique within the job over all its aggregators (training,
    // external sites).
    // A resumed job continues the ids after the journal's rounds (which
    // precede every live round), so its messages are an uninterrupted run's.
    std::int64_t job_round_ids = static_cast<std::int64_t>(journal->total_recorded());
    options.shared_round_ids = &job_round_ids;
    options.sites = TrainSites(spec, job_sites);
    if (secure) {  // the spec's train sites, in spec order (6.5)
      options.secure = secure;
      options.sites.clear();
      for (const auto& participant : secure->sites) {
        if (std::count(job_sites.begin(), job_sites.end(), participant.site_id) > 0) {
          options.sites.push_back(participant.site_id);
        }
      }
    }
    for (const auto& model : plan.models)
      options.dataset_features[model.dataset] = model.num_features;
    options.round_timeout = std::chrono::seconds(config.study_round_timeout_s);
    options.on_round_start = [&](std::int64_t round) {
      audit.log->SetContext(spec.study_id, round);
      return audit.Record("round_start", spec.study_id, round, "");
    };
    options.on_round_end = [&](std::int64_t) -> common::Status {
      FEDRAD_RETURN_IF_ERROR(audit.Check());
      return audit.log->RoundBoundary().Wrap("audit log " + audit.log->path());
    };
    Log(LogLevel::kInfo, "coordinator", "study started",
        {{"job", job_id},
         {"study", spec.study_id},
         {"sites", std::to_string(options.sites.size())}});
    WireAggregator wire(&sessions, options);
    // The solvers see the journaled view: recorded rounds are replayed, new
    // ones journaled (fsync) before the solver uses them.
    JournaledAggregator aggregator(wire, *journal, "train");
    ExternalEvaluation external;
    auto run = RunStudy(aggregator, plan, [](const std::string& line) {
      Log(LogLevel::kInfo, "coordinator", "progress", {{"step", line}});
    });
    // The evaluation (docs/methods.md §10) runs in the same job, on the same
    // sites: the cross-validation cohort of the training sites.
    RunProvenance provenance;
    provenance.mode = "federated";
    provenance.sites = options.sites;
    provenance.excluded_sites = excluded;
    common::Status failure = run.status();
    std::optional<StudyResults> results;
    if (run.ok()) {
      Log(LogLevel::kInfo, "coordinator", "progress", {{"step", "evaluation"}});
      StudyReportInputs inputs;
      inputs.spec = &spec;
      inputs.columns = &columns;
      inputs.plan = &plan;
      inputs.run = &*run;
      inputs.provenance = &provenance;
      inputs.started_utc = started_utc;
      // The train sites' cohort table from what each released (external
      // sites: ExternalEvaluation::Report, from their local evaluation).
      for (const std::string& site : options.sites) {
        if (auto counts = ReleasedCounts(site, false, site_provenance[site])) {
          inputs.site_counts.push_back(*counts);
        }
      }
      EvaluationCohorts cohorts;
      cohorts.training = &aggregator;
      // External sites (C4): each alone by a local evaluation, all together
      // by the pooled rounds (secure among them when the study is).
      external.Build(sessions, options, spec, job_sites, external_secure, &*journal);
      external.AddTo(&cohorts);
      auto evaluated = EvaluateStudy(inputs, cohorts);
      if (evaluated.ok()) {
        results = std::move(evaluated).value();
        external.Report(&*results);
      } else {
        failure = evaluated.status().Wrap("evaluation");
      }
    }
    if (results) {
      provenance.wall_seconds = std::chrono::duration<double>(Clock::now() - started).count();
      provenance.bytes_to_each_site = aggregator.bytes_to_each_site();
      provenance.bytes_from_each_site = aggregator.bytes_from_each_site();
      for (SiteLedger& ledger : results->ledger) {
        if (ledger.role == "external") continue;  // ExternalEvaluation::Report
        ledger.rounds = aggregator.rounds();
        ledger.bytes_to = aggregator.bytes_to_each_site();
        ledger.bytes_from = aggregator.bytes_from_each_site();
      }
      results->rounds = aggregator.rounds() + external.rounds();
      common::Result<std::string> table = common::Internal("not written");
      if (auto s = WriteStudyOutputs(spec, columns, *run, provenance, config.study_out_dir);
          !s.ok()) {
        table = s;
      } else {
        table = WriteStudyReport(*results, config.study_out_dir);
      }
      if (!table.ok()) {
        EndJob(sessions, job_id, false, "the coordinator could not write the outputs",
               "study aborted");
        return table.status().Wrap("study " + spec.study_id);
      }
      out << *table << "\n";
      std::string summary = "study " + spec.study_id + " completed in " +
                            std::to_string(aggregator.rounds()) + " rounds over " +
                            std::to_string(options.sites.size()) + " sites";
      for (const auto& [site, why] : excluded) summary += "; excluded " + site + ": " + why;
      RetireStudyJournal(config, &journal);
      EndJob(sessions, job_id, true, summary, "study complete");
      audit.log->SetContext(spec.study_id, 0);
      FEDRAD_RETURN_IF_ERROR(audit.Record("study_end", spec.study_id, 0, summary));
      Log(LogLevel::kInfo, "coordinator", "job completed",
          {{"job", job_id},
           {"rounds", std::to_string(aggregator.rounds())},
           {"bytes_to_each_site", std::to_string(aggregator.bytes_to_each_site())},
           {"bytes_from_each_site", std::to_string(aggregator.bytes_from_each_site())}});
      out << "job " << job_id << " (study " << spec.study_id << ") completed\n"
          << "  rounds " << aggregator.rounds() << ", bytes to each site "
          << aggregator.bytes_to_each_site() << ", from each site "
          << aggregator.bytes_from_each_site() << "\n";
      for (const auto& [site, why] : excluded) {
        out << "  excluded site " << site << ": " << why << "\n";
      }
      out << "  outputs in " << config.study_out_dir
          << " (models, study.json, results.json, report.html)\n";
      out.flush();
      CohortSummary done;
      done.complete = true;
      return done;
    }

    // A site that dropped out (its session lost, or no answer within the
    // round timeout): without it the study restarts over the others if at
    // least privacy.min_sites train sites remain; otherwise it waits for the
    // site to come back (rejoin_timeout_s), offers it the same job again and
    // goes on from the journal, which gives the identical result.
    if (failure.code() == common::StatusCode::kUnavailable && !wire.last_failed_site().empty() &&
        !wire.last_failure_was_refusal() && !(stop != nullptr && stop->load())) {
      const std::string dropped = wire.last_failed_site();
      std::vector<std::string> without = job_sites;
      std::erase(without, dropped);
      const std::size_t floor = spec.privacy.allow_fewer_sites
                                    ? std::size_t{2}
                                    : static_cast<std::size_t>(spec.privacy.min_sites);
      const bool train_site = !TrainSites(spec, {dropped}).empty();
      const std::int64_t round = aggregator.rounds();
      if (train_site && !spec.privacy.wait_on_dropout &&
          TrainSites(spec, without).size() >= floor) {
        excluded.emplace_back(dropped, "dropped out of round " + std::to_string(round) +
                                           " of job " + job_id + ": " + failure.message());
        const std::string next_job = "study-" + std::to_string(++job_number);
        SendJobEnd(sessions, job_id, false,
                   "site " + dropped + " dropped out; the study restarts as job " + next_job +
                       " without it");
        Log(LogLevel::kWarn, "coordinator", "site dropped out; restarting the study without it",
            {{"site", dropped},
             {"round", std::to_string(round)},
             {"job", next_job},
             {"sites", std::to_string(without.size())},
             {"error", failure.message()}});
        FEDRAD_RETURN_IF_ERROR(audit.Record("study_restart", spec.study_id, 0,
                                            "job " + next_job + " without " + dropped +
                                                " (dropped out) over " +
                                                std::to_string(without.size()) + " sites"));
        job_id = next_job;
        FEDRAD_ASSIGN_OR_RETURN(job_sites, GatherStudySites(config, sessions, audit, spec, job_id,
                                                            &without, stop, &site_provenance));
        FEDRAD_RETURN_IF_ERROR(
            NewStudyJournal(config, spec, job_id, job_sites, excluded, &journal));
        continue;
      }
      Log(LogLevel::kWarn, "coordinator", "site dropped out; waiting for it to come back",
          {{"site", dropped},
           {"round", std::to_string(round)},
           {"job", job_id},
           {"timeout_s", std::to_string(config.study_rejoin_timeout_s)},
           {"error", failure.message()}});
      if (auto back = AwaitRejoin(config, sessions, dropped, stop); !back.ok()) {
        const std::string text = "site " + dropped + " dropped out of round " +
                                 std::to_string(round) + " (" + failure.message() + ") and " +
                                 back.message() + "; without it fewer than privacy.min_sites " +
                                 std::to_string(floor) + " train sites remain";
        EndJob(sessions, job_id, false, text, "study aborted");
        return common::Unavailable("study " + spec.study_id + ": " + text);
      }
      Log(LogLevel::kInfo, "coordinator", "site is back; offering it the same job again",
          {{"site", dropped}, {"job", job_id}});
      const std::vector<std::string> same = job_sites;
      FEDRAD_ASSIGN_OR_RETURN(job_sites, GatherStudySites(config, sessions, audit, spec, job_id,
                                                          &same, stop, &site_provenance));
      continue;  // the journal replays the rounds before the failed one
    }
    // (A refusal replayed from the journal by --resume names its site too.)
    const std::string refused = wire.last_failure_was_refusal()
                                    ? wire.last_failed_site()
                                    : aggregator.replayed_refusal_site();
    if (refused.empty()) {
      Log(LogLevel::kError, "coordinator", "study failed", {{"error", failure.message()}});
      EndJob(sessions, job_id, false, "study failed: " + failure.message(), "study aborted");
      return failure.Wrap("study " + spec.study_id);
    }
    // A disclosure-gate refusal (docs/protocol.md 6.6).
    const std::string reason = RefusalReason(failure);
    const std::int64_t round = aggregator.rounds();
    Log(LogLevel::kError, "coordinator", "site refused a round by its disclosure policy",
        {{"site", refused},
         {"job", job_id},
         {"round", std::to_string(round)},
         {"on_refusal", spec.privacy.continue_on_refusal ? "continue" : "stop"},
         {"reason", reason}});
    audit.log->SetContext(spec.study_id, round);
    FEDRAD_RETURN_IF_ERROR(
        audit.Record("refusal", spec.study_id, round, "job " + job_id + ": " + reason, refused));
    audit.log->SetContext(spec.study_id, 0);
    if (!spec.privacy.continue_on_refusal) {
      const std::string text = "site " + refused + " refused round " + std::to_string(round) +
                               " by its disclosure policy: " + reason +
                               " (privacy.on_refusal is \"stop\")";
      EndJob(sessions, job_id, false, text, "study aborted");
      return common::PermissionDenied("study " + spec.study_id + ": " + text);
    }
    excluded.emplace_back(refused, "refused round " + std::to_string(round) + " of job " + job_id +
                                       " by its disclosure policy: " + reason);
    std::erase(job_sites, refused);
    const std::size_t train_left = TrainSites(spec, job_sites).size();
    const std::size_t floor = spec.privacy.allow_fewer_sites
                                  ? std::size_t{2}
                                  : static_cast<std::size_t>(spec.privacy.min_sites);
    if (train_left < floor) {
      const std::string text = "site " + refused + " refused round " + std::to_string(round) +
                               " by its disclosure policy (" + reason + "); without it only " +
                               std::to_string(train_left) +
                               " site(s) remain, fewer than privacy.min_sites " +
                               std::to_string(floor) + ": the study cannot continue";
      EndJob(sessions, job_id, false, text, "study aborted");
      return common::FailedPrecondition("study " + spec.study_id + ": " + text);
    }
    const std::string next_job = "study-" + std::to_string(++job_number);
    SendJobEnd(sessions, job_id, false,
               "site " + refused + " refused by its disclosure policy; the study restarts as job " +
                   next_job + " without it");
    Log(LogLevel::kWarn, "coordinator", "restarting the study without the refusing site",
        {{"excluded", refused}, {"job", next_job}, {"sites", std::to_string(job_sites.size())}});
    FEDRAD_RETURN_IF_ERROR(audit.Record("study_restart", spec.study_id, 0,
                                        "job " + next_job + " without " + refused + " over " +
                                            std::to_string(job_sites.size()) + " sites"));
    job_id = next_job;
    const std::vector<std::string> remaining = job_sites;
    FEDRAD_ASSIGN_OR_RETURN(job_sites, GatherStudySites(config, sessions, audit, spec, job_id,
                                                        &remaining, stop, &site_provenance));
    FEDRAD_RETURN_IF_ERROR(NewStudyJournal(config, spec, job_id, job_sites, excluded, &journal));
  }
}

}  // namespace

common::Result<CohortSummary> RunCoordinator(const CoordinatorConfig& config,
                                             const std::atomic<bool>* stop, std::ostream& out) {
  FEDRAD_RETURN_IF_ERROR(common::InitSodium());
  FEDRAD_ASSIGN_OR_RETURN(common::Identity identity, common::LoadIdentity(config.secret_key_file));

  auto opened = common::AuditLog::Open(config.audit_log, identity);
  if (!opened.ok()) return opened.status().Wrap("coordinator " + config.id + ": /audit/log");
  std::unique_ptr<common::AuditLog> audit_log = std::move(opened).value();
  protocols::AuditObserver observer(audit_log.get(), protocols::AuditObserver::Receipts::kStore);
  const Audit audit{audit_log.get(), &observer};

  protocols::ServerOptions server_options;
  server_options.observer = &observer;
  server_options.endpoint = config.bind;
  server_options.identity = &identity;
  server_options.max_message_bytes = static_cast<std::size_t>(config.max_message_bytes);
  for (const auto& site : config.sites)
    server_options.allowed_keys[site.curve_public_key] = site.id;
  auto bound = protocols::ServerTransport::Bind(server_options);
  if (!bound.ok()) return bound.status().Wrap("coordinator " + config.id);
  std::unique_ptr<protocols::ServerTransport> transport = std::move(bound).value();

  Log(LogLevel::kInfo, "coordinator", "listening",
      {{"endpoint", transport->endpoint()},
       {"sites", std::to_string(config.sites.size())},
       {"version", std::string(common::Version())}});
  if (!config.ready_file.empty()) {
    FEDRAD_RETURN_IF_ERROR(
        common::WriteFileAtomic(config.ready_file, transport->endpoint() + "\n"));
  }

  SessionOptions session_options;
  session_options.coordinator_id = config.id;
  session_options.heartbeat_interval = std::chrono::milliseconds(config.heartbeat_interval_ms);
  session_options.heartbeat_liveness = static_cast<int>(config.heartbeat_liveness);
  session_options.max_message_bytes = config.max_message_bytes;
  SessionManager sessions(transport.get(), session_options);
  if (config.job == "study") {
    auto result = RunStudyJob(config, sessions, audit, stop, out);
    transport.reset();  // nothing more is sent or received
    FEDRAD_RETURN_IF_ERROR(audit.Check());
    FEDRAD_RETURN_IF_ERROR(audit_log->Close().Wrap("audit log " + audit_log->path()));
    return result;
  }

  const std::string job_id = "cohort_size-1";
  const std::size_t expected = config.expected_sites > 0
                                   ? static_cast<std::size_t>(config.expected_sites)
                                   : config.sites.size();
  std::map<std::string, SiteProgress> progress;
  for (const auto& site : config.sites) progress[site.id] = SiteProgress{};
  CohortSummary summary;
  std::int64_t next_round = 1;
  const auto deadline = Clock::now() + std::chrono::seconds(config.job_timeout_s);

  auto finished = [&] { return summary.counts.size() + summary.declined.size() >= expected; };

  while (!finished()) {
    if (stop != nullptr && stop->load()) {
      sessions.CloseAll("coordinator shutting down");
      return common::Cancelled("coordinator stopped by a signal before the job completed");
    }
    if (Clock::now() > deadline) {
      std::string missing;
      for (const auto& [site, p] : progress) {
        if (p.state != SiteState::kDone && p.state != SiteState::kDeclined) {
          missing += (missing.empty() ? "" : ", ") + site;
        }
      }
      sessions.CloseAll("job timed out");
      return common::TimeoutError("job " + job_id + " did not complete within " +
                                  std::to_string(config.job_timeout_s) +
                                  " s; no answer from: " + missing);
    }

    std::optional<SiteMessage> incoming = sessions.Poll(std::chrono::milliseconds(100));

    for (const std::string& site : sessions.TakeLostSessions()) {
      SiteProgress& p = progress[site];
      if (p.state == SiteState::kOffered || p.state == SiteState::kRequested) {
        Log(LogLevel::kWarn, "coordinator",
            "site lost before answering; will ask again when it returns",
            {{"site", site}, {"job", job_id}});
        p.state = SiteState::kWaiting;
      }
    }
    for (const std::string& site : sessions.TakeNewSessions()) {
      SiteProgress& p = progress[site];
      if (p.state == SiteState::kDone || p.state == SiteState::kDeclined) {
        Log(LogLevel::kInfo, "coordinator", "site reconnected; its answer is already counted",
            {{"site", site}, {"job", job_id}});
        continue;
      }
      protocols::JobOffer offer;
      offer.job_id = job_id;
      offer.kind = kJobKind;
      offer.description = "Report the number of cases this site holds (one integer).";
      if (sessions.Send(site, offer).ok()) p.state = SiteState::kOffered;
    }
    if (!incoming) continue;

    const std::string& site = incoming->site_id;
    SiteProgress& p = progress[site];
    const protocols::Body& body = incoming->message.body;
    if (const auto* accept = std::get_if<protocols::JobAccept>(&body)) {
      if (accept->job_id != job_id || p.state != SiteState::kOffered) continue;
      protocols::RoundRequest request;
      request.job_id = job_id;
      request.round_id = next_round++;
      request.statistic = kJobKind;
      if (sessions.Send(site, request).ok()) {
        p.state = SiteState::kRequested;
        p.round_id = request.round_id;
      }
    } else if (const auto* decline = std::get_if<protocols::JobDecline>(&body)) {
      if (decline->job_id != job_id || p.state == SiteState::kDone) continue;
      Log(LogLevel::kWarn, "coordinator", "site declined the job",
          {{"site", site}, {"job", job_id}, {"reason", decline->reason}});
      p.state = SiteState::kDeclined;
      summary.declined[site] = decline->reason;
    } else if (const auto* reply = std::get_if<protocols::RoundReply>(&body)) {
      if (reply->job_id != job_id || p.state != SiteState::kRequested ||
          reply->round_id != p.round_id) {
        Log(LogLevel::kWarn, "coordinator", "ignored a reply to a round not outstanding",
            {{"site", site}, {"job", reply->job_id}, {"round", std::to_string(reply->round_id)}});
        continue;
      }
      auto count = ReadCount(*reply);
      if (!count.ok()) {
        Log(LogLevel::kError, "coordinator", "invalid reply",
            {{"site", site}, {"error", count.status().message()}});
        p.state = SiteState::kDeclined;
        summary.declined[site] = "invalid reply: " + count.status().message();
        continue;
      }
      p.state = SiteState::kDone;
      summary.counts[site] = *count;
      summary.total += *count;
      Log(LogLevel::kInfo, "coordinator", "site reported",
          {{"site", site},
           {"job", job_id},
           {"n", std::to_string(*count)},
           {"answered", std::to_string(summary.counts.size()) + "/" + std::to_string(expected)}});
    } else if (const auto* error = std::get_if<protocols::Error>(&body)) {
      Log(LogLevel::kWarn, "coordinator", "site reported an error",
          {{"site", site}, {"code", error->code}, {"message", error->message}});
      if (error->code == "job_failed" && p.state != SiteState::kDone) {
        p.state = SiteState::kDeclined;
        summary.declined[site] = error->message;
      }
    }
  }

  summary.complete = summary.declined.empty();
  protocols::JobEnd end;
  end.job_id = job_id;
  end.outcome = "completed";
  end.summary = "total cohort size " + std::to_string(summary.total) + " over " +
                std::to_string(summary.counts.size()) + " sites";
  for (const std::string& site : sessions.ConnectedSites()) (void)sessions.Send(site, end);
  sessions.CloseAllAndDrain("study complete", kDrainTimeout);
  transport.reset();  // nothing more is sent or received
  FEDRAD_RETURN_IF_ERROR(audit.Check());
  FEDRAD_RETURN_IF_ERROR(audit_log->Close().Wrap("audit log " + audit_log->path()));
  Log(LogLevel::kInfo, "coordinator", "job completed",
      {{"job", job_id},
       {"total", std::to_string(summary.total)},
       {"sites", std::to_string(summary.counts.size())}});
  PrintSummary(summary, job_id, out);
  return summary;
}

}  // namespace fedrad::coordinator

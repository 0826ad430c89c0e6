#include "fedrad/coordinator/coordinator.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <optional>
#include <set>

#include "fedrad/common/audit_log.hpp"
#include "fedrad/common/files.hpp"
#include "fedrad/common/keys.hpp"
#include "fedrad/common/logging.hpp"
#include "fedrad/common/sodium_init.hpp"
#include "fedrad/common/version.hpp"
#include "fedrad/coordinator/pipeline.hpp"
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

// Offers study job `job_id` and waits until enough sites accepted it. With
// `restart_sites` null (the first job) every site that connects is offered
// the job until `expected` accepted; otherwise (a restart without a site
// that refused, privacy.on_refusal "continue") exactly those connected sites
// are offered it and all must accept. A decline aborts the study. Returns
// the accepting sites in the coordinator config's order.
common::Result<std::vector<std::string>> GatherStudySites(
    const CoordinatorConfig& config, SessionManager& sessions, const Audit& audit,
    const protocols::StudySpec& spec, const std::string& job_id,
    const std::vector<std::string>* restart_sites, const std::atomic<bool>* stop) {
  const std::size_t expected = restart_sites != nullptr ? restart_sites->size()
                               : config.expected_sites > 0
                                   ? static_cast<std::size_t>(config.expected_sites)
                                   : config.sites.size();
  std::set<std::string> offered;
  std::set<std::string> accepted;
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
  return sites;
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
  const protocols::StudySpec spec = std::move(loaded).value();
  if (spec.feature_dictionary.empty()) {
    return common::InvalidArgument(
        config.study_spec +
        ": the coordinator needs a feature_dictionary in the study spec to resolve the models' "
        "columns (only fedrad fit / simulate can take them from a table header)");
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
  std::string job_id = kStudyJobId;
  audit.log->SetContext(spec.study_id, 0);
  FEDRAD_RETURN_IF_ERROR(
      audit.Record("study_start", spec.study_id, 0, "spec_sha256=" + spec.sha256));
  FEDRAD_ASSIGN_OR_RETURN(std::vector<std::string> job_sites,
                          GatherStudySites(config, sessions, audit, spec, job_id, nullptr, stop));
  // Sites removed after a refusal (privacy.on_refusal "continue"): site -> reason.
  std::vector<std::pair<std::string, std::string>> excluded;
  for (int attempt = 1;; ++attempt) {
    // The job's options, built in one place for this attempt's sites (a
    // restart after a refusal has fewer).
    WireAggregatorOptions options;
    options.job_id = job_id;
    options.sites = job_sites;
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
    WireAggregator aggregator(&sessions, options);
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
      EvaluationCohorts cohorts;
      cohorts.training = &aggregator;
      auto evaluated = EvaluateStudy(inputs, cohorts);
      if (evaluated.ok()) {
        results = std::move(evaluated).value();
      } else {
        failure = evaluated.status().Wrap("evaluation");
      }
    }
    if (results) {
      provenance.wall_seconds = std::chrono::duration<double>(Clock::now() - started).count();
      provenance.bytes_to_each_site = aggregator.bytes_to_each_site();
      provenance.bytes_from_each_site = aggregator.bytes_from_each_site();
      for (SiteLedger& ledger : results->ledger) {
        ledger.rounds = aggregator.rounds();
        ledger.bytes_to = aggregator.bytes_to_each_site();
        ledger.bytes_from = aggregator.bytes_from_each_site();
      }
      results->rounds = aggregator.rounds();
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

    const std::string refused =
        aggregator.last_failure_was_refusal() ? aggregator.last_failed_site() : std::string();
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
    const std::size_t floor = spec.privacy.allow_fewer_sites
                                  ? std::size_t{2}
                                  : static_cast<std::size_t>(spec.privacy.min_sites);
    if (job_sites.size() < floor) {
      const std::string text = "site " + refused + " refused round " + std::to_string(round) +
                               " by its disclosure policy (" + reason + "); without it only " +
                               std::to_string(job_sites.size()) +
                               " site(s) remain, fewer than privacy.min_sites " +
                               std::to_string(floor) + ": the study cannot continue";
      EndJob(sessions, job_id, false, text, "study aborted");
      return common::FailedPrecondition("study " + spec.study_id + ": " + text);
    }
    const std::string next_job = "study-" + std::to_string(attempt + 1);
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
    FEDRAD_ASSIGN_OR_RETURN(
        job_sites, GatherStudySites(config, sessions, audit, spec, job_id, &remaining, stop));
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

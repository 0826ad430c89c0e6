#include "fedrad/site_agent/site_agent.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <thread>
#include <utility>

#include "fedrad/common/audit_log.hpp"
#include "fedrad/common/files.hpp"
#include "fedrad/common/keys.hpp"
#include "fedrad/common/logging.hpp"
#include "fedrad/common/rate_limit.hpp"
#include "fedrad/common/sodium_init.hpp"
#include "fedrad/common/version.hpp"
#include "fedrad/protocols/audit_observer.hpp"
#include "fedrad/protocols/study_spec.hpp"
#include "fedrad/protocols/transport.hpp"
#include "fedrad/site_agent/policy.hpp"
#include "fedrad/site_agent/stats/feature_table.hpp"
#include "fedrad/site_agent/stats/secure_round.hpp"
#include "fedrad/site_agent/stats/wire.hpp"
#include "fedrad/site_agent/study_data.hpp"

namespace fedrad::site_agent {

using common::Log;
using common::LogLevel;
using common::Status;
using protocols::Message;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr const char* kCohortSize = "cohort_size";
constexpr const char* kStudy = "study";

std::string ProtocolVersion() {
  return std::to_string(protocols::kProtocolMajor) + "." +
         std::to_string(protocols::kProtocolMinor);
}

enum class State { kDisconnected, kHelloSent, kReady };

// Failure drills only (tests/integration/dropout_test.cpp): with
// FEDRAD_DRILL_EXIT_AFTER_MASKED_INPUT=R in its environment, the site agent
// exits right after it sent its masked input of secure round R, like a site
// that crashes between masking and unmasking (docs/security.md, "In live
// studies"). -1 when unset or not a round number; logged as an ERROR when set.
constexpr char kDrillExitAfterInput[] = "FEDRAD_DRILL_EXIT_AFTER_MASKED_INPUT";

std::int64_t DrillExitAfterInputRound() {
  const char* value = std::getenv(kDrillExitAfterInput);
  if (value == nullptr || *value == '\0') return -1;
  char* end = nullptr;
  const long long round = std::strtoll(value, &end, 10);
  if (*end != '\0' || round < 1) return -1;
  Log(LogLevel::kError, "site", "failure drill armed: this site will exit mid-round",
      {{"variable", kDrillExitAfterInput}, {"round", std::to_string(round)}});
  return round;
}

// One site's session with the coordinator (docs/protocol.md 4.1).
class SiteSession {
 public:
  SiteSession(const SiteConfig& config, const SiteRunOptions& options,
              protocols::ClientTransport* transport, common::AuditLog* audit,
              protocols::AuditObserver* observer)
      : config_(config),
        options_(options),
        transport_(transport),
        audit_(audit),
        observer_(observer),
        backoff_(config.reconnect_interval_ms),
        drill_exit_after_input_round_(DrillExitAfterInputRound()) {}

  // This site's identity: its Ed25519 key signs the secure-aggregation keys.
  void set_identity(const common::Identity* identity) { identity_ = identity; }

  Status Run(const std::atomic<bool>* stop) {
    while (stop == nullptr || !stop->load()) {
      if (state_ == State::kDisconnected) SendHello();
      auto received = transport_->Receive(milliseconds(100));
      if (!received.ok()) {
        if (received.status().code() == common::StatusCode::kVersionMismatch) {
          Log(LogLevel::kError, "site", "the coordinator speaks another protocol version",
              {{"site_protocol", ProtocolVersion()}, {"detail", received.status().message()}});
          return received.status().Wrap("the coordinator speaks another protocol version");
        }
        std::uint64_t suppressed = 0;
        if (limiter_.Allow("malformed", &suppressed)) {
          Log(LogLevel::kWarn, "site", "dropped a malformed message from the coordinator",
              {{"reason", received.status().message()}});
        }
      } else if (received->has_value()) {
        last_receive_ = Clock::now();
        bool done = false;
        FEDRAD_RETURN_IF_ERROR(Handle(**received, &done));
        FEDRAD_RETURN_IF_ERROR(observer_->status());
        if (done) return Status::Ok();
      }
      FEDRAD_RETURN_IF_ERROR(Maintain(stop));
      FEDRAD_RETURN_IF_ERROR(ForwardReceipts());
    }
    if (state_ == State::kReady) (void)SendBody(protocols::Bye{"site agent shutting down"});
    return common::Cancelled("site agent stopped by a signal");
  }

 private:
  // Sends the receipts of the messages sent so far (RECEIPT, docs/protocol.md)
  // while a session is up; they wait for the next session otherwise. Fails
  // if the audit log failed: the site must stop.
  Status ForwardReceipts() {
    FEDRAD_RETURN_IF_ERROR(observer_->status());
    if (state_ != State::kReady) return Status::Ok();
    for (auto& receipt : observer_->TakeReceipts()) pending_receipts_.push_back(std::move(receipt));
    while (!pending_receipts_.empty()) {
      if (!SendBody(protocols::ToReceiptMessage(pending_receipts_.front())).ok()) break;
      pending_receipts_.pop_front();
    }
    return observer_->status();
  }

  // The study id the audit records of a job's rounds carry.
  std::string StudyOf(const std::string& job_id) const {
    const auto it = job_studies_.find(job_id);
    return it == job_studies_.end() ? job_id : it->second;
  }

  void SendHello() {
    protocols::Hello hello;
    hello.site_id = config_.id;
    hello.software_version = std::string(common::Version());
    hello.capabilities = {kCohortSize};
    if (!config_.study_spec.empty()) {
      hello.capabilities.push_back(site_agent::stats::kStatsBatchStatistic);
    }
    session_id_ = 0;
    send_sequence_ = 0;
    receive_guard_.Reset();
    replies_.clear();
    accepted_jobs_.clear();
    study_data_.clear();
    secure_rounds_.clear();
    if (auto s = SendBody(hello); !s.ok()) {
      Log(LogLevel::kDebug, "site", "HELLO not sent yet", {{"detail", s.message()}});
    }
    hello_sent_at_ = Clock::now();
    state_ = State::kHelloSent;
  }

  Status SendBody(protocols::Body body) {
    Message message;
    message.header.session_id = session_id_;
    message.header.sequence = ++send_sequence_;
    message.body = std::move(body);
    FEDRAD_RETURN_IF_ERROR(transport_->Send(message));
    last_send_ = Clock::now();
    return Status::Ok();
  }

  Status Handle(const Message& message, bool* done) {
    if (const auto* error = std::get_if<protocols::Error>(&message.body)) {
      if (error->fatal) {
        std::vector<common::LogField> fields = {{"code", error->code}, {"message", error->message}};
        if (error->code == "version_mismatch") {
          std::string majors;
          for (std::int64_t m : error->supported_majors) {
            majors += (majors.empty() ? "" : ",") + std::to_string(m);
          }
          fields.emplace_back("site_protocol", ProtocolVersion());
          fields.emplace_back("coordinator_majors", majors.empty() ? "?" : majors);
        }
        Log(LogLevel::kError, "site", "the coordinator refused this site", fields);
        const common::StatusCode code =
            error->code == "version_mismatch" ? common::StatusCode::kVersionMismatch
            : error->code == "not_authorized" ? common::StatusCode::kPermissionDenied
                                              : common::StatusCode::kUnavailable;
        return Status(code,
                      "coordinator refused this site (" + error->code + "): " + error->message);
      }
      if (error->code == "unknown_session") {
        Log(LogLevel::kInfo, "site", "coordinator does not know this session; saying HELLO again");
        state_ = State::kDisconnected;
        return Status::Ok();
      }
      Log(LogLevel::kWarn, "site", "coordinator reported an error",
          {{"code", error->code}, {"message", error->message}});
      return Status::Ok();
    }
    if (state_ == State::kHelloSent) {
      const auto* welcome = std::get_if<protocols::Welcome>(&message.body);
      if (welcome == nullptr) return Status::Ok();  // stale traffic of an old session
      session_id_ = message.header.session_id;
      (void)receive_guard_.Accept(message.header.sequence);
      heartbeat_interval_ = milliseconds(welcome->heartbeat_interval_ms);
      liveness_ = welcome->heartbeat_liveness;
      state_ = State::kReady;
      backoff_ = milliseconds(config_.reconnect_interval_ms);
      Log(LogLevel::kInfo, "site", "connected to the coordinator",
          {{"coordinator", welcome->coordinator_id},
           {"endpoint", config_.coordinator_endpoint},
           {"heartbeat_ms", std::to_string(welcome->heartbeat_interval_ms)}});
      return Status::Ok();
    }
    if (state_ != State::kReady || message.header.session_id != session_id_) return Status::Ok();
    if (auto s = receive_guard_.Accept(message.header.sequence); !s.ok()) {
      Log(LogLevel::kWarn, "site", "dropped a replayed or stale message",
          {{"detail", s.message()}});
      return Status::Ok();
    }
    if (const auto* offer = std::get_if<protocols::JobOffer>(&message.body)) return OnOffer(*offer);
    if (const auto* request = std::get_if<protocols::RoundRequest>(&message.body)) {
      audit_->SetContext(StudyOf(request->job_id), request->round_id);
      FEDRAD_RETURN_IF_ERROR(OnRound(*request, message.header.sequence));
      FEDRAD_RETURN_IF_ERROR(ForwardReceipts());
      FEDRAD_RETURN_IF_ERROR(audit_->RoundBoundary().Wrap("audit log " + audit_->path()));
      audit_->SetContext(StudyOf(request->job_id), 0);
      return Status::Ok();
    }
    if (const auto* end = std::get_if<protocols::JobEnd>(&message.body)) {
      Log(LogLevel::kInfo, "site", "job ended",
          {{"job", end->job_id}, {"outcome", end->outcome}, {"summary", end->summary}});
      study_data_.erase(end->job_id);
      job_policies_.erase(end->job_id);
      secure_rounds_.erase(end->job_id);
      job_roles_.erase(end->job_id);
      return Status::Ok();
    }
    if (const auto* bye = std::get_if<protocols::Bye>(&message.body)) {
      Log(LogLevel::kInfo, "site", "coordinator closed the session", {{"reason", bye->reason}});
      // Closing handshake: the last receipts, then BYE; nothing follows on
      // this session, so the coordinator reads (and logs) all that was sent.
      FEDRAD_RETURN_IF_ERROR(ForwardReceipts());
      (void)SendBody(protocols::Bye{"closing: " + bye->reason.substr(0, 900)});
      (void)observer_->TakeReceipts();  // the coordinator no longer reads
      if (options_.exit_after_bye) {
        *done = true;
        return Status::Ok();
      }
      state_ = State::kDisconnected;  // reconnect and wait for the next study
    }
    return Status::Ok();  // HEARTBEAT and anything else: liveness only
  }

  Status OnOffer(const protocols::JobOffer& offer) {
    if (offer.kind == kStudy) return OnStudyOffer(offer);
    if (offer.kind != kCohortSize) {
      Log(LogLevel::kWarn, "site", "declined a job of unknown kind",
          {{"job", offer.job_id}, {"kind", offer.kind}});
      return SendBody(protocols::JobDecline{
          offer.job_id, "this site agent cannot run jobs of kind \"" + offer.kind + "\""});
    }
    if (config_.cohort_file.empty()) {
      return SendBody(protocols::JobDecline{
          offer.job_id,
          "this site has no cohort file (data.cohort_file in " + config_.source_path + ")"});
    }
    Log(LogLevel::kInfo, "site", "accepted a job",
        {{"job", offer.job_id}, {"kind", offer.kind}, {"description", offer.description}});
    accepted_jobs_[offer.job_id] = offer.kind;
    return SendBody(protocols::JobAccept{offer.job_id});
  }

  // A study job: the offer must name the study spec this site approved (its
  // SHA-256); the site then builds its datasets from its feature table.
  Status OnStudyOffer(const protocols::JobOffer& offer) {
    auto decline = [&](const std::string& reason) {
      Log(LogLevel::kWarn, "site", "declined a study job",
          {{"job", offer.job_id}, {"reason", reason}});
      return SendBody(protocols::JobDecline{offer.job_id, reason});
    };
    if (config_.study_spec.empty()) {
      return decline("this site has no study configured (no \"study\" section in " +
                     config_.source_path + ")");
    }
    const auto& p = offer.parameters;
    const auto sha = p.find("spec_sha256");
    const auto study_id = p.find("study_id");
    if (sha == p.end() || !sha->is_string() || study_id == p.end() || !study_id->is_string()) {
      return decline("the study offer must carry the string parameters study_id and spec_sha256");
    }
    auto spec = protocols::LoadStudySpec(config_.study_spec);
    if (!spec.ok()) {
      return decline("this site cannot read its approved study spec: " + spec.status().message());
    }
    if (spec->sha256 != sha->get<std::string>()) {
      return decline("the coordinator's study spec (SHA-256 " + sha->get<std::string>() +
                     ") is not the one this site approved (" + config_.study_spec + ", SHA-256 " +
                     spec->sha256 + ")");
    }
    if (spec->study_id != study_id->get<std::string>()) {
      return decline("the offer is for study \"" + study_id->get<std::string>() +
                     "\" but this site approved study \"" + spec->study_id + "\"");
    }
    // --- study approval (site_agent/policy.hpp): the spec's hash must be approved ---
    // The policy in force when the job is accepted applies to all its rounds.
    auto policy = LoadSitePolicy(config_.policy_file);
    if (!policy.ok()) {
      return decline("this site's disclosure policy is unusable (fix it, then offer again): " +
                     policy.status().message());
    }
    if (const Status approved =
            CheckStudyApproved(*policy, spec->study_id, spec->sha256, config_.study_spec);
        !approved.ok()) {
      return decline(approved.message());
    }
    // --- end study approval ---
    // --- study data (study_data.hpp): validated before anything leaves the site ---
    if (auto s = ResolveStudyFeatureDictionary(&*spec); !s.ok()) {
      return decline("cannot resolve the study's feature columns: " + s.ToString());
    }
    StudyDataProvenance data_provenance;
    auto table = BuildStudyTable(config_, *spec, &data_provenance, nullptr);
    if (!table.ok()) {
      // JOB_DECLINE's reason is at most 4096 bytes: cut at a line end.
      std::string reason = (spec->has_data_dictionary ? "site data validation failed: "
                                                      : "cannot read the feature table: ") +
                           table.status().message();
      if (reason.size() > 4000) reason = reason.substr(0, reason.rfind('\n', 4000)) + "\n  ...";
      return decline(reason);
    }
    // --- end study data ---
    auto datasets = site_agent::stats::BuildDatasets(*table, *spec);
    if (!datasets.ok()) {
      return decline("cannot build the study's datasets: " + datasets.status().message());
    }
    if (auto s = PrepareSecureRounds(offer.job_id, *spec); !s.ok()) return decline(s.message());
    Log(LogLevel::kInfo, "site", "accepted a job",
        {{"job", offer.job_id},
         {"kind", offer.kind},
         {"study", spec->study_id},
         {"cases", std::to_string(table->ids.size())},
         {"description", offer.description}});
    // The site's cohort counts for the report's cohort table, released by
    // the site's own counting rule (policy.hpp: 0 or at least k), else null.
    const auto cases = static_cast<std::int64_t>(std::llround(table->y.sum()));
    const auto controls = static_cast<std::int64_t>(table->y.size()) - cases;
    const std::int64_t k = policy->min_count_per_cell;
    const auto released = [k](std::int64_t count) {
      return count == 0 || count >= k ? nlohmann::json(count) : nlohmann::json();
    };
    const nlohmann::json cohort = {
        {"cases", released(cases)}, {"controls", released(controls)}, {"disclosure_minimum", k}};
    // A repeated offer of a job (the coordinator's dropout recovery,
    // docs/protocol.md 4.4) starts it afresh: no cached reply survives.
    std::erase_if(replies_, [&](const auto& entry) { return entry.first.first == offer.job_id; });
    study_data_[offer.job_id] = std::move(datasets).value();
    job_studies_[offer.job_id] = spec->study_id;
    job_policies_[offer.job_id] = std::move(policy).value();
    audit_->SetContext(spec->study_id, 0);
    accepted_jobs_[offer.job_id] = offer.kind;
    protocols::JobAccept accept{offer.job_id};
    accept.provenance = {{"fedrad_version", data_provenance.fedrad_version},
                         {"radiomics_params_sha256", data_provenance.radiomics_params_sha256},
                         {"data_dictionary_sha256", data_provenance.data_dictionary_sha256},
                         {"cohort", cohort}};
    return SendBody(accept);
  }

  // One stats_batch round: decode, compute every request on this site's
  // datasets, reply with the arrays. Any problem is an ERROR naming it.
  common::Result<protocols::RoundReply> ComputeBatch(const protocols::RoundRequest& request,
                                                     const site_agent::stats::Datasets& data) {
    FEDRAD_ASSIGN_OR_RETURN(auto batch, site_agent::stats::DecodeStatsBatch(request));
    // --- disclosure gate (site_agent/policy.hpp): refuse before computing ---
    // A refusal sets refused_rule_ (the policy key): OnRound answers it with
    // ERROR policy_refused (docs/protocol.md 6.6).
    refused_rule_.clear();
    const auto job_policy = job_policies_.find(request.job_id);
    if (job_policy == job_policies_.end()) {
      return common::Internal("no disclosure policy recorded for job " + request.job_id);
    }
    const Policy& policy = job_policy->second;
    FEDRAD_RETURN_IF_ERROR(
        CheckBatch(policy, data, batch, policy_rounds_[request.job_id], &refused_rule_));
    // In a secure round (parameters.secure, 6.5) the results leave masked.
    const bool masked = request.parameters.is_object() && request.parameters.contains("secure");
    FEDRAD_RETURN_IF_ERROR(CheckRole(request.job_id, batch, masked));
    // --- end disclosure gate ---
    // The reply must fit the message cap: check its size before computing.
    std::size_t values = 0;
    for (std::size_t r = 0; r < batch.size(); ++r) {
      const std::string& name = site_agent::stats::DatasetOf(batch[r]);
      const auto it = data.find(name);
      if (it == data.end()) {
        return common::NotFound("stats_batch request " + std::to_string(r) + ": no dataset '" +
                                name + "' at this site");
      }
      // A masked reply carries L 8-byte words per value (6.5), a plain one 1.
      const std::size_t words =
          masked ? static_cast<std::size_t>(site_agent::stats::WideLimbsOf(batch[r])) : 1;
      values +=
          words * site_agent::stats::ResultSize(batch[r], static_cast<int>(it->second.x.cols()));
    }
    const std::size_t cap = static_cast<std::size_t>(config_.max_message_bytes);
    if (values > cap / 8) {
      return common::ResourceExhausted(
          "stats_batch: the reply would hold " + std::to_string(values) +
          (masked ? " masked words (" : " values (") + std::to_string(values * 8) +
          " bytes), above this site's message cap of " + std::to_string(cap) + " bytes");
    }
    std::vector<std::vector<double>> results;
    results.reserve(batch.size());
    for (std::size_t r = 0; r < batch.size(); ++r) {
      auto result = site_agent::stats::Compute(data, batch[r]);
      if (!result.ok()) {
        return result.status().Wrap("stats_batch request " + std::to_string(r));
      }
      results.push_back(std::move(result).value());
    }
    // --- disclosure gate: released counts (histogram cells, active sets) ---
    FEDRAD_RETURN_IF_ERROR(CheckResults(policy, batch, results, masked, &refused_rule_));
    ++policy_rounds_[request.job_id];
    // --- end disclosure gate ---
    return site_agent::stats::EncodeStatsResults(request.job_id, request.round_id, results);
  }
  // --- external sites (docs/security.md "Single-site release") ---
  // This site's role in a study job (the approved spec's "sites"), fixed at
  // acceptance.
  struct JobRole {
    bool external = false;      // role "external": evaluation rounds only
    bool secure_study = false;  // privacy.secure_aggregation of the spec
  };
  std::map<std::string, JobRole> job_roles_;  // job id -> role

  // A request is an evaluation of the frozen models on every row of this
  // site (what an external site is asked): the evaluation requests, or the
  // recalibration's Platt sums (targets 1 / 0), each over all rows.
  static bool IsExternalEvaluation(const site_agent::stats::StatRequest& request) {
    namespace ss = site_agent::stats;
    const auto all_rows = [](const std::vector<ss::RowSubset>& parts) {
      return !parts.empty() && std::all_of(parts.begin(), parts.end(), [](const auto& p) {
        return p.kind == ss::RowSubset::Kind::kAll && p.outer_fold < 0;
      });
    };
    return std::visit(
        [&](const auto& r) {
          using T = std::decay_t<decltype(r)>;
          if constexpr (std::is_same_v<T, ss::GridHistogramRequest> ||
                        std::is_same_v<T, ss::PlacementSumsRequest> ||
                        std::is_same_v<T, ss::ThresholdCountsRequest> ||
                        std::is_same_v<T, ss::LocalEvaluationRequest>) {
            return all_rows(r.rows);
          } else if constexpr (std::is_same_v<T, ss::PlattRequest>) {
            return all_rows(r.rows) && r.target_pos == 1.0 && r.target_neg == 0.0;
          } else {
            return false;
          }
        },
        request);
  }

  // The role rules, before computing: an external site answers only
  // evaluation requests over all its rows (it never trains); only an
  // external site answers local_evaluation (a train site's rows are released
  // only as sums over sites); and in a study with secure aggregation nothing
  // but a local_evaluation leaves an external site in the clear. A breach is
  // refused like a policy refusal (rule "role").
  Status CheckRole(const std::string& job_id,
                   const std::vector<site_agent::stats::StatRequest>& batch, bool masked) {
    const auto it = job_roles_.find(job_id);
    const JobRole role = it == job_roles_.end() ? JobRole{} : it->second;
    for (std::size_t r = 0; r < batch.size(); ++r) {
      const bool local =
          std::holds_alternative<site_agent::stats::LocalEvaluationRequest>(batch[r]);
      const std::string what =
          "stats_batch request " + std::to_string(r) + " (" + StatKindName(KindOf(batch[r])) + ")";
      std::string broken;
      if (role.external && !IsExternalEvaluation(batch[r])) {
        broken = what +
                 ": this site has role \"external\" in the study spec and answers only the "
                 "evaluation of the frozen models on all its rows, never a training request";
      } else if (!role.external && local) {
        broken = what +
                 ": a local evaluation releases one site's metrics in the clear; only a site with "
                 "role \"external\" in the study spec answers it";
      } else if (role.external && role.secure_study && !masked && !local) {
        broken = what +
                 ": the study uses secure aggregation, so this external site releases its "
                 "statistics only masked (or as a local evaluation of its own cohort)";
      } else if (local && masked) {
        broken = what + ": a local evaluation is a release of one site, not a secure sum";
      }
      if (!broken.empty()) {
        refused_rule_ = "role";
        return common::PermissionDenied("site role: " + broken);
      }
    }
    return Status::Ok();
  }
  // --- end external sites ---

  std::map<std::string, std::int64_t> policy_rounds_;  // disclosure gate: job id -> rounds sent
  std::map<std::string, Policy> job_policies_;         // job id -> policy it was accepted under
  std::string refused_rule_;  // the rule of the gate's last refusal ("" if none)

  // A refusal by the disclosure gate: logged (warn, with the rule), recorded
  // in the audit log (event "refusal") and answered with ERROR
  // policy_refused; nothing of the round leaves the site.
  Status RefuseRound(const protocols::RoundRequest& request, std::uint64_t sequence,
                     const std::string& text) {
    Log(LogLevel::kWarn, "site", "the disclosure policy refused a round request",
        {{"job", request.job_id},
         {"round", std::to_string(request.round_id)},
         {"rule", refused_rule_},
         {"detail", text}});
    common::AuditEntry entry;
    entry.event = "refusal";
    entry.peer = "coordinator";
    entry.study = StudyOf(request.job_id);
    entry.round = request.round_id;
    entry.type = "ERROR";
    entry.detail = "rule " + refused_rule_ + ": " + text;
    if (auto appended = audit_->Append(std::move(entry)); !appended.ok()) {
      return appended.status().Wrap("audit log " + audit_->path());
    }
    protocols::Error error;
    error.code = "policy_refused";
    error.message = text.substr(0, 4000);
    error.fatal = false;
    error.ref_sequence = static_cast<std::int64_t>(sequence);
    return SendBody(error);
  }

  Status OnRound(const protocols::RoundRequest& request, std::uint64_t sequence) {
    if (site_agent::stats::SecureStepOf(request) >= 0 ||
        (secure_rounds_.count(request.job_id) > 0 && !IsLocalEvaluationBatch(request))) {
      return OnSecureRound(request, sequence);
    }
    const auto key = std::make_pair(request.job_id, request.round_id);
    if (auto cached = replies_.find(key); cached != replies_.end()) {
      Log(LogLevel::kInfo, "site", "repeated round request; sending the same reply",
          {{"job", request.job_id}, {"round", std::to_string(request.round_id)}});
      return SendBody(cached->second);
    }
    auto reply_error = [&](const std::string& code, const std::string& text) {
      protocols::Error error;
      error.code = code;
      error.message = text;
      error.fatal = false;
      error.ref_sequence = static_cast<std::int64_t>(sequence);
      Log(LogLevel::kWarn, "site", "refused a round request", {{"code", code}, {"detail", text}});
      return SendBody(error);
    };
    if (accepted_jobs_.count(request.job_id) == 0) {
      return reply_error("job_failed", "round request for job \"" + request.job_id +
                                           "\", which this site has not accepted");
    }
    if (request.statistic == site_agent::stats::kStatsBatchStatistic) {
      const auto data = study_data_.find(request.job_id);
      if (data == study_data_.end()) {
        return reply_error("unsupported_statistic",
                           "statistic \"stats_batch\" is only answered in a study job");
      }
      auto reply = ComputeBatch(request, data->second);
      if (!reply.ok() && !refused_rule_.empty()) {
        return RefuseRound(request, sequence,
                           "job " + request.job_id + " round " + std::to_string(request.round_id) +
                               ": " + reply.status().message());
      }
      if (!reply.ok()) {
        const bool malformed = reply.status().code() == common::StatusCode::kProtocolError;
        return reply_error(malformed ? "protocol_error" : "job_failed",
                           "job " + request.job_id + " round " + std::to_string(request.round_id) +
                               ": " + reply.status().message());
      }
      Log(LogLevel::kDebug, "site", "answered a round",
          {{"job", request.job_id},
           {"round", std::to_string(request.round_id)},
           {"statistic", request.statistic}});
      // Keep only the latest reply of the job (a repeated request repeats it).
      std::erase_if(replies_,
                    [&](const auto& entry) { return entry.first.first == request.job_id; });
      replies_[key] = *reply;
      return SendBody(std::move(reply).value());
    }
    if (request.statistic != kCohortSize) {
      return reply_error("unsupported_statistic",
                         "statistic \"" + request.statistic + "\" is not supported by this site");
    }
    auto count = CountCohortRows(config_.cohort_file);
    if (!count.ok()) return reply_error("job_failed", count.status().ToString());
    protocols::RoundReply reply;
    reply.job_id = request.job_id;
    reply.round_id = request.round_id;
    reply.statistic = request.statistic;
    reply.arrays.push_back(protocols::Array::I64("n", {1}, {*count}));
    Log(LogLevel::kInfo, "site", "answered a round",
        {{"job", request.job_id},
         {"round", std::to_string(request.round_id)},
         {"statistic", request.statistic},
         {"n", std::to_string(*count)}});
    replies_[key] = reply;
    return SendBody(reply);
  }

  // A plain stats_batch holding only local_evaluation requests: answered in
  // the clear even in a job with secure aggregation (an external site's
  // release of its own cohort; CheckRole checks who may answer it).
  static bool IsLocalEvaluationBatch(const protocols::RoundRequest& request) {
    if (request.statistic != site_agent::stats::kStatsBatchStatistic) return false;
    auto batch = site_agent::stats::DecodeStatsBatch(request);
    return batch.ok() && !batch->empty() &&
           std::all_of(batch->begin(), batch->end(), [](const auto& r) {
             return std::holds_alternative<site_agent::stats::LocalEvaluationRequest>(r);
           });
  }

  // --- secure aggregation (docs/protocol.md 6.5) ---
  // At study acceptance: with privacy.secure_aggregation the approved spec
  // must list this site as a train site with this site's own signing key (the
  // key every other site pins); the job then gets its SecureRoundSite.
  Status PrepareSecureRounds(const std::string& job_id, const protocols::StudySpec& spec) {
    secure_rounds_.erase(job_id);
    {
      const auto listed = std::find_if(spec.sites.begin(), spec.sites.end(),
                                       [&](const auto& site) { return site.id == config_.id; });
      job_roles_[job_id] =
          JobRole{listed != spec.sites.end() && listed->external, spec.privacy.secure_aggregation};
    }
    if (!spec.privacy.secure_aggregation) {
      Log(LogLevel::kWarn, "site",
          "secure aggregation is off in this study: the coordinator sees this site's statistics",
          {{"job", job_id}, {"study", spec.study_id}});
      return Status::Ok();
    }
    if (identity_ == nullptr) return common::Internal("the site's identity is not loaded");
    const auto self = std::find_if(spec.sites.begin(), spec.sites.end(),
                                   [&](const auto& site) { return site.id == config_.id; });
    if (self == spec.sites.end()) {
      return common::FailedPrecondition("secure aggregation is on but the study spec (" +
                                        config_.study_spec + ") does not list this site \"" +
                                        config_.id + "\" in \"sites\"");
    }
    std::string listed = self->sign_public_hex;
    std::transform(listed.begin(), listed.end(), listed.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string own = identity_->pub.sign_public_hex;
    std::transform(own.begin(), own.end(), own.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (listed != own) {
      return common::FailedPrecondition("the study spec lists site \"" + config_.id +
                                        "\" with sign_public_key " + self->sign_public_hex +
                                        ", but this site's key (" + config_.secret_key_file +
                                        ") is " + identity_->pub.sign_public_hex +
                                        "; the other sites would reject its secure-aggregation "
                                        "keys");
    }
    // An external site: secure rounds only with the other external sites
    // (the pooled external cohort); alone, it releases a local evaluation.
    const auto external_sites = std::count_if(spec.sites.begin(), spec.sites.end(),
                                              [](const auto& site) { return site.external; });
    if (self->external && external_sites < 2) return Status::Ok();
    FEDRAD_ASSIGN_OR_RETURN(protocols::SecAggConfig secagg,
                            self->external ? site_agent::stats::ExternalSecAggConfigOf(spec)
                                           : site_agent::stats::SecAggConfigOf(spec));
    FEDRAD_ASSIGN_OR_RETURN(
        auto rounds, site_agent::stats::SecureRoundSite::Create(std::move(secagg), config_.id,
                                                                identity_->sign_secret.span()));
    secure_rounds_.insert_or_assign(job_id, std::move(rounds));
    return Status::Ok();
  }

  // Every round of a job with secure aggregation, and any secure-round
  // request: step 0 (stats_batch + "secure") runs the disclosure gate and
  // computes as a plain round does, then encodes and advertises keys; steps
  // 1..3 follow the protocol. A repeated step is answered from the cache, a
  // step out of order with ERROR protocol_error, a plain round of a secure job
  // is refused.
  Status OnSecureRound(const protocols::RoundRequest& request, std::uint64_t sequence) {
    const std::string round_name =
        "job " + request.job_id + " round " + std::to_string(request.round_id);
    auto reply_error = [&](const std::string& code, const std::string& text) {
      protocols::Error error;
      error.code = code;
      error.message = text;
      error.fatal = false;
      error.ref_sequence = static_cast<std::int64_t>(sequence);
      Log(LogLevel::kWarn, "site", "refused a round request", {{"code", code}, {"detail", text}});
      return SendBody(error);
    };
    if (accepted_jobs_.count(request.job_id) == 0) {
      return reply_error("job_failed", "round request for job \"" + request.job_id +
                                           "\", which this site has not accepted");
    }
    const auto secure = secure_rounds_.find(request.job_id);
    if (secure == secure_rounds_.end()) {
      return reply_error("protocol_error", round_name + ": a secure-round request (" +
                                               request.statistic +
                                               "), but this job does not use secure aggregation");
    }
    const int step = site_agent::stats::SecureStepOf(request);
    if (step < 0) {
      return reply_error("protocol_error",
                         round_name +
                             ": this job uses secure aggregation (the study spec this "
                             "site approved); a plain \"" +
                             request.statistic + "\" round is refused");
    }
    site_agent::stats::SecureRoundSite& rounds = secure->second;
    if (const protocols::RoundReply* cached = rounds.Cached(request)) {
      Log(LogLevel::kInfo, "site", "repeated round request; sending the same reply",
          {{"job", request.job_id},
           {"round", std::to_string(request.round_id)},
           {"statistic", request.statistic}});
      return SendBody(*cached);
    }
    if (auto s = rounds.CheckOrder(request); !s.ok())
      return reply_error("protocol_error", s.message());
    common::Result<protocols::RoundReply> reply = common::Internal("no reply");
    if (step == 0) {
      const auto data = study_data_.find(request.job_id);
      if (data == study_data_.end()) {
        return reply_error("unsupported_statistic",
                           "statistic \"stats_batch\" is only answered in a study job");
      }
      auto plain = site_agent::stats::PlainBatchRequest(request);
      if (!plain.ok())
        return reply_error("protocol_error", round_name + ": " + plain.status().message());
      auto computed = ComputeBatch(request, data->second);  // the disclosure gate is inside
      if (!computed.ok() && !refused_rule_.empty()) {
        return RefuseRound(request, sequence, round_name + ": " + computed.status().message());
      }
      if (!computed.ok()) {
        reply = computed.status();
      } else {
        auto batch = site_agent::stats::DecodeStatsBatch(*plain);
        reply = batch.ok() ? rounds.Start(request, *batch, *computed)
                           : common::Result<protocols::RoundReply>(batch.status());
      }
    } else {
      reply = rounds.Continue(request);
    }
    if (!reply.ok()) {
      const bool malformed = reply.status().code() == common::StatusCode::kProtocolError;
      return reply_error(malformed ? "protocol_error" : "job_failed",
                         round_name + ": " + reply.status().message());
    }
    Log(LogLevel::kDebug, "site", "answered a secure round step",
        {{"job", request.job_id},
         {"round", std::to_string(request.round_id)},
         {"statistic", request.statistic}});
    FEDRAD_RETURN_IF_ERROR(SendBody(std::move(reply).value()));
    if (step == 2 && request.round_id == drill_exit_after_input_round_) {
      Log(LogLevel::kError, "site", "failure drill: exiting after sending a masked input",
          {{"job", request.job_id}, {"round", std::to_string(request.round_id)}});
      return common::Cancelled("failure drill (" + std::string(kDrillExitAfterInput) +
                               "): exited after sending the masked input of round " +
                               std::to_string(request.round_id));
    }
    return Status::Ok();
  }
  // --- end secure aggregation ---

  Status Maintain(const std::atomic<bool>* stop) {
    const auto now = Clock::now();
    if (state_ == State::kHelloSent &&
        now - hello_sent_at_ > milliseconds(config_.hello_timeout_ms)) {
      std::string detail = transport_->TakeHandshakeError();
      std::uint64_t suppressed = 0;
      if (limiter_.Allow("no_welcome", &suppressed)) {
        std::vector<common::LogField> fields = {
            {"endpoint", config_.coordinator_endpoint},
            {"waited_ms", std::to_string(config_.hello_timeout_ms)},
            {"retry_in_ms", std::to_string(backoff_.count())}};
        if (!detail.empty()) fields.emplace_back("detail", detail);
        Log(LogLevel::kWarn, "site", "no answer from the coordinator; retrying", fields);
      }
      FEDRAD_RETURN_IF_ERROR(transport_->Reconnect());
      SleepBackoff(stop);
      state_ = State::kDisconnected;
    } else if (state_ == State::kReady) {
      if (now - last_receive_ > heartbeat_interval_ * liveness_) {
        Log(LogLevel::kWarn, "site", "coordinator went silent; reconnecting",
            {{"silent_ms",
              std::to_string(
                  std::chrono::duration_cast<milliseconds>(now - last_receive_).count())}});
        FEDRAD_RETURN_IF_ERROR(transport_->Reconnect());
        state_ = State::kDisconnected;
      } else if (now - last_send_ >= heartbeat_interval_) {
        (void)SendBody(protocols::Heartbeat{});
      }
    }
    return Status::Ok();
  }

  // Waits the current back-off (interruptible by `stop`), then doubles it.
  void SleepBackoff(const std::atomic<bool>* stop) {
    const auto until = Clock::now() + backoff_;
    while (Clock::now() < until && (stop == nullptr || !stop->load())) {
      std::this_thread::sleep_for(milliseconds(20));
    }
    backoff_ = std::min(backoff_ * 2, milliseconds(config_.reconnect_max_ms));
  }

  const SiteConfig& config_;
  SiteRunOptions options_;
  protocols::ClientTransport* transport_;
  common::AuditLog* audit_;
  protocols::AuditObserver* observer_;
  std::deque<common::AuditReceipt> pending_receipts_;
  std::map<std::string, std::string> job_studies_;  // job id -> study id
  State state_ = State::kDisconnected;
  std::uint64_t session_id_ = 0;
  std::uint64_t send_sequence_ = 0;
  protocols::SequenceGuard receive_guard_;
  milliseconds backoff_;
  std::int64_t drill_exit_after_input_round_ = -1;  // see DrillExitAfterInputRound
  milliseconds heartbeat_interval_{1000};
  std::int64_t liveness_ = 5;
  Clock::time_point hello_sent_at_;
  Clock::time_point last_receive_;
  Clock::time_point last_send_;
  std::map<std::string, std::string> accepted_jobs_;
  std::map<std::string, site_agent::stats::Datasets> study_data_;  // job id -> datasets
  std::map<std::pair<std::string, std::int64_t>, protocols::RoundReply> replies_;
  const common::Identity* identity_ = nullptr;  // this site's keys (secure aggregation)
  std::map<std::string, site_agent::stats::SecureRoundSite> secure_rounds_;  // job id -> rounds
  common::RateLimiter limiter_{std::chrono::seconds(60)};
};

}  // namespace

common::Result<std::int64_t> CountCohortRows(const std::string& path) {
  FEDRAD_ASSIGN_OR_RETURN(std::string text, common::ReadFile(path));
  std::int64_t lines = 0;
  bool header_seen = false;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") != std::string_view::npos) {
      if (header_seen) ++lines;
      header_seen = true;
    }
    start = end + 1;
  }
  if (!header_seen) {
    return common::InvalidArgument(path +
                                   ": cohort file is empty; expected a header line "
                                   "followed by one line per case");
  }
  return lines;
}

Status RunSite(const SiteConfig& config, const SiteRunOptions& options,
               const std::atomic<bool>* stop) {
  FEDRAD_RETURN_IF_ERROR(common::InitSodium());
  FEDRAD_ASSIGN_OR_RETURN(common::Identity identity, common::LoadIdentity(config.secret_key_file));
  if (identity.pub.name != config.id) {
    return common::InvalidArgument(config.source_path + ": /site/id is \"" + config.id +
                                   "\" but the key file " + config.secret_key_file +
                                   " belongs to \"" + identity.pub.name + "\"");
  }
  // The disclosure policy is mandatory (site_agent/policy.hpp): a file that
  // does not parse stops the site here; no file means the built-in defaults.
  auto policy = LoadSitePolicy(config.policy_file);
  if (!policy.ok()) return policy.status().Wrap(config.source_path + ": /policy");
  if (!policy->from_file) {
    Log(LogLevel::kWarn, "site",
        "no policy file: the built-in default disclosure policy applies and every study needs "
        "approval (fedrad site approve SPEC --policy " +
            config.policy_file + " --by NAME)",
        {{"policy", config.policy_file}});
  }
  Log(LogLevel::kInfo, "site", "disclosure policy",
      {{"policy", policy->from_file ? config.policy_file : "built-in defaults"},
       {"require_approval", policy->require_approval ? "true" : "false"},
       {"approved_studies", std::to_string(policy->approved.size())},
       {"min_cohort_size", std::to_string(policy->min_cohort_size)},
       {"min_count_per_cell", std::to_string(policy->min_count_per_cell)},
       {"histogram_cells", policy->HistogramCellsText()}});
  // Check the data before connecting: a site with unreadable data declines
  // nothing it has not first looked at.
  std::int64_t rows = -1;
  if (!config.cohort_file.empty()) {
    FEDRAD_ASSIGN_OR_RETURN(rows, CountCohortRows(config.cohort_file));
  }
  // A study with a data dictionary: validate the data and extract the
  // radiomics now (the cache in data.work_dir makes the check at the offer
  // quick, so the session's heartbeats do not stall); problems are logged
  // here and decline the study when it is offered.
  if (!config.study_spec.empty()) {
    auto spec = protocols::LoadStudySpec(config.study_spec);
    if (spec.ok() && spec->has_data_dictionary) {
      StudyDataProvenance data_provenance;
      auto table = BuildStudyTable(config, *spec, &data_provenance, &std::cerr);
      if (table.ok()) {
        Log(LogLevel::kInfo, "site", "study data validated",
            {{"study", spec->study_id},
             {"cases", std::to_string(table->ids.size())},
             {"columns", std::to_string(table->columns.size())},
             {"radiomics_params_sha256", data_provenance.radiomics_params_sha256},
             {"data_dictionary_sha256", data_provenance.data_dictionary_sha256}});
      } else {
        Log(LogLevel::kWarn, "site", "the study data fail validation; the study will be declined",
            {{"study", spec->study_id}, {"problems", table.status().message()}});
      }
    }
  }
  Log(LogLevel::kInfo, "site", "starting",
      {{"site", config.id},
       {"coordinator", config.coordinator_endpoint},
       {"cases", rows < 0 ? std::string("-") : std::to_string(rows)},
       {"study_spec", config.study_spec.empty() ? std::string("-") : config.study_spec},
       {"version", std::string(common::Version())}});

  protocols::ClientOptions client_options;
  client_options.endpoint = config.coordinator_endpoint;
  client_options.server_public_z85 = config.coordinator_public_key;
  client_options.identity = &identity;
  client_options.max_message_bytes = static_cast<std::size_t>(config.max_message_bytes);
  auto opened = common::AuditLog::Open(config.audit_log, identity);
  if (!opened.ok()) return opened.status().Wrap(config.source_path + ": /audit/log");
  std::unique_ptr<common::AuditLog> audit = std::move(opened).value();
  protocols::AuditObserver observer(audit.get(), protocols::AuditObserver::Receipts::kCollect);
  client_options.observer = &observer;
  Status result;
  {
    FEDRAD_ASSIGN_OR_RETURN(auto transport, protocols::ClientTransport::Connect(client_options));
    SiteSession session(config, options, transport.get(), audit.get(), &observer);
    session.set_identity(&identity);
    result = session.Run(stop);
  }  // the transport is closed: nothing more is sent or received
  FEDRAD_RETURN_IF_ERROR(observer.status());
  FEDRAD_RETURN_IF_ERROR(audit->Close().Wrap("audit log " + audit->path()));
  return result;
}

}  // namespace fedrad::site_agent

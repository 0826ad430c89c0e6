#include "fedrad/coordinator/coordinator.hpp"

#include <chrono>
#include <cstdio>
#include <set>

#include "fedrad/common/files.hpp"
#include "fedrad/common/keys.hpp"
#include "fedrad/common/logging.hpp"
#include "fedrad/common/sodium_init.hpp"
#include "fedrad/common/version.hpp"
#include "fedrad/coordinator/session_manager.hpp"
#include "fedrad/protocols/transport.hpp"

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

}  // namespace

common::Result<CohortSummary> RunCoordinator(const CoordinatorConfig& config,
                                             const std::atomic<bool>* stop, std::ostream& out) {
  FEDRAD_RETURN_IF_ERROR(common::InitSodium());
  FEDRAD_ASSIGN_OR_RETURN(common::Identity identity, common::LoadIdentity(config.secret_key_file));

  protocols::ServerOptions server_options;
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
  sessions.CloseAll("study complete");
  Log(LogLevel::kInfo, "coordinator", "job completed",
      {{"job", job_id},
       {"total", std::to_string(summary.total)},
       {"sites", std::to_string(summary.counts.size())}});
  PrintSummary(summary, job_id, out);
  return summary;
}

}  // namespace fedrad::coordinator

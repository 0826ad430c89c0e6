#include "fedrad/coordinator/wire_aggregator.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "fedrad/common/logging.hpp"
#include "fedrad/site_agent/stats/wire.hpp"
#include "wire_bytes.hpp"

namespace fedrad::coordinator {

using common::Log;
using common::LogLevel;
using common::Result;
using site_agent::stats::StatRequest;
using Clock = std::chrono::steady_clock;

WireAggregator::WireAggregator(SessionManager* sessions, WireAggregatorOptions options)
    : sessions_(sessions), options_(std::move(options)) {}

int WireAggregator::num_features() const {
  const auto it = options_.dataset_features.find("");
  return it == options_.dataset_features.end() ? 0 : it->second;
}

Result<std::vector<double>> WireAggregator::Sum(const StatRequest& request) {
  FEDRAD_ASSIGN_OR_RETURN(auto totals, SumBatch({request}));
  return std::move(totals.front());
}

Result<std::vector<std::vector<double>>> WireAggregator::SumBatch(
    const std::vector<StatRequest>& requests) {
  const std::int64_t round_id = ++rounds_;
  if (requests.empty()) return std::vector<std::vector<double>>{};
  if (options_.sites.empty()) return common::FailedPrecondition("wire aggregator: no site");

  std::vector<std::size_t> sizes;
  sizes.reserve(requests.size());
  for (std::size_t r = 0; r < requests.size(); ++r) {
    const std::string& dataset = site_agent::stats::DatasetOf(requests[r]);
    const auto it = options_.dataset_features.find(dataset);
    if (it == options_.dataset_features.end()) {
      return common::InvalidArgument("wire aggregator: batch request " + std::to_string(r) +
                                     " names dataset '" + dataset +
                                     "', which the job does not declare");
    }
    sizes.push_back(site_agent::stats::ResultSize(requests[r], it->second));
  }
  FEDRAD_ASSIGN_OR_RETURN(protocols::RoundRequest message,
                          site_agent::stats::EncodeStatsBatch(options_.job_id, round_id, requests));
  FEDRAD_ASSIGN_OR_RETURN(std::int64_t request_bytes, WireBytes(message));

  const std::string round_name = "job " + options_.job_id + " round " + std::to_string(round_id);
  if (options_.on_round_start) {
    FEDRAD_RETURN_IF_ERROR(options_.on_round_start(round_id).Wrap(round_name));
  }
  for (const std::string& site : options_.sites) {
    if (auto s = sessions_->Send(site, message); !s.ok()) {
      return common::Unavailable(round_name + ": cannot send the request to site " + site + ": " +
                                 s.message());
    }
  }
  bytes_to_ += request_bytes;

  std::map<std::string, std::vector<std::vector<double>>> answers;
  const std::set<std::string> expected(options_.sites.begin(), options_.sites.end());
  const auto deadline = Clock::now() + options_.round_timeout;
  std::int64_t reply_bytes = -1;
  while (answers.size() < expected.size()) {
    const auto now = Clock::now();
    if (now >= deadline) {
      std::string missing;
      for (const std::string& site : options_.sites) {
        if (answers.count(site) == 0) missing += (missing.empty() ? "" : ", ") + site;
      }
      return common::Unavailable(
          round_name + ": no answer within " +
          std::to_string(
              std::chrono::duration_cast<std::chrono::milliseconds>(options_.round_timeout)
                  .count()) +
          " ms from site(s) " + missing);
    }
    const auto wait = std::min<std::chrono::milliseconds>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
        std::chrono::milliseconds(100));
    std::optional<SiteMessage> incoming = sessions_->Poll(wait);
    for (const std::string& site : sessions_->TakeLostSessions()) {
      if (expected.count(site) > 0) {
        return common::Unavailable(round_name + ": the session of site " + site +
                                   " was lost (it must stay connected for the whole job)");
      }
    }
    for (const std::string& site : sessions_->TakeNewSessions()) {
      if (expected.count(site) > 0) {
        return common::Unavailable(round_name + ": site " + site +
                                   " reconnected during the job and no longer knows it");
      }
    }
    if (!incoming) continue;
    const std::string& site = incoming->site_id;
    if (expected.count(site) == 0) continue;
    const protocols::Body& body = incoming->message.body;
    if (const auto* error = std::get_if<protocols::Error>(&body)) {
      return common::FailedPrecondition(round_name + ": site " + site + " answered " + error->code +
                                        ": " + error->message);
    }
    const auto* reply = std::get_if<protocols::RoundReply>(&body);
    if (reply == nullptr) {
      Log(LogLevel::kWarn, "coordinator", "ignored a message during a round",
          {{"site", site},
           {"type", std::string(protocols::MessageTypeName(incoming->message.type()))},
           {"job", options_.job_id}});
      continue;
    }
    if (reply->job_id != options_.job_id || reply->round_id != round_id) {
      Log(LogLevel::kWarn, "coordinator", "ignored a reply to a round not outstanding",
          {{"site", site}, {"job", reply->job_id}, {"round", std::to_string(reply->round_id)}});
      continue;
    }
    if (answers.count(site) > 0) {
      Log(LogLevel::kWarn, "coordinator", "ignored a second reply to the same round",
          {{"site", site}, {"round", std::to_string(round_id)}});
      continue;
    }
    auto results = site_agent::stats::DecodeStatsResults(*reply, sizes);
    if (!results.ok()) {
      return common::ProtocolError(round_name + ": invalid reply from site " + site + ": " +
                                   results.status().message());
    }
    if (reply_bytes < 0) {
      FEDRAD_ASSIGN_OR_RETURN(reply_bytes, WireBytes(*reply));
    }
    answers.emplace(site, std::move(results).value());
  }
  bytes_from_ += reply_bytes;
  if (options_.on_round_end) {
    FEDRAD_RETURN_IF_ERROR(options_.on_round_end(round_id).Wrap(round_name));
  }

  // Σ over sites in the order of options_.sites (the order is fixed, so the
  // sums are reproducible bit for bit).
  std::vector<std::vector<double>> totals = std::move(answers.at(options_.sites.front()));
  for (std::size_t s = 1; s < options_.sites.size(); ++s) {
    const auto& part = answers.at(options_.sites[s]);
    for (std::size_t r = 0; r < totals.size(); ++r) {
      for (std::size_t i = 0; i < totals[r].size(); ++i) totals[r][i] += part[r][i];
    }
  }
  return totals;
}

}  // namespace fedrad::coordinator

#include "fedrad/coordinator/wire_aggregator.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <utility>

#include "fedrad/common/logging.hpp"
#include "fedrad/site_agent/stats/secure_round.hpp"
#include "fedrad/site_agent/stats/wire.hpp"
#include "wire_bytes.hpp"

namespace fedrad::coordinator {

using common::Log;
using common::LogLevel;
using common::Result;
using site_agent::stats::StatRequest;
using Clock = std::chrono::steady_clock;

namespace {

// Which site made an exchange fail, and whether by a refusal.
struct Failure {
  std::string site;
  bool refusal = false;
};

std::string Milliseconds(std::chrono::milliseconds ms) { return std::to_string(ms.count()); }

// How many sites an exchange needs and which ones dropped out of it.
struct Tolerance {
  // 0: every site must answer. Otherwise a site whose session is lost or
  // renewed, or that does not answer in time, drops out of the exchange
  // (recorded in `dropped`) and the exchange succeeds with at least this many
  // replies (the unmasking step of a secure round: Shamir's threshold t).
  std::size_t min_replies = 0;
  std::vector<std::string>* dropped = nullptr;
};

// One exchange of a secure round: sends every site its request (all with the
// same job, round and statistic) and collects one ROUND_REPLY from each.
// Fails naming the site on a send failure, a lost or renewed session, an
// ERROR (policy_refused: kPermissionDenied) or a timeout; with a tolerance,
// the first, second and last only drop the site while enough remain.
Result<std::map<std::string, protocols::RoundReply>> Exchange(
    SessionManager& sessions, const WireAggregatorOptions& options, const std::string& round_name,
    const std::vector<std::string>& sites,
    const std::map<std::string, protocols::RoundRequest>& requests, Failure* failure,
    Tolerance tolerance = {}) {
  const protocols::RoundRequest& first = requests.at(sites.front());
  const std::string what = round_name + " (" + first.statistic + ")";
  const bool tolerant = tolerance.min_replies > 0 && tolerance.dropped != nullptr;
  std::set<std::string> expected(sites.begin(), sites.end());
  std::map<std::string, protocols::RoundReply> replies;
  std::string dropped_reasons;
  // Drops `site` from a tolerant exchange and returns true, or returns false
  // (the caller fails the exchange naming it).
  auto drop = [&](const std::string& site, const std::string& reason) {
    if (!tolerant || expected.erase(site) == 0) return false;
    replies.erase(site);
    tolerance.dropped->push_back(site);
    dropped_reasons += (dropped_reasons.empty() ? "" : "; ") + site + ": " + reason;
    Log(LogLevel::kWarn, "coordinator", "site dropped out of a round step",
        {{"site", site}, {"round", round_name}, {"statistic", first.statistic}, {"why", reason}});
    return true;
  };
  // The exchange's end once every site still expected answered: fails when
  // dropouts left fewer replies than the tolerance needs.
  auto finish = [&]() -> Result<std::map<std::string, protocols::RoundReply>> {
    if (tolerant && replies.size() < tolerance.min_replies) {
      if (tolerance.dropped->size() == 1) failure->site = tolerance.dropped->front();
      return common::Unavailable(what + ": " + std::to_string(replies.size()) + " of " +
                                 std::to_string(sites.size()) + " sites answered, " +
                                 std::to_string(tolerance.min_replies) +
                                 " needed (dropped: " + dropped_reasons + ")");
    }
    return replies;
  };
  for (const std::string& site : sites) {
    if (auto s = sessions.Send(site, requests.at(site)); !s.ok()) {
      if (drop(site, "cannot send the request: " + s.message())) continue;
      failure->site = site;
      return common::Unavailable(what + ": cannot send the request to site " + site + ": " +
                                 s.message());
    }
  }
  const auto deadline = Clock::now() + options.round_timeout;
  while (replies.size() < expected.size()) {
    const auto now = Clock::now();
    if (now >= deadline) {
      std::vector<std::string> missing;
      for (const std::string& site : sites) {
        if (expected.count(site) > 0 && replies.count(site) == 0) missing.push_back(site);
      }
      const std::string waited = Milliseconds(
          std::chrono::duration_cast<std::chrono::milliseconds>(options.round_timeout));
      if (tolerant) {
        for (const std::string& site : missing) drop(site, "no answer within " + waited + " ms");
        return finish();
      }
      std::string names;
      for (const auto& site : missing) names += (names.empty() ? "" : ", ") + site;
      if (missing.size() == 1) failure->site = missing.front();
      return common::Unavailable(what + ": no answer within " + waited + " ms from site(s) " +
                                 names);
    }
    const auto wait = std::min<std::chrono::milliseconds>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
        std::chrono::milliseconds(100));
    std::optional<SiteMessage> incoming = sessions.Poll(wait);
    for (const std::string& site : sessions.TakeLostSessions()) {
      if (expected.count(site) > 0) {
        if (drop(site, "its session was lost")) continue;
        failure->site = site;
        return common::Unavailable(what + ": the session of site " + site +
                                   " was lost (it must stay connected for the whole job)");
      }
    }
    for (const std::string& site : sessions.TakeNewSessions()) {
      if (expected.count(site) > 0) {
        if (drop(site, "it reconnected and no longer knows the round")) continue;
        failure->site = site;
        return common::Unavailable(what + ": site " + site +
                                   " reconnected during the job and no longer knows it");
      }
    }
    if (!incoming) continue;
    const std::string& site = incoming->site_id;
    if (expected.count(site) == 0) continue;
    const protocols::Body& body = incoming->message.body;
    if (const auto* error = std::get_if<protocols::Error>(&body)) {
      failure->site = site;
      failure->refusal = error->code == "policy_refused";
      const std::string text =
          what + ": site " + site + " answered " + error->code + ": " + error->message;
      return failure->refusal ? common::PermissionDenied(text) : common::FailedPrecondition(text);
    }
    const auto* reply = std::get_if<protocols::RoundReply>(&body);
    if (reply == nullptr) {
      Log(LogLevel::kWarn, "coordinator", "ignored a message during a round",
          {{"site", site},
           {"type", std::string(protocols::MessageTypeName(incoming->message.type()))},
           {"job", options.job_id}});
      continue;
    }
    if (reply->job_id != first.job_id || reply->round_id != first.round_id ||
        reply->statistic != first.statistic) {
      Log(LogLevel::kWarn, "coordinator", "ignored a reply to an exchange not outstanding",
          {{"site", site},
           {"job", reply->job_id},
           {"round", std::to_string(reply->round_id)},
           {"statistic", reply->statistic}});
      continue;
    }
    if (!replies.emplace(site, *reply).second) {
      Log(LogLevel::kWarn, "coordinator", "ignored a second reply to the same exchange",
          {{"site", site},
           {"round", std::to_string(first.round_id)},
           {"statistic", first.statistic}});
    }
  }
  return finish();
}

// The request of a secure-round step 1..3 carrying one blob list "blobs".
Result<protocols::RoundRequest> StepRequest(const protocols::RoundRequest& step0, int step,
                                            const std::vector<site_agent::stats::Blob>& blobs) {
  protocols::RoundRequest request;
  request.job_id = step0.job_id;
  request.round_id = step0.round_id;
  request.statistic = site_agent::stats::SecureStepStatistic(step);
  request.parameters = nlohmann::json::object();
  FEDRAD_ASSIGN_OR_RETURN(protocols::Array list, site_agent::stats::EncodeBlobList("blobs", blobs));
  request.arrays.push_back(std::move(list));
  return request;
}

}  // namespace

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
  ++rounds_;
  const std::int64_t round_id = options_.shared_round_ids != nullptr ? ++*options_.shared_round_ids
                                                                     : rounds_ + round_id_offset_;
  last_failed_site_.clear();
  last_failure_was_refusal_ = false;
  if (requests.empty()) return std::vector<std::vector<double>>{};
  if (options_.sites.empty()) return common::FailedPrecondition("wire aggregator: no site");
  for (const StatRequest& request : requests) {
    if (std::holds_alternative<site_agent::stats::LocalEvaluationRequest>(request) &&
        (options_.sites.size() != 1 || options_.secure)) {
      return common::InvalidArgument(
          "wire aggregator: a local evaluation is one site's release, sent in the clear to "
          "exactly one site; this aggregator has " +
          std::to_string(options_.sites.size()) + " site(s)" +
          (options_.secure ? " and secure aggregation" : ""));
    }
  }

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
  if (options_.secure) return SecureSumBatch(round_id, requests, sizes, std::move(message));
  FEDRAD_ASSIGN_OR_RETURN(std::int64_t request_bytes, WireBytes(message));

  const std::string round_name = "job " + options_.job_id + " round " + std::to_string(round_id);
  if (options_.on_round_start) {
    FEDRAD_RETURN_IF_ERROR(options_.on_round_start(round_id).Wrap(round_name));
  }
  for (const std::string& site : options_.sites) {
    if (auto s = sessions_->Send(site, message); !s.ok()) {
      last_failed_site_ = site;
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
      std::size_t missing_count = 0;
      for (const std::string& site : options_.sites) {
        if (answers.count(site) == 0) {
          missing += (missing.empty() ? "" : ", ") + site;
          if (++missing_count == 1) last_failed_site_ = site;
        }
      }
      if (missing_count != 1) last_failed_site_.clear();  // not one site's fault
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
        last_failed_site_ = site;
        return common::Unavailable(round_name + ": the session of site " + site +
                                   " was lost (it must stay connected for the whole job)");
      }
    }
    for (const std::string& site : sessions_->TakeNewSessions()) {
      if (expected.count(site) > 0) {
        last_failed_site_ = site;
        return common::Unavailable(round_name + ": site " + site +
                                   " reconnected during the job and no longer knows it");
      }
    }
    if (!incoming) continue;
    const std::string& site = incoming->site_id;
    if (expected.count(site) == 0) continue;
    const protocols::Body& body = incoming->message.body;
    if (const auto* error = std::get_if<protocols::Error>(&body)) {
      // Which site failed, and whether by a disclosure-gate refusal (6.6).
      last_failed_site_ = site;
      last_failure_was_refusal_ = error->code == "policy_refused";
      if (last_failure_was_refusal_) {
        return common::PermissionDenied(round_name + ": site " + site + " answered " + error->code +
                                        ": " + error->message);
      }
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
      last_failed_site_ = site;
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

// A secure round (docs/protocol.md 6.5): four exchanges over the job's sites
// driving the ServerSession; every site must answer every step (a site that
// fails a step fails the round, naming it: the sum would lack its rows).
Result<std::vector<std::vector<double>>> WireAggregator::SecureSumBatch(
    std::int64_t round_id, const std::vector<StatRequest>& requests,
    const std::vector<std::size_t>& sizes, protocols::RoundRequest message) {
  namespace stats = site_agent::stats;
  const std::string round_name = "job " + options_.job_id + " round " + std::to_string(round_id);
  const protocols::SecAggConfig& config = *options_.secure;
  std::map<std::string, std::size_t> position;
  for (std::size_t k = 0; k < config.sites.size(); ++k) position[config.sites[k].site_id] = k;
  if (!secure_session_) {
    for (const std::string& site : options_.sites) {
      if (position.count(site) == 0) {
        return common::InvalidArgument(round_name + ": site " + site +
                                       " is not a train site of the study spec's sites");
      }
    }
    auto created = protocols::ServerSession::Create(config);
    if (!created.ok()) return created.status().Wrap(round_name + ": secure aggregation");
    secure_session_.emplace(std::move(created).value());
  }
  protocols::ServerSession& server = *secure_session_;
  const std::vector<std::string>& sites = options_.sites;
  Failure failure;
  // Records the failing site of `status` (the site named by `site` if the
  // exchange itself did not name one) and returns it wrapped.
  auto fail = [&](const common::Status& status, const std::string& site) {
    last_failed_site_ = failure.site.empty() ? site : failure.site;
    last_failure_was_refusal_ = failure.refusal;
    return status;
  };
  // Bytes of one exchange: the request to and the reply from the first site
  // (every site's messages of one step have the same size).
  auto count_bytes = [&](const protocols::RoundRequest& request,
                         const protocols::RoundReply& reply) -> common::Status {
    FEDRAD_ASSIGN_OR_RETURN(std::int64_t to, WireBytes(request));
    FEDRAD_ASSIGN_OR_RETURN(std::int64_t from, WireBytes(reply));
    bytes_to_ += to;
    bytes_from_ += from;
    return common::Status::Ok();
  };
  auto same_for_all = [&](const protocols::RoundRequest& request) {
    std::map<std::string, protocols::RoundRequest> out;
    for (const std::string& site : sites) out.emplace(site, request);
    return out;
  };

  stats::MarkSecure(&message);
  if (options_.on_round_start) {
    FEDRAD_RETURN_IF_ERROR(options_.on_round_start(round_id).Wrap(round_name));
  }
  const protocols::RoundId secagg_round{static_cast<std::uint64_t>(round_id), 0};
  FEDRAD_RETURN_IF_ERROR(server.BeginRound(secagg_round).Wrap(round_name));

  // Step 0: the batch; each site answers its result sizes and signed keys.
  auto step0 = Exchange(*sessions_, options_, round_name, sites, same_for_all(message), &failure);
  if (!step0.ok()) return fail(step0.status(), "");
  for (const std::string& site : sites) {
    const protocols::RoundReply& reply = step0->at(site);
    const std::string what = round_name + ": secure stats_batch reply from site " + site;
    if (reply.arrays.size() != 2 || reply.arrays[0].name != "sizes" ||
        reply.arrays[0].dtype != protocols::DType::kI64 ||
        reply.arrays[0].i64.size() != sizes.size()) {
      return fail(common::ProtocolError(what + ": expected arrays 'sizes' (" +
                                        std::to_string(sizes.size()) + " values) and 'key_ad'"),
                  site);
    }
    for (std::size_t r = 0; r < sizes.size(); ++r) {
      if (reply.arrays[0].i64[r] < 0 ||
          static_cast<std::size_t>(reply.arrays[0].i64[r]) != sizes[r]) {
        return fail(common::ProtocolError(what + ": result " + std::to_string(r) + " has " +
                                          std::to_string(reply.arrays[0].i64[r]) +
                                          " values, expected " + std::to_string(sizes[r])),
                    site);
      }
    }
    auto blobs = stats::BlobsOf({reply.arrays[1]}, "key_ad", what);
    if (!blobs.ok()) return fail(blobs.status(), site);
    if (blobs->size() != 1) {
      return fail(common::ProtocolError(what + ": 'key_ad' must hold one blob, got " +
                                        std::to_string(blobs->size())),
                  site);
    }
    auto ad = protocols::DecodeKeyAdvertisement(blobs->front());
    if (!ad.ok()) return fail(ad.status().Wrap(what), site);
    if (ad->site_id != site) {
      return fail(
          common::ProtocolError(what + ": the key advertisement names site '" + ad->site_id + "'"),
          site);
    }
    if (auto s = server.ReceiveAdvertisement(*ad); !s.ok()) return fail(s.Wrap(round_name), site);
  }
  FEDRAD_RETURN_IF_ERROR(count_bytes(message, step0->at(sites.front())));
  auto ads = server.CloseAdvertisements();
  if (!ads.ok()) return fail(ads.status().Wrap(round_name), "");
  std::sort(ads->begin(), ads->end(), [&](const auto& a, const auto& b) {
    return position.at(a.site_id) < position.at(b.site_id);
  });

  // Step 1: every site gets all advertisements and answers sealed shares.
  std::vector<stats::Blob> ad_blobs;
  for (const auto& ad : *ads) ad_blobs.push_back(protocols::EncodeKeyAdvertisement(ad));
  FEDRAD_ASSIGN_OR_RETURN(protocols::RoundRequest shares_request,
                          StepRequest(message, 1, ad_blobs));
  auto step1 =
      Exchange(*sessions_, options_, round_name, sites, same_for_all(shares_request), &failure);
  if (!step1.ok()) return fail(step1.status(), "");
  for (const std::string& site : sites) {
    const std::string what = round_name + ": secagg_shares reply from site " + site;
    auto blobs = stats::BlobsOf(step1->at(site).arrays, "blobs", what);
    if (!blobs.ok()) return fail(blobs.status(), site);
    std::vector<protocols::EncryptedShare> shares;
    for (std::size_t b = 0; b < blobs->size(); ++b) {
      auto share = protocols::DecodeEncryptedShare((*blobs)[b]);
      if (!share.ok()) return fail(share.status().Wrap(what + ": blob " + std::to_string(b)), site);
      shares.push_back(std::move(share).value());
    }
    if (auto s = server.ReceiveShares(site, shares); !s.ok()) return fail(s.Wrap(round_name), site);
  }
  FEDRAD_RETURN_IF_ERROR(count_bytes(shares_request, step1->at(sites.front())));
  auto routed = server.CloseShares();
  if (!routed.ok()) return fail(routed.status().Wrap(round_name), "");

  // Step 2: each site gets the shares addressed to it and answers its masked
  // input.
  std::map<std::string, protocols::RoundRequest> input_requests;
  for (const std::string& site : sites) {
    std::vector<protocols::EncryptedShare>& to_site = (*routed)[site];
    std::sort(to_site.begin(), to_site.end(), [&](const auto& a, const auto& b) {
      return position.at(a.from_site) < position.at(b.from_site);
    });
    std::vector<stats::Blob> blobs;
    for (const auto& share : to_site) blobs.push_back(protocols::EncodeEncryptedShare(share));
    FEDRAD_ASSIGN_OR_RETURN(protocols::RoundRequest request, StepRequest(message, 2, blobs));
    input_requests.emplace(site, std::move(request));
  }
  auto step2 = Exchange(*sessions_, options_, round_name, sites, input_requests, &failure);
  if (!step2.ok()) return fail(step2.status(), "");
  const std::size_t words = stats::WideWordCount(requests, sizes);
  FEDRAD_RETURN_IF_ERROR(count_bytes(input_requests.at(sites.front()), step2->at(sites.front())));
  for (const std::string& site : sites) {
    protocols::RoundReply& reply = step2->at(site);
    const std::string what = round_name + ": secagg_input reply from site " + site;
    if (reply.arrays.size() != 1 || reply.arrays[0].name != "masked" ||
        reply.arrays[0].dtype != protocols::DType::kI64 || reply.arrays[0].shape.size() != 1 ||
        reply.arrays[0].i64.size() != words) {
      return fail(common::ProtocolError(what + ": expected one i64 array 'masked' of " +
                                        std::to_string(words) + " words"),
                  site);
    }
    // The words as uint64 (two's complement; int64_t and uint64_t may alias),
    // added to the server's running sum without a copy, then freed: the
    // coordinator holds the replies not yet summed and one sum.
    std::vector<std::int64_t>& masked = reply.arrays[0].i64;
    const std::span<const std::uint64_t> view(reinterpret_cast<const std::uint64_t*>(masked.data()),
                                              masked.size());
    if (auto s = server.ReceiveMaskedInput(site, secagg_round, view); !s.ok()) {
      return fail(s.Wrap(round_name), site);
    }
    std::vector<std::int64_t>().swap(masked);
  }
  auto unmask = server.CloseMaskedInputs();
  if (!unmask.ok()) return fail(unmask.status().Wrap(round_name), "");

  // Step 3: the survivors reveal the shares that remove the masks.
  FEDRAD_ASSIGN_OR_RETURN(protocols::RoundRequest unmask_request,
                          StepRequest(message, 3, {protocols::EncodeUnmaskRequest(*unmask)}));
  // A site that drops out now has its masked input in the sum already: the
  // others' shares of its self-mask seed remove that mask, so the round still
  // sums every site's rows, as long as t sites answer (docs/security.md, "In
  // live studies"). The round after it then fails for that site and the
  // study handles the dropout as its spec says.
  const std::size_t threshold =
      config.threshold != 0 ? config.threshold : config.sites.size() / 2 + 1;
  std::vector<std::string> dropped;
  auto step3 = Exchange(*sessions_, options_, round_name, sites, same_for_all(unmask_request),
                        &failure, Tolerance{threshold, &dropped});
  if (!step3.ok()) return fail(step3.status(), "");
  for (const auto& [site, reply] : *step3) {
    const std::string what = round_name + ": secagg_unmask reply from site " + site;
    auto blobs = stats::BlobsOf(reply.arrays, "blobs", what);
    if (!blobs.ok()) return fail(blobs.status(), site);
    if (blobs->size() != 1) {
      return fail(common::ProtocolError(what + ": expected one unmask response blob, got " +
                                        std::to_string(blobs->size())),
                  site);
    }
    auto response = protocols::DecodeUnmaskResponse(blobs->front());
    if (!response.ok()) return fail(response.status().Wrap(what), site);
    if (response->site_id != site) {
      return fail(
          common::ProtocolError(what + ": the response names site '" + response->site_id + "'"),
          site);
    }
    if (auto s = server.ReceiveUnmaskResponse(*response); !s.ok()) {
      return fail(s.Wrap(round_name), site);
    }
  }
  FEDRAD_RETURN_IF_ERROR(count_bytes(unmask_request, step3->begin()->second));
  if (options_.on_round_end) {
    FEDRAD_RETURN_IF_ERROR(options_.on_round_end(round_id).Wrap(round_name));
  }
  auto aggregate = server.Finish();
  if (!aggregate.ok()) return fail(aggregate.status().Wrap(round_name), "");
  for (const std::string& site : dropped) {
    Log(LogLevel::kWarn, "coordinator",
        "site dropped out after sending its masked input; its self-mask was removed with the "
        "other sites' shares and the round's sum includes its rows",
        {{"site", site},
         {"job", options_.job_id},
         {"round", std::to_string(round_id)},
         {"shares_from", std::to_string(step3->size())},
         {"sites_in_sum", std::to_string(aggregate->included_sites.size())}});
  }
  auto totals = stats::DecodeWideSums(requests, sizes, aggregate->sum_encoded,
                                      aggregate->included_sites.size());
  if (!totals.ok()) return totals.status().Wrap(round_name + ": decoding the secure sum");
  return totals;
}

}  // namespace fedrad::coordinator

#include "fedrad/site_agent/stats/secure_round.hpp"

#include <algorithm>
#include <utility>
#include <variant>

#include "fedrad/common/secure_memory.hpp"
#include "fedrad/site_agent/stats/wire.hpp"

namespace fedrad::site_agent::stats {

using common::ProtocolError;
using common::Result;
using common::Status;
using protocols::Array;
using protocols::DType;
using protocols::RoundReply;
using protocols::RoundRequest;

namespace {

constexpr char kSecureParameter[] = "secure";
constexpr char kFractionalBitsKey[] = "fractional_bits";
constexpr char kBlobsArray[] = "blobs";
constexpr char kKeyAdArray[] = "key_ad";
constexpr char kSizesArray[] = "sizes";
constexpr char kMaskedArray[] = "masked";

std::string RoundName(const RoundRequest& request) {
  return "job " + request.job_id + " round " + std::to_string(request.round_id);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

RoundReply ReplyTo(const RoundRequest& request) {
  RoundReply reply;
  reply.job_id = request.job_id;
  reply.round_id = request.round_id;
  reply.statistic = request.statistic;
  return reply;
}

// The site order position of each site id.
std::map<std::string, std::size_t> Positions(const std::vector<std::string>& order) {
  std::map<std::string, std::size_t> out;
  for (std::size_t k = 0; k < order.size(); ++k) out[order[k]] = k;
  return out;
}

}  // namespace

// ---- blob lists ----

Result<Array> EncodeBlobList(const std::string& name, const std::vector<Blob>& blobs) {
  if (blobs.size() > kMaxBlobs) {
    return common::InvalidArgument("blob list '" + name + "': " + std::to_string(blobs.size()) +
                                   " blobs, at most " + std::to_string(kMaxBlobs));
  }
  std::size_t total = 1;
  for (std::size_t b = 0; b < blobs.size(); ++b) {
    if (blobs[b].size() > kMaxBlobBytes) {
      return common::InvalidArgument("blob list '" + name + "': blob " + std::to_string(b) +
                                     " has " + std::to_string(blobs[b].size()) +
                                     " bytes, at most " + std::to_string(kMaxBlobBytes));
    }
    total += 1 + blobs[b].size();
  }
  std::vector<std::int64_t> values;
  values.reserve(total);
  values.push_back(static_cast<std::int64_t>(blobs.size()));
  for (const Blob& blob : blobs) {
    values.push_back(static_cast<std::int64_t>(blob.size()));
    values.insert(values.end(), blob.begin(), blob.end());
  }
  const auto n = static_cast<std::int64_t>(values.size());  // before the move below
  return Array::I64(name, {n}, std::move(values));
}

Result<std::vector<Blob>> DecodeBlobList(const Array& array) {
  const std::string what = "blob list '" + array.name + "'";
  if (array.dtype != DType::kI64 || array.shape.size() != 1) {
    return ProtocolError(what + ": must be a one-dimensional i64 array");
  }
  const std::vector<std::int64_t>& v = array.i64;
  if (v.empty()) return ProtocolError(what + ": empty (expected the blob count first)");
  const std::int64_t count = v[0];
  if (count < 0 || count > static_cast<std::int64_t>(kMaxBlobs)) {
    return ProtocolError(what + ": blob count is " + std::to_string(count) + ", expected [0, " +
                         std::to_string(kMaxBlobs) + "]");
  }
  std::size_t pos = 1;
  std::vector<Blob> blobs;
  blobs.reserve(static_cast<std::size_t>(count));
  for (std::int64_t b = 0; b < count; ++b) {
    if (pos >= v.size()) {
      return ProtocolError(what + ": ends at element " + std::to_string(v.size()) +
                           " before the length of blob " + std::to_string(b) + " of " +
                           std::to_string(count));
    }
    const std::int64_t length = v[pos];
    if (length < 0 || length > static_cast<std::int64_t>(kMaxBlobBytes)) {
      return ProtocolError(what + ": blob " + std::to_string(b) + " has length " +
                           std::to_string(length) + " at element " + std::to_string(pos) +
                           ", expected [0, " + std::to_string(kMaxBlobBytes) + "]");
    }
    ++pos;
    if (static_cast<std::size_t>(length) > v.size() - pos) {
      return ProtocolError(what + ": blob " + std::to_string(b) + " needs " +
                           std::to_string(length) + " bytes from element " + std::to_string(pos) +
                           ", only " + std::to_string(v.size() - pos) + " remain");
    }
    Blob blob(static_cast<std::size_t>(length));
    for (std::size_t i = 0; i < blob.size(); ++i, ++pos) {
      if (v[pos] < 0 || v[pos] > 255) {
        return ProtocolError(what + ": blob " + std::to_string(b) + " byte " + std::to_string(i) +
                             " (element " + std::to_string(pos) + ") is " + std::to_string(v[pos]) +
                             ", expected [0, 255]");
      }
      blob[i] = static_cast<std::uint8_t>(v[pos]);
    }
    blobs.push_back(std::move(blob));
  }
  if (pos != v.size()) {
    return ProtocolError(what + ": " + std::to_string(v.size() - pos) +
                         " unread elements after the last blob (" + std::to_string(v.size()) +
                         " elements)");
  }
  return blobs;
}

Result<std::vector<Blob>> BlobsOf(const std::vector<Array>& arrays, const std::string& name,
                                  const std::string& what) {
  if (arrays.size() != 1 || arrays[0].name != name) {
    return ProtocolError(what + ": expected exactly one array '" + name + "', got " +
                         std::to_string(arrays.size()) + " arrays" +
                         (arrays.empty() ? std::string() : " (first '" + arrays[0].name + "')"));
  }
  auto blobs = DecodeBlobList(arrays[0]);
  if (!blobs.ok()) return blobs.status().Wrap(what);
  return blobs;
}

// ---- requests ----

int SecureStepOf(const RoundRequest& request) {
  if (request.statistic == kStatsBatchStatistic) {
    return request.parameters.is_object() && request.parameters.contains(kSecureParameter) ? 0 : -1;
  }
  if (request.statistic == kSecAggSharesStatistic) return 1;
  if (request.statistic == kSecAggInputStatistic) return 2;
  if (request.statistic == kSecAggUnmaskStatistic) return 3;
  return -1;
}

const char* SecureStepStatistic(int step) {
  switch (step) {
    case 0:
      return kStatsBatchStatistic;
    case 1:
      return kSecAggSharesStatistic;
    case 2:
      return kSecAggInputStatistic;
    default:
      return kSecAggUnmaskStatistic;
  }
}

void MarkSecure(RoundRequest* request) {
  request->parameters[kSecureParameter] =
      nlohmann::json{{kFractionalBitsKey, kSecureFractionalBits}};
}

Result<RoundRequest> PlainBatchRequest(const RoundRequest& request) {
  const std::string what = "stats_batch (secure)";
  if (request.statistic != kStatsBatchStatistic || !request.parameters.is_object()) {
    return ProtocolError(what + ": not a stats_batch request with a parameters object");
  }
  const auto it = request.parameters.find(kSecureParameter);
  if (it == request.parameters.end()) return ProtocolError(what + ": no parameter 'secure'");
  const nlohmann::json expected = {{kFractionalBitsKey, kSecureFractionalBits}};
  if (*it != expected) {
    return ProtocolError(what + ": parameter 'secure' must be " + expected.dump() + ", got " +
                         it->dump().substr(0, 200));
  }
  RoundRequest plain = request;
  plain.parameters.erase(kSecureParameter);
  return plain;
}

// ---- values ----

int WideLimbsOf(const StatRequest& request) {
  return std::holds_alternative<MomentsRequest>(request) ? 3 : 2;
}

protocols::WideFixedPointParams WideParamsOf(const StatRequest& request) {
  protocols::WideFixedPointParams params;
  params.fractional_bits = kSecureFractionalBits;
  params.limbs = WideLimbsOf(request);
  return params;
}

std::size_t WideWordCount(const std::vector<StatRequest>& batch,
                          const std::vector<std::size_t>& sizes) {
  std::size_t words = 0;
  for (std::size_t r = 0; r < batch.size() && r < sizes.size(); ++r) {
    words += sizes[r] * static_cast<std::size_t>(WideLimbsOf(batch[r]));
  }
  return words;
}

Result<std::vector<std::uint64_t>> EncodeWideResults(
    const std::vector<StatRequest>& batch, const std::vector<std::vector<double>>& results) {
  if (batch.size() != results.size()) {
    return common::InvalidArgument("secure stats_batch: " + std::to_string(results.size()) +
                                   " results for " + std::to_string(batch.size()) + " requests");
  }
  std::vector<std::uint64_t> words;
  for (std::size_t r = 0; r < batch.size(); ++r) {
    auto encoded = protocols::EncodeWideFixedPoint(results[r], WideParamsOf(batch[r]));
    if (!encoded.ok()) {
      return encoded.status().Wrap("stats_batch request " + std::to_string(r) +
                                   ": a value cannot be encoded for secure aggregation (limbs " +
                                   std::to_string(WideLimbsOf(batch[r])) + ")");
    }
    words.insert(words.end(), encoded->begin(), encoded->end());
    common::SecureWipe(encoded->data(), encoded->size() * sizeof(std::uint64_t));
  }
  return words;
}

Result<std::vector<std::vector<double>>> DecodeWideSums(const std::vector<StatRequest>& batch,
                                                        const std::vector<std::size_t>& sizes,
                                                        std::span<const std::uint64_t> sum,
                                                        std::size_t summed_sites) {
  if (batch.size() != sizes.size()) {
    return common::InvalidArgument("secure stats_batch: " + std::to_string(sizes.size()) +
                                   " sizes for " + std::to_string(batch.size()) + " requests");
  }
  if (WideWordCount(batch, sizes) != sum.size()) {
    return common::InvalidArgument("secure stats_batch: the sum has " + std::to_string(sum.size()) +
                                   " words, the batch needs " +
                                   std::to_string(WideWordCount(batch, sizes)));
  }
  std::vector<std::vector<double>> out;
  out.reserve(batch.size());
  std::size_t pos = 0;
  for (std::size_t r = 0; r < batch.size(); ++r) {
    const std::size_t words = sizes[r] * static_cast<std::size_t>(WideLimbsOf(batch[r]));
    auto decoded = protocols::DecodeWideFixedPointSum(sum.subspan(pos, words),
                                                      WideParamsOf(batch[r]), summed_sites);
    if (!decoded.ok()) return decoded.status().Wrap("stats_batch request " + std::to_string(r));
    if (decoded->size() != sizes[r]) {
      return common::Internal("stats_batch request " + std::to_string(r) + ": decoded " +
                              std::to_string(decoded->size()) + " values, expected " +
                              std::to_string(sizes[r]));
    }
    out.push_back(std::move(decoded).value());
    pos += words;
  }
  return out;
}

// ---- configuration ----

Result<protocols::PublicKey32> ParseSignPublicKey(const std::string& hex) {
  protocols::PublicKey32 key{};
  if (hex.size() != 2 * key.size()) {
    return common::InvalidArgument("sign_public_key must be " + std::to_string(2 * key.size()) +
                                   " hex digits, got " + std::to_string(hex.size()) +
                                   " characters");
  }
  for (std::size_t i = 0; i < key.size(); ++i) {
    const int hi = HexDigit(hex[2 * i]);
    const int lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return common::InvalidArgument("sign_public_key holds a non-hex character at position " +
                                     std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
    }
    key[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return key;
}

Result<protocols::SecAggConfig> SecAggConfigOf(const protocols::StudySpec& spec) {
  const std::string where = "study spec of study \"" + spec.study_id + "\"";
  if (spec.sites.empty()) {
    return common::InvalidArgument(
        where +
        ": privacy.secure_aggregation is on (the default) but the spec lists no \"sites\"; list "
        "every site with its sign_public_key and role, or set privacy.secure_aggregation to "
        "false");
  }
  protocols::SecAggConfig config;
  config.study_id = spec.study_id;
  for (const protocols::StudySiteSpec& site : spec.sites) {
    if (site.external) continue;
    auto key = ParseSignPublicKey(site.sign_public_hex);
    if (!key.ok()) return key.status().Wrap(where + ": site \"" + site.id + "\"");
    config.sites.push_back(protocols::SecAggParticipant{site.id, *key});
  }
  config.threshold = static_cast<std::size_t>(spec.privacy.threshold);
  config.min_sites = static_cast<std::size_t>(spec.privacy.min_sites);
  config.allow_fewer_sites = spec.privacy.allow_fewer_sites;
  config.fractional_bits = kSecureFractionalBits;
  config.vector_length = 0;  // fixed per round
  // Validated with a placeholder length (the real one is fixed per round).
  protocols::SecAggConfig check = config;
  check.vector_length = 1;
  if (auto s = protocols::ValidateSecAggConfig(check); !s.ok()) {
    return s.Wrap(where + " (its train sites and privacy section)");
  }
  return config;
}

Result<protocols::SecAggConfig> ExternalSecAggConfigOf(const protocols::StudySpec& spec) {
  const std::string where = "study spec of study \"" + spec.study_id + "\"";
  protocols::SecAggConfig config;
  config.study_id = spec.study_id + "/external";
  for (const protocols::StudySiteSpec& site : spec.sites) {
    if (!site.external) continue;
    auto key = ParseSignPublicKey(site.sign_public_hex);
    if (!key.ok()) return key.status().Wrap(where + ": site \"" + site.id + "\"");
    config.sites.push_back(protocols::SecAggParticipant{site.id, *key});
  }
  if (config.sites.size() < 2) {
    return common::InvalidArgument(where +
                                   ": secure rounds over the external sites need at least "
                                   "two of them, the spec lists " +
                                   std::to_string(config.sites.size()));
  }
  config.threshold = 0;
  config.min_sites = static_cast<std::size_t>(spec.privacy.min_sites);
  config.allow_fewer_sites = spec.privacy.allow_fewer_sites;
  config.fractional_bits = kSecureFractionalBits;
  config.vector_length = 0;
  protocols::SecAggConfig check = config;
  check.vector_length = 1;
  if (auto s = protocols::ValidateSecAggConfig(check); !s.ok()) {
    return s.Wrap(where + " (its external sites and privacy section)");
  }
  return config;
}

// ---- the site's side ----

Result<SecureRoundSite> SecureRoundSite::Create(protocols::SecAggConfig config,
                                                const std::string& site_id,
                                                std::span<const std::uint8_t> sign_secret,
                                                protocols::RandomSource random) {
  SecureRoundSite site;
  for (const auto& participant : config.sites) site.site_order_.push_back(participant.site_id);
  FEDRAD_ASSIGN_OR_RETURN(
      auto session,
      protocols::SiteSession::Create(std::move(config), site_id, sign_secret, std::move(random)));
  site.session_.emplace(std::move(session));
  return Result<SecureRoundSite>(std::move(site));
}

SecureRoundSite::~SecureRoundSite() { WipeValues(); }

void SecureRoundSite::WipeValues() {
  if (!encoded_.empty()) {
    common::SecureWipe(encoded_.data(), encoded_.size() * sizeof(std::uint64_t));
  }
  encoded_.clear();
}

void SecureRoundSite::Remember(const RoundReply& reply) { sent_[reply.statistic] = reply; }

const RoundReply* SecureRoundSite::Cached(const RoundRequest& request) const {
  if (request.round_id != round_) return nullptr;
  const auto it = sent_.find(request.statistic);
  return it == sent_.end() ? nullptr : &it->second;
}

Status SecureRoundSite::CheckOrder(const RoundRequest& request) const {
  const int step = SecureStepOf(request);
  if (step < 0) {
    return ProtocolError(RoundName(request) + ": statistic \"" + request.statistic +
                         "\" is not a step of a secure round");
  }
  const std::string last = step_ < 0 ? std::string("no step yet")
                                     : "step " + std::to_string(step_) + " (" +
                                           SecureStepStatistic(step_) + ") of round " +
                                           std::to_string(round_) + " last";
  if (step == 0) {
    if (request.round_id <= round_ && step_ >= 0) {
      return ProtocolError(RoundName(request) + ": a secure round must have a round id above " +
                           std::to_string(round_) + " (this site answered " + last + ")");
    }
    return Status::Ok();
  }
  if (request.round_id != round_ || step_ != step - 1) {
    return ProtocolError(RoundName(request) + ": " + request.statistic + " (step " +
                         std::to_string(step) + ") out of order: this site answered " + last +
                         "; expected step " + std::to_string(step - 1) + " of round " +
                         std::to_string(request.round_id) + " first");
  }
  return Status::Ok();
}

Result<RoundReply> SecureRoundSite::Start(const RoundRequest& request,
                                          const std::vector<StatRequest>& batch,
                                          const RoundReply& plain_reply) {
  FEDRAD_RETURN_IF_ERROR(CheckOrder(request));
  if (SecureStepOf(request) != 0) {
    return ProtocolError(RoundName(request) + ": step 0 must be a secure stats_batch request");
  }
  const Array* sizes = nullptr;
  for (const Array& a : plain_reply.arrays) {
    if (a.name == kSizesArray && a.dtype == DType::kI64) sizes = &a;
  }
  if (sizes == nullptr) return common::Internal("secure stats_batch: the plain reply has no sizes");
  std::vector<std::size_t> expected;
  for (std::int64_t n : sizes->i64) {
    if (n < 0) return common::Internal("secure stats_batch: negative size in the plain reply");
    expected.push_back(static_cast<std::size_t>(n));
  }
  FEDRAD_ASSIGN_OR_RETURN(auto results, DecodeStatsResults(plain_reply, expected));
  auto encoded = EncodeWideResults(batch, results);
  for (auto& r : results) std::fill(r.begin(), r.end(), 0.0);
  if (!encoded.ok()) return encoded.status().Wrap(RoundName(request));

  FEDRAD_ASSIGN_OR_RETURN(
      protocols::KeyAdvertisement ad,
      session_->AdvertiseKeys(protocols::RoundId{static_cast<std::uint64_t>(request.round_id), 0}));
  RoundReply reply = ReplyTo(request);
  reply.arrays.push_back(*sizes);
  FEDRAD_ASSIGN_OR_RETURN(Array key_ad,
                          EncodeBlobList(kKeyAdArray, {protocols::EncodeKeyAdvertisement(ad)}));
  reply.arrays.push_back(std::move(key_ad));

  WipeValues();
  encoded_ = std::move(encoded).value();
  round_ = request.round_id;
  step_ = 0;
  sent_.clear();
  Remember(reply);
  return reply;
}

Result<RoundReply> SecureRoundSite::Continue(const RoundRequest& request) {
  FEDRAD_RETURN_IF_ERROR(CheckOrder(request));
  const int step = SecureStepOf(request);
  const std::string what = RoundName(request) + " " + request.statistic;
  if (step < 1) return ProtocolError(what + ": not a step 1..3 request");
  FEDRAD_ASSIGN_OR_RETURN(std::vector<Blob> blobs, BlobsOf(request.arrays, kBlobsArray, what));
  RoundReply reply = ReplyTo(request);
  if (step == 1) {
    std::vector<protocols::KeyAdvertisement> ads;
    for (std::size_t b = 0; b < blobs.size(); ++b) {
      auto ad = protocols::DecodeKeyAdvertisement(blobs[b]);
      if (!ad.ok()) return ad.status().Wrap(what + ": blob " + std::to_string(b));
      ads.push_back(std::move(ad).value());
    }
    FEDRAD_ASSIGN_OR_RETURN(auto shares, session_->ShareKeys(ads));
    const auto position = Positions(site_order_);
    std::sort(shares.begin(), shares.end(), [&](const auto& a, const auto& b) {
      return position.at(a.to_site) < position.at(b.to_site);
    });
    std::vector<Blob> out;
    for (const auto& share : shares) out.push_back(protocols::EncodeEncryptedShare(share));
    FEDRAD_ASSIGN_OR_RETURN(Array list, EncodeBlobList(kBlobsArray, out));
    reply.arrays.push_back(std::move(list));
  } else if (step == 2) {
    std::vector<protocols::EncryptedShare> received;
    for (std::size_t b = 0; b < blobs.size(); ++b) {
      auto share = protocols::DecodeEncryptedShare(blobs[b]);
      if (!share.ok()) return share.status().Wrap(what + ": blob " + std::to_string(b));
      received.push_back(std::move(share).value());
    }
    auto masked = session_->MaskEncodedInput(received, encoded_);
    WipeValues();  // used once, whatever the outcome
    if (!masked.ok()) return masked.status();
    std::vector<std::int64_t> words(masked->masked.size());
    for (std::size_t i = 0; i < words.size(); ++i) {
      words[i] = static_cast<std::int64_t>(masked->masked[i]);  // two's complement
    }
    const auto n = static_cast<std::int64_t>(words.size());
    reply.arrays.push_back(Array::I64(kMaskedArray, {n}, std::move(words)));
  } else {
    if (blobs.size() != 1) {
      return ProtocolError(what + ": expected one unmask request blob, got " +
                           std::to_string(blobs.size()));
    }
    FEDRAD_ASSIGN_OR_RETURN(auto unmask_request, protocols::DecodeUnmaskRequest(blobs[0]));
    FEDRAD_ASSIGN_OR_RETURN(auto response, session_->Unmask(unmask_request));
    FEDRAD_ASSIGN_OR_RETURN(
        Array list, EncodeBlobList(kBlobsArray, {protocols::EncodeUnmaskResponse(response)}));
    reply.arrays.push_back(std::move(list));
  }
  step_ = step;
  Remember(reply);
  return reply;
}

}  // namespace fedrad::site_agent::stats

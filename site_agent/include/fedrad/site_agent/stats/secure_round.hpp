// Secure stats_batch rounds on the wire (docs/protocol.md 6.5): the message
// layer between the secure-aggregation state machines
// (protocols/secure_aggregation.hpp) and the ROUND_REQUEST / ROUND_REPLY
// pairs that carry them, shared by the site agent and the coordinator's
// WireAggregator.
//
// A secure round r of job J is four exchanges with round_id r, told apart by
// the statistic: "stats_batch" (with parameters.secure) then
// "secagg_shares", "secagg_input" and "secagg_unmask".
//
// Blob list (the byte strings of secure_aggregation.hpp's Encode*/Decode* in
// an i64 array): [count, len_0, b_0[0..len_0), len_1, b_1..., ...], every
// byte an element in [0, 255], count <= kMaxBlobs, every len <= kMaxBlobBytes,
// and the array is consumed exactly. The decoder checks every count against
// the elements left before allocating, and names the array, the blob and the
// position of any violation (kProtocolError).
//
// Values: each request's result vector is encoded with the wide fixed-point
// codec (fixed_point.hpp, "Wide fixed point") with f = 40 fractional bits and
// L = 3 limbs for "moments" requests (raw-feature second moments can exceed
// 1e20), L = 2 for every other type; the encodings are concatenated in batch
// order (Σ sizes_i · L_i words). The coordinator decodes the unmasked word
// sums with the number of sites in the sum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/protocols/fixed_point.hpp"
#include "fedrad/protocols/messages.hpp"
#include "fedrad/protocols/secure_aggregation.hpp"
#include "fedrad/protocols/study_spec.hpp"
#include "fedrad/site_agent/stats/providers.hpp"

namespace fedrad::site_agent::stats {

inline constexpr char kSecAggSharesStatistic[] = "secagg_shares";
inline constexpr char kSecAggInputStatistic[] = "secagg_input";
inline constexpr char kSecAggUnmaskStatistic[] = "secagg_unmask";
inline constexpr int kSecureFractionalBits = 40;  // the only value of protocol 1.0
inline constexpr std::size_t kMaxBlobs = 256;     // 255 sites + 1
inline constexpr std::size_t kMaxBlobBytes = std::size_t{1} << 20;

using Blob = std::vector<std::uint8_t>;

// The i64 array `name` holding `blobs` (kInvalidArgument if a bound is broken).
common::Result<protocols::Array> EncodeBlobList(const std::string& name,
                                                const std::vector<Blob>& blobs);
// The blobs of a one-dimensional i64 array (see above); kProtocolError naming
// the array and the offending position otherwise.
common::Result<std::vector<Blob>> DecodeBlobList(const protocols::Array& array);
// The blobs of the single array `arrays` must hold, named `name`; `what`
// names the message in errors.
common::Result<std::vector<Blob>> BlobsOf(const std::vector<protocols::Array>& arrays,
                                          const std::string& name, const std::string& what);

// The step of a secure-round request: 0 for "stats_batch" with
// parameters.secure, 1..3 for the secagg_* statistics, -1 for anything else
// (a plain request).
int SecureStepOf(const protocols::RoundRequest& request);
// The statistic of step 0..3.
const char* SecureStepStatistic(int step);
// Adds parameters.secure = {"fractional_bits": 40} to a stats_batch request.
void MarkSecure(protocols::RoundRequest* request);
// The stats_batch request without parameters.secure (what DecodeStatsBatch
// reads); kProtocolError unless `secure` is exactly {"fractional_bits": 40}.
common::Result<protocols::RoundRequest> PlainBatchRequest(const protocols::RoundRequest& request);

// L of a request's values: 3 for moments, 2 for every other type.
int WideLimbsOf(const StatRequest& request);
protocols::WideFixedPointParams WideParamsOf(const StatRequest& request);
// Σ sizes[i] * L_i: the words of a batch's masked input.
std::size_t WideWordCount(const std::vector<StatRequest>& batch,
                          const std::vector<std::size_t>& sizes);
// Encodes one result vector per request, concatenated in batch order. A value
// outside the codec's range is refused naming the request and the value.
common::Result<std::vector<std::uint64_t>> EncodeWideResults(
    const std::vector<StatRequest>& batch, const std::vector<std::vector<double>>& results);
// Splits and decodes the word sums of `summed_sites` sites back into one
// vector per request (sizes[i] values each).
common::Result<std::vector<std::vector<double>>> DecodeWideSums(
    const std::vector<StatRequest>& batch, const std::vector<std::size_t>& sizes,
    std::span<const std::uint64_t> sum, std::size_t summed_sites);

// The secure-aggregation configuration of a study as the spec fixes it: its
// train sites in spec order (position k = Shamir x k + 1) with their pinned
// Ed25519 keys, threshold, min_sites, allow_fewer_sites; vector_length 0
// (fixed per round). Errors name the spec and the site.
common::Result<protocols::SecAggConfig> SecAggConfigOf(const protocols::StudySpec& spec);
// The secure-aggregation group of the study's EXTERNAL sites (the rounds
// that evaluate the frozen models on all external sites pooled, when there
// are at least min_sites of them, or 2.. with allow_fewer_sites): the
// spec's external sites in spec order, the default threshold floor(n/2) + 1,
// the same min_sites / allow_fewer_sites. kInvalidArgument with fewer than
// two external sites.
common::Result<protocols::SecAggConfig> ExternalSecAggConfigOf(const protocols::StudySpec& spec);
// Parses 64 hex digits into a 32-byte key.
common::Result<protocols::PublicKey32> ParseSignPublicKey(const std::string& hex);

// One site's secure rounds of one job: the SiteSession, the current round's
// encoded values and the step reached, and the replies already sent (for
// repeated requests). Steps must come in order: step 0 of a round above every
// earlier round, then steps 1, 2, 3 of that round.
class SecureRoundSite {
 public:
  static common::Result<SecureRoundSite> Create(protocols::SecAggConfig config,
                                                const std::string& site_id,
                                                std::span<const std::uint8_t> sign_secret,
                                                protocols::RandomSource random = {});

  // The reply already sent to this request's (round, statistic), if any.
  const protocols::RoundReply* Cached(const protocols::RoundRequest& request) const;
  // kProtocolError naming the round and the steps if `request` is not the
  // next step (call after Cached()).
  common::Status CheckOrder(const protocols::RoundRequest& request) const;
  // Step 0: `batch` is the decoded batch and `plain_reply` the plain
  // stats_batch reply computed for it (after the disclosure gate). Encodes
  // the values and advertises fresh keys; the reply holds "sizes" and
  // "key_ad".
  common::Result<protocols::RoundReply> Start(const protocols::RoundRequest& request,
                                              const std::vector<StatRequest>& batch,
                                              const protocols::RoundReply& plain_reply);
  // Steps 1..3 (secagg_shares, secagg_input, secagg_unmask).
  common::Result<protocols::RoundReply> Continue(const protocols::RoundRequest& request);

  ~SecureRoundSite();
  SecureRoundSite(SecureRoundSite&&) = default;
  SecureRoundSite& operator=(SecureRoundSite&&) = default;

 private:
  SecureRoundSite() = default;
  void Remember(const protocols::RoundReply& reply);
  void WipeValues();

  std::optional<protocols::SiteSession> session_;
  std::vector<std::string> site_order_;                // config order, for the blob order
  std::int64_t round_ = 0;                             // the current (latest started) round
  int step_ = -1;                                      // the last step answered in round_
  std::vector<std::uint64_t> encoded_;                 // this round's encoded values (until step 2)
  std::map<std::string, protocols::RoundReply> sent_;  // statistic -> reply, round_ only
};

}  // namespace fedrad::site_agent::stats

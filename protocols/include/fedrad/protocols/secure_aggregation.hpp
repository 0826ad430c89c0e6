// Secure aggregation (Bonawitz et al., CCS 2017, "Practical Secure
// Aggregation for Privacy-Preserving Machine Learning"), cross-silo variant:
// the coordinator learns only the sum of the sites' vectors, never one
// site's vector. Transport-agnostic: every step consumes and produces small
// structs, each with a byte-blob encoding (Encode*/Decode*), so a later layer
// can carry them in ROUND_REQUEST / ROUND_REPLY arrays. docs/security.md has
// the threat model and the guarantees.
//
// Parties: the sites listed in SecAggConfig::sites (position k has Shamir
// x = k + 1) and one server (the coordinator). A round is identified by
// RoundId {round, slot}; each (round, slot) must be used once per study.
//
// Notation: "|" concatenates; labels, study and site ids are u32-LE-length-
// prefixed strings; round is u64 LE, slot and idx (a site's position in
// SecAggConfig::sites) u32 LE; *_lo/*_hi order the pair by idx. BLAKE2b is
// crypto_generichash with a 32-byte output and no key.
//
// Round protocol (U1 ⊇ U2 ⊇ U3 are the sites still present after each step):
//
//   0. AdvertiseKeys  site:   fresh X25519 pairs (s_sk, s_pk) for masking and
//                             (c_sk, c_pk) for share encryption, signed with the
//                             site's Ed25519 identity key over
//                             "fedrad-secagg-keys-v1" | study | site | round |
//                             slot | s_pk | c_pk  -> KeyAdvertisement
//                     server: verifies against the pinned key, collects U1,
//                             broadcasts all advertisements.
//   1. ShareKeys      site:   verifies every advertisement (a substituted key is
//                             rejected), draws the self-mask seed b (32 bytes),
//                             t-of-n Shamir-shares s_sk and b (shamir.hpp), and
//                             seals share k for site k with
//                             XChaCha20-Poly1305 under
//                             K = BLAKE2b("fedrad-secagg-share-v1" | study |
//                                 round | slot | idx_lo | idx_hi | c_pk_lo |
//                                 c_pk_hi | X25519(c_sk_i, c_pk_j))
//                             -> EncryptedShare per other site in U1.
//                     server: relays ciphertexts (it cannot open them); U2 =
//                             the senders.
//   2. MaskedInput    site:   y_i = x_i + PRG(b_i) + sum_{j in U2, i<j} PRG(s_ij)
//                                   - sum_{j in U2, j<i} PRG(s_ij)   (mod 2^64),
//                             s_ij = BLAKE2b("fedrad-secagg-pairwise-v1" | study |
//                                 round | slot | idx_lo | idx_hi | s_pk_lo |
//                                 s_pk_hi | X25519(s_sk_i, s_pk_j)),
//                             PRG(seed) = ChaCha20-IETF keystream (nonce 0)
//                             read as little-endian uint64; the self-mask seed
//                             is BLAKE2b("fedrad-secagg-self-v1" | study |
//                             round | slot | b_i). x_i is fixed_point.hpp's
//                             encoding. -> MaskedInput. U3 = the senders.
//   3. Unmasking      server: UnmaskRequest {survivors U3, dropped U2 \ U3}.
//                     site:   checks the sets (disjoint, U3 ⊆ U2, |U3| >= t,
//                             answers once per round) and reveals its share of
//                             b_j for every j in U3 and of s_sk_j for every j
//                             in U2 \ U3 -- never both for one site.
//                     server: from >= t responses reconstructs b_j and s_sk_j,
//                             checks X25519 base(s_sk_j) == s_pk_j, removes all
//                             masks and decodes the sum of U3's inputs.
//
// Keys are fresh for every round: reconstructing a dropped site's masking key
// then reveals only that round's pairwise masks, for a round in which the
// server never receives that site's self-mask shares. (Re-using a masking key
// across rounds would let a server that learned b_j in one round and s_sk_j in
// a later one unmask y_j retroactively.) The server remembers every masking
// public key it has reconstructed and refuses, until the site re-keys, any
// advertisement that re-uses it (ServerSession::RekeyRequired()).
//
// Threshold t: default floor(n/2) + 1 (n = configured sites); at least t
// sites must survive to the end. The server refuses to release a sum over
// fewer than min_sites sites (default 3) unless allow_fewer_sites is set.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "fedrad/common/secure_memory.hpp"
#include "fedrad/common/status.hpp"
#include "fedrad/protocols/fixed_point.hpp"
#include "fedrad/protocols/shamir.hpp"

namespace fedrad::protocols {

inline constexpr std::size_t kSecAggKeyBytes = 32;
inline constexpr std::size_t kSecAggSignatureBytes = 64;
inline constexpr std::size_t kSecAggDefaultMinSites = 3;

using PublicKey32 = std::array<std::uint8_t, kSecAggKeyBytes>;

struct SecAggParticipant {
  std::string site_id;
  PublicKey32 sign_public{};  // pinned Ed25519 identity key
};

struct SecAggConfig {
  std::string study_id;
  std::vector<SecAggParticipant> sites;  // every site of the study; 2..255, unique ids
  std::size_t threshold = 0;             // t; 0 = floor(n/2) + 1
  std::size_t min_sites = kSecAggDefaultMinSites;
  bool allow_fewer_sites = false;  // permit sums over fewer than min_sites sites
  int fractional_bits = kDefaultFractionalBits;
  double value_bound = 1e5;  // B on every |value| at every site
  // Words per masked input. > 0: every input of every round has exactly this
  // length. 0: any length in [1, 2^26], fixed per round by the first masked
  // input the server accepts; every later input of that round must match it
  // (the sum and all masks of the round have that length). Wide encodings
  // (fixed_point.hpp) use values * limbs words; for them AggregateResult::sum
  // (the single-word decoding) is meaningless: decode sum_encoded with
  // DecodeWideFixedPointSum(sum_encoded, params, included_sites.size()).
  std::size_t vector_length = 0;

  // Threshold actually used.
  std::size_t EffectiveThreshold() const;
  // Fixed-point parameters with num_sites = sites.size().
  FixedPointParams FixedPoint() const;
};

// Checks ids (unique, non-empty), sizes, t in [floor(n/2)+1, n], t >= 2,
// n >= min_sites unless allowed, vector_length <= 2^26 (0 = set per round)
// and the fixed-point bound.
common::Status ValidateSecAggConfig(const SecAggConfig& config);

struct RoundId {
  std::uint64_t round = 0;
  std::uint32_t slot = 0;
  bool operator==(const RoundId&) const = default;
};

// Step 0, site -> server -> every site.
struct KeyAdvertisement {
  std::string site_id;
  RoundId round;
  PublicKey32 mask_public{};   // s_pk
  PublicKey32 share_public{};  // c_pk
  std::array<std::uint8_t, kSecAggSignatureBytes> signature{};
};

// Step 1, site -> server -> recipient. `sealed` = 24-byte nonce |
// XChaCha20-Poly1305(share x (1 byte) | s_sk share (32) | b share (32)),
// associated data "fedrad-secagg-share-ad-v1" | study | round | slot |
// from index | to index.
struct EncryptedShare {
  std::string from_site;
  std::string to_site;
  RoundId round;
  std::vector<std::uint8_t> sealed;
};

// Step 2, site -> server.
struct MaskedInput {
  std::string site_id;
  RoundId round;
  std::vector<std::uint64_t> masked;
};

// Step 3, server -> every site in U3.
struct UnmaskRequest {
  RoundId round;
  std::vector<std::string> survivors;  // U3
  std::vector<std::string> dropped;    // U2 \ U3
};

struct RevealedShare {
  std::string owner_site;  // whose secret this is a share of
  ShamirShare share;       // x = responder's index + 1, 32 bytes
};

// Step 3, site -> server.
struct UnmaskResponse {
  std::string site_id;
  RoundId round;
  std::vector<RevealedShare> self_mask_shares;  // one per survivor (incl. self)
  std::vector<RevealedShare> mask_key_shares;   // one per dropped site
};

struct AggregateResult {
  RoundId round;
  std::vector<std::string> included_sites;           // U3: whose inputs are in the sum
  std::vector<std::string> recovered_dropped_sites;  // U2 \ U3 (masks removed)
  std::vector<std::uint64_t> sum_encoded;            // exact modular sum of fixed-point inputs
  std::vector<double> sum;                           // decoded
};

// Byte blobs (little-endian; strings u32 length + bytes; a leading format
// byte 1). Decoders refuse truncated, trailing or oversized input.
std::vector<std::uint8_t> EncodeKeyAdvertisement(const KeyAdvertisement& m);
common::Result<KeyAdvertisement> DecodeKeyAdvertisement(std::span<const std::uint8_t> blob);
std::vector<std::uint8_t> EncodeEncryptedShare(const EncryptedShare& m);
common::Result<EncryptedShare> DecodeEncryptedShare(std::span<const std::uint8_t> blob);
std::vector<std::uint8_t> EncodeMaskedInput(const MaskedInput& m);
common::Result<MaskedInput> DecodeMaskedInput(std::span<const std::uint8_t> blob);
std::vector<std::uint8_t> EncodeUnmaskRequest(const UnmaskRequest& m);
common::Result<UnmaskRequest> DecodeUnmaskRequest(std::span<const std::uint8_t> blob);
std::vector<std::uint8_t> EncodeUnmaskResponse(const UnmaskResponse& m);
common::Result<UnmaskResponse> DecodeUnmaskResponse(std::span<const std::uint8_t> blob);

// Signs (study, site, round, slot, s_pk, c_pk) with a 64-byte Ed25519 secret
// key; VerifyKeyAdvertisement checks it against the pinned public key.
common::Result<KeyAdvertisement> SignKeyAdvertisement(const std::string& study_id,
                                                      const std::string& site_id, RoundId round,
                                                      const PublicKey32& mask_public,
                                                      const PublicKey32& share_public,
                                                      std::span<const std::uint8_t> sign_secret);
common::Status VerifyKeyAdvertisement(const std::string& study_id, const KeyAdvertisement& ad,
                                      const PublicKey32& sign_public);

// The PRG: `length` uint64 from ChaCha20-IETF(seed, nonce 0). (The sessions
// never materialise a mask: they add the keystream to the vector in chunks,
// long vectors split over a few threads at block boundaries; same words.)
std::vector<std::uint64_t> ExpandMask(std::span<const std::uint8_t> seed, std::size_t length);

// One site's side of the protocol. Steps must be called in order, once per
// round; any error aborts the site's round (call AdvertiseKeys again for a
// new round).
class SiteSession {
 public:
  // `sign_secret`: the 64-byte Ed25519 identity secret key (Identity::sign_secret).
  static common::Result<SiteSession> Create(SecAggConfig config, std::string site_id,
                                            std::span<const std::uint8_t> sign_secret,
                                            RandomSource random = {});

  common::Result<KeyAdvertisement> AdvertiseKeys(RoundId round);
  // `advertisements`: the server's broadcast (U1, must include this site).
  common::Result<std::vector<EncryptedShare>> ShareKeys(
      std::span<const KeyAdvertisement> advertisements);
  // `received`: the shares addressed to this site (their senders + this site = U2).
  common::Result<MaskedInput> MaskInput(std::span<const EncryptedShare> received,
                                        std::span<const double> values);
  common::Result<MaskedInput> MaskEncodedInput(std::span<const EncryptedShare> received,
                                               std::span<const std::uint64_t> encoded);
  common::Result<UnmaskResponse> Unmask(const UnmaskRequest& request);

  const std::string& site_id() const { return site_id_; }

 private:
  enum class Stage { kIdle, kAdvertised, kShared, kMasked, kDone };
  SiteSession() = default;
  void EndRound();

  SecAggConfig config_;
  std::string site_id_;
  std::size_t index_ = 0;
  common::SecureBuffer sign_secret_;
  RandomSource random_;
  std::map<std::string, std::size_t> index_of_;
  std::set<std::pair<std::uint64_t, std::uint32_t>> used_rounds_;

  Stage stage_ = Stage::kIdle;
  RoundId round_;
  common::SecureBuffer mask_secret_;   // s_sk
  common::SecureBuffer share_secret_;  // c_sk
  common::SecureBuffer self_seed_;     // b
  PublicKey32 mask_public_{};
  PublicKey32 share_public_{};
  std::map<std::string, KeyAdvertisement> u1_;
  std::set<std::string> u2_;
  // Shares this site holds, by owner: s_sk share then b share (64 bytes).
  std::map<std::string, common::SecureBuffer> held_shares_;
};

// The server's side: collects, relays and finally unmasks the sum.
class ServerSession {
 public:
  static common::Result<ServerSession> Create(SecAggConfig config);

  common::Status BeginRound(RoundId round);
  common::Status ReceiveAdvertisement(const KeyAdvertisement& ad);
  // Closes step 0: U1 = sites advertised; needs |U1| >= max(t, min sites).
  common::Result<std::vector<KeyAdvertisement>> CloseAdvertisements();
  common::Status ReceiveShares(const std::string& from_site,
                               std::span<const EncryptedShare> shares);
  // Closes step 1: U2 = senders. Returns the ciphertexts per recipient (each
  // site in U2 gets exactly those sent to it by the rest of U2).
  common::Result<std::map<std::string, std::vector<EncryptedShare>>> CloseShares();
  common::Status ReceiveMaskedInput(const MaskedInput& input);
  // The same without a MaskedInput copy (e.g. a view of a received array).
  // The server keeps only the running sum of the inputs, not each input.
  common::Status ReceiveMaskedInput(const std::string& site_id, RoundId round,
                                    std::span<const std::uint64_t> masked);
  // Closes step 2: U3 = senders; needs |U3| >= max(t, min sites).
  common::Result<UnmaskRequest> CloseMaskedInputs();
  common::Status ReceiveUnmaskResponse(const UnmaskResponse& response);
  // Needs >= t responses; reconstructs and returns the sum.
  common::Result<AggregateResult> Finish();

  // Sites whose masking key was reconstructed and that must re-key before
  // joining again (site id -> the revealed masking public key).
  const std::map<std::string, PublicKey32>& RekeyRequired() const { return rekey_required_; }

 private:
  enum class Stage { kIdle, kAdvertising, kSharing, kMasking, kUnmasking };
  ServerSession() = default;
  std::size_t RequiredSites() const;

  SecAggConfig config_;
  std::map<std::string, std::size_t> index_of_;
  std::map<std::string, PublicKey32> rekey_required_;
  std::set<PublicKey32> revealed_mask_keys_;
  std::set<std::pair<std::uint64_t, std::uint32_t>> used_rounds_;

  Stage stage_ = Stage::kIdle;
  RoundId round_;
  std::map<std::string, KeyAdvertisement> u1_;
  std::map<std::string, std::vector<EncryptedShare>> shares_from_;
  std::set<std::string> u2_;
  std::set<std::string> masked_from_;      // senders of masked inputs
  std::vector<std::uint64_t> masked_sum_;  // their running sum (mod 2^64)
  std::size_t round_length_ = 0;           // this round's vector length (0 = not yet fixed)
  std::vector<std::string> u3_;
  std::vector<std::string> dropped_;
  std::map<std::string, UnmaskResponse> responses_;
};

}  // namespace fedrad::protocols

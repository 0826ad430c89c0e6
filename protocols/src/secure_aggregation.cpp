#include "fedrad/protocols/secure_aggregation.hpp"

#include <sodium.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <string_view>
#include <system_error>
#include <thread>

#include "fedrad/common/sodium_init.hpp"

namespace fedrad::protocols {

using common::FailedPrecondition;
using common::InvalidArgument;
using common::ParseError;
using common::ProtocolError;
using common::Result;
using common::SecureBuffer;
using common::Status;
using common::Unauthenticated;

namespace {

constexpr std::uint8_t kBlobFormat = 1;
constexpr std::size_t kShareBytes = 1 + 2 * kSecAggKeyBytes;  // x | s_sk share | b share
constexpr std::size_t kSealedShareBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
                                          kShareBytes + crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr std::size_t kMaxVectorLength = std::size_t{1} << 26;

// ---- byte writer / reader (little-endian, u32-length-prefixed strings) ----

class Writer {
 public:
  void U8(std::uint8_t v) { buf_.push_back(v); }
  void U32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) buf_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void U64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) buf_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void Bytes(std::span<const std::uint8_t> b) { buf_.insert(buf_.end(), b.begin(), b.end()); }
  void Str(std::string_view s) {
    U32(static_cast<std::uint32_t>(s.size()));
    buf_.insert(buf_.end(), s.begin(), s.end());
  }
  void VarBytes(std::span<const std::uint8_t> b) {
    U32(static_cast<std::uint32_t>(b.size()));
    Bytes(b);
  }
  void Round(const RoundId& r) {
    U64(r.round);
    U32(r.slot);
  }
  std::vector<std::uint8_t>& buf() { return buf_; }

 private:
  std::vector<std::uint8_t> buf_;
};

class Reader {
 public:
  Reader(std::span<const std::uint8_t> data, const char* what) : data_(data), what_(what) {}
  bool ok() const { return ok_; }
  std::uint8_t U8() {
    if (!Need(1)) return 0;
    return data_[pos_++];
  }
  std::uint32_t U32() {
    if (!Need(4)) return 0;
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(data_[pos_++]) << (8 * i);
    return v;
  }
  std::uint64_t U64() {
    if (!Need(8)) return 0;
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(data_[pos_++]) << (8 * i);
    return v;
  }
  void Fixed(std::span<std::uint8_t> out) {
    if (!Need(out.size())) return;
    std::memcpy(out.data(), data_.data() + pos_, out.size());
    pos_ += out.size();
  }
  std::string Str() {
    const std::uint32_t n = U32();
    if (!Need(n)) return {};
    std::string s(reinterpret_cast<const char*>(data_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  std::vector<std::uint8_t> VarBytes() {
    const std::uint32_t n = U32();
    if (!Need(n)) return {};
    std::vector<std::uint8_t> v(data_.begin() + static_cast<std::ptrdiff_t>(pos_),
                                data_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
    pos_ += n;
    return v;
  }
  RoundId Round() {
    RoundId r;
    r.round = U64();
    r.slot = U32();
    return r;
  }
  // A count of following items, each at least `min_item_bytes` long.
  std::size_t Count(std::size_t min_item_bytes) {
    const std::uint32_t n = U32();
    if (!ok_) return 0;
    // Refuse counts the remaining bytes cannot hold (no huge allocations).
    if (static_cast<std::uint64_t>(n) * min_item_bytes > data_.size() - pos_) {
      ok_ = false;
      return 0;
    }
    return n;
  }
  Status Finish() const {
    if (!ok_) {
      return ParseError(std::string("secure aggregation: ") + what_ + " blob is truncated (" +
                        std::to_string(data_.size()) + " bytes)");
    }
    if (pos_ != data_.size()) {
      return ParseError(std::string("secure aggregation: ") + what_ + " blob has " +
                        std::to_string(data_.size() - pos_) + " trailing bytes");
    }
    return Status::Ok();
  }

 private:
  bool Need(std::size_t n) {
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::span<const std::uint8_t> data_;
  const char* what_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

Status CheckFormat(Reader& r, const char* what) {
  const std::uint8_t format = r.U8();
  if (r.ok() && format != kBlobFormat) {
    return common::VersionMismatch(std::string("secure aggregation: ") + what +
                                   " blob has format " + std::to_string(format) + ", expected " +
                                   std::to_string(kBlobFormat));
  }
  return Status::Ok();
}

std::string RoundText(const RoundId& r) {
  return "round " + std::to_string(r.round) + " slot " + std::to_string(r.slot);
}

// ---- key derivation ----

std::array<std::uint8_t, 32> Blake2b256(std::span<const std::uint8_t> input) {
  std::array<std::uint8_t, 32> out{};
  crypto_generichash(out.data(), out.size(), input.data(), input.size(), nullptr, 0);
  return out;
}

// BLAKE2b over: label | study | round | slot | idx_lo | idx_hi | pk_lo | pk_hi | dh.
void DerivePairKey(std::string_view label, const std::string& study, const RoundId& round,
                   std::size_t idx_a, const PublicKey32& pk_a, std::size_t idx_b,
                   const PublicKey32& pk_b, std::span<const std::uint8_t> dh,
                   std::span<std::uint8_t, 32> out) {
  const bool a_first = idx_a < idx_b;
  Writer w;
  w.Str(label);
  w.Str(study);
  w.Round(round);
  w.U32(static_cast<std::uint32_t>(a_first ? idx_a : idx_b));
  w.U32(static_cast<std::uint32_t>(a_first ? idx_b : idx_a));
  w.Bytes(a_first ? pk_a : pk_b);
  w.Bytes(a_first ? pk_b : pk_a);
  w.Bytes(dh);
  const auto h = Blake2b256(w.buf());
  std::memcpy(out.data(), h.data(), 32);
  common::SecureWipe(w.buf().data(), w.buf().size());
}

// X25519 then DerivePairKey; fails on a low-order public key.
Status PairKey(std::string_view label, const std::string& study, const RoundId& round,
               std::span<const std::uint8_t> my_secret, std::size_t my_idx,
               const PublicKey32& my_pk, std::size_t peer_idx, const PublicKey32& peer_pk,
               std::span<std::uint8_t, 32> out) {
  SecureBuffer dh(crypto_scalarmult_BYTES);
  if (crypto_scalarmult(dh.data(), my_secret.data(), peer_pk.data()) != 0) {
    return ProtocolError("secure aggregation: X25519 with the public key of site index " +
                         std::to_string(peer_idx) + " gave the all-zero point (invalid key)");
  }
  DerivePairKey(label, study, round, my_idx, my_pk, peer_idx, peer_pk, dh.span(), out);
  return Status::Ok();
}

std::array<std::uint8_t, 32> SelfMaskSeed(const std::string& study, const RoundId& round,
                                          std::span<const std::uint8_t> b) {
  Writer w;
  w.Str("fedrad-secagg-self-v1");
  w.Str(study);
  w.Round(round);
  w.Bytes(b);
  auto h = Blake2b256(w.buf());
  common::SecureWipe(w.buf().data(), w.buf().size());
  return h;
}

std::vector<std::uint8_t> SignedKeyMessage(const std::string& study, const std::string& site,
                                           const RoundId& round, const PublicKey32& mask_pk,
                                           const PublicKey32& share_pk) {
  Writer w;
  w.Str("fedrad-secagg-keys-v1");
  w.Str(study);
  w.Str(site);
  w.Round(round);
  w.Bytes(mask_pk);
  w.Bytes(share_pk);
  return std::move(w.buf());
}

std::vector<std::uint8_t> ShareAd(const std::string& study, const RoundId& round,
                                  std::size_t from_idx, std::size_t to_idx) {
  Writer w;
  w.Str("fedrad-secagg-share-ad-v1");
  w.Str(study);
  w.Round(round);
  w.U32(static_cast<std::uint32_t>(from_idx));
  w.U32(static_cast<std::uint32_t>(to_idx));
  return std::move(w.buf());
}

void WipeShares(std::vector<ShamirShare>& shares) {
  for (auto& s : shares) common::SecureWipe(s.y.data(), s.y.size());
}

std::map<std::string, std::size_t> IndexSites(const SecAggConfig& config) {
  std::map<std::string, std::size_t> index;
  for (std::size_t k = 0; k < config.sites.size(); ++k) index[config.sites[k].site_id] = k;
  return index;
}

// One PRG term of a masked sum: acc += PRG(seed) (add) or acc -= PRG(seed).
struct MaskTerm {
  std::array<std::uint8_t, 32> seed{};
  bool add = true;
};

// ChaCha20-IETF blocks are 64 bytes = 8 words; block b of the keystream
// holds words [8b, 8b + 8).
constexpr std::size_t kWordsPerBlock = 8;
// Keystream chunk expanded at a time (32 KiB: stays in L1/L2 while every
// term is added to the same slice of the accumulator).
constexpr std::size_t kChunkWords = 4096;
// Below this length a round's masks are applied on the calling thread.
constexpr std::size_t kParallelMinWords = std::size_t{1} << 16;
constexpr std::size_t kMaxMaskThreads = 4;

// acc[i] (+|-)= PRG(term.seed)[begin + i] for every term and i < acc.size(),
// modulo 2^64; `begin` is a multiple of kWordsPerBlock. The keystream is
// generated with crypto_stream_chacha20_ietf_xor_ic from block begin / 8, so
// every slice equals the same words of ExpandMask's single stream.
void ApplyMaskSlice(std::span<const MaskTerm> terms, std::size_t begin,
                    std::span<std::uint64_t> acc) {
  static_assert(kChunkWords % kWordsPerBlock == 0);
  std::vector<std::uint64_t> stream(std::min(kChunkWords, acc.size()));
  auto* bytes = reinterpret_cast<unsigned char*>(stream.data());
  const std::array<std::uint8_t, crypto_stream_chacha20_ietf_NONCEBYTES> nonce{};
  for (std::size_t c = 0; c < acc.size(); c += kChunkWords) {
    const std::size_t n = std::min(kChunkWords, acc.size() - c);
    const auto block = static_cast<std::uint32_t>((begin + c) / kWordsPerBlock);
    std::uint64_t* out = acc.data() + c;
    for (const MaskTerm& term : terms) {
      std::memset(bytes, 0, n * 8);
      crypto_stream_chacha20_ietf_xor_ic(bytes, bytes, n * 8, nonce.data(), block,
                                         term.seed.data());
      if constexpr (std::endian::native == std::endian::big) {
        for (std::size_t i = 0; i < n; ++i) {
          std::uint64_t v = 0;
          for (int b = 0; b < 8; ++b) v |= static_cast<std::uint64_t>(bytes[8 * i + b]) << (8 * b);
          stream[i] = v;
        }
      }
      const std::uint64_t* m = stream.data();
      if (term.add) {
        for (std::size_t i = 0; i < n; ++i) out[i] += m[i];
      } else {
        for (std::size_t i = 0; i < n; ++i) out[i] -= m[i];
      }
    }
  }
  common::SecureWipe(stream.data(), stream.size() * sizeof(std::uint64_t));
}

// acc (+|-)= PRG(seed) for every term (mod 2^64), in place, without
// materialising any mask: the keystream is produced in chunks. Long vectors
// are split into block-aligned slices over up to kMaxMaskThreads threads
// (each slice gets every term; the sum is exact in any order).
void ApplyMasks(std::span<const MaskTerm> terms, std::span<std::uint64_t> acc) {
  if (terms.empty() || acc.empty()) return;
  std::size_t threads = 1;
  if (acc.size() >= kParallelMinWords) {
    threads = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, kMaxMaskThreads);
  }
  const std::size_t blocks = (acc.size() + kWordsPerBlock - 1) / kWordsPerBlock;
  const std::size_t slice = (blocks + threads - 1) / threads * kWordsPerBlock;
  std::vector<std::thread> workers;
  std::size_t begin = 0;
  for (; threads > 1 && begin + slice < acc.size(); begin += slice) {
    try {
      workers.emplace_back(ApplyMaskSlice, terms, begin, acc.subspan(begin, slice));
    } catch (const std::system_error&) {
      break;  // no thread available: the calling thread does the rest
    }
  }
  ApplyMaskSlice(terms, begin, acc.subspan(begin));
  for (auto& w : workers) w.join();
}

void WipeTerms(std::vector<MaskTerm>& terms) {
  for (auto& t : terms) common::SecureWipe(t.seed.data(), t.seed.size());
}

}  // namespace

// ---- config ----

std::size_t SecAggConfig::EffectiveThreshold() const {
  return threshold != 0 ? threshold : sites.size() / 2 + 1;
}

FixedPointParams SecAggConfig::FixedPoint() const {
  FixedPointParams p;
  p.fractional_bits = fractional_bits;
  p.value_bound = value_bound;
  p.num_sites = sites.size();
  return p;
}

Status ValidateSecAggConfig(const SecAggConfig& config) {
  const std::size_t n = config.sites.size();
  if (config.study_id.empty()) return InvalidArgument("secure aggregation: study_id is empty");
  if (n < 2 || n > 255) {
    return InvalidArgument("secure aggregation: need 2..255 sites, got " + std::to_string(n));
  }
  std::set<std::string> ids;
  for (const auto& s : config.sites) {
    if (s.site_id.empty()) return InvalidArgument("secure aggregation: a site id is empty");
    if (!ids.insert(s.site_id).second) {
      return InvalidArgument("secure aggregation: site '" + s.site_id + "' is listed twice");
    }
  }
  const std::size_t t = config.EffectiveThreshold();
  if (t < 2 || t < n / 2 + 1 || t > n) {
    return InvalidArgument(
        "secure aggregation: threshold must be in [max(2, floor(n/2)+1), n] = [" +
        std::to_string(std::max<std::size_t>(2, n / 2 + 1)) + ", " + std::to_string(n) + "], got " +
        std::to_string(t));
  }
  if (n < config.min_sites && !config.allow_fewer_sites) {
    return InvalidArgument(
        "secure aggregation: the study has " + std::to_string(n) +
        " sites but sums need at least min_sites = " + std::to_string(config.min_sites) +
        " (set allow_fewer_sites to override)");
  }
  if (config.vector_length > kMaxVectorLength) {
    return InvalidArgument(
        "secure aggregation: vector_length must be 0 (set per round) or in [1, 2^26], got " +
        std::to_string(config.vector_length));
  }
  return ValidateFixedPointParams(config.FixedPoint());
}

// ---- blobs ----

std::vector<std::uint8_t> EncodeKeyAdvertisement(const KeyAdvertisement& m) {
  Writer w;
  w.U8(kBlobFormat);
  w.Str(m.site_id);
  w.Round(m.round);
  w.Bytes(m.mask_public);
  w.Bytes(m.share_public);
  w.Bytes(m.signature);
  return std::move(w.buf());
}

Result<KeyAdvertisement> DecodeKeyAdvertisement(std::span<const std::uint8_t> blob) {
  Reader r(blob, "key advertisement");
  FEDRAD_RETURN_IF_ERROR(CheckFormat(r, "key advertisement"));
  KeyAdvertisement m;
  m.site_id = r.Str();
  m.round = r.Round();
  r.Fixed(m.mask_public);
  r.Fixed(m.share_public);
  r.Fixed(m.signature);
  FEDRAD_RETURN_IF_ERROR(r.Finish());
  return m;
}

std::vector<std::uint8_t> EncodeEncryptedShare(const EncryptedShare& m) {
  Writer w;
  w.U8(kBlobFormat);
  w.Str(m.from_site);
  w.Str(m.to_site);
  w.Round(m.round);
  w.VarBytes(m.sealed);
  return std::move(w.buf());
}

Result<EncryptedShare> DecodeEncryptedShare(std::span<const std::uint8_t> blob) {
  Reader r(blob, "encrypted share");
  FEDRAD_RETURN_IF_ERROR(CheckFormat(r, "encrypted share"));
  EncryptedShare m;
  m.from_site = r.Str();
  m.to_site = r.Str();
  m.round = r.Round();
  m.sealed = r.VarBytes();
  FEDRAD_RETURN_IF_ERROR(r.Finish());
  return m;
}

std::vector<std::uint8_t> EncodeMaskedInput(const MaskedInput& m) {
  Writer w;
  w.U8(kBlobFormat);
  w.Str(m.site_id);
  w.Round(m.round);
  w.U32(static_cast<std::uint32_t>(m.masked.size()));
  for (std::uint64_t v : m.masked) w.U64(v);
  return std::move(w.buf());
}

Result<MaskedInput> DecodeMaskedInput(std::span<const std::uint8_t> blob) {
  Reader r(blob, "masked input");
  FEDRAD_RETURN_IF_ERROR(CheckFormat(r, "masked input"));
  MaskedInput m;
  m.site_id = r.Str();
  m.round = r.Round();
  const std::size_t n = r.Count(8);
  m.masked.resize(n);
  for (std::size_t i = 0; i < n; ++i) m.masked[i] = r.U64();
  FEDRAD_RETURN_IF_ERROR(r.Finish());
  return m;
}

std::vector<std::uint8_t> EncodeUnmaskRequest(const UnmaskRequest& m) {
  Writer w;
  w.U8(kBlobFormat);
  w.Round(m.round);
  w.U32(static_cast<std::uint32_t>(m.survivors.size()));
  for (const auto& s : m.survivors) w.Str(s);
  w.U32(static_cast<std::uint32_t>(m.dropped.size()));
  for (const auto& s : m.dropped) w.Str(s);
  return std::move(w.buf());
}

Result<UnmaskRequest> DecodeUnmaskRequest(std::span<const std::uint8_t> blob) {
  Reader r(blob, "unmask request");
  FEDRAD_RETURN_IF_ERROR(CheckFormat(r, "unmask request"));
  UnmaskRequest m;
  m.round = r.Round();
  std::size_t n = r.Count(4);
  for (std::size_t i = 0; i < n && r.ok(); ++i) m.survivors.push_back(r.Str());
  n = r.Count(4);
  for (std::size_t i = 0; i < n && r.ok(); ++i) m.dropped.push_back(r.Str());
  FEDRAD_RETURN_IF_ERROR(r.Finish());
  return m;
}

namespace {
void WriteRevealed(Writer& w, const std::vector<RevealedShare>& shares) {
  w.U32(static_cast<std::uint32_t>(shares.size()));
  for (const auto& s : shares) {
    w.Str(s.owner_site);
    w.U8(s.share.x);
    w.VarBytes(s.share.y);
  }
}
std::vector<RevealedShare> ReadRevealed(Reader& r) {
  std::vector<RevealedShare> out;
  const std::size_t n = r.Count(9);
  for (std::size_t i = 0; i < n && r.ok(); ++i) {
    RevealedShare s;
    s.owner_site = r.Str();
    s.share.x = r.U8();
    s.share.y = r.VarBytes();
    out.push_back(std::move(s));
  }
  return out;
}
}  // namespace

std::vector<std::uint8_t> EncodeUnmaskResponse(const UnmaskResponse& m) {
  Writer w;
  w.U8(kBlobFormat);
  w.Str(m.site_id);
  w.Round(m.round);
  WriteRevealed(w, m.self_mask_shares);
  WriteRevealed(w, m.mask_key_shares);
  return std::move(w.buf());
}

Result<UnmaskResponse> DecodeUnmaskResponse(std::span<const std::uint8_t> blob) {
  Reader r(blob, "unmask response");
  FEDRAD_RETURN_IF_ERROR(CheckFormat(r, "unmask response"));
  UnmaskResponse m;
  m.site_id = r.Str();
  m.round = r.Round();
  m.self_mask_shares = ReadRevealed(r);
  m.mask_key_shares = ReadRevealed(r);
  FEDRAD_RETURN_IF_ERROR(r.Finish());
  return m;
}

// ---- signatures, PRG ----

Result<KeyAdvertisement> SignKeyAdvertisement(const std::string& study_id,
                                              const std::string& site_id, RoundId round,
                                              const PublicKey32& mask_public,
                                              const PublicKey32& share_public,
                                              std::span<const std::uint8_t> sign_secret) {
  if (sign_secret.size() != crypto_sign_SECRETKEYBYTES) {
    return InvalidArgument("secure aggregation: signing key must be " +
                           std::to_string(crypto_sign_SECRETKEYBYTES) + " bytes, got " +
                           std::to_string(sign_secret.size()));
  }
  KeyAdvertisement ad;
  ad.site_id = site_id;
  ad.round = round;
  ad.mask_public = mask_public;
  ad.share_public = share_public;
  const auto msg = SignedKeyMessage(study_id, site_id, round, mask_public, share_public);
  crypto_sign_detached(ad.signature.data(), nullptr, msg.data(), msg.size(), sign_secret.data());
  return ad;
}

Status VerifyKeyAdvertisement(const std::string& study_id, const KeyAdvertisement& ad,
                              const PublicKey32& sign_public) {
  const auto msg =
      SignedKeyMessage(study_id, ad.site_id, ad.round, ad.mask_public, ad.share_public);
  if (crypto_sign_verify_detached(ad.signature.data(), msg.data(), msg.size(),
                                  sign_public.data()) != 0) {
    return Unauthenticated("secure aggregation: key advertisement of site '" + ad.site_id + "' (" +
                           RoundText(ad.round) + ", study '" + study_id +
                           "') does not verify against the site's pinned Ed25519 key "
                           "(substituted or corrupted keys)");
  }
  return Status::Ok();
}

std::vector<std::uint64_t> ExpandMask(std::span<const std::uint8_t> seed, std::size_t length) {
  std::vector<std::uint64_t> out(length, 0);
  MaskTerm term;
  std::memcpy(term.seed.data(), seed.data(), std::min(seed.size(), term.seed.size()));
  ApplyMasks(std::span<const MaskTerm>(&term, 1), out);
  common::SecureWipe(term.seed.data(), term.seed.size());
  return out;
}

// ---- SiteSession ----

Result<SiteSession> SiteSession::Create(SecAggConfig config, std::string site_id,
                                        std::span<const std::uint8_t> sign_secret,
                                        RandomSource random) {
  FEDRAD_RETURN_IF_ERROR(common::InitSodium());
  FEDRAD_RETURN_IF_ERROR(ValidateSecAggConfig(config));
  SiteSession s;
  s.index_of_ = IndexSites(config);
  const auto it = s.index_of_.find(site_id);
  if (it == s.index_of_.end()) {
    return InvalidArgument("secure aggregation: site '" + site_id + "' is not a site of study '" +
                           config.study_id + "'");
  }
  if (sign_secret.size() != crypto_sign_SECRETKEYBYTES) {
    return InvalidArgument("secure aggregation: site '" + site_id + "': signing key must be " +
                           std::to_string(crypto_sign_SECRETKEYBYTES) + " bytes, got " +
                           std::to_string(sign_secret.size()));
  }
  PublicKey32 own_pk{};
  crypto_sign_ed25519_sk_to_pk(own_pk.data(), sign_secret.data());
  if (own_pk != config.sites[it->second].sign_public) {
    return InvalidArgument("secure aggregation: site '" + site_id +
                           "': the signing key does not match the site's pinned public key");
  }
  s.index_ = it->second;
  s.site_id_ = std::move(site_id);
  s.sign_secret_ = SecureBuffer(sign_secret.size());
  std::memcpy(s.sign_secret_.data(), sign_secret.data(), sign_secret.size());
  s.random_ = random ? std::move(random) : SystemRandomSource();
  s.config_ = std::move(config);
  return Result<SiteSession>(std::move(s));
}

void SiteSession::EndRound() {
  mask_secret_ = SecureBuffer();
  share_secret_ = SecureBuffer();
  self_seed_ = SecureBuffer();
  held_shares_.clear();
  u1_.clear();
  u2_.clear();
}

Result<KeyAdvertisement> SiteSession::AdvertiseKeys(RoundId round) {
  EndRound();
  stage_ = Stage::kIdle;
  if (!used_rounds_.insert({round.round, round.slot}).second) {
    return FailedPrecondition("secure aggregation: site '" + site_id_ + "' already took part in " +
                              RoundText(round) + "; masks are never reused");
  }
  round_ = round;
  mask_secret_ = SecureBuffer(crypto_scalarmult_SCALARBYTES);
  share_secret_ = SecureBuffer(crypto_scalarmult_SCALARBYTES);
  random_(mask_secret_.span());
  random_(share_secret_.span());
  crypto_scalarmult_base(mask_public_.data(), mask_secret_.data());
  crypto_scalarmult_base(share_public_.data(), share_secret_.data());
  FEDRAD_ASSIGN_OR_RETURN(
      auto ad, SignKeyAdvertisement(config_.study_id, site_id_, round_, mask_public_, share_public_,
                                    sign_secret_.span()));
  stage_ = Stage::kAdvertised;
  return ad;
}

Result<std::vector<EncryptedShare>> SiteSession::ShareKeys(
    std::span<const KeyAdvertisement> advertisements) {
  const std::string where = "secure aggregation: site '" + site_id_ + "' share keys: ";
  if (stage_ != Stage::kAdvertised) {
    return FailedPrecondition(where + "AdvertiseKeys must come first");
  }
  stage_ = Stage::kIdle;  // any error below aborts the round
  u1_.clear();
  for (const auto& ad : advertisements) {
    const auto it = index_of_.find(ad.site_id);
    if (it == index_of_.end()) {
      return ProtocolError(where + "advertisement from unknown site '" + ad.site_id + "'");
    }
    if (!(ad.round == round_)) {
      return ProtocolError(where + "advertisement of '" + ad.site_id + "' is for " +
                           RoundText(ad.round) + ", expected " + RoundText(round_));
    }
    FEDRAD_RETURN_IF_ERROR(
        VerifyKeyAdvertisement(config_.study_id, ad, config_.sites[it->second].sign_public));
    if (!u1_.emplace(ad.site_id, ad).second) {
      return ProtocolError(where + "two advertisements for site '" + ad.site_id + "'");
    }
  }
  const auto self = u1_.find(site_id_);
  if (self == u1_.end() || self->second.mask_public != mask_public_ ||
      self->second.share_public != share_public_) {
    return ProtocolError(where + "the broadcast does not carry this site's own keys unchanged");
  }
  const std::size_t t = config_.EffectiveThreshold();
  if (u1_.size() < t) {
    return FailedPrecondition(where + "only " + std::to_string(u1_.size()) +
                              " sites advertised keys, threshold is " + std::to_string(t));
  }
  self_seed_ = SecureBuffer(kSecAggKeyBytes);
  random_(self_seed_.span());
  const std::size_t n = config_.sites.size();
  FEDRAD_ASSIGN_OR_RETURN(auto s_shares, ShamirSplit(mask_secret_.span(), t, n, random_));
  FEDRAD_ASSIGN_OR_RETURN(auto b_shares, ShamirSplit(self_seed_.span(), t, n, random_));

  std::vector<EncryptedShare> out;
  Status status;
  for (const auto& [peer, ad] : u1_) {
    const std::size_t j = index_of_.at(peer);
    SecureBuffer plain(kShareBytes);
    plain.data()[0] = s_shares[j].x;
    std::memcpy(plain.data() + 1, s_shares[j].y.data(), kSecAggKeyBytes);
    std::memcpy(plain.data() + 1 + kSecAggKeyBytes, b_shares[j].y.data(), kSecAggKeyBytes);
    if (peer == site_id_) {
      held_shares_[peer] = std::move(plain);
      continue;
    }
    SecureBuffer key(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
    status =
        PairKey("fedrad-secagg-share-v1", config_.study_id, round_, share_secret_.span(), index_,
                share_public_, j, ad.share_public, std::span<std::uint8_t, 32>(key.data(), 32));
    if (!status.ok()) break;
    EncryptedShare enc;
    enc.from_site = site_id_;
    enc.to_site = peer;
    enc.round = round_;
    enc.sealed.resize(kSealedShareBytes);
    random_(
        std::span<std::uint8_t>(enc.sealed.data(), crypto_aead_xchacha20poly1305_ietf_NPUBBYTES));
    const auto ad_bytes = ShareAd(config_.study_id, round_, index_, j);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        enc.sealed.data() + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen, plain.data(),
        plain.size(), ad_bytes.data(), ad_bytes.size(), nullptr, enc.sealed.data(), key.data());
    out.push_back(std::move(enc));
  }
  WipeShares(s_shares);
  WipeShares(b_shares);
  if (!status.ok()) return status.Wrap(where + "peer key agreement failed");
  stage_ = Stage::kShared;
  return out;
}

Result<MaskedInput> SiteSession::MaskInput(std::span<const EncryptedShare> received,
                                           std::span<const double> values) {
  auto encoded = EncodeFixedPoint(values, config_.FixedPoint());
  if (!encoded.ok()) {
    stage_ = Stage::kIdle;
    return encoded.status().Wrap("secure aggregation: site '" + site_id_ + "' input");
  }
  return MaskEncodedInput(received, *encoded);
}

Result<MaskedInput> SiteSession::MaskEncodedInput(std::span<const EncryptedShare> received,
                                                  std::span<const std::uint64_t> encoded) {
  const std::string where = "secure aggregation: site '" + site_id_ + "' masked input: ";
  if (stage_ != Stage::kShared) return FailedPrecondition(where + "ShareKeys must come first");
  stage_ = Stage::kIdle;
  if (config_.vector_length == 0) {
    if (encoded.empty() || encoded.size() > kMaxVectorLength) {
      return InvalidArgument(where + "input has " + std::to_string(encoded.size()) +
                             " values, expected 1 to 2^26 (vector_length 0: set per round)");
    }
  } else if (encoded.size() != config_.vector_length) {
    return InvalidArgument(where + "input has " + std::to_string(encoded.size()) +
                           " values, expected vector_length " +
                           std::to_string(config_.vector_length));
  }
  u2_.clear();
  u2_.insert(site_id_);
  for (const auto& enc : received) {
    const auto ad = u1_.find(enc.from_site);
    if (ad == u1_.end() || enc.from_site == site_id_) {
      return ProtocolError(where + "share from '" + enc.from_site +
                           "', which did not advertise keys this round");
    }
    if (enc.to_site != site_id_ || !(enc.round == round_)) {
      return ProtocolError(where + "share from '" + enc.from_site + "' is addressed to '" +
                           enc.to_site + "' for " + RoundText(enc.round));
    }
    if (!u2_.insert(enc.from_site).second) {
      return ProtocolError(where + "two shares from '" + enc.from_site + "'");
    }
    if (enc.sealed.size() != kSealedShareBytes) {
      return ProtocolError(where + "share from '" + enc.from_site + "' has " +
                           std::to_string(enc.sealed.size()) + " bytes, expected " +
                           std::to_string(kSealedShareBytes));
    }
    const std::size_t j = index_of_.at(enc.from_site);
    SecureBuffer key(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
    FEDRAD_RETURN_IF_ERROR(PairKey(
        "fedrad-secagg-share-v1", config_.study_id, round_, share_secret_.span(), index_,
        share_public_, j, ad->second.share_public, std::span<std::uint8_t, 32>(key.data(), 32)));
    const auto ad_bytes = ShareAd(config_.study_id, round_, j, index_);
    SecureBuffer plain(kShareBytes);
    unsigned long long plen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            plain.data(), &plen, nullptr,
            enc.sealed.data() + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
            enc.sealed.size() - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, ad_bytes.data(),
            ad_bytes.size(), enc.sealed.data(), key.data()) != 0 ||
        plen != kShareBytes) {
      return Unauthenticated(where + "share from '" + enc.from_site +
                             "' failed authentication (tampered or wrong keys)");
    }
    if (plain.data()[0] != index_ + 1) {
      return ProtocolError(where + "share from '" + enc.from_site +
                           "' has x = " + std::to_string(plain.data()[0]) + ", expected " +
                           std::to_string(index_ + 1));
    }
    held_shares_[enc.from_site] = std::move(plain);
  }
  const std::size_t t = config_.EffectiveThreshold();
  if (u2_.size() < t) {
    return FailedPrecondition(where + "only " + std::to_string(u2_.size()) +
                              " sites shared keys, threshold is " + std::to_string(t));
  }
  MaskedInput out;
  out.site_id = site_id_;
  out.round = round_;
  out.masked.assign(encoded.begin(), encoded.end());
  // The self-mask (added) and one pairwise mask per other site in U2 (added
  // if this site's index is the smaller one, subtracted otherwise), all
  // applied in one chunked pass.
  std::vector<MaskTerm> terms(1);
  terms[0].seed = SelfMaskSeed(config_.study_id, round_, self_seed_.span());
  for (const auto& peer : u2_) {
    if (peer == site_id_) continue;
    const std::size_t j = index_of_.at(peer);
    MaskTerm& term = terms.emplace_back();
    term.add = index_ < j;
    if (auto s = PairKey("fedrad-secagg-pairwise-v1", config_.study_id, round_, mask_secret_.span(),
                         index_, mask_public_, j, u1_.at(peer).mask_public, term.seed);
        !s.ok()) {
      WipeTerms(terms);
      return s;
    }
  }
  ApplyMasks(terms, out.masked);
  WipeTerms(terms);
  stage_ = Stage::kMasked;
  return out;
}

Result<UnmaskResponse> SiteSession::Unmask(const UnmaskRequest& request) {
  const std::string where = "secure aggregation: site '" + site_id_ + "' unmasking: ";
  if (stage_ != Stage::kMasked) {
    return FailedPrecondition(where + "no masked input pending (answers once per round)");
  }
  stage_ = Stage::kIdle;
  if (!(request.round == round_)) {
    EndRound();
    return ProtocolError(where + "request is for " + RoundText(request.round) + ", expected " +
                         RoundText(round_));
  }
  std::set<std::string> survivors(request.survivors.begin(), request.survivors.end());
  std::set<std::string> dropped(request.dropped.begin(), request.dropped.end());
  std::set<std::string> all = survivors;
  all.insert(dropped.begin(), dropped.end());
  if (survivors.size() != request.survivors.size() || dropped.size() != request.dropped.size() ||
      all.size() != survivors.size() + dropped.size() || all != u2_) {
    EndRound();
    return ProtocolError(where +
                         "survivors and dropped sites must be disjoint and together equal the "
                         "sites that shared keys this round");
  }
  const std::size_t t = config_.EffectiveThreshold();
  const std::size_t min_sites = config_.allow_fewer_sites ? 0 : config_.min_sites;
  if (survivors.count(site_id_) == 0 || survivors.size() < t || survivors.size() < min_sites) {
    EndRound();
    return FailedPrecondition(where + "refusing: " + std::to_string(survivors.size()) +
                              " survivors (threshold " + std::to_string(t) + ", min sites " +
                              std::to_string(min_sites) + ", this site must be among them)");
  }
  UnmaskResponse out;
  out.site_id = site_id_;
  out.round = round_;
  const auto reveal = [&](const std::string& owner, std::size_t offset) {
    const SecureBuffer& held = held_shares_.at(owner);
    RevealedShare r;
    r.owner_site = owner;
    r.share.x = held.data()[0];
    r.share.y.assign(held.data() + offset, held.data() + offset + kSecAggKeyBytes);
    return r;
  };
  for (const auto& s : survivors) out.self_mask_shares.push_back(reveal(s, 1 + kSecAggKeyBytes));
  for (const auto& d : dropped) out.mask_key_shares.push_back(reveal(d, 1));
  EndRound();
  stage_ = Stage::kDone;
  return out;
}

// ---- ServerSession ----

Result<ServerSession> ServerSession::Create(SecAggConfig config) {
  FEDRAD_RETURN_IF_ERROR(common::InitSodium());
  FEDRAD_RETURN_IF_ERROR(ValidateSecAggConfig(config));
  ServerSession s;
  s.index_of_ = IndexSites(config);
  s.config_ = std::move(config);
  return Result<ServerSession>(std::move(s));
}

std::size_t ServerSession::RequiredSites() const {
  const std::size_t t = config_.EffectiveThreshold();
  return config_.allow_fewer_sites ? t : std::max(t, config_.min_sites);
}

Status ServerSession::BeginRound(RoundId round) {
  if (!used_rounds_.insert({round.round, round.slot}).second) {
    return FailedPrecondition("secure aggregation server: " + RoundText(round) +
                              " was already used; masks are never reused");
  }
  round_ = round;
  u1_.clear();
  shares_from_.clear();
  u2_.clear();
  masked_from_.clear();
  masked_sum_.clear();
  round_length_ = config_.vector_length;
  u3_.clear();
  dropped_.clear();
  responses_.clear();
  stage_ = Stage::kAdvertising;
  return Status::Ok();
}

Status ServerSession::ReceiveAdvertisement(const KeyAdvertisement& ad) {
  const std::string where = "secure aggregation server: advertisement from '" + ad.site_id + "': ";
  if (stage_ != Stage::kAdvertising) return FailedPrecondition(where + "not collecting keys now");
  const auto it = index_of_.find(ad.site_id);
  if (it == index_of_.end()) return ProtocolError(where + "not a site of this study");
  if (!(ad.round == round_)) {
    return ProtocolError(where + "is for " + RoundText(ad.round) + ", expected " +
                         RoundText(round_));
  }
  if (u1_.count(ad.site_id) != 0) return ProtocolError(where + "sent twice");
  FEDRAD_RETURN_IF_ERROR(
      VerifyKeyAdvertisement(config_.study_id, ad, config_.sites[it->second].sign_public));
  if (revealed_mask_keys_.count(ad.mask_public) != 0) {
    return FailedPrecondition(where +
                              "re-uses a masking key that was reconstructed when the site "
                              "dropped out; the site is excluded until it re-keys");
  }
  rekey_required_.erase(ad.site_id);  // fresh key: re-keyed
  u1_.emplace(ad.site_id, ad);
  return Status::Ok();
}

Result<std::vector<KeyAdvertisement>> ServerSession::CloseAdvertisements() {
  if (stage_ != Stage::kAdvertising) {
    return FailedPrecondition("secure aggregation server: not collecting keys now");
  }
  if (u1_.size() < RequiredSites()) {
    stage_ = Stage::kIdle;
    return FailedPrecondition("secure aggregation server: " + RoundText(round_) + ": only " +
                              std::to_string(u1_.size()) + " sites advertised keys, need " +
                              std::to_string(RequiredSites()) + " (threshold " +
                              std::to_string(config_.EffectiveThreshold()) + ", min sites " +
                              std::to_string(config_.min_sites) + ")");
  }
  std::vector<KeyAdvertisement> out;
  for (const auto& [id, ad] : u1_) out.push_back(ad);
  stage_ = Stage::kSharing;
  return out;
}

Status ServerSession::ReceiveShares(const std::string& from_site,
                                    std::span<const EncryptedShare> shares) {
  const std::string where = "secure aggregation server: shares from '" + from_site + "': ";
  if (stage_ != Stage::kSharing) return FailedPrecondition(where + "not collecting shares now");
  if (u1_.count(from_site) == 0) return ProtocolError(where + "site did not advertise keys");
  if (shares_from_.count(from_site) != 0) return ProtocolError(where + "sent twice");
  std::set<std::string> to;
  for (const auto& s : shares) {
    if (s.from_site != from_site || !(s.round == round_) || s.to_site == from_site ||
        u1_.count(s.to_site) == 0 || !to.insert(s.to_site).second) {
      return ProtocolError(where + "share for '" + s.to_site + "' (from '" + s.from_site + "', " +
                           RoundText(s.round) + ") is misaddressed or duplicated");
    }
  }
  if (to.size() + 1 != u1_.size()) {
    return ProtocolError(where + "expected one share for each of the " +
                         std::to_string(u1_.size() - 1) + " other sites, got " +
                         std::to_string(to.size()));
  }
  shares_from_[from_site].assign(shares.begin(), shares.end());
  return Status::Ok();
}

Result<std::map<std::string, std::vector<EncryptedShare>>> ServerSession::CloseShares() {
  if (stage_ != Stage::kSharing) {
    return FailedPrecondition("secure aggregation server: not collecting shares now");
  }
  u2_.clear();
  for (const auto& [id, v] : shares_from_) u2_.insert(id);
  if (u2_.size() < RequiredSites()) {
    stage_ = Stage::kIdle;
    return FailedPrecondition("secure aggregation server: " + RoundText(round_) + ": only " +
                              std::to_string(u2_.size()) + " sites sent shares, need " +
                              std::to_string(RequiredSites()));
  }
  std::map<std::string, std::vector<EncryptedShare>> out;
  for (const auto& id : u2_) out[id];
  for (const auto& [from, v] : shares_from_) {
    for (const auto& s : v) {
      if (u2_.count(s.to_site) != 0) out[s.to_site].push_back(s);
    }
  }
  stage_ = Stage::kMasking;
  return out;
}

Status ServerSession::ReceiveMaskedInput(const MaskedInput& input) {
  return ReceiveMaskedInput(input.site_id, input.round, input.masked);
}

Status ServerSession::ReceiveMaskedInput(const std::string& site_id, RoundId round,
                                         std::span<const std::uint64_t> masked) {
  const std::string where = "secure aggregation server: masked input from '" + site_id + "': ";
  if (stage_ != Stage::kMasking) return FailedPrecondition(where + "not collecting inputs now");
  if (u2_.count(site_id) == 0) return ProtocolError(where + "site did not share keys");
  if (!(round == round_)) {
    return ProtocolError(where + "is for " + RoundText(round) + ", expected " + RoundText(round_));
  }
  if (masked_from_.count(site_id) != 0) return ProtocolError(where + "sent twice");
  if (round_length_ == 0) {
    // vector_length 0: the first accepted input fixes this round's length.
    if (masked.empty() || masked.size() > kMaxVectorLength) {
      return ProtocolError(where + "has " + std::to_string(masked.size()) +
                           " values, expected 1 to 2^26");
    }
  } else if (masked.size() != round_length_) {
    return ProtocolError(
        where + "has " + std::to_string(masked.size()) + " values, expected " +
        std::to_string(round_length_) +
        (config_.vector_length == 0 ? " (the length of this round's first input)" : ""));
  }
  round_length_ = masked.size();
  // Only the running sum of the masked inputs is kept (exact modulo 2^64, so
  // the order of arrival does not matter).
  if (masked_sum_.empty()) {
    masked_sum_.assign(masked.begin(), masked.end());
  } else {
    AddModular(masked_sum_, masked);
  }
  masked_from_.insert(site_id);
  return Status::Ok();
}

Result<UnmaskRequest> ServerSession::CloseMaskedInputs() {
  if (stage_ != Stage::kMasking) {
    return FailedPrecondition("secure aggregation server: not collecting inputs now");
  }
  u3_.clear();
  dropped_.clear();
  for (const auto& id : u2_) (masked_from_.count(id) != 0 ? u3_ : dropped_).push_back(id);
  if (u3_.size() < RequiredSites()) {
    stage_ = Stage::kIdle;
    return FailedPrecondition("secure aggregation server: " + RoundText(round_) + ": only " +
                              std::to_string(u3_.size()) + " sites sent masked inputs, need " +
                              std::to_string(RequiredSites()) + " (threshold " +
                              std::to_string(config_.EffectiveThreshold()) + ", min sites " +
                              std::to_string(config_.min_sites) + "); the sum cannot be released");
  }
  UnmaskRequest req;
  req.round = round_;
  req.survivors = u3_;
  req.dropped = dropped_;
  stage_ = Stage::kUnmasking;
  return req;
}

Status ServerSession::ReceiveUnmaskResponse(const UnmaskResponse& response) {
  const std::string where =
      "secure aggregation server: unmask response from '" + response.site_id + "': ";
  if (stage_ != Stage::kUnmasking) return FailedPrecondition(where + "not unmasking now");
  if (std::find(u3_.begin(), u3_.end(), response.site_id) == u3_.end()) {
    return ProtocolError(where + "site is not a survivor");
  }
  if (!(response.round == round_)) return ProtocolError(where + "wrong round");
  if (responses_.count(response.site_id) != 0) return ProtocolError(where + "sent twice");
  const auto x = static_cast<std::uint8_t>(index_of_.at(response.site_id) + 1);
  const auto check = [&](const std::vector<RevealedShare>& shares,
                         const std::vector<std::string>& owners, const char* what) -> Status {
    std::set<std::string> seen;
    for (const auto& s : shares) {
      if (s.share.x != x || s.share.y.size() != kSecAggKeyBytes ||
          !seen.insert(s.owner_site).second) {
        return ProtocolError(where + what + " share for '" + s.owner_site + "' is malformed");
      }
    }
    if (seen != std::set<std::string>(owners.begin(), owners.end())) {
      return ProtocolError(where + what + " shares do not cover exactly the expected sites");
    }
    return Status::Ok();
  };
  FEDRAD_RETURN_IF_ERROR(check(response.self_mask_shares, u3_, "self-mask"));
  FEDRAD_RETURN_IF_ERROR(check(response.mask_key_shares, dropped_, "masking-key"));
  responses_.emplace(response.site_id, response);
  return Status::Ok();
}

Result<AggregateResult> ServerSession::Finish() {
  const std::string where = "secure aggregation server: " + RoundText(round_) + ": ";
  if (stage_ != Stage::kUnmasking) return FailedPrecondition(where + "not unmasking now");
  stage_ = Stage::kIdle;
  const std::size_t t = config_.EffectiveThreshold();
  if (responses_.size() < t) {
    return FailedPrecondition(where + "only " + std::to_string(responses_.size()) +
                              " unmask responses, need threshold t = " + std::to_string(t) +
                              " to reconstruct the masks; the sum cannot be recovered");
  }
  const auto gather = [&](const std::string& owner, bool self_mask) {
    std::vector<ShamirShare> shares;
    for (const auto& [id, resp] : responses_) {
      for (const auto& r : self_mask ? resp.self_mask_shares : resp.mask_key_shares) {
        if (r.owner_site == owner) shares.push_back(r.share);
      }
    }
    return shares;
  };
  AggregateResult result;
  result.round = round_;
  result.included_sites = u3_;
  result.recovered_dropped_sites = dropped_;
  result.sum_encoded = std::move(masked_sum_);
  masked_sum_.clear();
  // Every mask to remove, collected first and then applied in one chunked
  // (and, for long vectors, multi-threaded) pass over the sum.
  std::vector<MaskTerm> terms;
  struct TermsWiper {
    std::vector<MaskTerm>& terms;
    ~TermsWiper() { WipeTerms(terms); }
  } wiper{terms};
  for (const auto& u : u3_) {
    auto shares = gather(u, true);
    FEDRAD_ASSIGN_OR_RETURN(auto b, ShamirCombine(shares, t));
    WipeShares(shares);
    MaskTerm& term = terms.emplace_back();
    term.seed = SelfMaskSeed(config_.study_id, round_, b);
    term.add = false;
    common::SecureWipe(b.data(), b.size());
  }
  for (const auto& d : dropped_) {
    auto shares = gather(d, false);
    auto combined = ShamirCombine(shares, t);
    WipeShares(shares);
    if (!combined.ok()) return combined.status().Wrap(where + "masking key of '" + d + "'");
    SecureBuffer sk(kSecAggKeyBytes);
    std::memcpy(sk.data(), combined->data(), kSecAggKeyBytes);
    common::SecureWipe(combined->data(), combined->size());
    const KeyAdvertisement& ad_d = u1_.at(d);
    PublicKey32 pk{};
    crypto_scalarmult_base(pk.data(), sk.data());
    if (pk != ad_d.mask_public) {
      return ProtocolError(where + "the reconstructed masking key of '" + d +
                           "' does not match its advertised public key (bad shares)");
    }
    const std::size_t di = index_of_.at(d);
    for (const auto& u : u3_) {
      const std::size_t ui = index_of_.at(u);
      MaskTerm& term = terms.emplace_back();
      // u added the mask if u < d, subtracted it otherwise: undo that.
      term.add = !(ui < di);
      FEDRAD_RETURN_IF_ERROR(PairKey("fedrad-secagg-pairwise-v1", config_.study_id, round_,
                                     sk.span(), di, ad_d.mask_public, ui, u1_.at(u).mask_public,
                                     term.seed));
    }
    revealed_mask_keys_.insert(ad_d.mask_public);
    rekey_required_[d] = ad_d.mask_public;
  }
  ApplyMasks(terms, result.sum_encoded);
  FEDRAD_ASSIGN_OR_RETURN(result.sum,
                          DecodeFixedPointSum(result.sum_encoded, config_.FixedPoint()));
  return result;
}

}  // namespace fedrad::protocols

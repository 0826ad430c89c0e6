// Secure aggregation: an in-process simulation of the four-step round, with
// every message passed through its byte-blob encoding.
#include "fedrad/protocols/secure_aggregation.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "fedrad/common/keys.hpp"
#include "fedrad/common/sodium_init.hpp"

namespace fedrad::protocols {
namespace {

using common::Result;

RandomSource SeededSource(std::uint64_t seed) {
  auto rng = std::make_shared<std::mt19937_64>(seed);
  return [rng](std::span<std::uint8_t> out) {
    for (auto& b : out) b = static_cast<std::uint8_t>((*rng)());
  };
}

struct Drops {
  std::set<std::size_t> before_advertise;
  std::set<std::size_t> before_share;
  std::set<std::size_t> before_mask;
  std::set<std::size_t> before_unmask;
};

template <typename T, typename Enc, typename Dec>
T ThroughBlob(const T& m, Enc enc, Dec dec) {
  auto decoded = dec(enc(m));
  EXPECT_TRUE(decoded.ok()) << decoded.status().ToString();
  return *decoded;
}

class Sim {
 public:
  Sim(std::size_t n, std::size_t len, std::size_t threshold = 0, bool allow_fewer = false,
      std::uint64_t seed = 0) {
    EXPECT_TRUE(common::InitSodium().ok());
    config.study_id = "study-secagg";
    config.threshold = threshold;
    config.allow_fewer_sites = allow_fewer;
    config.vector_length = len;
    for (std::size_t i = 0; i < n; ++i) {
      auto id = common::GenerateIdentity("site_" + std::to_string(i));
      EXPECT_TRUE(id.ok());
      SecAggParticipant p;
      p.site_id = id->pub.name;
      // libsodium's Ed25519 secret key ends with the public key.
      std::memcpy(p.sign_public.data(), id->sign_secret.data() + 32, 32);
      config.sites.push_back(p);
      identities.push_back(std::move(*id));
    }
    for (std::size_t i = 0; i < n; ++i) {
      auto s =
          SiteSession::Create(config, config.sites[i].site_id, identities[i].sign_secret.span(),
                              seed != 0 ? SeededSource(seed + i) : RandomSource{});
      EXPECT_TRUE(s.ok()) << s.status().ToString();
      sites.push_back(std::move(*s));
    }
    auto srv = ServerSession::Create(config);
    EXPECT_TRUE(srv.ok()) << srv.status().ToString();
    server = std::make_unique<ServerSession>(std::move(*srv));
  }

  const std::string& Id(std::size_t i) const { return config.sites[i].site_id; }

  // Runs one round; inputs[i] is site i's vector (encoded if `encoded`).
  Result<AggregateResult> Run(RoundId round, const std::vector<std::vector<double>>& inputs,
                              const Drops& drops = {},
                              const std::vector<std::vector<std::uint64_t>>* encoded = nullptr) {
    FEDRAD_RETURN_IF_ERROR(server->BeginRound(round));
    std::set<std::size_t> active;
    for (std::size_t i = 0; i < sites.size(); ++i) {
      if (drops.before_advertise.count(i) != 0) continue;
      FEDRAD_ASSIGN_OR_RETURN(auto ad, sites[i].AdvertiseKeys(round));
      FEDRAD_RETURN_IF_ERROR(server->ReceiveAdvertisement(
          ThroughBlob(ad, EncodeKeyAdvertisement, DecodeKeyAdvertisement)));
      active.insert(i);
    }
    FEDRAD_ASSIGN_OR_RETURN(auto ads, server->CloseAdvertisements());
    for (auto it = active.begin(); it != active.end();) {
      if (drops.before_share.count(*it) != 0) {
        it = active.erase(it);
        continue;
      }
      std::vector<KeyAdvertisement> received;
      for (const auto& ad : ads) {
        received.push_back(ThroughBlob(ad, EncodeKeyAdvertisement, DecodeKeyAdvertisement));
      }
      FEDRAD_ASSIGN_OR_RETURN(auto shares, sites[*it].ShareKeys(received));
      std::vector<EncryptedShare> relayed;
      for (const auto& s : shares) {
        relayed.push_back(ThroughBlob(s, EncodeEncryptedShare, DecodeEncryptedShare));
      }
      FEDRAD_RETURN_IF_ERROR(server->ReceiveShares(Id(*it), relayed));
      ++it;
    }
    FEDRAD_ASSIGN_OR_RETURN(auto per_site, server->CloseShares());
    for (auto it = active.begin(); it != active.end();) {
      if (drops.before_mask.count(*it) != 0) {
        it = active.erase(it);
        continue;
      }
      auto& inbox = per_site[Id(*it)];
      if (tamper_share && !inbox.empty()) inbox[0].sealed[30] ^= 1;
      Result<MaskedInput> masked = encoded != nullptr
                                       ? sites[*it].MaskEncodedInput(inbox, (*encoded)[*it])
                                       : sites[*it].MaskInput(inbox, inputs[*it]);
      if (!masked.ok()) return masked.status();
      last_masked[Id(*it)] = masked->masked;
      FEDRAD_RETURN_IF_ERROR(
          server->ReceiveMaskedInput(ThroughBlob(*masked, EncodeMaskedInput, DecodeMaskedInput)));
      ++it;
    }
    FEDRAD_ASSIGN_OR_RETURN(auto request, server->CloseMaskedInputs());
    last_request = request;
    for (std::size_t i : active) {
      if (drops.before_unmask.count(i) != 0) continue;
      FEDRAD_ASSIGN_OR_RETURN(auto resp, sites[i].Unmask(ThroughBlob(request, EncodeUnmaskRequest,
                                                                     DecodeUnmaskRequest)));
      FEDRAD_RETURN_IF_ERROR(server->ReceiveUnmaskResponse(
          ThroughBlob(resp, EncodeUnmaskResponse, DecodeUnmaskResponse)));
    }
    return server->Finish();
  }

  SecAggConfig config;
  std::vector<common::Identity> identities;
  std::vector<SiteSession> sites;
  std::unique_ptr<ServerSession> server;
  std::map<std::string, std::vector<std::uint64_t>> last_masked;
  UnmaskRequest last_request;
  bool tamper_share = false;
};

std::vector<std::vector<double>> RandomInputs(std::size_t n, std::size_t len, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> grad(0.0, 1e2);
  std::normal_distribution<double> hess(0.0, 1e3);
  std::vector<std::vector<double>> in(n, std::vector<double>(len));
  for (auto& v : in) {
    for (std::size_t i = 0; i < len; ++i) {
      v[i] = i % 3 == 0 ? grad(rng) : (i % 3 == 1 ? hess(rng) : std::floor(std::fabs(hess(rng))));
    }
  }
  return in;
}

// Checks the result against the plain sum of the included sites: exact on
// the fixed-point encodings, within the quantisation bound when decoded.
void ExpectPlainSum(const Sim& sim, const AggregateResult& r,
                    const std::vector<std::vector<double>>& inputs) {
  const auto fp = sim.config.FixedPoint();
  std::vector<std::uint64_t> enc_sum(sim.config.vector_length, 0);
  std::vector<long double> exact(sim.config.vector_length, 0.0L);
  for (const auto& id : r.included_sites) {
    const std::size_t i = static_cast<std::size_t>(std::stoi(id.substr(5)));
    auto enc = EncodeFixedPoint(inputs[i], fp);
    ASSERT_TRUE(enc.ok());
    AddModular(enc_sum, *enc);
    for (std::size_t k = 0; k < exact.size(); ++k) exact[k] += inputs[i][k];
  }
  EXPECT_EQ(r.sum_encoded, enc_sum);
  ASSERT_EQ(r.sum.size(), exact.size());
  for (std::size_t k = 0; k < exact.size(); ++k) {
    const double ref = static_cast<double>(exact[k]);
    EXPECT_LE(std::fabs(r.sum[k] - ref),
              QuantisationErrorBound(fp, r.included_sites.size(), std::fabs(ref)) +
                  std::fabs(ref) * 1e-16)
        << k;
  }
}

TEST(SecureAggregationTest, SecureSumEqualsPlainSumForThreeToTenSites) {
  for (std::size_t n = 3; n <= 10; ++n) {
    Sim sim(n, 25);
    const auto inputs = RandomInputs(n, 25, 100 + n);
    auto r = sim.Run({1, 0}, inputs);
    ASSERT_TRUE(r.ok()) << "n=" << n << ": " << r.status().ToString();
    EXPECT_EQ(r->included_sites.size(), n);
    EXPECT_TRUE(r->recovered_dropped_sites.empty());
    ExpectPlainSum(sim, *r, inputs);
    // The masked vectors the server saw are not the encodings.
    auto enc0 = EncodeFixedPoint(inputs[0], sim.config.FixedPoint());
    EXPECT_NE(sim.last_masked.at(sim.Id(0)), *enc0);
  }
}

TEST(SecureAggregationTest, ExactOnArbitraryRingElements) {
  Sim sim(4, 8);
  std::mt19937_64 rng(5);
  std::vector<std::vector<std::uint64_t>> enc(4, std::vector<std::uint64_t>(8));
  std::vector<std::uint64_t> expected(8, 0);
  for (auto& v : enc) {
    for (auto& x : v) x = rng();
    AddModular(expected, v);
  }
  auto r = sim.Run({1, 0}, {}, {}, &enc);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->sum_encoded, expected);
}

double ByteChiSquare(const std::vector<std::uint64_t>& v) {
  std::vector<double> counts(256, 0.0);
  for (std::uint64_t x : v) {
    for (int b = 0; b < 8; ++b) counts[(x >> (8 * b)) & 0xff] += 1.0;
  }
  const double expected = static_cast<double>(v.size() * 8) / 256.0;
  double chi = 0.0;
  for (double c : counts) chi += (c - expected) * (c - expected) / expected;
  return chi;
}

// A single site's masked vector looks uniform: chi-square of its 32768 bytes
// against 256 equal bins (255 degrees of freedom; 99.9% quantile 330.5).
// Deterministic: all randomness comes from seeded sources.
TEST(SecureAggregationTest, SingleMaskedVectorLooksUniform) {
  const std::size_t len = 4096;
  Sim sim(3, len, 0, false, /*seed=*/42);
  std::vector<std::vector<double>> inputs(3, std::vector<double>(len, 1.0));
  auto r = sim.Run({1, 0}, inputs);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_LT(ByteChiSquare(sim.last_masked.at(sim.Id(i))), 330.5) << i;
  }
  // The test can fail: the plain encoding of the same input is far from uniform.
  auto plain = EncodeFixedPoint(inputs[0], sim.config.FixedPoint());
  EXPECT_GT(ByteChiSquare(*plain), 1e4);
  // Per-bit balance of one masked vector.
  const auto& m = sim.last_masked.at(sim.Id(1));
  for (int bit = 0; bit < 64; ++bit) {
    std::size_t ones = 0;
    for (std::uint64_t x : m) ones += (x >> bit) & 1u;
    EXPECT_NEAR(static_cast<double>(ones) / len, 0.5, 0.04) << bit;
  }
}

TEST(SecureAggregationTest, MasksDifferBetweenRoundsAndRoundsAreNotReused) {
  Sim sim(3, 16, 0, false, /*seed=*/9);
  std::vector<std::vector<double>> inputs(3, std::vector<double>(16, 2.5));
  ASSERT_TRUE(sim.Run({1, 0}, inputs).ok());
  const auto round1 = sim.last_masked.at(sim.Id(0));
  ASSERT_TRUE(sim.Run({2, 0}, inputs).ok());
  const auto round2 = sim.last_masked.at(sim.Id(0));
  ASSERT_TRUE(sim.Run({2, 1}, inputs).ok());
  const auto slot1 = sim.last_masked.at(sim.Id(0));
  for (std::size_t k = 0; k < 16; ++k) {
    EXPECT_NE(round1[k], round2[k]) << k;
    EXPECT_NE(round2[k], slot1[k]) << k;
  }
  // Neither the server nor a site accepts a (round, slot) twice.
  auto again = sim.Run({2, 0}, inputs);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("never reused"), std::string::npos);
  auto site_again = sim.sites[0].AdvertiseKeys({1, 0});
  ASSERT_FALSE(site_again.ok());
  EXPECT_NE(site_again.status().message().find("never reused"), std::string::npos);
  // The PRG itself: different seeds, different streams.
  std::array<std::uint8_t, 32> s1{};
  std::array<std::uint8_t, 32> s2{};
  s2[0] = 1;
  EXPECT_NE(ExpandMask(s1, 4), ExpandMask(s2, 4));
  EXPECT_EQ(ExpandMask(s1, 4), ExpandMask(s1, 4));
}

// The chunked, multi-threaded expansion must be the one ChaCha20-IETF stream
// (nonce 0) read as little-endian uint64, across chunk (4,096 words), block
// and thread-slice boundaries (>= 2^16 words are split over threads).
TEST(SecureAggregationTest, ExpandMaskIsTheChaCha20Keystream) {
  ASSERT_TRUE(common::InitSodium().ok());
  std::array<std::uint8_t, 32> seed{};
  for (std::size_t k = 0; k < seed.size(); ++k) seed[k] = static_cast<std::uint8_t>(7 * k + 3);
  for (std::size_t length :
       {std::size_t{1}, std::size_t{9}, std::size_t{4097}, std::size_t{200003}}) {
    std::vector<std::uint8_t> bytes(length * 8);
    const std::array<std::uint8_t, crypto_stream_chacha20_ietf_NONCEBYTES> nonce{};
    crypto_stream_chacha20_ietf(bytes.data(), bytes.size(), nonce.data(), seed.data());
    const auto mask = ExpandMask(seed, length);
    ASSERT_EQ(mask.size(), length);
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < length; ++i) {
      std::uint64_t v = 0;
      for (int b = 0; b < 8; ++b) v |= static_cast<std::uint64_t>(bytes[8 * i + b]) << (8 * b);
      mismatches += v != mask[i] ? 1 : 0;
    }
    EXPECT_EQ(mismatches, 0u) << "length " << length;
  }
}

TEST(SecureAggregationTest, SiteDroppingAfterMaskedInputIsRecoveredFromShares) {
  Sim sim(5, 12);  // t = 3
  const auto inputs = RandomInputs(5, 12, 7);
  Drops drops;
  drops.before_unmask = {1};  // sent its masked input, then vanished
  auto r = sim.Run({1, 0}, inputs, drops);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->included_sites.size(), 5u);  // its input is in the sum
  EXPECT_TRUE(r->recovered_dropped_sites.empty());
  ExpectPlainSum(sim, *r, inputs);
  EXPECT_TRUE(sim.server->RekeyRequired().empty());  // only b_1 was reconstructed
}

TEST(SecureAggregationTest, SiteDroppingBeforeMaskedInputIsExcludedAndMustRekey) {
  Sim sim(5, 12);
  const auto inputs = RandomInputs(5, 12, 8);
  Drops drops;
  drops.before_mask = {3};
  auto r = sim.Run({1, 0}, inputs, drops);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->included_sites, (std::vector<std::string>{"site_0", "site_1", "site_2", "site_4"}));
  EXPECT_EQ(r->recovered_dropped_sites, (std::vector<std::string>{"site_3"}));
  ExpectPlainSum(sim, *r, inputs);
  ASSERT_EQ(sim.server->RekeyRequired().count("site_3"), 1u);
  const PublicKey32 revealed = sim.server->RekeyRequired().at("site_3");

  // Next round: an advertisement re-using the reconstructed masking key is
  // refused even though it is validly signed by site_3.
  ASSERT_TRUE(sim.server->BeginRound({2, 0}).ok());
  PublicKey32 other{};
  other[0] = 9;
  auto reused = SignKeyAdvertisement(sim.config.study_id, "site_3", {2, 0}, revealed, other,
                                     sim.identities[3].sign_secret.span());
  ASSERT_TRUE(reused.ok());
  const auto refused = sim.server->ReceiveAdvertisement(*reused);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("re-keys"), std::string::npos) << refused.message();
  // A fresh key (what SiteSession always generates) re-admits the site.
  auto fresh = sim.sites[3].AdvertiseKeys({2, 0});
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(sim.server->ReceiveAdvertisement(*fresh).ok());
  EXPECT_EQ(sim.server->RekeyRequired().count("site_3"), 0u);
}

TEST(SecureAggregationTest, SiteDroppingBeforeSharingIsSimplyLeftOut) {
  Sim sim(5, 6);
  const auto inputs = RandomInputs(5, 6, 9);
  Drops drops;
  drops.before_share = {0};
  drops.before_advertise = {4};
  auto r = sim.Run({1, 0}, inputs, drops);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->included_sites, (std::vector<std::string>{"site_1", "site_2", "site_3"}));
  EXPECT_TRUE(r->recovered_dropped_sites.empty());
  ExpectPlainSum(sim, *r, inputs);
}

TEST(SecureAggregationTest, FewerThanThresholdSurvivorsIsAClearError) {
  {
    Sim sim(5, 4);  // t = 3
    Drops drops;
    drops.before_mask = {0, 1, 2};
    auto r = sim.Run({1, 0}, RandomInputs(5, 4, 1), drops);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("only 2 sites sent masked inputs"), std::string::npos)
        << r.status().message();
  }
  {
    Sim sim(5, 4);
    Drops drops;
    drops.before_unmask = {0, 1, 2};
    auto r = sim.Run({1, 0}, RandomInputs(5, 4, 2), drops);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("only 2 unmask responses"), std::string::npos)
        << r.status().message();
  }
}

TEST(SecureAggregationTest, MinimumSitesEnforcedUnlessAllowed) {
  const auto inputs = RandomInputs(3, 4, 3);
  Drops drops;
  drops.before_mask = {2};
  {
    Sim sim(3, 4);  // t = 2, min sites 3
    auto r = sim.Run({1, 0}, inputs, drops);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("min sites 3"), std::string::npos) << r.status().message();
  }
  {
    Sim sim(3, 4, 0, /*allow_fewer=*/true);
    auto r = sim.Run({1, 0}, inputs, drops);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->included_sites.size(), 2u);
    ExpectPlainSum(sim, *r, inputs);
  }
  SecAggConfig two;
  two.study_id = "s";
  two.sites.resize(2);
  two.sites[0].site_id = "a";
  two.sites[1].site_id = "b";
  two.vector_length = 1;
  const auto st = ValidateSecAggConfig(two);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("min_sites"), std::string::npos) << st.message();
}

TEST(SecureAggregationTest, SubstitutedAdvertisedKeyIsDetected) {
  Sim sim(3, 4);
  ASSERT_TRUE(sim.server->BeginRound({1, 0}).ok());
  std::vector<KeyAdvertisement> ads;
  for (auto& s : sim.sites) {
    auto ad = s.AdvertiseKeys({1, 0});
    ASSERT_TRUE(ad.ok());
    ads.push_back(*ad);
  }
  // The server refuses a substituted masking key...
  KeyAdvertisement forged = ads[1];
  forged.mask_public[5] ^= 0x40;
  auto st = sim.server->ReceiveAdvertisement(forged);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), common::StatusCode::kUnauthenticated);
  EXPECT_NE(st.message().find("site_1"), std::string::npos);
  // ...and a key for site_1 signed by site_2's identity.
  auto impostor = SignKeyAdvertisement(sim.config.study_id, "site_1", {1, 0}, ads[2].mask_public,
                                       ads[2].share_public, sim.identities[2].sign_secret.span());
  ASSERT_TRUE(impostor.ok());
  EXPECT_FALSE(sim.server->ReceiveAdvertisement(*impostor).ok());
  // A signature for another study does not transfer.
  EXPECT_FALSE(VerifyKeyAdvertisement("other-study", ads[0], sim.config.sites[0].sign_public).ok());
  // A site receiving a broadcast with a substituted share key refuses it.
  auto broadcast = ads;
  broadcast[2].share_public[0] ^= 1;
  auto shares = sim.sites[0].ShareKeys(broadcast);
  ASSERT_FALSE(shares.ok());
  EXPECT_EQ(shares.status().code(), common::StatusCode::kUnauthenticated);
  EXPECT_NE(shares.status().message().find("site_2"), std::string::npos);
}

TEST(SecureAggregationTest, TamperedShareAndInconsistentUnmaskRequestAreRefused) {
  {
    Sim sim(3, 4);
    sim.tamper_share = true;
    auto r = sim.Run({1, 0}, RandomInputs(3, 4, 4));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), common::StatusCode::kUnauthenticated);
  }
  {
    // A server asking for both the self-mask and the masking-key shares of a
    // site (listing it as survivor and dropped) gets nothing.
    Sim sim(4, 4);
    const auto inputs = RandomInputs(4, 4, 5);
    ASSERT_TRUE(sim.server->BeginRound({1, 0}).ok());
    for (auto& s : sim.sites)
      ASSERT_TRUE(sim.server->ReceiveAdvertisement(*s.AdvertiseKeys({1, 0})).ok());
    auto ads = sim.server->CloseAdvertisements();
    ASSERT_TRUE(ads.ok());
    for (auto& s : sim.sites) {
      auto sh = s.ShareKeys(*ads);
      ASSERT_TRUE(sh.ok());
      ASSERT_TRUE(sim.server->ReceiveShares(s.site_id(), *sh).ok());
    }
    auto inbox = sim.server->CloseShares();
    ASSERT_TRUE(inbox.ok());
    auto m = sim.sites[0].MaskInput((*inbox)["site_0"], inputs[0]);
    ASSERT_TRUE(m.ok());
    UnmaskRequest evil;
    evil.round = {1, 0};
    evil.survivors = {"site_0", "site_1", "site_2", "site_3"};
    evil.dropped = {"site_1"};
    auto resp = sim.sites[0].Unmask(evil);
    ASSERT_FALSE(resp.ok());
    EXPECT_NE(resp.status().message().find("disjoint"), std::string::npos);
    // The site answered nothing and will not answer again this round.
    evil.dropped.clear();
    EXPECT_FALSE(sim.sites[0].Unmask(evil).ok());
  }
}

TEST(SecureAggregationTest, OverflowingInputIsRefused) {
  Sim sim(3, 3);
  std::vector<std::vector<double>> inputs(3, std::vector<double>{1.0, 2.0, 3.0});
  inputs[1][2] = 2e5;  // bound is 1e5
  auto r = sim.Run({1, 0}, inputs);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("index 2"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().ToString().find("site_1"), std::string::npos);
  SecAggConfig big = sim.config;
  big.value_bound = 1e7;  // 3 * 1e7 * 2^40 > 2^63
  EXPECT_FALSE(ValidateSecAggConfig(big).ok());
}

TEST(SecureAggregationTest, BlobsRejectTruncationAndTrailingBytes) {
  MaskedInput m;
  m.site_id = "site_0";
  m.round = {3, 1};
  m.masked = {1, 2, 0xffffffffffffffffULL};
  auto blob = EncodeMaskedInput(m);
  auto back = DecodeMaskedInput(blob);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->masked, m.masked);
  EXPECT_EQ(back->round, m.round);
  auto shorter = blob;
  shorter.pop_back();
  EXPECT_FALSE(DecodeMaskedInput(shorter).ok());
  auto longer = blob;
  longer.push_back(0);
  EXPECT_FALSE(DecodeMaskedInput(longer).ok());
  auto wrong_format = blob;
  wrong_format[0] = 2;
  EXPECT_EQ(DecodeMaskedInput(wrong_format).status().code(), common::StatusCode::kVersionMismatch);
  const std::vector<std::uint8_t> empty;
  EXPECT_FALSE(DecodeUnmaskResponse(empty).ok());
  EXPECT_FALSE(DecodeKeyAdvertisement(empty).ok());
  // A huge declared count is refused without allocating.
  std::vector<std::uint8_t> huge = {1, 0, 0, 0, 0};
  for (int i = 0; i < 12; ++i) huge.push_back(0);
  for (int i = 0; i < 4; ++i) huge.push_back(0xff);
  EXPECT_FALSE(DecodeMaskedInput(huge).ok());
}

// vector_length 0: each round's length is set by its first masked input; here
// wide fixed-point encodings (fixed_point.hpp) of different sizes per round.
TEST(SecureAggregationTest, VectorLengthZeroVariesPerRoundWithWideEncodings) {
  Sim sim(4, 0);
  ASSERT_EQ(sim.config.vector_length, 0u);
  struct RoundCase {
    RoundId id;
    WideFixedPointParams params;
    std::size_t values;
    Drops drops;
  };
  WideFixedPointParams two;  // f = 40, L = 2
  WideFixedPointParams three;
  three.limbs = 3;
  Drops drop3;
  drop3.before_mask = {3};
  for (const RoundCase& rc : {RoundCase{{1, 0}, two, 3, {}}, RoundCase{{2, 0}, three, 5, drop3}}) {
    std::mt19937_64 rng(rc.id.round);
    std::normal_distribution<double> z(0.0, 1.0);
    std::vector<std::vector<double>> inputs(4, std::vector<double>(rc.values));
    std::vector<std::vector<std::uint64_t>> encoded(4);
    for (std::size_t i = 0; i < 4; ++i) {
      for (std::size_t k = 0; k < rc.values; ++k) {
        // Gradient-sized, tiny and (for L = 3) moment-sized values.
        const double scale = k % 3 == 0 ? 1e-9 : (k % 3 == 1 ? 1e2 : 1e20);
        inputs[i][k] = z(rng) * scale;
      }
      auto enc = EncodeWideFixedPoint(inputs[i], rc.params);
      ASSERT_TRUE(enc.ok()) << enc.status().ToString();
      encoded[i] = *enc;
    }
    auto r = sim.Run(rc.id, inputs, rc.drops, &encoded);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const std::size_t words = rc.values * static_cast<std::size_t>(rc.params.limbs);
    ASSERT_EQ(r->sum_encoded.size(), words);
    ASSERT_EQ(r->included_sites.size(), rc.drops.before_mask.empty() ? 4u : 3u);
    std::vector<std::uint64_t> plain_words(words, 0);
    std::vector<long double> plain(rc.values, 0.0L);
    for (const auto& id : r->included_sites) {
      const auto i = static_cast<std::size_t>(std::stoi(id.substr(5)));
      AddModular(plain_words, encoded[i]);
      for (std::size_t k = 0; k < rc.values; ++k) plain[k] += inputs[i][k];
    }
    EXPECT_EQ(r->sum_encoded, plain_words);
    auto sum = DecodeWideFixedPointSum(r->sum_encoded, rc.params, r->included_sites.size());
    ASSERT_TRUE(sum.ok()) << sum.status().ToString();
    for (std::size_t k = 0; k < rc.values; ++k) {
      const double ref = static_cast<double>(plain[k]);
      EXPECT_LE(std::fabs((*sum)[k] - ref),
                WideQuantisationErrorBound(rc.params, r->included_sites.size(), std::fabs(ref)) +
                    std::fabs(ref) * 1e-16)
          << "round " << rc.id.round << " k=" << k;
    }
  }
}

TEST(SecureAggregationTest, VectorLengthZeroRefusesInputsOfAnotherLength) {
  Sim sim(3, 0, 0, /*allow_fewer=*/false, /*seed=*/9);
  ASSERT_TRUE(sim.server->BeginRound({1, 0}).ok());
  for (auto& site : sim.sites) {
    auto ad = site.AdvertiseKeys({1, 0});
    ASSERT_TRUE(ad.ok());
    ASSERT_TRUE(sim.server->ReceiveAdvertisement(*ad).ok());
  }
  auto ads = sim.server->CloseAdvertisements();
  ASSERT_TRUE(ads.ok());
  for (std::size_t i = 0; i < 3; ++i) {
    auto shares = sim.sites[i].ShareKeys(*ads);
    ASSERT_TRUE(shares.ok()) << shares.status().ToString();
    ASSERT_TRUE(sim.server->ReceiveShares(sim.Id(i), *shares).ok());
  }
  auto inbox = sim.server->CloseShares();
  ASSERT_TRUE(inbox.ok());
  auto m0 = sim.sites[0].MaskEncodedInput((*inbox)[sim.Id(0)], std::vector<std::uint64_t>(4, 1));
  ASSERT_TRUE(m0.ok()) << m0.status().ToString();
  ASSERT_TRUE(sim.server->ReceiveMaskedInput(*m0).ok());  // fixes the length at 4
  auto m1 = sim.sites[1].MaskEncodedInput((*inbox)[sim.Id(1)], std::vector<std::uint64_t>(5, 1));
  ASSERT_TRUE(m1.ok()) << m1.status().ToString();
  const auto st = sim.server->ReceiveMaskedInput(*m1);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), common::StatusCode::kProtocolError);
  EXPECT_NE(st.message().find("has 5 values, expected 4"), std::string::npos) << st.message();
  auto m2 = sim.sites[2].MaskEncodedInput((*inbox)[sim.Id(2)], std::vector<std::uint64_t>{});
  ASSERT_FALSE(m2.ok());
  EXPECT_NE(m2.status().message().find("input has 0 values"), std::string::npos)
      << m2.status().message();
  SecAggConfig too_long = sim.config;
  too_long.vector_length = (std::size_t{1} << 26) + 1;
  EXPECT_FALSE(ValidateSecAggConfig(too_long).ok());
  too_long.vector_length = 0;
  EXPECT_TRUE(ValidateSecAggConfig(too_long).ok());
}

}  // namespace
}  // namespace fedrad::protocols

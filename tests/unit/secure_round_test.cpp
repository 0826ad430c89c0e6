// The message layer of secure rounds (site_agent/stats/secure_round.hpp,
// docs/protocol.md 6.5): the blob-list array encoding (bounds, truncation,
// out-of-range bytes), the site's step state machine (order, repeats from the
// cache) and a whole round of three SecureRoundSites and a ServerSession
// driven through the ROUND_REQUEST / ROUND_REPLY messages, whose decoded sum
// must equal the plain sum of the sites' values.
#include "fedrad/site_agent/stats/secure_round.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "fedrad/common/keys.hpp"
#include "fedrad/common/sodium_init.hpp"
#include "fedrad/site_agent/stats/wire.hpp"

namespace fedrad::site_agent::stats {
namespace {

using protocols::Array;
using protocols::RoundReply;
using protocols::RoundRequest;

bool Mentions(const common::Status& status, const std::string& text) {
  return status.message().find(text) != std::string::npos;
}

// ---- blob lists ----

TEST(SecureRoundBlobList, RoundTripsBlobsOfEveryLength) {
  const std::vector<Blob> blobs = {{}, {0, 255, 7}, Blob(300, 0x5a), {1}};
  auto array = EncodeBlobList("blobs", blobs);
  ASSERT_TRUE(array.ok()) << array.status().ToString();
  EXPECT_EQ(array->name, "blobs");
  // count, then length + bytes per blob.
  EXPECT_EQ(array->i64.size(), 1u + 4u + 0u + 3u + 300u + 1u);
  EXPECT_EQ(array->i64[0], 4);
  EXPECT_EQ(array->i64[1], 0);
  EXPECT_EQ(array->i64[2], 3);
  EXPECT_EQ(array->i64[4], 255);
  auto decoded = DecodeBlobList(*array);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, blobs);

  auto empty = EncodeBlobList("blobs", {});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->i64, std::vector<std::int64_t>{0});
  auto none = DecodeBlobList(*empty);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(SecureRoundBlobList, EncoderRefusesTooManyOrTooLongBlobs) {
  auto many = EncodeBlobList("blobs", std::vector<Blob>(kMaxBlobs + 1, Blob{1}));
  ASSERT_FALSE(many.ok());
  EXPECT_TRUE(Mentions(many.status(), "257 blobs, at most 256")) << many.status().message();
  EXPECT_TRUE(EncodeBlobList("blobs", std::vector<Blob>(kMaxBlobs, Blob{1})).ok());
  auto long_blob = EncodeBlobList("blobs", {Blob{}, Blob(kMaxBlobBytes + 1)});
  ASSERT_FALSE(long_blob.ok());
  EXPECT_TRUE(Mentions(long_blob.status(), "blob 1 has 1048577 bytes"))
      << long_blob.status().message();
}

TEST(SecureRoundBlobList, DecoderRefusesMalformedArraysNamingThePosition) {
  const auto reject = [](std::vector<std::int64_t> values, const std::string& expected) {
    const auto n = static_cast<std::int64_t>(values.size());
    const Array array = Array::I64("blobs", {n}, std::move(values));
    auto decoded = DecodeBlobList(array);
    ASSERT_FALSE(decoded.ok()) << "accepted; expected: " << expected;
    EXPECT_EQ(decoded.status().code(), common::StatusCode::kProtocolError);
    EXPECT_TRUE(Mentions(decoded.status(), "blob list 'blobs'")) << decoded.status().message();
    EXPECT_TRUE(Mentions(decoded.status(), expected)) << decoded.status().message();
  };
  reject({}, "empty");
  reject({-1}, "blob count is -1");
  reject({257}, "blob count is 257");
  reject({1}, "before the length of blob 0 of 1");                      // truncated: no length
  reject({2, 1, 9}, "before the length of blob 1 of 2");                // truncated: 2nd blob
  reject({1, 3, 1, 2}, "blob 0 needs 3 bytes from element 2, only 2");  // truncated bytes
  reject({1, -2}, "blob 0 has length -2");
  reject({1, (1 << 20) + 1}, "blob 0 has length 1048577");
  reject({1, 2, 7, 256}, "blob 0 byte 1 (element 3) is 256, expected [0, 255]");
  reject({2, 0, 1, -1}, "blob 1 byte 0 (element 3) is -1");
  reject({1, 1, 5, 0}, "1 unread elements after the last blob");
  reject({0, 0}, "1 unread elements");

  Array f64 = Array::F64("blobs", {1}, {0.0});
  EXPECT_EQ(DecodeBlobList(f64).status().code(), common::StatusCode::kProtocolError);
  Array two_d = Array::I64("blobs", {1, 1}, {0});
  EXPECT_EQ(DecodeBlobList(two_d).status().code(), common::StatusCode::kProtocolError);
  // BlobsOf wants exactly the named array.
  auto wrong_name = BlobsOf({Array::I64("other", {1}, {0})}, "blobs", "test");
  ASSERT_FALSE(wrong_name.ok());
  EXPECT_TRUE(Mentions(wrong_name.status(), "expected exactly one array 'blobs'"));
}

// ---- requests and values ----

TEST(SecureRoundRequests, SecureParameterIsMarkedCheckedAndStripped) {
  MomentsRequest moments;
  auto request = EncodeStatsBatch("job", 3, {StatRequest(moments)});
  ASSERT_TRUE(request.ok()) << request.status().ToString();
  EXPECT_EQ(SecureStepOf(*request), -1);  // plain
  MarkSecure(&*request);
  EXPECT_EQ(SecureStepOf(*request), 0);
  auto plain = PlainBatchRequest(*request);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_FALSE(plain->parameters.contains("secure"));
  EXPECT_TRUE(DecodeStatsBatch(*plain).ok());
  EXPECT_TRUE(DecodeStatsBatch(*request).ok());  // the decoder tolerates "secure"

  RoundRequest other_bits = *request;
  other_bits.parameters["secure"] = {{"fractional_bits", 30}};
  auto refused = PlainBatchRequest(other_bits);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), common::StatusCode::kProtocolError);
  EXPECT_TRUE(Mentions(refused.status(), "{\"fractional_bits\":40}")) << refused.status().message();

  RoundRequest step;
  step.statistic = kSecAggSharesStatistic;
  EXPECT_EQ(SecureStepOf(step), 1);
  step.statistic = kSecAggInputStatistic;
  EXPECT_EQ(SecureStepOf(step), 2);
  step.statistic = kSecAggUnmaskStatistic;
  EXPECT_EQ(SecureStepOf(step), 3);
  step.statistic = "cohort_size";
  EXPECT_EQ(SecureStepOf(step), -1);
}

TEST(SecureRoundValues, MomentsUseThreeLimbsAndTheRangeErrorNamesTheRequest) {
  const std::vector<StatRequest> batch = {StatRequest(MomentsRequest{}),
                                          StatRequest(LogisticRequest{})};
  EXPECT_EQ(WideLimbsOf(batch[0]), 3);
  EXPECT_EQ(WideLimbsOf(batch[1]), 2);
  EXPECT_EQ(WideWordCount(batch, {4, 5}), 4u * 3u + 5u * 2u);
  // 1e30 fits three limbs (|v| < 2^127) but not two (|v| < 2^71 ~ 2.4e21).
  auto fits = EncodeWideResults(batch, {{1e30, 0, 0, 0}, {1, 2, 3, 4, 5}});
  ASSERT_TRUE(fits.ok()) << fits.status().ToString();
  EXPECT_EQ(fits->size(), 22u);
  auto too_big = EncodeWideResults(batch, {{0, 0, 0, 0}, {1, 2, 1e30, 4, 5}});
  ASSERT_FALSE(too_big.ok());
  EXPECT_TRUE(Mentions(too_big.status(), "stats_batch request 1")) << too_big.status().message();
}

// ---- the site's state machine and a whole round ----

class SecureRoundSiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(common::InitSodium().ok());
    protocols::StudySpec spec;
    spec.study_id = "secure-unit";
    for (const std::string id : {"site_a", "site_b", "site_c"}) {
      auto identity = common::GenerateIdentity(id);
      ASSERT_TRUE(identity.ok()) << identity.status().ToString();
      spec.sites.push_back({id, identity->pub.sign_public_hex, false});
      identities_.emplace(id, std::move(identity).value());
    }
    spec.sites.push_back({"site_x", identities_.at("site_a").pub.sign_public_hex, true});
    auto config = SecAggConfigOf(spec);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    config_ = *config;
    ASSERT_EQ(config_.sites.size(), 3u);  // the external site is not a party
    EXPECT_EQ(config_.sites[1].site_id, "site_b");
    EXPECT_EQ(config_.vector_length, 0u);
    for (const auto& [id, identity] : identities_) {
      auto site = SecureRoundSite::Create(config_, id, identity.sign_secret.span());
      ASSERT_TRUE(site.ok()) << site.status().ToString();
      sites_.emplace(id, std::move(site).value());
    }
  }

  // Step 0 of round `round`: a moments and a logistic request; site s holds
  // the values base_s + k (moments: 1e15 scale, to exercise three limbs).
  RoundRequest Step0(std::int64_t round) {
    auto request = EncodeStatsBatch("job", round, batch_);
    EXPECT_TRUE(request.ok()) << request.status().ToString();
    MarkSecure(&*request);
    return *request;
  }
  std::vector<std::vector<double>> ValuesOf(std::size_t s) const {
    const double base = static_cast<double>(s + 1);
    return {{base * 1e15, -base * 3.25, base / 7.0}, {base * 0.1, -2.5e-9 * base}};
  }
  RoundReply Plain(std::int64_t round, std::size_t s) const {
    auto reply = EncodeStatsResults("job", round, ValuesOf(s));
    EXPECT_TRUE(reply.ok());
    return *reply;
  }
  static RoundRequest StepRequest(std::int64_t round, int step, const std::vector<Blob>& blobs) {
    RoundRequest request;
    request.job_id = "job";
    request.round_id = round;
    request.statistic = SecureStepStatistic(step);
    auto list = EncodeBlobList("blobs", blobs);
    EXPECT_TRUE(list.ok());
    request.arrays.push_back(*list);
    return request;
  }

  std::map<std::string, common::Identity> identities_;
  protocols::SecAggConfig config_;
  std::map<std::string, SecureRoundSite> sites_;
  const std::vector<StatRequest> batch_ = {StatRequest(MomentsRequest{}),
                                           StatRequest(LogisticRequest{})};
};

TEST_F(SecureRoundSiteTest, OutOfOrderStepsAreRefusedAndRepeatsComeFromTheCache) {
  SecureRoundSite& site = sites_.at("site_a");
  // secagg_input before anything, and before secagg_shares.
  const RoundRequest input = StepRequest(1, 2, {});
  auto early = site.Continue(input);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.status().code(), common::StatusCode::kProtocolError);
  EXPECT_TRUE(Mentions(early.status(), "secagg_input (step 2) out of order"))
      << early.status().message();

  const RoundRequest step0 = Step0(1);
  EXPECT_EQ(site.Cached(step0), nullptr);
  ASSERT_TRUE(site.CheckOrder(step0).ok());
  auto started = site.Start(step0, batch_, Plain(1, 0));
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  ASSERT_EQ(started->arrays.size(), 2u);
  EXPECT_EQ(started->arrays[0].name, "sizes");
  EXPECT_EQ(started->arrays[1].name, "key_ad");
  // A repeat of step 0 is the same reply (no new keys).
  const RoundReply* cached = site.Cached(step0);
  ASSERT_NE(cached, nullptr);
  EXPECT_EQ(*cached, *started);
  // Now step 2 is still out of order (step 1 comes first), as is step 1 of
  // another round and step 0 of an older or the same round.
  auto skipped = site.Continue(StepRequest(1, 2, {}));
  ASSERT_FALSE(skipped.ok());
  EXPECT_TRUE(Mentions(skipped.status(), "answered step 0 (stats_batch) of round 1 last"))
      << skipped.status().message();
  EXPECT_EQ(site.Continue(StepRequest(2, 1, {})).status().code(),
            common::StatusCode::kProtocolError);
  EXPECT_EQ(site.CheckOrder(Step0(1)).code(), common::StatusCode::kProtocolError);
  EXPECT_EQ(site.CheckOrder(Step0(0)).code(), common::StatusCode::kProtocolError);
  EXPECT_TRUE(site.CheckOrder(Step0(2)).ok());
}

TEST_F(SecureRoundSiteTest, AWholeRoundThroughTheMessagesSumsTheSitesValues) {
  const std::vector<std::string> order = {"site_a", "site_b", "site_c"};
  auto server = protocols::ServerSession::Create(config_);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  for (std::int64_t round : {1, 2}) {  // two rounds: fresh keys, state reset
    SCOPED_TRACE(round);
    ASSERT_TRUE(server->BeginRound({static_cast<std::uint64_t>(round), 0}).ok());
    const RoundRequest step0 = Step0(round);
    for (std::size_t s = 0; s < order.size(); ++s) {
      auto reply = sites_.at(order[s]).Start(step0, batch_, Plain(round, s));
      ASSERT_TRUE(reply.ok()) << reply.status().ToString();
      auto blobs = BlobsOf({reply->arrays[1]}, "key_ad", "test");
      ASSERT_TRUE(blobs.ok() && blobs->size() == 1u);
      auto ad = protocols::DecodeKeyAdvertisement(blobs->front());
      ASSERT_TRUE(ad.ok());
      ASSERT_TRUE(server->ReceiveAdvertisement(*ad).ok());
    }
    auto ads = server->CloseAdvertisements();
    ASSERT_TRUE(ads.ok()) << ads.status().ToString();
    std::vector<Blob> ad_blobs;
    for (const auto& ad : *ads) ad_blobs.push_back(protocols::EncodeKeyAdvertisement(ad));
    const RoundRequest shares_request = StepRequest(round, 1, ad_blobs);
    for (const std::string& id : order) {
      auto reply = sites_.at(id).Continue(shares_request);
      ASSERT_TRUE(reply.ok()) << reply.status().ToString();
      // A repeat is answered from the cache, byte for byte.
      const RoundReply* cached = sites_.at(id).Cached(shares_request);
      ASSERT_NE(cached, nullptr);
      EXPECT_EQ(*cached, *reply);
      auto blobs = BlobsOf(reply->arrays, "blobs", "test");
      ASSERT_TRUE(blobs.ok());
      ASSERT_EQ(blobs->size(), 2u);  // one per other site, in site order
      std::vector<protocols::EncryptedShare> shares;
      for (const Blob& b : *blobs) shares.push_back(*protocols::DecodeEncryptedShare(b));
      EXPECT_LT(std::find(order.begin(), order.end(), shares[0].to_site),
                std::find(order.begin(), order.end(), shares[1].to_site));
      ASSERT_TRUE(server->ReceiveShares(id, shares).ok());
    }
    auto routed = server->CloseShares();
    ASSERT_TRUE(routed.ok());
    for (const std::string& id : order) {
      std::vector<Blob> blobs;
      for (const auto& share : routed->at(id)) {
        blobs.push_back(protocols::EncodeEncryptedShare(share));
      }
      auto reply = sites_.at(id).Continue(StepRequest(round, 2, blobs));
      ASSERT_TRUE(reply.ok()) << reply.status().ToString();
      ASSERT_EQ(reply->arrays.size(), 1u);
      ASSERT_EQ(reply->arrays[0].name, "masked");
      ASSERT_EQ(reply->arrays[0].i64.size(), 3u * 3u + 2u * 2u);
      protocols::MaskedInput input;
      input.site_id = id;
      input.round = {static_cast<std::uint64_t>(round), 0};
      for (std::int64_t w : reply->arrays[0].i64)
        input.masked.push_back(static_cast<std::uint64_t>(w));
      ASSERT_TRUE(server->ReceiveMaskedInput(input).ok());
    }
    auto unmask = server->CloseMaskedInputs();
    ASSERT_TRUE(unmask.ok());
    const RoundRequest unmask_request =
        StepRequest(round, 3, {protocols::EncodeUnmaskRequest(*unmask)});
    for (const std::string& id : order) {
      auto reply = sites_.at(id).Continue(unmask_request);
      ASSERT_TRUE(reply.ok()) << reply.status().ToString();
      auto blobs = BlobsOf(reply->arrays, "blobs", "test");
      ASSERT_TRUE(blobs.ok() && blobs->size() == 1u);
      ASSERT_TRUE(
          server->ReceiveUnmaskResponse(*protocols::DecodeUnmaskResponse(blobs->front())).ok());
      // After the last step nothing more of this round is answered.
      EXPECT_EQ(sites_.at(id).Continue(StepRequest(round, 1, ad_blobs)).status().code(),
                common::StatusCode::kProtocolError);
    }
    auto aggregate = server->Finish();
    ASSERT_TRUE(aggregate.ok()) << aggregate.status().ToString();
    auto sums = DecodeWideSums(batch_, {3, 2}, aggregate->sum_encoded, 3);
    ASSERT_TRUE(sums.ok()) << sums.status().ToString();
    // Reference: the plain sum in site order. Each encoding is within 2^-41
    // of its value; the moments sum (~6e15) decodes to 1/2 ulp of it.
    for (std::size_t r = 0; r < 2; ++r) {
      for (std::size_t i = 0; i < (*sums)[r].size(); ++i) {
        double expected = 0.0;
        for (std::size_t s = 0; s < 3; ++s) expected += ValuesOf(s)[r][i];
        const double tol = 3 * std::ldexp(1.0, -41) + std::abs(expected) * 0x1p-52;
        EXPECT_NEAR((*sums)[r][i], expected, tol) << "request " << r << " value " << i;
      }
    }
  }
}

TEST(SecureRoundConfig, ASpecWithoutSitesIsRefusedNamingTheKey) {
  protocols::StudySpec spec;
  spec.study_id = "no-sites";
  auto config = SecAggConfigOf(spec);
  ASSERT_FALSE(config.ok());
  EXPECT_TRUE(Mentions(config.status(), "lists no \"sites\"")) << config.status().message();
  spec.sites.push_back({"a", std::string(64, 'z'), false});
  spec.sites.push_back({"b", std::string(64, '0'), false});
  auto bad_key = SecAggConfigOf(spec);
  ASSERT_FALSE(bad_key.ok());
  EXPECT_TRUE(Mentions(bad_key.status(), "site \"a\"")) << bad_key.status().message();
}

}  // namespace
}  // namespace fedrad::site_agent::stats

// JOB_ACCEPT's optional `provenance` object (docs/protocol.md 4.4).
#include <gtest/gtest.h>

#include <string>

#include "fedrad/protocols/messages.hpp"

namespace fedrad::protocols {
namespace {

Message Accept(nlohmann::json provenance) {
  Message message;
  message.header.session_id = 7;
  message.header.sequence = 3;
  JobAccept accept{"study-1"};
  accept.provenance = std::move(provenance);
  message.body = accept;
  return message;
}

TEST(JobAcceptProvenance, RoundTripsAndIsAbsentWhenEmpty) {
  const nlohmann::json provenance = {{"fedrad_version", "0.4.0"},
                                     {"radiomics_params_sha256", std::string(64, 'a')},
                                     {"data_dictionary_sha256", ""}};
  auto frames = Encode(Accept(provenance));
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  EXPECT_NE((*frames)[1].find("\"provenance\""), std::string::npos);
  auto decoded = Decode(*frames);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(std::get<JobAccept>(decoded->body).provenance, provenance);

  // Empty: the meta frame is exactly that of a JOB_ACCEPT without the field
  // (the golden vector of 1.0 is unchanged), and it decodes to {}.
  auto plain = Encode(Accept(nlohmann::json::object()));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ((*plain)[1], "{\"job_id\":\"study-1\"}");
  auto back = Decode(*plain);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(std::get<JobAccept>(back->body).provenance.empty());
}

TEST(JobAcceptProvenance, ANonObjectIsRefused) {
  EXPECT_FALSE(Encode(Accept(nlohmann::json("x"))).ok());
  auto frames = Encode(Accept(nlohmann::json::object({{"fedrad_version", "1"}})));
  ASSERT_TRUE(frames.ok());
  (*frames)[1] = "{\"job_id\":\"study-1\",\"provenance\":[1]}";
  auto decoded = Decode(*frames);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().ToString().find("provenance"), std::string::npos)
      << decoded.status().ToString();
}

}  // namespace
}  // namespace fedrad::protocols

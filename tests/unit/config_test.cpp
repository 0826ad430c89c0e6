// Coordinator and site config loaders: strict keys, pointers in errors,
// defaults, path resolution, and the shipped example configs.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "fedrad/coordinator/coordinator_config.hpp"
#include "fedrad/site_agent/site_config.hpp"
#include "temp_dir.hpp"

namespace fedrad {
namespace {

// Two well-formed public keys (Z85 / hex); only their shape matters here.
constexpr const char* kCurveA = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
constexpr const char* kCurveB = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
constexpr const char* kSign = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";

class ConfigTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    return temp_.WriteText(name, text);
  }

  std::string CoordinatorJson(const std::string& coordinator_extra = "",
                              const std::string& root_extra = "") {
    return std::string(R"({"coordinator": {"bind": "tcp://127.0.0.1:7700",
        "secret_key_file": "keys/coordinator.secret")") +
           coordinator_extra + R"(},
      "sites": [
        {"id": "site_a", "curve_public_key": ")" +
           kCurveA + R"(", "sign_public_key": ")" + kSign + R"("},
        {"id": "site_b", "curve_public_key": ")" +
           kCurveB + R"(", "sign_public_key": ")" + kSign + R"("}]
      )" + root_extra +
           "}";
  }

  fedrad::testing::TempDir temp_{"fedrad_config_test"};
  const std::string dir_ = temp_.path();
};

TEST_F(ConfigTest, CoordinatorDefaultsAndRelativePaths) {
  auto cfg = coordinator::LoadCoordinatorConfig(Write("c.json", CoordinatorJson()));
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->id, "coordinator");
  EXPECT_EQ(cfg->bind, "tcp://127.0.0.1:7700");
  EXPECT_EQ(cfg->secret_key_file, dir_ + "/keys/coordinator.secret");
  EXPECT_EQ(cfg->heartbeat_interval_ms, 1000);
  EXPECT_EQ(cfg->heartbeat_liveness, 5);
  EXPECT_EQ(cfg->max_message_bytes, 64 << 20);
  EXPECT_EQ(cfg->job_timeout_s, 600);
  EXPECT_EQ(cfg->expected_sites, 0);
  ASSERT_EQ(cfg->sites.size(), 2u);
  EXPECT_EQ(cfg->sites[1].id, "site_b");
  EXPECT_EQ(cfg->sites[1].curve_public_key, kCurveB);
  EXPECT_EQ(cfg->log.level, common::LogLevel::kInfo);
}

TEST_F(ConfigTest, CoordinatorUnknownKeyIsNamedWithItsPointer) {
  auto cfg = coordinator::LoadCoordinatorConfig(
      Write("c.json", CoordinatorJson(R"(, "heartbeat_interval": 5)")));
  ASSERT_FALSE(cfg.ok());
  const std::string msg = cfg.status().ToString();
  EXPECT_NE(msg.find("c.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/coordinator/heartbeat_interval"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown key"), std::string::npos) << msg;
}

TEST_F(ConfigTest, CoordinatorReportsEveryProblemInOnePass) {
  auto cfg = coordinator::LoadCoordinatorConfig(Write(
      "c.json", CoordinatorJson(R"(, "heartbeat_interval_ms": "fast", "heartbeat_liveness": 0)",
                                R"(, "log": {"level": "loud"})")));
  ASSERT_FALSE(cfg.ok());
  const std::string msg = cfg.status().ToString();
  EXPECT_NE(msg.find("/coordinator/heartbeat_interval_ms"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/coordinator/heartbeat_liveness"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/log/level"), std::string::npos) << msg;
  EXPECT_NE(msg.find("warn"), std::string::npos) << "choices listed: " << msg;
}

TEST_F(ConfigTest, CoordinatorRejectsDuplicateSitesAndBadKeys) {
  std::string json = R"({"coordinator": {"bind": "tcp://*:1", "secret_key_file": "k"},
    "sites": [
      {"id": "site_a", "curve_public_key": ")" +
                     std::string(kCurveA) + R"(", "sign_public_key": ")" + kSign + R"("},
      {"id": "site_a", "curve_public_key": ")" +
                     std::string(kCurveA) +
                     R"(", "sign_public_key": "zz"},
      {"id": "bad id", "curve_public_key": "short", "sign_public_key": ")" +
                     kSign + R"("}]})";
  auto cfg = coordinator::LoadCoordinatorConfig(Write("c.json", json));
  ASSERT_FALSE(cfg.ok());
  const std::string msg = cfg.status().ToString();
  EXPECT_NE(msg.find("/sites/1/id"), std::string::npos) << msg;
  EXPECT_NE(msg.find("listed twice"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/sites/1/curve_public_key"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/sites/1/sign_public_key"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/sites/2/id"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/sites/2/curve_public_key"), std::string::npos) << msg;
}

TEST_F(ConfigTest, CoordinatorMissingSectionAndBadEndpoint) {
  auto missing = coordinator::LoadCoordinatorConfig(Write("c.json", R"({"sites": []})"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().ToString().find("/coordinator"), std::string::npos);
  auto bad = coordinator::LoadCoordinatorConfig(
      Write("d.json", R"({"coordinator": {"bind": "ipc:///tmp/x", "secret_key_file": "k"},
        "sites": [{"id": "a", "curve_public_key": ")" +
                          std::string(kCurveA) + R"(", "sign_public_key": ")" + kSign + R"("}]})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().ToString().find("/coordinator/bind"), std::string::npos);
  EXPECT_NE(bad.status().ToString().find("tcp://"), std::string::npos);
}

TEST_F(ConfigTest, CoordinatorInvalidJsonNamesTheFile) {
  auto cfg = coordinator::LoadCoordinatorConfig(Write("broken.json", "{\"coordinator\": {,}"));
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().ToString().find("broken.json"), std::string::npos);
}

TEST_F(ConfigTest, SiteConfigParsesAndDefaults) {
  auto cfg = site_agent::LoadSiteConfig(Write("s.json", std::string(R"({
    "site": {"id": "site_a", "secret_key_file": "/etc/fedrad/site_a.secret"},
    "coordinator": {"endpoint": "tcp://127.0.0.1:7700", "public_key": ")") +
                                                            kCurveA + R"("},
    "data": {"cohort_file": "data/cohort.csv"}})"));
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->id, "site_a");
  EXPECT_EQ(cfg->secret_key_file, "/etc/fedrad/site_a.secret");
  EXPECT_EQ(cfg->cohort_file, dir_ + "/data/cohort.csv");
  EXPECT_EQ(cfg->hello_timeout_ms, 3000);
  EXPECT_EQ(cfg->reconnect_interval_ms, 500);
  EXPECT_EQ(cfg->reconnect_max_ms, 10000);
}

TEST_F(ConfigTest, SiteConfigErrorsNamePointers) {
  auto cfg = site_agent::LoadSiteConfig(Write("s.json", R"({
    "site": {"id": "site_a"},
    "coordinator": {"endpoint": "tcp://127.0.0.1:7700", "public_key": "not-a-key"},
    "data": {"cohort_file": "x.csv", "images": "y"},
    "network": {"reconnect_interval_ms": 5000, "reconnect_max_ms": 100}})"));
  ASSERT_FALSE(cfg.ok());
  const std::string msg = cfg.status().ToString();
  EXPECT_NE(msg.find("/site/secret_key_file"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/coordinator/public_key"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/data/images"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/network/reconnect_max_ms"), std::string::npos) << msg;
}

TEST(ExampleConfigs, ShippedExamplesLoad) {
  const std::string root = std::string(FEDRAD_TEST_DATA_DIR) + "/../../configs/";
  auto coord = coordinator::LoadCoordinatorConfig(root + "coordinator.example.json");
  EXPECT_TRUE(coord.ok()) << coord.status().ToString();
  auto site = site_agent::LoadSiteConfig(root + "site.example.json");
  EXPECT_TRUE(site.ok()) << site.status().ToString();
}

}  // namespace
}  // namespace fedrad

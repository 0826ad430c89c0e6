// The site config's "policy" key (site_config.hpp): default beside the
// config, relative paths, an empty value refused; and what the site agent
// then applies (LoadSitePolicy): the built-in defaults with approval on when
// the file is absent.
#include <gtest/gtest.h>

#include <string>

#include "fedrad/site_agent/policy.hpp"
#include "fedrad/site_agent/site_config.hpp"
#include "temp_dir.hpp"

namespace fedrad::site_agent {
namespace {

constexpr const char* kCurve = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

std::string SiteJson(const std::string& extra) {
  return std::string(R"({"site": {"id": "site_a", "secret_key_file": "a.secret"},
    "coordinator": {"endpoint": "tcp://127.0.0.1:7700", "public_key": ")") +
         kCurve + R"("}, "data": {"cohort_file": "c.csv"})" + extra + "}";
}

TEST(SiteConfigPolicy, DefaultsToPolicyJsonBesideTheConfig) {
  testing::TempDir dir;
  auto cfg = LoadSiteConfig(dir.WriteText("site.json", SiteJson("")));
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->policy_file, dir.File("policy.json"));
  EXPECT_EQ(cfg->policy_file, SitePolicyPath(cfg->source_path));
  // No file there: the built-in defaults, approval required.
  auto policy = LoadSitePolicy(cfg->policy_file);
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_FALSE(policy->from_file);
  EXPECT_TRUE(policy->require_approval);
  EXPECT_EQ(policy->min_count_per_cell, 5);
  EXPECT_EQ(policy->min_cohort_size, 10);
}

TEST(SiteConfigPolicy, RelativeAndAbsolutePaths) {
  testing::TempDir dir;
  auto relative =
      LoadSiteConfig(dir.WriteText("site.json", SiteJson(R"(, "policy": "policies/a.json")")));
  ASSERT_TRUE(relative.ok()) << relative.status().ToString();
  EXPECT_EQ(relative->policy_file, dir.File("policies/a.json"));
  auto absolute =
      LoadSiteConfig(dir.WriteText("site.json", SiteJson(R"(, "policy": "/etc/fedrad/p.json")")));
  ASSERT_TRUE(absolute.ok()) << absolute.status().ToString();
  EXPECT_EQ(absolute->policy_file, "/etc/fedrad/p.json");
}

TEST(SiteConfigPolicy, EmptyOrWrongTypeIsAnErrorWithItsPointer) {
  testing::TempDir dir;
  for (const char* value : {R"("")", "5"}) {
    const std::string path =
        dir.WriteText("site.json", SiteJson(R"(, "policy": )" + std::string(value)));
    auto cfg = LoadSiteConfig(path);
    ASSERT_FALSE(cfg.ok()) << value;
    EXPECT_NE(cfg.status().message().find(path + ": /policy"), std::string::npos)
        << cfg.status().ToString();
  }
}

}  // namespace
}  // namespace fedrad::site_agent

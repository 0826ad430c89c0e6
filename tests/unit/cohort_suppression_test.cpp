// Complementary suppression of the report's cohort table
// (study_results.hpp WithholdComplementaryCounts): a count hidden as "<k"
// must not follow from the cohort total minus the released counts.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "fedrad/coordinator/results.hpp"
#include "fedrad/coordinator/study_results.hpp"

namespace fedrad::coordinator {
namespace {

SiteCohort Site(const std::string& id, const std::string& role, std::optional<std::int64_t> cases,
                std::optional<std::int64_t> controls) {
  SiteCohort site;
  site.site_id = id;
  site.role = role;
  site.cases = cases;
  site.controls = controls;
  site.disclosure_minimum = 5;
  return site;
}

TEST(CohortSuppression, OneHiddenCountWithholdsTheSmallestReleasedOneOfItsColumn) {
  std::vector<SiteCohort> sites = {Site("a", "train", 40, std::nullopt), Site("b", "train", 30, 25),
                                   Site("c", "train", 35, 12), Site("d", "external", 20, 30)};
  WithholdComplementaryCounts(&sites);
  // Controls: a's (below k) are hidden by its site; c's 12, the smallest released,
  // is withheld, so a's count no longer follows from the CV total.
  EXPECT_FALSE(sites[0].controls.has_value());
  EXPECT_FALSE(sites[0].controls_withheld);
  EXPECT_FALSE(sites[2].controls.has_value());
  EXPECT_TRUE(sites[2].controls_withheld);
  EXPECT_EQ(sites[1].controls, 25);
  // Cases: nothing hidden, nothing withheld; the external site is its own group.
  for (const SiteCohort& site : sites) {
    EXPECT_TRUE(site.cases.has_value()) << site.site_id;
    EXPECT_FALSE(site.cases_withheld) << site.site_id;
  }
  EXPECT_EQ(sites[3].controls, 30);
}

TEST(CohortSuppression, TwoHiddenCountsOrASingleSiteNeedNothingMore) {
  std::vector<SiteCohort> two_hidden = {Site("a", "train", std::nullopt, 20),
                                        Site("b", "train", std::nullopt, 25),
                                        Site("c", "train", 35, 30)};
  WithholdComplementaryCounts(&two_hidden);
  EXPECT_EQ(two_hidden[2].cases, 35);
  EXPECT_FALSE(two_hidden[2].cases_withheld);

  std::vector<SiteCohort> alone = {Site("a", "train", std::nullopt, 20),
                                   Site("d", "external", 20, 30)};
  WithholdComplementaryCounts(&alone);
  EXPECT_EQ(alone[1].cases, 20);  // another role: not part of a's cohort total
  EXPECT_FALSE(alone[1].cases_withheld);
}

}  // namespace
}  // namespace fedrad::coordinator

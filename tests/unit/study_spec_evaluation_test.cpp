// The study spec's "evaluation" section (protocols/study_spec.hpp): the
// public fine grid and the coarser fallback grid of the pooled ROC
// statistics, with their defaults and errors (file and JSON pointer).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "fedrad/protocols/study_spec.hpp"

namespace fedrad::protocols {
namespace {

using nlohmann::json;

json WithEvaluation(const json& evaluation) {
  json document =
      json::parse(R"({"study_id": "s1", "models": [{"name": "m", "columns": ["a*"]}]})");
  if (!evaluation.is_null()) document["evaluation"] = evaluation;
  return document;
}

std::string ErrorOf(const json& evaluation) {
  auto spec = ParseStudySpec(WithEvaluation(evaluation), "study.json", "");
  EXPECT_FALSE(spec.ok()) << evaluation.dump();
  return spec.ok() ? std::string() : spec.status().message();
}

TEST(StudySpecEvaluation, DefaultsAreTheFineGridAndNoFallback) {
  auto spec = ParseStudySpec(WithEvaluation(json()), "study.json", "");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->evaluation.grid_points, 100001);
  EXPECT_EQ(spec->evaluation.fallback_grid_points, 0);
  auto empty = ParseStudySpec(WithEvaluation(json::object()), "study.json", "");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->evaluation.grid_points, 100001);
}

TEST(StudySpecEvaluation, GridsAreRead) {
  auto spec = ParseStudySpec(WithEvaluation({{"grid_points", 10001}, {"fallback_grid_points", 11}}),
                             "study.json", "");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->evaluation.grid_points, 10001);
  EXPECT_EQ(spec->evaluation.fallback_grid_points, 11);
  auto only_fallback =
      ParseStudySpec(WithEvaluation({{"fallback_grid_points", 2}}), "study.json", "");
  ASSERT_TRUE(only_fallback.ok());
  EXPECT_EQ(only_fallback->evaluation.fallback_grid_points, 2);
}

TEST(StudySpecEvaluation, ErrorsNameTheFileAndThePointer) {
  std::string m = ErrorOf({{"grid_points", 1}});
  EXPECT_NE(m.find("study.json: /evaluation/grid_points"), std::string::npos) << m;
  m = ErrorOf({{"grid_points", 1000002}});
  EXPECT_NE(m.find("study.json: /evaluation/grid_points"), std::string::npos) << m;
  m = ErrorOf({{"grid_points", "fine"}});
  EXPECT_NE(m.find("study.json: /evaluation/grid_points"), std::string::npos) << m;
  m = ErrorOf({{"fallback_grid_points", 1}});
  EXPECT_NE(m.find("study.json: /evaluation/fallback_grid_points"), std::string::npos) << m;
  m = ErrorOf({{"grid_points", 101}, {"fallback_grid_points", 101}});
  EXPECT_NE(m.find("study.json: /evaluation/fallback_grid_points: expected fewer points than "
                   "grid_points 101 (the fallback grid is the coarser one), got 101"),
            std::string::npos)
      << m;
  m = ErrorOf({{"grid_points", 101}, {"fallback_grid_points", 1001}});
  EXPECT_NE(m.find("got 1001"), std::string::npos) << m;
  m = ErrorOf({{"grid", 101}});
  EXPECT_NE(m.find("study.json: /evaluation/grid"), std::string::npos) << m;
  m = ErrorOf(json(5));
  EXPECT_NE(m.find("study.json: /evaluation"), std::string::npos) << m;
}

}  // namespace
}  // namespace fedrad::protocols

// The study spec's "data_dictionary" and "radiomics" sections
// (protocols/study_spec.hpp, contract C1).
#include <gtest/gtest.h>

#include <string>

#include "fedrad/common/hash.hpp"
#include "fedrad/common/sodium_init.hpp"
#include "fedrad/protocols/study_spec.hpp"
#include "temp_dir.hpp"

namespace fedrad::protocols {
namespace {

using nlohmann::json;

json WithDictionary() {
  return json::parse(R"({
    "study_id": "s1",
    "models": [{"name": "clinical", "columns": ["clin_*"]}],
    "data_dictionary": {
      "id_column": "case_id",
      "label_column": "recurrence_2y",
      "missing": "complete_case",
      "variables": [
        {"name": "nodal_positive", "type": "binary", "description": "N+"},
        {"name": "age_years", "type": "integer", "unit": "years", "range": [18, 100]},
        {"name": "ca19_9_u_ml", "type": "number", "unit": "U/mL", "range": [0, 100000]},
        {"name": "sex", "type": "categorical", "levels": ["female", "male", "other"]}
      ],
      "derived": [{"name": "ca19_9_gt_200", "variable": "ca19_9_u_ml", "op": ">", "threshold": 200}],
      "features": ["nodal_positive", "sex", "age_years", "ca19_9_gt_200"]
    }
  })");
}

std::string ErrorOf(const json& document, const std::string& base_dir = "") {
  auto spec = ParseStudySpec(document, "spec.json", base_dir);
  EXPECT_FALSE(spec.ok());
  return spec.ok() ? std::string() : spec.status().ToString();
}

TEST(StudySpecDictionary, ParsesEveryFieldAndHashesTheSection) {
  const json document = WithDictionary();
  auto spec = ParseStudySpec(document, "spec.json", "");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  ASSERT_TRUE(spec->has_data_dictionary);
  const StudyDataDictionary& d = spec->data_dictionary;
  EXPECT_EQ(d.id_column, "case_id");
  EXPECT_EQ(d.label_column, "recurrence_2y");
  EXPECT_TRUE(d.complete_case);
  ASSERT_EQ(d.variables.size(), 4u);
  EXPECT_EQ(d.variables[0].type, VariableType::kBinary);
  EXPECT_EQ(d.variables[0].description, "N+");
  EXPECT_EQ(d.variables[1].type, VariableType::kInteger);
  EXPECT_TRUE(d.variables[1].has_range);
  EXPECT_EQ(d.variables[1].range_min, 18.0);
  EXPECT_EQ(d.variables[1].range_max, 100.0);
  EXPECT_EQ(d.variables[1].unit, "years");
  EXPECT_EQ(d.variables[2].type, VariableType::kNumber);
  EXPECT_EQ(d.variables[3].type, VariableType::kCategorical);
  EXPECT_EQ(d.variables[3].levels, (std::vector<std::string>{"female", "male", "other"}));
  ASSERT_EQ(d.derived.size(), 1u);
  EXPECT_EQ(d.derived[0].variable, "ca19_9_u_ml");
  EXPECT_EQ(d.derived[0].op, ">");
  EXPECT_EQ(d.derived[0].threshold, 200.0);
  ASSERT_TRUE(common::InitSodium().ok());
  EXPECT_EQ(d.sha256, common::Sha256Hex(document["data_dictionary"].dump()));
  EXPECT_EQ(d.sha256.size(), 64u);
  EXPECT_TRUE(spec->radiomics_params.is_null());
  // C1 column naming: features in order; categorical levels but the first.
  EXPECT_EQ(ClinicalFeatureColumns(*spec),
            (std::vector<std::string>{"clin_nodal_positive", "clin_sex_male", "clin_sex_other",
                                      "clin_age_years", "clin_ca19_9_gt_200"}));
}

TEST(StudySpecDictionary, DefaultsComeFromTheTableSection) {
  json document = WithDictionary();
  document["data_dictionary"].erase("id_column");
  document["data_dictionary"].erase("label_column");
  document["data_dictionary"].erase("missing");
  document["table"] = {{"id_column", "pid"}, {"label_column", "y"}};
  auto spec = ParseStudySpec(document, "spec.json", "");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->data_dictionary.id_column, "pid");
  EXPECT_EQ(spec->data_dictionary.label_column, "y");
  EXPECT_FALSE(spec->data_dictionary.complete_case);
  // A different section, a different hash.
  auto other = ParseStudySpec(WithDictionary(), "spec.json", "");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(spec->data_dictionary.sha256, other->data_dictionary.sha256);
}

TEST(StudySpecDictionary, EveryProblemIsReportedInOnePassWithItsPointer) {
  json document = WithDictionary();
  json& d = document["data_dictionary"];
  d["colour"] = "blue";                                                        // unknown key
  d["missing"] = "mean";                                                       // bad choice
  d["variables"][0]["type"] = "boolean";                                       // bad type
  d["variables"][1]["range"] = json::array({18.5, 100});                       // not integers
  d["variables"][2]["levels"] = json::array({"a", "b"});                       // levels on number
  d["variables"].push_back({{"name", "age_years"}, {"type", "number"}});       // duplicate name
  d["variables"].push_back({{"name", "grade"}, {"type", "categorical"}});      // no levels
  d["variables"].push_back({{"name", "t"}, {"type", "binary"}, {"unit", 3}});  // bad type of unit
  d["variables"].push_back(
      {{"name", "stage"}, {"type", "categorical"}, {"levels", {"I", "I"}}});  // repeated level
  d["derived"].push_back({{"name", "old"}, {"variable", "height"}, {"op", ">"}, {"threshold", 1}});
  d["derived"].push_back({{"name", "is_m"}, {"variable", "sex"}, {"op", ">"}, {"threshold", 0}});
  d["derived"].push_back(
      {{"name", "x"}, {"variable", "age_years"}, {"op", "=="}, {"threshold", 1}});
  d["derived"].push_back(
      {{"name", "sex"}, {"variable", "age_years"}, {"op", "<"}, {"threshold", 1}});  // clash
  d["features"].push_back("weight");                                                 // unknown name
  d["features"].push_back("sex");                                                    // listed twice
  const std::string message = ErrorOf(document);
  for (const char* expected :
       {"spec.json: /data_dictionary/colour: unknown key",
        "spec.json: /data_dictionary/missing: expected one of",
        "spec.json: /data_dictionary/variables/0/type: expected one of",
        "spec.json: /data_dictionary/variables/1/range: expected [min, max] with integers min <= "
        "max, got [18.5,100]",
        "spec.json: /data_dictionary/variables/2/levels: only categorical variables have levels "
        "(this one is number)",
        "spec.json: /data_dictionary/variables/4/name: variable \"age_years\" is defined twice "
        "(first at /data_dictionary/variables/1/name)",
        "spec.json: /data_dictionary/variables/5/levels: missing required key",
        "spec.json: /data_dictionary/variables/6/unit: expected a string",
        "spec.json: /data_dictionary/variables/7/levels/1: level \"I\" is listed twice",
        "spec.json: /data_dictionary/derived/1/variable: unknown variable \"height\"",
        "spec.json: /data_dictionary/derived/2/variable: variable \"sex\" is categorical",
        "spec.json: /data_dictionary/derived/3/op: expected one of",
        "spec.json: /data_dictionary/derived/4/name: name \"sex\" is already defined at "
        "/data_dictionary/variables/3/name",
        "spec.json: /data_dictionary/features/4: unknown name \"weight\"",
        "spec.json: /data_dictionary/features/5: \"sex\" is listed twice"}) {
    EXPECT_NE(message.find(expected), std::string::npos) << expected << "\n--- in ---\n" << message;
  }
}

TEST(StudySpecDictionary, VariableNamesAndTheIdAndLabelColumnsAreChecked) {
  json document = WithDictionary();
  document["data_dictionary"]["variables"].push_back({{"name", "case_id"}, {"type", "number"}});
  document["data_dictionary"]["variables"].push_back({{"name", "a b"}, {"type", "number"}});
  document["data_dictionary"]["variables"][0]["range"] = json::array({0, 1});
  const std::string message = ErrorOf(document);
  EXPECT_NE(
      message.find("/data_dictionary/variables/4/name: \"case_id\" is the id or label column"),
      std::string::npos)
      << message;
  EXPECT_NE(message.find("/data_dictionary/variables/5/name: expected a column name of 1-64"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("/data_dictionary/variables/0/range: only integer and number variables "
                         "have a range (this one is binary)"),
            std::string::npos)
      << message;
}

TEST(StudySpecDictionary, FoldColumnIsRefusedWithADictionary) {
  json document = WithDictionary();
  document["table"] = {{"fold_column", "fold"}};
  EXPECT_NE(ErrorOf(document).find("/table/fold_column: a study with a data_dictionary assigns "
                                   "folds at the sites"),
            std::string::npos);
}

TEST(StudySpecDictionary, RadiomicsParamsFromAFileBesideTheSpecOrInline) {
  testing::TempDir dir("fedrad_spec_dict");
  dir.WriteText("rad.json", R"({"imageType": {"Original": {}}})");
  json document = WithDictionary();
  document["radiomics"] = {{"params", "rad.json"}};
  auto spec = ParseStudySpec(document, "spec.json", dir.path());
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->radiomics_params, json::parse(R"({"imageType": {"Original": {}}})"));
  EXPECT_EQ(spec->radiomics_params_path, dir.File("rad.json"));

  document["radiomics"] = {{"params", {{"imageType", {{"Original", json::object()}}}}}};
  spec = ParseStudySpec(document, "spec.json", dir.path());
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->radiomics_params["imageType"], json::parse(R"({"Original": {}})"));
  EXPECT_EQ(spec->radiomics_params_path, "");

  // Through LoadStudySpec: relative to the spec file's folder.
  document["radiomics"] = {{"params", "rad.json"}};
  const std::string path = dir.WriteText("study.json", document.dump());
  auto loaded = LoadStudySpec(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->radiomics_params_path, dir.File("rad.json"));
}

TEST(StudySpecDictionary, RadiomicsErrorsNameTheFileAndPointer) {
  testing::TempDir dir("fedrad_spec_dict");
  dir.WriteText("list.json", "[1, 2]");
  json document = WithDictionary();
  document["radiomics"] = {{"params", "missing.json"}, {"extra", 1}};
  std::string message = ErrorOf(document, dir.path());
  EXPECT_NE(message.find("spec.json: /radiomics/params: cannot read the radiomics parameter file"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find(dir.File("missing.json")), std::string::npos) << message;
  EXPECT_NE(message.find("spec.json: /radiomics/extra: unknown key"), std::string::npos) << message;

  document["radiomics"] = {{"params", "list.json"}};
  message = ErrorOf(document, dir.path());
  EXPECT_NE(
      message.find("/radiomics/params: " + dir.File("list.json") + ": expected a JSON object"),
      std::string::npos)
      << message;

  document["radiomics"] = {{"params", 7}};
  EXPECT_NE(ErrorOf(document).find("/radiomics/params: expected a parameter file path"),
            std::string::npos);
  document["radiomics"] = json::object();
  EXPECT_NE(ErrorOf(document).find("/radiomics/params: missing required key"), std::string::npos);

  json no_dictionary = WithDictionary();
  no_dictionary.erase("data_dictionary");
  no_dictionary["radiomics"] = {{"params", json::object()}};
  EXPECT_NE(ErrorOf(no_dictionary).find("/radiomics: needs a data_dictionary"), std::string::npos);
}

}  // namespace
}  // namespace fedrad::protocols

#include "fedrad/protocols/study_spec.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "fedrad/common/hash.hpp"
#include "fedrad/common/sodium_init.hpp"
#include "temp_dir.hpp"

namespace fedrad::protocols {
namespace {

using nlohmann::json;

json Minimal() {
  return json::parse(R"({"study_id": "s1", "models": [{"name": "m", "columns": ["a*"]}]})");
}

std::string ErrorOf(const json& document, const std::string& base_dir = "") {
  auto spec = ParseStudySpec(document, "spec.json", base_dir);
  EXPECT_FALSE(spec.ok());
  return spec.ok() ? std::string() : spec.status().ToString();
}

TEST(StudySpec, MinimalTakesTheDocumentedDefaults) {
  auto spec = ParseStudySpec(Minimal(), "spec.json", "");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->study_id, "s1");
  EXPECT_EQ(spec->id_column, "case_id");
  EXPECT_EQ(spec->label_column, "label");
  EXPECT_EQ(spec->fold_column, "");
  EXPECT_TRUE(spec->feature_dictionary.empty());
  ASSERT_EQ(spec->models.size(), 1u);
  EXPECT_EQ(spec->models[0].name, "m");
  EXPECT_EQ(spec->folds, 5);
  EXPECT_EQ(spec->seed, 20260101u);
  EXPECT_TRUE(spec->nested);
  EXPECT_EQ(spec->nlambda, 100);
  EXPECT_EQ(spec->lambda_min_ratio, 0.0);
  EXPECT_EQ(spec->kkt_tolerance, 1e-7);
  EXPECT_FALSE(spec->lambda_1se);
  EXPECT_TRUE(spec->fold_lambda_own);
  ASSERT_EQ(spec->c_grid.size(), 10u);
  for (int k = 0; k < 10; ++k) EXPECT_EQ(spec->c_grid[k], std::ldexp(1.0, k - 7)) << k;
  EXPECT_FALSE(spec->hinge);
  EXPECT_FALSE(spec->regularize_bias);
  EXPECT_EQ(spec->bias_value, 1.0);
  EXPECT_EQ(spec->histogram_bins, 512);
  EXPECT_TRUE(spec->platt);
  EXPECT_TRUE(spec->sites.empty());
  EXPECT_TRUE(spec->privacy.secure_aggregation);
  EXPECT_EQ(spec->privacy.min_sites, 3);
  EXPECT_FALSE(spec->privacy.allow_fewer_sites);
  EXPECT_EQ(spec->privacy.threshold, 0);
  EXPECT_FALSE(spec->privacy.continue_on_refusal);
  EXPECT_FALSE(spec->privacy.wait_on_dropout);
}

constexpr const char* kKeyA = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";
constexpr const char* kKeyB = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

TEST(StudySpec, SitesAndPrivacyAreRead) {
  json document = Minimal();
  document["sites"] = json::parse(std::string(R"([{"id": "hospital_a", "sign_public_key": ")") +
                                  kKeyA + R"("}, {"id": "hospital_b", "sign_public_key": ")" +
                                  kKeyB + R"(", "role": "external"}])");
  document["privacy"] = json::parse(R"({"secure_aggregation": false, "min_sites": 2,
      "allow_fewer_sites": true, "threshold": 2, "on_refusal": "continue", "on_dropout": "wait"})");
  auto spec = ParseStudySpec(document, "spec.json", "");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  ASSERT_EQ(spec->sites.size(), 2u);
  EXPECT_EQ(spec->sites[0].id, "hospital_a");
  EXPECT_EQ(spec->sites[0].sign_public_hex, kKeyA);
  EXPECT_FALSE(spec->sites[0].external);
  EXPECT_EQ(spec->sites[1].id, "hospital_b");
  EXPECT_TRUE(spec->sites[1].external);
  EXPECT_FALSE(spec->privacy.secure_aggregation);
  EXPECT_EQ(spec->privacy.min_sites, 2);
  EXPECT_TRUE(spec->privacy.allow_fewer_sites);
  EXPECT_EQ(spec->privacy.threshold, 2);
  EXPECT_TRUE(spec->privacy.continue_on_refusal);
  EXPECT_TRUE(spec->privacy.wait_on_dropout);
}

TEST(StudySpec, SiteAndPrivacyErrorsNameTheirPointers) {
  json document = Minimal();
  document["sites"] = json::parse(std::string(R"([{"id": "a", "sign_public_key": ")") + kKeyA +
                                  R"("}, {"id": "a", "sign_public_key": "zz", "role": "test"},
                                     {"sign_public_key": ")" +
                                  kKeyB + R"(", "extra": 1}])");
  document["privacy"] = json::parse(
      R"({"min_sites": 1, "threshold": 1, "on_refusal": "skip", "secure_aggregation": "yes",
          "on_dropout": "retry"})");
  const std::string message = ErrorOf(document);
  for (const char* pointer :
       {"/sites/1/id", "/sites/1/sign_public_key", "/sites/1/role", "/sites/2/id", "/sites/2/extra",
        "/privacy/min_sites", "/privacy/threshold", "/privacy/on_refusal", "/privacy/on_dropout",
        "/privacy/secure_aggregation"}) {
    EXPECT_NE(message.find(std::string("spec.json: ") + pointer + ":"), std::string::npos)
        << pointer << "\n"
        << message;
  }
  EXPECT_NE(message.find("listed twice"), std::string::npos) << message;
}

TEST(StudySpec, EveryKeyIsRead) {
  const json document = json::parse(R"({
    "study_id": "s1",
    "table": {"id_column": "id", "label_column": "y", "fold_column": "f"},
    "models": [{"name": "a", "columns": ["x1"]}, {"name": "b", "columns": ["x*", "z"]}],
    "cv": {"folds": 3, "seed": 7, "selection": "outside_cv"},
    "lasso": {"nlambda": 20, "lambda_min_ratio": 0.01, "kkt_tolerance": 1e-8,
              "lambda_choice": "lambda.1se", "fold_lambda_path": "master"},
    "svm": {"c_grid": [0.5, 2], "loss": "hinge", "regularize_bias": true, "bias_value": 3,
            "histogram_bins": 64},
    "platt": false})");
  auto spec = ParseStudySpec(document, "spec.json", "");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->id_column, "id");
  EXPECT_EQ(spec->label_column, "y");
  EXPECT_EQ(spec->fold_column, "f");
  ASSERT_EQ(spec->models.size(), 2u);
  EXPECT_EQ(spec->models[1].columns, (std::vector<std::string>{"x*", "z"}));
  EXPECT_EQ(spec->folds, 3);
  EXPECT_EQ(spec->seed, 7u);
  EXPECT_FALSE(spec->nested);
  EXPECT_EQ(spec->nlambda, 20);
  EXPECT_EQ(spec->lambda_min_ratio, 0.01);
  EXPECT_EQ(spec->kkt_tolerance, 1e-8);
  EXPECT_TRUE(spec->lambda_1se);
  EXPECT_FALSE(spec->fold_lambda_own);
  EXPECT_EQ(spec->c_grid, (std::vector<double>{0.5, 2}));
  EXPECT_TRUE(spec->hinge);
  EXPECT_TRUE(spec->regularize_bias);
  EXPECT_EQ(spec->bias_value, 3.0);
  EXPECT_EQ(spec->histogram_bins, 64);
  EXPECT_FALSE(spec->platt);
}

TEST(StudySpec, AllErrorsInOnePassEachWithItsPointer) {
  const json document = json::parse(R"({
    "study_id": "bad id!",
    "tabel": {},
    "models": [{"name": "m", "columns": ["a"]}, {"name": "m", "columns": [""]},
               {"name": "n/x", "columns": []}, {"name": "ok", "columns": ["a"], "extra": 1}],
    "cv": {"folds": 1, "selection": "inside"},
    "lasso": {"nlambda": 0, "lambda_min_ratio": 1, "kkt_tolerance": 0,
              "lambda_choice": "min"},
    "svm": {"c_grid": [1, -2, 1], "histogram_bins": 1, "bias_value": 0, "loss": "l1"},
    "platt": "yes"})");
  const std::string message = ErrorOf(document);
  for (const char* pointer :
       {"/study_id", "/tabel", "/models/1/name", "/models/1/columns/0", "/models/2/name",
        "/models/2/columns", "/models/3/extra", "/cv/folds", "/cv/selection", "/lasso/nlambda",
        "/lasso/lambda_min_ratio", "/lasso/kkt_tolerance", "/lasso/lambda_choice", "/svm/c_grid/1",
        "/svm/c_grid/2", "/svm/histogram_bins", "/svm/bias_value", "/svm/loss", "/platt"}) {
    EXPECT_NE(message.find(std::string("spec.json: ") + pointer + ":"), std::string::npos)
        << pointer << "\n"
        << message;
  }
  EXPECT_NE(message.find("used twice"), std::string::npos) << message;
  EXPECT_NE(message.find("listed twice"), std::string::npos) << message;
}

TEST(StudySpec, MissingAndEmptyModelsAreErrors) {
  EXPECT_NE(ErrorOf(json::parse(R"({"study_id": "s"})")).find("/models: missing required key"),
            std::string::npos);
  EXPECT_NE(ErrorOf(json::parse(R"({"study_id": "s", "models": []})"))
                .find("/models: expected at least one model"),
            std::string::npos);
  EXPECT_NE(ErrorOf(json::parse(R"({"models": [{"name": "m", "columns": ["a"]}]})"))
                .find("/study_id: missing required key"),
            std::string::npos);
  EXPECT_NE(ErrorOf(json::parse(R"({"study_id": "s", "models": [{"name": "m", "columns": ["a"]}],
                                    "svm": {"c_grid": []}})"))
                .find("/svm/c_grid: expected a non-empty array"),
            std::string::npos);
}

TEST(StudySpec, TableColumnsMustDiffer) {
  json document = Minimal();
  document["table"] = {{"id_column", "x"}, {"label_column", "x"}, {"fold_column", "x"}};
  const std::string message = ErrorOf(document);
  EXPECT_NE(message.find("/table/label_column:"), std::string::npos) << message;
  EXPECT_NE(message.find("/table/fold_column:"), std::string::npos) << message;
}

TEST(StudySpec, ResolveKeepsDictionaryOrderEachColumnOnce) {
  const std::vector<std::string> dictionary = {"clin_age", "lesion_a", "clin_sex", "ring5mm_a",
                                               "lesion_b"};
  StudyModelSpec model{"combined", {"lesion_*", "clin_*", "lesion_a", "ring5mm_a"}};
  auto columns = ResolveModelColumns(model, dictionary);
  ASSERT_TRUE(columns.ok()) << columns.status().ToString();
  EXPECT_EQ(*columns, dictionary);  // every name, dictionary order, lesion_a once

  StudyModelSpec clinical{"clinical", {"clin_sex", "clin_age"}};
  EXPECT_EQ(*ResolveModelColumns(clinical, dictionary),
            (std::vector<std::string>{"clin_age", "clin_sex"}));
  StudyModelSpec middle{"m", {"*_a"}};
  EXPECT_EQ(*ResolveModelColumns(middle, dictionary),
            (std::vector<std::string>{"lesion_a", "ring5mm_a"}));
  StudyModelSpec inner{"m", {"l*n*b"}};
  EXPECT_EQ(*ResolveModelColumns(inner, dictionary), (std::vector<std::string>{"lesion_b"}));
  StudyModelSpec exact_only{"m", {"lesion"}};  // no implicit prefix match
  EXPECT_FALSE(ResolveModelColumns(exact_only, dictionary).ok());
}

TEST(StudySpec, ResolveNamesTheModelAndThePatternThatMatchesNothing) {
  StudyModelSpec model{"radiomics", {"lesion_*", "parenchyma_*"}};
  auto columns = ResolveModelColumns(model, {"lesion_a", "clin_x"});
  ASSERT_FALSE(columns.ok());
  const std::string message = columns.status().ToString();
  EXPECT_NE(message.find("\"radiomics\""), std::string::npos) << message;
  EXPECT_NE(message.find("\"parenchyma_*\""), std::string::npos) << message;
  EXPECT_EQ(message.find("\"lesion_*\""), std::string::npos) << message;
}

TEST(StudySpec, LoadReadsTheDictionaryRelativeToTheSpecAndHashesTheBytes) {
  testing::TempDir dir("fedrad_study_spec");
  std::filesystem::create_directories(dir.File("dict"));
  dir.WriteText("dict/features.txt",
                "# feature dictionary\n\nclin_age\n  lesion_a  \nlesion_b # a comment\r\n");
  const std::string text =
      R"({"study_id": "s", "feature_dictionary": "dict/features.txt",
          "models": [{"name": "m", "columns": ["lesion_*"]}]})";
  const std::string path = dir.WriteText("study.json", text);
  auto spec = LoadStudySpec(path);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->feature_dictionary,
            (std::vector<std::string>{"clin_age", "lesion_a", "lesion_b"}));
  EXPECT_EQ(spec->feature_dictionary_path, "dict/features.txt");
  ASSERT_TRUE(common::InitSodium().ok());
  EXPECT_EQ(spec->sha256, common::Sha256Hex(text));
  EXPECT_EQ(spec->sha256.size(), 64u);
}

TEST(StudySpec, DictionaryErrorsNameTheFileAndLineAndPatternsAreChecked) {
  testing::TempDir dir("fedrad_study_spec");
  dir.WriteText("features.txt", "a\nb\na\ncase_id\n");
  const std::string path = dir.WriteText("study.json",
                                         R"({"study_id": "s", "feature_dictionary": "features.txt",
          "models": [{"name": "m", "columns": ["a", "zz*"]}]})");
  auto spec = LoadStudySpec(path);
  ASSERT_FALSE(spec.ok());
  const std::string message = spec.status().ToString();
  EXPECT_NE(message.find("/feature_dictionary: " + dir.File("features.txt") +
                         ":3: column \"a\" is listed twice (first on line 1)"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("\"case_id\", which is the id, label or fold column"), std::string::npos)
      << message;
  EXPECT_NE(message.find("/models/0/columns/1: \"zz*\" matches no column"), std::string::npos)
      << message;

  const std::string missing =
      dir.WriteText("missing.json", R"({"study_id": "s", "feature_dictionary": "nope.txt",
                          "models": [{"name": "m", "columns": ["a"]}]})");
  auto no_file = LoadStudySpec(missing);
  ASSERT_FALSE(no_file.ok());
  EXPECT_NE(no_file.status().ToString().find("/feature_dictionary: cannot read"), std::string::npos)
      << no_file.status().ToString();
}

TEST(StudySpec, MalformedJsonNamesTheFile) {
  testing::TempDir dir("fedrad_study_spec");
  const std::string path = dir.WriteText("study.json", "{\"study_id\": \"s\",,}");
  auto spec = LoadStudySpec(path);
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().ToString().find(path), std::string::npos) << spec.status().ToString();
}

TEST(StudySpec, ShippedExampleLoads) {
  const std::string path = std::string(FEDRAD_TEST_DATA_DIR) + "/../../configs/study.example.json";
  auto spec = LoadStudySpec(path);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  ASSERT_EQ(spec->models.size(), 3u);
  EXPECT_EQ(spec->models[0].name, "clinical");
  EXPECT_EQ(spec->models[1].name, "radiomics");
  EXPECT_EQ(spec->models[2].name, "combined");
  EXPECT_TRUE(spec->nested);
  EXPECT_EQ(spec->c_grid.size(), 10u);
}

}  // namespace
}  // namespace fedrad::protocols

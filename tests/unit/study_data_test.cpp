// A site's study table from its clinical CSV and radiomics
// (site_agent/study_data.hpp, contracts C1/C2).
#include "fedrad/site_agent/study_data.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>

#include "fedrad/common/csv.hpp"
#include "fedrad/common/files.hpp"
#include "fedrad/common/version.hpp"
#include "fedrad/site_agent/extract_command.hpp"
#include "fedrad/site_agent/radiomics/extraction.hpp"
#include "fedrad/site_agent/synth.hpp"
#include "temp_dir.hpp"

namespace fedrad::site_agent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json SpecDocument(const std::string& missing = "refuse") {
  json document = json::parse(R"({
    "study_id": "s1",
    "models": [{"name": "clinical", "columns": ["clin_*"]}],
    "data_dictionary": {
      "label_column": "recurrence_2y",
      "variables": [
        {"name": "nodal_positive", "type": "binary"},
        {"name": "age_years", "type": "integer", "unit": "years", "range": [18, 100]},
        {"name": "ca19_9_u_ml", "type": "number", "unit": "U/mL", "range": [0, 100000]},
        {"name": "sex", "type": "categorical", "levels": ["F", "M"]}
      ],
      "derived": [{"name": "ca19_9_gt_200", "variable": "ca19_9_u_ml", "op": ">", "threshold": 200}],
      "features": ["nodal_positive", "age_years", "sex", "ca19_9_gt_200"]
    }
  })");
  document["data_dictionary"]["missing"] = missing;
  return document;
}

// Two features of the lesion only: quick to extract.
json LightParams() {
  return json::parse(R"({"imageType": {"Original": {}},
    "featureClass": {"firstorder": ["Mean", "Variance"], "shape2D": ["PixelSurface"]},
    "regions": {"ringWidthsMm": [], "parenchyma": false}})");
}

protocols::StudySpec Spec(const json& document) {
  auto spec = protocols::ParseStudySpec(document, "spec.json", "");
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  return spec.ok() ? *spec : protocols::StudySpec{};
}

common::Result<stats::FeatureTable> Build(const StudyDataSources& sources,
                                          const protocols::StudySpec& spec,
                                          StudyDataProvenance* provenance = nullptr) {
  return BuildStudyTableFrom(sources, spec, provenance, nullptr);
}

std::string Message(const common::Result<stats::FeatureTable>& table) {
  EXPECT_FALSE(table.ok());
  return table.ok() ? std::string() : table.status().message();
}

TEST(StudyData, ClinicalTableFollowsTheDictionary) {
  testing::TempDir dir("fedrad_study_data");
  StudyDataSources sources;
  sources.clinical = dir.WriteText("clinical.csv",
                                   "case_id,recurrence_2y,nodal_positive,age_years,ca19_9_u_ml,"
                                   "sex,ignored\n"
                                   "c1,1,1,61,250.5,M,foo\n"
                                   "c2,0,0,45,12,F,\n"
                                   "c3,0,1,100,200,F,x\n");
  protocols::StudySpec spec = Spec(SpecDocument());
  StudyDataProvenance provenance;
  auto table = Build(sources, spec, &provenance);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  const std::vector<std::string> expected_columns = {"clin_nodal_positive", "clin_age_years",
                                                     "clin_sex_M", "clin_ca19_9_gt_200"};
  EXPECT_EQ(table->columns, expected_columns);
  auto columns = StudyFeatureColumns(spec);
  ASSERT_TRUE(columns.ok()) << columns.status().ToString();
  EXPECT_EQ(*columns, expected_columns);
  EXPECT_EQ(table->ids, (std::vector<std::string>{"c1", "c2", "c3"}));
  ASSERT_EQ(table->x.rows(), 3);
  const double expected[3][4] = {{1, 61, 1, 1}, {0, 45, 0, 0}, {1, 100, 0, 0}};  // 200 > 200: 0
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) EXPECT_EQ(table->x(i, j), expected[i][j]) << i << "," << j;
  }
  EXPECT_EQ(table->y[0], 1.0);
  EXPECT_EQ(table->y[1], 0.0);
  EXPECT_EQ(table->sha256.size(), 64u);
  EXPECT_EQ(provenance.fedrad_version, std::string(common::Version()));
  EXPECT_EQ(provenance.radiomics_params_sha256, "");
  EXPECT_EQ(provenance.data_dictionary_sha256, spec.data_dictionary.sha256);
  EXPECT_EQ(provenance.cases, 3u);

  // The datasets of stats::BuildDatasets, unchanged, once the dictionary is resolved.
  ASSERT_TRUE(ResolveStudyFeatureDictionary(&spec).ok());
  EXPECT_EQ(spec.feature_dictionary, expected_columns);
  spec.folds = 3;
  // Too few cases for 3 folds per class is the datasets' business; the
  // columns resolve.
  auto resolved = protocols::ResolveModelColumns(spec.models[0], spec.feature_dictionary);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(*resolved, expected_columns);
}

TEST(StudyData, EveryClinicalProblemIsReportedInOnePassWithLineAndColumn) {
  testing::TempDir dir("fedrad_study_data");
  StudyDataSources sources;
  sources.clinical =
      dir.WriteText("clinical.csv",
                    "case_id,recurrence_2y,nodal_positive,age_years,ca19_9_u_ml,sex\n"
                    "c1,1,2,61,250,M\n"
                    "c2,0,0,17.5,12,F\n"
                    "c3,0,0,45,-3,F\n"
                    "c4,0,0,45,12,X\n"
                    "c1,0,0,45,12,F\n"
                    ",1,0,45,12,F\n"
                    "c7,2,0,45,12,F\n"
                    "c8,1,0,,12,F\n"
                    "c9,NA,0,45,12,F\n"
                    "c10,1,0,17,12,F\n");
  const std::string p = sources.clinical;
  const std::string refuse = " (data_dictionary \"missing\": \"refuse\")";
  EXPECT_EQ(Message(Build(sources, Spec(SpecDocument()))),
            "10 problems in this site's study data:\n"
            "  " +
                p +
                ":2: column 'nodal_positive': expected 0 or 1, got '2'\n"
                "  " +
                p +
                ":3: column 'age_years': expected an integer in [18, 100] years, got '17.5'\n"
                "  " +
                p +
                ":4: column 'ca19_9_u_ml': expected a number in [0, 100000] U/mL, got '-3'\n"
                "  " +
                p +
                ":5: column 'sex': expected one of 'F', 'M', got 'X'\n"
                "  " +
                p +
                ":6: column 'case_id': duplicate case id 'c1' (first on line 2)\n"
                "  " +
                p +
                ":7: column 'case_id': expected a case id, got an empty cell\n"
                "  " +
                p +
                ":8: column 'recurrence_2y': expected 0 or 1, got '2'\n"
                "  " +
                p + ":9: column 'age_years': missing value" + refuse +
                "\n"
                "  " +
                p + ":10: column 'recurrence_2y': missing label" + refuse +
                "\n"
                "  " +
                p + ":11: column 'age_years': expected an integer in [18, 100] years, got '17'");
}

TEST(StudyData, MissingColumnsAreNamedFromTheHeaderLine) {
  testing::TempDir dir("fedrad_study_data");
  StudyDataSources sources;
  sources.clinical =
      dir.WriteText("clinical.csv", "case_id,nodal_positive,age_years,ca19_9_u_ml\nc1,1,61,250\n");
  const std::string p = sources.clinical;
  EXPECT_EQ(Message(Build(sources, Spec(SpecDocument()))),
            "2 problems in this site's study data:\n"
            "  " +
                p +
                ":1: no label column 'recurrence_2y' (data_dictionary.label_column)\n"
                "  " +
                p + ":1: no column 'sex' (data_dictionary categorical variable)");
}

TEST(StudyData, ManyProblemsListTheFirstTwentyAndCountTheRest) {
  testing::TempDir dir("fedrad_study_data");
  std::string text = "case_id,recurrence_2y,nodal_positive,age_years,ca19_9_u_ml,sex\n";
  for (int i = 0; i < 25; ++i) text += "c" + std::to_string(i) + ",1,1,61,250,female\n";
  StudyDataSources sources;
  sources.clinical = dir.WriteText("clinical.csv", text);
  const std::string message = Message(Build(sources, Spec(SpecDocument())));
  EXPECT_EQ(message.rfind("25 problems in this site's study data (the first 20):\n", 0), 0u)
      << message;
  EXPECT_NE(message.find(":21: column 'sex'"), std::string::npos) << message;
  EXPECT_EQ(message.find(":22: column 'sex'"), std::string::npos) << message;
  EXPECT_NE(message.find("\n  ... and 5 more"), std::string::npos) << message;
  EXPECT_LT(message.size(), 4000u);
}

TEST(StudyData, CompleteCaseLeavesOutRowsWithMissingValuesButNotBadOnes) {
  testing::TempDir dir("fedrad_study_data");
  StudyDataSources sources;
  sources.clinical =
      dir.WriteText("clinical.csv",
                    "case_id,recurrence_2y,nodal_positive,age_years,ca19_9_u_ml,sex\n"
                    "c1,1,1,61,250,M\n"
                    "c2,0,0,NA,12,F\n"
                    "c3,,0,45,12,F\n"
                    "c4,0,1,50,1,\n"
                    "c5,0,0,47,3,F\n");
  auto table = Build(sources, Spec(SpecDocument("complete_case")));
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_EQ(table->ids, (std::vector<std::string>{"c1", "c5"}));
  EXPECT_EQ(table->x(1, 1), 47.0);

  sources.clinical =
      dir.WriteText("bad.csv",
                    "case_id,recurrence_2y,nodal_positive,age_years,ca19_9_u_ml,sex\n"
                    "c1,1,1,61,250,M\n"
                    "c2,0,0,NA,-12,F\n");
  EXPECT_EQ(Message(Build(sources, Spec(SpecDocument("complete_case")))),
            "1 problem in this site's study data:\n  " + sources.clinical +
                ":3: column 'ca19_9_u_ml': expected a number in [0, 100000] U/mL, got '-12'");

  sources.clinical =
      dir.WriteText("none.csv",
                    "case_id,recurrence_2y,nodal_positive,age_years,ca19_9_u_ml,sex\n"
                    "c1,1,1,,250,M\n");
  EXPECT_NE(Message(Build(sources, Spec(SpecDocument("complete_case"))))
                .find(": every row has a missing value"),
            std::string::npos);
}

// A precomputed radiomics table with its provenance sidecar.
struct Precomputed {
  std::vector<std::string> columns;
  std::string hash;
};

Precomputed WriteRadiomics(const testing::TempDir& dir, const std::string& name,
                           const std::vector<std::pair<std::string, std::string>>& rows,
                           const json& sidecar_extra = json::object()) {
  auto params = radiomics::ParseExtractionParams(LightParams(), "params");
  EXPECT_TRUE(params.ok()) << params.status().ToString();
  Precomputed out{radiomics::FeatureColumns(*params), params->hash};
  std::string text = "case_id";
  for (const auto& c : out.columns) text += "," + c;
  text += "\n";
  for (const auto& [id, values] : rows) text += id + "," + values + "\n";
  const std::string path = dir.WriteText(name, text);
  json sidecar = {
      {"fedrad_version", "0.9.1"}, {"params_sha256", params->hash}, {"failures", json::array()}};
  sidecar.update(sidecar_extra);
  dir.WriteText(ProvenancePath(name), sidecar.dump());
  return out;
}

TEST(StudyData, PrecomputedRadiomicsAreJoinedByCaseId) {
  testing::TempDir dir("fedrad_study_data");
  json document = SpecDocument();
  document["radiomics"] = {{"params", LightParams()}};
  const protocols::StudySpec spec = Spec(document);
  StudyDataSources sources;
  sources.clinical =
      dir.WriteText("clinical.csv",
                    "case_id,recurrence_2y,nodal_positive,age_years,ca19_9_u_ml,sex\n"
                    "c1,1,1,61,250,M\n"
                    "c2,0,0,45,12,F\n");
  // Radiomics rows in another order than the clinical ones.
  const Precomputed rad =
      WriteRadiomics(dir, "radiomics.csv", {{"c2", "1.5,2.5,3.5"}, {"c1", "10,20,30"}});
  sources.features = dir.File("radiomics.csv");
  StudyDataProvenance provenance;
  auto table = Build(sources, spec, &provenance);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  auto columns = StudyFeatureColumns(spec);
  ASSERT_TRUE(columns.ok()) << columns.status().ToString();
  EXPECT_EQ(table->columns, *columns);
  ASSERT_EQ(table->columns.size(), 4u + rad.columns.size());
  EXPECT_EQ(table->columns[4], rad.columns[0]);
  EXPECT_EQ(table->ids, (std::vector<std::string>{"c1", "c2"}));
  EXPECT_EQ(table->x(0, 4), 10.0);
  EXPECT_EQ(table->x(0, 6), 30.0);
  EXPECT_EQ(table->x(1, 5), 2.5);
  // The version that made the table, not the running one.
  EXPECT_EQ(provenance.fedrad_version, "0.9.1");
  EXPECT_EQ(provenance.radiomics_params_sha256, rad.hash);
}

TEST(StudyData, JoinProblemsNameTheCaseAndTheFile) {
  testing::TempDir dir("fedrad_study_data");
  json document = SpecDocument();
  document["radiomics"] = {{"params", LightParams()}};
  const protocols::StudySpec spec = Spec(document);
  StudyDataSources sources;
  sources.clinical =
      dir.WriteText("clinical.csv",
                    "case_id,recurrence_2y,nodal_positive,age_years,ca19_9_u_ml,sex\n"
                    "c1,1,1,61,250,M\n"
                    "c2,0,0,45,12,F\n"
                    "c3,0,0,45,12,F\n"
                    "c5,0,0,45,12,F\n");
  const Precomputed rad = WriteRadiomics(
      dir, "radiomics.csv", {{"c1", "1,2,3"}, {"c2", "1,,3"}, {"c4", "1,2,3"}},
      {{"failures", {{{"case_id", "c5"}, {"error", "images/c5.png: cannot read the image"}}}}});
  sources.features = dir.File("radiomics.csv");
  const std::string c = sources.clinical;
  const std::string r = sources.features;
  EXPECT_EQ(Message(Build(sources, spec)),
            "4 problems in this site's study data:\n"
            "  " +
                r +
                ": case 'c5': radiomics extraction failed: images/c5.png: cannot read the "
                "image\n"
                "  " +
                r + ":3: case 'c2': 1 radiomics feature is missing (e.g. '" + rad.columns[1] +
                "') (data_dictionary \"missing\": \"refuse\")\n"
                "  " +
                c + ":4: case 'c3' has no radiomics (not in " + r +
                ")\n"
                "  " +
                r + ":4: case 'c4' has radiomics but no row in " + c);

  // complete_case: c2 (missing radiomics) is left out, the rest still fail.
  json complete = document;
  complete["data_dictionary"]["missing"] = "complete_case";
  const std::string message = Message(Build(sources, Spec(complete)));
  EXPECT_EQ(message.rfind("3 problems", 0), 0u) << message;
  EXPECT_EQ(message.find("'c2'"), std::string::npos) << message;
}

TEST(StudyData, APrecomputedTableOfOtherParamsIsRefusedNamingBothHashes) {
  testing::TempDir dir("fedrad_study_data");
  json document = SpecDocument();
  json other = LightParams();
  other["setting"] = {{"binCount", 16}};
  document["radiomics"] = {{"params", other}};
  const protocols::StudySpec spec = Spec(document);
  auto spec_params = radiomics::ParseExtractionParams(other, "other");
  ASSERT_TRUE(spec_params.ok()) << spec_params.status().ToString();
  StudyDataSources sources;
  sources.clinical =
      dir.WriteText("clinical.csv",
                    "case_id,recurrence_2y,nodal_positive,age_years,ca19_9_u_ml,sex\n"
                    "c1,1,1,61,250,M\n");
  const Precomputed rad = WriteRadiomics(dir, "radiomics.csv", {{"c1", "1,2,3"}});
  ASSERT_NE(rad.hash, spec_params->hash);
  sources.features = dir.File("radiomics.csv");
  auto table = Build(sources, spec);
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), common::StatusCode::kFailedPrecondition);
  EXPECT_EQ(table.status().message(),
            "the radiomics table " + sources.features + " was extracted with params SHA-256 " +
                rad.hash + " but the study's radiomics params have SHA-256 " + spec_params->hash +
                " (extract again with the study's params)");

  // No sidecar: refused as well.
  fs::remove(dir.File("radiomics.provenance.json"));
  table = Build(sources, spec);
  ASSERT_FALSE(table.ok());
  EXPECT_NE(table.status().message().find("needs its fedrad extract provenance file (" +
                                          dir.File("radiomics.provenance.json") + ")"),
            std::string::npos)
      << table.status().message();
}

TEST(StudyData, ARadiomicsTableWithOtherColumnsIsAProblem) {
  testing::TempDir dir("fedrad_study_data");
  json document = SpecDocument();
  document["radiomics"] = {{"params", LightParams()}};
  StudyDataSources sources;
  sources.clinical =
      dir.WriteText("clinical.csv",
                    "case_id,recurrence_2y,nodal_positive,age_years,ca19_9_u_ml,sex\n"
                    "c1,1,1,61,250,M\n");
  const Precomputed rad = WriteRadiomics(dir, "radiomics.csv", {{"c1", "1,2,3"}});
  // Drop the last column.
  std::string text = "case_id," + rad.columns[0] + "," + rad.columns[1] + "\nc1,1,2\n";
  dir.WriteText("radiomics.csv", text);
  sources.features = dir.File("radiomics.csv");
  EXPECT_EQ(Message(Build(sources, Spec(document))),
            "1 problem in this site's study data:\n  " + sources.features +
                ":1: the header is not that of the study's radiomics params (2 feature columns, "
                "expected 3; column 4 is '(none)', expected '" +
                rad.columns[2] + "')");
}

// A synthetic site: extraction from its manifest, joined to its clinical CSV,
// equals `fedrad extract` on the same manifest plus the clinical values.
TEST(StudyData, SyntheticSiteTableEqualsExtractPlusClinical) {
  testing::TempDir dir("fedrad_study_data");
  SynthOptions synth;
  synth.out_dir = dir.File("consortium");
  synth.sites = {{"site_a", false, 6}};
  synth.seed = 5;
  synth.image_size = 128;
  synth.spacing_mm = 0.4;  // 51 mm: the smallest field of view synth accepts
  auto generated = GenerateConsortium(synth, nullptr);
  ASSERT_TRUE(generated.ok()) << generated.status().ToString();
  const std::string site_dir = dir.File("consortium/site_a");

  json document = SpecDocument();
  document["data_dictionary"]["variables"][2]["range"] = json::array({0, 1e9});
  document["data_dictionary"]["features"].push_back("age_years_gt_60");
  document["data_dictionary"]["derived"].push_back(
      {{"name", "age_years_gt_60"}, {"variable", "age_years"}, {"op", ">="}, {"threshold", 60}});
  document["data_dictionary"]["variables"][1]["range"] = json::array({18, 100});
  document["radiomics"] = {{"params", LightParams()}};
  const protocols::StudySpec spec = Spec(document);

  StudyDataSources sources;
  sources.clinical = site_dir + "/clinical.csv";
  sources.manifest = site_dir + "/manifest.csv";
  sources.work_dir = dir.File("work");
  std::ostringstream progress;
  StudyDataProvenance provenance;
  auto table = BuildStudyTableFrom(sources, spec, &provenance, &progress);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  auto columns = StudyFeatureColumns(spec);
  ASSERT_TRUE(columns.ok());
  EXPECT_EQ(table->columns, *columns);
  EXPECT_EQ(table->ids.size(), 6u);
  EXPECT_EQ(provenance.fedrad_version, std::string(common::Version()));
  EXPECT_EQ(
      provenance.radiomics_params_sha256, spec.radiomics_params.is_null() ? "" : [&] {
        return radiomics::ParseExtractionParams(LightParams(), "p")->hash;
      }());

  // Reference: `fedrad extract` with the same params, and the clinical CSV.
  const std::string params_path = dir.WriteText("params.json", LightParams().dump());
  ExtractOptions options;
  options.manifest = sources.manifest;
  options.params = params_path;
  options.out = dir.File("reference.csv");
  options.progress = false;
  std::ostringstream sink;
  auto summary = RunExtract(options, sink, false);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  ASSERT_TRUE(summary->failures.empty());
  auto reference = common::ReadCsvFile(options.out);
  ASSERT_TRUE(reference.ok());
  auto clinical = common::ReadCsvFile(sources.clinical);
  ASSERT_TRUE(clinical.ok());
  const std::size_t clinical_columns = 5;  // nodal, age, sex_M, ca19_9 > 200, age >= 60
  ASSERT_EQ(table->columns.size(), clinical_columns + reference->header.size() - 1);
  for (std::size_t i = 0; i < table->ids.size(); ++i) {
    const auto row = static_cast<Eigen::Index>(i);
    // Clinical rows in the clinical CSV's order.
    const auto& cells = clinical->rows[i];
    ASSERT_EQ(cells[*clinical->Column("case_id")], table->ids[i]);
    EXPECT_EQ(table->y[row], std::stod(cells[*clinical->Column("recurrence_2y")]));
    const double age = std::stod(cells[*clinical->Column("age_years")]);
    const double ca19_9 = std::stod(cells[*clinical->Column("ca19_9_u_ml")]);
    EXPECT_EQ(table->x(row, 0), std::stod(cells[*clinical->Column("nodal_positive")]));
    EXPECT_EQ(table->x(row, 1), age);
    EXPECT_EQ(table->x(row, 2), cells[*clinical->Column("sex")] == "M" ? 1.0 : 0.0);
    EXPECT_EQ(table->x(row, 3), ca19_9 > 200 ? 1.0 : 0.0);
    EXPECT_EQ(table->x(row, 4), age >= 60 ? 1.0 : 0.0);
    // Radiomics: the extract table's row of the same case, bit for bit.
    std::size_t r = 0;
    while (r < reference->rows.size() && reference->rows[r][0] != table->ids[i]) ++r;
    ASSERT_LT(r, reference->rows.size()) << table->ids[i];
    for (std::size_t c = 1; c < reference->header.size(); ++c) {
      EXPECT_EQ(table->columns[clinical_columns + c - 1], reference->header[c]);
      EXPECT_EQ(table->x(row, static_cast<Eigen::Index>(clinical_columns + c - 1)),
                std::stod(reference->rows[r][c]))
          << table->ids[i] << " " << reference->header[c];
    }
  }

  // The second build reuses the extraction; a changed image does not.
  std::ostringstream again;
  auto cached = BuildStudyTableFrom(sources, spec, nullptr, &again);
  ASSERT_TRUE(cached.ok()) << cached.status().ToString();
  EXPECT_NE(again.str().find("reusing"), std::string::npos) << again.str();
  EXPECT_EQ(cached->sha256, table->sha256);
  auto manifest = ReadManifest(sources.manifest);
  ASSERT_TRUE(manifest.ok());
  fs::copy_file((*manifest)[1].image_path, (*manifest)[0].image_path,
                fs::copy_options::overwrite_existing);
  std::ostringstream changed;
  auto redone = BuildStudyTableFrom(sources, spec, nullptr, &changed);
  ASSERT_TRUE(redone.ok()) << redone.status().ToString();
  EXPECT_EQ(changed.str().find("reusing"), std::string::npos) << changed.str();
  EXPECT_NE(redone->sha256, table->sha256);

  // A case whose image cannot be read is a problem naming the case; the
  // site declines.
  fs::remove((*manifest)[2].image_path);
  auto broken = BuildStudyTableFrom(sources, spec, nullptr, nullptr);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find(sources.manifest + ": case '" + (*manifest)[2].case_id +
                                           "': radiomics extraction failed: "),
            std::string::npos)
      << broken.status().message();
}

TEST(StudyData, SiteConfigDataSectionIsReadAndChecked) {
  testing::TempDir dir("fedrad_study_data");
  const std::string base = R"({"site": {"id": "a", "secret_key_file": "a.secret"},
    "coordinator": {"endpoint": "tcp://127.0.0.1:7700",
                    "public_key": "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"},
    "study": {"spec": "study.json"}, )";
  auto good = LoadSiteConfig(dir.WriteText(
      "good.json",
      base + R"("data": {"clinical": "c.csv", "manifest": "m.csv", "extract_jobs": 2}})"));
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->data_clinical, dir.File("c.csv"));
  EXPECT_EQ(good->data_manifest, dir.File("m.csv"));
  EXPECT_EQ(good->data_features, "");
  EXPECT_EQ(good->data_work_dir, dir.File("work/a"));
  EXPECT_EQ(good->data_extract_jobs, 2);
  EXPECT_EQ(good->study_features, "");

  auto both = LoadSiteConfig(
      dir.WriteText("both.json", base + R"("data": {"manifest": "m.csv", "features": "f.csv"}})"));
  ASSERT_FALSE(both.ok());
  const std::string message = both.status().ToString();
  EXPECT_NE(message.find("/data/features: give the radiomics either as a manifest"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("/data/clinical: missing"), std::string::npos) << message;

  // Without data.clinical, study.features stays required.
  auto neither = LoadSiteConfig(dir.WriteText("neither.json", base + R"("data": {}})"));
  ASSERT_FALSE(neither.ok());
  EXPECT_NE(neither.status().ToString().find("/study/features: missing required key"),
            std::string::npos)
      << neither.status().ToString();
}

TEST(StudyData, ShippedExampleSpecHasTheDictionaryAndRadiomics) {
  const std::string path = std::string(FEDRAD_TEST_DATA_DIR) + "/../../configs/study.example.json";
  auto spec = protocols::LoadStudySpec(path);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  ASSERT_TRUE(spec->has_data_dictionary);
  ASSERT_TRUE(spec->feature_dictionary.empty());
  ASSERT_TRUE(ResolveStudyFeatureDictionary(&*spec).ok());
  EXPECT_EQ(spec->feature_dictionary.front(), "clin_nodal_positive");
  for (const auto& model : spec->models) {
    EXPECT_TRUE(protocols::ResolveModelColumns(model, spec->feature_dictionary).ok()) << model.name;
  }
}

}  // namespace
}  // namespace fedrad::site_agent

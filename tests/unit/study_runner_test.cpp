#include "fedrad/coordinator/study_runner.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>

#include "fedrad/common/csv.hpp"
#include "temp_dir.hpp"

namespace fedrad::coordinator {
namespace {

using nlohmann::json;

json ReadJson(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

protocols::StudySpec SmallSpec() {
  protocols::StudySpec spec;
  spec.study_id = "s";
  spec.models = {{"clinical", {"clin_*"}}, {"combined", {"*"}}};
  spec.folds = 3;
  spec.nlambda = 20;
  spec.c_grid = {0.25, 1.0, 4.0};
  spec.histogram_bins = 64;
  spec.sha256 = std::string(64, 'a');
  return spec;
}

TEST(StudyRunner, MakeStudyPlanCarriesTheSpecOptions) {
  protocols::StudySpec spec = SmallSpec();
  spec.nested = false;
  spec.lambda_1se = true;
  spec.fold_lambda_own = false;
  spec.hinge = true;
  spec.regularize_bias = true;
  spec.bias_value = 2.5;
  spec.lambda_min_ratio = 0.05;
  spec.kkt_tolerance = 1e-9;
  spec.platt = false;
  const ModelColumns columns = {{"clinical", {"clin_a", "clin_b"}},
                                {"combined", {"clin_a", "clin_b", "lesion_x"}}};
  auto plan = MakeStudyPlan(spec, columns);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->models.size(), 2u);
  EXPECT_EQ(plan->models[0].name, "clinical");
  EXPECT_EQ(plan->models[0].dataset, "clinical");
  EXPECT_EQ(plan->models[0].num_features, 2);
  EXPECT_EQ(plan->models[1].num_features, 3);
  EXPECT_EQ(plan->outer_folds, 3);
  EXPECT_FALSE(plan->nested);
  const ModelOptions& o = plan->options;
  EXPECT_EQ(o.lasso_cv.lasso.nlambda, 20);
  EXPECT_EQ(o.lasso_cv.lasso.lambda_min_ratio, 0.05);
  EXPECT_EQ(o.lasso_cv.lasso.kkt_tolerance, 1e-9);
  EXPECT_EQ(o.lasso_cv.num_folds, 3);
  EXPECT_EQ(o.lasso_cv.choice, LambdaChoice::kOneSe);
  EXPECT_EQ(o.lasso_cv.fold_path, FoldLambdaPath::kMaster);
  EXPECT_EQ(o.svm_cv.svm.loss, SvmLossKind::kHinge);
  EXPECT_TRUE(o.svm_cv.svm.regularize_bias);
  EXPECT_EQ(o.svm_cv.svm.bias_value, 2.5);
  EXPECT_EQ(o.svm_cv.c_grid, spec.c_grid);
  EXPECT_EQ(o.svm_cv.num_folds, 3);
  EXPECT_EQ(o.svm_cv.histogram_bins, 64);
  EXPECT_FALSE(o.platt);

  auto missing = MakeStudyPlan(spec, {{"clinical", {"clin_a"}}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().ToString().find("\"combined\""), std::string::npos);
}

// A hand-made run with awkward numbers: they must come back bit for bit.
StudyRun HandMadeRun() {
  ModelRun m;
  m.name = "combined";
  FittedModel& fit = m.final_model;
  LassoCvResult& cv = fit.lasso;
  cv.path.standardization.n = 120;
  cv.path.standardization.sum_y = 47;
  cv.path.standardization.mean = Eigen::Vector3d(0.1, -1.0 / 3.0, 5e-300);
  cv.path.standardization.sd = Eigen::Vector3d(2.0 / 3.0, 0.0, 1e-7);
  cv.path.lambda_max = 0.3;
  for (int l = 0; l < 2; ++l) {
    LassoPathPoint point;
    point.lambda = l == 0 ? 0.3 : 0.3 * std::exp(-1.0);
    point.intercept = l == 0 ? -0.4 : -0.41234567890123456;
    point.beta = l == 0 ? Eigen::Vector3d(0, 0, 0) : Eigen::Vector3d(1.0 / 7.0, 0.0, -2.5e-3);
    point.kkt_residual = 1e-9;
    cv.path.points.push_back(point);
    cv.lambda.push_back(point.lambda);
    cv.cvm.push_back(1.3 - 0.1 * l);
    cv.cvsd.push_back(std::sqrt(2.0) / 100);
  }
  cv.index_chosen = 1;
  cv.index_min = 1;
  cv.index_1se = 0;
  cv.lambda_chosen = cv.lambda[1];
  cv.lambda_min = cv.lambda[1];
  cv.lambda_1se = cv.lambda[0];
  cv.selected = {0, 2};
  fit.selected = {0, 2};
  fit.svm_standardization.n = 120;
  fit.svm_standardization.mean = Eigen::Vector2d(0.1, 5e-300);
  fit.svm_standardization.sd = Eigen::Vector2d(2.0 / 3.0, 1e-7);
  fit.svm_cv.c_grid = {0.25, 1, 4};
  fit.svm_cv.cv_auc = {0.7, 0.71, std::numeric_limits<double>::quiet_NaN()};
  fit.svm_cv.c_chosen = 1;
  fit.svm_cv.index_chosen = 1;
  fit.svm.columns = {0, 2};
  fit.svm.w = Eigen::Vector2d(0.123456789012345678, -1e-17);
  fit.svm.intercept = 0.2;
  fit.has_platt = true;
  fit.platt.a = -1.2345678901234567;
  fit.platt.b = 0.01;
  fit.rounds = 42;
  m.cv.nested = true;
  m.cv.auc = 0.6789;
  m.cv.folds.push_back({0, {2}, 0.2, 4.0, 40, 0.5});
  StudyRun run;
  run.models.push_back(m);
  run.rounds = 99;
  return run;
}

TEST(StudyRunner, ModelJsonRoundTripsNumbersExactly) {
  testing::TempDir dir("fedrad_study_runner");
  const protocols::StudySpec spec = SmallSpec();
  const StudyRun run = HandMadeRun();
  const ModelColumns columns = {{"combined", {"clin_a", "clin_b", "lesion_x"}}};
  RunProvenance provenance;
  provenance.mode = "simulate";
  provenance.sites = {"a", "b"};
  provenance.data_sha256 = {{"a", "00"}, {"b", "11"}};
  provenance.bytes_to_each_site = 1234;
  provenance.bytes_from_each_site = 5678;
  const std::string out = dir.File("out");
  ASSERT_TRUE(WriteStudyOutputs(spec, columns, run, provenance, out).ok());

  const json model = ReadJson(out + "/combined/model.json");
  const FittedModel& fit = run.models[0].final_model;
  const LassoPathPoint& point = fit.lasso.path.points[1];
  EXPECT_EQ(model["model"], "combined");
  EXPECT_EQ(model["selected_features"], json({"clin_a", "lesion_x"}));
  const json& lasso = model["lasso"];
  EXPECT_EQ(lasso["lambda"].get<double>(), point.lambda);
  EXPECT_EQ(lasso["lambda_1se"].get<double>(), 0.3);
  EXPECT_EQ(lasso["intercept"].get<double>(), point.intercept);
  for (int j = 0; j < 3; ++j) {
    EXPECT_EQ(lasso["coefficients"][j].get<double>(), point.beta[j]) << j;
    EXPECT_EQ(lasso["standardization"]["mean"][j].get<double>(),
              fit.lasso.path.standardization.mean[j]);
  }
  // Original units: b_j = β_j / sd_j (0 for the constant column), b0 = β0 - Σ b_j mean_j.
  const double b0 = point.beta[0] / (2.0 / 3.0);
  const double b2 = point.beta[2] / 1e-7;
  EXPECT_EQ(lasso["coefficients_original"][0].get<double>(), b0);
  EXPECT_EQ(lasso["coefficients_original"][1].get<double>(), 0.0);
  EXPECT_EQ(lasso["coefficients_original"][2].get<double>(), b2);
  EXPECT_EQ(lasso["intercept_original"].get<double>(), point.intercept - b0 * 0.1 - b2 * 5e-300);
  EXPECT_EQ(lasso["path"]["cvsd"][1].get<double>(), std::sqrt(2.0) / 100);
  EXPECT_EQ(lasso["path"]["nonzero"], json({0, 2}));

  const json& svm = model["svm"];
  EXPECT_EQ(svm["c"].get<double>(), 1.0);
  EXPECT_TRUE(svm["cv_auc"][2].is_null());  // NaN is written as null
  EXPECT_EQ(svm["weights"][0].get<double>(), fit.svm.w[0]);
  EXPECT_EQ(svm["weights"][1].get<double>(), -1e-17);
  EXPECT_EQ(svm["columns"], json({"clin_a", "lesion_x"}));
  const double w0 = fit.svm.w[0] / (2.0 / 3.0);
  const double w1 = -1e-17 / 1e-7;
  EXPECT_EQ(svm["weights_original"][0].get<double>(), w0);
  EXPECT_EQ(svm["weights_original"][1].get<double>(), w1);
  EXPECT_EQ(svm["intercept_original"].get<double>(), 0.2 - w0 * 0.1 - w1 * 5e-300);
  EXPECT_EQ(model["platt"]["a"].get<double>(), -1.2345678901234567);
  EXPECT_EQ(model["cv_performance"]["selection"], "nested");
  EXPECT_EQ(model["cv_performance"]["auc"].get<double>(), 0.6789);
  EXPECT_EQ(model["cv_performance"]["folds"][0]["selected"], json({"lesion_x"}));
  EXPECT_EQ(model["rounds"], 42);
  EXPECT_EQ(model["study_rounds"], 99);
  EXPECT_EQ(model["bytes_to_each_site"], 1234);
  EXPECT_EQ(model["provenance"]["mode"], "simulate");
  EXPECT_EQ(model["provenance"]["data_sha256"]["b"], "11");
  EXPECT_EQ(model["provenance"]["spec_sha256"], spec.sha256);

  const json study = ReadJson(out + "/study.json");
  EXPECT_EQ(study["models"][0]["file"], "combined/model.json");
  EXPECT_EQ(study["models"][0]["selected"], 2);
  EXPECT_EQ(study["rounds"], 99);
}

// --- fit --pooled vs simulate on the same rows ---------------------------

struct Row {
  std::string id;
  int label;
  int fold;
  std::vector<double> x;
};

std::vector<Row> SyntheticRows() {
  std::mt19937_64 rng(20261127);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform;
  std::vector<Row> rows;
  for (int i = 0; i < 120; ++i) {
    Row row;
    row.id = "case" + std::to_string(i);
    double eta = -0.3;
    for (int j = 0; j < 12; ++j) {
      row.x.push_back(normal(rng) * (1.0 + j) + 0.5 * j);
      if (j == 0) eta += 1.2 * (row.x[j] - 0.0) / 1.0;
      if (j == 4) eta -= 0.8 * (row.x[j] - 2.0) / 5.0;
      if (j == 7) eta += 0.6 * (row.x[j] - 3.5) / 8.0;
    }
    row.label = uniform(rng) < 1.0 / (1.0 + std::exp(-eta)) ? 1 : 0;
    row.fold = i % 3;
    rows.push_back(row);
  }
  return rows;
}

std::string WriteRows(const testing::TempDir& dir, const std::string& name,
                      const std::vector<Row>& rows) {
  std::string text = "case_id,label,fold";
  for (int j = 0; j < 12; ++j)
    text += j < 3 ? ",clin_" + std::to_string(j) : ",lesion_" + std::to_string(j);
  text += "\n";
  for (const Row& row : rows) {
    text += row.id + "," + std::to_string(row.label) + "," + std::to_string(row.fold);
    for (double v : row.x) text += "," + common::FormatDouble(v);
    text += "\n";
  }
  return dir.WriteText(name, text);
}

void ExpectNear(const json& a, const json& b, double tolerance, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t k = 0; k < a.size(); ++k) {
    EXPECT_NEAR(a[k].get<double>(), b[k].get<double>(), tolerance) << what << "[" << k << "]";
  }
}

TEST(StudyRunner, FitPooledEqualsSimulateOverThreeSites) {
  testing::TempDir dir("fedrad_study_runner");
  const std::vector<Row> rows = SyntheticRows();
  std::vector<Row> parts[3];
  for (std::size_t i = 0; i < rows.size(); ++i) parts[(i * 7 / 3) % 3].push_back(rows[i]);
  const std::string pooled = WriteRows(dir, "pooled.csv", rows);
  std::vector<std::pair<std::string, std::string>> sites;
  for (int s = 0; s < 3; ++s) {
    const std::string name = "site_" + std::to_string(s);
    sites.emplace_back(name, WriteRows(dir, name + ".csv", parts[s]));
  }
  // Fold ids from the table, so that the pooled and the federated CV use the
  // same folds (nested CV would draw inner folds per site: outside_cv here).
  const std::string spec_path = dir.WriteText("study.json", R"({
    "study_id": "equivalence",
    "table": {"fold_column": "fold"},
    "models": [{"name": "clinical", "columns": ["clin_*"]},
               {"name": "radiomics", "columns": ["lesion_*"]},
               {"name": "combined", "columns": ["clin_*", "lesion_*"]}],
    "cv": {"folds": 3, "selection": "outside_cv"},
    "lasso": {"nlambda": 20},
    "svm": {"c_grid": [0.0625, 0.5, 4], "histogram_bins": 64}})");

  std::ostringstream pooled_log;
  std::ostringstream simulate_log;
  auto s1 = RunFitPooled(spec_path, pooled, dir.File("pooled"), pooled_log);
  ASSERT_TRUE(s1.ok()) << s1.ToString();
  auto s2 = RunSimulate(spec_path, sites, dir.File("simulate"), simulate_log);
  ASSERT_TRUE(s2.ok()) << s2.ToString();
  EXPECT_NE(simulate_log.str().find("combined"), std::string::npos) << simulate_log.str();

  for (const char* model : {"clinical", "radiomics", "combined"}) {
    SCOPED_TRACE(model);
    const json a = ReadJson(dir.File("pooled") + "/" + model + "/model.json");
    const json b = ReadJson(dir.File("simulate") + "/" + model + "/model.json");
    EXPECT_EQ(a["provenance"]["mode"], "pooled");
    EXPECT_EQ(b["provenance"]["mode"], "simulate");
    EXPECT_EQ(b["provenance"]["sites"].size(), 3u);
    EXPECT_EQ(a["selected_features"], b["selected_features"]);
    EXPECT_FALSE(a["selected_features"].empty());
    EXPECT_NEAR(a["lasso"]["lambda"].get<double>(), b["lasso"]["lambda"].get<double>(), 1e-12);
    EXPECT_EQ(a["lasso"]["index_chosen"], b["lasso"]["index_chosen"]);
    ExpectNear(a["lasso"]["coefficients"], b["lasso"]["coefficients"], 1e-8, "lasso");
    ExpectNear(a["lasso"]["path"]["cvm"], b["lasso"]["path"]["cvm"], 1e-8, "cvm");
    EXPECT_NEAR(a["lasso"]["intercept"].get<double>(), b["lasso"]["intercept"].get<double>(), 1e-8);
    ASSERT_FALSE(a["svm"].is_null());
    EXPECT_EQ(a["svm"]["c"], b["svm"]["c"]);
    ExpectNear(a["svm"]["weights"], b["svm"]["weights"], 1e-8, "svm");
    ExpectNear(a["svm"]["cv_auc"], b["svm"]["cv_auc"], 1e-12, "cv_auc");
    EXPECT_NEAR(a["svm"]["intercept"].get<double>(), b["svm"]["intercept"].get<double>(), 1e-8);
    EXPECT_NEAR(a["platt"]["a"].get<double>(), b["platt"]["a"].get<double>(), 1e-8);
    EXPECT_NEAR(a["platt"]["b"].get<double>(), b["platt"]["b"].get<double>(), 1e-8);
    EXPECT_EQ(a["cv_performance"]["optimistic"], true);
    EXPECT_NEAR(a["cv_performance"]["auc"].get<double>(), b["cv_performance"]["auc"].get<double>(),
                1e-12);
    // Rounds are not compared: per-model "rounds" count the shared rounds
    // while that model's fit ran (models run concurrently), and outside_cv's
    // per-fold Platt refits use inner folds that each site draws itself.
  }
}

TEST(StudyRunner, SimulateRejectsBadSiteNames) {
  auto dup = RunSimulate("x.json", {{"a", "1.csv"}, {"a", "2.csv"}}, "/tmp/none", std::cerr);
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.ToString().find("\"a\" is given twice"), std::string::npos) << dup.ToString();
  auto bad = RunSimulate("x.json", {{"a b", "1.csv"}}, "/tmp/none", std::cerr);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.ToString().find("\"a b\""), std::string::npos) << bad.ToString();
}

}  // namespace
}  // namespace fedrad::coordinator

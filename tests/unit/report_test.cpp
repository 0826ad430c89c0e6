// Study outputs (coordinator/report.hpp): results.json parses back to exactly
// the values of the StudyResults (nulls for absent values), report.html is
// self-contained, escaped and has the ROC charts with one in-bounds polyline
// per model, and the terminal table matches a golden text. Rendering in
// Chromium: tests/report/render_test.sh (ctest -R report_render).
#include "fedrad/coordinator/report.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "../report/sample_results.hpp"
#include "fedrad/common/files.hpp"
#include "temp_dir.hpp"

namespace fedrad::coordinator {
namespace {

using nlohmann::json;

json ReadJson(const std::string& path) {
  common::Result<std::string> text = common::ReadFile(path);
  EXPECT_TRUE(text.ok());
  return json::parse(text.value());
}

// Doubles that need all 17 digits, NaN/inf and absent optionals.
StudyResults AwkwardResults() {
  StudyResults r = testing::SampleStudyResults();
  r.metrics[0].auc = 0.1 + 0.2;  // 0.30000000000000004
  r.metrics[0].auc_se = std::numeric_limits<double>::quiet_NaN();
  r.metrics[1].auc_error_bound = 1.0 / 3.0;
  r.metrics[2].ppv.reset();
  r.metrics[3].calibration_slope = 5e-324;  // smallest subnormal
  r.metrics[4].threshold = 1.0;             // written as "1": parses back as an integer
  r.models[0].platt_a.reset();
  r.models[1].selected[0].coefficient = 1.0000000000000002;
  r.comparisons[0].p_value = 1.2345678901234567e-300;
  return r;
}

void ExpectSameOptional(const json& j, const std::optional<double>& value,
                        const std::string& what) {
  if (value.has_value()) {
    ASSERT_TRUE(j.is_number()) << what;
    EXPECT_EQ(j.get<double>(), *value) << what;
  } else {
    EXPECT_TRUE(j.is_null()) << what;
  }
}

void ExpectSameDouble(const json& j, double value, const std::string& what) {
  if (std::isfinite(value)) {
    ASSERT_TRUE(j.is_number()) << what;
    EXPECT_EQ(j.get<double>(), value) << what;
  } else {
    EXPECT_TRUE(j.is_null()) << what << " (non-finite is null)";
  }
}

TEST(ReportTest, ResultsJsonRoundTripsExactValues) {
  const StudyResults r = AwkwardResults();
  testing::TempDir dir;
  const std::string path = dir.File("results.json");
  ASSERT_TRUE(WriteResultsJson(r, path).ok());
  const json j = ReadJson(path);

  EXPECT_EQ(j["schema"], "fedrad-results-1");
  const json& study = j["study"];
  EXPECT_EQ(study["study_id"], r.study_id);
  EXPECT_EQ(study["spec_sha256"], r.spec_sha256);
  EXPECT_EQ(study["secure_aggregation"], true);
  EXPECT_EQ(study["min_sites"], 3);
  EXPECT_EQ(study["rounds"], 214);
  EXPECT_EQ(study["notes"].size(), r.notes.size());

  ASSERT_EQ(j["sites"].size(), r.sites.size());
  EXPECT_TRUE(j["sites"][2]["cases"].is_null());  // below k: absent
  EXPECT_EQ(j["sites"][2]["controls"], 56);
  EXPECT_EQ(j["sites"][2]["disclosure_minimum"], 25);

  ASSERT_EQ(j["models"].size(), r.models.size());
  for (std::size_t k = 0; k < r.models.size(); ++k) {
    const json& m = j["models"][k];
    const ModelResult& want = r.models[k];
    EXPECT_EQ(m["name"], want.name);
    EXPECT_EQ(m["columns"].get<std::vector<std::string>>(), want.columns);
    ExpectSameDouble(m["lambda"], want.lambda, "lambda");
    ExpectSameDouble(m["c"], want.c, "c");
    ExpectSameOptional(m["platt_a"], want.platt_a, "platt_a");
    ExpectSameOptional(m["platt_b"], want.platt_b, "platt_b");
    ASSERT_EQ(m["selected"].size(), want.selected.size());
    for (std::size_t f = 0; f < want.selected.size(); ++f) {
      EXPECT_EQ(m["selected"][f]["name"], want.selected[f].name);
      ExpectSameDouble(m["selected"][f]["coefficient"], want.selected[f].coefficient, "coef");
    }
  }
  EXPECT_TRUE(j["models"][0]["platt_a"].is_null());

  ASSERT_EQ(j["metrics"].size(), r.metrics.size());
  for (std::size_t k = 0; k < r.metrics.size(); ++k) {
    const json& m = j["metrics"][k];
    const CohortMetrics& want = r.metrics[k];
    const std::string what = "metrics[" + std::to_string(k) + "]";
    EXPECT_EQ(m["model"], want.model) << what;
    EXPECT_EQ(m["cohort"]["kind"], want.cohort.kind) << what;
    EXPECT_EQ(m["cohort"]["name"], want.cohort.name) << what;
    EXPECT_EQ(m["cases"], want.cases) << what;
    EXPECT_EQ(m["controls"], want.controls) << what;
    EXPECT_EQ(m["mode"], want.mode) << what;
    EXPECT_EQ(m["grid_points"], want.grid_points) << what;
    EXPECT_EQ(m["grid"], want.grid) << what;
    EXPECT_EQ(m["tp"], want.tp) << what;
    EXPECT_EQ(m["fn"], want.fn) << what;
    ExpectSameDouble(m["auc"], want.auc, what + " auc");
    ExpectSameDouble(m["auc_se"], want.auc_se, what + " auc_se");
    ExpectSameDouble(m["auc_ci_low"], want.auc_ci_low, what + " ci_low");
    ExpectSameDouble(m["auc_ci_high"], want.auc_ci_high, what + " ci_high");
    ExpectSameDouble(m["auc_error_bound"], want.auc_error_bound, what + " bound");
    ExpectSameDouble(m["threshold"], want.threshold, what + " threshold");
    ExpectSameDouble(m["accuracy"], want.accuracy, what + " accuracy");
    ExpectSameDouble(m["sensitivity"], want.sensitivity, what + " sensitivity");
    ExpectSameDouble(m["specificity"], want.specificity, what + " specificity");
    ExpectSameOptional(m["ppv"], want.ppv, what + " ppv");
    ExpectSameOptional(m["npv"], want.npv, what + " npv");
    ExpectSameOptional(m["brier"], want.brier, what + " brier");
    ExpectSameOptional(m["calibration_intercept"], want.calibration_intercept, what);
    ExpectSameOptional(m["calibration_slope"], want.calibration_slope, what + " slope");
    ASSERT_EQ(m["roc"]["fpr"].size(), want.roc.size()) << what;
    ASSERT_EQ(m["roc"]["tpr"].size(), want.roc.size()) << what;
    ASSERT_EQ(m["roc"]["threshold"].size(), want.roc.size()) << what;
    for (std::size_t p = 0; p < want.roc.size(); ++p) {
      ExpectSameDouble(m["roc"]["threshold"][p], want.roc[p].threshold, what + " roc t");
      ExpectSameDouble(m["roc"]["fpr"][p], want.roc[p].fpr, what + " roc fpr");
      ExpectSameDouble(m["roc"]["tpr"][p], want.roc[p].tpr, what + " roc tpr");
    }
    ASSERT_EQ(m["calibration"]["count"].size(), want.calibration.size()) << what;
    for (std::size_t b = 0; b < want.calibration.size(); ++b) {
      ExpectSameDouble(m["calibration"]["mean_predicted"][b], want.calibration[b].mean_predicted,
                       what);
      ExpectSameDouble(m["calibration"]["observed_rate"][b], want.calibration[b].observed_rate,
                       what);
      EXPECT_EQ(m["calibration"]["count"][b], want.calibration[b].count) << what;
    }
  }
  // The awkward values, spelled out.
  EXPECT_EQ(j["metrics"][0]["auc"].get<double>(), 0.1 + 0.2);
  EXPECT_TRUE(j["metrics"][0]["auc_se"].is_null());
  EXPECT_TRUE(j["metrics"][0]["roc"]["threshold"][0].is_null());  // +inf end
  EXPECT_TRUE(j["metrics"][2]["ppv"].is_null());
  EXPECT_TRUE(j["metrics"][0]["brier"].is_null());  // CV: no calibration
  EXPECT_EQ(j["metrics"][3]["calibration_slope"].get<double>(), 5e-324);

  ASSERT_EQ(j["comparisons"].size(), r.comparisons.size());
  for (std::size_t k = 0; k < r.comparisons.size(); ++k) {
    const json& c = j["comparisons"][k];
    const DelongComparison& want = r.comparisons[k];
    EXPECT_EQ(c["cohort"]["name"], want.cohort.name);
    EXPECT_EQ(c["model_a"], want.model_a);
    EXPECT_EQ(c["model_b"], want.model_b);
    ExpectSameDouble(c["auc_a"], want.auc_a, "auc_a");
    ExpectSameDouble(c["auc_b"], want.auc_b, "auc_b");
    ExpectSameDouble(c["delta_auc"], want.auc_a - want.auc_b, "delta_auc");
    ExpectSameDouble(c["z"], want.z, "z");
    ExpectSameDouble(c["p_value"], want.p_value, "p");
  }
  ASSERT_EQ(j["ledger"].size(), r.ledger.size());
  EXPECT_EQ(j["ledger"][3]["bytes_from"], 21504);
  EXPECT_EQ(j["ledger"][3]["statistic_kinds"].get<std::vector<std::string>>(),
            r.ledger[3].statistic_kinds);

  // Numbers are %.17g: 0.1 + 0.2 appears with all its digits.
  const std::string text = common::ReadFile(path).value();
  EXPECT_NE(text.find("0.30000000000000004"), std::string::npos);
  // Atomic write: no temporary file left behind.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(ReportTest, ResultsJsonHasEverySchemaField) {
  const json j = json::parse(ResultsJsonText(testing::SampleStudyResults()));
  auto expect_keys = [](const json& object, const std::vector<std::string>& keys,
                        const std::string& where) {
    ASSERT_TRUE(object.is_object()) << where;
    for (const std::string& key : keys) EXPECT_TRUE(object.contains(key)) << where << "." << key;
    EXPECT_EQ(object.size(), keys.size()) << where << ": unexpected extra fields";
  };
  expect_keys(
      j, {"schema", "study", "sites", "models", "imputation", "metrics", "comparisons", "ledger"},
      "");
  expect_keys(
      j["study"],
      {"study_id", "spec_sha256", "fedrad_version", "started_utc", "finished_utc", "mode",
       "secure_aggregation", "min_sites", "fewer_sites_allowed", "cv_scheme", "rounds", "notes"},
      "study");
  expect_keys(j["sites"][0],
              {"site_id", "role", "cases", "controls", "disclosure_minimum", "cases_withheld",
               "controls_withheld"},
              "sites[0]");
  expect_keys(j["models"][0],
              {"name", "columns", "lambda", "lambda_rule", "c", "svm_bias", "platt_a", "platt_b",
               "threshold_rule", "threshold", "selected"},
              "models[0]");
  expect_keys(j["models"][0]["selected"][0], {"name", "coefficient"}, "selected[0]");
  expect_keys(j["metrics"][0],
              {"model",
               "cohort",
               "cases",
               "controls",
               "mode",
               "grid_points",
               "grid",
               "auc_error_bound",
               "auc",
               "auc_se",
               "auc_ci_low",
               "auc_ci_high",
               "threshold",
               "tp",
               "fp",
               "tn",
               "fn",
               "accuracy",
               "sensitivity",
               "specificity",
               "ppv",
               "npv",
               "brier",
               "calibration_intercept",
               "calibration_slope",
               "roc",
               "calibration"},
              "metrics[0]");
  expect_keys(j["metrics"][0]["cohort"], {"kind", "name"}, "cohort");
  expect_keys(j["metrics"][0]["roc"], {"threshold", "fpr", "tpr"}, "roc");
  expect_keys(j["metrics"][3]["calibration"], {"mean_predicted", "observed_rate", "count"},
              "calibration");
  expect_keys(j["comparisons"][0],
              {"cohort", "model_a", "model_b", "auc_a", "auc_b", "delta_auc", "z", "p_value"},
              "comparisons[0]");
  expect_keys(j["ledger"][0],
              {"site_id", "role", "rounds", "bytes_to", "bytes_from", "statistic_kinds"},
              "ledger[0]");
}

TEST(ReportTest, WriteErrorsNameThePath) {
  const StudyResults r = testing::SampleStudyResults();
  const std::string path = "/nonexistent-fedrad-dir/results.json";
  const common::Status json_status = WriteResultsJson(r, path);
  EXPECT_FALSE(json_status.ok());
  EXPECT_NE(json_status.ToString().find(path), std::string::npos) << json_status.ToString();
  const common::Status html_status = WriteReportHtml(r, "/nonexistent-fedrad-dir/report.html");
  EXPECT_FALSE(html_status.ok());
  EXPECT_NE(html_status.ToString().find("report.html"), std::string::npos);
}

std::size_t Count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

TEST(ReportTest, HtmlHasEverySection) {
  const std::string html = ReportHtmlText(testing::SampleStudyResults());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  for (const char* id :
       {"summary", "cohorts", "roc", "metrics", "delong", "features", "calibration", "ledger"}) {
    EXPECT_NE(html.find("<section id=\"" + std::string(id) + "\">"), std::string::npos) << id;
  }
  // Summary.
  EXPECT_NE(html.find("lung-nodule-malignancy-2026"), std::string::npos);
  EXPECT_NE(html.find("3f1c9a0e5b7d2c4e8f6a1b3d5c7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e"),
            std::string::npos);
  EXPECT_NE(html.find("on (at least 3 sites per sum; fewer sites refused)"), std::string::npos);
  EXPECT_NE(html.find("nested 5-fold"), std::string::npos);
  // Cohorts: site_c's 24 cases are below k = 25: "<25", total hidden.
  EXPECT_NE(html.find("<th scope=\"row\">site_c</th><td>train</td><td class=\"num\">&lt;25</td>"
                      "<td class=\"num\">56</td><td class=\"num\">&#8212;</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\">61</td><td class=\"num\">118</td><td "
                      "class=\"num\">179</td>"),
            std::string::npos);
  // ROC legends: AUC [95% CI] (CI = AUC ± 1.96·SE).
  EXPECT_NE(html.find("combined AUC 0.811 [0.77, 0.85]"), std::string::npos);
  EXPECT_NE(html.find("clinical AUC 0.684 [0.59, 0.77]"), std::string::npos);
  EXPECT_NE(html.find("1 \u2212 specificity"), std::string::npos);
  EXPECT_NE(html.find("Sensitivity (true positive rate)"), std::string::npos);
  // Metrics table row: n (cases/controls), AUC [CI], accuracy (89+187)/412,
  // sensitivity 89/137, specificity 187/275, PPV 89/177, NPV 187/235.
  EXPECT_NE(html.find("<td class=\"num\">412 (137/275)</td><td class=\"num\">0.712 [0.661, "
                      "0.763]</td><td class=\"num\">0.670</td><td class=\"num\">0.650</td><td "
                      "class=\"num\">0.680</td><td class=\"num\">0.503</td><td "
                      "class=\"num\">0.796</td><td class=\"num\">0.338</td>"),
            std::string::npos);
  EXPECT_NE(html.find("Cross-validation (out-of-fold): pooled grid of 1,001 points</th>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\">0.338</td><td>&#8804; 2.4e-04</td>"), std::string::npos);
  EXPECT_NE(html.find("External: hospital_d: computed at the site</th>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\">0.338</td><td>exact</td>"), std::string::npos);
  EXPECT_NE(html.find("Pooled-grid AUCs</strong> are computed from securely summed"),
            std::string::npos);
  // DeLong: combined vs clinical on CV, Z = 3.42, p = 2Φ(−3.42) = 0.000626.
  EXPECT_NE(html.find("<th scope=\"row\">combined vs clinical</th><td>Cross-validation "
                      "(out-of-fold)</td><td class=\"num\">0.811</td><td "
                      "class=\"num\">0.712</td><td class=\"num\">+0.099</td><td "
                      "class=\"num\">3.42</td><td class=\"num\">&lt; 0.001</td>"),
            std::string::npos);
  // Features with λ and C, largest |coefficient| first.
  EXPECT_NE(html.find("4 of 6 candidate columns selected; LASSO &#955; = 0.0213 (lambda.1se); "
                      "SVM C = 0.1"),
            std::string::npos);
  EXPECT_LT(html.find(">nodule_diameter_mm</td><td class=\"num\">0.6550<"),
            html.find(">age</td><td class=\"num\">0.4120<"));
  // Calibration chart and table.
  EXPECT_NE(html.find("<svg class=\"chart calibration\""), std::string::npos);
  EXPECT_NE(html.find("combined Brier 0.176, intercept -0.06, slope 0.92"), std::string::npos);
  // Privacy ledger.
  EXPECT_NE(html.find("<th scope=\"row\">hospital_d</th><td>external</td><td "
                      "class=\"num\">3</td><td class=\"num\">8,816</td><td "
                      "class=\"num\">21,504</td><td><code>roc_local</code>, "
                      "<code>calibration</code></td>"),
            std::string::npos);
  // Accessible charts: every svg has a <title>.
  EXPECT_EQ(Count(html, "<svg"), 3u);
  EXPECT_EQ(Count(html, "<svg"), Count(html, "-title\">"));
  EXPECT_EQ(Count(html, "scope=\"col\""), 6u + 10u + 7u + 3u * 2u + 5u + 6u);
}

TEST(ReportTest, HtmlEscapesEveryStringFromTheData) {
  StudyResults r = testing::SampleStudyResults();
  const std::string evil_site = "St <Mary> & \"Joe's\"";
  const std::string evil_feature = "<script>alert(1)</script>&\"x\"";
  r.sites[3].site_id = evil_site;
  r.ledger[3].site_id = evil_site;
  r.metrics[5].cohort.name = evil_site;
  r.models[2].selected[0].name = evil_feature;
  r.models[2].name = "comb<ined>";
  for (CohortMetrics& m : r.metrics) {
    if (m.model == "combined") m.model = r.models[2].name;
  }
  r.notes.push_back("note with </li><b>bold</b>");
  r.study_id = "x\"><img src=x>";
  const std::string html = ReportHtmlText(r);
  EXPECT_EQ(html.find(evil_site), std::string::npos);
  EXPECT_EQ(html.find(evil_feature), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<b>bold"), std::string::npos);
  EXPECT_EQ(html.find("comb<ined>"), std::string::npos);
  EXPECT_NE(html.find("St &lt;Mary&gt; &amp; &quot;Joe&#39;s&quot;"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;x&quot;"),
            std::string::npos);
  EXPECT_NE(html.find("comb&lt;ined&gt; AUC"), std::string::npos);  // SVG legend too
}

TEST(ReportTest, HtmlFetchesNothing) {
  const std::string html = ReportHtmlText(testing::SampleStudyResults());
  for (const char* fetch : {"http://", "https://", "src=", "url(", "@import", "<link", "<script",
                            "<iframe", "<object", "<embed", "href=\"/", "href=\"file:"}) {
    EXPECT_EQ(html.find(fetch), std::string::npos) << fetch;
  }
  EXPECT_NE(html.find("<style>"), std::string::npos);
}

// Attribute `name` of the first tag in `tag_text`.
std::string Attribute(const std::string& tag_text, const std::string& name) {
  const std::string key = " " + name + "=\"";
  const std::size_t at = tag_text.find(key);
  if (at == std::string::npos) return "";
  const std::size_t begin = at + key.size();
  return tag_text.substr(begin, tag_text.find('"', begin) - begin);
}

TEST(ReportTest, RocChartsHaveOnePolylinePerModelInsideThePlot) {
  const StudyResults r = testing::SampleStudyResults();
  const std::string html = ReportHtmlText(r);
  std::vector<std::string> charts;
  for (std::size_t at = html.find("<svg class=\"chart roc\""); at != std::string::npos;
       at = html.find("<svg class=\"chart roc\"", at + 1)) {
    charts.push_back(html.substr(at, html.find("</svg>", at) - at));
  }
  ASSERT_EQ(charts.size(), 2u);  // cross-validation and the external site
  EXPECT_NE(charts[0].find("Cross-validation"), std::string::npos);
  EXPECT_NE(charts[1].find("External: hospital_d"), std::string::npos);
  for (const std::string& chart : charts) {
    EXPECT_NE(chart.find("<title"), std::string::npos);
    EXPECT_NE(chart.find("class=\"reference\""), std::string::npos);  // diagonal
    const std::size_t rect_at = chart.find("<rect class=\"plot-area\"");
    ASSERT_NE(rect_at, std::string::npos);
    const std::string rect = chart.substr(rect_at, chart.find('>', rect_at) - rect_at);
    const double x0 = std::stod(Attribute(rect, "x")), y0 = std::stod(Attribute(rect, "y"));
    const double x1 = x0 + std::stod(Attribute(rect, "width"));
    const double y1 = y0 + std::stod(Attribute(rect, "height"));
    ASSERT_GT(x1, x0);
    ASSERT_GT(y1, y0);
    int polylines = 0;
    for (std::size_t at = chart.find("<polyline"); at != std::string::npos;
         at = chart.find("<polyline", at + 1)) {
      ++polylines;
      const std::string tag = chart.substr(at, chart.find('>', at) - at);
      std::istringstream points(Attribute(tag, "points"));
      std::vector<std::pair<double, double>> xy;
      std::string pair;
      while (points >> pair) {
        const std::size_t comma = pair.find(',');
        ASSERT_NE(comma, std::string::npos) << pair;
        xy.emplace_back(std::stod(pair.substr(0, comma)), std::stod(pair.substr(comma + 1)));
      }
      ASSERT_EQ(xy.size(), 41u);  // the sample's curves have 41 points
      for (const auto& [x, y] : xy) {
        EXPECT_GE(x, x0);
        EXPECT_LE(x, x1);
        EXPECT_GE(y, y0);
        EXPECT_LE(y, y1);
      }
      // (fpr, tpr) = (0, 0) is the bottom-left corner, (1, 1) the top-right.
      EXPECT_DOUBLE_EQ(xy.front().first, x0);
      EXPECT_DOUBLE_EQ(xy.front().second, y1);
      EXPECT_DOUBLE_EQ(xy.back().first, x1);
      EXPECT_DOUBLE_EQ(xy.back().second, y0);
      // Point 20 of the sample is fpr 0.5, tpr 0.5^(1/AUC - 1).
      const double fpr = (xy[20].first - x0) / (x1 - x0);
      const double tpr = (y1 - xy[20].second) / (y1 - y0);
      EXPECT_NEAR(fpr, 0.5, 1e-4);
      EXPECT_GT(tpr, 0.7);  // 0.5^(1/AUC - 1), AUC >= 0.684 in the sample
    }
    EXPECT_EQ(polylines, static_cast<int>(r.models.size()));
  }
}

TEST(ReportTest, TerminalTableMatchesGolden) {
  // Hand check: cv clinical 89/137 = 0.650, 187/275 = 0.680, 276/412 = 0.670,
  // CI 0.712 -/+ 1.96 * 0.0262; p = 2 Phi(-|Z|): Z = 1.87 -> 0.061.
  const std::string golden =
      "Cohort               Model        n  AUC [95% CI]          Accuracy  Sensitivity  "
      "Specificity\n"
      "-------------------  ---------  ---  --------------------  --------  -----------  "
      "-----------\n"
      "cv                   clinical   412  0.712 [0.661, 0.763]     0.670        0.650        "
      "0.680\n"
      "cv                   radiomics  412  0.774 [0.727, 0.821]     0.718        0.715        "
      "0.720\n"
      "cv                   combined   412  0.811 [0.768, 0.854]     0.752        0.759        "
      "0.749\n"
      "external hospital_d  clinical   144  0.684 [0.594, 0.774]     0.625        0.625        "
      "0.625\n"
      "external hospital_d  radiomics  144  0.742 [0.659, 0.825]     0.681        0.688        "
      "0.677\n"
      "external hospital_d  combined   144  0.779 [0.701, 0.857]     0.722        0.729        "
      "0.719\n"
      "\n"
      "DeLong p (cv): combined vs clinical <0.001, combined vs radiomics 0.061, radiomics vs "
      "clinical 0.040\n"
      "DeLong p (external hospital_d): combined vs clinical 0.021, combined vs radiomics 0.263, "
      "radiomics vs clinical 0.215\n"
      "AUC on cv from pooled grid histograms (G = 1001): |AUC - unbinned AUC| <= 2.4e-04\n";
  EXPECT_EQ(FormatResultsTable(testing::SampleStudyResults()), golden);
}

TEST(ReportTest, TerminalTableIsAsciiAndAligned) {
  StudyResults r = testing::SampleStudyResults();
  r.models[0].name = "kliniskt \xc3\xa5r";  // "å" is not ASCII
  for (CohortMetrics& m : r.metrics) {
    if (m.model == "clinical") m.model = r.models[0].name;
  }
  r.metrics[0].auc_ci_low = std::numeric_limits<double>::quiet_NaN();
  const std::string table = FormatResultsTable(r);
  for (char ch : table) {
    const auto u = static_cast<unsigned char>(ch);
    EXPECT_TRUE(ch == '\n' || (u >= 0x20 && u < 0x7f)) << static_cast<int>(u);
  }
  EXPECT_NE(table.find("kliniskt ??r"), std::string::npos);
  // Every table line (header, rule, 6 rows) ends at the same column.
  std::istringstream lines(table);
  std::string line;
  std::vector<std::size_t> widths;
  for (int k = 0; k < 8 && std::getline(lines, line); ++k) widths.push_back(line.size());
  ASSERT_EQ(widths.size(), 8u);
  for (std::size_t w : widths) EXPECT_EQ(w, widths[0]) << table;
}

}  // namespace
}  // namespace fedrad::coordinator

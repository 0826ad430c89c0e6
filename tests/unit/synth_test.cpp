#include "fedrad/site_agent/synth.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <string>

#include "fedrad/common/csv.hpp"
#include "fedrad/common/files.hpp"
#include "fedrad/site_agent/extract_command.hpp"
#include "temp_dir.hpp"

namespace fedrad::site_agent {
namespace {

namespace fs = std::filesystem;

SynthOptions Small(const std::string& out) {
  SynthOptions options;
  options.out_dir = out;
  options.sites = {{"site_a", false, 12}, {"site_x", true, 6}};
  options.seed = 11;
  options.image_size = 192;
  return options;
}

TEST(Synth, DefaultSitesAreThePapersCohorts) {
  int train = 0;
  int external = 0;
  for (const SynthSite& site : DefaultSynthSites())
    (site.external ? external : train) += site.cases;
  EXPECT_EQ(train, 224);
  EXPECT_EQ(external, 54);
}

TEST(Synth, ParseSitesAcceptsTheDocumentedFormAndNamesBadEntries) {
  auto sites = ParseSynthSites("a:train:10,b_2:external:5");
  ASSERT_TRUE(sites.ok()) << sites.status().ToString();
  ASSERT_EQ(sites->size(), 2u);
  EXPECT_EQ((*sites)[0].id, "a");
  EXPECT_FALSE((*sites)[0].external);
  EXPECT_EQ((*sites)[1].cases, 5);
  EXPECT_TRUE((*sites)[1].external);
  for (const char* bad : {"a:train", "a:test:3", "a:train:0", "a:train:x", "a:train:3:4", ""}) {
    auto parsed = ParseSynthSites(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    if (!parsed.ok() && std::string(bad).size() > 0) {
      EXPECT_NE(parsed.status().message().find(bad), std::string::npos)
          << parsed.status().message();
    }
  }
}

TEST(Synth, SameSeedSameBytesAndTheLayoutIsComplete) {
  testing::TempDir dir("fedrad_synth");
  auto first = GenerateConsortium(Small(dir.File("one")), {});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = GenerateConsortium(Small(dir.File("two")), {});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].positives, (*second)[0].positives);

  std::size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir.File("one"))) {
    if (!entry.is_regular_file()) continue;
    const std::string relative = fs::relative(entry.path(), dir.File("one")).string();
    auto a = common::ReadFile(entry.path().string());
    auto b = common::ReadFile(dir.File("two") + "/" + relative);
    ASSERT_TRUE(a.ok() && b.ok()) << relative;
    EXPECT_EQ(*a, *b) << relative;
    ++files;
  }
  // Per case an image and three masks; per site manifest + clinical; truth + README.
  EXPECT_EQ(files, 18u * 4 + 2 * 2 + 2);

  SynthOptions other = Small(dir.File("three"));
  other.seed = 12;
  ASSERT_TRUE(GenerateConsortium(other, {}).ok());
  EXPECT_NE(*common::ReadFile(dir.File("one/site_a/clinical.csv")),
            *common::ReadFile(dir.File("three/site_a/clinical.csv")));
}

TEST(Synth, ClinicalTableHasThePredictorsAndBinaryLabels) {
  testing::TempDir dir("fedrad_synth");
  auto written = GenerateConsortium(Small(dir.File("c")), {});
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  auto table = common::ReadCsvFile(dir.File("c/site_a/clinical.csv"));
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  const std::vector<std::string> expected = {"case_id",
                                             "recurrence_2y",
                                             "age_years",
                                             "sex",
                                             "nodal_positive",
                                             "synchronous_metastases",
                                             "bilobar_metastases",
                                             "preoperative_chemotherapy",
                                             "targeted_drugs",
                                             "ca19_9_u_ml",
                                             "cea_ng_ml",
                                             "bmi",
                                             "albumin_g_l"};
  EXPECT_EQ(table->header, expected);
  ASSERT_EQ(table->rows.size(), 12u);
  int positives = 0;
  for (const auto& row : table->rows) {
    ASSERT_TRUE(row[1] == "0" || row[1] == "1") << row[1];
    positives += row[1] == "1";
    for (int c = 4; c <= 8; ++c) EXPECT_TRUE(row[c] == "0" || row[c] == "1") << row[c];
    EXPECT_GT(std::stod(row[9]), 0.0);
    EXPECT_TRUE(row[3] == "M" || row[3] == "F");
  }
  EXPECT_EQ(positives, (*written)[0].positives);
}

TEST(Synth, MasksAreBinaryNonEmptyInsideTheFieldOfViewAndApart) {
  testing::TempDir dir("fedrad_synth");
  ASSERT_TRUE(GenerateConsortium(Small(dir.File("m")), {}).ok());
  for (int i = 1; i <= 12; ++i) {
    char id[32];
    std::snprintf(id, sizeof(id), "site_a-%04d", i);
    const std::string base = dir.File("m/site_a/");
    const cv::Mat image = cv::imread(base + "images/" + id + ".png", cv::IMREAD_UNCHANGED);
    const cv::Mat lesion = cv::imread(base + "masks/" + id + "_lesion.png", cv::IMREAD_UNCHANGED);
    const cv::Mat liver = cv::imread(base + "masks/" + id + "_liver.png", cv::IMREAD_UNCHANGED);
    const cv::Mat fov = cv::imread(base + "masks/" + id + "_fov.png", cv::IMREAD_UNCHANGED);
    ASSERT_EQ(image.type(), CV_8UC1) << id;
    ASSERT_EQ(image.rows, 192);
    for (const cv::Mat* mask : {&lesion, &liver, &fov}) {
      ASSERT_EQ(mask->type(), CV_8UC1) << id;
      const int nonzero = cv::countNonZero(*mask);
      const int full = cv::countNonZero(*mask == 255);
      EXPECT_EQ(nonzero, full) << id << ": masks are 0/255";
    }
    const int lesion_pixels = cv::countNonZero(lesion);
    EXPECT_GT(lesion_pixels, 100) << id;
    cv::Mat outside_fov;
    cv::bitwise_and(lesion, ~fov, outside_fov);
    EXPECT_EQ(cv::countNonZero(outside_fov), 0) << id;
    cv::Mat overlap;
    cv::bitwise_and(lesion, liver, overlap);
    EXPECT_EQ(cv::countNonZero(overlap), 0) << id;
    // Outside the field of view the image is black; the lesion is darker
    // than the parenchyma on average (hypoechoic, before speckle).
    cv::Mat outside_image;
    cv::bitwise_and(image, ~fov, outside_image);
    EXPECT_EQ(cv::countNonZero(outside_image), 0) << id;
    if (cv::countNonZero(liver) > 0) {
      EXPECT_LT(cv::mean(image, lesion)[0], cv::mean(image, liver)[0]) << id;
    }
  }
}

TEST(Synth, TheManifestFeedsFedradExtract) {
  testing::TempDir dir("fedrad_synth");
  SynthOptions options = Small(dir.File("e"));
  options.sites = {{"site_a", false, 3}};
  ASSERT_TRUE(GenerateConsortium(options, {}).ok());
  ExtractOptions extract;
  extract.manifest = dir.File("e/site_a/manifest.csv");
  extract.out = dir.File("features.csv");
  extract.progress = false;
  std::ostringstream progress;
  auto summary = RunExtract(extract, progress, false);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString() << progress.str();
  EXPECT_EQ(summary->succeeded, 3u);
  auto table = common::ReadCsvFile(dir.File("features.csv"));
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_EQ(table->rows.size(), 3u);
  EXPECT_GT(table->header.size(), 1000u);
}

TEST(Synth, RefusesANonEmptyFolderAndBadOptions) {
  testing::TempDir dir("fedrad_synth");
  dir.WriteText("keep.txt", "precious");
  auto refused = GenerateConsortium(Small(dir.path()), {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("not empty"), std::string::npos);
  EXPECT_EQ(*common::ReadFile(dir.File("keep.txt")), "precious");

  SynthOptions bad = Small(dir.File("b"));
  bad.image_size = 32;
  EXPECT_NE(GenerateConsortium(bad, {}).status().message().find("image size"), std::string::npos);
  bad = Small(dir.File("b"));
  bad.sites = {{"a", false, 3}, {"a", true, 3}};
  EXPECT_NE(GenerateConsortium(bad, {}).status().message().find("listed twice"), std::string::npos);
  bad = Small(dir.File("b"));
  bad.spacing_mm = 0.1;  // 19 mm field of view
  EXPECT_NE(GenerateConsortium(bad, {}).status().message().find("at least 50 mm"),
            std::string::npos);
}

}  // namespace
}  // namespace fedrad::site_agent

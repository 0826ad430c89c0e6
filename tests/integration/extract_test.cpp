// `fedrad extract` as a user runs it: real PNG files, a manifest with a bad
// case, two worker threads, the table and its provenance sidecar.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <string>

#include "fedrad/common/csv.hpp"
#include "fedrad/common/hash.hpp"
#include "support/process.hpp"

namespace fedrad::integration {
namespace {

constexpr milliseconds kExtractWait{60000};

void WriteCase(const TempDir& dir, const std::string& id, unsigned seed, bool with_parenchyma) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(110.0, 25.0);
  cv::Mat image(160, 200, CV_8UC1);
  cv::Mat lesion(160, 200, CV_8UC1, cv::Scalar(0));
  cv::Mat parenchyma(160, 200, CV_8UC1, cv::Scalar(0));
  for (int y = 0; y < 160; ++y) {
    for (int x = 0; x < 200; ++x) {
      const double u = (x - 70.0) / 30.0;
      const double v = (y - 80.0) / 22.0;
      const bool inside = u * u + v * v <= 1.0;
      const double value = inside ? noise(rng) - 45.0 : noise(rng);
      image.at<std::uint8_t>(y, x) = cv::saturate_cast<std::uint8_t>(value);
      lesion.at<std::uint8_t>(y, x) = inside ? 255 : 0;
      parenchyma.at<std::uint8_t>(y, x) = (x >= 130 && x < 190 && y >= 40 && y < 120) ? 1 : 0;
    }
  }
  ASSERT_TRUE(cv::imwrite(dir.File(id + ".png"), image));
  ASSERT_TRUE(cv::imwrite(dir.File(id + "_lesion.png"), lesion));
  if (with_parenchyma) ASSERT_TRUE(cv::imwrite(dir.File(id + "_liver.png"), parenchyma));
}

TEST(Extract, CohortWithABadCaseWritesTheGoodOnesAndFails) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(WriteCase(dir, "p1", 1, true));
  ASSERT_NO_FATAL_FAILURE(WriteCase(dir, "p2", 2, false));
  ASSERT_NO_FATAL_FAILURE(WriteCase(dir, "p4", 4, true));
  std::ofstream(dir.File("cohort.csv"))
      << "case_id,image,lesion_mask,parenchyma_mask,spacing_x_mm,spacing_y_mm\n"
      << "p1,p1.png,p1_lesion.png,p1_liver.png,0.25,0.25\n"
      << "p2,p2.png,p2_lesion.png,,0.25,0.25\n"
      << "p3,p3.png,p3_lesion.png,,0.25,0.25\n"  // files missing
      << "p4,p4.png,p4_lesion.png,p4_liver.png,0.25,0.25\n";
  std::ofstream(dir.File("params.json")) << R"({
      "imageType": {"Original": {}, "LoG": {"sigma": [1.0]}, "Wavelet": {"bands": ["HH"]}},
      "setting": {"binWidth": 16}})";

  std::string tables[2];
  for (int jobs : {1, 2}) {
    const std::string out = dir.File("features_j" + std::to_string(jobs) + ".csv");
    auto run = Process::StartFedrad(
        "extract_j" + std::to_string(jobs),
        {"extract", "--manifest", dir.File("cohort.csv"), "--params", dir.File("params.json"),
         "--out", out, "--jobs", std::to_string(jobs)},
        dir.path());
    ASSERT_NE(run, nullptr);
    const auto code = run->WaitForExit(kExtractWait);
    ASSERT_TRUE(code.has_value()) << "extract did not finish";
    EXPECT_EQ(*code, 1) << "a failed case must make the run fail";
    EXPECT_NE(run->Stderr().find("p3: "), std::string::npos) << run->Stderr();
    EXPECT_NE(run->Stderr().find("p3.png"), std::string::npos) << run->Stderr();
    EXPECT_NE(run->Stdout().find("extracted 3 of 4 cases"), std::string::npos) << run->Stdout();

    auto table = common::ReadCsvFile(out);
    ASSERT_TRUE(table.ok()) << table.status().ToString();
    ASSERT_EQ(table->rows.size(), 3u);
    EXPECT_EQ(table->rows[0][0], "p1");
    EXPECT_EQ(table->rows[1][0], "p2");
    EXPECT_EQ(table->rows[2][0], "p4");
    const auto parenchyma_mean = table->Column("parenchyma_original_firstorder_Mean");
    ASSERT_TRUE(parenchyma_mean.has_value());
    EXPECT_EQ(table->rows[1][*parenchyma_mean], "") << "absent, not zero";
    EXPECT_FALSE(table->rows[0][*parenchyma_mean].empty());
    ASSERT_TRUE(table->Column("lesion_wavelet-HH_glszm_ZoneEntropy").has_value());
    ASSERT_TRUE(table->Column("ring5mm_original_glcm_Contrast").has_value());
    // Lesions are darker than their surroundings by construction.
    const auto lesion_mean = table->Column("lesion_original_firstorder_Mean");
    const auto ring_mean = table->Column("ring5mm_original_firstorder_Mean");
    ASSERT_TRUE(lesion_mean && ring_mean);
    EXPECT_LT(std::stod(table->rows[0][*lesion_mean]) + 30.0,
              std::stod(table->rows[0][*ring_mean]));

    std::ifstream sidecar(dir.File("features_j" + std::to_string(jobs) + ".provenance.json"));
    const nlohmann::json provenance = nlohmann::json::parse(sidecar);
    EXPECT_EQ(provenance["params_sha256"].get<std::string>().size(), 64u);
    ASSERT_EQ(provenance["cases"].size(), 3u);
    EXPECT_EQ(provenance["cases"][0]["image_sha256"], *common::Sha256File(dir.File("p1.png")));
    EXPECT_EQ(provenance["cases"][1]["parenchyma_mask_sha256"], nullptr);
    ASSERT_EQ(provenance["failures"].size(), 1u);
    EXPECT_EQ(provenance["failures"][0]["case_id"], "p3");
    std::ifstream in(out);
    tables[jobs - 1].assign(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_EQ(tables[0], tables[1]) << "--jobs must not change a single byte of the table";
}

TEST(Extract, BadParamsAreRefusedBeforeAnyWork) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(WriteCase(dir, "p1", 1, false));
  std::ofstream(dir.File("params.json")) << R"({"setting": {"binWidht": 25}})";
  auto run = Process::StartFedrad(
      "extract",
      {"extract", "--image", dir.File("p1.png"), "--mask", dir.File("p1_lesion.png"), "--spacing",
       "0.2,0.2", "--params", dir.File("params.json"), "--out", dir.File("f.csv")},
      dir.path());
  ASSERT_NE(run, nullptr);
  const auto code = run->WaitForExit(kExtractWait);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 1);
  EXPECT_NE(run->Stderr().find("/setting/binWidht"), std::string::npos) << run->Stderr();
  EXPECT_NE(run->Stderr().find("binWidth"), std::string::npos) << "suggests the right key";
  EXPECT_FALSE(std::ifstream(dir.File("f.csv")).good()) << "nothing written";
}

}  // namespace
}  // namespace fedrad::integration

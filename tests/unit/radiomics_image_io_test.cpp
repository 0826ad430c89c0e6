// Image and mask input through OpenCV on real files.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>

#include "fedrad/site_agent/radiomics/image_io.hpp"
#include "temp_dir.hpp"

namespace fedrad::site_agent::radiomics {
namespace {

class ImageIoTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_.File(name); }
  fedrad::testing::TempDir dir_{"fedrad_imageio"};
};

TEST_F(ImageIoTest, ReadsEightAndSixteenBitGrey) {
  cv::Mat grey8(3, 4, CV_8UC1);
  cv::Mat grey16(3, 4, CV_16UC1);
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 4; ++x) {
      grey8.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>(10 * x + y);
      grey16.at<std::uint16_t>(y, x) = static_cast<std::uint16_t>(1000 * x + y);
    }
  }
  ASSERT_TRUE(cv::imwrite(Path("g8.png"), grey8));
  ASSERT_TRUE(cv::imwrite(Path("g16.tif"), grey16));
  auto a = LoadImage(Path("g8.png"), ColorRule::kLuminance, Spacing{0.2, 0.3});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->image.pixels.width, 4);
  EXPECT_EQ(a->image.pixels.height, 3);
  EXPECT_EQ(a->image.pixels.at(3, 2), 32.0);
  EXPECT_EQ(a->bit_depth, 8);
  EXPECT_EQ(a->image.spacing, (Spacing{0.2, 0.3}));
  EXPECT_TRUE(a->warnings.empty());
  auto b = LoadImage(Path("g16.tif"), ColorRule::kLuminance, Spacing{});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->image.pixels.at(3, 1), 3001.0);
  EXPECT_EQ(b->bit_depth, 16);
}

TEST_F(ImageIoTest, ColourIsConvertedByTheDeclaredRuleWithAWarning) {
  cv::Mat rgb(1, 1, CV_8UC3, cv::Scalar(30, 20, 10));  // B=30, G=20, R=10
  ASSERT_TRUE(cv::imwrite(Path("c.png"), rgb));
  auto lum = LoadImage(Path("c.png"), ColorRule::kLuminance, Spacing{});
  ASSERT_TRUE(lum.ok());
  EXPECT_DOUBLE_EQ(lum->image.pixels.at(0, 0), 0.299 * 10 + 0.587 * 20 + 0.114 * 30);
  ASSERT_EQ(lum->warnings.size(), 1u);
  EXPECT_NE(lum->warnings[0].find("luminance"), std::string::npos);
  EXPECT_EQ(LoadImage(Path("c.png"), ColorRule::kRed, Spacing{})->image.pixels.at(0, 0), 10.0);
  EXPECT_EQ(LoadImage(Path("c.png"), ColorRule::kBlue, Spacing{})->image.pixels.at(0, 0), 30.0);
  cv::Mat rgba(1, 1, CV_8UC4, cv::Scalar(30, 20, 10, 255));
  ASSERT_TRUE(cv::imwrite(Path("c4.png"), rgba));
  EXPECT_EQ(LoadImage(Path("c4.png"), ColorRule::kGreen, Spacing{})->image.pixels.at(0, 0), 20.0);
}

TEST_F(ImageIoTest, MasksAcceptZeroOneZero255AndLabels) {
  cv::Mat m(2, 3, CV_8UC1, cv::Scalar(0));
  m.at<std::uint8_t>(0, 1) = 255;
  m.at<std::uint8_t>(1, 2) = 1;
  m.at<std::uint8_t>(1, 0) = 2;
  ASSERT_TRUE(cv::imwrite(Path("m.png"), m));
  auto any = LoadMask(Path("m.png"), 0, 3, 2);
  ASSERT_TRUE(any.ok()) << any.status().ToString();
  EXPECT_EQ(any->at(1, 0), 1);
  EXPECT_EQ(any->at(2, 1), 1);
  EXPECT_EQ(any->at(0, 1), 1);
  EXPECT_EQ(any->at(0, 0), 0);
  auto label2 = LoadMask(Path("m.png"), 2, 3, 2);
  ASSERT_TRUE(label2.ok());
  EXPECT_EQ(label2->at(0, 1), 1);
  EXPECT_EQ(label2->at(1, 0), 0);
}

TEST_F(ImageIoTest, ErrorsNameTheFileAndWhatWasExpected) {
  auto missing = LoadImage(Path("nope.png"), ColorRule::kLuminance, Spacing{});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), common::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope.png"), std::string::npos);

  std::ofstream(Path("garbage.png")) << "this is not an image";
  auto garbage = LoadImage(Path("garbage.png"), ColorRule::kLuminance, Spacing{});
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find("garbage.png"), std::string::npos);
  EXPECT_NE(garbage.status().message().find("PNG, TIFF, JPEG or BMP"), std::string::npos);

  cv::Mat m(2, 3, CV_8UC1, cv::Scalar(1));
  ASSERT_TRUE(cv::imwrite(Path("m.png"), m));
  auto wrong_size = LoadMask(Path("m.png"), 0, 4, 2);
  ASSERT_FALSE(wrong_size.ok());
  EXPECT_NE(wrong_size.status().message().find("mask is 3x2 pixels but the image is 4x2"),
            std::string::npos);

  cv::Mat colour(2, 3, CV_8UC3, cv::Scalar(0, 0, 255));
  ASSERT_TRUE(cv::imwrite(Path("cm.png"), colour));
  auto colour_mask = LoadMask(Path("cm.png"), 0, 3, 2);
  ASSERT_FALSE(colour_mask.ok());
  EXPECT_NE(colour_mask.status().message().find("single-channel"), std::string::npos);

  auto bad_spacing = LoadImage(Path("m.png"), ColorRule::kLuminance, Spacing{0.0, 1.0});
  ASSERT_FALSE(bad_spacing.ok());
  EXPECT_NE(bad_spacing.status().message().find("spacing"), std::string::npos);
  EXPECT_FALSE(ParseColorRule("purple").ok());
}

}  // namespace
}  // namespace fedrad::site_agent::radiomics

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "fedrad/common/hash.hpp"
#include "temp_dir.hpp"

namespace fedrad::common {
namespace {

// FIPS 180-2 test vectors.
TEST(CommonHashTest, Sha256KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CommonHashTest, FileHashMatchesInMemoryHashAcrossBufferBoundaries) {
  fedrad::testing::TempDir dir("fedrad_hash");
  const std::string path = dir.File("blob.bin");
  std::string content;
  for (int i = 0; i < 200000; ++i) content.push_back(static_cast<char>(i * 31 % 251));
  std::ofstream(path, std::ios::binary) << content;
  auto hashed = Sha256File(path);
  ASSERT_TRUE(hashed.ok()) << hashed.status().ToString();
  EXPECT_EQ(*hashed, Sha256Hex(content));
}

TEST(CommonHashTest, MissingFileIsNamed) {
  auto hashed = Sha256File("/nonexistent/fedrad/image.png");
  ASSERT_FALSE(hashed.ok());
  EXPECT_EQ(hashed.status().code(), StatusCode::kNotFound);
  EXPECT_NE(hashed.status().message().find("/nonexistent/fedrad/image.png"), std::string::npos);
}

}  // namespace
}  // namespace fedrad::common

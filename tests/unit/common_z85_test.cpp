#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "fedrad/common/secure_memory.hpp"
#include "fedrad/common/sodium_init.hpp"
#include "fedrad/common/z85.hpp"

namespace fedrad::common {
namespace {

// ZeroMQ RFC 32 (Z85) test vector.
constexpr std::array<std::uint8_t, 8> kHelloWorldBytes = {0x86, 0x4F, 0xD2, 0x6F,
                                                          0xB5, 0x59, 0xF7, 0x5B};

TEST(CommonZ85Test, EncodesRfc32Vector) {
  Result<std::string> text = Z85Encode(kHelloWorldBytes);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, "HelloWorld");
}

TEST(CommonZ85Test, DecodesRfc32Vector) {
  Result<std::vector<std::uint8_t>> bytes = Z85Decode("HelloWorld");
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(*bytes, std::vector<std::uint8_t>(kHelloWorldBytes.begin(), kHelloWorldBytes.end()));
}

TEST(CommonZ85Test, RoundTripsAllByteValuesAndExtremes) {
  std::vector<std::uint8_t> data(256);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i);
  data.insert(data.end(), {0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0});
  Result<std::string> text = Z85Encode(data);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->size(), data.size() / 4 * 5);
  EXPECT_EQ(text->substr(text->size() - 10), "%nSc000000");  // 0xFFFFFFFF, 0
  Result<std::vector<std::uint8_t>> back = Z85Decode(*text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, data);
}

TEST(CommonZ85Test, RejectsBadLengths) {
  const std::array<std::uint8_t, 3> three = {1, 2, 3};
  Result<std::string> text = Z85Encode(three);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(text.status().message().find("multiple of 4"), std::string::npos);

  Result<std::vector<std::uint8_t>> bytes = Z85Decode("Hello");
  EXPECT_TRUE(bytes.ok());
  bytes = Z85Decode("HelloWorl");
  ASSERT_FALSE(bytes.ok());
  EXPECT_NE(bytes.status().message().find("multiple of 5"), std::string::npos);
}

TEST(CommonZ85Test, RejectsCharactersOutsideAlphabetNamingPosition) {
  Result<std::vector<std::uint8_t>> bytes = Z85Decode("Hello Worl");
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bytes.status().message().find("position 6"), std::string::npos)
      << bytes.status().message();
  EXPECT_FALSE(Z85Decode("Hello\"orld").ok());
  EXPECT_FALSE(Z85Decode("Hello~orld").ok());
}

TEST(CommonZ85Test, RejectsGroupsAbove32Bits) {
  // "%nSc0" is 0xFFFFFFFF; "%nSc1" is one more.
  EXPECT_TRUE(Z85Decode("%nSc0").ok());
  Result<std::vector<std::uint8_t>> bytes = Z85Decode("%nSc1");
  ASSERT_FALSE(bytes.ok());
  EXPECT_NE(bytes.status().message().find("exceeds 32 bits"), std::string::npos);
  EXPECT_FALSE(Z85Decode("#####").ok());
}

TEST(CommonZ85Test, DecodeToWipesOutputOnError) {
  std::array<std::uint8_t, 8> out;
  out.fill(0xAA);
  EXPECT_FALSE(Z85DecodeTo("HelloWor d", out).ok());
  for (std::uint8_t b : out) EXPECT_EQ(b, 0);
  std::array<std::uint8_t, 4> small{};
  EXPECT_FALSE(Z85DecodeTo("HelloWorld", small).ok());  // wrong output size
}

TEST(CommonSecureBufferTest, AllocatesZeroedMovesAndWipes) {
  ASSERT_TRUE(InitSodium().ok());
  ASSERT_TRUE(InitSodium().ok());  // idempotent
  SecureBuffer a(32);
  ASSERT_EQ(a.size(), 32u);
  ASSERT_NE(a.data(), nullptr);
  for (std::uint8_t b : a.span()) EXPECT_EQ(b, 0);
  for (std::size_t i = 0; i < a.size(); ++i) a.data()[i] = static_cast<std::uint8_t>(i + 1);

  SecureBuffer b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_EQ(a.data(), nullptr);
  ASSERT_EQ(b.size(), 32u);
  EXPECT_EQ(b.data()[31], 32);

  SecureBuffer c(8);
  c = std::move(b);
  EXPECT_EQ(c.size(), 32u);
  EXPECT_EQ(c.data()[0], 1);
  c.Wipe();
  EXPECT_EQ(c.size(), 32u);
  for (std::uint8_t v : c.span()) EXPECT_EQ(v, 0);

  SecureBuffer empty;
  EXPECT_TRUE(empty.empty());
  empty.Wipe();  // no-op, must not crash

  std::array<char, 6> plain = {'s', 'e', 'c', 'r', 'e', 't'};
  SecureWipe(plain.data(), plain.size());
  for (char v : plain) EXPECT_EQ(v, 0);
}

}  // namespace
}  // namespace fedrad::common

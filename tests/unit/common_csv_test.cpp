#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "fedrad/common/csv.hpp"

namespace fedrad::common {
namespace {

TEST(CommonCsvTest, ParsesQuotesCrlfBlankLinesAndBom) {
  auto t = ParseCsv(
      "\xEF\xBB\xBF"
      "id,path,note\r\n1,a.png,plain\r\n\r\n2,\"b,c.png\",\"say \"\"hi\"\"\nthere\"\n",
      "m.csv");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->header, (std::vector<std::string>{"id", "path", "note"}));
  ASSERT_EQ(t->rows.size(), 2u);
  EXPECT_EQ(t->rows[1][1], "b,c.png");
  EXPECT_EQ(t->rows[1][2], "say \"hi\"\nthere");
  EXPECT_EQ(t->row_lines, (std::vector<std::size_t>{2, 4}));
  EXPECT_EQ(t->Column("note"), 2u);
  EXPECT_FALSE(t->Column("nope").has_value());
}

TEST(CommonCsvTest, ErrorsNameFileAndLine) {
  auto width = ParseCsv("a,b\n1,2\n3\n", "m.csv");
  ASSERT_FALSE(width.ok());
  EXPECT_NE(width.status().message().find("m.csv:3: row has 1 fields, expected 2"),
            std::string::npos)
      << width.status().message();
  auto dup = ParseCsv("a,a\n", "m.csv");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("twice"), std::string::npos);
  auto open = ParseCsv("a\n\"x\n", "m.csv");
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("never closed"), std::string::npos);
  auto stray = ParseCsv("a\nx\"y\n", "m.csv");
  ASSERT_FALSE(stray.ok());
  EXPECT_NE(stray.status().message().find("m.csv:2"), std::string::npos);
  EXPECT_FALSE(ParseCsv("", "empty.csv").ok());
}

TEST(CommonCsvTest, EscapeAndFormatRoundTrip) {
  EXPECT_EQ(CsvEscape("plain"), "plain");
  EXPECT_EQ(CsvEscape("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvEscape("q\"q"), "\"q\"\"q\"");
  for (double v : {0.1, 1.0 / 3.0, -2.5e-300, 1e308, 123456789.123456789}) {
    EXPECT_EQ(std::strtod(FormatDouble(v).c_str(), nullptr), v) << FormatDouble(v);
  }
  EXPECT_EQ(FormatDouble(0.1), "0.10000000000000001");
  EXPECT_EQ(FormatDouble(std::nan("")), "");
}

}  // namespace
}  // namespace fedrad::common

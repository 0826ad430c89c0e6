#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fedrad/common/logging.hpp"
#include "temp_dir.hpp"

namespace fedrad::common {
namespace {

class TempDir : public fedrad::testing::TempDir {
 public:
  TempDir() : fedrad::testing::TempDir("fedrad_common_log") {}
};

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every test leaves the process-wide logger in its default state.
class CommonLoggingTest : public ::testing::Test {
 protected:
  void TearDown() override { ASSERT_TRUE(ConfigureLogging(LogOptions{}).ok()); }
  TempDir dir_;
};

TEST_F(CommonLoggingTest, ParsesLevelsAndFormats) {
  EXPECT_EQ(*ParseLogLevel("trace"), LogLevel::kTrace);
  EXPECT_EQ(*ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("info"), LogLevel::kInfo);
  EXPECT_EQ(*ParseLogLevel("warn"), LogLevel::kWarn);
  EXPECT_EQ(*ParseLogLevel("error"), LogLevel::kError);
  EXPECT_EQ(*ParseLogLevel("off"), LogLevel::kOff);
  Result<LogLevel> bad = ParseLogLevel("loud");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("\"loud\""), std::string::npos);
  EXPECT_NE(bad.status().message().find("trace, debug, info, warn, error, off"), std::string::npos);

  EXPECT_EQ(*ParseLogFormat("human"), LogFormat::kHuman);
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_FALSE(ParseLogFormat("xml").ok());

  for (LogLevel level : {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn,
                         LogLevel::kError, LogLevel::kOff}) {
    Result<LogLevel> round = ParseLogLevel(LogLevelName(level));
    ASSERT_TRUE(round.ok());
    EXPECT_EQ(*round, level);
  }
}

TEST_F(CommonLoggingTest, DefaultIsInfo) {
  EXPECT_TRUE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  EXPECT_FALSE(LogEnabled(LogLevel::kDebug));
  EXPECT_FALSE(LogEnabled(LogLevel::kOff));
}

TEST_F(CommonLoggingTest, HumanFormatToFile) {
  const std::string path = dir_.File("human.log");
  ASSERT_TRUE(ConfigureLogging({LogLevel::kInfo, LogFormat::kHuman, path}).ok());
  Log(LogLevel::kInfo, "coordinator", "site admitted", {{"site", "site_a"}, {"session", "7f3a"}});
  Log(LogLevel::kWarn, "site", "slow \"peer\"",
      {{"note", "value with spaces"}, {"q", "say \"hi\""}, {"empty", ""}, {"eq", "a=b"}});
  Log(LogLevel::kError, "x", "line1\nline2");
  const std::vector<std::string> lines = ReadLines(path);
  ASSERT_EQ(lines.size(), 3u);
  const std::regex ts(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z )");
  for (const auto& line : lines) EXPECT_TRUE(std::regex_search(line, ts)) << line;
  EXPECT_EQ(lines[0].substr(25), "INFO  coordinator: site admitted site=site_a session=7f3a");
  EXPECT_EQ(lines[1].substr(25),
            "WARN  site: slow \"peer\" note=\"value with spaces\" q=\"say \\\"hi\\\"\" "
            "empty=\"\" eq=\"a=b\"");
  EXPECT_EQ(lines[2].substr(25), "ERROR x: line1\\nline2");
}

TEST_F(CommonLoggingTest, JsonFormatToFileParsesAsJsonLines) {
  const std::string path = dir_.File("json.log");
  ASSERT_TRUE(ConfigureLogging({LogLevel::kDebug, LogFormat::kJson, path}).ok());
  Log(LogLevel::kInfo, "coordinator", "site admitted", {{"site", "site_a"}, {"session", "7f3a"}});
  const std::vector<LogField> fields = {{"quote", "a \"b\"\n"}, {"msg", "shadow"}};
  Log(LogLevel::kDebug, "aggregator", "round done", fields);
  const std::vector<std::string> lines = ReadLines(path);
  ASSERT_EQ(lines.size(), 2u);

  const nlohmann::json first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["level"], "info");
  EXPECT_EQ(first["component"], "coordinator");
  EXPECT_EQ(first["msg"], "site admitted");
  EXPECT_EQ(first["site"], "site_a");
  EXPECT_EQ(first["session"], "7f3a");
  EXPECT_TRUE(std::regex_match(first["ts"].get<std::string>(),
                               std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)")));
  // Member order: ts, level, component, msg, then fields.
  EXPECT_EQ(lines[0].rfind("{\"ts\":\"", 0), 0u) << lines[0];
  EXPECT_LT(lines[0].find("\"level\""), lines[0].find("\"component\""));
  EXPECT_LT(lines[0].find("\"component\""), lines[0].find("\"msg\""));
  EXPECT_LT(lines[0].find("\"msg\""), lines[0].find("\"site\""));
  EXPECT_LT(lines[0].find("\"site\""), lines[0].find("\"session\""));

  const nlohmann::json second = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(second["level"], "debug");
  EXPECT_EQ(second["msg"], "round done");  // a field cannot shadow the message
  EXPECT_EQ(second["field_msg"], "shadow");
  EXPECT_EQ(second["quote"], "a \"b\"\n");
}

TEST_F(CommonLoggingTest, LevelFiltering) {
  const std::string path = dir_.File("filter.log");
  ASSERT_TRUE(ConfigureLogging({LogLevel::kWarn, LogFormat::kJson, path}).ok());
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kWarn));
  Log(LogLevel::kTrace, "c", "trace");
  Log(LogLevel::kDebug, "c", "debug");
  Log(LogLevel::kInfo, "c", "info");
  Log(LogLevel::kWarn, "c", "warn");
  Log(LogLevel::kError, "c", "error");
  Log(LogLevel::kOff, "c", "off is never a record level");
  std::vector<std::string> lines = ReadLines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["msg"], "warn");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["msg"], "error");

  ASSERT_TRUE(ConfigureLogging({LogLevel::kOff, LogFormat::kJson, path}).ok());
  Log(LogLevel::kError, "c", "suppressed");
  EXPECT_EQ(ReadLines(path).size(), 2u);

  ASSERT_TRUE(ConfigureLogging({LogLevel::kTrace, LogFormat::kJson, path}).ok());
  Log(LogLevel::kTrace, "c", "trace now");
  lines = ReadLines(path);
  ASSERT_EQ(lines.size(), 3u);  // appended, not truncated
  EXPECT_EQ(nlohmann::json::parse(lines[2])["level"], "trace");
}

TEST_F(CommonLoggingTest, AppendsToExistingFile) {
  const std::string path = dir_.File("append.log");
  { std::ofstream(path) << "old line\n"; }
  ASSERT_TRUE(ConfigureLogging({LogLevel::kInfo, LogFormat::kHuman, path}).ok());
  Log(LogLevel::kInfo, "c", "new line");
  const std::vector<std::string> lines = ReadLines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "old line");
  EXPECT_NE(lines[1].find("INFO  c: new line"), std::string::npos);
}

TEST_F(CommonLoggingTest, UnopenableFileIsAnErrorNamingThePath) {
  const std::string path = dir_.File("no/such/dir/x.log");
  const Status s = ConfigureLogging({LogLevel::kInfo, LogFormat::kHuman, path});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("No such file or directory"), std::string::npos) << s.message();
}

TEST_F(CommonLoggingTest, ConcurrentRecordsNeverInterleave) {
  const std::string path = dir_.File("threads.log");
  ASSERT_TRUE(ConfigureLogging({LogLevel::kInfo, LogFormat::kJson, path}).ok());
  constexpr int kThreads = 8;
  constexpr int kRecords = 300;
  const std::string padding(300, 'p');
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &padding] {
      for (int i = 0; i < kRecords; ++i) {
        Log(LogLevel::kInfo, "worker", "record",
            {{"thread", std::to_string(t)}, {"i", std::to_string(i)}, {"pad", padding}});
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const std::vector<std::string> lines = ReadLines(path);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kRecords));
  std::vector<int> next(kThreads, 0);
  for (const auto& line : lines) {
    const nlohmann::json record = nlohmann::json::parse(line);  // throws if torn
    const int t = std::stoi(record["thread"].get<std::string>());
    ASSERT_EQ(std::stoi(record["i"].get<std::string>()), next[t]);  // per-thread order
    ++next[t];
    ASSERT_EQ(record["pad"], padding);
  }
  EXPECT_EQ(ReadAll(path).back(), '\n');
}

}  // namespace
}  // namespace fedrad::common

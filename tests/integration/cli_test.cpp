// The command line itself: documented exit codes and help.
#include <gtest/gtest.h>

#include <string>

#include "support/process.hpp"

namespace fedrad::integration {
namespace {

int RunFedrad(const TempDir& dir, const std::string& name, const std::vector<std::string>& args,
              std::string* out = nullptr, std::string* err = nullptr) {
  auto p = Process::StartFedrad(name, args, dir.path());
  EXPECT_NE(p, nullptr);
  if (p == nullptr) return -1;
  const auto code = p->WaitForExit(milliseconds(20000));
  EXPECT_TRUE(code.has_value());
  if (out != nullptr) *out = p->Stdout();
  if (err != nullptr) *err = p->Stderr();
  return code.value_or(-1);
}

TEST(Cli, UsageErrorsExitWithTwoAndHelpWithZero) {
  TempDir dir;
  std::string out;
  std::string err;
  EXPECT_EQ(RunFedrad(dir, "none", {}, nullptr, &err), 2);
  EXPECT_NE(err.find("subcommand"), std::string::npos) << err;
  EXPECT_EQ(RunFedrad(dir, "bogus", {"extract", "--bogus"}, nullptr, &err), 2);
  EXPECT_EQ(RunFedrad(dir, "missing", {"coordinator"}, nullptr, &err), 2);
  EXPECT_NE(err.find("--config"), std::string::npos) << err;
  EXPECT_EQ(RunFedrad(dir, "help", {"--help"}, &out), 0);
  for (const char* sub : {"keygen", "coordinator", "site", "extract", "version"}) {
    EXPECT_NE(out.find(sub), std::string::npos) << "help lists " << sub;
  }
  EXPECT_EQ(RunFedrad(dir, "version", {"version"}, &out), 0);
  EXPECT_NE(out.find("wire protocol 1.0"), std::string::npos) << out;
}

}  // namespace
}  // namespace fedrad::integration

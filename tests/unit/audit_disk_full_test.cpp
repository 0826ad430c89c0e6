// Failure drill (issue 7 item 6): the disk holding an audit log fills up.
// A child process writes its audit log under a file-size limit
// (RLIMIT_FSIZE, the same short write and EFBIG a full disk gives as
// ENOSPC) until an append fails; the failure must name the log and the
// record, the file must end with a complete record (nothing half-written),
// and the log must still verify with the party's key. The round journal gets
// the same treatment: a failed append leaves a journal that reopens with its
// complete rounds.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "fedrad/common/audit_log.hpp"
#include "fedrad/common/audit_verify.hpp"
#include "fedrad/common/keys.hpp"
#include "fedrad/coordinator/round_journal.hpp"
#include "temp_dir.hpp"

namespace fedrad {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `body` in a child whose files may not grow beyond `limit` bytes;
// returns the child's exit status (body's return value).
template <class Body>
int RunWithFileSizeLimit(rlim_t limit, Body body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);  // a write past the limit then fails with EFBIG
    rlimit rl{limit, limit};
    if (::setrlimit(RLIMIT_FSIZE, &rl) != 0) ::_exit(90);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

TEST(AuditDiskFull, AFailedAppendLeavesNoHalfRecordAndTheLogVerifies) {
  testing::TempDir dir;
  auto identity = common::GenerateIdentity("site_a");
  ASSERT_TRUE(identity.ok()) << identity.status().ToString();
  const std::string path = dir.path() + "/site_a.audit.jsonl";
  const std::string report = dir.path() + "/error.txt";
  const int code = RunWithFileSizeLimit(6000, [&]() -> int {
    auto log = common::AuditLog::Open(path, *identity);
    if (!log.ok()) return 2;
    for (int i = 0; i < 1000; ++i) {
      common::AuditEntry entry;
      entry.event = "round_start";
      entry.study = "crlm";
      entry.round = i + 1;
      entry.detail = std::string(150, 'x');
      auto appended = (*log)->Append(entry);
      if (!appended.ok()) {
        std::ofstream(report) << appended.status().ToString();
        return 0;  // the party stops here
      }
    }
    return 3;  // the limit was never hit
  });
  ASSERT_EQ(code, 0);
  const std::string error = Slurp(report);
  EXPECT_NE(error.find(path), std::string::npos) << error;
  EXPECT_NE(error.find("cannot append audit record"), std::string::npos) << error;
  EXPECT_NE(error.find("nothing of it was kept"), std::string::npos) << error;

  const std::string text = Slurp(path);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n') << "the log ends in the middle of a record";
  EXPECT_LE(text.size(), 6000u);
  const auto result =
      common::VerifyAuditLogs({{"site_a.log", text}}, {{"site_a", identity->pub.sign_public_hex}});
  for (const auto& finding : result.findings) {
    EXPECT_FALSE(finding.error) << finding.message;  // no log_close is only a warning
  }
  EXPECT_TRUE(result.passed()) << result.report;
}

TEST(AuditDiskFull, AJournalWhoseDiskFilledReopensWithItsCompleteRounds) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/study.journal";
  const int code = RunWithFileSizeLimit(20000, [&]() -> int {
    coordinator::JournalHeader header;
    header.study_id = "crlm";
    header.spec_sha256 = std::string(64, 'b');
    header.job_id = "study-1";
    auto journal = coordinator::RoundJournal::Create(path, header);
    if (!journal.ok()) return 2;
    for (std::uint64_t i = 0; i < 1000; ++i) {
      coordinator::JournalRound round;
      round.stream = "train";
      round.index = i;
      round.request_digest = std::string(64, 'c');
      round.sums = {std::vector<double>(300, static_cast<double>(i))};
      if (!journal->Append(round).ok()) return 0;
    }
    return 3;
  });
  ASSERT_EQ(code, 0);
  auto reopened = coordinator::RoundJournal::Open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  const std::uint64_t rounds = reopened->recorded("train");
  EXPECT_GT(rounds, 0u);
  auto last = reopened->ReadRound("train", rounds - 1);
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_EQ(last->sums.front().front(), static_cast<double>(rounds - 1));
}

}  // namespace
}  // namespace fedrad

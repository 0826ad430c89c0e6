#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "fedrad/common/files.hpp"
#include "temp_dir.hpp"

namespace fedrad::common {
namespace {

class TempDir : public fedrad::testing::TempDir {
 public:
  TempDir() : fedrad::testing::TempDir("fedrad_common_files") {}
};

// Sets the umask for one scope.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

unsigned ModeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0xFFFFFFFF;
  return static_cast<unsigned>(st.st_mode & 07777);
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(CommonFilesTest, ReadFileReadsContent) {
  TempDir dir;
  const std::string path = dir.File("a.txt");
  std::string content = "hello\n";
  content.push_back('\0');
  content += "binary";
  { std::ofstream(path, std::ios::binary) << content; }
  Result<std::string> r = ReadFile(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, content);
}

TEST(CommonFilesTest, ReadFileErrorsNamePathAndReason) {
  TempDir dir;
  Result<std::string> missing = ReadFile(dir.File("missing"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            dir.File("missing") + ": cannot open for reading: No such file or directory");

  Result<std::string> directory = ReadFile(dir.path());
  ASSERT_FALSE(directory.ok());
  EXPECT_TRUE(Contains(directory.status().message(), dir.path() + ": is a directory"));

  const std::string big = dir.File("big");
  { std::ofstream(big) << std::string(100, 'x'); }
  Result<std::string> too_big = ReadFile(big, 99);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(Contains(too_big.status().message(), big));
  EXPECT_TRUE(Contains(too_big.status().message(), "100 bytes"));
  EXPECT_TRUE(ReadFile(big, 100).ok());
}

TEST(CommonFilesTest, WriteFileAtomicCreatesAndReplaces) {
  TempDir dir;
  const std::string path = dir.File("state.json");
  ASSERT_TRUE(WriteFileAtomic(path, "first version, longer than the second").ok());
  EXPECT_EQ(Slurp(path), "first version, longer than the second");
  EXPECT_EQ(ModeOf(path), 0644u);
  ASSERT_TRUE(WriteFileAtomic(path, "second", 0600).ok());
  EXPECT_EQ(Slurp(path), "second");
  EXPECT_EQ(ModeOf(path), 0600u);
  // No temporary file is left behind.
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST(CommonFilesTest, WriteFileAtomicFailureKeepsOldContent) {
  TempDir dir;
  const std::string path = dir.File("keep.txt");
  ASSERT_TRUE(WriteFileAtomic(path, "original").ok());
  // A directory squatting on the temporary name makes the write fail.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  ASSERT_EQ(::mkdir(tmp.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((tmp + "/x").c_str(), 0700), 0);  // non-empty: unlink cannot remove it
  const Status s = WriteFileAtomic(path, "replacement");
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), tmp)) << s.message();
  EXPECT_EQ(Slurp(path), "original");
}

TEST(CommonFilesTest, WriteFileAtomicIntoMissingDirectoryFails) {
  TempDir dir;
  const std::string path = dir.File("no/such/dir/file");
  const Status s = WriteFileAtomic(path, "x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(s.message(), dir.File("no/such/dir/")));
}

TEST(CommonFilesTest, WriteNewFileRefusesExistingAndLeavesItIntact) {
  TempDir dir;
  const std::string path = dir.File("id.secret");
  ASSERT_TRUE(WriteNewFile(path, "original", 0600).ok());
  const Status s = WriteNewFile(path, "replacement", 0644);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(Contains(s.message(), path)) << s.message();
  EXPECT_EQ(Slurp(path), "original");
  EXPECT_EQ(ModeOf(path), 0600u);
}

TEST(CommonFilesTest, WriteNewFileRefusesSymlink) {
  TempDir dir;
  const std::string target = dir.File("target");
  const std::string link = dir.File("link");
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);  // dangling
  const Status s = WriteNewFile(link, "x", 0600);
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_FALSE(std::filesystem::exists(target));
}

TEST(CommonFilesTest, WriteNewFileModeIsExactDespiteUmask) {
  TempDir dir;
  {
    ScopedUmask mask(022);
    ASSERT_TRUE(WriteNewFile(dir.File("a"), "a", 0600).ok());
    ASSERT_TRUE(WriteNewFile(dir.File("b"), "b", 0644).ok());
  }
  {
    ScopedUmask mask(077);
    ASSERT_TRUE(WriteNewFile(dir.File("c"), "c", 0600).ok());
    ASSERT_TRUE(WriteNewFile(dir.File("d"), "d", 0644).ok());  // umask would give 0600
    ASSERT_TRUE(WriteFileAtomic(dir.File("e"), "e", 0644).ok());
  }
  {
    ScopedUmask mask(0);
    ASSERT_TRUE(WriteNewFile(dir.File("f"), "f", 0600).ok());
  }
  EXPECT_EQ(ModeOf(dir.File("a")), 0600u);
  EXPECT_EQ(ModeOf(dir.File("b")), 0644u);
  EXPECT_EQ(ModeOf(dir.File("c")), 0600u);
  EXPECT_EQ(ModeOf(dir.File("d")), 0644u);
  EXPECT_EQ(ModeOf(dir.File("e")), 0644u);
  EXPECT_EQ(ModeOf(dir.File("f")), 0600u);
  EXPECT_EQ(Slurp(dir.File("d")), "d");
}

TEST(CommonFilesTest, WriteNewFileInMissingDirectoryNamesPath) {
  TempDir dir;
  const std::string path = dir.File("missing/x");
  const Status s = WriteNewFile(path, "x", 0600);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(s.message(), path)) << s.message();
}

TEST(CommonFilesTest, WriteNewFileRemovesPartialFileOnWriteFailure) {
  // A soft file size limit makes the write fail part-way with EFBIG (SIGXFSZ
  // ignored); both are restored afterwards.
  TempDir dir;
  const std::string path = dir.File("partial");
  struct rlimit old_limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit small_limit = old_limit;
  small_limit.rlim_cur = 1024;
  if (old_limit.rlim_max != RLIM_INFINITY && old_limit.rlim_max < 1024) {
    GTEST_SKIP() << "hard RLIMIT_FSIZE below 1024";
  }
  void (*old_handler)(int) = ::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small_limit), 0);
  const Status s = WriteNewFile(path, std::string(4096, 'x'), 0600);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  ::signal(SIGXFSZ, old_handler);

  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(Contains(s.message(), path + ": write failed")) << s.message();
  EXPECT_FALSE(std::filesystem::exists(path));
  // The name is free again for a retry.
  EXPECT_TRUE(WriteNewFile(path, "small", 0600).ok());
}

}  // namespace
}  // namespace fedrad::common

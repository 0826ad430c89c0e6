#include "support/process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <utility>

namespace fedrad::integration {
namespace {

using Clock = std::chrono::steady_clock;
constexpr milliseconds kPollInterval{20};
constexpr std::size_t kDumpTailLines = 60;

// Prints the last lines of every output and log file in `dir`, so that a
// failure in CI can be diagnosed from the test's output alone.
void DumpTails(const std::string& dir) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    const std::string ext = entry.path().extension().string();
    if (ext == ".log" || ext == ".stdout" || ext == ".stderr") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::string text = ReadTextFile(file.string());
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    const std::size_t first = lines.size() > kDumpTailLines ? lines.size() - kDumpTailLines : 0;
    std::cerr << "----- " << file.string() << " (" << lines.size() << " lines"
              << (first > 0 ? ", last " + std::to_string(kDumpTailLines) + " shown" : "")
              << ") -----\n";
    for (std::size_t i = first; i < lines.size(); ++i) std::cerr << lines[i] << "\n";
  }
}

}  // namespace

std::string FedradBinary() {
  // FEDRAD_TEST_BINARY runs the suite against another build of fedrad.
  const char* other = std::getenv("FEDRAD_TEST_BINARY");
  return other != nullptr && *other != '\0' ? other : FEDRAD_BINARY;
}

// ---------------------------------------------------------------------------
// TempDir
// ---------------------------------------------------------------------------
TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/fedrad-integ-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp(" << pattern << ") failed: " << std::strerror(errno);
    return;
  }
  path_ = buffer.data();
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  if (::testing::Test::HasFailure()) {
    DumpTails(path_);
    std::cerr << "test failed: kept its directory " << path_ << "\n";
    return;
  }
  const char* keep = std::getenv("FEDRAD_KEEP_TEST_DIRS");
  if (keep != nullptr && *keep != '\0' && std::string_view(keep) != "0") {
    std::cerr << "FEDRAD_KEEP_TEST_DIRS: kept " << path_ << "\n";
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::File(std::string_view name) const { return path_ + "/" + std::string(name); }

// ---------------------------------------------------------------------------
// Process
// ---------------------------------------------------------------------------
Process::Process(std::string name, pid_t pid, std::string stdout_path, std::string stderr_path)
    : name_(std::move(name)),
      pid_(pid),
      stdout_path_(std::move(stdout_path)),
      stderr_path_(std::move(stderr_path)) {}

std::unique_ptr<Process> Process::Start(std::string name, const std::string& binary,
                                        const std::vector<std::string>& args,
                                        std::string stdout_path, std::string stderr_path) {
  // Everything the child needs is prepared before fork(): between fork and
  // exec the child may only make async-signal-safe calls.
  std::vector<std::string> argv_storage;
  argv_storage.push_back(binary);
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
  const int out_fd = ::open(stdout_path.c_str(), flags, 0644);
  const int err_fd = ::open(stderr_path.c_str(), flags, 0644);
  const int in_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out_fd < 0 || err_fd < 0 || in_fd < 0) {
    ADD_FAILURE() << "cannot open the output files of " << name << ": " << std::strerror(errno);
    for (int fd : {out_fd, err_fd, in_fd}) {
      if (fd >= 0) ::close(fd);
    }
    return nullptr;
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Child. Dies with the test process, whatever kills it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD}) ::signal(sig, SIG_DFL);
    ::dup2(in_fd, STDIN_FILENO);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    static const char kMessage[] = "integration harness: execv failed\n";
    [[maybe_unused]] auto written = ::write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(out_fd);
  ::close(err_fd);
  ::close(in_fd);
  if (pid < 0) {
    ADD_FAILURE() << "fork failed for " << name << ": " << std::strerror(fork_errno);
    return nullptr;
  }
  return std::unique_ptr<Process>(
      new Process(std::move(name), pid, std::move(stdout_path), std::move(stderr_path)));
}

std::unique_ptr<Process> Process::StartFedrad(std::string name,
                                              const std::vector<std::string>& args,
                                              const std::string& dir) {
  std::string out = dir + "/" + name + ".stdout";
  std::string err = dir + "/" + name + ".stderr";
  return Start(std::move(name), FedradBinary(), args, std::move(out), std::move(err));
}

Process::~Process() {
  if (exit_code_.has_value() || pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  Reap(/*block=*/true);
}

bool Process::Reap(bool block) {
  if (exit_code_.has_value()) return true;
  int status = 0;
  pid_t got;
  do {
    got = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (got < 0 && errno == EINTR);
  if (got == 0) return false;
  if (got < 0) {
    ADD_FAILURE() << "waitpid(" << pid_ << ") for " << name_ << ": " << std::strerror(errno);
    exit_code_ = -1;
    return true;
  }
  if (WIFEXITED(status)) {
    exit_code_ = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    exit_code_ = 128 + WTERMSIG(status);
  } else {
    return false;  // stopped/continued: still alive
  }
  return true;
}

std::optional<int> Process::WaitForExit(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!Reap(/*block=*/false)) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(
        std::min<Clock::duration>(milliseconds(10), deadline - Clock::now()));
  }
  return exit_code_;
}

bool Process::Running() { return !Reap(/*block=*/false); }

void Process::Kill(int signal) {
  if (!Reap(/*block=*/false)) ::kill(pid_, signal);
}

std::string Process::Stdout() const { return ReadTextFile(stdout_path_); }
std::string Process::Stderr() const { return ReadTextFile(stderr_path_); }

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------
std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteTextFile(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) ADD_FAILURE() << "cannot write " << path;
}

std::size_t CountOccurrences(const std::string& path, std::string_view needle) {
  if (needle.empty()) return 0;
  const std::string text = ReadTextFile(path);
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

bool WaitForCount(const std::string& path, std::string_view needle, std::size_t count,
                  milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (CountOccurrences(path, needle) >= count) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPollInterval);
  }
}

bool WaitForFileContains(const std::string& path, std::string_view needle, milliseconds timeout) {
  return WaitForCount(path, needle, 1, timeout);
}

std::vector<std::string> LinesContaining(const std::string& path, std::string_view needle) {
  std::vector<std::string> lines;
  std::istringstream in(ReadTextFile(path));
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) != std::string::npos) lines.push_back(line);
  }
  return lines;
}

}  // namespace fedrad::integration

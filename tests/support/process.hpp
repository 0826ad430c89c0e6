// Test harness for the multi-process integration tests: child processes with
// their output captured in files, temporary directories, and polling waits.
//
// Every wait takes a timeout; a Process kills (SIGKILL) and reaps its child
// when destroyed, and the child gets SIGKILL if the test process dies first
// (PR_SET_PDEATHSIG), so no test leaves processes behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fedrad::integration {

using std::chrono::milliseconds;

// The `fedrad` executable under test: the one built with the tests, or
// $FEDRAD_TEST_BINARY if set.
std::string FedradBinary();

// A fresh directory (mkdtemp) removed with its content at the end of the
// test, unless the test failed: then it is kept and its path printed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/name.
  std::string File(std::string_view name) const;

 private:
  std::string path_;
};

// One child process; stdout and stderr go to files.
class Process {
 public:
  // Starts `binary` with `args` (argv[1..]). Returns nullptr (and records a
  // test failure) if the process cannot be started.
  static std::unique_ptr<Process> Start(std::string name, const std::string& binary,
                                        const std::vector<std::string>& args,
                                        std::string stdout_path, std::string stderr_path);
  // Starts `fedrad args...` with output in dir/NAME.stdout and dir/NAME.stderr.
  static std::unique_ptr<Process> StartFedrad(std::string name,
                                              const std::vector<std::string>& args,
                                              const std::string& dir);

  ~Process();  // SIGKILL + reap if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  const std::string& stdout_path() const { return stdout_path_; }
  const std::string& stderr_path() const { return stderr_path_; }

  // Waits up to `timeout` for the process to exit. Returns its exit code, or
  // 128 + signal number if a signal ended it; std::nullopt if it is still
  // running. Once exited, returns the same code at once.
  std::optional<int> WaitForExit(milliseconds timeout);
  bool Running();
  // Sends `signal` (no-op once the process has been reaped).
  void Kill(int signal);

  std::string Stdout() const;
  std::string Stderr() const;

 private:
  Process(std::string name, pid_t pid, std::string stdout_path, std::string stderr_path);
  bool Reap(bool block);

  std::string name_;
  pid_t pid_ = -1;
  std::string stdout_path_;
  std::string stderr_path_;
  std::optional<int> exit_code_;
};

// Whole file, or "" if it cannot be read.
std::string ReadTextFile(const std::string& path);
// Writes (replaces) a file; records a test failure on error.
void WriteTextFile(const std::string& path, std::string_view content);

// Non-overlapping occurrences of `needle` in the file (0 if unreadable).
std::size_t CountOccurrences(const std::string& path, std::string_view needle);
// Polls until the file contains `needle`; false on timeout.
bool WaitForFileContains(const std::string& path, std::string_view needle, milliseconds timeout);
// Polls until the file contains `needle` at least `count` times.
bool WaitForCount(const std::string& path, std::string_view needle, std::size_t count,
                  milliseconds timeout);
// Lines of the file that contain `needle` (for failure messages).
std::vector<std::string> LinesContaining(const std::string& path, std::string_view needle);

}  // namespace fedrad::integration

// Runs LLVMFuzzerTestOneInput over files, without libFuzzer: used by ctest
// (fuzz_decoder_seed_corpus) to replay the seed corpus and the golden vectors
// in every build, sanitized or not.
//
//   fuzz_decoder_replay <file-or-directory>...
//
// Directories are read recursively. Exits 1 if no input ran (a wrong path
// must not pass silently); a failing input aborts inside the target.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool RunFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return false;
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()),  // NOLINT
                         bytes.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t ran = 0;
  bool read_error = false;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::recursive_directory_iterator(arg, ec)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      if (ec) {
        std::fprintf(stderr, "cannot list %s: %s\n", arg.c_str(), ec.message().c_str());
        read_error = true;
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) RunFile(f) ? ++ran : (read_error = true, ran);
    } else if (std::filesystem::is_regular_file(arg, ec)) {
      RunFile(arg) ? ++ran : (read_error = true, ran);
    } else {
      std::fprintf(stderr, "no such file or directory: %s\n", arg.c_str());
      read_error = true;
    }
  }
  std::printf("fuzz_decoder_replay: ran %zu inputs\n", ran);
  if (ran == 0) {
    std::fprintf(stderr, "fuzz_decoder_replay: no input ran\n");
    return 1;
  }
  return read_error ? 1 : 0;
}

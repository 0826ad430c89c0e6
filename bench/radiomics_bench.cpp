// Radiomics extraction benchmark (issue: <= 40 ms per image on one core,
// <= 50 MB resident per worker).
//
// Workload: one 800x600 synthetic speckle image (gamma speckle, a darker
// elliptical lesion of about 150x120 px, a 200x200 px parenchyma ROI), the
// full default parameter set (original + LoG 1/2/3 mm + 4 coif1 wavelet
// bands; every feature family) on the three regions lesion, ring5mm and
// parenchyma. Reports the median and min wall time per image over
// --repeat runs on one thread, the feature count, and the peak resident
// set size of the process.
//
//   fedrad_bench_radiomics [--repeat N] [--spacing MM] [--params FILE] [--dump FILE]
//                          [--tuned-malloc]
//
// --dump FILE writes the features of one run as "name,value" lines (%.17g),
// to compare the results of two builds bit for bit. --tuned-malloc applies the
// allocator setting of `fedrad extract`'s workers (TuneAllocatorForExtraction)
// first, so the per-image time matches what a worker sees between cases.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "fedrad/site_agent/radiomics/extraction.hpp"

namespace {

using fedrad::site_agent::radiomics::ExtractionParams;
using fedrad::site_agent::radiomics::Grid;
using fedrad::site_agent::radiomics::Image;
using fedrad::site_agent::radiomics::Mask;

struct Workload {
  Image image;
  Mask lesion;
  Mask parenchyma;
};

Workload MakeWorkload(double spacing_mm) {
  constexpr int kWidth = 800;
  constexpr int kHeight = 600;
  Workload w;
  w.image.spacing = {spacing_mm, spacing_mm};
  w.image.pixels = Grid<double>(kWidth, kHeight);
  w.lesion = Mask(kWidth, kHeight, 0);
  w.parenchyma = Mask(kWidth, kHeight, 0);
  std::mt19937 rng(20261127);
  std::gamma_distribution<double> speckle(2.0, 30.0);
  for (int y = 0; y < kHeight; ++y) {
    for (int x = 0; x < kWidth; ++x) {
      const double u = (x - 300.0) / 75.0;
      const double v = (y - 300.0) / 60.0;
      const bool in_lesion = u * u + v * v <= 1.0;
      double value = speckle(rng) * (in_lesion ? 0.6 : 1.0);
      w.image.pixels.at(x, y) = std::min(255.0, std::round(value));
      w.lesion.at(x, y) = in_lesion ? 1 : 0;
      w.parenchyma.at(x, y) = (x >= 500 && x < 700 && y >= 200 && y < 400) ? 1 : 0;
    }
  }
  return w;
}

// Resident memory split from /proc/self/status (kB): RssFile is file-backed
// (shared libraries and their page cache, shared between processes), RssAnon
// is private (heap, stacks). Zeros where /proc is not available.
struct RssSplit {
  long file_kib = 0;
  long anon_kib = 0;
};

RssSplit CurrentRss() {
  RssSplit split;
  std::FILE* status = std::fopen("/proc/self/status", "r");
  if (status == nullptr) return split;
  char line[256];
  while (std::fgets(line, sizeof(line), status) != nullptr) {
    long value = 0;
    if (std::sscanf(line, "RssFile: %ld", &value) == 1) split.file_kib = value;
    if (std::sscanf(line, "RssAnon: %ld", &value) == 1) split.anon_kib = value;
  }
  std::fclose(status);
  return split;
}

long PeakRssKiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// Writes name,value lines; false (with a message) when the file cannot be written.
bool DumpFeatures(const std::string& path,
                  const fedrad::site_agent::radiomics::CaseResult& result) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    return false;
  }
  for (const auto& [name, value] : result.features) {
    std::fprintf(file, "%s,%.17g\n", name.c_str(), value);
  }
  return std::fclose(file) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  int repeat = 20;
  double spacing = 0.2;
  std::string params_path;
  std::string dump_path;
  bool tuned_malloc = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--repeat" && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--spacing" && i + 1 < argc) {
      spacing = std::atof(argv[++i]);
    } else if (arg == "--params" && i + 1 < argc) {
      params_path = argv[++i];
    } else if (arg == "--dump" && i + 1 < argc) {
      dump_path = argv[++i];
    } else if (arg == "--tuned-malloc") {
      tuned_malloc = true;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--repeat N] [--spacing MM] [--params FILE] [--dump FILE] "
                   "[--tuned-malloc]\n",
                   argv[0]);
      return 2;
    }
  }
  ExtractionParams params = fedrad::site_agent::radiomics::DefaultExtractionParams();
  if (!params_path.empty()) {
    auto loaded = fedrad::site_agent::radiomics::LoadExtractionParams(params_path);
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
      return 1;
    }
    params = *loaded;
  }
  if (tuned_malloc && !fedrad::site_agent::radiomics::TuneAllocatorForExtraction()) {
    std::fprintf(stderr, "--tuned-malloc: not available with this C library\n");
  }
  const long rss_before = PeakRssKiB();
  const RssSplit split_before = CurrentRss();
  const Workload w = MakeWorkload(spacing);
  std::vector<double> ms;
  std::size_t features = 0;
  for (int r = 0; r < repeat + 1; ++r) {
    const auto start = std::chrono::steady_clock::now();
    auto result = fedrad::site_agent::radiomics::ExtractFromArrays("bench", w.image, w.lesion,
                                                                   &w.parenchyma, nullptr, params);
    const auto stop = std::chrono::steady_clock::now();
    if (!result.ok()) {
      std::fprintf(stderr, "%s\n", result.status().ToString().c_str());
      return 1;
    }
    features = result->features.size();
    if (r == 0 && !dump_path.empty() && !DumpFeatures(dump_path, *result)) return 1;
    if (r > 0) ms.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("image 800x600, spacing %.3g mm, regions lesion/ring5mm/parenchyma\n", spacing);
  std::printf("image types: %s%zu filtered; features per image: %zu\n",
              params.original ? "original + " : "", params.filters.size(), features);
  std::printf("per image (1 thread, %d runs%s): median %.1f ms, min %.1f ms, max %.1f ms\n", repeat,
              tuned_malloc ? ", tuned malloc" : "", ms[ms.size() / 2], ms.front(), ms.back());
  const RssSplit split_after = CurrentRss();
  std::printf("peak RSS: %.1f MB (before workload %.1f MB)\n",
              static_cast<double>(PeakRssKiB()) / 1024.0, static_cast<double>(rss_before) / 1024.0);
  std::printf("RSS file-backed (shared libraries): %.1f MB before, %.1f MB after\n",
              static_cast<double>(split_before.file_kib) / 1024.0,
              static_cast<double>(split_after.file_kib) / 1024.0);
  std::printf("RSS private (heap, stacks): %.1f MB before, %.1f MB after\n",
              static_cast<double>(split_before.anon_kib) / 1024.0,
              static_cast<double>(split_after.anon_kib) / 1024.0);
  return 0;
}

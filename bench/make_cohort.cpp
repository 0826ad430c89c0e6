// Writes a synthetic cohort for `fedrad extract` benchmarks and result
// comparisons: N cases of gamma-speckle images (8-bit PNG) with an elliptical
// darker lesion, a rectangular parenchyma mask, and cohort.csv.
//
//   fedrad_make_cohort OUT_DIR [--cases N] [--seed S] [--varied]
//
// Default: every case is the benchmark's workload shape (800x600, lesion
// about 150x120 px, parenchyma 200x200 px, spacing 0.2 mm) with its own
// noise. --varied also varies the image size (odd sizes too), the spacing,
// the lesion size and position (some lesions touch the image border, so the
// filter margins are clipped) and leaves the parenchyma out of every third
// case: a wider net for checking that two builds give identical features.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <string>

namespace {

struct CaseShape {
  int width = 800;
  int height = 600;
  double spacing_mm = 0.2;
  double lesion_cx = 300.0;
  double lesion_cy = 300.0;
  double lesion_rx = 75.0;
  double lesion_ry = 60.0;
  int parenchyma_x0 = 500;
  int parenchyma_y0 = 200;
  int parenchyma_size = 200;
  bool with_parenchyma = true;
};

CaseShape VariedShape(int index, std::mt19937& rng) {
  CaseShape s;
  std::uniform_int_distribution<int> size_jitter(-41, 41);
  s.width = 640 + size_jitter(rng);
  s.height = 480 + size_jitter(rng);
  const double spacings[] = {0.2, 0.25, 0.5, 0.15};
  s.spacing_mm = spacings[index % 4];
  std::uniform_real_distribution<double> radius(20.0, 90.0);
  s.lesion_rx = radius(rng);
  s.lesion_ry = radius(rng);
  switch (index % 5) {
    case 0:  // touches the left border
      s.lesion_cx = s.lesion_rx * 0.6;
      s.lesion_cy = s.height / 2.0;
      break;
    case 1:  // near the bottom-right corner
      s.lesion_cx = s.width - s.lesion_rx * 0.8;
      s.lesion_cy = s.height - s.lesion_ry * 0.9;
      break;
    default: {
      std::uniform_real_distribution<double> cx(100.0, s.width - 100.0);
      std::uniform_real_distribution<double> cy(100.0, s.height - 100.0);
      s.lesion_cx = cx(rng);
      s.lesion_cy = cy(rng);
    }
  }
  s.parenchyma_size = 60 + index % 7 * 25;
  s.parenchyma_x0 = index % 3 == 1 ? 0 : s.width - s.parenchyma_size - index % 11;
  s.parenchyma_y0 = index % 2 == 0 ? 0 : (s.height - s.parenchyma_size) / 2;
  s.with_parenchyma = index % 3 != 2;
  return s;
}

bool WriteCase(const std::filesystem::path& dir, const std::string& id, const CaseShape& s,
               std::mt19937& rng) {
  std::gamma_distribution<double> speckle(2.0, 30.0);
  cv::Mat image(s.height, s.width, CV_8UC1);
  cv::Mat lesion(s.height, s.width, CV_8UC1, cv::Scalar(0));
  cv::Mat parenchyma(s.height, s.width, CV_8UC1, cv::Scalar(0));
  for (int y = 0; y < s.height; ++y) {
    for (int x = 0; x < s.width; ++x) {
      const double u = (x - s.lesion_cx) / s.lesion_rx;
      const double v = (y - s.lesion_cy) / s.lesion_ry;
      const bool in_lesion = u * u + v * v <= 1.0;
      const double value = speckle(rng) * (in_lesion ? 0.6 : 1.0);
      image.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>(std::min(255.0, std::round(value)));
      lesion.at<std::uint8_t>(y, x) = in_lesion ? 255 : 0;
      const bool in_parenchyma = x >= s.parenchyma_x0 && x < s.parenchyma_x0 + s.parenchyma_size &&
                                 y >= s.parenchyma_y0 && y < s.parenchyma_y0 + s.parenchyma_size;
      parenchyma.at<std::uint8_t>(y, x) = in_parenchyma ? 255 : 0;
    }
  }
  bool ok = cv::imwrite((dir / (id + ".png")).string(), image);
  ok = ok && cv::imwrite((dir / (id + "_lesion.png")).string(), lesion);
  if (s.with_parenchyma) ok = ok && cv::imwrite((dir / (id + "_liver.png")).string(), parenchyma);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR [--cases N] [--seed S] [--varied]\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  int cases = 40;
  unsigned seed = 20261127;
  bool varied = false;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--cases" && i + 1 < argc) {
      cases = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
    } else if (arg == "--varied") {
      varied = true;
    } else {
      std::fprintf(stderr, "unknown argument %s\n", arg.c_str());
      return 2;
    }
  }
  std::filesystem::create_directories(dir);
  std::ofstream manifest(dir / "cohort.csv");
  manifest << "case_id,image,lesion_mask,parenchyma_mask,spacing_x_mm,spacing_y_mm\n";
  std::mt19937 rng(seed);
  for (int i = 0; i < cases; ++i) {
    char id[32];
    std::snprintf(id, sizeof(id), "case%03d", i);
    const CaseShape shape = varied ? VariedShape(i, rng) : CaseShape{};
    if (!WriteCase(dir, id, shape, rng)) {
      std::fprintf(stderr, "cannot write case %s under %s\n", id, dir.c_str());
      return 1;
    }
    manifest << id << "," << id << ".png," << id << "_lesion.png,"
             << (shape.with_parenchyma ? std::string(id) + "_liver.png" : std::string()) << ","
             << shape.spacing_mm << "," << shape.spacing_mm << "\n";
  }
  manifest.close();
  if (!manifest) {
    std::fprintf(stderr, "cannot write %s\n", (dir / "cohort.csv").c_str());
    return 1;
  }
  return 0;
}

// Core 2D array types of the radiomics extractor. Feature kernels and
// filters are pure functions over these (no I/O, no globals), in the
// PyRadiomics spirit, so they can be tested on tiny hand-made arrays and on
// the IBSI phantoms.
//
// Conventions: x = column (0..width-1), y = row (0..height-1), row-major
// storage, index = x + width * y. Spacing is in millimetres per pixel along
// x and along y (they may differ).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fedrad::site_agent::radiomics {

struct Spacing {
  double x_mm = 1.0;
  double y_mm = 1.0;
  bool operator==(const Spacing&) const = default;
};

template <typename T>
struct Grid {
  int width = 0;
  int height = 0;
  std::vector<T> data;  // width * height values, row-major

  Grid() = default;
  Grid(int w, int h, T fill = T{})
      : width(w),
        height(h),
        data(static_cast<std::size_t>(w) * static_cast<std::size_t>(h), fill) {}

  std::size_t size() const { return data.size(); }
  bool Contains(int x, int y) const { return x >= 0 && y >= 0 && x < width && y < height; }
  T& at(int x, int y) {
    return data[static_cast<std::size_t>(x) +
                static_cast<std::size_t>(width) * static_cast<std::size_t>(y)];
  }
  const T& at(int x, int y) const {
    return data[static_cast<std::size_t>(x) +
                static_cast<std::size_t>(width) * static_cast<std::size_t>(y)];
  }
  bool operator==(const Grid&) const = default;
};

// Intensities (original or filtered) with their pixel spacing.
struct Image {
  Grid<double> pixels;
  Spacing spacing;
};

// Region of interest: 1 = inside, 0 = outside.
using Mask = Grid<std::uint8_t>;

// Discretised grey levels: 1..num_levels inside the ROI, 0 outside. Texture
// kernels only look at pixels with level > 0.
struct LevelImage {
  Grid<int> levels;
  int num_levels = 0;  // Ng: levels are 1..num_levels (some may be absent)
};

// One computed feature. `name` is the feature's own name within its family
// (PyRadiomics' name where one exists, e.g. "Contrast"); `ibsi_code` is the
// IBSI identifier (e.g. "ACUI"), empty when IBSI defines none.
struct Feature {
  std::string name;
  std::string ibsi_code;
  double value = 0.0;
};
using FeatureList = std::vector<Feature>;

}  // namespace fedrad::site_agent::radiomics

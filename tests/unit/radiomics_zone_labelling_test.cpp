// The zone labelling of GLSZM / GLDZM (BuildZoneMatrices: one raster pass of
// union-find labelling) against a plain flood fill written here from the
// definition: every zone (maximal 4- or 8-connected set of equal-level ROI
// pixels) with its level, size and smallest border distance.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <utility>
#include <vector>

#include "fedrad/site_agent/radiomics/texture.hpp"

namespace fedrad::site_agent::radiomics {
namespace {

struct Zone {
  int level;
  int size;
  int distance;  // smallest border distance of the zone's pixels
};

// Border distance by breadth-first search from every outside pixel and from
// beyond the image edge (independent of the library's two-pass transform):
// 4-connected steps to the nearest outside pixel, edge pixels 1.
std::vector<int> BfsBorderDistance(int width, int height, const std::vector<bool>& inside) {
  std::vector<int> distance(inside.size(), -1);
  std::vector<std::pair<int, int>> frontier;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const std::size_t k = static_cast<std::size_t>(x + width * y);
      if (!inside[k]) {
        distance[k] = 0;
      } else if (x == 0 || y == 0 || x == width - 1 || y == height - 1) {
        distance[k] = 1;
      }
    }
  }
  for (int d = 0;; ++d) {
    bool any = false;
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        if (distance[static_cast<std::size_t>(x + width * y)] != d) continue;
        const int steps[4][2] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};
        for (const auto& s : steps) {
          const int nx = x + s[0];
          const int ny = y + s[1];
          if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
          int& nd = distance[static_cast<std::size_t>(nx + width * ny)];
          if (nd < 0) {
            nd = d + 1;
            any = true;
          }
        }
      }
    }
    if (!any && d > 0) break;
  }
  return distance;
}

// Flood fill (breadth-first) from each unvisited ROI pixel.
std::vector<Zone> FloodFillZones(const LevelImage& image, bool eight,
                                 const std::vector<int>& distance) {
  const int width = image.levels.width;
  const int height = image.levels.height;
  std::vector<bool> visited(image.levels.data.size(), false);
  std::vector<Zone> zones;
  for (int y0 = 0; y0 < height; ++y0) {
    for (int x0 = 0; x0 < width; ++x0) {
      const int level = image.levels.at(x0, y0);
      if (level == 0 || visited[static_cast<std::size_t>(x0 + width * y0)]) continue;
      Zone zone{level, 0, 1 << 30};
      std::vector<std::pair<int, int>> queue = {{x0, y0}};
      visited[static_cast<std::size_t>(x0 + width * y0)] = true;
      for (std::size_t head = 0; head < queue.size(); ++head) {
        const auto [x, y] = queue[head];
        ++zone.size;
        zone.distance = std::min(zone.distance, distance[static_cast<std::size_t>(x + width * y)]);
        for (int dy = -1; dy <= 1; ++dy) {
          for (int dx = -1; dx <= 1; ++dx) {
            if ((dx == 0 && dy == 0) || (!eight && dx != 0 && dy != 0)) continue;
            const int nx = x + dx;
            const int ny = y + dy;
            if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
            const auto nk = static_cast<std::size_t>(nx + width * ny);
            if (visited[nk] || image.levels.at(nx, ny) != level) continue;
            visited[nk] = true;
            queue.emplace_back(nx, ny);
          }
        }
      }
      zones.push_back(zone);
    }
  }
  return zones;
}

// Non-zero cells of a level x size matrix as (level, column value) -> count.
std::map<std::pair<int, int>, double> Cells(const LevelSizeMatrix& matrix) {
  std::map<std::pair<int, int>, double> cells;
  for (int level = 1; level <= matrix.num_levels; ++level) {
    for (std::size_t c = 0; c < matrix.num_columns(); ++c) {
      if (matrix.at(level, c) != 0.0) cells[{level, matrix.sizes[c]}] = matrix.at(level, c);
    }
  }
  return cells;
}

// Random levels 1..num_levels with `hole` of outside pixels; few levels give
// large, winding zones (U shapes and spirals that need merging), patches
// give zones above 64 pixels.
LevelImage RandomZoneImage(int width, int height, int num_levels, double hole, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> level(1, num_levels);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  LevelImage image;
  image.num_levels = num_levels;
  image.levels = Grid<int>(width, height, 0);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const bool patch = (x / 9 + y / 7) % 5 == 0;
      image.levels.at(x, y) = unit(rng) < hole ? 0 : (patch ? 1 : level(rng));
    }
  }
  return image;
}

void ExpectZonesMatchFloodFill(const LevelImage& image, Connectivity2D connectivity,
                               const Mask* distance_mask, const std::string& what) {
  const int width = image.levels.width;
  const int height = image.levels.height;
  std::vector<bool> inside(image.levels.data.size());
  for (std::size_t k = 0; k < inside.size(); ++k) {
    inside[k] = distance_mask != nullptr ? distance_mask->data[k] != 0 : image.levels.data[k] != 0;
  }
  const std::vector<int> distance = BfsBorderDistance(width, height, inside);
  const std::vector<Zone> zones =
      FloodFillZones(image, connectivity == Connectivity2D::kEight, distance);
  std::map<std::pair<int, int>, double> sizes;
  std::map<std::pair<int, int>, double> distances;
  double voxels = 0.0;
  for (const Zone& z : zones) {
    sizes[{z.level, z.size}] += 1.0;
    distances[{z.level, std::max(z.distance, 1)}] += 1.0;
    voxels += z.size;
  }

  Glszm glszm;
  Gldzm gldzm;
  BuildZoneMatrices(image, connectivity, &glszm, &gldzm, distance_mask);
  EXPECT_EQ(Cells(glszm), sizes) << what;
  EXPECT_EQ(Cells(gldzm), distances) << what;
  EXPECT_EQ(glszm.num_voxels, voxels) << what;
  EXPECT_EQ(gldzm.num_voxels, voxels) << what;
  // GLSZM columns: exactly the zone sizes that occur, ascending.
  std::vector<int> expected_sizes;
  for (const Zone& z : zones) expected_sizes.push_back(z.size);
  std::sort(expected_sizes.begin(), expected_sizes.end());
  expected_sizes.erase(std::unique(expected_sizes.begin(), expected_sizes.end()),
                       expected_sizes.end());
  EXPECT_EQ(glszm.sizes, expected_sizes) << what;
  // GLDZM columns: 1..largest distance that occurs.
  int largest = 1;
  for (const auto& [cell, count] : distances) largest = std::max(largest, cell.second);
  ASSERT_EQ(gldzm.sizes.size(), static_cast<std::size_t>(largest)) << what;
  for (int c = 0; c < largest; ++c) EXPECT_EQ(gldzm.sizes[c], c + 1) << what;

  // Each matrix alone gives the same as both together.
  EXPECT_EQ(BuildGlszm(image, connectivity).counts, glszm.counts) << what;
  EXPECT_EQ(BuildGldzm(image, connectivity, distance_mask).counts, gldzm.counts) << what;
}

TEST(RadiomicsZoneLabellingTest, UnionFindLabellingEqualsFloodFillOnRandomImages) {
  int cases = 0;
  for (auto [w, h] : {std::pair{1, 1}, std::pair{1, 17}, std::pair{23, 1}, std::pair{31, 19},
                      std::pair{64, 48}}) {
    for (int num_levels : {1, 2, 3, 8}) {
      for (double hole : {0.0, 0.2, 0.5}) {
        const auto seed = static_cast<unsigned>(w * 1000 + h * 10 + num_levels) +
                          static_cast<unsigned>(hole * 100);
        const LevelImage image = RandomZoneImage(w, h, num_levels, hole, seed);
        bool any = false;
        for (int v : image.levels.data) any = any || v != 0;
        if (!any) continue;
        for (Connectivity2D c : {Connectivity2D::kFour, Connectivity2D::kEight}) {
          const std::string what = std::to_string(w) + "x" + std::to_string(h) + " Ng " +
                                   std::to_string(num_levels) + " hole " + std::to_string(hole) +
                                   (c == Connectivity2D::kEight ? " 8-conn" : " 4-conn");
          ExpectZonesMatchFloodFill(image, c, nullptr, what);
          ++cases;
        }
      }
    }
  }
  EXPECT_GT(cases, 100);
}

TEST(RadiomicsZoneLabellingTest, ZonesThatMeetOnlyLaterAreMerged) {
  // A spiral and a comb of level 1: their arms are first labelled apart and
  // join only further down (the unions the labelling must make).
  const std::vector<std::string> rows = {
      "1.1.1.1.111", "1.1.1.1.1.1", "1.1.1.1.1.1", "1111111.1.1", "......1.1.1",
      "1111111.1.1", "1.......1.1", "1.1111111.1", "1.........1", "11111111111",
  };
  LevelImage image;
  image.num_levels = 2;
  image.levels = Grid<int>(static_cast<int>(rows[0].size()), static_cast<int>(rows.size()), 0);
  for (int y = 0; y < image.levels.height; ++y) {
    for (int x = 0; x < image.levels.width; ++x) {
      image.levels.at(x, y) =
          rows[static_cast<std::size_t>(y)][static_cast<std::size_t>(x)] == '1' ? 1 : 2;
    }
  }
  for (Connectivity2D c : {Connectivity2D::kFour, Connectivity2D::kEight}) {
    ExpectZonesMatchFloodFill(image, c, nullptr, "spiral");
  }
  // Level 1 is one zone under either connectivity.
  const Glszm four = BuildGlszm(image, Connectivity2D::kFour);
  int ones = 0;
  for (std::size_t c = 0; c < four.num_columns(); ++c) ones += static_cast<int>(four.at(1, c));
  EXPECT_EQ(ones, 1);
}

TEST(RadiomicsZoneLabellingTest, ExplicitDistanceMaskMatchesFloodFill) {
  const LevelImage image = RandomZoneImage(40, 30, 3, 0.1, 99);
  Mask mask(40, 30, 0);
  for (int y = 3; y < 27; ++y) {
    for (int x = 5; x < 36; ++x) mask.at(x, y) = 1;
  }
  for (Connectivity2D c : {Connectivity2D::kFour, Connectivity2D::kEight}) {
    ExpectZonesMatchFloodFill(image, c, &mask, "distance mask");
  }
}

}  // namespace
}  // namespace fedrad::site_agent::radiomics

// Regions: connected components, exact anisotropic distance transform, ring.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "fedrad/site_agent/radiomics/regions.hpp"

namespace fedrad::site_agent::radiomics {
namespace {

Mask RandomMask(int w, int h, double density, unsigned seed) {
  std::mt19937 rng(seed);
  std::bernoulli_distribution on(density);
  Mask m(w, h, 0);
  for (auto& v : m.data) v = on(rng) ? 1 : 0;
  return m;
}

TEST(RadiomicsRegionsTest, DistanceTransformMatchesBruteForceWithAnisotropicSpacing) {
  for (unsigned seed : {1u, 2u, 3u}) {
    const Mask roi = RandomMask(23, 17, 0.04, seed);
    const Spacing spacing{0.7, 1.3};
    const Grid<double> d2 = SquaredDistanceMm(roi, spacing);
    for (int y = 0; y < roi.height; ++y) {
      for (int x = 0; x < roi.width; ++x) {
        double best = std::numeric_limits<double>::infinity();
        for (int qy = 0; qy < roi.height; ++qy) {
          for (int qx = 0; qx < roi.width; ++qx) {
            if (roi.at(qx, qy) == 0) continue;
            const double dx = (x - qx) * spacing.x_mm;
            const double dy = (y - qy) * spacing.y_mm;
            best = std::min(best, dx * dx + dy * dy);
          }
        }
        ASSERT_NEAR(d2.at(x, y), best, 1e-9) << "seed " << seed << " at " << x << "," << y;
      }
    }
  }
}

TEST(RadiomicsRegionsTest, EmptyRoiGivesInfiniteDistance) {
  const Grid<double> d2 = SquaredDistanceMm(Mask(4, 3, 0), Spacing{});
  for (double v : d2.data) EXPECT_TRUE(std::isinf(v));
}

TEST(RadiomicsRegionsTest, RingAroundOnePixelIsADiscMinusTheCentre) {
  Mask lesion(11, 11, 0);
  lesion.at(5, 5) = 1;
  // Integer points with dx^2 + dy^2 <= 4: 13, minus the centre.
  EXPECT_EQ(CountRoi(RingRegion(lesion, 2.0, Spacing{1.0, 1.0}, nullptr)), 12u);
  // 0.5 mm pixels: radius 4 pixels -> 49 points, minus the centre.
  EXPECT_EQ(CountRoi(RingRegion(lesion, 2.0, Spacing{0.5, 0.5}, nullptr)), 48u);
  // Anisotropic: 2 mm across x (dx in {-1,0,1}), 4 rows up/down at 0.5 mm:
  // points with (2dx)^2 + (0.5dy)^2 <= 4.
  std::size_t expected = 0;
  for (int dy = -5; dy <= 5; ++dy) {
    for (int dx = -5; dx <= 5; ++dx) {
      if ((dx != 0 || dy != 0) && 4.0 * dx * dx + 0.25 * dy * dy <= 4.0) ++expected;
    }
  }
  EXPECT_EQ(CountRoi(RingRegion(lesion, 2.0, Spacing{2.0, 0.5}, nullptr)), expected);
}

TEST(RadiomicsRegionsTest, RingIsClippedToImageAndFieldOfView) {
  Mask lesion(6, 6, 0);
  lesion.at(0, 0) = 1;  // corner: most of the disc falls outside the image
  const Mask ring = RingRegion(lesion, 1.5, Spacing{}, nullptr);
  EXPECT_EQ(CountRoi(ring), 3u);  // (1,0), (0,1), (1,1)
  Mask fov(6, 6, 1);
  fov.at(1, 1) = 0;
  EXPECT_EQ(CountRoi(RingRegion(lesion, 1.5, Spacing{}, &fov)), 2u);
  EXPECT_EQ(RingRegion(lesion, 1.5, Spacing{}, &fov).at(0, 0), 0);  // never the lesion
}

TEST(RadiomicsRegionsTest, LesionKeepsLargestEightConnectedComponent) {
  Mask m(8, 5, 0);
  // Component A: a diagonal chain of 4 (8-connected, not 4-connected).
  for (int i = 0; i < 4; ++i) m.at(i, i) = 1;
  // Component B: 3 pixels in a row.
  m.at(6, 0) = m.at(6, 1) = m.at(6, 2) = 1;
  Grid<int> labels;
  EXPECT_EQ(LabelComponents(m, &labels), 2);
  const Mask largest = LesionRegion(m, ComponentRule::kLargest);
  EXPECT_EQ(CountRoi(largest), 4u);
  EXPECT_EQ(largest.at(3, 3), 1);
  EXPECT_EQ(largest.at(6, 1), 0);
  EXPECT_EQ(CountRoi(LesionRegion(m, ComponentRule::kAll)), 7u);
  EXPECT_EQ(CountRoi(LesionRegion(Mask(3, 3, 0), ComponentRule::kLargest)), 0u);
}

TEST(RadiomicsRegionsTest, RingNames) {
  EXPECT_EQ(RingRegionName(5.0), "ring5mm");
  EXPECT_EQ(RingRegionName(2.5), "ring2.5mm");
}

}  // namespace
}  // namespace fedrad::site_agent::radiomics

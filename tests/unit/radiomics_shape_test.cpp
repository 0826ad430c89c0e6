// 2D shape features (PyRadiomics shape2D conventions) on analytic shapes and
// invariance properties.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

#include "fedrad/site_agent/radiomics/shape.hpp"

namespace fedrad::site_agent::radiomics {
namespace {

constexpr double kPi = std::numbers::pi;
const double kSqrt2 = std::sqrt(2.0);

double Value(const FeatureList& features, const std::string& name) {
  for (const Feature& f : features) {
    if (f.name == name) return f.value;
  }
  ADD_FAILURE() << "no feature named " << name;
  return std::nan("");
}

Mask Rectangle(int width, int height, int x0, int y0, int w, int h) {
  Mask mask(width, height, 0);
  for (int y = y0; y < y0 + h; ++y) {
    for (int x = x0; x < x0 + w; ++x) mask.at(x, y) = 1;
  }
  return mask;
}

Mask Disc(int size, double radius) {
  Mask mask(size, size, 0);
  const double c = (size - 1) / 2.0;
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      if ((x - c) * (x - c) + (y - c) * (y - c) <= radius * radius) mask.at(x, y) = 1;
    }
  }
  return mask;
}

// An irregular, deterministic blob with holes, spurs and diagonal contacts.
Mask Blob(int width, int height, std::uint32_t seed) {
  Mask mask(width, height, 0);
  std::uint32_t state = seed;
  const auto next = [&state]() {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
  };
  for (int y = 2; y < height - 2; ++y) {
    for (int x = 2; x < width - 2; ++x) {
      const double dx = (x - width / 2.0) / (width / 2.5);
      const double dy = (y - height / 2.0) / (height / 3.0);
      const bool core = dx * dx + dy * dy < 1.0;
      mask.at(x, y) = (core ? next() % 10 < 8 : next() % 10 < 1) ? 1 : 0;
    }
  }
  return mask;
}

// Rotation by 90 degrees: pixel (x, y) goes to (height - 1 - y, x).
Mask Rotate90(const Mask& mask) {
  Mask out(mask.height, mask.width, 0);
  for (int y = 0; y < mask.height; ++y) {
    for (int x = 0; x < mask.width; ++x) out.at(mask.height - 1 - y, x) = mask.at(x, y);
  }
  return out;
}

void ExpectFeaturesNear(const FeatureList& a, const FeatureList& b, double relative) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_NEAR(a[i].value, b[i].value, relative * std::max(1.0, std::fabs(a[i].value)))
        << a[i].name;
  }
}

// Brute-force maximum diameter: all contour vertices are the midpoints
// between an ROI pixel and a 4-neighbour outside it (or outside the grid).
double BruteForceDiameter(const Mask& mask, const Spacing& spacing) {
  std::vector<std::pair<double, double>> points;  // (row mm, col mm)
  const auto inside = [&mask](int x, int y) { return mask.Contains(x, y) && mask.at(x, y) != 0; };
  for (int y = 0; y < mask.height; ++y) {
    for (int x = 0; x < mask.width; ++x) {
      if (!inside(x, y)) continue;
      const int dx[4] = {1, -1, 0, 0};
      const int dy[4] = {0, 0, 1, -1};
      for (int k = 0; k < 4; ++k) {
        if (inside(x + dx[k], y + dy[k])) continue;
        points.emplace_back((y + dy[k] / 2.0) * spacing.y_mm, (x + dx[k] / 2.0) * spacing.x_mm);
      }
    }
  }
  double best = 0.0;
  for (std::size_t i = 0; i < points.size(); ++i) {
    for (std::size_t j = i + 1; j < points.size(); ++j) {
      const double dr = points[i].first - points[j].first;
      const double dc = points[i].second - points[j].second;
      best = std::max(best, dr * dr + dc * dc);
    }
  }
  return std::sqrt(best);
}

TEST(RadiomicsShapeTest, FeatureNamesInPyRadiomicsOrder) {
  const FeatureList f = Shape2DFeatures(Rectangle(5, 5, 1, 1, 3, 2), Spacing{});
  std::vector<std::string> names;
  for (const Feature& feature : f) {
    names.push_back(feature.name);
    EXPECT_EQ(feature.ibsi_code, "");
  }
  EXPECT_EQ(names, (std::vector<std::string>{"MeshSurface", "PixelSurface", "Perimeter",
                                             "PerimeterSurfaceRatio", "Sphericity",
                                             "SphericalDisproportion", "MaximumDiameter",
                                             "MajorAxisLength", "MinorAxisLength", "Elongation"}));
}

TEST(RadiomicsShapeTest, FilledRectangleMatchesMarchingSquaresGeometry) {
  // 7 x 4 pixels, touching the image border (the implicit padding handles it).
  const int w = 7, h = 4;
  const FeatureList f = Shape2DFeatures(Rectangle(7, 6, 0, 2, w, h), Spacing{1.0, 1.0});
  // Octagon through the pixel-edge midpoints: w h minus four 1/8 corners.
  EXPECT_NEAR(Value(f, "MeshSurface"), w * h - 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(Value(f, "PixelSurface"), w * h);
  EXPECT_NEAR(Value(f, "Perimeter"), 2.0 * (w - 1) + 2.0 * (h - 1) + 2.0 * kSqrt2, 1e-12);
  EXPECT_NEAR(Value(f, "PerimeterSurfaceRatio"), Value(f, "Perimeter") / (w * h - 0.5), 1e-12);
  EXPECT_NEAR(Value(f, "MaximumDiameter"), std::sqrt(w * w + (h - 1) * (h - 1)), 1e-12);
  // Pixel centres: variance (n^2 - 1) / 12 per axis.
  EXPECT_NEAR(Value(f, "MajorAxisLength"), 4.0 * std::sqrt((w * w - 1) / 12.0), 1e-12);
  EXPECT_NEAR(Value(f, "MinorAxisLength"), 4.0 * std::sqrt((h * h - 1) / 12.0), 1e-12);
  EXPECT_NEAR(Value(f, "Elongation"), std::sqrt((h * h - 1.0) / (w * w - 1.0)), 1e-12);
  EXPECT_NEAR(Value(f, "Sphericity") * Value(f, "SphericalDisproportion"), 1.0, 1e-12);
}

TEST(RadiomicsShapeTest, FilledRectangleWithAnisotropicSpacing) {
  const int w = 5, h = 3;
  const double sx = 0.5, sy = 2.0;
  const FeatureList f = Shape2DFeatures(Rectangle(9, 9, 2, 3, w, h), Spacing{sx, sy});
  EXPECT_NEAR(Value(f, "MeshSurface"), (w * h - 0.5) * sx * sy, 1e-12);
  EXPECT_DOUBLE_EQ(Value(f, "PixelSurface"), w * h * sx * sy);
  EXPECT_NEAR(Value(f, "Perimeter"),
              2.0 * (w - 1) * sx + 2.0 * (h - 1) * sy + 2.0 * std::hypot(sx, sy), 1e-12);
  // Farthest pair of the octagon's corners.
  EXPECT_NEAR(Value(f, "MaximumDiameter"),
              std::max({std::hypot(w * sx, (h - 1) * sy), std::hypot((w - 1) * sx, h * sy),
                        std::hypot((w - 0.5) * sx, (h - 0.5) * sy)}),
              1e-12);
  // Along y: 3 centres 2 mm apart (variance 8/3); along x: 5 centres 0.5 mm apart (0.5).
  EXPECT_NEAR(Value(f, "MajorAxisLength"), 4.0 * std::sqrt(8.0 / 3.0), 1e-12);
  EXPECT_NEAR(Value(f, "MinorAxisLength"), 4.0 * std::sqrt(0.5), 1e-12);
}

TEST(RadiomicsShapeTest, DigitalDiscApproachesACircle) {
  const double r = 20.0;
  const FeatureList f = Shape2DFeatures(Disc(51, r), Spacing{1.0, 1.0});
  EXPECT_NEAR(Value(f, "MeshSurface") / (kPi * r * r), 1.0, 0.02);
  EXPECT_NEAR(Value(f, "PixelSurface") / (kPi * r * r), 1.0, 0.02);
  // The contour's 45-degree steps make it ~5% longer than the circle.
  const double perimeter_ratio = Value(f, "Perimeter") / (2.0 * kPi * r);
  EXPECT_GT(perimeter_ratio, 1.0);
  EXPECT_LT(perimeter_ratio, 1.08);
  EXPECT_GT(Value(f, "Sphericity"), 0.92);
  EXPECT_LE(Value(f, "Sphericity"), 1.0);
  EXPECT_NEAR(Value(f, "MaximumDiameter"), 2.0 * r + 1.0, 0.5);
  EXPECT_NEAR(Value(f, "MajorAxisLength") / (2.0 * r), 1.0, 0.03);
  EXPECT_NEAR(Value(f, "Elongation"), 1.0, 1e-9);  // symmetric disc
}

TEST(RadiomicsShapeTest, SaddlesAndHolesFollowPyRadiomics) {
  // Two diagonal pixels are NOT joined: two diamonds of area 1/2.
  Mask diagonal(4, 4, 0);
  diagonal.at(1, 1) = 1;
  diagonal.at(2, 2) = 1;
  const FeatureList d = Shape2DFeatures(diagonal, Spacing{});
  EXPECT_NEAR(Value(d, "MeshSurface"), 1.0, 1e-12);
  EXPECT_NEAR(Value(d, "Perimeter"), 4.0 * kSqrt2, 1e-12);
  // The other diagonal gives the same (the table cuts both saddles alike).
  Mask anti(4, 4, 0);
  anti.at(2, 1) = 1;
  anti.at(1, 2) = 1;
  ExpectFeaturesNear(d, Shape2DFeatures(anti, Spacing{}), 1e-12);

  // A 3x3 ring: outer octagon 8.5 minus the hole's diamond 0.5.
  Mask ring = Rectangle(5, 5, 1, 1, 3, 3);
  ring.at(2, 2) = 0;
  const FeatureList f = Shape2DFeatures(ring, Spacing{});
  EXPECT_NEAR(Value(f, "MeshSurface"), 8.0, 1e-12);
  EXPECT_NEAR(Value(f, "Perimeter"), 8.0 + 2.0 * kSqrt2 + 2.0 * kSqrt2, 1e-12);
  EXPECT_DOUBLE_EQ(Value(f, "PixelSurface"), 8.0);
}

TEST(RadiomicsShapeTest, RotationBy90DegreesChangesNothing) {
  for (std::uint32_t seed : {1u, 7u, 42u}) {
    const Mask mask = Blob(23, 17, seed);
    const FeatureList original = Shape2DFeatures(mask, Spacing{0.7, 0.7});
    Mask rotated = mask;
    for (int turn = 1; turn <= 3; ++turn) {
      rotated = Rotate90(rotated);
      ExpectFeaturesNear(original, Shape2DFeatures(rotated, Spacing{0.7, 0.7}), 1e-9);
    }
  }
  // With anisotropic pixels, rotating the mask and swapping the spacing too
  // describes the same physical shape.
  const Mask mask = Blob(19, 21, 3);
  ExpectFeaturesNear(Shape2DFeatures(mask, Spacing{0.5, 1.5}),
                     Shape2DFeatures(Rotate90(mask), Spacing{1.5, 0.5}), 1e-9);
}

TEST(RadiomicsShapeTest, DoublingTheSpacingScalesAreasAndLengths) {
  const Mask mask = Blob(25, 25, 11);
  const FeatureList one = Shape2DFeatures(mask, Spacing{1.0, 1.0});
  const FeatureList two = Shape2DFeatures(mask, Spacing{2.0, 2.0});
  for (const char* name : {"MeshSurface", "PixelSurface"}) {
    EXPECT_NEAR(Value(two, name), 4.0 * Value(one, name), 1e-9) << name;
  }
  for (const char* name : {"Perimeter", "MaximumDiameter", "MajorAxisLength", "MinorAxisLength"}) {
    EXPECT_NEAR(Value(two, name), 2.0 * Value(one, name), 1e-9) << name;
  }
  for (const char* name : {"Sphericity", "SphericalDisproportion", "Elongation"}) {
    EXPECT_NEAR(Value(two, name), Value(one, name), 1e-12) << name;
  }
  // Perimeter / surface has the unit 1/mm: it halves.
  EXPECT_NEAR(Value(two, "PerimeterSurfaceRatio"), 0.5 * Value(one, "PerimeterSurfaceRatio"),
              1e-12);
}

TEST(RadiomicsShapeTest, DoublingOnlyTheXSpacingDoublesTheArea) {
  const Mask mask = Blob(21, 15, 5);
  const FeatureList one = Shape2DFeatures(mask, Spacing{1.0, 1.0});
  const FeatureList wide = Shape2DFeatures(mask, Spacing{2.0, 1.0});
  EXPECT_NEAR(Value(wide, "MeshSurface"), 2.0 * Value(one, "MeshSurface"), 1e-9);
  EXPECT_NEAR(Value(wide, "PixelSurface"), 2.0 * Value(one, "PixelSurface"), 1e-9);
  EXPECT_GT(Value(wide, "Perimeter"), Value(one, "Perimeter"));
  EXPECT_LT(Value(wide, "Perimeter"), 2.0 * Value(one, "Perimeter"));
}

TEST(RadiomicsShapeTest, MaximumDiameterEqualsTheAllPairsSearch) {
  for (std::uint32_t seed = 1; seed <= 12; ++seed) {
    const Mask mask = Blob(15 + static_cast<int>(seed % 5), 13 + static_cast<int>(seed % 7), seed);
    for (const Spacing spacing : {Spacing{1.0, 1.0}, Spacing{0.3, 1.7}, Spacing{2.5, 0.4}}) {
      const Shape2DMeasures m = MeasureShape2D(mask, spacing);
      EXPECT_NEAR(m.max_diameter, BruteForceDiameter(mask, spacing), 1e-9)
          << "seed " << seed << " spacing " << spacing.x_mm << "x" << spacing.y_mm;
    }
  }
  // Collinear vertices only (a one-pixel line) and a single pixel.
  EXPECT_NEAR(MeasureShape2D(Rectangle(9, 3, 1, 1, 7, 1), Spacing{}).max_diameter, 7.0, 1e-12);
  EXPECT_NEAR(MeasureShape2D(Rectangle(3, 3, 1, 1, 1, 1), Spacing{}).max_diameter, 1.0, 1e-12);
}

TEST(RadiomicsShapeTest, SinglePixelIsFinite) {
  const double sx = 0.5, sy = 2.0;
  const FeatureList f = Shape2DFeatures(Rectangle(3, 3, 1, 1, 1, 1), Spacing{sx, sy});
  ASSERT_EQ(f.size(), 10u);
  for (const Feature& feature : f) EXPECT_TRUE(std::isfinite(feature.value)) << feature.name;
  EXPECT_NEAR(Value(f, "MeshSurface"), sx * sy / 2.0, 1e-12);
  EXPECT_DOUBLE_EQ(Value(f, "PixelSurface"), sx * sy);
  EXPECT_NEAR(Value(f, "Perimeter"), 2.0 * std::hypot(sx, sy), 1e-12);
  EXPECT_NEAR(Value(f, "MaximumDiameter"), std::max(sx, sy), 1e-12);
  EXPECT_EQ(Value(f, "MajorAxisLength"), 0.0);
  EXPECT_EQ(Value(f, "MinorAxisLength"), 0.0);
  EXPECT_EQ(Value(f, "Elongation"), 1.0);
}

TEST(RadiomicsShapeTest, LineHasZeroMinorAxis) {
  const FeatureList f = Shape2DFeatures(Rectangle(8, 3, 1, 1, 6, 1), Spacing{});
  EXPECT_EQ(Value(f, "MinorAxisLength"), 0.0);
  EXPECT_EQ(Value(f, "Elongation"), 0.0);
  EXPECT_NEAR(Value(f, "MeshSurface"), 5.5, 1e-12);
}

TEST(RadiomicsShapeTest, EmptyMaskOrBadSpacingGivesNoFeatures) {
  EXPECT_TRUE(Shape2DFeatures(Mask(4, 4, 0), Spacing{}).empty());
  EXPECT_TRUE(Shape2DFeatures(Mask{}, Spacing{}).empty());
  const Mask square = Rectangle(4, 4, 1, 1, 2, 2);
  EXPECT_TRUE(Shape2DFeatures(square, Spacing{0.0, 1.0}).empty());
  EXPECT_TRUE(Shape2DFeatures(square, Spacing{1.0, std::nan("")}).empty());
  Mask broken = square;
  broken.data.pop_back();
  EXPECT_TRUE(Shape2DFeatures(broken, Spacing{}).empty());
}

}  // namespace
}  // namespace fedrad::site_agent::radiomics

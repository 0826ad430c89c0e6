#include "fedrad/site_agent/radiomics/shape.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

namespace fedrad::site_agent::radiomics {
namespace {

struct Point {
  double row = 0.0;  // mm
  double col = 0.0;  // mm
};

// Marching-squares tables of PyRadiomics' calculate_coefficients2D.
// Square corners (bit: row, col offset): 0 (0,0), 1 (0,1), 2 (1,1), 3 (1,0).
// Edge midpoints (row, col offset): 0 top, 1 right, 2 bottom, 3 left.
constexpr std::array<std::array<double, 2>, 4> kEdgeMidpoints = {
    {{0.0, 0.5}, {0.5, 1.0}, {1.0, 0.5}, {0.5, 0.0}}};
// For each case, up to two oriented segments (edge a -> edge b); -1 = none.
constexpr std::array<std::array<int, 4>, 16> kSegments = {{
    {-1, -1, -1, -1},
    {3, 0, -1, -1},
    {0, 1, -1, -1},
    {3, 1, -1, -1},
    {1, 2, -1, -1},
    {1, 2, 3, 0},  // saddle: corners 0 and 2 cut off separately
    {0, 2, -1, -1},
    {3, 2, -1, -1},
    {2, 3, -1, -1},
    {2, 0, -1, -1},
    {0, 1, 2, 3},  // saddle: corners 1 and 3 cut off separately
    {2, 1, -1, -1},
    {1, 3, -1, -1},
    {1, 0, -1, -1},
    {0, 3, -1, -1},
    {-1, -1, -1, -1},
}};

double Cross(const Point& o, const Point& a, const Point& b) {
  return (a.row - o.row) * (b.col - o.col) - (a.col - o.col) * (b.row - o.row);
}

double SquaredDistance(const Point& a, const Point& b) {
  const double dr = a.row - b.row;
  const double dc = a.col - b.col;
  return dr * dr + dc * dc;
}

// Convex hull (Andrew's monotone chain), counter-clockwise in (row, col),
// without collinear points. Sorts `points`.
std::vector<Point> ConvexHull(std::vector<Point>& points) {
  std::sort(points.begin(), points.end(), [](const Point& a, const Point& b) {
    return a.row < b.row || (a.row == b.row && a.col < b.col);
  });
  points.erase(
      std::unique(points.begin(), points.end(),
                  [](const Point& a, const Point& b) { return a.row == b.row && a.col == b.col; }),
      points.end());
  if (points.size() < 3) return points;
  std::vector<Point> hull(2 * points.size());
  std::size_t k = 0;
  for (const Point& p : points) {  // lower chain
    while (k >= 2 && Cross(hull[k - 2], hull[k - 1], p) <= 0.0) --k;
    hull[k++] = p;
  }
  const std::size_t lower_size = k + 1;
  for (std::size_t i = points.size() - 1; i-- > 0;) {  // upper chain
    while (k >= lower_size && Cross(hull[k - 2], hull[k - 1], points[i]) <= 0.0) --k;
    hull[k++] = points[i];
  }
  hull.resize(k - 1);  // the last point equals the first
  return hull;
}

// Largest distance between two points of a convex polygon (counter-clockwise)
// by rotating calipers.
double Diameter(const std::vector<Point>& hull) {
  const std::size_t h = hull.size();
  if (h < 2) return 0.0;
  if (h == 2) return std::sqrt(SquaredDistance(hull[0], hull[1]));
  double best = 0.0;
  std::size_t j = 1;
  for (std::size_t i = 0; i < h; ++i) {
    const std::size_t next = (i + 1) % h;
    // Advance j while it moves away from the edge (i, next).
    for (std::size_t steps = 0; steps < h; ++steps) {
      const std::size_t j_next = (j + 1) % h;
      if (Cross(hull[i], hull[next], hull[j_next]) > Cross(hull[i], hull[next], hull[j])) {
        j = j_next;
      } else {
        break;
      }
    }
    best =
        std::max({best, SquaredDistance(hull[i], hull[j]), SquaredDistance(hull[next], hull[j])});
  }
  return std::sqrt(best);
}

}  // namespace

Shape2DMeasures MeasureShape2D(const Mask& mask, const Spacing& spacing) {
  Shape2DMeasures out;
  const int width = mask.width;
  const int height = mask.height;
  if (width <= 0 || height <= 0 ||
      mask.data.size() != static_cast<std::size_t>(width) * static_cast<std::size_t>(height) ||
      !(std::isfinite(spacing.x_mm) && spacing.x_mm > 0.0) ||
      !(std::isfinite(spacing.y_mm) && spacing.y_mm > 0.0)) {
    return out;
  }

  // Bounding box of the ROI; coordinates below are relative to its corner
  // (translation changes none of the features and keeps the numbers small).
  int row_min = height, row_max = -1, col_min = width, col_max = -1;
  for (int r = 0; r < height; ++r) {
    for (int c = 0; c < width; ++c) {
      if (mask.at(c, r) == 0) continue;
      row_min = std::min(row_min, r);
      row_max = std::max(row_max, r);
      col_min = std::min(col_min, c);
      col_max = std::max(col_max, c);
    }
  }
  if (row_max < 0) return out;

  const double sy = spacing.y_mm;
  const double sx = spacing.x_mm;

  // Pixel count and centroid / covariance of the pixel centres (two passes).
  double sum_r = 0.0, sum_c = 0.0;
  std::size_t n = 0;
  // (Inside the bounding box, which lies inside the image: no bounds tests.)
  for (int r = row_min; r <= row_max; ++r) {
    for (int c = col_min; c <= col_max; ++c) {
      if (mask.at(c, r) == 0) continue;
      sum_r += static_cast<double>(r - row_min) * sy;
      sum_c += static_cast<double>(c - col_min) * sx;
      ++n;
    }
  }
  const double count = static_cast<double>(n);
  const double mean_r = sum_r / count;
  const double mean_c = sum_c / count;
  double var_r = 0.0, var_c = 0.0, cov = 0.0;
  for (int r = row_min; r <= row_max; ++r) {
    for (int c = col_min; c <= col_max; ++c) {
      if (mask.at(c, r) == 0) continue;
      const double dr = static_cast<double>(r - row_min) * sy - mean_r;
      const double dc = static_cast<double>(c - col_min) * sx - mean_c;
      var_r += dr * dr;
      var_c += dc * dc;
      cov += dr * dc;
    }
  }
  var_r /= count;
  var_c /= count;
  cov /= count;
  const double half_trace = (var_r + var_c) / 2.0;
  const double root = std::hypot((var_r - var_c) / 2.0, cov);
  out.lambda_major = std::max(half_trace + root, 0.0);
  out.lambda_minor = std::max(half_trace - root, 0.0);

  // Marching squares over the padded bounding box: square (r, c) has corners
  // (r, c), (r, c+1), (r+1, c+1), (r+1, c) in pixel coordinates.
  std::vector<Point> vertices;
  vertices.reserve(2 * static_cast<std::size_t>(row_max - row_min + 3) +
                   2 * static_cast<std::size_t>(col_max - col_min + 3));
  double twice_area = 0.0;
  double perimeter = 0.0;
  const auto point_at = [&](int r, int c, int edge) {
    const auto& offset = kEdgeMidpoints[static_cast<std::size_t>(edge)];
    return Point{(static_cast<double>(r - row_min) + offset[0]) * sy,
                 (static_cast<double>(c - col_min) + offset[1]) * sx};
  };
  // The bounding box with a one-pixel border of outside pixels (beyond the
  // box nothing is ROI), so the corner look-ups need no bounds tests:
  // padded (pr, pc) is image (row_min - 1 + pr, col_min - 1 + pc).
  const int padded_width = col_max - col_min + 3;
  const int padded_height = row_max - row_min + 3;
  std::vector<std::uint8_t> padded(
      static_cast<std::size_t>(padded_width) * static_cast<std::size_t>(padded_height), 0);
  for (int r = row_min; r <= row_max; ++r) {
    for (int c = col_min; c <= col_max; ++c) {
      padded[static_cast<std::size_t>(c - col_min + 1) +
             static_cast<std::size_t>(padded_width) * static_cast<std::size_t>(r - row_min + 1)] =
          mask.at(c, r) != 0 ? 1 : 0;
    }
  }
  for (int r = row_min - 1; r <= row_max; ++r) {
    const std::uint8_t* top = padded.data() + static_cast<std::size_t>(padded_width) *
                                                  static_cast<std::size_t>(r - row_min + 1);
    const std::uint8_t* bottom = top + padded_width;
    for (int c = col_min - 1; c <= col_max; ++c) {
      const auto pc = static_cast<std::size_t>(c - col_min + 1);
      const bool p0 = top[pc] != 0;
      const bool p1 = top[pc + 1] != 0;
      const bool p2 = bottom[pc + 1] != 0;
      const bool p3 = bottom[pc] != 0;
      const unsigned index = (p0 ? 1u : 0u) | (p1 ? 2u : 0u) | (p2 ? 4u : 0u) | (p3 ? 8u : 0u);
      if (index == 0 || index == 15) continue;
      const auto& segments = kSegments[index];
      for (std::size_t s = 0; s < segments.size() && segments[s] >= 0; s += 2) {
        const Point a = point_at(r, c, segments[s]);
        const Point b = point_at(r, c, segments[s + 1]);
        twice_area += a.row * b.col - b.row * a.col;
        perimeter += std::hypot(a.row - b.row, a.col - b.col);
      }
      // Each contour vertex is recorded once: by the square whose left edge
      // (corners 0-3) or bottom edge (corners 3-2) it lies on.
      if (p0 != p3) vertices.push_back(point_at(r, c, 3));
      if (p3 != p2) vertices.push_back(point_at(r, c, 2));
    }
  }

  out.num_pixels = n;
  out.mesh_surface = twice_area / 2.0;
  out.pixel_surface = count * sx * sy;
  out.perimeter = perimeter;
  out.max_diameter = Diameter(ConvexHull(vertices));
  return out;
}

FeatureList Shape2DFeatures(const Mask& mask, const Spacing& spacing) {
  FeatureList features;
  const Shape2DMeasures m = MeasureShape2D(mask, spacing);
  if (m.num_pixels == 0) return features;
  const double sphericity = 2.0 * std::sqrt(std::numbers::pi * m.mesh_surface) / m.perimeter;
  const double elongation = m.lambda_major > 0.0 ? std::sqrt(m.lambda_minor / m.lambda_major) : 1.0;
  features.reserve(10);
  features.push_back({"MeshSurface", "", m.mesh_surface});
  features.push_back({"PixelSurface", "", m.pixel_surface});
  features.push_back({"Perimeter", "", m.perimeter});
  features.push_back({"PerimeterSurfaceRatio", "", m.perimeter / m.mesh_surface});
  features.push_back({"Sphericity", "", sphericity});
  features.push_back({"SphericalDisproportion", "", 1.0 / sphericity});
  features.push_back({"MaximumDiameter", "", m.max_diameter});
  features.push_back({"MajorAxisLength", "", 4.0 * std::sqrt(m.lambda_major)});
  features.push_back({"MinorAxisLength", "", 4.0 * std::sqrt(m.lambda_minor)});
  features.push_back({"Elongation", "", elongation});
  return features;
}

}  // namespace fedrad::site_agent::radiomics

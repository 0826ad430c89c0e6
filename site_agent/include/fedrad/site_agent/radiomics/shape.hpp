// 2D shape features of an ROI mask, PyRadiomics "shape2D" family.
//
// Mesh (contour) convention -- PyRadiomics' marching squares (cshape.c,
// calculate_coefficients2D), reproduced so that the numbers match it:
//   * The mask (non-zero = inside) is padded with one ring of outside pixels.
//     A 2x2 square slides over the padded grid; its corners p0 = (r, c),
//     p1 = (r, c+1), p2 = (r+1, c+1), p3 = (r+1, c) (r = row, c = column)
//     give a 4-bit case index. Contour vertices sit at the MIDPOINTS of the
//     square's edges whose two corners differ (the iso-value 0.5 between
//     pixel centres), so every vertex is the midpoint between an inside pixel
//     and a 4-neighbour outside it.
//   * Ambiguous (saddle) squares with only diagonal corners inside (cases 5
//     and 10) are cut into two separate corners: diagonal neighbours are NOT
//     joined (the contour treats the ROI as 4-connected).
//   * Each line segment a->b is oriented by PyRadiomics' line table; points
//     are (row * y_mm, column * x_mm) in millimetres.
// A single pixel therefore becomes a diamond of area 1/2 pixel, and a filled
// W x H rectangle (in pixels, spacing 1) an octagon: the rectangle through
// the outer pixel edges minus four corner triangles of 1/8 pixel each.
//
// Features (name = PyRadiomics name; no IBSI code: IBSI defines morphology in
// 3D only):
//   MeshSurface             A = 1/2 |sum over segments of a x b| (signed
//                           triangle fan from the origin; PyRadiomics' sign
//                           convention makes the sum positive)
//   PixelSurface            N_p * x_mm * y_mm
//   Perimeter               P = sum over segments of |a - b|
//   PerimeterSurfaceRatio   P / A
//   Sphericity              2 sqrt(pi A) / P      (1 for a circle; a digital
//                           disc gives ~0.95 because the contour's 45-degree
//                           steps make P ~5% longer than 2 pi r)
//   SphericalDisproportion  P / (2 sqrt(pi A)) = 1 / Sphericity
//   MaximumDiameter         largest distance between two contour vertices,
//                           computed on their convex hull with rotating
//                           calipers (O(V log V), V = number of vertices);
//                           identical to PyRadiomics' all-pairs search.
//   MajorAxisLength         4 sqrt(lambda_major)
//   MinorAxisLength         4 sqrt(lambda_minor)
//   Elongation              sqrt(lambda_minor / lambda_major)
// lambda: eigenvalues of the covariance matrix (population, divided by N_p)
// of the pixel-centre coordinates in mm (row * y_mm, column * x_mm), as in
// PyRadiomics (closed form for the 2x2 matrix); a tiny negative eigenvalue
// from rounding is set to 0.
//
// Spacing: every coordinate is scaled by its own axis spacing, so anisotropic
// pixels are handled exactly (doubling x_mm doubles both areas; lengths along
// x double).
//
// Degenerate cases:
//   * empty mask (or no non-zero pixel), a mask whose data size is not
//     width * height, or a spacing that is not finite and > 0: an empty
//     FeatureList (MeasureShape2D reports num_pixels = 0).
//   * single pixel: finite values -- MeshSurface = x_mm y_mm / 2, PixelSurface
//     = x_mm y_mm, Perimeter = 2 sqrt(x_mm^2 + y_mm^2), MaximumDiameter =
//     max(x_mm, y_mm), Major/MinorAxisLength = 0, and Elongation = 1 by
//     convention (PyRadiomics would give 0/0 = NaN; it refuses single-voxel
//     ROIs). Generally Elongation = 1 whenever lambda_major = 0.
//   * a one-pixel-wide line: MinorAxisLength = 0, Elongation = 0.
#pragma once

#include <cstddef>

#include "fedrad/site_agent/radiomics/image.hpp"

namespace fedrad::site_agent::radiomics {

inline constexpr const char* kShape2DFamily = "shape2D";

// The raw measurements the features are derived from.
struct Shape2DMeasures {
  std::size_t num_pixels = 0;  // N_p
  double mesh_surface = 0.0;   // A, mm^2
  double pixel_surface = 0.0;  // mm^2
  double perimeter = 0.0;      // P, mm
  double max_diameter = 0.0;   // mm
  double lambda_major = 0.0;   // mm^2
  double lambda_minor = 0.0;   // mm^2
};

// O(W H) over the ROI's bounding box plus the diameter's O(V log V).
Shape2DMeasures MeasureShape2D(const Mask& mask, const Spacing& spacing);

// The 10 features above, in PyRadiomics order; empty for an empty mask.
FeatureList Shape2DFeatures(const Mask& mask, const Spacing& spacing);

}  // namespace fedrad::site_agent::radiomics

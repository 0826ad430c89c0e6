#include "fedrad/site_agent/radiomics/regions.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

namespace fedrad::site_agent::radiomics {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// 1D squared distance transform of f sampled at positions i * step:
// d[i] = min_q (step * (i - q))^2 + f[q], as the lower envelope of the
// parabolas rooted at the finite samples. Infinite samples (outside the ROI)
// root no parabola; if all are infinite, d stays infinite.
void DistanceTransform1D(const std::vector<double>& f, double step, std::vector<double>* d,
                         std::vector<int>* v, std::vector<double>* z) {
  const int n = static_cast<int>(f.size());
  d->assign(f.size(), kInf);
  v->assign(f.size(), 0);
  z->assign(f.size() + 1, 0.0);
  auto intersect = [&](int q, int r) {
    const double pq = q * step;
    const double pr = r * step;
    return ((f[q] + pq * pq) - (f[r] + pr * pr)) / (2.0 * (pq - pr));
  };
  int k = -1;
  for (int q = 0; q < n; ++q) {
    if (!std::isfinite(f[q])) continue;
    if (k < 0) {
      k = 0;
      (*v)[0] = q;
      (*z)[0] = -kInf;
      (*z)[1] = kInf;
      continue;
    }
    double s = intersect(q, (*v)[k]);
    while (s <= (*z)[k]) {  // terminates: z[0] is -inf
      --k;
      s = intersect(q, (*v)[k]);
    }
    ++k;
    (*v)[k] = q;
    (*z)[k] = s;
    (*z)[k + 1] = kInf;
  }
  if (k < 0) return;
  int j = 0;
  for (int i = 0; i < n; ++i) {
    const double x = i * step;
    while ((*z)[j + 1] < x) ++j;
    const double dx = x - (*v)[j] * step;
    (*d)[i] = dx * dx + f[(*v)[j]];
  }
}

// Calls visit(y, row) for each row of the mask that has an ROI pixel. All-zero
// rows (most of an image with a small ROI) are skipped with memcmp against a
// zero row, which the C library vectorises.
template <typename Visit>
void ForEachRoiRow(const Mask& mask, Visit visit) {
  if (mask.width <= 0 || mask.height <= 0) return;
  const auto width = static_cast<std::size_t>(mask.width);
  const std::vector<std::uint8_t> zeros(width, 0);
  for (int y = 0; y < mask.height; ++y) {
    const std::uint8_t* row = mask.data.data() + width * static_cast<std::size_t>(y);
    if (std::memcmp(row, zeros.data(), width) != 0) visit(y, row);
  }
}

// Bounding box [x0, x1] x [y0, y1] (inclusive) of the ROI; x1 < x0 when empty.
struct Box {
  int x0 = 0;
  int y0 = 0;
  int x1 = -1;
  int y1 = -1;
};

Box RoiBox(const Mask& mask) {
  Box box{mask.width, mask.height, -1, -1};
  ForEachRoiRow(mask, [&](int y, const std::uint8_t* row) {
    int first = 0;
    while (row[first] == 0) ++first;
    int last = mask.width - 1;
    while (row[last] == 0) --last;
    box.x0 = std::min(box.x0, first);
    box.x1 = std::max(box.x1, last);
    box.y0 = std::min(box.y0, y);
    box.y1 = y;
  });
  if (box.x1 < 0) return Box{};
  return box;
}

}  // namespace

std::size_t CountRoi(const Mask& mask) {
  std::size_t n = 0;
  ForEachRoiRow(mask, [&](int, const std::uint8_t* row) {
    for (int x = 0; x < mask.width; ++x) n += row[x] != 0 ? 1 : 0;
  });
  return n;
}

int LabelComponents(const Mask& mask, Grid<int>* labels) {
  *labels = Grid<int>(mask.width, mask.height, 0);
  int next = 0;
  std::vector<std::pair<int, int>> stack;
  for (int y = 0; y < mask.height; ++y) {
    for (int x = 0; x < mask.width; ++x) {
      if (mask.at(x, y) == 0 || labels->at(x, y) != 0) continue;
      ++next;
      labels->at(x, y) = next;
      stack.clear();
      stack.emplace_back(x, y);
      while (!stack.empty()) {
        const auto [cx, cy] = stack.back();
        stack.pop_back();
        for (int dy = -1; dy <= 1; ++dy) {
          for (int dx = -1; dx <= 1; ++dx) {
            const int nx = cx + dx;
            const int ny = cy + dy;
            if ((dx == 0 && dy == 0) || !mask.Contains(nx, ny)) continue;
            if (mask.at(nx, ny) == 0 || labels->at(nx, ny) != 0) continue;
            labels->at(nx, ny) = next;
            stack.emplace_back(nx, ny);
          }
        }
      }
    }
  }
  return next;
}

Mask LesionRegion(const Mask& mask, ComponentRule rule) {
  Mask out(mask.width, mask.height, 0);
  if (rule == ComponentRule::kAll) {
    for (std::size_t i = 0; i < mask.data.size(); ++i) out.data[i] = mask.data[i] != 0 ? 1 : 0;
    return out;
  }
  // Components are labelled within the mask's bounding box only: every
  // component lies inside it, and raster order within the box is the image's
  // raster order restricted to it, so the labels (and the tie rule) are
  // those of labelling the whole image.
  const Box box = RoiBox(mask);
  if (box.x1 < box.x0) return out;
  const int bw = box.x1 - box.x0 + 1;
  const int bh = box.y1 - box.y0 + 1;
  Mask cropped(bw, bh, 0);
  for (int y = 0; y < bh; ++y) {
    std::copy_n(
        &mask.data[static_cast<std::size_t>(mask.width) * static_cast<std::size_t>(box.y0 + y) +
                   static_cast<std::size_t>(box.x0)],
        bw, &cropped.data[static_cast<std::size_t>(bw) * static_cast<std::size_t>(y)]);
  }
  Grid<int> labels;
  const int n = LabelComponents(cropped, &labels);
  if (n == 0) return out;
  std::vector<std::size_t> sizes(static_cast<std::size_t>(n) + 1, 0);
  for (int label : labels.data) ++sizes[static_cast<std::size_t>(label)];
  int best = 1;
  for (int label = 2; label <= n; ++label) {
    if (sizes[static_cast<std::size_t>(label)] > sizes[static_cast<std::size_t>(best)])
      best = label;
  }
  for (int y = 0; y < bh; ++y) {
    for (int x = 0; x < bw; ++x) {
      out.at(box.x0 + x, box.y0 + y) = labels.at(x, y) == best ? 1 : 0;
    }
  }
  return out;
}

Grid<double> SquaredDistanceMm(const Mask& roi, const Spacing& spacing) {
  Grid<double> dist(roi.width, roi.height, kInf);
  std::vector<double> f;
  std::vector<double> d;
  std::vector<int> v;
  std::vector<double> z;
  // Pass 1: along x within each row.
  f.resize(static_cast<std::size_t>(roi.width));
  for (int y = 0; y < roi.height; ++y) {
    for (int x = 0; x < roi.width; ++x) f[x] = roi.at(x, y) != 0 ? 0.0 : kInf;
    DistanceTransform1D(f, spacing.x_mm, &d, &v, &z);
    for (int x = 0; x < roi.width; ++x) dist.at(x, y) = d[x];
  }
  // Pass 2: along y within each column, on the row results.
  f.resize(static_cast<std::size_t>(roi.height));
  for (int x = 0; x < roi.width; ++x) {
    for (int y = 0; y < roi.height; ++y) f[y] = dist.at(x, y);
    DistanceTransform1D(f, spacing.y_mm, &d, &v, &z);
    for (int y = 0; y < roi.height; ++y) dist.at(x, y) = d[y];
  }
  return dist;
}

Mask RingRegion(const Mask& lesion, double width_mm, const Spacing& spacing,
                const Mask* field_of_view) {
  Mask ring(lesion.width, lesion.height, 0);
  // Only pixels within width_mm of the lesion's bounding box can be in the
  // ring: run the distance transform on that window (exact, and much
  // smaller than the image).
  int min_x = lesion.width, min_y = lesion.height, max_x = -1, max_y = -1;
  for (int y = 0; y < lesion.height; ++y) {
    for (int x = 0; x < lesion.width; ++x) {
      if (lesion.at(x, y) == 0) continue;
      min_x = std::min(min_x, x);
      max_x = std::max(max_x, x);
      min_y = std::min(min_y, y);
      max_y = std::max(max_y, y);
    }
  }
  if (max_x < 0) return ring;
  const int reach_x = static_cast<int>(std::ceil(width_mm / spacing.x_mm)) + 1;
  const int reach_y = static_cast<int>(std::ceil(width_mm / spacing.y_mm)) + 1;
  const int x0 = std::max(0, min_x - reach_x);
  const int y0 = std::max(0, min_y - reach_y);
  const int x1 = std::min(lesion.width - 1, max_x + reach_x);
  const int y1 = std::min(lesion.height - 1, max_y + reach_y);
  Mask window(x1 - x0 + 1, y1 - y0 + 1, 0);
  for (int y = y0; y <= y1; ++y) {
    for (int x = x0; x <= x1; ++x) window.at(x - x0, y - y0) = lesion.at(x, y);
  }
  const Grid<double> dist = SquaredDistanceMm(window, spacing);
  const double r2 = width_mm * width_mm * (1.0 + 1e-12);  // boundary pixels count as inside
  for (int y = y0; y <= y1; ++y) {
    for (int x = x0; x <= x1; ++x) {
      if (lesion.at(x, y) != 0) continue;
      if (field_of_view != nullptr && field_of_view->at(x, y) == 0) continue;
      if (dist.at(x - x0, y - y0) <= r2) ring.at(x, y) = 1;
    }
  }
  return ring;
}

std::string RingRegionName(double width_mm) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "ring%gmm", width_mm);
  return buf;
}

}  // namespace fedrad::site_agent::radiomics

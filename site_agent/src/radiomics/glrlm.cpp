// Grey level run length matrix and its features (texture.hpp).
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "fedrad/site_agent/radiomics/texture.hpp"
#include "texture_common.hpp"

namespace fedrad::site_agent::radiomics {

namespace {

using texture_internal::FindRoiBox;
using texture_internal::Index;
using texture_internal::RoiBox;

// Counts the run ends of a unit direction in one row-major pass. Every line
// of pixels along the direction keeps its current (level, length); a pixel
// whose level differs from its line's state ends the previous run there.
// Ends are counted unconditionally into `ends`, (Ng+1) x (max_length+1)
// integers indexed [level][length] where row 0 / column 0 absorb the
// "nothing ended" and outside-ROI cases, and two interleaved copies (even /
// odd x) keep identical neighbouring states from serialising on one counter.
// `sx`, `sy` is the direction oriented so that sy > 0, or sy == 0 and sx > 0.
void CountUnitRuns(const LevelImage& image, const RoiBox& box, int sx, int sy, std::size_t columns1,
                   std::vector<std::uint32_t>& ends, std::size_t& num_pixels) {
  const std::size_t plane = ends.size() / 2;
  const int width = image.levels.width;
  const int box_width = box.width();
  const int box_height = box.height();
  std::uint32_t* even = ends.data();
  std::uint32_t* odd = ends.data() + plane;
  std::size_t pixels = 0;
  if (sy == 0) {
    // Horizontal: one line per row, state in registers.
    for (int y = box.y0; y < box.y1; ++y) {
      const int* row = image.levels.data.data() + Index(box.x0, y, width);
      int level = 0;
      std::size_t length = 0;
      for (int x = 0; x < box_width; ++x) {
        const int v = row[x];
        const bool changed = v != level;
        std::uint32_t* histogram = (x & 1) != 0 ? odd : even;
        histogram[static_cast<std::size_t>(level) * columns1 + length] += changed ? 1U : 0U;
        length = changed ? 1 : length + 1;
        level = v;
        pixels += v != 0 ? 1 : 0;
      }
      even[static_cast<std::size_t>(level) * columns1 + length] += 1;
    }
  } else {
    // Vertical / diagonal: line id per pixel, state arrays.
    const int num_lines = sx == 0 ? box_width : box_width + box_height - 1;
    std::vector<int> line_level(static_cast<std::size_t>(num_lines), 0);
    std::vector<std::size_t> line_length(static_cast<std::size_t>(num_lines), 0);
    for (int y = 0; y < box_height; ++y) {
      const int* row = image.levels.data.data() + Index(box.x0, box.y0 + y, width);
      // Line of pixel (x, y): x (vertical), x - y + H - 1 for (1,1), x + y for (-1,1).
      const int line_base = sx == 0 ? 0 : (sx > 0 ? box_height - 1 - y : y);
      for (int x = 0; x < box_width; ++x) {
        const int v = row[x];
        const auto line = static_cast<std::size_t>(line_base + x);
        const int level = line_level[line];
        const std::size_t length = line_length[line];
        const bool changed = v != level;
        std::uint32_t* histogram = (x & 1) != 0 ? odd : even;
        histogram[static_cast<std::size_t>(level) * columns1 + length] += changed ? 1U : 0U;
        line_length[line] = changed ? 1 : length + 1;
        line_level[line] = v;
        pixels += v != 0 ? 1 : 0;
      }
    }
    for (std::size_t line = 0; line < line_level.size(); ++line) {
      even[static_cast<std::size_t>(line_level[line]) * columns1 + line_length[line]] += 1;
    }
  }
  num_pixels = pixels;
}

// Any other direction: start at the first pixel of each run and walk along
// it in a copy with a zero border as wide as the step.
void CountWalkedRuns(const LevelImage& image, const RoiBox& box, int dx, int dy,
                     std::size_t columns1, std::vector<std::uint32_t>& ends,
                     std::size_t& num_pixels) {
  const texture_internal::PaddedLevels work =
      texture_internal::MakePaddedLevels(image, box, std::max(std::abs(dx), std::abs(dy)));
  const std::ptrdiff_t step = work.Step(dx, dy);
  const int* levels = work.data.data();
  std::size_t pixels = 0;
  for (int y = 0; y < box.height(); ++y) {
    const auto row = static_cast<std::ptrdiff_t>(work.IndexOf(0, y));
    for (int x = 0; x < box.width(); ++x) {
      const std::ptrdiff_t k = row + x;
      const int level = levels[k];
      if (level == 0) continue;
      ++pixels;
      if (levels[k - step] == level) continue;  // not the first pixel of its run
      std::size_t length = 1;
      for (std::ptrdiff_t q = k + step; levels[q] == level; q += step) ++length;
      ++ends[static_cast<std::size_t>(level) * columns1 + length];
    }
  }
  num_pixels = pixels;
}

// The GLRLMs of the four kTextureDirections2D, (1,0), (1,1), (0,1) and
// (-1,1), in one row-major pass over the box: each direction keeps the state
// of its lines as CountUnitRuns does, and counts its run ends into its own
// (Ng+1) x (max_length+1) table (the four tables take turns, so neighbouring
// pixels do not serialise on one counter). The counts, and so the matrices,
// equal those of BuildGlrlmInBox direction by direction.
std::array<Glrlm, 4> BuildFourGlrlmsInBox(const LevelImage& image, const RoiBox& box) {
  const int width = image.levels.width;
  const int w = box.width();
  const int h = box.height();
  const auto ng1 = static_cast<std::size_t>(image.num_levels) + 1;
  // Longest possible run per direction: horizontal, diagonal, vertical, anti-diagonal.
  const std::array<int, 4> max_length = {w, std::min(w, h), h, std::min(w, h)};
  std::array<std::size_t, 4> columns1{};
  std::array<std::vector<std::uint32_t>, 4> ends;
  for (std::size_t d = 0; d < 4; ++d) {
    columns1[d] = static_cast<std::size_t>(max_length[d]) + 1;
    ends[d].assign(ng1 * columns1[d], 0);
  }
  std::uint32_t* horizontal = ends[0].data();
  std::uint32_t* diagonal = ends[1].data();
  std::uint32_t* vertical = ends[2].data();
  std::uint32_t* anti = ends[3].data();
  const std::size_t c_h = columns1[0];
  const std::size_t c_d = columns1[1];
  const std::size_t c_v = columns1[2];
  const std::size_t c_a = columns1[3];
  // Line states: vertical line x; diagonal line x - y + h - 1; anti-diagonal x + y.
  const auto num_diagonals = static_cast<std::size_t>(w + h - 1);
  std::vector<int> v_level(static_cast<std::size_t>(w), 0);
  std::vector<int> v_length(static_cast<std::size_t>(w), 0);
  std::vector<int> d_level(num_diagonals, 0);
  std::vector<int> d_length(num_diagonals, 0);
  std::vector<int> a_level(num_diagonals, 0);
  std::vector<int> a_length(num_diagonals, 0);
  std::size_t pixels = 0;
  for (int y = 0; y < h; ++y) {
    const int* row = image.levels.data.data() + Index(box.x0, box.y0 + y, width);
    int* dl = d_level.data() + (h - 1 - y);
    int* dn = d_length.data() + (h - 1 - y);
    int* al = a_level.data() + y;
    int* an = a_length.data() + y;
    int level = 0;
    int length = 0;
    for (int x = 0; x < w; ++x) {
      const int v = row[x];
      pixels += v != 0 ? 1 : 0;
      // Horizontal: state in registers.
      {
        const bool changed = v != level;
        horizontal[static_cast<std::size_t>(level) * c_h + static_cast<std::size_t>(length)] +=
            changed ? 1U : 0U;
        length = changed ? 1 : length + 1;
        level = v;
      }
      {
        const int l = dl[x];
        const int n = dn[x];
        const bool changed = v != l;
        diagonal[static_cast<std::size_t>(l) * c_d + static_cast<std::size_t>(n)] +=
            changed ? 1U : 0U;
        dn[x] = changed ? 1 : n + 1;
        dl[x] = v;
      }
      {
        const int l = v_level[static_cast<std::size_t>(x)];
        const int n = v_length[static_cast<std::size_t>(x)];
        const bool changed = v != l;
        vertical[static_cast<std::size_t>(l) * c_v + static_cast<std::size_t>(n)] +=
            changed ? 1U : 0U;
        v_length[static_cast<std::size_t>(x)] = changed ? 1 : n + 1;
        v_level[static_cast<std::size_t>(x)] = v;
      }
      {
        const int l = al[x];
        const int n = an[x];
        const bool changed = v != l;
        anti[static_cast<std::size_t>(l) * c_a + static_cast<std::size_t>(n)] += changed ? 1U : 0U;
        an[x] = changed ? 1 : n + 1;
        al[x] = v;
      }
    }
    horizontal[static_cast<std::size_t>(level) * c_h + static_cast<std::size_t>(length)] += 1;
  }
  for (std::size_t line = 0; line < v_level.size(); ++line) {
    vertical[static_cast<std::size_t>(v_level[line]) * c_v +
             static_cast<std::size_t>(v_length[line])] += 1;
  }
  for (std::size_t line = 0; line < num_diagonals; ++line) {
    diagonal[static_cast<std::size_t>(d_level[line]) * c_d +
             static_cast<std::size_t>(d_length[line])] += 1;
    anti[static_cast<std::size_t>(a_level[line]) * c_a +
         static_cast<std::size_t>(a_length[line])] += 1;
  }
  std::array<Glrlm, 4> out;
  for (std::size_t d = 0; d < 4; ++d) {
    const auto columns = static_cast<std::size_t>(max_length[d]);
    out[d] = texture_internal::DenseLevelSizeMatrix(image.num_levels, max_length[d]);
    for (int level = 1; level <= image.num_levels; ++level) {
      for (std::size_t length = 1; length <= columns; ++length) {
        out[d].counts[static_cast<std::size_t>(level - 1) * columns + length - 1] =
            ends[d][static_cast<std::size_t>(level) * columns1[d] + length];
      }
    }
    out[d].num_voxels = static_cast<double>(pixels);
    texture_internal::TrimTrailingColumns(out[d]);
  }
  return out;
}

Glrlm BuildGlrlmInBox(const LevelImage& image, const RoiBox& box, Offset2D direction) {
  const int dx = direction.dx;
  const int dy = direction.dy;
  if (dx == 0 && dy == 0) {
    throw std::invalid_argument("texture: GLRLM direction (0,0) is not a direction");
  }
  int max_length = 0;
  if (!box.empty()) {
    if (dx == 0) {
      max_length = box.height();
    } else if (dy == 0) {
      max_length = box.width();
    } else {
      max_length = std::min(box.width(), box.height());
    }
  }
  Glrlm glrlm = texture_internal::DenseLevelSizeMatrix(image.num_levels, max_length);
  if (box.empty()) return glrlm;
  // Runs do not depend on the sign of the direction.
  const int sx = (dy < 0 || (dy == 0 && dx < 0)) ? -dx : dx;
  const int sy = dy < 0 ? -dy : dy;
  const auto columns = static_cast<std::size_t>(max_length);
  const std::size_t columns1 = columns + 1;
  const std::size_t plane = (static_cast<std::size_t>(image.num_levels) + 1) * columns1;
  std::vector<std::uint32_t> ends(2 * plane, 0);
  std::size_t num_pixels = 0;
  if (std::abs(sx) <= 1 && sy <= 1) {
    CountUnitRuns(image, box, sx, sy, columns1, ends, num_pixels);
  } else {
    CountWalkedRuns(image, box, dx, dy, columns1, ends, num_pixels);
  }
  for (int level = 1; level <= image.num_levels; ++level) {
    for (std::size_t length = 1; length <= columns; ++length) {
      const std::size_t source = static_cast<std::size_t>(level) * columns1 + length;
      glrlm.counts[static_cast<std::size_t>(level - 1) * columns + length - 1] =
          ends[source] + ends[plane + source];
    }
  }
  glrlm.num_voxels = static_cast<double>(num_pixels);
  texture_internal::TrimTrailingColumns(glrlm);
  return glrlm;
}

}  // namespace

Glrlm BuildGlrlm(const LevelImage& image, Offset2D direction) {
  return BuildGlrlmInBox(image, FindRoiBox(image), direction);
}

GlrlmValues ComputeGlrlmValues(const Glrlm& glrlm) {
  const texture_internal::SizeStats stats = texture_internal::ComputeSizeStats(glrlm);
  GlrlmValues values{};
  std::copy_n(stats.begin(), values.size(), values.begin());
  return values;
}

FeatureList GlrlmFeatures(const Glrlm& glrlm) {
  return texture_internal::MakeFeatureList(kGlrlmFeatureDefs, ComputeGlrlmValues(glrlm));
}

FeatureList GlrlmFeaturesPerSlice(std::span<const LevelImage> slices,
                                  DirectionAggregation aggregation) {
  texture_internal::ValueMean<kGlrlmFeatureDefs.size()> mean;
  bool any_roi = false;
  for (const LevelImage& slice : slices) {
    const RoiBox box = FindRoiBox(slice);
    if (box.empty()) continue;
    any_roi = true;
    static_assert(kTextureDirections2D[0].dx == 1 && kTextureDirections2D[0].dy == 0 &&
                  kTextureDirections2D[1].dx == 1 && kTextureDirections2D[1].dy == 1 &&
                  kTextureDirections2D[2].dx == 0 && kTextureDirections2D[2].dy == 1 &&
                  kTextureDirections2D[3].dx == -1 && kTextureDirections2D[3].dy == 1);
    std::array<Glrlm, kTextureDirections2D.size()> matrices = BuildFourGlrlmsInBox(slice, box);
    if (aggregation == DirectionAggregation::kAverage) {
      for (const Glrlm& m : matrices) {
        if (m.Total() > 0.0) mean.Add(ComputeGlrlmValues(m));
      }
    } else {
      const Glrlm merged = MergeLevelSizeMatrices(matrices);
      if (merged.Total() > 0.0) mean.Add(ComputeGlrlmValues(merged));
    }
  }
  if (!any_roi) return {};
  return texture_internal::MakeFeatureList(kGlrlmFeatureDefs, mean.Mean());
}

FeatureList GlrlmFeatures2D(const LevelImage& image, DirectionAggregation aggregation) {
  return GlrlmFeaturesPerSlice(std::span<const LevelImage>(&image, 1), aggregation);
}

}  // namespace fedrad::site_agent::radiomics

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

// Row-at-a-time run counting for the vertical and the two diagonal
// directions. A pixel's predecessor along such a direction lies in the row
// above (shifted by -1, 0 or +1 column). For the n pixels of a row, with
// `prev` the levels of their predecessors and `len_old` the lengths of the
// runs those predecessors end (so far):
//   idx[i]     = the run-end cell level * columns1 + length of the
//                predecessor's run if the level changes here (the run ended
//                at the predecessor), else one of 8 spare cells (nothing
//                ended; spreading them over 8 cells keeps consecutive
//                increments off one counter);
//   len_new[i] = the length of the run through this pixel so far.
// Element-wise and branch-free, so the compiler vectorises it (also compiled
// for AVX2, selected at run time; integer arithmetic, exact either way).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FEDRAD_RUN_KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define FEDRAD_RUN_KERNEL
#endif
FEDRAD_RUN_KERNEL void RunStep(const int* __restrict cur, const int* __restrict prev,
                               const int* __restrict len_old, int* __restrict len_new,
                               std::uint32_t* __restrict idx, int n, std::uint32_t columns1,
                               std::uint32_t spare) {
  for (int i = 0; i < n; ++i) {
    const bool same = cur[i] == prev[i];
    idx[i] = same ? spare + (static_cast<std::uint32_t>(i) & 7U)
                  : static_cast<std::uint32_t>(prev[i]) * columns1 +
                        static_cast<std::uint32_t>(len_old[i]);
    len_new[i] = same ? len_old[i] + 1 : 1;
  }
}

// Number of non-zero values (vectorised).
FEDRAD_RUN_KERNEL std::size_t CountNonZero(const int* __restrict row, int n) {
  std::size_t count = 0;
  for (int i = 0; i < n; ++i) count += row[i] != 0 ? 1 : 0;
  return count;
}

// The GLRLMs of the four kTextureDirections2D, (1,0), (1,1), (0,1) and
// (-1,1), from one pass over the box's rows. Each direction counts its run
// ends into its own (Ng+1) x (max_length+1) table indexed [level][length],
// whose row 0 absorbs the runs of level 0 (outside the ROI), plus 8 spare
// cells for "no run ended here". The counts, and so the matrices, equal
// those of BuildGlrlmInBox direction by direction (a run of the direction
// is counted once, with its level and length, when its line changes level
// or leaves the box).
//
// How: a virtual all-zero row above the box (lengths 0) starts every line.
// For row y, RunStep compares each pixel with its predecessor in row y - 1:
// (x, y-1) for (0,1), (x-1, y-1) for (1,1), (x+1, y-1) for (-1,1); where the
// level changes, the predecessor's run ends. The (1,1) lines also end at the
// right edge (pixel (w-1, y-1) has no successor) and the (-1,1) lines at the
// left edge (pixel (0, y-1)): column 0, resp. w-1, of this row has no
// predecessor, so its cell holds that edge run's end instead. After the
// last row every line's run ends. The horizontal runs keep their state in
// registers, as before. Zero-level runs are at most as long as the lines
// (the virtual row adds a length-0 start), so every index stays inside its
// table.
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
    ends[d].assign(ng1 * columns1[d] + 8, 0);
  }
  std::uint32_t* horizontal = ends[0].data();
  std::uint32_t* diagonal = ends[1].data();
  std::uint32_t* vertical = ends[2].data();
  std::uint32_t* anti = ends[3].data();
  const std::size_t c_h = columns1[0];
  const auto c_d = static_cast<std::uint32_t>(columns1[1]);
  const auto c_v = static_cast<std::uint32_t>(columns1[2]);
  const auto c_a = static_cast<std::uint32_t>(columns1[3]);
  const auto spare_d = static_cast<std::uint32_t>(ng1 * columns1[1]);
  const auto spare_v = static_cast<std::uint32_t>(ng1 * columns1[2]);
  const auto spare_a = static_cast<std::uint32_t>(ng1 * columns1[3]);

  const auto wz = static_cast<std::size_t>(w);
  // One block: the virtual zero row, lengths (old and new) per direction,
  // and the cell indices of the current row.
  std::vector<int> buffers(7 * wz, 0);
  const int* zero_row = buffers.data();
  int* v_len = buffers.data() + wz;
  int* v_len_next = buffers.data() + 2 * wz;
  int* d_len = buffers.data() + 3 * wz;
  int* d_len_next = buffers.data() + 4 * wz;
  int* a_len = buffers.data() + 5 * wz;
  int* a_len_next = buffers.data() + 6 * wz;
  std::vector<std::uint32_t> cells(3 * wz, 0);
  std::uint32_t* idx_v = cells.data();
  std::uint32_t* idx_d = cells.data() + wz;
  std::uint32_t* idx_a = cells.data() + 2 * wz;

  std::size_t pixels = 0;
  const int* prev = zero_row;
  for (int y = 0; y < h; ++y) {
    const int* row = image.levels.data.data() + Index(box.x0, box.y0 + y, width);
    pixels += CountNonZero(row, w);
    RunStep(row, prev, v_len, v_len_next, idx_v, w, c_v, spare_v);
    if (w > 1) {
      RunStep(row + 1, prev, d_len, d_len_next + 1, idx_d + 1, w - 1, c_d, spare_d);
      RunStep(row, prev + 1, a_len + 1, a_len_next, idx_a, w - 1, c_a, spare_a);
    }
    // Edge runs: (1,1) line through (w-1, y-1), (-1,1) line through (0, y-1).
    idx_d[0] =
        static_cast<std::uint32_t>(prev[w - 1]) * c_d + static_cast<std::uint32_t>(d_len[w - 1]);
    d_len_next[0] = 1;
    idx_a[w - 1] = static_cast<std::uint32_t>(prev[0]) * c_a + static_cast<std::uint32_t>(a_len[0]);
    a_len_next[w - 1] = 1;
    int level = 0;
    std::size_t start = 0;
    for (std::size_t x = 0; x < wz; ++x) {
      ++vertical[idx_v[x]];
      ++diagonal[idx_d[x]];
      ++anti[idx_a[x]];
      // Horizontal: the run of `level` that started at `start` ends before x
      // when the level changes (a level-0 run lands in row 0).
      const int v = row[x];
      const bool changed = v != level;
      horizontal[static_cast<std::size_t>(level) * c_h + (x - start)] += changed ? 1U : 0U;
      start = changed ? x : start;
      level = v;
    }
    horizontal[static_cast<std::size_t>(level) * c_h + (wz - start)] += 1;
    std::swap(v_len, v_len_next);
    std::swap(d_len, d_len_next);
    std::swap(a_len, a_len_next);
    prev = row;
  }
  // Every line's last run ends at the bottom row.
  for (std::size_t x = 0; x < wz; ++x) {
    const auto level = static_cast<std::uint32_t>(prev[x]);
    ++vertical[level * c_v + static_cast<std::uint32_t>(v_len[x])];
    ++diagonal[level * c_d + static_cast<std::uint32_t>(d_len[x])];
    ++anti[level * c_a + static_cast<std::uint32_t>(a_len[x])];
  }
  // The matrices with their trailing all-zero columns already dropped: the
  // longest run length that occurs (over the levels 1..Ng) is found first,
  // so the result equals DenseLevelSizeMatrix + copy + TrimTrailingColumns.
  std::array<Glrlm, 4> out;
  for (std::size_t d = 0; d < 4; ++d) {
    const auto columns = static_cast<std::size_t>(max_length[d]);
    std::size_t used = 0;
    for (std::size_t level = 1; level < ng1; ++level) {
      const std::uint32_t* row = ends[d].data() + level * columns1[d];
      for (std::size_t length = columns; length > used; --length) {
        if (row[length] != 0) {
          used = length;
          break;
        }
      }
    }
    out[d] = texture_internal::DenseLevelSizeMatrix(image.num_levels, static_cast<int>(used));
    for (std::size_t level = 1; level < ng1; ++level) {
      const std::uint32_t* row = ends[d].data() + level * columns1[d];
      double* counts = out[d].counts.data() + (level - 1) * used;
      for (std::size_t length = 1; length <= used; ++length) counts[length - 1] = row[length];
    }
    out[d].num_voxels = static_cast<double>(pixels);
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

namespace {

// The features of one slice with a non-empty ROI box added to `mean`
// (GlrlmFeaturesPerSlice's loop body).
void AddSliceGlrlmFeatures(const LevelImage& slice, const RoiBox& box,
                           DirectionAggregation aggregation,
                           texture_internal::ValueMean<kGlrlmFeatureDefs.size()>& mean) {
  {
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
}

}  // namespace

FeatureList GlrlmFeaturesPerSlice(std::span<const LevelImage> slices,
                                  DirectionAggregation aggregation) {
  texture_internal::ValueMean<kGlrlmFeatureDefs.size()> mean;
  bool any_roi = false;
  for (const LevelImage& slice : slices) {
    const RoiBox box = FindRoiBox(slice);
    if (box.empty()) continue;
    any_roi = true;
    AddSliceGlrlmFeatures(slice, box, aggregation, mean);
  }
  if (!any_roi) return {};
  return texture_internal::MakeFeatureList(kGlrlmFeatureDefs, mean.Mean());
}

FeatureList texture_internal::GlrlmFeaturesPrepared(const LevelImage& image, const RoiBox& box,
                                                    DirectionAggregation aggregation) {
  if (box.empty()) return {};
  texture_internal::ValueMean<kGlrlmFeatureDefs.size()> mean;
  AddSliceGlrlmFeatures(image, box, aggregation, mean);
  return texture_internal::MakeFeatureList(kGlrlmFeatureDefs, mean.Mean());
}

FeatureList GlrlmFeatures2D(const LevelImage& image, DirectionAggregation aggregation) {
  return GlrlmFeaturesPerSlice(std::span<const LevelImage>(&image, 1), aggregation);
}

}  // namespace fedrad::site_agent::radiomics

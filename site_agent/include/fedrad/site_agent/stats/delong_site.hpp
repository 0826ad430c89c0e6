// Site side of the exact pooled ROC / DeLong computation (issue 6, item 1):
// pure functions from a site's own scores and labels to flat arrays of sums,
// so that the coordinator can add them over sites (securely) and obtain the
// pooled AUC, DeLong (co)variances and ROC curve of R models without any
// patient-level score leaving a site. The coordinator side is
// fedrad/coordinator/roc.hpp; the method is described in docs/methods.md,
// "Exact pooled ROC and DeLong from sums".
//
// Score grid (public, fixed in the study spec before data are seen).
//   A score s is first mapped to u in [0, 1] by a monotone map:
//     kProbability:   u = s (s must be a probability in [0, 1]),
//     kDecisionValue: u = ½ + atan(s)/π (s any finite decision value),
//   then rounded to the nearest of G grid points u_k = k/(G-1), k = 0..G-1:
//     k(s) = llround(u · (G-1))  (halves away from zero).
//   Resolution 1/(G-1): kFineGridSize = 100001 gives 1e-5 on the probability
//   scale, kCoarseGridSize = 1001 gives 1e-3. The map is non-decreasing, so
//   every pair of scores keeps its order or becomes tied; the grid AUC
//   differs from the unbinned one only through (case, control) pairs that
//   share a cell, by at most ½·Σ_k cases_k·controls_k / (N1·N0) (reported
//   by the coordinator). A score that is already a grid value (k/(G-1) on
//   the probability scale) maps to its own k: for such scores the grid
//   statistics are those of the raw scores, exactly.
//
// Rounds. R models score the same rows (paired). Labels: 1 = case, 0 =
// control.
//   Round 1 (GridHistograms): each site sends its per-class counts per grid
//     cell; the coordinator adds them (securely) to the pooled histograms.
//   Round 2 (PlacementSums): the coordinator broadcasts the pooled
//     histograms (the same array, summed); each site derives the pooled
//     counts below / at each grid value, computes its own rows' DeLong
//     placement values and returns only their sums and sums of products.
//
// Integer scaling. Placement values are sent multiplied by a public
// constant so that every entry is an integer (exact in a double, and what a
// fixed-point secure aggregation needs): with N1, N0 the POOLED numbers of
// cases and controls and k_ir the cell of row i's score for model r,
//   P10_ir = 2·#{pooled controls in cells < k_ir} + #{pooled controls in cell k_ir}
//          = 2·N0·V10_ir            (row i a case),
//   P01_jr = 2·#{pooled cases in cells > k_jr} + #{pooled cases in cell k_jr}
//          = 2·N1·V01_jr            (row j a control),
// where V10 / V01 are DeLong's placement values (ties counted ½). Sums over
// sites are exact as long as N1·(2·N0)² and N0·(2·N1)² stay below 2^53
// (about 10^5 cases and 10^5 controls); PlacementSums refuses larger
// cohorts.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "fedrad/common/status.hpp"

namespace fedrad::site_agent::stats {

enum class ScoreScale {
  kProbability,    // u = s, s in [0, 1]
  kDecisionValue,  // u = ½ + atan(s)/π, s finite
};

inline constexpr std::int64_t kFineGridSize = 100001;  // resolution 1e-5 in u
inline constexpr std::int64_t kCoarseGridSize = 1001;  // resolution 1e-3 in u
inline constexpr std::int64_t kMaxGridSize = 1000001;  // resolution 1e-6 in u

struct ScoreGrid {
  ScoreScale scale = ScoreScale::kProbability;
  std::int64_t size = kFineGridSize;  // G, number of grid points, in [2, kMaxGridSize]
};

// OK when 2 ≤ G ≤ kMaxGridSize.
common::Status ValidateGrid(const ScoreGrid& grid);

// Grid index k(s) in [0, G-1] (see above). kInvalidArgument for NaN or
// infinite scores, a probability outside [0, 1], or an invalid grid.
common::Result<std::int64_t> GridIndex(const ScoreGrid& grid, double score);

// The score at grid point k (inverse of the map): k/(G-1) for
// kProbability; tan(π(k/(G-1) - ½)) for kDecisionValue, with -inf at k = 0
// and +inf at k = G-1. Non-decreasing in k. k must be in [0, G-1].
double GridScore(const ScoreGrid& grid, std::int64_t k);

// Round 1. scores: n × R (column r = model r's scores of the site's rows),
// labels: n values in {0, 1}. Returns the 2·R·G array
//   [model 0: controls_0 .. controls_{G-1}, cases_0 .. cases_{G-1},
//    model 1: controls .., cases .., ...]
// i.e. entry (2r + c)·G + k = number of the site's rows with label c whose
// model-r score falls in cell k. Each model's block has n entries in all.
// kInvalidArgument (naming row and model) for a bad label or score.
common::Result<std::vector<double>> GridHistograms(const ScoreGrid& grid,
                                                   const Eigen::MatrixXd& scores,
                                                   const Eigen::VectorXd& labels);

inline std::int64_t GridHistogramsSize(const ScoreGrid& grid, int num_models) {
  return 2 * static_cast<std::int64_t>(num_models) * grid.size;
}

// Layout of the round-2 array for R models (size 2 + 2R + 2R²):
//   [0]                    n1 = number of the site's cases
//   [1]                    n0 = number of the site's controls
//   [2 + r]                Σ_{site cases i}    P10_ir            r = 0..R-1
//   [2 + R + r]            Σ_{site controls j} P01_jr
//   [2 + 2R + r·R + s]     Σ_{site cases i}    P10_ir · P10_is   (R×R row-major)
//   [2 + 2R + R² + r·R + s] Σ_{site controls j} P01_jr · P01_js  (R×R row-major)
// Every entry is an integer and a sum over the site's rows, so the element-
// wise sum over sites is the same array for the pooled cohort.
struct PlacementSumsLayout {
  int num_models = 0;  // R
  std::int64_t NumCases() const { return 0; }
  std::int64_t NumControls() const { return 1; }
  std::int64_t SumCase(int r) const { return 2 + r; }
  std::int64_t SumControl(int r) const { return 2 + num_models + r; }
  std::int64_t CrossCase(int r, int s) const {
    return 2 + 2 * static_cast<std::int64_t>(num_models) + r * num_models + s;
  }
  std::int64_t CrossControl(int r, int s) const {
    return 2 + 2 * static_cast<std::int64_t>(num_models) +
           static_cast<std::int64_t>(num_models) * num_models + r * num_models + s;
  }
  std::int64_t Size() const {
    return 2 + 2 * static_cast<std::int64_t>(num_models) +
           2 * static_cast<std::int64_t>(num_models) * num_models;
  }
};

// Round 2. scores, labels: as in GridHistograms (same rows, same R).
// pooled_histograms: the element-wise sum over all sites of their
// GridHistograms arrays (size 2·R·G, non-negative integers; values within
// 1e-6 of an integer are rounded, anything else is refused). Returns the
// PlacementSumsLayout array. kInvalidArgument when sizes disagree, the
// pooled array is not a histogram, a model's pooled block does not have the
// same N1 and N0 as model 0, the site's own counts exceed the pooled ones
// in some cell (the pooled array cannot contain this site), a class is
// empty in the pooled cohort, or the cohort is too large for exact sums.
common::Result<std::vector<double>> PlacementSums(const ScoreGrid& grid,
                                                  const Eigen::MatrixXd& scores,
                                                  const Eigen::VectorXd& labels,
                                                  const std::vector<double>& pooled_histograms);

}  // namespace fedrad::site_agent::stats

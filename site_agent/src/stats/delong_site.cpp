#include "fedrad/site_agent/stats/delong_site.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>

namespace fedrad::site_agent::stats {
namespace {

constexpr double kTwoTo53 = 9007199254740992.0;

common::Status CheckRows(const Eigen::MatrixXd& scores, const Eigen::VectorXd& labels) {
  if (scores.cols() < 1) return common::InvalidArgument("scores have no model column");
  if (scores.rows() != labels.size()) {
    return common::InvalidArgument("scores have " + std::to_string(scores.rows()) +
                                   " rows but there are " + std::to_string(labels.size()) +
                                   " labels");
  }
  for (Eigen::Index i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0.0 && labels[i] != 1.0) {
      return common::InvalidArgument("label of row " + std::to_string(i) + " is " +
                                     std::to_string(labels[i]) + ", expected 0 or 1");
    }
  }
  return common::Status();
}

// Cell indices of every (row, model), row-major by row.
common::Result<std::vector<std::int64_t>> Cells(const ScoreGrid& grid,
                                                const Eigen::MatrixXd& scores) {
  std::vector<std::int64_t> cells(static_cast<std::size_t>(scores.size()));
  for (Eigen::Index i = 0; i < scores.rows(); ++i) {
    for (Eigen::Index r = 0; r < scores.cols(); ++r) {
      auto k = GridIndex(grid, scores(i, r));
      if (!k.ok()) {
        return k.status().Wrap("score of row " + std::to_string(i) + ", model " +
                               std::to_string(r));
      }
      cells[static_cast<std::size_t>(i * scores.cols() + r)] = *k;
    }
  }
  return cells;
}

}  // namespace

common::Status ValidateGrid(const ScoreGrid& grid) {
  if (grid.size < 2 || grid.size > kMaxGridSize) {
    return common::InvalidArgument("score grid size " + std::to_string(grid.size) +
                                   " is outside [2, " + std::to_string(kMaxGridSize) + "]");
  }
  if (grid.scale != ScoreScale::kProbability && grid.scale != ScoreScale::kDecisionValue) {
    return common::InvalidArgument("unknown score grid scale");
  }
  return common::Status();
}

common::Result<std::int64_t> GridIndex(const ScoreGrid& grid, double score) {
  FEDRAD_RETURN_IF_ERROR(ValidateGrid(grid));
  if (!std::isfinite(score)) {
    return common::InvalidArgument("score " + std::to_string(score) + " is not finite");
  }
  double u = score;
  if (grid.scale == ScoreScale::kProbability) {
    if (score < 0.0 || score > 1.0) {
      return common::InvalidArgument("probability score " + std::to_string(score) +
                                     " is outside [0, 1]");
    }
  } else {
    u = 0.5 + std::atan(score) / std::numbers::pi;
  }
  const auto last = static_cast<double>(grid.size - 1);
  const std::int64_t k = std::llround(u * last);
  return std::min<std::int64_t>(std::max<std::int64_t>(k, 0), grid.size - 1);
}

double GridScore(const ScoreGrid& grid, std::int64_t k) {
  const double u = static_cast<double>(k) / static_cast<double>(grid.size - 1);
  if (grid.scale == ScoreScale::kProbability) return u;
  if (k <= 0) return -std::numeric_limits<double>::infinity();
  if (k >= grid.size - 1) return std::numeric_limits<double>::infinity();
  return std::tan(std::numbers::pi * (u - 0.5));
}

common::Result<std::vector<double>> GridHistograms(const ScoreGrid& grid,
                                                   const Eigen::MatrixXd& scores,
                                                   const Eigen::VectorXd& labels) {
  FEDRAD_RETURN_IF_ERROR(ValidateGrid(grid));
  FEDRAD_RETURN_IF_ERROR(CheckRows(scores, labels));
  FEDRAD_ASSIGN_OR_RETURN(const std::vector<std::int64_t> cells, Cells(grid, scores));
  const auto num_models = static_cast<int>(scores.cols());
  std::vector<double> out(static_cast<std::size_t>(GridHistogramsSize(grid, num_models)), 0.0);
  for (Eigen::Index i = 0; i < scores.rows(); ++i) {
    const auto c = static_cast<std::int64_t>(labels[i]);
    for (int r = 0; r < num_models; ++r) {
      const std::int64_t k = cells[static_cast<std::size_t>(i * num_models + r)];
      out[static_cast<std::size_t>((2 * r + c) * grid.size + k)] += 1.0;
    }
  }
  return out;
}

common::Result<std::vector<double>> PlacementSums(const ScoreGrid& grid,
                                                  const Eigen::MatrixXd& scores,
                                                  const Eigen::VectorXd& labels,
                                                  const std::vector<double>& pooled_histograms) {
  FEDRAD_RETURN_IF_ERROR(ValidateGrid(grid));
  FEDRAD_RETURN_IF_ERROR(CheckRows(scores, labels));
  const auto num_models = static_cast<int>(scores.cols());
  const std::int64_t g = grid.size;
  if (static_cast<std::int64_t>(pooled_histograms.size()) != GridHistogramsSize(grid, num_models)) {
    return common::InvalidArgument(
        "pooled histograms have " + std::to_string(pooled_histograms.size()) +
        " entries, expected 2 * " + std::to_string(num_models) + " models * " + std::to_string(g) +
        " grid points = " + std::to_string(GridHistogramsSize(grid, num_models)));
  }
  // Pooled counts as integers.
  std::vector<std::int64_t> pooled(pooled_histograms.size());
  for (std::size_t e = 0; e < pooled.size(); ++e) {
    const double v = pooled_histograms[e];
    const double rounded = std::round(v);
    if (!std::isfinite(v) || v < -1e-6 || std::abs(v - rounded) > 1e-6 || rounded >= kTwoTo53) {
      return common::InvalidArgument("pooled histogram entry " + std::to_string(e) + " is " +
                                     std::to_string(v) + ", expected a non-negative integer count");
    }
    pooled[e] = static_cast<std::int64_t>(rounded);
  }
  FEDRAD_ASSIGN_OR_RETURN(const std::vector<double> own, GridHistograms(grid, scores, labels));
  for (std::size_t e = 0; e < own.size(); ++e) {
    if (static_cast<double>(pooled[e]) < own[e]) {
      const auto model = static_cast<std::int64_t>(e) / (2 * g);
      return common::InvalidArgument("pooled histogram of model " + std::to_string(model) +
                                     " has fewer rows in cell " +
                                     std::to_string(static_cast<std::int64_t>(e) % g) +
                                     " than this site alone: it is not a sum including this site");
    }
  }
  FEDRAD_ASSIGN_OR_RETURN(const std::vector<std::int64_t> cells, Cells(grid, scores));

  // Per model: number of pooled controls strictly below each cell and of
  // pooled cases strictly above it.
  std::vector<std::vector<std::int64_t>> controls_below(static_cast<std::size_t>(num_models));
  std::vector<std::vector<std::int64_t>> cases_above(static_cast<std::size_t>(num_models));
  std::int64_t n1 = 0, n0 = 0;
  for (int r = 0; r < num_models; ++r) {
    const std::int64_t* controls = pooled.data() + 2 * r * g;
    const std::int64_t* cases = controls + g;
    auto& below = controls_below[static_cast<std::size_t>(r)];
    auto& above = cases_above[static_cast<std::size_t>(r)];
    below.assign(static_cast<std::size_t>(g), 0);
    above.assign(static_cast<std::size_t>(g), 0);
    std::int64_t acc = 0;
    for (std::int64_t k = 0; k < g; ++k) {
      below[static_cast<std::size_t>(k)] = acc;
      acc += controls[k];
    }
    const std::int64_t model_n0 = acc;
    acc = 0;
    for (std::int64_t k = g - 1; k >= 0; --k) {
      above[static_cast<std::size_t>(k)] = acc;
      acc += cases[k];
    }
    const std::int64_t model_n1 = acc;
    if (r == 0) {
      n1 = model_n1;
      n0 = model_n0;
    } else if (model_n1 != n1 || model_n0 != n0) {
      return common::InvalidArgument("pooled histogram of model " + std::to_string(r) + " counts " +
                                     std::to_string(model_n1) + " cases and " +
                                     std::to_string(model_n0) + " controls, but model 0 counts " +
                                     std::to_string(n1) + " and " + std::to_string(n0) +
                                     ": the models must score the same rows");
    }
  }
  if (n1 == 0 || n0 == 0) {
    return common::InvalidArgument("the pooled cohort has " + std::to_string(n1) + " cases and " +
                                   std::to_string(n0) + " controls; both classes are needed");
  }
  const double dn1 = static_cast<double>(n1), dn0 = static_cast<double>(n0);
  if (dn1 * 4.0 * dn0 * dn0 >= kTwoTo53 || dn0 * 4.0 * dn1 * dn1 >= kTwoTo53) {
    return common::InvalidArgument("pooled cohort of " + std::to_string(n1) + " cases and " +
                                   std::to_string(n0) +
                                   " controls is too large for exact placement sums "
                                   "(N1·(2·N0)² and N0·(2·N1)² must stay below 2^53)");
  }

  const PlacementSumsLayout layout{num_models};
  std::vector<double> out(static_cast<std::size_t>(layout.Size()), 0.0);
  std::vector<double> p(static_cast<std::size_t>(num_models));
  for (Eigen::Index i = 0; i < scores.rows(); ++i) {
    const bool is_case = labels[i] == 1.0;
    for (int r = 0; r < num_models; ++r) {
      const auto k = static_cast<std::size_t>(cells[static_cast<std::size_t>(i * num_models + r)]);
      const std::int64_t* block = pooled.data() + 2 * r * g;
      // Case: controls below + ½ tied controls; control: cases above + ½ tied cases.
      const std::int64_t placement =
          is_case ? 2 * controls_below[static_cast<std::size_t>(r)][k] + block[k]
                  : 2 * cases_above[static_cast<std::size_t>(r)][k] + block[g + k];
      p[static_cast<std::size_t>(r)] = static_cast<double>(placement);
    }
    out[static_cast<std::size_t>(is_case ? layout.NumCases() : layout.NumControls())] += 1.0;
    for (int r = 0; r < num_models; ++r) {
      const double pr = p[static_cast<std::size_t>(r)];
      out[static_cast<std::size_t>(is_case ? layout.SumCase(r) : layout.SumControl(r))] += pr;
      for (int s = 0; s < num_models; ++s) {
        const std::int64_t e = is_case ? layout.CrossCase(r, s) : layout.CrossControl(r, s);
        out[static_cast<std::size_t>(e)] += pr * p[static_cast<std::size_t>(s)];
      }
    }
  }
  return out;
}

}  // namespace fedrad::site_agent::stats

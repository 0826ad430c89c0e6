#include "fedrad/site_agent/stats/evaluation_kernels.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "fedrad/site_agent/stats/providers.hpp"

namespace fedrad::site_agent::stats {

using common::InvalidArgument;
using common::Result;
using common::Status;

GridCurve GridCurveOf(const ScoreGrid& grid, const std::int64_t* controls,
                      const std::int64_t* cases) {
  GridCurve out;
  const std::int64_t g = grid.size;
  std::int64_t below = 0;
  for (std::int64_t k = 0; k < g; ++k) {
    out.n1 += cases[k];
    out.n0 += controls[k];
    out.twice_pairs += cases[k] * (2 * below + controls[k]);
    out.tied_pairs += cases[k] * controls[k];
    below += controls[k];
  }
  std::int64_t tp = out.n1, fp = out.n0;  // rows in cells ≥ k
  for (std::int64_t k = 0; k < g; ++k) {
    if (cases[k] + controls[k] == 0) continue;
    out.threshold.push_back(GridScore(grid, k));
    out.tp.push_back(static_cast<double>(tp));
    out.fp.push_back(static_cast<double>(fp));
    tp -= cases[k];
    fp -= controls[k];
  }
  return out;
}

std::string RecalibrationNote(RecalibrationFailure failure) {
  switch (failure) {
    case RecalibrationFailure::kNone:
      return "";
    case RecalibrationFailure::kTooFewRows:
      return "fewer than 2 rows";
    case RecalibrationFailure::kNotIdentifiable:
      return "logit(p) does not vary over the cohort (slope not identifiable)";
    case RecalibrationFailure::kNotConverged:
      break;
  }
  return "the recalibration fit did not converge (separated data?)";
}

Result<RecalibrationFit> FitRecalibration(
    const std::function<Result<std::vector<double>>(double alpha, double beta)>& platt_sums,
    int max_iterations, double tolerance) {
  struct Point {
    double alpha = 0.0, beta = 1.0;
    double loss = 0.0, n = 0.0;
    double g_alpha = 0.0, g_beta = 0.0;
    double h_aa = 0.0, h_ab = 0.0, h_bb = 0.0;
  };
  const auto point_of = [](double alpha, double beta, const std::vector<double>& s) {
    Point p;
    p.alpha = alpha;
    p.beta = beta;
    p.loss = s[0];
    p.n = s[1];
    p.g_beta = -s[2];
    p.g_alpha = -s[3];
    p.h_bb = s[4];
    p.h_ab = s[5];
    p.h_aa = s[6];
    return p;
  };
  const auto sums_at = [&](double alpha, double beta) -> Result<std::vector<double>> {
    FEDRAD_ASSIGN_OR_RETURN(std::vector<double> s, platt_sums(alpha, beta));
    if (s.size() != 7) {
      return InvalidArgument("recalibration: Platt sums have " + std::to_string(s.size()) +
                             " values, expected 7");
    }
    return s;
  };
  FEDRAD_ASSIGN_OR_RETURN(auto first, sums_at(0.0, 1.0));
  Point current = point_of(0.0, 1.0, first);
  RecalibrationFit out;
  if (current.n < 2.0) {
    out.failure = RecalibrationFailure::kTooFewRows;
    return out;
  }
  const double scaled_tolerance = tolerance * current.n;
  for (int iteration = 0; iteration <= max_iterations; ++iteration) {
    if (std::max(std::abs(current.g_alpha), std::abs(current.g_beta)) <= scaled_tolerance) {
      out.ok = true;
      out.intercept = current.alpha;
      out.slope = current.beta;
      return out;
    }
    if (iteration == max_iterations) break;
    const double det = current.h_aa * current.h_bb - current.h_ab * current.h_ab;
    if (!(current.h_aa > 0.0) || !(det > 1e-12 * current.h_aa * current.h_bb)) {
      out.failure = RecalibrationFailure::kNotIdentifiable;
      return out;
    }
    // d = -H⁻¹ g.
    const double d_alpha = -(current.h_bb * current.g_alpha - current.h_ab * current.g_beta) / det;
    const double d_beta = -(current.h_aa * current.g_beta - current.h_ab * current.g_alpha) / det;
    const double slope = current.g_alpha * d_alpha + current.g_beta * d_beta;  // < 0
    bool accepted = false;
    for (double t = 1.0; t >= 1e-10; t *= 0.5) {
      const double alpha = current.alpha + t * d_alpha;
      const double beta = current.beta + t * d_beta;
      FEDRAD_ASSIGN_OR_RETURN(auto s, sums_at(alpha, beta));
      const Point trial = point_of(alpha, beta, s);
      if (std::isfinite(trial.loss) &&
          trial.loss <= current.loss + 1e-4 * t * slope +
                            4.0 * std::numeric_limits<double>::epsilon() * std::abs(current.loss)) {
        current = trial;
        accepted = true;
        break;
      }
    }
    if (!accepted) break;
  }
  out.failure = RecalibrationFailure::kNotConverged;
  return out;
}

Result<std::vector<double>> ComputeLocalEvaluation(
    const LocalTable& rows_table, const std::vector<const LocalTable*>& model_tables,
    const LocalEvaluationRequest& request) {
  const std::string name = "local evaluation request";
  const ScoreGrid grid{ScoreScale::kProbability, request.grid_size};
  if (auto s = ValidateGrid(grid); !s.ok()) return s.Wrap(name);
  const std::size_t num_models = request.models.size();
  if (num_models == 0 || num_models > kMaxEvalModels || model_tables.size() != num_models) {
    return InvalidArgument(name + ": " + std::to_string(num_models) + " models, expected 1.." +
                           std::to_string(kMaxEvalModels) + " (one table each)");
  }
  if (request.thresholds.size() != num_models) {
    return InvalidArgument(name + ": " + std::to_string(request.thresholds.size()) +
                           " thresholds for " + std::to_string(num_models) +
                           " models (one per model)");
  }
  if (request.calibration_max_iterations < 1 || request.calibration_max_iterations > 1000 ||
      !(request.calibration_tolerance > 0.0) || !std::isfinite(request.calibration_tolerance)) {
    return InvalidArgument(name +
                           ": calibration_max_iterations must be in [1, 1000] and "
                           "calibration_tolerance finite and > 0");
  }
  if (request.calibration_bins < 0 || request.calibration_bins > kMaxCalibrationBins) {
    return InvalidArgument(name + ": calibration_bins must be in [0, " +
                           std::to_string(kMaxCalibrationBins) + "], got " +
                           std::to_string(request.calibration_bins));
  }
  if (request.max_curve_points < 2 || request.max_curve_points > kMaxCurvePoints) {
    return InvalidArgument(name + ": max_curve_points must be in [2, " +
                           std::to_string(kMaxCurvePoints) + "], got " +
                           std::to_string(request.max_curve_points));
  }
  const LocalEvaluationLayout layout{static_cast<int>(num_models), request.calibration_bins,
                                     request.max_curve_points};

  // The site's own round 1 (never released).
  GridHistogramRequest histogram;
  histogram.rows = request.rows;
  histogram.models = request.models;
  histogram.grid_size = request.grid_size;
  histogram.dataset = request.dataset;
  FEDRAD_ASSIGN_OR_RETURN(std::vector<double> hist,
                          ComputeGridHistogram(rows_table, model_tables, histogram));
  std::vector<std::int64_t> counts(hist.size());
  for (std::size_t e = 0; e < hist.size(); ++e) counts[e] = std::llround(hist[e]);

  std::vector<double> out(layout.Size(), 0.0);
  const std::int64_t g = grid.size;
  std::vector<GridCurve> curves;
  for (std::size_t r = 0; r < num_models; ++r) {
    const std::int64_t* controls = counts.data() + 2 * static_cast<std::int64_t>(r) * g;
    curves.push_back(GridCurveOf(grid, controls, controls + g));
  }
  const std::int64_t n1 = curves.front().n1, n0 = curves.front().n0;
  // Round 2 against its own histograms (both classes present).
  if (n1 > 0 && n0 > 0) {
    PlacementSumsRequest placement;
    placement.rows = request.rows;
    placement.models = request.models;
    placement.grid_size = request.grid_size;
    placement.pooled_histograms = hist;
    placement.dataset = request.dataset;
    FEDRAD_ASSIGN_OR_RETURN(std::vector<double> sums,
                            ComputePlacementSums(rows_table, model_tables, placement));
    std::copy(sums.begin(), sums.end(),
              out.begin() + static_cast<std::ptrdiff_t>(layout.Placement()));
  } else {
    out[layout.Placement()] = static_cast<double>(n1);
    out[layout.Placement() + 1] = static_cast<double>(n0);
  }
  // The curves (thinned to M points when longer).
  const auto m = static_cast<std::size_t>(request.max_curve_points);
  for (std::size_t r = 0; r < num_models; ++r) {
    const GridCurve& curve = curves[r];
    const int model = static_cast<int>(r);
    out[layout.Tied(model)] = static_cast<double>(curve.tied_pairs);
    const std::size_t points = curve.threshold.size();
    const std::size_t kept = std::min(points, m);
    out[layout.CurveCount(model)] = static_cast<double>(kept);
    for (std::size_t j = 0; j < kept; ++j) {
      const std::size_t q = points <= m ? j : j * (points - 1) / (m - 1);
      const int slot = static_cast<int>(j);
      out[layout.CurveThreshold(model, slot)] = curve.threshold[q];
      out[layout.CurveTp(model, slot)] = curve.tp[q];
      out[layout.CurveFp(model, slot)] = curve.fp[q];
    }
  }
  // Counts at the fixed thresholds, Brier and calibration bins.
  ThresholdCountsRequest threshold_counts;
  threshold_counts.rows = request.rows;
  threshold_counts.models = request.models;
  threshold_counts.thresholds = request.thresholds;
  threshold_counts.calibration_bins = request.calibration_bins;
  threshold_counts.dataset = request.dataset;
  FEDRAD_ASSIGN_OR_RETURN(std::vector<double> tc,
                          ComputeThresholdCounts(rows_table, model_tables, threshold_counts));
  std::copy(tc.begin(), tc.end(), out.begin() + static_cast<std::ptrdiff_t>(layout.Counts()));
  // The recalibration fit of every model on the site's own Platt sums.
  for (std::size_t r = 0; r < num_models; ++r) {
    const EvalModel& model = request.models[r];
    const LocalTable& table = *model_tables[r];
    auto fit = FitRecalibration(
        [&](double alpha, double beta) {
          PlattRequest platt;
          platt.rows = request.rows;
          platt.scorers = model.scorers;
          platt.a = -beta;
          platt.b = -alpha;
          platt.target_pos = 1.0;
          platt.target_neg = 0.0;
          platt.dataset = model.dataset;
          return ComputePlatt(table, platt);
        },
        request.calibration_max_iterations, request.calibration_tolerance);
    if (!fit.ok()) return fit.status().Wrap(name + ", calibration of model " + std::to_string(r));
    const int index = static_cast<int>(r);
    out[layout.CalibrationOk(index)] = fit->ok ? 1.0 : 0.0;
    out[layout.CalibrationIntercept(index)] = fit->ok ? fit->intercept : 0.0;
    out[layout.CalibrationSlope(index)] = fit->ok ? fit->slope : 0.0;
    out[layout.CalibrationReason(index)] = static_cast<double>(fit->failure);
  }
  return out;
}

}  // namespace fedrad::site_agent::stats

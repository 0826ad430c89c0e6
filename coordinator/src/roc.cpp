#include "fedrad/coordinator/roc.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace fedrad::coordinator {
namespace {

namespace ss = site_agent::stats;

__extension__ typedef __int128 Int128;

constexpr double kTwoTo53 = 9007199254740992.0;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Integer-scaled DeLong components of R models (see delong_site.hpp).
struct Components {
  std::int64_t n1 = 0, n0 = 0;
  std::vector<std::int64_t> sum10, sum01;      // R
  std::vector<std::int64_t> cross10, cross01;  // R×R row-major
};

// Ascending thresholds; tp/fp = rows with score ≥ threshold.
struct RawCurve {
  std::vector<double> threshold, tp, fp;
};

common::Status CheckCohortSize(std::int64_t n1, std::int64_t n0) {
  if (n1 == 0 || n0 == 0) {
    return common::InvalidArgument("the cohort has " + std::to_string(n1) + " cases and " +
                                   std::to_string(n0) + " controls; both classes are needed");
  }
  const auto d1 = static_cast<double>(n1), d0 = static_cast<double>(n0);
  if (d1 * 4.0 * d0 * d0 >= kTwoTo53 || d0 * 4.0 * d1 * d1 >= kTwoTo53) {
    return common::InvalidArgument("cohort of " + std::to_string(n1) + " cases and " +
                                   std::to_string(n0) +
                                   " controls is too large for exact DeLong sums "
                                   "(N1·(2·N0)² and N0·(2·N1)² must stay below 2^53)");
  }
  return common::Status();
}

common::Result<std::vector<std::int64_t>> ToCounts(const std::vector<double>& values,
                                                   const std::string& what) {
  std::vector<std::int64_t> out(values.size());
  for (std::size_t e = 0; e < values.size(); ++e) {
    const double v = values[e];
    const double rounded = std::round(v);
    if (!std::isfinite(v) || v < -1e-6 || std::abs(v - rounded) > 1e-6 || rounded >= kTwoTo53) {
      return common::InvalidArgument(what + " entry " + std::to_string(e) + " is " +
                                     std::to_string(v) + ", expected a non-negative integer");
    }
    out[e] = static_cast<std::int64_t>(rounded);
  }
  return out;
}

// n·Σ a·b - Σa·Σb, exactly.
Int128 CentredNumerator(std::int64_t n, std::int64_t sum_a, std::int64_t sum_b,
                        std::int64_t cross_ab) {
  return static_cast<Int128>(n) * cross_ab - static_cast<Int128>(sum_a) * sum_b;
}

RocAnalysis Finish(const Components& c, const std::vector<RawCurve>& curves,
                   const std::vector<double>& bounds) {
  const auto num_models = static_cast<int>(c.sum10.size());
  const auto n1 = static_cast<double>(c.n1), n0 = static_cast<double>(c.n0);
  const bool has_variance = c.n1 >= 2 && c.n0 >= 2;
  // S10 = numerator10 / (N1 (N1 - 1) (2 N0)²), S01 = numerator01 / (N0 (N0 - 1) (2 N1)²).
  const double scale10 = n1 * (n1 - 1.0) * 4.0 * n0 * n0;
  const double scale01 = n0 * (n0 - 1.0) * 4.0 * n1 * n1;
  auto at = [num_models](int r, int s) { return static_cast<std::size_t>(r * num_models + s); };
  auto num10 = [&](int r, int s) {
    return CentredNumerator(c.n1, c.sum10[static_cast<std::size_t>(r)],
                            c.sum10[static_cast<std::size_t>(s)], c.cross10[at(r, s)]);
  };
  auto num01 = [&](int r, int s) {
    return CentredNumerator(c.n0, c.sum01[static_cast<std::size_t>(r)],
                            c.sum01[static_cast<std::size_t>(s)], c.cross01[at(r, s)]);
  };

  RocAnalysis out;
  out.n_cases = n1;
  out.n_controls = n0;
  out.s10 = Eigen::MatrixXd::Constant(num_models, num_models, kNaN);
  out.s01 = out.s10;
  out.covariance = out.s10;
  if (has_variance) {
    for (int r = 0; r < num_models; ++r) {
      for (int s = 0; s < num_models; ++s) {
        out.s10(r, s) = static_cast<double>(num10(r, s)) / scale10;
        out.s01(r, s) = static_cast<double>(num01(r, s)) / scale01;
        out.covariance(r, s) = out.s10(r, s) / n1 + out.s01(r, s) / n0;
      }
    }
  }
  for (int r = 0; r < num_models; ++r) {
    ModelRoc m;
    m.auc = static_cast<double>(c.sum10[static_cast<std::size_t>(r)]) / (2.0 * n0 * n1);
    m.variance = out.covariance(r, r);
    if (has_variance) {
      const double half = kZ975 * std::sqrt(m.variance);
      m.ci_lower = std::clamp(m.auc - half, 0.0, 1.0);
      m.ci_upper = std::clamp(m.auc + half, 0.0, 1.0);
    } else {
      m.ci_lower = m.ci_upper = kNaN;
    }
    m.binning_error_bound = bounds[static_cast<std::size_t>(r)];
    const RawCurve& raw = curves[static_cast<std::size_t>(r)];
    m.curve.reserve(raw.threshold.size());
    m.youden_j = -std::numeric_limits<double>::infinity();
    for (std::size_t q = 0; q < raw.threshold.size(); ++q) {
      RocPoint p;
      p.threshold = raw.threshold[q];
      p.tp = raw.tp[q];
      p.fp = raw.fp[q];
      p.sensitivity = p.tp / n1;
      p.specificity = (n0 - p.fp) / n0;
      const double j = p.sensitivity + p.specificity - 1.0;
      if (j > m.youden_j) {
        m.youden_j = j;
        m.youden_threshold = p.threshold;
      }
      m.curve.push_back(p);
    }
    out.models.push_back(std::move(m));
  }
  for (int a = 0; a < num_models; ++a) {
    for (int b = a + 1; b < num_models; ++b) {
      DelongTest t;
      t.model_a = a;
      t.model_b = b;
      // AUC_a - AUC_b from the exact integer difference.
      t.auc_difference = static_cast<double>(c.sum10[static_cast<std::size_t>(a)] -
                                             c.sum10[static_cast<std::size_t>(b)]) /
                         (2.0 * n0 * n1);
      if (!has_variance) {
        t.sd = t.z = t.p_value = t.ci_lower = t.ci_upper = kNaN;
      } else {
        // Var of the difference of placements: exact numerators.
        const Int128 d10 = num10(a, a) + num10(b, b) - 2 * num10(a, b);
        const Int128 d01 = num01(a, a) + num01(b, b) - 2 * num01(a, b);
        const double var =
            static_cast<double>(d10) / scale10 / n1 + static_cast<double>(d01) / scale01 / n0;
        t.sd = std::sqrt(std::max(var, 0.0));
        if (t.sd == 0.0) {
          t.z = t.auc_difference == 0.0
                    ? 0.0
                    : std::copysign(std::numeric_limits<double>::infinity(), t.auc_difference);
        } else {
          t.z = t.auc_difference / t.sd;
        }
        t.p_value = std::erfc(std::abs(t.z) / std::sqrt(2.0));
        t.ci_lower = t.auc_difference - kZ975 * t.sd;
        t.ci_upper = t.auc_difference + kZ975 * t.sd;
      }
      out.comparisons.push_back(t);
    }
  }
  return out;
}

}  // namespace

// The DeLong cross sums ΣV10ʳV10ˢ and ΣV01ʳV01ˢ of every model pair from a
// placement-sums array (`origin` names it in errors): appended to c in
// row-major pair order; the array must be symmetric in r and s.
common::Status ReadCrossSums(const std::vector<std::int64_t>& sums,
                             const ss::PlacementSumsLayout& layout, int num_models,
                             const std::string& origin, Components* c) {
  for (int r = 0; r < num_models; ++r) {
    for (int s = 0; s < num_models; ++s) {
      const std::int64_t a10 = sums[static_cast<std::size_t>(layout.CrossCase(r, s))];
      const std::int64_t a01 = sums[static_cast<std::size_t>(layout.CrossControl(r, s))];
      if (a10 != sums[static_cast<std::size_t>(layout.CrossCase(s, r))] ||
          a01 != sums[static_cast<std::size_t>(layout.CrossControl(s, r))]) {
        return common::InvalidArgument(origin + " placement cross sums of models " +
                                       std::to_string(r) + " and " + std::to_string(s) +
                                       " are not symmetric");
      }
      c->cross10.push_back(a10);
      c->cross01.push_back(a01);
    }
  }
  return common::Status::Ok();
}

common::Result<RocAnalysis> PooledRocAnalysis(const ss::ScoreGrid& grid, int num_models,
                                              const std::vector<double>& pooled_histograms,
                                              const std::vector<double>& pooled_placement_sums) {
  FEDRAD_RETURN_IF_ERROR(ss::ValidateGrid(grid));
  if (num_models < 1) {
    return common::InvalidArgument("number of models is " + std::to_string(num_models) +
                                   ", expected at least 1");
  }
  const std::int64_t g = grid.size;
  const ss::PlacementSumsLayout layout{num_models};
  if (static_cast<std::int64_t>(pooled_histograms.size()) !=
      ss::GridHistogramsSize(grid, num_models)) {
    return common::InvalidArgument("pooled histograms have " +
                                   std::to_string(pooled_histograms.size()) +
                                   " entries, expected 2 * " + std::to_string(num_models) +
                                   " models * " + std::to_string(g) + " grid points");
  }
  if (static_cast<std::int64_t>(pooled_placement_sums.size()) != layout.Size()) {
    return common::InvalidArgument("pooled placement sums have " +
                                   std::to_string(pooled_placement_sums.size()) +
                                   " entries, expected " + std::to_string(layout.Size()) + " for " +
                                   std::to_string(num_models) + " models");
  }
  FEDRAD_ASSIGN_OR_RETURN(const std::vector<std::int64_t> hist,
                          ToCounts(pooled_histograms, "pooled histogram"));
  FEDRAD_ASSIGN_OR_RETURN(const std::vector<std::int64_t> sums,
                          ToCounts(pooled_placement_sums, "pooled placement sum"));

  Components c;
  c.n1 = sums[static_cast<std::size_t>(layout.NumCases())];
  c.n0 = sums[static_cast<std::size_t>(layout.NumControls())];
  FEDRAD_RETURN_IF_ERROR(CheckCohortSize(c.n1, c.n0));
  std::vector<RawCurve> curves(static_cast<std::size_t>(num_models));
  std::vector<double> bounds(static_cast<std::size_t>(num_models), 0.0);
  for (int r = 0; r < num_models; ++r) {
    const std::int64_t* controls = hist.data() + 2 * r * g;
    const std::int64_t* cases = controls + g;
    std::int64_t model_n1 = 0, model_n0 = 0;
    for (std::int64_t k = 0; k < g; ++k) {
      model_n1 += cases[k];
      model_n0 += controls[k];
    }
    if (model_n1 != c.n1 || model_n0 != c.n0) {
      return common::InvalidArgument(
          "pooled histogram of model " + std::to_string(r) + " counts " + std::to_string(model_n1) +
          " cases and " + std::to_string(model_n0) + " controls, but the placement sums count " +
          std::to_string(c.n1) + " and " + std::to_string(c.n0));
    }
    // Mann-Whitney count ×2 and the curve, from the histograms (the kernel
    // a site runs for a local evaluation, evaluation_kernels.hpp).
    const ss::GridCurve grid_curve = ss::GridCurveOf(grid, controls, cases);
    const std::int64_t twice_pairs = grid_curve.twice_pairs;
    const std::int64_t tied_pairs = grid_curve.tied_pairs;
    const std::int64_t s10 = sums[static_cast<std::size_t>(layout.SumCase(r))];
    const std::int64_t s01 = sums[static_cast<std::size_t>(layout.SumControl(r))];
    if (s10 != twice_pairs || s01 != twice_pairs) {
      return common::InvalidArgument(
          "pooled placement sums of model " + std::to_string(r) + " (cases " + std::to_string(s10) +
          ", controls " + std::to_string(s01) +
          ") disagree with the Mann-Whitney count of the pooled histograms (" +
          std::to_string(twice_pairs) + "): rounds 1 and 2 do not describe the same rows");
    }
    bounds[static_cast<std::size_t>(r)] = 0.5 * static_cast<double>(tied_pairs) /
                                          (static_cast<double>(c.n1) * static_cast<double>(c.n0));
    RawCurve& curve = curves[static_cast<std::size_t>(r)];
    curve.threshold = grid_curve.threshold;
    curve.tp = grid_curve.tp;
    curve.fp = grid_curve.fp;
    curve.threshold.push_back(std::numeric_limits<double>::infinity());
    curve.tp.push_back(0.0);
    curve.fp.push_back(0.0);
    c.sum10.push_back(s10);
    c.sum01.push_back(s01);
  }
  FEDRAD_RETURN_IF_ERROR(ReadCrossSums(sums, layout, num_models, "pooled", &c));
  return Finish(c, curves, bounds);
}

common::Result<RocAnalysis> ReleasedRocAnalysis(int num_models,
                                                const std::vector<double>& placement_sums,
                                                const std::vector<ss::GridCurve>& curves) {
  if (num_models < 1 || curves.size() != static_cast<std::size_t>(num_models)) {
    return common::InvalidArgument("released ROC analysis: " + std::to_string(curves.size()) +
                                   " curves for " + std::to_string(num_models) + " models");
  }
  const ss::PlacementSumsLayout layout{num_models};
  if (static_cast<std::int64_t>(placement_sums.size()) != layout.Size()) {
    return common::InvalidArgument("released placement sums have " +
                                   std::to_string(placement_sums.size()) + " entries, expected " +
                                   std::to_string(layout.Size()));
  }
  FEDRAD_ASSIGN_OR_RETURN(const std::vector<std::int64_t> sums,
                          ToCounts(placement_sums, "released placement sum"));
  Components c;
  c.n1 = sums[static_cast<std::size_t>(layout.NumCases())];
  c.n0 = sums[static_cast<std::size_t>(layout.NumControls())];
  FEDRAD_RETURN_IF_ERROR(CheckCohortSize(c.n1, c.n0));
  std::vector<RawCurve> raw(curves.size());
  std::vector<double> bounds(curves.size(), 0.0);
  for (int r = 0; r < num_models; ++r) {
    const ss::GridCurve& curve = curves[static_cast<std::size_t>(r)];
    const std::int64_t s10 = sums[static_cast<std::size_t>(layout.SumCase(r))];
    const std::int64_t s01 = sums[static_cast<std::size_t>(layout.SumControl(r))];
    if (s10 != s01) {
      return common::InvalidArgument("released placement sums of model " + std::to_string(r) +
                                     " disagree (cases " + std::to_string(s10) + ", controls " +
                                     std::to_string(s01) + ")");
    }
    if (curve.threshold.empty() || curve.tp.size() != curve.threshold.size() ||
        curve.fp.size() != curve.threshold.size() ||
        curve.tp.front() != static_cast<double>(c.n1) ||
        curve.fp.front() != static_cast<double>(c.n0)) {
      return common::InvalidArgument("released ROC curve of model " + std::to_string(r) +
                                     " does not start at every row called positive");
    }
    for (std::size_t q = 1; q < curve.threshold.size(); ++q) {
      if (!(curve.threshold[q] > curve.threshold[q - 1]) || curve.tp[q] > curve.tp[q - 1] ||
          curve.fp[q] > curve.fp[q - 1]) {
        return common::InvalidArgument("released ROC curve of model " + std::to_string(r) +
                                       " is not monotone at point " + std::to_string(q));
      }
    }
    raw[static_cast<std::size_t>(r)] = {curve.threshold, curve.tp, curve.fp};
    raw[static_cast<std::size_t>(r)].threshold.push_back(std::numeric_limits<double>::infinity());
    raw[static_cast<std::size_t>(r)].tp.push_back(0.0);
    raw[static_cast<std::size_t>(r)].fp.push_back(0.0);
    bounds[static_cast<std::size_t>(r)] = 0.5 * static_cast<double>(curve.tied_pairs) /
                                          (static_cast<double>(c.n1) * static_cast<double>(c.n0));
    c.sum10.push_back(s10);
    c.sum01.push_back(s01);
  }
  FEDRAD_RETURN_IF_ERROR(ReadCrossSums(sums, layout, num_models, "released", &c));
  return Finish(c, raw, bounds);
}

common::Result<RocAnalysis> LocalRocAnalysis(const Eigen::MatrixXd& scores,
                                             const Eigen::VectorXd& labels) {
  if (scores.cols() < 1) return common::InvalidArgument("scores have no model column");
  if (scores.rows() != labels.size()) {
    return common::InvalidArgument("scores have " + std::to_string(scores.rows()) +
                                   " rows but there are " + std::to_string(labels.size()) +
                                   " labels");
  }
  Components c;
  for (Eigen::Index i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0.0 && labels[i] != 1.0) {
      return common::InvalidArgument("label of row " + std::to_string(i) + " is " +
                                     std::to_string(labels[i]) + ", expected 0 or 1");
    }
    for (Eigen::Index r = 0; r < scores.cols(); ++r) {
      if (!std::isfinite(scores(i, r))) {
        return common::InvalidArgument("score of row " + std::to_string(i) + ", model " +
                                       std::to_string(r) + " is not finite");
      }
    }
    (labels[i] == 1.0 ? c.n1 : c.n0) += 1;
  }
  FEDRAD_RETURN_IF_ERROR(CheckCohortSize(c.n1, c.n0));
  const auto num_models = static_cast<int>(scores.cols());
  const auto n = static_cast<std::size_t>(scores.rows());
  // Integer-scaled placements per row and model (P10 for cases, P01 for controls).
  std::vector<std::int64_t> placement(n * static_cast<std::size_t>(num_models));
  std::vector<RawCurve> curves(static_cast<std::size_t>(num_models));
  for (int r = 0; r < num_models; ++r) {
    std::vector<double> cases, controls;
    for (std::size_t i = 0; i < n; ++i) {
      const auto row = static_cast<Eigen::Index>(i);
      (labels[row] == 1.0 ? cases : controls).push_back(scores(row, r));
    }
    std::sort(cases.begin(), cases.end());
    std::sort(controls.begin(), controls.end());
    auto below_and_tied = [](const std::vector<double>& v, double x) {
      const auto lo = std::lower_bound(v.begin(), v.end(), x);
      const auto hi = std::upper_bound(lo, v.end(), x);
      return std::pair<std::int64_t, std::int64_t>(lo - v.begin(), hi - lo);
    };
    for (std::size_t i = 0; i < n; ++i) {
      const auto row = static_cast<Eigen::Index>(i);
      const double x = scores(row, r);
      std::int64_t p = 0;
      if (labels[row] == 1.0) {
        const auto [lo, tied] = below_and_tied(controls, x);
        p = 2 * lo + tied;
      } else {
        const auto [lo, tied] = below_and_tied(cases, x);
        const auto above = static_cast<std::int64_t>(cases.size()) - lo - tied;
        p = 2 * above + tied;
      }
      placement[i * static_cast<std::size_t>(num_models) + static_cast<std::size_t>(r)] = p;
    }
    std::vector<double> all(cases);
    all.insert(all.end(), controls.begin(), controls.end());
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    RawCurve& curve = curves[static_cast<std::size_t>(r)];
    for (const double t : all) {
      curve.threshold.push_back(t);
      curve.tp.push_back(
          static_cast<double>(cases.end() - std::lower_bound(cases.begin(), cases.end(), t)));
      curve.fp.push_back(static_cast<double>(
          controls.end() - std::lower_bound(controls.begin(), controls.end(), t)));
    }
    curve.threshold.push_back(std::numeric_limits<double>::infinity());
    curve.tp.push_back(0.0);
    curve.fp.push_back(0.0);
  }
  const auto m = static_cast<std::size_t>(num_models);
  c.sum10.assign(m, 0);
  c.sum01.assign(m, 0);
  c.cross10.assign(m * m, 0);
  c.cross01.assign(m * m, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const bool is_case = labels[static_cast<Eigen::Index>(i)] == 1.0;
    const std::int64_t* p = placement.data() + i * m;
    auto& sum = is_case ? c.sum10 : c.sum01;
    auto& cross = is_case ? c.cross10 : c.cross01;
    for (std::size_t r = 0; r < m; ++r) {
      sum[r] += p[r];
      for (std::size_t s = 0; s < m; ++s) cross[r * m + s] += p[r] * p[s];
    }
  }
  return Finish(c, curves, std::vector<double>(m, 0.0));
}

BinaryMetrics MetricsAtThreshold(const ModelRoc& model, double threshold) {
  BinaryMetrics out;
  out.threshold = threshold;
  if (model.curve.empty()) {
    out.tp = out.fp = out.tn = out.fn = kNaN;
    out.accuracy = out.sensitivity = out.specificity = out.ppv = out.npv = kNaN;
    return out;
  }
  const double n1 = model.curve.front().tp, n0 = model.curve.front().fp;
  // First curve point with threshold ≥ the one asked for: its counts are
  // those of "score ≥ threshold" (no score lies strictly in between).
  const auto it = std::lower_bound(model.curve.begin(), model.curve.end(), threshold,
                                   [](const RocPoint& p, double t) { return p.threshold < t; });
  const RocPoint& p = it == model.curve.end() ? model.curve.back() : *it;
  out.tp = p.tp;
  out.fp = p.fp;
  out.fn = n1 - p.tp;
  out.tn = n0 - p.fp;
  out.accuracy = (out.tp + out.tn) / (n1 + n0);
  out.sensitivity = out.tp / n1;
  out.specificity = out.tn / n0;
  out.ppv = out.tp + out.fp > 0.0 ? out.tp / (out.tp + out.fp) : kNaN;
  out.npv = out.tn + out.fn > 0.0 ? out.tn / (out.tn + out.fn) : kNaN;
  return out;
}

}  // namespace fedrad::coordinator

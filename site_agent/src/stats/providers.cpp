#include "fedrad/site_agent/stats/providers.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

namespace fedrad::site_agent::stats {

using common::InvalidArgument;
using common::Result;
using common::Status;

namespace {

// Checks that `columns` are distinct feature indices in [0, p).
Status CheckColumns(const std::vector<int>& columns, Eigen::Index p, const char* what) {
  std::vector<char> seen(static_cast<std::size_t>(p), 0);
  for (int j : columns) {
    if (j < 0 || j >= p) {
      return InvalidArgument(std::string(what) + ": column " + std::to_string(j) +
                             " out of range [0, " + std::to_string(p) + ")");
    }
    if (seen[static_cast<std::size_t>(j)]) {
      return InvalidArgument(std::string(what) + ": column " + std::to_string(j) + " repeated");
    }
    seen[static_cast<std::size_t>(j)] = 1;
  }
  return Status::Ok();
}

// A missing cell of column j met without an imputation value: the error
// names the dataset and the column, never the row (it leaves the site).
Status MissingWithoutFill(const LocalTable& table, Eigen::Index j) {
  const std::string column =
      static_cast<std::size_t>(j) < table.columns.size()
          ? "'" + table.columns[static_cast<std::size_t>(j)] + "' (index " + std::to_string(j) + ")"
          : std::to_string(j);
  return common::FailedPrecondition(
      "dataset '" + table.name + "': column " + column +
      " has a missing value in the selected rows and the request carries no imputation value "
      "for it (data_dictionary \"missing\": \"impute\" needs the imputation round first)");
}

// Checks a fill vector: empty, or `k` finite values.
Status CheckFill(const Eigen::VectorXd& fill, Eigen::Index k, const std::string& what) {
  if (fill.size() != 0 && fill.size() != k) {
    return InvalidArgument(what + ": fill must be empty or have " + std::to_string(k) +
                           " entries (one per column), got " + std::to_string(fill.size()));
  }
  if (!fill.allFinite()) return InvalidArgument(what + ": fill values must be finite");
  return Status::Ok();
}

// Standardised feature matrix of the selected rows and columns. Empty
// center/scale mean raw features; a zero scale makes the column 0. A missing
// (NaN) cell enters as fill[c] (one per column; empty: an error).
Result<Eigen::MatrixXd> Standardised(const LocalTable& table, const std::vector<Eigen::Index>& rows,
                                     const std::vector<int>& columns, const Eigen::VectorXd& center,
                                     const Eigen::VectorXd& scale, const Eigen::VectorXd& fill) {
  const auto n = static_cast<Eigen::Index>(rows.size());
  const auto k = static_cast<Eigen::Index>(columns.size());
  FEDRAD_RETURN_IF_ERROR(CheckFill(fill, k, "request"));
  Eigen::MatrixXd z(n, k);
  for (Eigen::Index c = 0; c < k; ++c) {
    const Eigen::Index j = columns[static_cast<std::size_t>(c)];
    const double mu = center.size() > 0 ? center[c] : 0.0;
    const double s = scale.size() > 0 ? scale[c] : 1.0;
    for (Eigen::Index r = 0; r < n; ++r) {
      double v = table.x(rows[static_cast<std::size_t>(r)], j);
      if (std::isnan(v)) {
        if (fill.size() == 0) return MissingWithoutFill(table, j);
        v = fill[c];
      }
      z(r, c) = s > 0.0 ? (v - mu) / s : 0.0;
    }
  }
  return z;
}

std::vector<int> AllColumns(Eigen::Index p) {
  std::vector<int> columns(static_cast<std::size_t>(p));
  for (Eigen::Index j = 0; j < p; ++j) columns[static_cast<std::size_t>(j)] = static_cast<int>(j);
  return columns;
}

}  // namespace

Result<std::vector<double>> ComputeMoments(const LocalTable& table, const MomentsRequest& request) {
  FEDRAD_ASSIGN_OR_RETURN(auto rows, SelectRows(table, request.rows));
  const Eigen::Index p = table.x.cols();
  FEDRAD_RETURN_IF_ERROR(CheckFill(request.fill, p, "moments request"));
  std::vector<double> out(static_cast<std::size_t>(2 + 2 * p), 0.0);
  out[0] = static_cast<double>(rows.size());
  for (Eigen::Index i : rows) {
    out[1] += table.y[i];
    for (Eigen::Index j = 0; j < p; ++j) {
      double v = table.x(i, j);
      if (std::isnan(v)) {
        if (request.fill.size() == 0) return MissingWithoutFill(table, j);
        v = request.fill[j];
      }
      out[static_cast<std::size_t>(2 + j)] += v;
      out[static_cast<std::size_t>(2 + p + j)] += v * v;
    }
  }
  return out;
}

Result<std::vector<double>> ComputeImputationSums(const LocalTable& table,
                                                  const ImputationSumsRequest& request) {
  FEDRAD_ASSIGN_OR_RETURN(auto rows, SelectRows(table, request.rows));
  const Eigen::Index p = table.x.cols();
  std::vector<double> out(static_cast<std::size_t>(1 + 2 * p), 0.0);
  out[0] = static_cast<double>(rows.size());
  for (Eigen::Index i : rows) {
    for (Eigen::Index j = 0; j < p; ++j) {
      const double v = table.x(i, j);
      if (std::isnan(v)) continue;
      out[static_cast<std::size_t>(1 + j)] += 1.0;
      out[static_cast<std::size_t>(1 + p + j)] += v;
    }
  }
  return out;
}

Result<std::vector<double>> ComputeLogistic(const LocalTable& table,
                                            const LogisticRequest& request) {
  const Eigen::Index p = table.x.cols();
  if (request.center.size() != p || request.scale.size() != p || request.beta.size() != p) {
    return InvalidArgument("logistic request: center, scale and beta must have " +
                           std::to_string(p) + " entries");
  }
  FEDRAD_RETURN_IF_ERROR(CheckColumns(request.hessian_columns, p, "logistic request"));
  FEDRAD_ASSIGN_OR_RETURN(auto rows, SelectRows(table, request.rows));
  FEDRAD_ASSIGN_OR_RETURN(
      const Eigen::MatrixXd z,
      Standardised(table, rows, AllColumns(p), request.center, request.scale, request.fill));
  const auto n = static_cast<Eigen::Index>(rows.size());
  const auto k = static_cast<Eigen::Index>(request.hessian_columns.size());

  Eigen::VectorXd y(n);
  for (Eigen::Index r = 0; r < n; ++r) y[r] = table.y[rows[static_cast<std::size_t>(r)]];
  const Eigen::VectorXd eta = (z * request.beta).array() + request.intercept;
  Eigen::VectorXd resid(n);   // π - y
  Eigen::VectorXd weight(n);  // π (1 - π)
  double loss = 0.0;
  for (Eigen::Index r = 0; r < n; ++r) {
    const double e = eta[r];
    // log(1 + exp(e)) without overflow; π from the same stable form.
    const double log1pexp = e > 0.0 ? e + std::log1p(std::exp(-e)) : std::log1p(std::exp(e));
    loss += log1pexp - y[r] * e;
    const double pi = e >= 0.0 ? 1.0 / (1.0 + std::exp(-e)) : std::exp(e) / (1.0 + std::exp(e));
    resid[r] = pi - y[r];
    weight[r] = pi * (1.0 - pi);
  }

  std::vector<double> out(static_cast<std::size_t>(2 + (p + 1) + (k + 1) * (k + 2) / 2), 0.0);
  out[0] = loss;
  out[1] = static_cast<double>(n);
  out[2] = resid.sum();
  const Eigen::VectorXd grad = z.transpose() * resid;
  for (Eigen::Index j = 0; j < p; ++j) out[static_cast<std::size_t>(3 + j)] = grad[j];

  Eigen::MatrixXd u(n, k + 1);
  u.col(0).setOnes();
  for (Eigen::Index c = 0; c < k; ++c) {
    u.col(c + 1) = z.col(request.hessian_columns[static_cast<std::size_t>(c)]);
  }
  // H is symmetric: only its upper triangle is computed and sent.
  const Eigen::MatrixXd wu = weight.asDiagonal() * u;
  Eigen::MatrixXd h = Eigen::MatrixXd::Zero(k + 1, k + 1);
  h.triangularView<Eigen::Upper>() = u.transpose() * wu;
  std::size_t at = static_cast<std::size_t>(3 + p);
  for (Eigen::Index a = 0; a <= k; ++a) {
    for (Eigen::Index b = a; b <= k; ++b) out[at++] = h(a, b);
  }
  return out;
}

Result<std::vector<double>> ComputeSvm(const LocalTable& table, const SvmRequest& request) {
  const Eigen::Index p = table.x.cols();
  FEDRAD_RETURN_IF_ERROR(CheckColumns(request.columns, p, "svm request"));
  const auto k = static_cast<Eigen::Index>(request.columns.size());
  if (request.w.size() != k) {
    return InvalidArgument("svm request: w must have one entry per column (" + std::to_string(k) +
                           "), got " + std::to_string(request.w.size()));
  }
  if ((request.center.size() != 0 && request.center.size() != k) ||
      request.scale.size() != request.center.size()) {
    return InvalidArgument("svm request: center and scale must both be empty or have " +
                           std::to_string(k) + " entries");
  }
  if (request.loss == SvmLoss::kHuberHinge &&
      !(std::isfinite(request.huber_delta) && request.huber_delta > 0.0)) {
    return InvalidArgument(
        "svm request: huber_delta must be finite and > 0 with the Huberised "
        "hinge, got " +
        std::to_string(request.huber_delta));
  }
  FEDRAD_ASSIGN_OR_RETURN(auto rows, SelectRows(table, request.rows));
  const auto n = static_cast<Eigen::Index>(rows.size());
  Eigen::MatrixXd u(n, k + 1);
  FEDRAD_ASSIGN_OR_RETURN(
      const Eigen::MatrixXd z,
      Standardised(table, rows, request.columns, request.center, request.scale, request.fill));
  u.leftCols(k) = z;
  u.col(k).setConstant(request.bias_value);
  Eigen::VectorXd theta(k + 1);
  theta << request.w, request.bias_weight;
  const Eigen::VectorXd f = u * theta;

  const bool huber = request.loss == SvmLoss::kHuberHinge;
  const double delta = request.huber_delta;
  // Squared hinge: the active set I = {m > 0}, coefficient -2 m t, Hessian
  // weight 2. Huberised hinge: gradient coefficient -h'(m) t over {m > 0},
  // Hessian weight 1/δ over the quadratic piece Q = {0 < m <= δ}.
  std::vector<Eigen::Index> active;  // rows with a non-zero gradient coefficient
  std::vector<Eigen::Index> curved;  // rows with a non-zero Hessian weight
  Eigen::VectorXd coef(n);
  double loss = 0.0;
  for (Eigen::Index r = 0; r < n; ++r) {
    const double t = 2.0 * table.y[rows[static_cast<std::size_t>(r)]] - 1.0;
    const double m = 1.0 - t * f[r];
    if (!(m > 0.0)) continue;
    double slope = 0.0;  // dloss/dm
    if (!huber) {
      loss += m * m;
      slope = 2.0 * m;
      curved.push_back(r);
    } else if (m <= delta) {
      loss += m * m / (2.0 * delta);
      slope = m / delta;
      curved.push_back(r);
    } else {
      loss += m - 0.5 * delta;
      slope = 1.0;
    }
    coef[static_cast<Eigen::Index>(active.size())] = -slope * t;
    active.push_back(r);
  }
  const auto na = static_cast<Eigen::Index>(active.size());
  Eigen::MatrixXd ua(na, k + 1);
  for (Eigen::Index a = 0; a < na; ++a) ua.row(a) = u.row(active[static_cast<std::size_t>(a)]);
  const Eigen::VectorXd g = ua.transpose() * coef.head(na);
  const auto nc = static_cast<Eigen::Index>(curved.size());
  Eigen::MatrixXd uc(nc, k + 1);
  for (Eigen::Index a = 0; a < nc; ++a) uc.row(a) = u.row(curved[static_cast<std::size_t>(a)]);
  const Eigen::MatrixXd h = (huber ? 1.0 / delta : 2.0) * (uc.transpose() * uc);

  std::vector<double> out(static_cast<std::size_t>(2 + (k + 1) + (k + 1) * (k + 1)), 0.0);
  out[0] = loss;
  out[1] = static_cast<double>(nc);  // |I| (squared hinge) or |Q| (Huberised hinge)
  for (Eigen::Index j = 0; j <= k; ++j) out[static_cast<std::size_t>(2 + j)] = g[j];
  const std::size_t base = static_cast<std::size_t>(3 + k);
  for (Eigen::Index a = 0; a <= k; ++a) {
    for (Eigen::Index b = 0; b <= k; ++b) {
      out[base + static_cast<std::size_t>(a * (k + 1) + b)] = h(a, b);
    }
  }
  return out;
}

Result<std::vector<double>> ComputeDeviance(const LocalTable& table,
                                            const DevianceRequest& request) {
  const Eigen::Index p = table.x.cols();
  const Eigen::Index num_lambdas = request.intercepts.size();
  if (request.center.size() != p || request.scale.size() != p || request.betas.rows() != p ||
      request.betas.cols() != num_lambdas) {
    return InvalidArgument("deviance request: center and scale need " + std::to_string(p) +
                           " entries and betas " + std::to_string(p) + " x " +
                           std::to_string(num_lambdas) + " (one column per intercept)");
  }
  FEDRAD_ASSIGN_OR_RETURN(auto rows, SelectRows(table, request.rows));
  FEDRAD_ASSIGN_OR_RETURN(
      const Eigen::MatrixXd z,
      Standardised(table, rows, AllColumns(p), request.center, request.scale, request.fill));
  const Eigen::MatrixXd eta =
      (z * request.betas).rowwise() + request.intercepts.transpose();  // n x L
  constexpr double kProbMin = 1e-5;
  constexpr double kProbMax = 1.0 - 1e-5;
  std::vector<double> out(static_cast<std::size_t>(1 + num_lambdas), 0.0);
  out[0] = static_cast<double>(rows.size());
  for (Eigen::Index l = 0; l < num_lambdas; ++l) {
    double sum = 0.0;
    for (Eigen::Index r = 0; r < eta.rows(); ++r) {
      const double e = eta(r, l);
      const double pi = e >= 0.0 ? 1.0 / (1.0 + std::exp(-e)) : std::exp(e) / (1.0 + std::exp(e));
      const double clipped = std::min(std::max(pi, kProbMin), kProbMax);
      const double y = table.y[rows[static_cast<std::size_t>(r)]];
      sum += -2.0 * (y * std::log(clipped) + (1.0 - y) * std::log(1.0 - clipped));
    }
    out[static_cast<std::size_t>(1 + l)] = sum;
  }
  return out;
}

Result<std::vector<double>> Compute(const LocalTable& table, const StatRequest& request) {
  return std::visit(
      [&table](const auto& r) -> Result<std::vector<double>> {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, MomentsRequest>) {
          return ComputeMoments(table, r);
        } else if constexpr (std::is_same_v<T, LogisticRequest>) {
          return ComputeLogistic(table, r);
        } else if constexpr (std::is_same_v<T, SvmRequest>) {
          return ComputeSvm(table, r);
        } else if constexpr (std::is_same_v<T, DevianceRequest>) {
          return ComputeDeviance(table, r);
        } else if constexpr (std::is_same_v<T, ScoreHistogramRequest>) {
          return ComputeScoreHistogram(table, r);
        } else if constexpr (std::is_same_v<T, PlattRequest>) {
          return ComputePlatt(table, r);
        } else if constexpr (std::is_same_v<T, ImputationSumsRequest>) {
          return ComputeImputationSums(table, r);
        } else {
          // Evaluation requests: every model on `table`.
          const std::vector<const LocalTable*> models(r.models.size(), &table);
          if constexpr (std::is_same_v<T, GridHistogramRequest>) {
            return ComputeGridHistogram(table, models, r);
          } else if constexpr (std::is_same_v<T, PlacementSumsRequest>) {
            return ComputePlacementSums(table, models, r);
          } else if constexpr (std::is_same_v<T, LocalEvaluationRequest>) {
            return ComputeLocalEvaluation(table, models, r);
          } else {
            static_assert(std::is_same_v<T, ThresholdCountsRequest>);
            return ComputeThresholdCounts(table, models, r);
          }
        }
      },
      request);
}

Result<std::vector<double>> Compute(const Datasets& datasets, const StatRequest& request) {
  DatasetViews views;
  for (const auto& [name, table] : datasets) views.emplace(name, &table);
  return Compute(views, request);
}

Result<std::vector<double>> Compute(const DatasetViews& datasets, const StatRequest& request) {
  const auto find = [&datasets](const std::string& name) -> Result<const LocalTable*> {
    const auto it = datasets.find(name);
    if (it == datasets.end() || it->second == nullptr) {
      return common::NotFound("no dataset '" + name + "' at this site");
    }
    return it->second;
  };
  FEDRAD_ASSIGN_OR_RETURN(const LocalTable* table, find(DatasetOf(request)));
  return std::visit(
      [&](const auto& r) -> Result<std::vector<double>> {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, GridHistogramRequest> ||
                      std::is_same_v<T, PlacementSumsRequest> ||
                      std::is_same_v<T, ThresholdCountsRequest> ||
                      std::is_same_v<T, LocalEvaluationRequest>) {
          std::vector<const LocalTable*> models;
          for (std::size_t m = 0; m < r.models.size(); ++m) {
            auto model_table = find(r.models[m].dataset);
            if (!model_table.ok()) return model_table.status().Wrap("model " + std::to_string(m));
            models.push_back(*model_table);
          }
          if constexpr (std::is_same_v<T, GridHistogramRequest>) {
            return ComputeGridHistogram(*table, models, r);
          } else if constexpr (std::is_same_v<T, PlacementSumsRequest>) {
            return ComputePlacementSums(*table, models, r);
          } else if constexpr (std::is_same_v<T, LocalEvaluationRequest>) {
            return ComputeLocalEvaluation(*table, models, r);
          } else {
            return ComputeThresholdCounts(*table, models, r);
          }
        } else {
          return Compute(*table, request);
        }
      },
      request);
}

const std::string& DatasetOf(const StatRequest& request) {
  return std::visit([](const auto& r) -> const std::string& { return r.dataset; }, request);
}

StatRequest Scoped(StatRequest request, const std::string& dataset, int outer_fold) {
  std::visit(
      [&](auto& r) {
        using T = std::decay_t<decltype(r)>;
        r.dataset = dataset;
        if constexpr (std::is_same_v<T, ScoreHistogramRequest> || std::is_same_v<T, PlattRequest>) {
          for (auto& rows : r.rows) rows.outer_fold = outer_fold;
        } else if constexpr (std::is_same_v<T, GridHistogramRequest> ||
                             std::is_same_v<T, PlacementSumsRequest> ||
                             std::is_same_v<T, ThresholdCountsRequest> ||
                             std::is_same_v<T, LocalEvaluationRequest>) {
          for (auto& rows : r.rows) rows.outer_fold = outer_fold;
          for (auto& model : r.models) model.dataset = dataset;
        } else {
          r.rows.outer_fold = outer_fold;
        }
      },
      request);
  return request;
}

StatRequest WithFill(StatRequest request, const Eigen::VectorXd& all,
                     const std::vector<Eigen::VectorXd>& by_fold) {
  const auto values_of = [&](const RowSubset& rows) -> const Eigen::VectorXd& {
    if (rows.kind != RowSubset::Kind::kAll && rows.fold >= 0 &&
        static_cast<std::size_t>(rows.fold) < by_fold.size()) {
      return by_fold[static_cast<std::size_t>(rows.fold)];
    }
    return all;
  };
  const auto pick = [](const Eigen::VectorXd& values, const std::vector<int>& columns) {
    Eigen::VectorXd out;
    if (values.size() == 0) return out;
    out.resize(static_cast<Eigen::Index>(columns.size()));
    for (std::size_t c = 0; c < columns.size(); ++c) {
      const int j = columns[c];
      // An out-of-range column is the provider's error to report.
      out[static_cast<Eigen::Index>(c)] =
          j >= 0 && j < values.size() ? values[j] : std::numeric_limits<double>::quiet_NaN();
    }
    return out;
  };
  std::visit(
      [&](auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, MomentsRequest> || std::is_same_v<T, LogisticRequest> ||
                      std::is_same_v<T, DevianceRequest>) {
          r.fill = values_of(r.rows);
        } else if constexpr (std::is_same_v<T, SvmRequest>) {
          r.fill = pick(values_of(r.rows), r.columns);
        } else if constexpr (std::is_same_v<T, ScoreHistogramRequest> ||
                             std::is_same_v<T, PlattRequest>) {
          for (std::size_t l = 0; l < r.scorers.size() && l < r.rows.size(); ++l) {
            r.scorers[l].fill = pick(values_of(r.rows[l]), r.scorers[l].columns);
          }
        } else if constexpr (std::is_same_v<T, GridHistogramRequest> ||
                             std::is_same_v<T, PlacementSumsRequest> ||
                             std::is_same_v<T, ThresholdCountsRequest> ||
                             std::is_same_v<T, LocalEvaluationRequest>) {
          for (auto& model : r.models) {
            for (std::size_t l = 0; l < model.scorers.size() && l < r.rows.size(); ++l) {
              model.scorers[l].fill = pick(values_of(r.rows[l]), model.scorers[l].columns);
            }
          }
        }
      },
      request);
  return request;
}

std::size_t ResultSize(const StatRequest& request, int num_features) {
  const auto p = static_cast<std::size_t>(num_features);
  if (std::holds_alternative<MomentsRequest>(request)) return 2 + 2 * p;
  if (const auto* r = std::get_if<LogisticRequest>(&request)) {
    const std::size_t k = r->hessian_columns.size();
    return 2 + (p + 1) + (k + 1) * (k + 2) / 2;
  }
  if (const auto* r = std::get_if<DevianceRequest>(&request)) {
    return 1 + static_cast<std::size_t>(r->intercepts.size());
  }
  if (const auto* r = std::get_if<ScoreHistogramRequest>(&request)) {
    return 2 * static_cast<std::size_t>(std::max(r->bins, 0)) * r->scorers.size();
  }
  if (std::holds_alternative<PlattRequest>(request)) return 7;
  if (std::holds_alternative<ImputationSumsRequest>(request)) return 1 + 2 * p;
  if (const auto* r = std::get_if<GridHistogramRequest>(&request)) {
    return 2 * r->models.size() * static_cast<std::size_t>(std::max<std::int64_t>(r->grid_size, 0));
  }
  if (const auto* r = std::get_if<PlacementSumsRequest>(&request)) {
    const std::size_t m = r->models.size();
    return 2 + 2 * m + 2 * m * m;
  }
  if (const auto* r = std::get_if<ThresholdCountsRequest>(&request)) {
    return ThresholdCountsLayout{static_cast<int>(r->models.size()),
                                 std::max(r->calibration_bins, 0)}
        .Size();
  }
  if (const auto* r = std::get_if<LocalEvaluationRequest>(&request)) {
    return LocalEvaluationLayout{static_cast<int>(r->models.size()),
                                 std::max(r->calibration_bins, 0), std::max(r->max_curve_points, 0)}
        .Size();
  }
  const std::size_t k = std::get<SvmRequest>(request).columns.size();
  return 2 + (k + 1) + (k + 1) * (k + 1);
}

namespace {

// Checks part l's scorer against a table with p features.
Status CheckScorer(const LinearScorer& scorer, Eigen::Index p, const std::string& what) {
  FEDRAD_RETURN_IF_ERROR(CheckColumns(scorer.columns, p, (what + " columns").c_str()));
  const auto k = static_cast<Eigen::Index>(scorer.columns.size());
  if (scorer.w.size() != k) {
    return InvalidArgument(what + ": w must have one entry per column (" + std::to_string(k) +
                           "), got " + std::to_string(scorer.w.size()));
  }
  if ((scorer.center.size() != 0 && scorer.center.size() != k) ||
      scorer.scale.size() != scorer.center.size()) {
    return InvalidArgument(what + ": center and scale must both be empty or have " +
                           std::to_string(k) + " entries, got " +
                           std::to_string(scorer.center.size()) + " and " +
                           std::to_string(scorer.scale.size()));
  }
  if (!scorer.w.allFinite() || !std::isfinite(scorer.intercept) || !scorer.center.allFinite() ||
      !scorer.scale.allFinite()) {
    return InvalidArgument(what + ": w, intercept, center and scale must be finite");
  }
  return Status::Ok();
}

// The scores s = wᵀz + intercept of every part's rows, and their labels.
struct PartScores {
  Eigen::VectorXd s;
  Eigen::VectorXd y;
};

Result<std::vector<PartScores>> ScoreParts(const LocalTable& table,
                                           const std::vector<RowSubset>& parts,
                                           const std::vector<LinearScorer>& scorers,
                                           const char* request_name) {
  if (parts.size() != scorers.size()) {
    return InvalidArgument(std::string(request_name) + ": rows has " +
                           std::to_string(parts.size()) + " parts but scorers has " +
                           std::to_string(scorers.size()) + " (one scorer per part)");
  }
  std::vector<PartScores> out(parts.size());
  for (std::size_t l = 0; l < parts.size(); ++l) {
    const LinearScorer& scorer = scorers[l];
    FEDRAD_RETURN_IF_ERROR(
        CheckScorer(scorer, table.x.cols(),
                    std::string(request_name) + ": scorers[" + std::to_string(l) + "]"));
    auto rows = SelectRows(table, parts[l]);
    if (!rows.ok()) {
      return rows.status().Wrap(std::string(request_name) + ": rows[" + std::to_string(l) + "]");
    }
    FEDRAD_ASSIGN_OR_RETURN(
        const Eigen::MatrixXd z,
        Standardised(table, *rows, scorer.columns, scorer.center, scorer.scale, scorer.fill));
    out[l].s = (z * scorer.w).array() + scorer.intercept;
    out[l].y.resize(static_cast<Eigen::Index>(rows->size()));
    for (std::size_t r = 0; r < rows->size(); ++r) {
      out[l].y[static_cast<Eigen::Index>(r)] = table.y[(*rows)[r]];
    }
  }
  return out;
}

}  // namespace

Result<std::vector<double>> ComputeScoreHistogram(const LocalTable& table,
                                                  const ScoreHistogramRequest& request) {
  if (request.bins < 2 || request.bins > 65536) {
    return InvalidArgument("score histogram request: bins must be in [2, 65536], got " +
                           std::to_string(request.bins));
  }
  FEDRAD_ASSIGN_OR_RETURN(
      auto parts, ScoreParts(table, request.rows, request.scorers, "score histogram request"));
  const auto bins = static_cast<std::size_t>(request.bins);
  std::vector<double> out(2 * bins * parts.size(), 0.0);
  for (std::size_t l = 0; l < parts.size(); ++l) {
    double* neg = out.data() + 2 * bins * l;
    double* pos = neg + bins;
    for (Eigen::Index r = 0; r < parts[l].s.size(); ++r) {
      // u in (0, 1): a monotone map of the whole real line (finite scores).
      const double u = 0.5 + std::atan(parts[l].s[r]) / M_PI;
      const double scaled = std::floor(u * static_cast<double>(bins));
      const std::size_t b =
          scaled <= 0.0 ? 0 : std::min(static_cast<std::size_t>(scaled), bins - 1);
      (parts[l].y[r] == 1.0 ? pos : neg)[b] += 1.0;
    }
  }
  return out;
}

Result<std::vector<double>> ComputePlatt(const LocalTable& table, const PlattRequest& request) {
  if (!(request.target_pos > 0.0 && request.target_pos <= 1.0)) {
    return InvalidArgument("platt request: target_pos must be in (0, 1], got " +
                           std::to_string(request.target_pos));
  }
  if (!(request.target_neg >= 0.0 && request.target_neg < 1.0)) {
    return InvalidArgument("platt request: target_neg must be in [0, 1), got " +
                           std::to_string(request.target_neg));
  }
  if (!std::isfinite(request.a) || !std::isfinite(request.b)) {
    return InvalidArgument("platt request: a and b must be finite");
  }
  FEDRAD_ASSIGN_OR_RETURN(auto parts,
                          ScoreParts(table, request.rows, request.scorers, "platt request"));
  double loss = 0.0, n = 0.0, ga = 0.0, gb = 0.0, haa = 0.0, hab = 0.0, hbb = 0.0;
  for (const PartScores& part : parts) {
    for (Eigen::Index r = 0; r < part.s.size(); ++r) {
      const double s = part.s[r];
      const double tau = part.y[r] == 1.0 ? request.target_pos : request.target_neg;
      const double f = request.a * s + request.b;
      // q = 1 / (1 + e^f) and 1 - q, and log(1 + e^-f), from e = exp(-|f|) <= 1.
      const double e = std::exp(-std::abs(f));
      double q = 0.0, one_minus_q = 0.0, term = 0.0;
      if (f >= 0.0) {
        q = e / (1.0 + e);
        one_minus_q = 1.0 / (1.0 + e);
        term = tau * f + std::log1p(e);
      } else {
        q = 1.0 / (1.0 + e);
        one_minus_q = e / (1.0 + e);
        term = (tau - 1.0) * f + std::log1p(e);
      }
      loss += term;
      n += 1.0;
      const double d1 = tau - q;  // dℓ/df
      const double d2 = q * one_minus_q;
      ga += d1 * s;
      gb += d1;
      haa += d2 * s * s;
      hab += d2 * s;
      hbb += d2;
    }
  }
  return std::vector<double>{loss, n, ga, gb, haa, hab, hbb};
}

namespace {

// Probabilities of R models (columns) on the rows of every part, stacked
// part by part, and the rows' labels.
struct PairedScores {
  Eigen::MatrixXd p;
  Eigen::VectorXd y;
};

// Model tables must hold the same rows as the rows table.
Status CheckSameRows(const LocalTable& rows_table, const LocalTable& model_table,
                     const std::string& what) {
  if (&rows_table == &model_table) return Status::Ok();
  if (model_table.x.rows() != rows_table.x.rows() || model_table.y.size() != rows_table.y.size() ||
      (model_table.y.array() != rows_table.y.array()).any() ||
      model_table.fold != rows_table.fold || model_table.inner_fold != rows_table.inner_fold) {
    return InvalidArgument(what +
                           ": the model's dataset does not hold the same rows (count, labels, "
                           "fold ids) as the request's dataset");
  }
  return Status::Ok();
}

Result<PairedScores> ScorePaired(const LocalTable& rows_table,
                                 const std::vector<const LocalTable*>& model_tables,
                                 const std::vector<RowSubset>& parts,
                                 const std::vector<EvalModel>& models, const std::string& name) {
  if (models.empty() || models.size() > kMaxEvalModels) {
    return InvalidArgument(name + ": " + std::to_string(models.size()) + " models, expected 1.." +
                           std::to_string(kMaxEvalModels));
  }
  if (model_tables.size() != models.size()) {
    return InvalidArgument(name + ": " + std::to_string(model_tables.size()) +
                           " model tables for " + std::to_string(models.size()) + " models");
  }
  std::vector<std::vector<Eigen::Index>> rows(parts.size());
  Eigen::Index n = 0;
  for (std::size_t l = 0; l < parts.size(); ++l) {
    auto selected = SelectRows(rows_table, parts[l]);
    if (!selected.ok()) return selected.status().Wrap(name + ": rows[" + std::to_string(l) + "]");
    rows[l] = std::move(selected).value();
    n += static_cast<Eigen::Index>(rows[l].size());
  }
  PairedScores out;
  out.p.resize(n, static_cast<Eigen::Index>(models.size()));
  out.y.resize(n);
  {
    Eigen::Index i = 0;
    for (const auto& part : rows) {
      for (Eigen::Index row : part) out.y[i++] = rows_table.y[row];
    }
  }
  for (std::size_t m = 0; m < models.size(); ++m) {
    const EvalModel& model = models[m];
    const std::string what = name + ": model " + std::to_string(m);
    if (model_tables[m] == nullptr) return InvalidArgument(what + " has no table");
    const LocalTable& table = *model_tables[m];
    FEDRAD_RETURN_IF_ERROR(CheckSameRows(rows_table, table, what));
    if (model.scorers.size() != parts.size()) {
      return InvalidArgument(what + " has " + std::to_string(model.scorers.size()) +
                             " scorers for " + std::to_string(parts.size()) +
                             " parts (one per part)");
    }
    Eigen::Index i = 0;
    for (std::size_t l = 0; l < parts.size(); ++l) {
      const LinearScorer& scorer = model.scorers[l];
      FEDRAD_RETURN_IF_ERROR(
          CheckScorer(scorer, table.x.cols(), what + ", scorers[" + std::to_string(l) + "]"));
      FEDRAD_ASSIGN_OR_RETURN(
          const Eigen::MatrixXd z,
          Standardised(table, rows[l], scorer.columns, scorer.center, scorer.scale, scorer.fill));
      const Eigen::VectorXd s = (z * scorer.w).array() + scorer.intercept;
      for (Eigen::Index r = 0; r < s.size(); ++r) {
        // p = 1 / (1 + e^f), f = -s, from e^-|f| (no overflow).
        const double f = -s[r];
        if (!std::isfinite(f)) {
          return InvalidArgument(what + ", part " + std::to_string(l) +
                                 ": a row's score is not finite");
        }
        const double e = std::exp(-std::abs(f));
        out.p(i++, static_cast<Eigen::Index>(m)) = f >= 0.0 ? e / (1.0 + e) : 1.0 / (1.0 + e);
      }
    }
  }
  return out;
}

ScoreGrid ProbabilityGrid(std::int64_t size) { return ScoreGrid{ScoreScale::kProbability, size}; }

}  // namespace

Result<std::vector<double>> ComputeGridHistogram(const LocalTable& rows_table,
                                                 const std::vector<const LocalTable*>& model_tables,
                                                 const GridHistogramRequest& request) {
  const std::string name = "grid histogram request";
  const ScoreGrid grid = ProbabilityGrid(request.grid_size);
  if (auto s = ValidateGrid(grid); !s.ok()) return s.Wrap(name);
  FEDRAD_ASSIGN_OR_RETURN(PairedScores scores, ScorePaired(rows_table, model_tables, request.rows,
                                                           request.models, name));
  auto out = GridHistograms(grid, scores.p, scores.y);
  if (!out.ok()) return out.status().Wrap(name);
  return out;
}

Result<std::vector<double>> ComputePlacementSums(const LocalTable& rows_table,
                                                 const std::vector<const LocalTable*>& model_tables,
                                                 const PlacementSumsRequest& request) {
  const std::string name = "placement sums request";
  const ScoreGrid grid = ProbabilityGrid(request.grid_size);
  if (auto s = ValidateGrid(grid); !s.ok()) return s.Wrap(name);
  FEDRAD_ASSIGN_OR_RETURN(PairedScores scores, ScorePaired(rows_table, model_tables, request.rows,
                                                           request.models, name));
  auto out = PlacementSums(grid, scores.p, scores.y, request.pooled_histograms);
  if (!out.ok()) return out.status().Wrap(name);
  return out;
}

Result<std::vector<double>> ComputeThresholdCounts(
    const LocalTable& rows_table, const std::vector<const LocalTable*>& model_tables,
    const ThresholdCountsRequest& request) {
  const std::string name = "threshold counts request";
  if (request.calibration_bins < 0 || request.calibration_bins > kMaxCalibrationBins) {
    return InvalidArgument(name + ": calibration_bins must be in [0, " +
                           std::to_string(kMaxCalibrationBins) + "], got " +
                           std::to_string(request.calibration_bins));
  }
  if (request.thresholds.size() != request.models.size()) {
    return InvalidArgument(name + ": " + std::to_string(request.thresholds.size()) +
                           " thresholds for " + std::to_string(request.models.size()) +
                           " models (one per model)");
  }
  for (std::size_t m = 0; m < request.thresholds.size(); ++m) {
    if (!std::isfinite(request.thresholds[m])) {
      return InvalidArgument(name + ": threshold of model " + std::to_string(m) + " is not finite");
    }
  }
  FEDRAD_ASSIGN_OR_RETURN(PairedScores scores, ScorePaired(rows_table, model_tables, request.rows,
                                                           request.models, name));
  const ThresholdCountsLayout layout{static_cast<int>(request.models.size()),
                                     request.calibration_bins};
  const int bins = request.calibration_bins;
  std::vector<double> out(layout.Size(), 0.0);
  for (int r = 0; r < layout.num_models; ++r) {
    const double t = request.thresholds[static_cast<std::size_t>(r)];
    for (Eigen::Index i = 0; i < scores.y.size(); ++i) {
      const double p = scores.p(i, r);
      const double y = scores.y[i];
      const bool positive = p >= t;
      const bool is_case = y == 1.0;
      out[positive ? (is_case ? layout.Tp(r) : layout.Fp(r))
                   : (is_case ? layout.Fn(r) : layout.Tn(r))] += 1.0;
      out[layout.SquaredError(r)] += (p - y) * (p - y);
      if (bins > 0) {
        const double scaled = std::floor(p * bins);
        const int b = scaled <= 0.0 ? 0 : std::min(static_cast<int>(scaled), bins - 1);
        out[layout.BinCount(r, b)] += 1.0;
        out[layout.BinSumP(r, b)] += p;
        out[layout.BinSumY(r, b)] += y;
      }
    }
  }
  return out;
}

}  // namespace fedrad::site_agent::stats

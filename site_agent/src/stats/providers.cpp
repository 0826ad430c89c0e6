#include "fedrad/site_agent/stats/providers.hpp"

#include <algorithm>
#include <cmath>
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

// Standardised feature matrix of the selected rows and columns. Empty
// center/scale mean raw features; a zero scale makes the column 0.
Eigen::MatrixXd Standardised(const LocalTable& table, const std::vector<Eigen::Index>& rows,
                             const std::vector<int>& columns, const Eigen::VectorXd& center,
                             const Eigen::VectorXd& scale) {
  const auto n = static_cast<Eigen::Index>(rows.size());
  const auto k = static_cast<Eigen::Index>(columns.size());
  Eigen::MatrixXd z(n, k);
  for (Eigen::Index c = 0; c < k; ++c) {
    const Eigen::Index j = columns[static_cast<std::size_t>(c)];
    const double mu = center.size() > 0 ? center[c] : 0.0;
    const double s = scale.size() > 0 ? scale[c] : 1.0;
    for (Eigen::Index r = 0; r < n; ++r) {
      z(r, c) = s > 0.0 ? (table.x(rows[static_cast<std::size_t>(r)], j) - mu) / s : 0.0;
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
  std::vector<double> out(static_cast<std::size_t>(2 + 2 * p), 0.0);
  out[0] = static_cast<double>(rows.size());
  for (Eigen::Index i : rows) {
    out[1] += table.y[i];
    for (Eigen::Index j = 0; j < p; ++j) {
      const double v = table.x(i, j);
      out[static_cast<std::size_t>(2 + j)] += v;
      out[static_cast<std::size_t>(2 + p + j)] += v * v;
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
  const Eigen::MatrixXd z = Standardised(table, rows, AllColumns(p), request.center, request.scale);
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

  std::vector<double> out(static_cast<std::size_t>(2 + (p + 1) + (k + 1) * (k + 1)), 0.0);
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
  const Eigen::MatrixXd h = u.transpose() * weight.asDiagonal() * u;
  const std::size_t base = static_cast<std::size_t>(3 + p);
  for (Eigen::Index a = 0; a <= k; ++a) {
    for (Eigen::Index b = 0; b <= k; ++b) {
      out[base + static_cast<std::size_t>(a * (k + 1) + b)] = h(a, b);
    }
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
  FEDRAD_ASSIGN_OR_RETURN(auto rows, SelectRows(table, request.rows));
  const auto n = static_cast<Eigen::Index>(rows.size());
  Eigen::MatrixXd u(n, k + 1);
  u.leftCols(k) = Standardised(table, rows, request.columns, request.center, request.scale);
  u.col(k).setConstant(request.bias_value);
  Eigen::VectorXd theta(k + 1);
  theta << request.w, request.bias_weight;
  const Eigen::VectorXd f = u * theta;

  std::vector<Eigen::Index> active;
  Eigen::VectorXd coef(n);  // -2 m_i t_i on the active set
  double loss = 0.0;
  for (Eigen::Index r = 0; r < n; ++r) {
    const double t = 2.0 * table.y[rows[static_cast<std::size_t>(r)]] - 1.0;
    const double m = 1.0 - t * f[r];
    if (m > 0.0) {
      loss += m * m;
      coef[static_cast<Eigen::Index>(active.size())] = -2.0 * m * t;
      active.push_back(r);
    }
  }
  const auto na = static_cast<Eigen::Index>(active.size());
  Eigen::MatrixXd ua(na, k + 1);
  for (Eigen::Index a = 0; a < na; ++a) ua.row(a) = u.row(active[static_cast<std::size_t>(a)]);
  const Eigen::VectorXd g = ua.transpose() * coef.head(na);
  const Eigen::MatrixXd h = 2.0 * (ua.transpose() * ua);

  std::vector<double> out(static_cast<std::size_t>(2 + (k + 1) + (k + 1) * (k + 1)), 0.0);
  out[0] = loss;
  out[1] = static_cast<double>(na);
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
  const Eigen::MatrixXd z = Standardised(table, rows, AllColumns(p), request.center, request.scale);
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
        } else {
          static_assert(std::is_same_v<T, PlattRequest>);
          return ComputePlatt(table, r);
        }
      },
      request);
}

Result<std::vector<double>> Compute(const Datasets& datasets, const StatRequest& request) {
  const std::string& name = DatasetOf(request);
  const auto it = datasets.find(name);
  if (it == datasets.end()) {
    return common::NotFound("no dataset '" + name + "' at this site");
  }
  return Compute(it->second, request);
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
        } else {
          r.rows.outer_fold = outer_fold;
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
    return 2 + (p + 1) + (k + 1) * (k + 1);
  }
  if (const auto* r = std::get_if<DevianceRequest>(&request)) {
    return 1 + static_cast<std::size_t>(r->intercepts.size());
  }
  if (const auto* r = std::get_if<ScoreHistogramRequest>(&request)) {
    return 2 * static_cast<std::size_t>(std::max(r->bins, 0)) * r->scorers.size();
  }
  if (std::holds_alternative<PlattRequest>(request)) return 7;
  const std::size_t k = std::get<SvmRequest>(request).columns.size();
  return 2 + (k + 1) + (k + 1) * (k + 1);
}

Result<std::vector<double>> ComputeScoreHistogram(const LocalTable& /*table*/,
                                                  const ScoreHistogramRequest& /*request*/) {
  return common::Internal("score histograms: not implemented yet");
}

Result<std::vector<double>> ComputePlatt(const LocalTable& /*table*/,
                                         const PlattRequest& /*request*/) {
  return common::Internal("platt statistics: not implemented yet");
}

}  // namespace fedrad::site_agent::stats

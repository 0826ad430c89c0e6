// Statistic providers: pure functions from (local table, request) to a flat
// array of doubles. The coordinator's Aggregator sums these arrays
// element-wise over sites; every entry is therefore a sum over rows, so that
// the sum over sites equals the same statistic on the pooled table.
//
// Notation: the rows selected by the request's RowSubset are i = 1..n; x_i is
// the feature row, y_i in {0, 1} its label. When standardisation parameters
// (center c, scale s) are given, features enter as z_ij = (x_ij - c_j) / s_j,
// and a column with s_j == 0 (constant in the pooled data) enters as z_ij = 0.
//
// Layouts (all sums over the selected rows):
//
//   Moments (p features):   [n, Σ y_i, Σ x_i1 .. Σ x_ip, Σ x_i1² .. Σ x_ip²]
//                            size 2 + 2p.
//
//   Logistic at (β0, β), η_i = β0 + z_iᵀβ, π_i = 1 / (1 + exp(-η_i)),
//   with H = the requested Hessian columns S (k of them):
//     [ℓ, n, g_0, g_1 .. g_p, H (k+1)x(k+1) row-major]   size 2 + (p+1) + (k+1)²
//     ℓ   = Σ [log(1 + exp(η_i)) - y_i η_i]         (negative log-likelihood)
//     g_0 = Σ (π_i - y_i),  g_j = Σ (π_i - y_i) z_ij  (gradient of ℓ, all j)
//     H   = Σ π_i (1 - π_i) u_i u_iᵀ, u_i = (1, z_iS)  (Hessian of ℓ on {β0} ∪ S)
//
//   Squared-hinge SVM on the requested columns (k of them), labels
//   t_i = 2 y_i - 1, augmented row u_i = (z_iS, B) with B = bias_value, and
//   parameters θ = (w, w_b), margin m_i = 1 - t_i θᵀu_i, active set
//   I = {i : m_i > 0}:
//     [L, |I|, G (k+1), H (k+1)x(k+1) row-major]   size 2 + (k+1) + (k+1)²
//     L = Σ_I m_i²,  G = -2 Σ_I m_i t_i u_i,  H = 2 Σ_I u_i u_iᵀ
//   (H is the generalized Hessian of L: the Hessian restricted to the active
//   set; it is exact wherever no m_i is 0.)
//
//   Held-out binomial deviance of L coefficient vectors (β0_l, β_l), l = 1..L
//   (cross-validation; the rows are normally the held-out part of a fold):
//     [n, D_1 .. D_L]   size 1 + L
//     D_l = Σ_i -2 [y_i log p_il + (1 - y_i) log(1 - p_il)],
//     p_il = min(max(1 / (1 + exp(-η_il)), 1e-5), 1 - 1e-5),
//     η_il = β0_l + z_iᵀβ_l
//   (cv.glmnet's type.measure = "deviance" for family = "binomial", with its
//   clipping of p to [1e-5, 1 - 1e-5], so D_l is finite whatever the labels
//   of the rows: a site whose held-out rows are all negative is fine).
#pragma once

#include <Eigen/Dense>
#include <variant>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/site_agent/stats/local_table.hpp"

namespace fedrad::site_agent::stats {

struct MomentsRequest {
  RowSubset rows;
};

struct LogisticRequest {
  RowSubset rows;
  Eigen::VectorXd center;            // p (standardisation)
  Eigen::VectorXd scale;             // p; 0 marks a constant column
  double intercept = 0.0;            // β0
  Eigen::VectorXd beta;              // p, on the standardised scale
  std::vector<int> hessian_columns;  // S: feature indices, distinct, in [0, p)
};

struct SvmRequest {
  RowSubset rows;
  std::vector<int> columns;  // features used (distinct, in [0, p)); k of them
  Eigen::VectorXd center;    // empty (raw features) or k entries
  Eigen::VectorXd scale;     // empty or k entries; 0 marks a constant column
  Eigen::VectorXd w;         // k
  double bias_weight = 0.0;  // w_b
  double bias_value = 1.0;   // B (the constant appended to every row)
};

struct DevianceRequest {
  RowSubset rows;
  Eigen::VectorXd center;      // p (standardisation)
  Eigen::VectorXd scale;       // p; 0 marks a constant column
  Eigen::VectorXd intercepts;  // L
  Eigen::MatrixXd betas;       // p x L, standardised scale, column l = β_l
};

using StatRequest = std::variant<MomentsRequest, LogisticRequest, SvmRequest, DevianceRequest>;

common::Result<std::vector<double>> ComputeMoments(const LocalTable& table,
                                                   const MomentsRequest& request);
common::Result<std::vector<double>> ComputeLogistic(const LocalTable& table,
                                                    const LogisticRequest& request);
common::Result<std::vector<double>> ComputeSvm(const LocalTable& table, const SvmRequest& request);
common::Result<std::vector<double>> ComputeDeviance(const LocalTable& table,
                                                    const DevianceRequest& request);
// Dispatches on the request type.
common::Result<std::vector<double>> Compute(const LocalTable& table, const StatRequest& request);

// Size of the array each request produces on a table with p features (the
// same at every site; the aggregator checks it).
std::size_t ResultSize(const StatRequest& request, int num_features);

}  // namespace fedrad::site_agent::stats

// L1-penalised logistic regression (LASSO), federated by proximal Newton.
//
// Objective (glmnet family = "binomial", alpha = 1, standardize = TRUE):
//
//   min_{β0, β}  F(β0, β) = -(1/N) Σ_i [y_i η_i - log(1 + exp(η_i))] + λ ‖β‖₁,
//   η_i = β0 + Σ_j z_ij β_j,   z_ij = (x_ij - mean_j) / sd_j,
//
// over the N pooled rows (of every site), with mean and sd the pooled
// moments with divisor N (standardization.hpp). The intercept β0 is not
// penalised. Constant columns (sd = 0) are excluded and get β_j = 0.
// Coefficients are reported on the standardised scale (β0, β) and on the
// original scale: b_j = β_j / sd_j, b0 = β0 - Σ_j b_j mean_j.
//
// Algorithm (per λ, warm-started from the previous λ's solution):
//   1. Working set S = strong set {j : |g_j(prev)| ≥ 2λ - λ_prev} ∪ {β_j ≠ 0},
//      g = ∇ of the smooth part, (1/N) Σ (π_i - y_i) z_ij.
//   2. Each round the sites return ℓ, the gradient over all p features and
//      the Hessian on {β0} ∪ S (providers.hpp, LogisticRequest).
//   3. KKT residual r = max(|g_0|, max_{β_j≠0} |g_j + λ sign β_j|,
//      max_{β_j=0} (|g_j| - λ)₊) over all features; stop when r ≤ kkt_tolerance.
//      Features outside S that violate |g_j| ≤ λ join S (one more round).
//   4. Newton direction d: minimise gᵀd + ½ dᵀHd + λ ‖β_S + d_S‖₁ by cyclic
//      coordinate descent (soft-thresholding; β0 unpenalised).
//   5. Armijo backtracking: t = 1, ½, ...; accept the first t with
//      F(θ + t d) ≤ F(θ) + σ t Δ, Δ = gᵀd + λ(‖β_S + d_S‖₁ - ‖β_S‖₁) (< 0).
//      Each trial point is one round, and the accepted trial's statistics are
//      those of the next iterate (no extra round).
//   6. Stall near the tolerance: if there is no descent direction (Δ ≥ 0,
//      Δ summed term by term to avoid cancellation), the step is below
//      rounding (θ + d == θ) or the line search fails, the point is accepted
//      for this λ when r ≤ 10 · kkt_tolerance (stalled = true, r recorded);
//      otherwise kFailedPrecondition.
// λ path: λ_max = max_j |g_j| at β = 0 (β0 = logit(ȳ), where the intercept is
// optimal), then nlambda values log-spaced down to λ_max · ratio, ratio =
// 1e-4 if N ≥ p else 1e-2 (glmnet's lambda.min.ratio), or a given path.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/standardization.hpp"

namespace fedrad::coordinator {

struct LassoOptions {
  int nlambda = 100;
  double lambda_min_ratio = 0.0;  // 0: glmnet's default (1e-4 if N >= p, else 1e-2)
  std::vector<double> lambdas;    // if non-empty: this decreasing path instead
  double kkt_tolerance = 1e-7;
  int max_newton_iterations = 100;  // per λ
  int max_line_search_steps = 40;   // per Newton iteration
  double armijo_sigma = 1e-4;
  site_agent::stats::RowSubset rows;  // training rows (e.g. the training part of a fold)
};

// Readable message (liblinear check_parameter style) if an option is out of
// range; OK otherwise.
common::Status CheckLassoParameters(const LassoOptions& options);

struct LassoPathPoint {
  double lambda = 0.0;
  double intercept = 0.0;           // β0, standardised scale
  Eigen::VectorXd beta;             // β, standardised scale
  double intercept_original = 0.0;  // b0
  Eigen::VectorXd beta_original;    // b
  double objective = 0.0;           // F at the solution
  double kkt_residual = 0.0;        // achieved (≤ kkt_tolerance unless stalled)
  // The iteration stalled at rounding (no descent direction, a Newton step
  // below rounding or a failed line search) with kkt_residual within 10 ×
  // kkt_tolerance, and the point was accepted as converged.
  bool stalled = false;
  int newton_iterations = 0;
  std::int64_t rounds = 0;  // rounds spent on this λ
};

struct LassoPath {
  Standardization standardization;
  double lambda_max = 0.0;
  std::vector<LassoPathPoint> points;
  std::int64_t rounds = 0;  // all rounds of the fit, including moments and λ_max
};

class Lasso {
 public:
  explicit Lasso(LassoOptions options) : options_(std::move(options)) {}

  // Fits the whole path. kInvalidArgument on bad options or data (e.g. one
  // class only); kFailedPrecondition if a λ does not converge within the
  // iteration limits.
  common::Result<LassoPath> FitPath(Aggregator& aggregator) const;

 private:
  LassoOptions options_;
};

}  // namespace fedrad::coordinator

// Linear SVM with the squared hinge loss, federated by Newton's method.
//
// Objective (liblinear -s 2, L2-regularised L2-loss SVC, primal):
//
//   min_{w, w_b}  f(w, w_b) = ½ ‖w‖² + ½ r w_b² + C Σ_i max(0, 1 - t_i (wᵀz_i + B w_b))²,
//
// over the pooled rows, t_i = +1 for label 1 and -1 for label 0, z_i the
// features of `columns` (raw, or standardised with the given center/scale).
//   - Default (regularize_bias = false): B = 1 and r = 0, so the intercept
//     b = w_b is not regularised.
//   - regularize_bias = true: B = bias_value and r = 1: exactly liblinear's
//     `-B bias_value`, which appends the constant B to every row and
//     regularises its weight; the intercept is b = B w_b.
// The decision value is wᵀz + b; label 1 is the positive class.
//
// Algorithm: each round the sites return the squared-hinge loss, its
// gradient and its generalized Hessian 2 Σ_{i∈I} u_i u_iᵀ over the active set
// I = {i : t_i θᵀu_i < 1} (providers.hpp, SvmRequest). The coordinator takes
// the Newton direction d = -(R + C H)⁻¹ (Rθ + C G) and backtracks
// (t = 1, ½, ...) until f(θ + t d) ≤ f(θ) + σ t ∇fᵀd; each trial is one round
// and the accepted trial's statistics serve the next iteration. Stops when
// ‖∇f‖₂ ≤ tolerance · ‖∇f(0)‖₂.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/coordinator/aggregator.hpp"

namespace fedrad::coordinator {

enum class SvmLossKind {
  kSquaredHinge,  // liblinear -s 2 (default)
  kHinge,         // standard hinge, liblinear -s 3's primal; see below
};

struct LinearSvmOptions {
  double c = 1.0;
  SvmLossKind loss = SvmLossKind::kSquaredHinge;
  // kHinge: target relative objective accuracy (f - f*) / f* (the issue asks
  // for 1e-6); the method and its stopping rule are documented in the
  // implementation section of this header.
  double hinge_relative_accuracy = 1e-6;
  bool regularize_bias = false;
  double bias_value = 1.0;   // B, used when regularize_bias
  std::vector<int> columns;  // features used; empty = all
  Eigen::VectorXd center;    // empty (raw features) or one entry per column
  Eigen::VectorXd scale;     // empty or one entry per column (0: constant column)
  double tolerance = 1e-10;  // relative gradient norm
  int max_iterations = 100;
  int max_line_search_steps = 40;
  double armijo_sigma = 1e-4;
  site_agent::stats::RowSubset rows;
};

// Readable message if an option is out of range (liblinear style).
common::Status CheckLinearSvmParameters(const LinearSvmOptions& options, int num_features);

struct LinearSvmModel {
  std::vector<int> columns;
  Eigen::VectorXd w;         // one weight per column
  double bias_weight = 0.0;  // w_b
  double intercept = 0.0;    // b = B w_b
  double objective = 0.0;    // f at the solution
  double gradient_norm = 0.0;
  int iterations = 0;
  std::int64_t rounds = 0;
};

class LinearSvm {
 public:
  explicit LinearSvm(LinearSvmOptions options) : options_(std::move(options)) {}

  common::Result<LinearSvmModel> Fit(Aggregator& aggregator) const;

 private:
  LinearSvmOptions options_;
};

}  // namespace fedrad::coordinator

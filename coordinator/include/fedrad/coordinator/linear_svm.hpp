// Linear SVM (squared hinge, or the standard hinge), federated by Newton's method.
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
//
// Standard hinge (loss = kHinge; liblinear -s 3's primal):
//
//   min  f(θ) = ½ ‖w‖² + ½ r w_b² + C Σ_i max(0, m_i),  m_i = 1 - t_i θᵀu_i,
//
// with the same B, r, u_i = (z_i, B) and θ = (w, w_b) as above. f is not
// differentiable, so the solver minimises the Huberised hinge
//   F_δ(θ) = ½ θᵀRθ + C Σ_i h_δ(m_i),
//   h_δ(m) = 0 (m ≤ 0), m²/(2δ) (0 < m ≤ δ), m - δ/2 (m > δ),
// which is C¹ with a piecewise-constant Hessian, by Newton's method
// (generalized Hessian R + (C/δ) Σ_{0<m_i≤δ} u_i u_iᵀ; with a free bias its
// last diagonal entry is floored at 1e-3 of the largest), for a decreasing
// sequence of δ (continuation; δ starts at 1).
//
// Statistics at a point θ: three SvmRequests, the Huberised hinge at δ (loss,
// gradient, Hessian), the squared hinge (only its count n₊ = |{i : m_i > 0}|
// is used) and the Huberised hinge at δ₀ = 1e-8 δ, whose loss L₀ brackets
// the hinge loss:
//   L₀ ≤ Σ_i max(0, m_i) ≤ L₀ + n₊ δ₀ / 2     (0 ≤ max(0, m) - h_δ₀(m) ≤ δ₀/2),
// so f(θ) ≤ U(θ) = ½ θᵀRθ + C (L₀ + n₊ δ₀/2), all from sums over sites.
// Line search in one round: the points θ + t d for t = 1, ½, ..., 2⁻⁷ (fewer
// when (k+1)² is large: at most 2²⁰ numbers per reply) go in one batch; of
// those satisfying Armijo, F_δ(θ + t d) ≤ F_δ(θ) + σ t ∇F_δᵀd, the lowest F_δ
// is accepted (if none does, the next round tries the next 8 smaller t).
// So a Newton iteration normally costs one round.
//
// Certified stopping rule. Because h_δ ≤ max(0, ·), F_δ ≤ f. Let θ* = (w*, b*)
// minimise f. F_δ is the sum of ½‖w‖² (1-strongly convex in w) and a convex
// function, so for every evaluated θ with g = ∇F_δ(θ):
//   f* = f(θ*) ≥ F_δ(θ*) ≥ F_δ(θ) + gᵀ(θ* - θ) + ½‖w* - w‖²
//      ≥ F_δ(θ) - ½‖g_w‖² + g_b (b* - b).
//   - regularize_bias (R = I): F_δ is 1-strongly convex in all of θ and
//     LB(θ) = F_δ(θ) - ½‖g‖².
//   - free bias (r = 0, B = 1): w* is unique, and for fixed w* the hinge
//     loss is convex piecewise linear in b with breakpoints t_i - w*ᵀz_i;
//     with rows of both classes it grows in both directions, so some
//     minimiser b* is a breakpoint: |b*| ≤ 1 + ‖w*‖ max_i ‖z_i‖, with
//     ‖w*‖² ≤ 2 f* ≤ 2 U_best and max_i ‖z_i‖² ≤ λ_max(Σ_i z_i z_iᵀ) (read
//     from the squared hinge's Hessian at θ = 0 in the first round, where
//     every margin is 1). Hence, with ρ = 1 + sqrt(2 U_best λ_max),
//     LB(θ) = F_δ(θ) - ½‖g_w‖² - |g_b| (ρ + |b|).
//     The slack |g_b| (ρ + |b|) is loose, but g_b → 0 quadratically under
//     Newton. A free bias needs rows of both classes (kFailedPrecondition
//     otherwise; counted from the first round).
// The solver keeps the largest LB seen and the point with the smallest U
// seen (over every evaluated point, line-search trials included), and stops
// when
//   U_best - LB_best ≤ ε · LB_best     (ε = hinge_relative_accuracy),
// which implies f(θ_best) - f* ≤ U_best - LB_best ≤ ε LB_best ≤ ε f*: the
// returned point is certified to relative objective accuracy ε. Within a δ,
// Newton runs until F_δ(θ) - LB(θ) is below max(0.1 (U - F_δ), ¼ ε LB);
// then δ shrinks by a factor clamp(½ ε LB / (U - F_δ), 0.01, 0.3) (the
// smoothing error U - F_δ is about proportional to δ). The new stage's first
// round evaluates two warm starts, the current point and (from the third
// stage on) the linear extrapolation in δ of the last two stages' end points,
// and continues from the one with the lower F_δ.
// Cost (120 x 5, C = 0.05 / C = 1, regularised bias): 50 / 85 rounds (before
// the batched line search: 294 / 1,170); free bias: 60 / 106.
//
// LinearSvmModel::objective is then U(θ_best) (an upper bound on f at the
// returned point, within C n₊ δ₀/2 of it) and objective_lower_bound the
// certified lower bound on f*.
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
  // for 1e-6), in [1e-12, 1); the method and its stopping rule are
  // documented at the top of this header. max_iterations applies per δ.
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
  Eigen::VectorXd w;                   // one weight per column
  double bias_weight = 0.0;            // w_b
  double intercept = 0.0;              // b = B w_b
  double objective = 0.0;              // f at the solution (kHinge: an upper bound, see above)
  double objective_lower_bound = 0.0;  // kHinge: lower bound on the optimum f*
  double huber_delta = 0.0;            // kHinge: the final smoothing δ
  double gradient_norm = 0.0;          // kHinge: of F_δ at the final δ
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

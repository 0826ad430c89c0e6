// Platt scaling, federated by Newton's method.
//
// Given decision values s_i (out-of-fold SVM scores: part l of the request
// applies scorer l to rows l), fit
//
//   P(y = 1 | s) = 1 / (1 + exp(A s + B))
//
// by minimising the cross-entropy with Platt's smoothed targets
//   τ = (N₊ + 1) / (N₊ + 2) for label 1,  τ = 1 / (N₋ + 2) for label 0,
//   ℓ(A, B) = Σ_i [τ_i f_i + log(1 + exp(-f_i))],  f_i = A s_i + B,
// over the pooled rows (N₊, N₋ = pooled class counts of those rows, one
// round of MomentsRequest). Each Newton round the sites return ℓ, its
// gradient and Hessian in (A, B) (providers.hpp, PlattRequest); the step is
// the Newton step on H + σI (σ = options.hessian_ridge) with backtracking
// (each trial one round), starting from A = 0, B = log((N₋ + 1) / (N₊ + 1)),
// as Lin, Lin & Weng (2007), "A note on Platt's probabilistic outputs for
// support vector machines" (libsvm's sigmoid_train), and it stops when
// max(|∂ℓ/∂A|, |∂ℓ/∂B|) ≤ options.tolerance.
#pragma once

#include <cstdint>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/site_agent/stats/providers.hpp"

namespace fedrad::coordinator {

struct PlattOptions {
  int max_iterations = 100;
  double tolerance = 1e-10;      // on the gradient's max-norm
  double hessian_ridge = 1e-12;  // σ
  double min_step = 1e-10;
};

common::Status CheckPlattParameters(const PlattOptions& options);

struct PlattModel {
  double a = 0.0;
  double b = 0.0;
  double loss = 0.0;
  double n_pos = 0.0;
  double n_neg = 0.0;
  int iterations = 0;
  std::int64_t rounds = 0;
};

// kInvalidArgument on bad options, mismatched parts or a class missing from
// the rows.
common::Result<PlattModel> FitPlatt(Aggregator& aggregator,
                                    const std::vector<site_agent::stats::RowSubset>& rows,
                                    const std::vector<site_agent::stats::LinearScorer>& scorers,
                                    const PlattOptions& options);

// P(y = 1 | s) for a fitted model, computed without overflow.
double PlattProbability(const PlattModel& model, double score);

}  // namespace fedrad::coordinator

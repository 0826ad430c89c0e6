#include "fedrad/coordinator/cross_validation.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "fedrad/coordinator/round_batcher.hpp"

namespace fedrad::coordinator {

using common::InvalidArgument;
using common::Result;
using common::Status;
using site_agent::stats::RowSubset;
using site_agent::stats::StatRequest;

namespace {

// Fits every options[i] concurrently, all requests of a round in one batch.
std::vector<Result<LassoPath>> FitConcurrently(Aggregator& base,
                                               const std::vector<LassoOptions>& options) {
  std::vector<Result<LassoPath>> fits(options.size(),
                                      Result<LassoPath>(common::Internal("not run")));
  RunConcurrently(base, static_cast<int>(options.size()), [&](int i, Aggregator& proxy) {
    const auto ii = static_cast<std::size_t>(i);
    fits[ii] = Lasso(options[ii]).FitPath(proxy);
  });
  return fits;
}

}  // namespace

std::vector<LambdaInterpolation> InterpolateLambda(const std::vector<double>& path,
                                                   const std::vector<double>& s) {
  std::vector<LambdaInterpolation> out(s.size());
  if (path.size() <= 1) return out;  // left = right = 0, frac = 1
  const int k = static_cast<int>(path.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const double v = std::clamp(s[i], path.back(), path.front());
    // First a with path[a + 1] <= v (path decreasing).
    int a = 0;
    while (a + 1 < k - 1 && path[static_cast<std::size_t>(a + 1)] > v) ++a;
    const double hi = path[static_cast<std::size_t>(a)];
    const double lo = path[static_cast<std::size_t>(a + 1)];
    LambdaInterpolation& r = out[i];
    if (v == hi) {
      r = {a, a, 1.0};
    } else if (v == lo) {
      r = {a + 1, a + 1, 1.0};
    } else {
      r = {a, a + 1, (v - lo) / (hi - lo)};
    }
  }
  return out;
}

Status CheckLassoCvParameters(const LassoCvOptions& o) {
  FEDRAD_RETURN_IF_ERROR(CheckLassoParameters(o.lasso));
  if (o.num_folds < 3) {
    return InvalidArgument("lasso cv: num_folds must be >= 3 (as cv.glmnet), got " +
                           std::to_string(o.num_folds));
  }
  if (o.lasso.rows.kind != RowSubset::Kind::kAll) {
    return InvalidArgument("lasso cv: the master fit must use all rows (lasso.rows = all)");
  }
  return Status::Ok();
}

Result<LassoCvResult> FitLassoCv(Aggregator& aggregator, const LassoCvOptions& options) {
  FEDRAD_RETURN_IF_ERROR(CheckLassoCvParameters(options));
  const std::int64_t rounds_at_start = aggregator.rounds();
  const int num_folds = options.num_folds;
  const auto kf = static_cast<std::size_t>(num_folds);
  const int p = aggregator.num_features();

  LassoCvResult result;
  result.choice = options.choice;
  std::vector<LassoOptions> fold_options(kf, options.lasso);
  for (int f = 0; f < num_folds; ++f) {
    fold_options[static_cast<std::size_t>(f)].rows = {RowSubset::Kind::kTrainOfFold, f};
  }
  std::vector<Result<LassoPath>> fits;
  if (options.fold_path == FoldLambdaPath::kMaster) {
    FEDRAD_ASSIGN_OR_RETURN(result.path, Lasso(options.lasso).FitPath(aggregator));
    result.master_rounds = aggregator.rounds() - rounds_at_start;
    std::vector<double> master;
    for (const auto& point : result.path.points) master.push_back(point.lambda);
    for (auto& fold : fold_options) fold.lambdas = master;
    const std::int64_t before = aggregator.rounds();
    fits = FitConcurrently(aggregator, fold_options);
    result.fold_rounds = aggregator.rounds() - before;
  } else {
    fold_options.push_back(options.lasso);  // the master runs with the folds
    const std::int64_t before = aggregator.rounds();
    fits = FitConcurrently(aggregator, fold_options);
    result.fold_rounds = aggregator.rounds() - before;
    if (!fits.back().ok()) return fits.back().status().Wrap("lasso cv: master fit");
    result.path = std::move(fits.back()).value();
    result.master_rounds = result.path.rounds;
    fits.pop_back();
  }
  for (int f = 0; f < num_folds; ++f) {
    const auto& fit = fits[static_cast<std::size_t>(f)];
    if (!fit.ok()) return fit.status().Wrap("lasso cv: fold " + std::to_string(f));
  }
  result.fold_max_kkt_residual.assign(kf, 0.0);
  for (std::size_t f = 0; f < kf; ++f) {
    for (const auto& point : fits[f]->points) {
      result.fold_max_kkt_residual[f] =
          std::max(result.fold_max_kkt_residual[f], point.kkt_residual);
    }
  }
  for (const auto& point : result.path.points) result.lambda.push_back(point.lambda);
  const std::size_t num_lambdas = result.lambda.size();
  const auto nl = static_cast<Eigen::Index>(num_lambdas);

  // Held-out deviances of every fold at every master λ: one round.
  std::vector<StatRequest> requests;
  for (int f = 0; f < num_folds; ++f) {
    const LassoPath& fit = *fits[static_cast<std::size_t>(f)];
    std::vector<double> fold_lambdas;
    for (const auto& point : fit.points) fold_lambdas.push_back(point.lambda);
    const auto interpolation = InterpolateLambda(fold_lambdas, result.lambda);
    site_agent::stats::DevianceRequest request;
    request.rows = {RowSubset::Kind::kTestOfFold, f};
    request.center = fit.standardization.mean;
    request.scale = fit.standardization.sd;
    request.intercepts.resize(nl);
    request.betas.resize(p, nl);
    for (Eigen::Index l = 0; l < nl; ++l) {
      const LambdaInterpolation& w = interpolation[static_cast<std::size_t>(l)];
      const LassoPathPoint& left = fit.points[static_cast<std::size_t>(w.left)];
      const LassoPathPoint& right = fit.points[static_cast<std::size_t>(w.right)];
      if (w.left == w.right) {
        request.intercepts[l] = left.intercept;
        request.betas.col(l) = left.beta;
      } else {
        request.intercepts[l] = w.frac * left.intercept + (1.0 - w.frac) * right.intercept;
        request.betas.col(l) = w.frac * left.beta + (1.0 - w.frac) * right.beta;
      }
    }
    requests.emplace_back(std::move(request));
  }
  const std::int64_t before_deviance = aggregator.rounds();
  FEDRAD_ASSIGN_OR_RETURN(auto sums, aggregator.SumBatch(requests));
  result.deviance_rounds = aggregator.rounds() - before_deviance;

  double total_n = 0.0;
  result.fold_n.resize(kf);
  result.fold_deviance.assign(kf, std::vector<double>(num_lambdas, 0.0));
  for (std::size_t f = 0; f < kf; ++f) {
    const std::vector<double>& s = sums[f];
    if (s.size() != 1 + num_lambdas) {
      return common::Internal("lasso cv: fold " + std::to_string(f) + ": " +
                              std::to_string(s.size()) + " deviance sums, expected " +
                              std::to_string(1 + num_lambdas));
    }
    if (!(s[0] >= 1.0)) {
      return InvalidArgument("lasso cv: fold " + std::to_string(f) +
                             " has no held-out rows at any site (fold ids must cover 0.." +
                             std::to_string(num_folds - 1) + ")");
    }
    result.fold_n[f] = s[0];
    total_n += s[0];
    for (std::size_t l = 0; l < num_lambdas; ++l) result.fold_deviance[f][l] = s[1 + l] / s[0];
  }
  result.cvm.assign(num_lambdas, 0.0);
  result.cvsd.assign(num_lambdas, 0.0);
  for (std::size_t l = 0; l < num_lambdas; ++l) {
    double m = 0.0;
    for (std::size_t f = 0; f < kf; ++f) m += result.fold_n[f] * result.fold_deviance[f][l];
    m /= total_n;
    double v = 0.0;
    for (std::size_t f = 0; f < kf; ++f) {
      const double d = result.fold_deviance[f][l] - m;
      v += result.fold_n[f] * d * d;
    }
    result.cvm[l] = m;
    result.cvsd[l] = std::sqrt(v / total_n / (num_folds - 1));
  }
  const double cvmin = *std::min_element(result.cvm.begin(), result.cvm.end());
  std::size_t imin = 0;
  while (!(result.cvm[imin] <= cvmin)) ++imin;
  const double semin = result.cvm[imin] + result.cvsd[imin];
  std::size_t i1se = 0;
  while (!(result.cvm[i1se] <= semin)) ++i1se;
  result.index_min = static_cast<int>(imin);
  result.index_1se = static_cast<int>(i1se);
  result.lambda_min = result.lambda[imin];
  result.lambda_1se = result.lambda[i1se];
  result.index_chosen = options.choice == LambdaChoice::kMin ? result.index_min : result.index_1se;
  result.lambda_chosen = result.lambda[static_cast<std::size_t>(result.index_chosen)];
  const Eigen::VectorXd& beta =
      result.path.points[static_cast<std::size_t>(result.index_chosen)].beta;
  for (int j = 0; j < p; ++j) {
    if (beta[j] != 0.0) result.selected.push_back(j);
  }
  result.rounds = aggregator.rounds() - rounds_at_start;
  return result;
}

}  // namespace fedrad::coordinator

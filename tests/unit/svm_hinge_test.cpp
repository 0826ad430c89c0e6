// The standard-hinge linear SVM (SvmLossKind::kHinge): with a regularised
// bias against `liblinear-train -s 3 -B 1 -e 1e-8` (L2-regularised L1-loss
// SVC, dual; its primal objective is ours with regularize_bias = true), with
// a free bias against a pooled SMO solve of the dual in this file; federated
// (3 sites) == pooled.
#include <gtest/gtest.h>
#include <unistd.h>

#include <Eigen/Dense>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/linear_svm.hpp"
#include "find_on_path.hpp"
#include "liblinear_io.hpp"
#include "solver_test_data.hpp"
#include "temp_dir.hpp"

namespace fedrad::coordinator {
namespace {

using site_agent::stats::LocalTable;

using fedrad::testing::FindOnPath;

// ½‖θ‖² + C Σ max(0, 1 - t (xᵀw + w_b)), B = 1, computed directly.
double HingeObjective(const LocalTable& t, const Eigen::VectorXd& theta, double c) {
  const Eigen::Index p = t.x.cols();
  double f = 0.5 * theta.squaredNorm();
  for (Eigen::Index i = 0; i < t.x.rows(); ++i) {
    const double m = 1.0 - (2.0 * t.y[i] - 1.0) * (t.x.row(i).dot(theta.head(p)) + theta[p]);
    if (m > 0) f += c * m;
  }
  return f;
}

// liblinear -s 3 -B 1 on `t` (raw features); returns (w, w_b) with +1 = label 1.
Eigen::VectorXd Liblinear(const LocalTable& t, double c, const testing::TempDir& dir) {
  const std::string train = FindOnPath("liblinear-train");
  EXPECT_FALSE(train.empty()) << "liblinear-train not found on PATH: run "
                                 "scripts/install-deps.sh (liblinear-tools)";
  testing::WriteLiblinearFile(t, dir.File("train.txt"));
  char c_text[64];
  std::snprintf(c_text, sizeof c_text, "%.17g", c);
  const std::string command = train + " -q -s 3 -c " + c_text + " -B 1 -e 1e-8 " +
                              dir.File("train.txt") + " " + dir.File("model.txt") + " > " +
                              dir.File("train.log") + " 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << "liblinear-train failed";
  std::ifstream model_file(dir.File("model.txt"));
  std::string line;
  std::vector<double> weights;
  bool in_weights = false;
  double sign = 1.0;
  while (std::getline(model_file, line)) {
    if (in_weights) {
      if (!line.empty()) weights.push_back(std::strtod(line.c_str(), nullptr));
    } else if (line == "w") {
      in_weights = true;
    } else if (line.rfind("label ", 0) == 0) {
      sign = line.substr(6, 1) == "1" ? 1.0 : -1.0;
    }
  }
  Eigen::VectorXd theta = Eigen::VectorXd::Zero(t.x.cols() + 1);
  EXPECT_EQ(weights.size(), static_cast<std::size_t>(theta.size()));
  for (Eigen::Index j = 0; j < theta.size() && j < static_cast<Eigen::Index>(weights.size()); ++j) {
    theta[j] = sign * weights[static_cast<std::size_t>(j)];
  }
  return theta;
}

TEST(SvmHingeTest, MatchesLiblinearS3AndFederatedEqualsPooled) {
  // Pre-standardised features: liblinear's dual coordinate descent reaches
  // its -e 1e-8 stopping rule on well-scaled data (on the raw, offset
  // features it stops at its iteration limit about 1e-4 above the optimum).
  LocalTable all = testing::MakeLogisticData(120, 5, 8);
  for (Eigen::Index j = 0; j < all.x.cols(); ++j) {
    all.x.col(j).array() -= all.x.col(j).mean();
    all.x.col(j) /= std::sqrt(all.x.col(j).squaredNorm() / 120.0);
  }
  const LocalTable sites[3] = {testing::Rows(all, 0, 30), testing::Rows(all, 30, 95),
                               testing::Rows(all, 95, 120)};
  testing::TempDir dir("fedrad_hinge");
  for (const double c : {0.05, 1.0}) {
    const Eigen::VectorXd theirs = Liblinear(all, c, dir);
    LinearSvmOptions options;
    options.c = c;
    options.loss = SvmLossKind::kHinge;
    options.regularize_bias = true;
    options.bias_value = 1.0;
    auto pooled_agg = InProcessAggregator::Create({&all});
    auto fed_agg = InProcessAggregator::Create({&sites[0], &sites[1], &sites[2]});
    ASSERT_TRUE(pooled_agg.ok() && fed_agg.ok());
    auto pooled = LinearSvm(options).Fit(*pooled_agg);
    auto fed = LinearSvm(options).Fit(*fed_agg);
    ASSERT_TRUE(pooled.ok()) << pooled.status().ToString();
    ASSERT_TRUE(fed.ok()) << fed.status().ToString();

    Eigen::VectorXd ours(6), ours_fed(6);
    ours << pooled->w, pooled->bias_weight;
    ours_fed << fed->w, fed->bias_weight;
    EXPECT_LE((ours - ours_fed).cwiseAbs().maxCoeff(), 1e-8) << "C = " << c;

    const double f_ours = HingeObjective(all, ours, c);
    const double f_theirs = HingeObjective(all, theirs, c);
    const double rel = std::abs(f_ours - f_theirs) / f_theirs;
    EXPECT_LE(rel, 1e-6) << "C = " << c;
    EXPECT_LE(f_ours, f_theirs * (1.0 + 1e-6)) << "C = " << c;
    // The certificate: lower bound <= f* <= f(liblinear), and the reported
    // objective bounds f at our point.
    EXPECT_LE(pooled->objective_lower_bound, f_theirs) << "C = " << c;
    EXPECT_LE(f_ours, pooled->objective * (1.0 + 1e-14)) << "C = " << c;
    EXPECT_GE(f_ours, pooled->objective_lower_bound) << "C = " << c;
    EXPECT_LE(pooled->objective - pooled->objective_lower_bound,
              1e-6 * pooled->objective_lower_bound)
        << "C = " << c;
    std::printf(
        "liblinear -s 3 -c %g -B 1: objective ours %.12g, liblinear %.12g (relative diff "
        "%.3g); certified gap %.3g; delta %.3g; %lld rounds (%d Newton iterations)\n",
        c, f_ours, f_theirs, rel,
        (pooled->objective - pooled->objective_lower_bound) / pooled->objective_lower_bound,
        pooled->huber_delta, static_cast<long long>(pooled->rounds), pooled->iterations);
  }
}

TEST(SvmHingeTest, ParameterCheck) {
  LinearSvmOptions options;
  options.loss = SvmLossKind::kHinge;
  EXPECT_TRUE(CheckLinearSvmParameters(options, 3).ok());  // free bias (default)
  options.regularize_bias = true;
  EXPECT_TRUE(CheckLinearSvmParameters(options, 3).ok());
  options.hinge_relative_accuracy = 0.0;
  EXPECT_NE(CheckLinearSvmParameters(options, 3).message().find("hinge_relative_accuracy"),
            std::string::npos);
}

// The free-bias hinge SVM dual, max Σα - ½‖Σ α_i t_i z_i‖² s.t. 0 <= α <= C,
// Σ α_i t_i = 0, solved on the pooled rows by SMO (maximal violating pair,
// exact two-variable steps) to a duality gap far below 1e-6; an independent
// reference for the federated primal solver.
struct DualReference {
  Eigen::VectorXd w;
  double b = 0.0;
  double primal = 0.0;  // f(w, b) >= f*
  double dual = 0.0;    // D(α) <= f*
};

// f(w, b) = ½‖w‖² + C Σ max(0, 1 - t_i (wᵀz_i + b)).
double FreeBiasObjective(const Eigen::MatrixXd& z, const Eigen::VectorXd& t,
                         const Eigen::VectorXd& w, double b, double c) {
  const Eigen::ArrayXd m = 1.0 - t.array() * ((z * w).array() + b);
  return 0.5 * w.squaredNorm() + c * m.max(0.0).sum();
}

DualReference SolveDual(const Eigen::MatrixXd& z, const Eigen::VectorXd& t, double c) {
  const Eigen::Index n = z.rows();
  Eigen::VectorXd alpha = Eigen::VectorXd::Zero(n);
  Eigen::VectorXd w = Eigen::VectorXd::Zero(z.cols());
  for (int iter = 0; iter < 1000000; ++iter) {
    // g_i = t_i ∂(-D)/∂α_i = t_i (t_i wᵀz_i - 1) = wᵀz_i - t_i.
    const Eigen::VectorXd g = z * w - t;
    Eigen::Index up = -1, low = -1;
    for (Eigen::Index i = 0; i < n; ++i) {
      const bool can_up = t[i] > 0 ? alpha[i] < c : alpha[i] > 0;   // α_i + t_i λ
      const bool can_low = t[i] > 0 ? alpha[i] > 0 : alpha[i] < c;  // α_j - t_j λ
      if (can_up && (up < 0 || g[i] < g[up])) up = i;
      if (can_low && (low < 0 || g[i] > g[low])) low = i;
    }
    if (up < 0 || low < 0 || g[low] - g[up] < 1e-14) break;
    const double curvature = (z.row(up) - z.row(low)).squaredNorm();
    double lambda = curvature > 0 ? (g[low] - g[up]) / curvature : c;
    lambda = std::min(lambda, t[up] > 0 ? c - alpha[up] : alpha[up]);
    lambda = std::min(lambda, t[low] > 0 ? alpha[low] : c - alpha[low]);
    alpha[up] += t[up] * lambda;
    alpha[low] -= t[low] * lambda;
    w += lambda * (z.row(up) - z.row(low)).transpose();
  }
  DualReference ref;
  w = z.transpose() * (alpha.array() * t.array()).matrix();
  ref.w = w;
  ref.dual = alpha.sum() - 0.5 * w.squaredNorm();
  // The best b for this w: f is piecewise linear in b with its minimum at a
  // breakpoint t_i - wᵀz_i.
  ref.primal = std::numeric_limits<double>::infinity();
  const Eigen::VectorXd s = z * w;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double f = FreeBiasObjective(z, t, w, t[i] - s[i], c);
    if (f < ref.primal) {
      ref.primal = f;
      ref.b = t[i] - s[i];
    }
  }
  return ref;
}

// Free bias: against the pooled dual solve above (certified to 1e-6 relative
// accuracy), and federated (3 sites) == pooled.
TEST(SvmHingeTest, FreeBiasMatchesDualReferenceAndFederatedEqualsPooled) {
  struct Case {
    int n, p, seed;
    std::vector<int> columns;
    double c;
    bool standardise;
  };
  const Case cases[] = {{90, 3, 12, {0, 2}, 0.7, true},
                        {120, 5, 8, {}, 0.05, false},
                        {120, 5, 8, {}, 1.0, false},
                        {200, 4, 3, {}, 10.0, true}};
  for (const Case& cs : cases) {
    const LocalTable all =
        testing::MakeLogisticData(cs.n, cs.p, static_cast<std::uint64_t>(cs.seed));
    const int cut1 = cs.n / 5, cut2 = (2 * cs.n) / 3;
    const LocalTable sites[3] = {testing::Rows(all, 0, cut1), testing::Rows(all, cut1, cut2),
                                 testing::Rows(all, cut2, cs.n)};
    LinearSvmOptions options;
    options.c = cs.c;
    options.loss = SvmLossKind::kHinge;
    options.columns = cs.columns;
    std::vector<int> cols = cs.columns;
    if (cols.empty()) {
      for (int j = 0; j < cs.p; ++j) cols.push_back(j);
    }
    const auto k = static_cast<Eigen::Index>(cols.size());
    Eigen::MatrixXd z(cs.n, k);
    for (Eigen::Index j = 0; j < k; ++j) z.col(j) = all.x.col(cols[static_cast<std::size_t>(j)]);
    if (cs.standardise) {
      options.center = z.colwise().mean().transpose();
      options.scale = Eigen::VectorXd::LinSpaced(k, 0.5, 1.1);
      for (Eigen::Index j = 0; j < k; ++j) {
        z.col(j) = (z.col(j).array() - options.center[j]) / options.scale[j];
      }
    }
    const Eigen::VectorXd t = 2.0 * all.y.array() - 1.0;
    const DualReference ref = SolveDual(z, t, cs.c);
    ASSERT_LE(ref.primal - ref.dual, 1e-10 * ref.dual) << "reference not converged, C = " << cs.c;

    auto pooled_agg = InProcessAggregator::Create({&all});
    auto fed_agg = InProcessAggregator::Create({&sites[0], &sites[1], &sites[2]});
    ASSERT_TRUE(pooled_agg.ok() && fed_agg.ok());
    auto pooled = LinearSvm(options).Fit(*pooled_agg);
    auto fed = LinearSvm(options).Fit(*fed_agg);
    ASSERT_TRUE(pooled.ok()) << pooled.status().ToString();
    ASSERT_TRUE(fed.ok()) << fed.status().ToString();
    EXPECT_LE((pooled->w - fed->w).cwiseAbs().maxCoeff(), 1e-8) << "C = " << cs.c;
    EXPECT_NEAR(pooled->intercept, fed->intercept, 1e-8) << "C = " << cs.c;

    const double f_ours = FreeBiasObjective(z, t, pooled->w, pooled->intercept, cs.c);
    const double rel = (f_ours - ref.dual) / ref.dual;  // >= (f - f*) / f*
    EXPECT_LE(rel, 1e-6) << "C = " << cs.c;
    // The certificate brackets the reference optimum.
    EXPECT_LE(pooled->objective_lower_bound, ref.primal) << "C = " << cs.c;
    EXPECT_LE(f_ours, pooled->objective * (1.0 + 1e-14)) << "C = " << cs.c;
    EXPECT_GE(f_ours, pooled->objective_lower_bound) << "C = " << cs.c;
    EXPECT_LE(pooled->objective - pooled->objective_lower_bound,
              1e-6 * pooled->objective_lower_bound)
        << "C = " << cs.c;
    // Optimality of the free intercept: moving b alone cannot lower f by more
    // than the requested accuracy (a direct scan, independent of the solver).
    for (double step = -0.5; step <= 0.5; step += 0.01) {
      EXPECT_GE(FreeBiasObjective(z, t, pooled->w, pooled->intercept + step, cs.c),
                f_ours * (1.0 - 1e-6))
          << "b + " << step << ", C = " << cs.c;
    }
    std::printf(
        "free bias, %d x %lld, C = %g: objective ours %.12g, dual reference %.12g (relative "
        "excess %.3g); certified gap %.3g; delta %.3g; %lld rounds (%d Newton iterations)\n",
        cs.n, static_cast<long long>(k), cs.c, f_ours, ref.dual, rel,
        (pooled->objective - pooled->objective_lower_bound) / pooled->objective_lower_bound,
        pooled->huber_delta, static_cast<long long>(pooled->rounds), pooled->iterations);
  }
}

TEST(SvmHingeTest, FreeBiasNeedsBothClasses) {
  LocalTable all = testing::MakeLogisticData(20, 2, 5);
  all.y.setOnes();
  auto agg = InProcessAggregator::Create({&all});
  ASSERT_TRUE(agg.ok());
  LinearSvmOptions options;
  options.loss = SvmLossKind::kHinge;
  auto fit = LinearSvm(options).Fit(*agg);
  ASSERT_FALSE(fit.ok());
  EXPECT_NE(fit.status().message().find("both classes"), std::string::npos)
      << fit.status().ToString();
}

}  // namespace
}  // namespace fedrad::coordinator

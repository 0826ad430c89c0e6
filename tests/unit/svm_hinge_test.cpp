// The standard-hinge linear SVM (SvmLossKind::kHinge) against
// `liblinear-train -s 3 -B 1 -e 1e-8` (L2-regularised L1-loss SVC, dual; its
// primal objective is ours with regularize_bias = true), and federated (3
// sites) == pooled.
#include <gtest/gtest.h>
#include <unistd.h>

#include <Eigen/Dense>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/linear_svm.hpp"
#include "solver_test_data.hpp"
#include "temp_dir.hpp"

namespace fedrad::coordinator {
namespace {

using site_agent::stats::LocalTable;

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

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
  {
    // liblinear's positive class is the first label of its input: a label-1
    // row goes first.
    std::ofstream out(dir.File("train.txt"));
    std::vector<Eigen::Index> order;
    for (Eigen::Index i = 0; i < t.x.rows() && order.empty(); ++i) {
      if (t.y[i] == 1.0) order.push_back(i);
    }
    for (Eigen::Index i = 0; i < t.x.rows(); ++i) {
      if (i != order.front()) order.push_back(i);
    }
    char buf[64];
    for (Eigen::Index i : order) {
      out << (t.y[i] == 1.0 ? "+1" : "-1");
      for (Eigen::Index j = 0; j < t.x.cols(); ++j) {
        std::snprintf(buf, sizeof buf, " %lld:%.17g", static_cast<long long>(j + 1), t.x(i, j));
        out << buf;
      }
      out << "\n";
    }
  }
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

TEST(SvmHingeTest, FreeBiasIsRejected) {
  LinearSvmOptions options;
  options.loss = SvmLossKind::kHinge;
  EXPECT_NE(CheckLinearSvmParameters(options, 3).message().find("needs regularize_bias = true"),
            std::string::npos);
  options.regularize_bias = true;
  EXPECT_TRUE(CheckLinearSvmParameters(options, 3).ok());
  options.hinge_relative_accuracy = 0.0;
  EXPECT_NE(CheckLinearSvmParameters(options, 3).message().find("hinge_relative_accuracy"),
            std::string::npos);
}

// Disabled: the free-bias hinge (regularize_bias = false) is rejected until
// it has a certified stopping rule; this scan found the old Newton-decrement
// rule stopping 0.2% above the optimum. Enable it with that solver.
TEST(SvmHingeTest, DISABLED_FreeBiasFederatedEqualsPooledAndParameterCheck) {
  const LocalTable all = testing::MakeLogisticData(90, 3, 12);
  const LocalTable sites[3] = {testing::Rows(all, 0, 20), testing::Rows(all, 20, 61),
                               testing::Rows(all, 61, 90)};
  LinearSvmOptions options;
  options.c = 0.7;
  options.loss = SvmLossKind::kHinge;
  options.columns = {0, 2};
  options.center = Eigen::Vector2d(all.x.col(0).mean(), all.x.col(2).mean());
  options.scale = Eigen::Vector2d(0.5, 1.1);
  auto pooled_agg = InProcessAggregator::Create({&all});
  auto fed_agg = InProcessAggregator::Create({&sites[0], &sites[1], &sites[2]});
  ASSERT_TRUE(pooled_agg.ok() && fed_agg.ok());
  auto pooled = LinearSvm(options).Fit(*pooled_agg);
  auto fed = LinearSvm(options).Fit(*fed_agg);
  ASSERT_TRUE(pooled.ok()) << pooled.status().ToString();
  ASSERT_TRUE(fed.ok()) << fed.status().ToString();
  EXPECT_LE((pooled->w - fed->w).cwiseAbs().maxCoeff(), 1e-8);
  EXPECT_NEAR(pooled->intercept, fed->intercept, 1e-8);
  // Optimality of the free intercept: moving b alone cannot lower f by more
  // than the requested accuracy (a direct scan, independent of the solver).
  auto f = [&](double b) {
    double v = 0.5 * pooled->w.squaredNorm();
    for (Eigen::Index i = 0; i < all.x.rows(); ++i) {
      const double z0 = (all.x(i, 0) - options.center[0]) / options.scale[0];
      const double z2 = (all.x(i, 2) - options.center[1]) / options.scale[1];
      const double m = 1.0 - (2.0 * all.y[i] - 1.0) * (pooled->w[0] * z0 + pooled->w[1] * z2 + b);
      if (m > 0) v += options.c * m;
    }
    return v;
  };
  const double f0 = f(pooled->intercept);
  for (double step = -0.5; step <= 0.5; step += 0.01) {
    EXPECT_GE(f(pooled->intercept + step), f0 * (1.0 - 1e-6)) << "b + " << step;
  }
  options.hinge_relative_accuracy = 0.0;
  EXPECT_NE(CheckLinearSvmParameters(options, 3).message().find("hinge_relative_accuracy"),
            std::string::npos);
}

}  // namespace
}  // namespace fedrad::coordinator

// Agreement with peer tools from Debian: glmnet (r-cran-glmnet, via Rscript)
// for the LASSO path and liblinear (liblinear-tools, `liblinear-train -s 2`)
// for the squared-hinge SVM. Both are installed by scripts/install-deps.sh;
// the tests fail (not skip) when they are missing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <Eigen/Dense>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/cross_validation.hpp"
#include "fedrad/coordinator/lasso.hpp"
#include "fedrad/coordinator/linear_svm.hpp"
#include "fedrad/site_agent/stats/folds.hpp"
#include "find_on_path.hpp"
#include "liblinear_io.hpp"
#include "solver_test_data.hpp"

namespace fedrad::coordinator {
namespace {

namespace fs = std::filesystem;
using site_agent::stats::LocalTable;

// Absolute path of an executable found on PATH, or "".
// Writes x.txt (rows of %.17g), y.txt and lambda.txt into `dir` for the
// glmnet scripts.
void WriteGlmnetInputs(const fs::path& dir, const LocalTable& t,
                       const std::vector<double>& lambdas) {
  std::ofstream x(dir / "x.txt"), y(dir / "y.txt"), lambda(dir / "lambda.txt");
  char buf[64];
  for (Eigen::Index i = 0; i < t.x.rows(); ++i) {
    for (Eigen::Index j = 0; j < t.x.cols(); ++j) {
      std::snprintf(buf, sizeof buf, "%.17g", t.x(i, j));
      x << (j ? " " : "") << buf;
    }
    x << "\n";
    y << t.y[i] << "\n";
  }
  for (const double l : lambdas) {
    std::snprintf(buf, sizeof buf, "%.17g", l);
    lambda << buf << "\n";
  }
}

class PeerReferenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("fedrad_peer_" + std::to_string(getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  fs::path dir_;
};

std::vector<double> ReadNumbers(const fs::path& file) {
  std::ifstream in(file);
  std::vector<double> values;
  std::string token;
  while (in >> token) values.push_back(std::strtod(token.c_str(), nullptr));
  return values;
}

TEST_F(PeerReferenceTest, LassoPathMatchesGlmnet) {
  const std::string rscript = testing::FindOnPath("Rscript");
  ASSERT_FALSE(rscript.empty()) << "Rscript not found on PATH: run scripts/install-deps.sh "
                                   "(r-cran-glmnet)";
  const LocalTable t = testing::MakeLogisticData(120, 15, 42);
  auto aggregator = InProcessAggregator::Create({&t});
  ASSERT_TRUE(aggregator.ok());
  // The default stopping rule (KKT residual <= 1e-7) and a tight one
  // (1e-10): the coefficient error of the default is about the residual
  // divided by the curvature and the feature SD.
  auto path = Lasso(LassoOptions()).FitPath(*aggregator);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  LassoOptions tight_options;
  tight_options.kkt_tolerance = 1e-10;
  auto tight_aggregator = InProcessAggregator::Create({&t});
  ASSERT_TRUE(tight_aggregator.ok());
  auto tight = Lasso(tight_options).FitPath(*tight_aggregator);
  ASSERT_TRUE(tight.ok()) << tight.status().ToString();

  {
    std::vector<double> lambdas;
    for (const auto& point : path->points) lambdas.push_back(point.lambda);
    WriteGlmnetInputs(dir_, t, lambdas);
  }
  const std::string script =
      "suppressMessages(library(glmnet));"
      "d <- commandArgs(TRUE)[1];"
      "x <- as.matrix(read.table(file.path(d, 'x.txt')));"
      "y <- scan(file.path(d, 'y.txt'), quiet = TRUE);"
      "lam <- scan(file.path(d, 'lambda.txt'), quiet = TRUE);"
      "glmnet.control(fdev = 0, devmax = 1);"
      "fit <- glmnet(x, y, family = 'binomial', alpha = 1, standardize = TRUE,"
      "              lambda = lam, thresh = 1e-14, maxit = 1e7);"
      "m <- as.matrix(coef(fit));"
      "writeLines(sprintf('%.17g', c(ncol(m), m)), file.path(d, 'coef.txt'));"
      // standardize=FALSE on data pre-standardised with the 1/N SD.
      "xs <- scale(x, center = TRUE, scale = apply(x, 2, function(v) sqrt(mean((v - mean(v))^2))));"
      "fit2 <- glmnet(xs, y, family = 'binomial', alpha = 1, standardize = FALSE,"
      "               lambda = lam, thresh = 1e-14, maxit = 1e7);"
      "m2 <- as.matrix(coef(fit2));"
      "writeLines(sprintf('%.17g', c(ncol(m2), m2)), file.path(d, 'coef_std.txt'))";
  std::ofstream(dir_ / "fit.R") << script << "\n";
  const std::string command = rscript + " " + (dir_ / "fit.R").string() + " " + dir_.string() +
                              " > " + (dir_ / "r.log").string() + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << "Rscript failed, see " << (dir_ / "r.log");

  const std::vector<double> values = ReadNumbers(dir_ / "coef.txt");
  ASSERT_FALSE(values.empty());
  const auto columns = static_cast<std::size_t>(values[0]);
  const std::size_t p = 15;
  ASSERT_EQ(columns, path->points.size()) << "glmnet stopped the path early";
  ASSERT_EQ(values.size(), 1 + columns * (p + 1));
  // Max |glmnet - ours| over the path, original units (intercept included).
  auto max_diff = [&](const LassoPath& ours) {
    double diff = 0.0;
    for (std::size_t k = 0; k < columns; ++k) {
      const auto& point = ours.points[k];
      const double* g = values.data() + 1 + k * (p + 1);  // column-major: b0, b_1..b_p
      diff = std::max(diff, std::abs(g[0] - point.intercept_original));
      for (std::size_t j = 0; j < p; ++j) {
        const double b = point.beta_original[static_cast<Eigen::Index>(j)];
        diff = std::max(diff, std::abs(g[j + 1] - b));
        EXPECT_EQ(g[j + 1] == 0.0, b == 0.0) << "selected sets differ at lambda " << k;
      }
    }
    return diff;
  };
  const double default_diff = max_diff(*path);
  const double tight_diff = max_diff(*tight);
  // Standardised units against glmnet(standardize = FALSE) on pre-standardised data.
  const std::vector<double> std_values = ReadNumbers(dir_ / "coef_std.txt");
  ASSERT_EQ(std_values.size(), values.size());
  auto max_std_diff = [&](const LassoPath& ours) {
    double diff = 0.0;
    for (std::size_t k = 0; k < columns; ++k) {
      const auto& point = ours.points[k];
      const double* g = std_values.data() + 1 + k * (p + 1);
      diff = std::max(diff, std::abs(g[0] - point.intercept));
      for (std::size_t j = 0; j < p; ++j) {
        diff = std::max(diff, std::abs(g[j + 1] - point.beta[static_cast<Eigen::Index>(j)]));
      }
    }
    return diff;
  };
  const double default_std_diff = max_std_diff(*path);
  const double tight_std_diff = max_std_diff(*tight);
  EXPECT_LE(tight_std_diff, 1e-6);
  std::printf(
      "glmnet standardize=FALSE on standardised data: max |diff| %.3g (KKT <= 1e-7), "
      "%.3g (KKT <= 1e-10)\n",
      default_std_diff, tight_std_diff);
  EXPECT_LE(default_diff, 2e-5);
  EXPECT_LE(tight_diff, 1e-6);
  std::printf(
      "glmnet: max |diff| over %zu lambdas (original units): %.3g with KKT <= 1e-7 (%lld rounds), "
      "%.3g with KKT <= 1e-10 (%lld rounds)\n",
      columns, default_diff, static_cast<long long>(path->rounds), tight_diff,
      static_cast<long long>(tight->rounds));
}

// cv.glmnet(family = "binomial", foldid = <the sites' fold ids>) against
// FitLassoCv over three sites: once with `lambda = <our master path>`
// (cv.glmnet then fits every fold on that path: FoldLambdaPath::kMaster) and
// once without (each fold its own path, predictions interpolated onto the
// master path: FoldLambdaPath::kOwn). glmnet.control(fdev = 0, devmax = 1)
// keeps glmnet from truncating paths, thresh = 1e-14.
TEST_F(PeerReferenceTest, LassoCvMatchesCvGlmnet) {
  const std::string rscript = testing::FindOnPath("Rscript");
  ASSERT_FALSE(rscript.empty()) << "Rscript not found on PATH: run scripts/install-deps.sh "
                                   "(r-cran-glmnet)";
  const LocalTable all = testing::MakeLogisticData(150, 12, 77);
  LocalTable sites[3] = {testing::Rows(all, 0, 31), testing::Rows(all, 31, 108),
                         testing::Rows(all, 108, 150)};
  std::vector<int> foldid;
  for (int s = 0; s < 3; ++s) {
    auto folds = site_agent::stats::AssignFolds(sites[s].y, 5, 1 + static_cast<std::uint64_t>(s));
    ASSERT_TRUE(folds.ok());
    sites[s].fold = *folds;
    foldid.insert(foldid.end(), folds->begin(), folds->end());
  }
  LassoCvResult ours[2];
  const FoldLambdaPath modes[2] = {FoldLambdaPath::kMaster, FoldLambdaPath::kOwn};
  for (int m = 0; m < 2; ++m) {
    auto aggregator = InProcessAggregator::Create({&sites[0], &sites[1], &sites[2]});
    ASSERT_TRUE(aggregator.ok());
    LassoCvOptions options;
    options.num_folds = 5;
    options.fold_path = modes[m];
    auto cv = FitLassoCv(*aggregator, options);
    ASSERT_TRUE(cv.ok()) << cv.status().ToString();
    ours[m] = std::move(cv).value();
  }
  {
    WriteGlmnetInputs(dir_, all, ours[0].lambda);
    std::ofstream fold(dir_ / "foldid.txt");
    for (Eigen::Index i = 0; i < all.x.rows(); ++i) {
      fold << foldid[static_cast<std::size_t>(i)] + 1 << "\n";  // R: 1..K
    }
  }
  const std::string script =
      "suppressMessages(library(glmnet));"
      "d <- commandArgs(TRUE)[1];"
      "x <- as.matrix(read.table(file.path(d, 'x.txt')));"
      "y <- scan(file.path(d, 'y.txt'), quiet = TRUE);"
      "lam <- scan(file.path(d, 'lambda.txt'), quiet = TRUE);"
      "foldid <- scan(file.path(d, 'foldid.txt'), quiet = TRUE);"
      "glmnet.control(fdev = 0, devmax = 1);"
      "out <- function(cv, name) writeLines(sprintf('%.17g', c(length(cv$lambda), cv$lambda.min,"
      "  cv$lambda.1se, cv$lambda, cv$cvm, cv$cvsd)), file.path(d, name));"
      "out(cv.glmnet(x, y, family = 'binomial', foldid = foldid, lambda = lam,"
      "              thresh = 1e-14, maxit = 1e7), 'cv_master.txt');"
      "out(cv.glmnet(x, y, family = 'binomial', foldid = foldid,"
      "              thresh = 1e-14, maxit = 1e7), 'cv_own.txt')";
  std::ofstream(dir_ / "cv.R") << script << "\n";
  const std::string command = rscript + " " + (dir_ / "cv.R").string() + " " + dir_.string() +
                              " > " + (dir_ / "r.log").string() + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << "Rscript failed, see " << (dir_ / "r.log");

  const char* files[2] = {"cv_master.txt", "cv_own.txt"};
  for (int m = 0; m < 2; ++m) {
    const std::vector<double> v = ReadNumbers(dir_ / files[m]);
    ASSERT_GE(v.size(), 3u);
    const auto n = static_cast<std::size_t>(v[0]);
    ASSERT_EQ(n, ours[m].lambda.size()) << files[m];
    ASSERT_EQ(v.size(), 3 + 3 * n);
    double lambda_diff = 0.0, cvm_diff = 0.0, cvsd_diff = 0.0;
    for (std::size_t l = 0; l < n; ++l) {
      lambda_diff = std::max(lambda_diff, std::abs(v[3 + l] - ours[m].lambda[l]) / v[3 + l]);
      cvm_diff = std::max(cvm_diff, std::abs(v[3 + n + l] - ours[m].cvm[l]));
      cvsd_diff = std::max(cvsd_diff, std::abs(v[3 + 2 * n + l] - ours[m].cvsd[l]));
    }
    EXPECT_LE(lambda_diff, 1e-10) << files[m];
    EXPECT_LE(cvm_diff, 1e-5) << files[m];
    EXPECT_LE(cvsd_diff, 1e-5) << files[m];
    EXPECT_NEAR(v[1], ours[m].lambda_min, 1e-12 * v[1]) << files[m] << ": lambda.min";
    EXPECT_NEAR(v[2], ours[m].lambda_1se, 1e-12 * v[2]) << files[m] << ": lambda.1se";
    std::printf(
        "cv.glmnet (%s): lambda.min %s (index %d), lambda.1se %s (index %d); max |diff| "
        "lambda (rel) %.3g, cvm %.3g, cvsd %.3g; %lld rounds\n",
        m == 0 ? "lambda = master path" : "own fold paths",
        std::abs(v[1] - ours[m].lambda_min) <= 1e-12 * v[1] ? "equal" : "DIFFERENT",
        ours[m].index_min,
        std::abs(v[2] - ours[m].lambda_1se) <= 1e-12 * v[2] ? "equal" : "DIFFERENT",
        ours[m].index_1se, lambda_diff, cvm_diff, cvsd_diff,
        static_cast<long long>(ours[m].rounds));
  }
}

TEST_F(PeerReferenceTest, SquaredHingeSvmMatchesLiblinear) {
  const std::string train = testing::FindOnPath("liblinear-train");
  ASSERT_FALSE(train.empty()) << "liblinear-train not found on PATH: run "
                                 "scripts/install-deps.sh (liblinear-tools)";
  const LocalTable t = testing::MakeLogisticData(120, 6, 5);
  const double c = 0.3;
  testing::WriteLiblinearFile(t, (dir_ / "train.txt").string());
  const std::string command = train + " -q -s 2 -c 0.3 -B 1 -e 1e-8 " +
                              (dir_ / "train.txt").string() + " " + (dir_ / "model.txt").string() +
                              " > " + (dir_ / "train.log").string() + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << "liblinear-train failed";

  // Model file: header lines, then "w", then one weight per feature and the bias weight.
  std::ifstream model_file(dir_ / "model.txt");
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
  ASSERT_EQ(weights.size(), 7u);

  auto aggregator = InProcessAggregator::Create({&t});
  ASSERT_TRUE(aggregator.ok());
  LinearSvmOptions options;
  options.c = c;
  options.regularize_bias = true;
  options.bias_value = 1.0;
  auto model = LinearSvm(options).Fit(*aggregator);
  ASSERT_TRUE(model.ok()) << model.status().ToString();

  Eigen::VectorXd theirs(7), ours(7);
  for (int j = 0; j < 7; ++j) theirs[j] = sign * weights[static_cast<std::size_t>(j)];
  ours << model->w, model->bias_weight;
  auto objective = [&](const Eigen::VectorXd& theta) {
    double f = 0.5 * theta.squaredNorm();
    for (Eigen::Index i = 0; i < t.x.rows(); ++i) {
      const double m = 1.0 - (2.0 * t.y[i] - 1.0) * (t.x.row(i).dot(theta.head(6)) + theta[6]);
      if (m > 0) f += c * m * m;
    }
    return f;
  };
  const double rel_w = (ours - theirs).norm() / theirs.norm();
  const double rel_f = std::abs(objective(ours) - objective(theirs)) / objective(theirs);
  EXPECT_LE(rel_w, 1e-5);
  EXPECT_LE(rel_f, 1e-6);
  EXPECT_LE(objective(ours), objective(theirs) * (1.0 + 1e-12));
  std::printf(
      "liblinear -s 2 -B 1: relative |w diff| %.3g, relative objective diff %.3g, "
      "%lld rounds\n",
      rel_w, rel_f, static_cast<long long>(model->rounds));
}

}  // namespace
}  // namespace fedrad::coordinator

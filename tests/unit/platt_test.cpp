// Federated Platt scaling against R's glm (binomial, Platt's smoothed
// targets) and federated (3 sites) == pooled (1 site).
#include "fedrad/coordinator/platt.hpp"

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
#include "fedrad/site_agent/stats/folds.hpp"
#include "find_on_path.hpp"
#include "solver_test_data.hpp"
#include "temp_dir.hpp"

namespace fedrad::coordinator {
namespace {

using site_agent::stats::LinearScorer;
using site_agent::stats::LocalTable;
using site_agent::stats::RowSubset;

using fedrad::testing::FindOnPath;

// 150 rows in 3 uneven sites with 3 folds each; part g scores fold g's
// held-out rows with its own scorer (as out-of-fold SVM decision values).
struct PlattFixture {
  LocalTable all;
  LocalTable sites[3];
  std::vector<RowSubset> rows;
  std::vector<LinearScorer> scorers;
};

PlattFixture MakeFixture() {
  PlattFixture f;
  f.all = testing::MakeLogisticData(150, 4, 21);
  f.all.fold.resize(150);
  for (int i = 0; i < 150; ++i) f.all.fold[static_cast<std::size_t>(i)] = (i * 7) % 3;
  f.sites[0] = testing::Rows(f.all, 0, 40);
  f.sites[1] = testing::Rows(f.all, 40, 111);
  f.sites[2] = testing::Rows(f.all, 111, 150);
  for (int g = 0; g < 3; ++g) {
    f.rows.push_back({RowSubset::Kind::kTestOfFold, g});
    LinearScorer s;
    s.columns = {0, 3};
    s.center = Eigen::Vector2d(-5.0 + 0.1 * g, 1.0);
    s.scale = Eigen::Vector2d(0.5, 1.4 + 0.2 * g);
    s.w = Eigen::Vector2d(0.9 - 0.2 * g, -0.4);
    s.intercept = 0.3 * g - 0.2;
    f.scorers.push_back(s);
  }
  return f;
}

// The score of row i of `t` under its fold's scorer (computed directly).
double Score(const PlattFixture& f, Eigen::Index i) {
  const LinearScorer& s =
      f.scorers[static_cast<std::size_t>(f.all.fold[static_cast<std::size_t>(i)])];
  double v = s.intercept;
  for (std::size_t c = 0; c < s.columns.size(); ++c) {
    const auto cc = static_cast<Eigen::Index>(c);
    v += s.w[cc] * (f.all.x(i, s.columns[c]) - s.center[cc]) / s.scale[cc];
  }
  return v;
}

TEST(PlattTest, MatchesRGlmAndFederatedEqualsPooled) {
  const PlattFixture f = MakeFixture();
  auto pooled_agg = InProcessAggregator::Create({&f.all});
  auto fed_agg = InProcessAggregator::Create({&f.sites[0], &f.sites[1], &f.sites[2]});
  ASSERT_TRUE(pooled_agg.ok() && fed_agg.ok());
  auto pooled = FitPlatt(*pooled_agg, f.rows, f.scorers, PlattOptions());
  auto fed = FitPlatt(*fed_agg, f.rows, f.scorers, PlattOptions());
  ASSERT_TRUE(pooled.ok()) << pooled.status().ToString();
  ASSERT_TRUE(fed.ok()) << fed.status().ToString();
  EXPECT_NEAR(fed->a, pooled->a, 1e-10 * std::abs(pooled->a));
  EXPECT_NEAR(fed->b, pooled->b, 1e-10 * (1.0 + std::abs(pooled->b)));
  EXPECT_EQ(fed->rounds, pooled->rounds);
  EXPECT_EQ(pooled->n_pos + pooled->n_neg, 150.0);

  const std::string rscript = FindOnPath("Rscript");
  ASSERT_FALSE(rscript.empty()) << "Rscript not found on PATH: run scripts/install-deps.sh";
  testing::TempDir dir("fedrad_platt");
  {
    std::ofstream out(dir.File("scores.txt"));
    char buf[64];
    for (Eigen::Index i = 0; i < f.all.x.rows(); ++i) {
      std::snprintf(buf, sizeof buf, "%.17g %g\n", Score(f, i), f.all.y[i]);
      out << buf;
    }
  }
  const std::string script =
      "d <- commandArgs(TRUE)[1];"
      "v <- as.matrix(read.table(file.path(d, 'scores.txt')));"
      "s <- v[, 1]; y <- v[, 2];"
      "np <- sum(y == 1); nn <- sum(y == 0);"
      "tau <- ifelse(y == 1, (np + 1) / (np + 2), 1 / (nn + 2));"
      "fit <- suppressWarnings(glm(cbind(tau, 1 - tau) ~ s, family = binomial,"
      "  control = glm.control(epsilon = 1e-15, maxit = 100)));"
      "writeLines(sprintf('%.17g', c(-coef(fit)[2], -coef(fit)[1])), file.path(d, 'ab.txt'))";
  std::ofstream(dir.File("platt.R")) << script << "\n";
  const std::string command =
      rscript + " " + dir.File("platt.R") + " " + dir.path() + " > " + dir.File("r.log") + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << "Rscript failed";
  std::ifstream in(dir.File("ab.txt"));
  double a_ref = 0.0, b_ref = 0.0;
  ASSERT_TRUE(in >> a_ref >> b_ref);
  EXPECT_NEAR(pooled->a, a_ref, 1e-6 * std::abs(a_ref));
  EXPECT_NEAR(pooled->b, b_ref, 1e-6 * std::abs(b_ref));
  EXPECT_LT(a_ref, 0.0);  // higher scores, higher P(y = 1)
  std::printf("platt vs R glm: A %.10g (R %.10g), B %.10g (R %.10g); %lld rounds\n", pooled->a,
              a_ref, pooled->b, b_ref, static_cast<long long>(pooled->rounds));
}

TEST(PlattTest, RejectsBadInputsAndProbabilityIsStable) {
  PlattFixture f = MakeFixture();
  auto agg = InProcessAggregator::Create({&f.all});
  ASSERT_TRUE(agg.ok());
  PlattOptions bad;
  bad.tolerance = 0.0;
  EXPECT_NE(FitPlatt(*agg, f.rows, f.scorers, bad).status().message().find("tolerance"),
            std::string::npos);
  std::vector<LinearScorer> two(f.scorers.begin(), f.scorers.begin() + 2);
  EXPECT_NE(FitPlatt(*agg, f.rows, two, PlattOptions()).status().message().find("one scorer"),
            std::string::npos);
  // Only negatives: no Platt fit.
  LocalTable negatives = f.all;
  negatives.y.setZero();
  auto neg_agg = InProcessAggregator::Create({&negatives});
  ASSERT_TRUE(neg_agg.ok());
  EXPECT_NE(
      FitPlatt(*neg_agg, f.rows, f.scorers, PlattOptions()).status().message().find("both classes"),
      std::string::npos);

  PlattModel m;
  m.a = -2.0;
  m.b = 0.5;
  EXPECT_NEAR(PlattProbability(m, 1.0), 1.0 / (1.0 + std::exp(-1.5)), 1e-15);
  EXPECT_EQ(PlattProbability(m, 1e308), 1.0);
  EXPECT_EQ(PlattProbability(m, -1e308), 0.0);
}

}  // namespace
}  // namespace fedrad::coordinator

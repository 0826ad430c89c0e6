// Pooled ROC / DeLong (coordinator/roc.hpp + site_agent/stats/delong_site.hpp):
// (1) three sites' summed arrays give exactly the statistics of the pooled
// cohort on the same grid, and both match a brute-force DeLong reference;
// (2) the fine grid is within 1e-4 of the unbinned AUC; (3) fedrad agrees
// with R's pROC (roc, ci.auc delong, roc.test delong paired), with and
// without tied scores; metrics at a threshold and Youden's J against direct
// counts.
#include "fedrad/coordinator/roc.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "fedrad/site_agent/stats/delong_site.hpp"
#include "find_on_path.hpp"
#include "temp_dir.hpp"

namespace fedrad::coordinator {
namespace {

namespace ss = site_agent::stats;

using fedrad::testing::FindOnPath;

struct Cohort {
  Eigen::MatrixXd scores;  // n × 3 probabilities
  Eigen::VectorXd labels;
};

// Three paired models of increasing separation; probabilities
// sigmoid(b_r·y + noise), rounded to grid points k/(G-1) when G > 0.
Cohort MakeCohort(int n, std::uint64_t seed, std::int64_t grid_size) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::bernoulli_distribution case_draw(0.4);
  Cohort c{Eigen::MatrixXd(n, 3), Eigen::VectorXd(n)};
  const double shift[3] = {0.6, 1.0, 1.4};
  for (int i = 0; i < n; ++i) {
    c.labels[i] = case_draw(rng) ? 1.0 : 0.0;
    const double shared = normal(rng);
    for (int r = 0; r < 3; ++r) {
      const double x = shift[r] * c.labels[i] + 0.6 * shared + 0.8 * normal(rng) - 0.5;
      double p = 1.0 / (1.0 + std::exp(-x));
      if (grid_size > 0) {
        const auto last = static_cast<double>(grid_size - 1);
        p = static_cast<double>(std::llround(p * last)) / last;
      }
      c.scores(i, r) = p;
    }
  }
  return c;
}

// Both rounds over three uneven sites (20%, 50%, 30% of the rows).
RocAnalysis Federated(const ss::ScoreGrid& grid, const Cohort& c) {
  const auto n = static_cast<int>(c.labels.size());
  const int cuts[] = {0, n / 5, n / 5 + n / 2, n};
  const auto models = static_cast<int>(c.scores.cols());
  std::vector<double> hist(ss::GridHistogramsSize(grid, models), 0.0);
  for (int s = 0; s < 3; ++s) {
    auto h = ss::GridHistograms(grid, c.scores.middleRows(cuts[s], cuts[s + 1] - cuts[s]),
                                c.labels.segment(cuts[s], cuts[s + 1] - cuts[s]));
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    for (std::size_t e = 0; e < hist.size(); ++e) hist[e] += (*h)[e];
  }
  std::vector<double> sums(ss::PlacementSumsLayout{models}.Size(), 0.0);
  for (int s = 0; s < 3; ++s) {
    auto p = ss::PlacementSums(grid, c.scores.middleRows(cuts[s], cuts[s + 1] - cuts[s]),
                               c.labels.segment(cuts[s], cuts[s + 1] - cuts[s]), hist);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    for (std::size_t e = 0; e < sums.size(); ++e) sums[e] += (*p)[e];
  }
  auto out = PooledRocAnalysis(grid, models, hist, sums);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return *out;
}

// Brute-force DeLong in doubles, as pROC writes it: placements by pairs,
// covariances centred at the AUC.
struct Reference {
  std::vector<double> auc;
  Eigen::MatrixXd cov;
};
Reference BruteForce(const Cohort& c) {
  const auto n = static_cast<int>(c.labels.size());
  const auto m = static_cast<int>(c.scores.cols());
  const double n1 = c.labels.sum(), n0 = n - n1;
  Eigen::MatrixXd v = Eigen::MatrixXd::Zero(n, m);
  for (int r = 0; r < m; ++r) {
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) {
        if (c.labels[i] != 1.0 || c.labels[j] != 0.0) continue;
        const double x = c.scores(i, r), y = c.scores(j, r);
        const double psi = y < x ? 1.0 : y == x ? 0.5 : 0.0;
        v(i, r) += psi / n0;
        v(j, r) += psi / n1;
      }
    }
  }
  Reference ref;
  for (int r = 0; r < m; ++r) {
    double s = 0.0;
    for (int i = 0; i < n; ++i) s += c.labels[i] == 1.0 ? v(i, r) : 0.0;
    ref.auc.push_back(s / n1);
  }
  ref.cov = Eigen::MatrixXd::Zero(m, m);
  for (int r = 0; r < m; ++r) {
    for (int q = 0; q < m; ++q) {
      double sx = 0.0, sy = 0.0;
      for (int i = 0; i < n; ++i) {
        const double d = (v(i, r) - ref.auc[r]) * (v(i, q) - ref.auc[q]);
        (c.labels[i] == 1.0 ? sx : sy) += d;
      }
      ref.cov(r, q) = sx / (n1 - 1) / n1 + sy / (n0 - 1) / n0;
    }
  }
  return ref;
}

// Largest difference between two analyses (all statistics and curves).
double MaxDifference(const RocAnalysis& a, const RocAnalysis& b) {
  EXPECT_EQ(a.n_cases, b.n_cases);
  EXPECT_EQ(a.n_controls, b.n_controls);
  EXPECT_EQ(a.models.size(), b.models.size());
  EXPECT_EQ(a.comparisons.size(), b.comparisons.size());
  double worst = (a.covariance - b.covariance).cwiseAbs().maxCoeff();
  worst = std::max(worst, (a.s10 - b.s10).cwiseAbs().maxCoeff());
  worst = std::max(worst, (a.s01 - b.s01).cwiseAbs().maxCoeff());
  for (std::size_t r = 0; r < a.models.size(); ++r) {
    const ModelRoc &x = a.models[r], &y = b.models[r];
    for (const double d :
         {x.auc - y.auc, x.variance - y.variance, x.ci_lower - y.ci_lower, x.ci_upper - y.ci_upper,
          x.youden_j - y.youden_j, x.youden_threshold - y.youden_threshold}) {
      worst = std::max(worst, std::abs(d));
    }
    EXPECT_EQ(x.curve.size(), y.curve.size());
    for (std::size_t q = 0; q < std::min(x.curve.size(), y.curve.size()); ++q) {
      const RocPoint &p = x.curve[q], &o = y.curve[q];
      if (std::isfinite(p.threshold) || std::isfinite(o.threshold)) {
        worst = std::max(worst, std::abs(p.threshold - o.threshold));
      }
      worst = std::max({worst, std::abs(p.tp - o.tp), std::abs(p.fp - o.fp),
                        std::abs(p.sensitivity - o.sensitivity),
                        std::abs(p.specificity - o.specificity)});
    }
  }
  for (std::size_t t = 0; t < a.comparisons.size(); ++t) {
    const DelongTest &x = a.comparisons[t], &y = b.comparisons[t];
    EXPECT_EQ(x.model_a, y.model_a);
    EXPECT_EQ(x.model_b, y.model_b);
    for (const double d :
         {x.auc_difference - y.auc_difference, x.sd - y.sd, x.z - y.z, x.p_value - y.p_value,
          x.ci_lower - y.ci_lower, x.ci_upper - y.ci_upper}) {
      worst = std::max(worst, std::abs(d));
    }
  }
  return worst;
}

TEST(RocTest, FederatedEqualsPooledOnTheGridExactly) {
  // G = 10001 (few ties) and G = 21 (many ties); scores already on the grid.
  for (const std::int64_t g : {std::int64_t{10001}, std::int64_t{21}}) {
    const ss::ScoreGrid grid{ss::ScoreScale::kProbability, g};
    const Cohort c = MakeCohort(300, 7 + static_cast<std::uint64_t>(g), g);
    const RocAnalysis fed = Federated(grid, c);
    auto local = LocalRocAnalysis(c.scores, c.labels);
    ASSERT_TRUE(local.ok()) << local.status().ToString();
    const double diff = MaxDifference(fed, *local);
    EXPECT_LE(diff, 1e-12) << "G = " << g;

    const Reference ref = BruteForce(c);
    double ref_diff = (fed.covariance - ref.cov).cwiseAbs().maxCoeff();
    for (int r = 0; r < 3; ++r) {
      ref_diff = std::max(ref_diff, std::abs(fed.models[r].auc - ref.auc[r]));
    }
    EXPECT_LE(ref_diff, 1e-12) << "G = " << g;
    for (const DelongTest& t : fed.comparisons) {
      const int a = t.model_a, b = t.model_b;
      const double sd = std::sqrt(ref.cov(a, a) + ref.cov(b, b) - 2 * ref.cov(a, b));
      EXPECT_NEAR(t.z, (ref.auc[a] - ref.auc[b]) / sd, 1e-10);
    }
    // A tie between classes in some cell: the bound is positive on the coarse grid.
    if (g == 21) {
      EXPECT_GT(fed.models[0].binning_error_bound, 0.0);
    }
    std::printf(
        "G = %lld: federated vs local max diff %.3g, vs brute force %.3g; AUCs %.6f %.6f %.6f\n",
        static_cast<long long>(g), diff, ref_diff, fed.models[0].auc, fed.models[1].auc,
        fed.models[2].auc);
  }
}

TEST(RocTest, FineGridIsWithin1e4OfUnbinnedAuc) {
  const Cohort raw = MakeCohort(400, 99, 0);  // continuous probabilities
  auto exact = LocalRocAnalysis(raw.scores, raw.labels);
  ASSERT_TRUE(exact.ok());
  const RocAnalysis fine = Federated(ss::ScoreGrid{}, raw);
  // The same models as decision values (logits) on the atan grid.
  Cohort logits = raw;
  for (Eigen::Index i = 0; i < raw.scores.size(); ++i) {
    const double p = raw.scores.data()[i];
    logits.scores.data()[i] = std::log(p / (1.0 - p));
  }
  const RocAnalysis fine_decision =
      Federated(ss::ScoreGrid{ss::ScoreScale::kDecisionValue, ss::kFineGridSize}, logits);
  const RocAnalysis coarse = Federated(ss::ScoreGrid{ss::ScoreScale::kProbability, 101}, raw);
  for (int r = 0; r < 3; ++r) {
    const double d = std::abs(fine.models[r].auc - exact->models[r].auc);
    const double dd = std::abs(fine_decision.models[r].auc - exact->models[r].auc);
    const double dc = std::abs(coarse.models[r].auc - exact->models[r].auc);
    EXPECT_LE(d, 1e-4);
    EXPECT_LE(dd, 1e-4);
    EXPECT_LE(d, fine.models[r].binning_error_bound + 1e-15);
    EXPECT_LE(dd, fine_decision.models[r].binning_error_bound + 1e-15);
    EXPECT_LE(dc, coarse.models[r].binning_error_bound + 1e-15);
    EXPECT_NEAR(fine.models[r].variance, exact->models[r].variance, 1e-6);
    std::printf(
        "model %d: unbinned AUC %.10f; |grid - unbinned| 1e-5 prob %.3g (bound %.3g), "
        "1e-5 atan %.3g (bound %.3g), 1e-2 prob %.3g (bound %.3g)\n",
        r, exact->models[r].auc, d, fine.models[r].binning_error_bound, dd,
        fine_decision.models[r].binning_error_bound, dc, coarse.models[r].binning_error_bound);
  }
}

TEST(RocTest, MetricsAtThresholdAndYoudenMatchDirectCounts) {
  const Cohort c = MakeCohort(120, 5, 51);  // ties
  auto a = LocalRocAnalysis(c.scores, c.labels);
  ASSERT_TRUE(a.ok());
  const RocAnalysis fed = Federated(ss::ScoreGrid{ss::ScoreScale::kProbability, 51}, c);
  for (int r = 0; r < 3; ++r) {
    double best_j = -1.0, best_t = 0.0;
    for (int step = -2; step <= 102; ++step) {
      const double t = step / 100.0;  // on, between, below and above the grid values
      double tp = 0, fp = 0, tn = 0, fn = 0;
      for (Eigen::Index i = 0; i < c.labels.size(); ++i) {
        const bool positive = c.scores(i, r) >= t;
        if (c.labels[i] == 1.0) {
          (positive ? tp : fn) += 1.0;
        } else {
          (positive ? fp : tn) += 1.0;
        }
      }
      for (const RocAnalysis* analysis : {static_cast<const RocAnalysis*>(&*a), &fed}) {
        const BinaryMetrics m = MetricsAtThreshold(analysis->models[r], t);
        ASSERT_EQ(m.tp, tp) << t;
        ASSERT_EQ(m.fp, fp) << t;
        ASSERT_EQ(m.tn, tn) << t;
        ASSERT_EQ(m.fn, fn) << t;
        EXPECT_DOUBLE_EQ(m.accuracy, (tp + tn) / (tp + tn + fp + fn));
        EXPECT_DOUBLE_EQ(m.sensitivity, tp / (tp + fn));
        EXPECT_DOUBLE_EQ(m.specificity, tn / (tn + fp));
        if (tp + fp > 0) {
          EXPECT_DOUBLE_EQ(m.ppv, tp / (tp + fp));
        } else {
          EXPECT_TRUE(std::isnan(m.ppv));
        }
        if (tn + fn > 0) {
          EXPECT_DOUBLE_EQ(m.npv, tn / (tn + fn));
        }
      }
      // Youden over the distinct thresholds (every score value).
      for (Eigen::Index i = 0; i < c.labels.size(); ++i) {
        if (std::abs(c.scores(i, r) - t) > 1e-12) continue;
        const double j = tp / (tp + fn) + tn / (tn + fp) - 1.0;
        if (j > best_j + 1e-12) {
          best_j = j;
          best_t = c.scores(i, r);
        }
        break;
      }
    }
    EXPECT_NEAR(a->models[r].youden_j, best_j, 1e-12);
    EXPECT_EQ(a->models[r].youden_threshold, best_t);
    EXPECT_EQ(fed.models[r].youden_threshold, best_t);
    // Curve ends: all positive, then none.
    EXPECT_EQ(a->models[r].curve.front().sensitivity, 1.0);
    EXPECT_EQ(a->models[r].curve.front().specificity, 0.0);
    EXPECT_EQ(a->models[r].curve.back().sensitivity, 0.0);
    EXPECT_EQ(a->models[r].curve.back().specificity, 1.0);
    EXPECT_TRUE(std::isinf(a->models[r].curve.back().threshold));
  }
}

TEST(RocTest, EdgeCasesAndInconsistentSums) {
  // Two identical models: Z = 0, p = 1 (as pROC).
  Cohort c = MakeCohort(60, 11, 0);
  c.scores.col(1) = c.scores.col(0);
  auto same = LocalRocAnalysis(c.scores, c.labels);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->comparisons[0].sd, 0.0);
  EXPECT_EQ(same->comparisons[0].z, 0.0);
  EXPECT_EQ(same->comparisons[0].p_value, 1.0);
  // A perfect model: AUC 1, CI clipped to 1.
  Eigen::MatrixXd perfect = c.labels;
  auto one = LocalRocAnalysis(perfect, c.labels);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->models[0].auc, 1.0);
  EXPECT_EQ(one->models[0].ci_upper, 1.0);
  // One case only: no variance (NaN), AUC still defined.
  Eigen::VectorXd labels = Eigen::VectorXd::Zero(5);
  labels[2] = 1.0;
  Eigen::MatrixXd s(5, 1);
  s << 0.1, 0.2, 0.3, 0.4, 0.5;
  auto single = LocalRocAnalysis(s, labels);
  ASSERT_TRUE(single.ok());
  EXPECT_DOUBLE_EQ(single->models[0].auc, 0.5);
  EXPECT_TRUE(std::isnan(single->models[0].variance));
  EXPECT_TRUE(std::isnan(single->models[0].ci_lower));
  EXPECT_NE(LocalRocAnalysis(s, Eigen::VectorXd::Zero(5)).status().message().find("both classes"),
            std::string::npos);

  // Round 2 tampered with: the Mann-Whitney check fails.
  const ss::ScoreGrid grid{ss::ScoreScale::kProbability, 11};
  Eigen::MatrixXd g(6, 1);
  g << 0.1, 0.5, 0.5, 0.2, 0.9, 0.7;
  Eigen::VectorXd y(6);
  y << 0, 1, 0, 0, 1, 1;
  auto hist = ss::GridHistograms(grid, g, y);
  ASSERT_TRUE(hist.ok());
  auto sums = ss::PlacementSums(grid, g, y, *hist);
  ASSERT_TRUE(sums.ok());
  auto good = PooledRocAnalysis(grid, 1, *hist, *sums);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_DOUBLE_EQ(good->models[0].auc, 8.5 / 9.0);
  std::vector<double> bad = *sums;
  bad[ss::PlacementSumsLayout{1}.SumCase(0)] += 1.0;
  EXPECT_NE(PooledRocAnalysis(grid, 1, *hist, bad).status().message().find("Mann-Whitney"),
            std::string::npos);
  bad = *sums;
  bad[0] += 1.0;
  EXPECT_NE(PooledRocAnalysis(grid, 1, *hist, bad).status().message().find("counts"),
            std::string::npos);
  EXPECT_NE(PooledRocAnalysis(grid, 2, *hist, *sums).status().message().find("expected"),
            std::string::npos);
}

// pROC on the same scores; one Rscript call. Returns false (and the reason)
// when Rscript or pROC is missing.
struct ProcResult {
  std::vector<double> auc, ci_lower, ci_upper;  // per model
  std::vector<double> z, p;                     // pairs (0,1), (0,2), (1,2)
  std::vector<std::vector<double>> sens, spec;  // per model, ascending thresholds
};
bool RunProc(const Cohort& c, ProcResult* out, std::string* why) {
  const std::string rscript = FindOnPath("Rscript");
  if (rscript.empty()) {
    *why = "Rscript not found on PATH (install r-base-core and r-cran-proc)";
    return false;
  }
  testing::TempDir dir("fedrad_proc");
  {
    std::ofstream f(dir.File("scores.txt"));
    char buf[64];
    for (Eigen::Index i = 0; i < c.labels.size(); ++i) {
      f << c.labels[i];
      for (Eigen::Index r = 0; r < c.scores.cols(); ++r) {
        std::snprintf(buf, sizeof buf, " %.17g", c.scores(i, r));
        f << buf;
      }
      f << "\n";
    }
  }
  const std::string script =
      "d <- commandArgs(TRUE)[1]\n"
      "if (!requireNamespace('pROC', quietly = TRUE)) {\n"
      "  writeLines('no pROC', file.path(d, 'missing.txt')); quit(status = 0)\n"
      "}\n"
      "suppressMessages(library(pROC))\n"
      "v <- as.matrix(read.table(file.path(d, 'scores.txt')))\n"
      "y <- v[, 1]; R <- ncol(v) - 1\n"
      "rocs <- lapply(1:R, function(r) roc(y, v[, r + 1], levels = c(0, 1), direction = '<',\n"
      "                                    quiet = TRUE))\n"
      "out <- c()\n"
      "for (r in 1:R) {\n"
      "  ci <- ci.auc(rocs[[r]], method = 'delong')\n"
      "  out <- c(out, as.numeric(auc(rocs[[r]])), ci[1], ci[3])\n"
      "}\n"
      "for (a in 1:(R - 1)) for (b in (a + 1):R) {\n"
      "  t <- roc.test(rocs[[a]], rocs[[b]], method = 'delong', paired = TRUE)\n"
      "  out <- c(out, t$statistic, t$p.value)\n"
      "}\n"
      "writeLines(sprintf('%.17g', out), file.path(d, 'out.txt'))\n"
      "for (r in 1:R) writeLines(sprintf('%.17g %.17g', rocs[[r]]$sensitivities,\n"
      "  rocs[[r]]$specificities), file.path(d, paste0('curve', r, '.txt')))\n";
  std::ofstream(dir.File("proc.R")) << script;
  const std::string command =
      rscript + " " + dir.File("proc.R") + " " + dir.path() + " > " + dir.File("r.log") + " 2>&1";
  if (std::system(command.c_str()) != 0) {
    std::ifstream log(dir.File("r.log"));
    std::stringstream text;
    text << log.rdbuf();
    ADD_FAILURE() << "Rscript failed:\n" << text.str();
    *why = "Rscript failed";
    return false;
  }
  if (std::ifstream(dir.File("missing.txt")).good()) {
    *why = "R package pROC is not installed (Debian: r-cran-proc)";
    return false;
  }
  const auto m = static_cast<int>(c.scores.cols());
  std::ifstream in(dir.File("out.txt"));
  for (int r = 0; r < m; ++r) {
    double auc = 0, lo = 0, hi = 0;
    in >> auc >> lo >> hi;
    out->auc.push_back(auc);
    out->ci_lower.push_back(lo);
    out->ci_upper.push_back(hi);
  }
  for (int t = 0; t < m * (m - 1) / 2; ++t) {
    double z = 0, p = 0;
    in >> z >> p;
    out->z.push_back(z);
    out->p.push_back(p);
  }
  EXPECT_TRUE(static_cast<bool>(in)) << "could not read pROC output";
  for (int r = 0; r < m; ++r) {
    std::ifstream curve(dir.File("curve" + std::to_string(r + 1) + ".txt"));
    out->sens.emplace_back();
    out->spec.emplace_back();
    double se = 0, sp = 0;
    while (curve >> se >> sp) {
      out->sens.back().push_back(se);
      out->spec.back().push_back(sp);
    }
  }
  return true;
}

// fedrad (federated over 3 sites on the grid, and local unbinned) vs pROC.
void CompareWithProc(const Cohort& c, const ss::ScoreGrid& grid, const char* name) {
  ProcResult proc;
  std::string why;
  if (!RunProc(c, &proc, &why)) GTEST_SKIP() << "pROC comparison skipped: " << why;
  auto local = LocalRocAnalysis(c.scores, c.labels);
  ASSERT_TRUE(local.ok());
  const RocAnalysis fed = Federated(grid, c);
  for (const RocAnalysis* a : {static_cast<const RocAnalysis*>(&*local), &fed}) {
    double auc_diff = 0, ci_diff = 0, z_diff = 0, p_diff = 0, curve_diff = 0;
    for (int r = 0; r < 3; ++r) {
      const ModelRoc& m = a->models[r];
      auc_diff = std::max(auc_diff, std::abs(m.auc - proc.auc[r]));
      ci_diff = std::max({ci_diff, std::abs(m.ci_lower - proc.ci_lower[r]),
                          std::abs(m.ci_upper - proc.ci_upper[r])});
      ASSERT_EQ(m.curve.size(), proc.sens[r].size()) << "model " << r;
      for (std::size_t q = 0; q < m.curve.size(); ++q) {
        curve_diff = std::max({curve_diff, std::abs(m.curve[q].sensitivity - proc.sens[r][q]),
                               std::abs(m.curve[q].specificity - proc.spec[r][q])});
      }
    }
    for (std::size_t t = 0; t < a->comparisons.size(); ++t) {
      z_diff = std::max(z_diff, std::abs(a->comparisons[t].z - proc.z[t]));
      p_diff = std::max(p_diff, std::abs(a->comparisons[t].p_value - proc.p[t]));
    }
    EXPECT_LE(auc_diff, 1e-9);
    EXPECT_LE(ci_diff, 1e-6);
    EXPECT_LE(z_diff, 1e-6);
    EXPECT_LE(p_diff, 1e-6);
    EXPECT_LE(curve_diff, 1e-12);
    std::printf("%s, %s vs pROC: max |diff| AUC %.3g, CI %.3g, Z %.3g, p %.3g, ROC %.3g\n", name,
                a == &fed ? "federated" : "local", auc_diff, ci_diff, z_diff, p_diff, curve_diff);
  }
  std::printf("  pROC: AUC %.6f [%.6f, %.6f], %.6f, %.6f; Z(1,2) %.4f p %.4g\n", proc.auc[0],
              proc.ci_lower[0], proc.ci_upper[0], proc.auc[1], proc.auc[2], proc.z[0], proc.p[0]);
}

TEST(RocTest, AgreesWithProcOnFineGridScores) {
  CompareWithProc(MakeCohort(300, 2026, ss::kFineGridSize), ss::ScoreGrid{}, "fine grid");
}

TEST(RocTest, AgreesWithProcWithTiedScores) {
  // G = 26: scores 0, .04, .., 1, many ties within and between classes.
  CompareWithProc(MakeCohort(250, 31, 26), ss::ScoreGrid{ss::ScoreScale::kProbability, 26},
                  "tied scores");
}

}  // namespace
}  // namespace fedrad::coordinator

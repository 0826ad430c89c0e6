// Federated evaluation (coordinator/evaluation.hpp): three training sites and
// two external sites through InProcessAggregator against direct pooled
// computations on the same rows: the grid AUC, DeLong CI, paired Z and p
// (LocalRocAnalysis of the probabilities rounded to the grid, to 1e-12),
// ROC points and threshold counts (exact), the Youden threshold on the
// pooled out-of-fold probabilities, the unbinned AUC within the reported
// bound, Brier score and calibration intercept/slope (a pooled Newton fit
// here, and R's glm when Rscript is installed).
#include "fedrad/coordinator/evaluation.hpp"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/platt.hpp"
#include "fedrad/coordinator/roc.hpp"
#include "fedrad/site_agent/stats/delong_site.hpp"
#include "fedrad/site_agent/stats/providers.hpp"
#include "find_on_path.hpp"
#include "study_test_data.hpp"
#include "temp_dir.hpp"

namespace fedrad::coordinator {
namespace {

namespace ss = site_agent::stats;
using testing::FindOnPath;

constexpr int kFolds = 3;
constexpr int kFeatures = 9;

const std::map<std::string, std::vector<int>>& ModelColumns() {
  static const std::map<std::string, std::vector<int>> columns = {
      {"clinical", {0, 1, 2}},
      {"radiomics", {3, 4, 5, 6, 7, 8}},
      {"combined", {0, 1, 2, 3, 4, 5, 6, 7, 8}}};
  return columns;
}

// A probability scorer on a model's dataset columns (indices within the
// dataset); `variant` perturbs the weights (one per outer fold).
ss::LinearScorer MakeScorer(const std::string& dataset, int variant) {
  const std::vector<int>& original = ModelColumns().at(dataset);
  ss::LinearScorer s;
  const auto k = static_cast<Eigen::Index>(original.size());
  s.center.resize(k);
  s.scale.resize(k);
  s.w.resize(k);
  for (Eigen::Index c = 0; c < k; ++c) {
    const int j = original[static_cast<std::size_t>(c)];
    s.columns.push_back(static_cast<int>(c));
    s.center[c] = 2.0 * j - 5.0 + 0.1 * variant;
    s.scale[c] = 0.5 + 0.3 * j;
    const double truth = j % 3 == 0 ? (j % 2 == 0 ? 1.0 : -0.7) / (1.0 + 0.2 * j) : 0.0;
    s.w[c] = truth + 0.15 * std::sin(1.7 * j + variant) + 0.05 * variant;
  }
  if (k > 0) s.scale[k - 1] = dataset == "radiomics" ? 0.0 : s.scale[k - 1];  // a constant column
  s.intercept = -0.3 + 0.07 * variant;
  return s;
}

std::vector<EvaluationModel> Models() {
  std::vector<EvaluationModel> out;
  for (const std::string name : {"clinical", "radiomics", "combined"}) {
    EvaluationModel m;
    m.name = name;
    m.dataset = name;
    m.final_model = MakeScorer(name, 7);
    for (int f = 0; f < kFolds; ++f) m.fold_models.push_back(MakeScorer(name, f));
    out.push_back(std::move(m));
  }
  // An intercept-only model: constant probability (AUC 0.5, no calibration slope).
  EvaluationModel null_model;
  null_model.name = "intercept_only";
  null_model.dataset = "clinical";
  null_model.final_model.intercept = 0.2;
  for (int f = 0; f < kFolds; ++f) {
    ss::LinearScorer s;
    s.intercept = 0.1 * f;
    null_model.fold_models.push_back(s);
  }
  out.push_back(std::move(null_model));
  return out;
}

// Raw score and probability of one row of the pooled table, computed here
// independently of the providers.
double Score(const ss::LocalTable& dataset_table, Eigen::Index row, const ss::LinearScorer& s) {
  double v = s.intercept;
  for (std::size_t c = 0; c < s.columns.size(); ++c) {
    const auto cc = static_cast<Eigen::Index>(c);
    const double mu = s.center.size() > 0 ? s.center[cc] : 0.0;
    const double sd = s.scale.size() > 0 ? s.scale[cc] : 1.0;
    const double z = sd > 0.0 ? (dataset_table.x(row, s.columns[c]) - mu) / sd : 0.0;
    v += s.w[cc] * z;
  }
  return v;
}
double Sigma(double s) {
  const double f = -s;
  const double e = std::exp(-std::abs(f));
  return f >= 0.0 ? e / (1.0 + e) : 1.0 / (1.0 + e);
}

// The pooled cohort: raw scores, probabilities (n × R) and labels.
struct Pooled {
  Eigen::MatrixXd s, p;
  Eigen::VectorXd y;
};

// rows: the pooled table's rows in cohort order; scorer_of(row, model).
template <typename ScorerOf>
Pooled Pool(const ss::Datasets& pooled, const std::vector<EvaluationModel>& models,
            const std::vector<Eigen::Index>& rows, ScorerOf scorer_of) {
  Pooled out;
  const auto n = static_cast<Eigen::Index>(rows.size());
  const auto r = static_cast<Eigen::Index>(models.size());
  out.s.resize(n, r);
  out.p.resize(n, r);
  out.y.resize(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const Eigen::Index row = rows[static_cast<std::size_t>(i)];
    out.y[i] = pooled.begin()->second.y[row];
    for (Eigen::Index m = 0; m < r; ++m) {
      const EvaluationModel& model = models[static_cast<std::size_t>(m)];
      out.s(i, m) = Score(pooled.at(model.dataset), row, scorer_of(row, model));
      out.p(i, m) = Sigma(out.s(i, m));
    }
  }
  return out;
}

Eigen::MatrixXd OnGrid(const Eigen::MatrixXd& p, std::int64_t grid_size) {
  const ss::ScoreGrid grid{ss::ScoreScale::kProbability, grid_size};
  Eigen::MatrixXd q(p.rows(), p.cols());
  for (Eigen::Index i = 0; i < p.rows(); ++i) {
    for (Eigen::Index m = 0; m < p.cols(); ++m) {
      q(i, m) = ss::GridScore(grid, ss::GridIndex(grid, p(i, m)).value());
    }
  }
  return q;
}

// Maximum likelihood logit P(y = 1) = α + β s by damped Newton on the pooled
// rows (the negative log-likelihood halved until it decreases).
std::pair<double, double> PooledCalibration(const Eigen::VectorXd& s, const Eigen::VectorXd& y) {
  const auto nll = [&](double a, double b) {
    double out = 0.0;
    for (Eigen::Index i = 0; i < s.size(); ++i) {
      const double eta = a + b * s[i];
      out += (eta > 0 ? eta + std::log1p(std::exp(-eta)) : std::log1p(std::exp(eta))) - y[i] * eta;
    }
    return out;
  };
  double alpha = 0.0, beta = 1.0;
  for (int it = 0; it < 200; ++it) {
    double ga = 0, gb = 0, haa = 0, hab = 0, hbb = 0;
    for (Eigen::Index i = 0; i < s.size(); ++i) {
      const double mu = Sigma(alpha + beta * s[i]);
      ga += mu - y[i];
      gb += (mu - y[i]) * s[i];
      const double w = mu * (1.0 - mu);
      haa += w;
      hab += w * s[i];
      hbb += w * s[i] * s[i];
    }
    const double det = haa * hbb - hab * hab;
    const double da = -(hbb * ga - hab * gb) / det;
    const double db = -(haa * gb - hab * ga) / det;
    if (std::max(std::abs(da), std::abs(db)) < 1e-15) break;
    const double f0 = nll(alpha, beta);
    double t = 1.0;
    while (t > 1e-12 && nll(alpha + t * da, beta + t * db) > f0) t *= 0.5;
    alpha += t * da;
    beta += t * db;
  }
  return {alpha, beta};
}

struct Fixture {
  ss::LocalTable train_all, external_all;
  testing::StudySites train, external, external_a, external_b;
  ss::Datasets train_pooled, external_pooled;

  Fixture() {
    train_all = testing::MakeLogisticData(360, kFeatures, 11);
    testing::AssignNestedFolds(train_all, kFolds, 5);
    external_all = testing::MakeLogisticData(240, kFeatures, 12);
    train = testing::SplitStudy(train_all, ModelColumns(), testing::Cuts(360, 3));
    external = testing::SplitStudy(external_all, ModelColumns(), {0, 100, 240});
    external_a.sites = {external.sites[0]};
    external_b.sites = {external.sites[1]};
    for (const auto& [name, columns] : ModelColumns()) {
      train_pooled.emplace(name, testing::Columns(train_all, columns));
      external_pooled.emplace(name, testing::Columns(external_all, columns));
    }
  }
};

// Compares one cohort's federated metrics and comparisons with the pooled
// references.
void ExpectCohort(const EvaluationResult& result, const std::string& kind, const std::string& name,
                  const std::vector<EvaluationModel>& models, const Pooled& pooled,
                  std::int64_t grid_size, const std::vector<double>& thresholds) {
  SCOPED_TRACE(kind + " " + name);
  const RocAnalysis grid = LocalRocAnalysis(OnGrid(pooled.p, grid_size), pooled.y).value();
  const RocAnalysis raw = LocalRocAnalysis(pooled.p, pooled.y).value();
  int seen = 0;
  for (const CohortMetrics& m : result.metrics) {
    if (m.cohort.kind != kind || m.cohort.name != name) continue;
    const auto r = static_cast<std::size_t>(seen++);
    SCOPED_TRACE(m.model);
    ASSERT_LT(r, models.size());
    EXPECT_EQ(m.model, models[r].name);
    const ModelRoc& ref = grid.models[r];
    EXPECT_EQ(m.mode, "pooled_grid");
    EXPECT_EQ(m.grid_points, grid_size);
    EXPECT_EQ(m.cases, static_cast<std::int64_t>(grid.n_cases));
    EXPECT_EQ(m.controls, static_cast<std::int64_t>(grid.n_controls));
    EXPECT_NEAR(m.auc, ref.auc, 1e-12);
    EXPECT_NEAR(m.auc_se, std::sqrt(ref.variance), 1e-12);
    EXPECT_NEAR(m.auc_ci_low, ref.ci_lower, 1e-12);
    EXPECT_NEAR(m.auc_ci_high, ref.ci_upper, 1e-12);
    // The unbinned AUC within the reported bound.
    EXPECT_LE(std::abs(m.auc - raw.models[r].auc), m.auc_error_bound + 1e-15);
    // ROC points: the grid curve, reversed, exactly.
    ASSERT_EQ(m.roc.size(), ref.curve.size());
    for (std::size_t q = 0; q < ref.curve.size(); ++q) {
      const RocPoint& want = ref.curve[ref.curve.size() - 1 - q];
      EXPECT_EQ(m.roc[q].threshold, want.threshold);
      EXPECT_EQ(m.roc[q].tpr, want.tp / grid.n_cases);
      EXPECT_EQ(m.roc[q].fpr, want.fp / grid.n_controls);
    }
    EXPECT_EQ(m.roc.front().tpr, 0.0);
    EXPECT_EQ(m.roc.back().fpr, 1.0);
    // Counts at the threshold on the unrounded probabilities.
    const double t = thresholds[r];
    EXPECT_EQ(m.threshold, t);
    std::int64_t tp = 0, fp = 0, tn = 0, fn = 0;
    double brier = 0.0;
    for (Eigen::Index i = 0; i < pooled.y.size(); ++i) {
      const bool positive = pooled.p(i, static_cast<Eigen::Index>(r)) >= t;
      const bool is_case = pooled.y[i] == 1.0;
      (positive ? (is_case ? tp : fp) : (is_case ? fn : tn)) += 1;
      const double e = pooled.p(i, static_cast<Eigen::Index>(r)) - pooled.y[i];
      brier += e * e;
    }
    EXPECT_EQ(m.tp, tp);
    EXPECT_EQ(m.fp, fp);
    EXPECT_EQ(m.tn, tn);
    EXPECT_EQ(m.fn, fn);
    EXPECT_DOUBLE_EQ(m.sensitivity, static_cast<double>(tp) / grid.n_cases);
    EXPECT_DOUBLE_EQ(m.specificity, static_cast<double>(tn) / grid.n_controls);
    EXPECT_DOUBLE_EQ(m.accuracy, static_cast<double>(tp + tn) / pooled.y.size());
    if (tp + fp > 0) EXPECT_DOUBLE_EQ(*m.ppv, static_cast<double>(tp) / (tp + fp));
    if (tn + fn > 0) EXPECT_DOUBLE_EQ(*m.npv, static_cast<double>(tn) / (tn + fn));
    if (kind == "cv") {
      EXPECT_FALSE(m.brier.has_value());
    } else {
      ASSERT_TRUE(m.brier.has_value());
      EXPECT_NEAR(*m.brier, brier / pooled.y.size(), 1e-14);
      std::int64_t binned = 0;
      for (const CalibrationBin& b : m.calibration) binned += b.count;
      EXPECT_EQ(binned, pooled.y.size());
      if (models[r].name == "intercept_only") {
        EXPECT_FALSE(m.calibration_slope.has_value());
      } else {
        const auto [alpha, beta] =
            PooledCalibration(pooled.s.col(static_cast<Eigen::Index>(r)), pooled.y);
        ASSERT_TRUE(m.calibration_slope.has_value());
        EXPECT_NEAR(*m.calibration_intercept, alpha, 1e-8);
        EXPECT_NEAR(*m.calibration_slope, beta, 1e-8);
      }
    }
  }
  EXPECT_EQ(static_cast<std::size_t>(seen), models.size());
  // Paired DeLong tests of every pair.
  std::size_t pair = 0;
  for (const DelongComparison& c : result.comparisons) {
    if (c.cohort.kind != kind || c.cohort.name != name) continue;
    ASSERT_LT(pair, grid.comparisons.size());
    const DelongTest& ref = grid.comparisons[pair++];
    SCOPED_TRACE(c.model_a + " vs " + c.model_b);
    EXPECT_EQ(c.model_a, models[static_cast<std::size_t>(ref.model_a)].name);
    EXPECT_EQ(c.model_b, models[static_cast<std::size_t>(ref.model_b)].name);
    EXPECT_NEAR(c.z, ref.z, 1e-12 * std::max(1.0, std::abs(ref.z)));
    EXPECT_NEAR(c.p_value, ref.p_value, 1e-12);
    EXPECT_NEAR(c.auc_a - c.auc_b, ref.auc_difference, 1e-12);
  }
  EXPECT_EQ(pair, models.size() * (models.size() - 1) / 2);
}

struct EvalRun {
  EvaluationResult result;
  std::int64_t train_rounds = 0;
};

EvalRun Evaluate(Fixture& f, const std::vector<EvaluationModel>& models,
                 const EvaluationOptions& options) {
  auto train = InProcessAggregator::CreateMulti(f.train.pointers()).value();
  auto site_a = InProcessAggregator::CreateMulti(f.external_a.pointers()).value();
  auto site_b = InProcessAggregator::CreateMulti(f.external_b.pointers()).value();
  auto pooled = InProcessAggregator::CreateMulti(f.external.pointers()).value();
  EvaluationCohorts cohorts;
  cohorts.training = &train;
  cohorts.external_sites = {{"site_a", &site_a}, {"site_b", &site_b}};
  cohorts.external_pooled = &pooled;
  auto result = EvaluateModels(models, kFolds, cohorts, options);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  EvalRun run;
  if (result.ok()) run.result = std::move(result).value();
  run.train_rounds = train.rounds();
  EXPECT_EQ(run.result.rounds,
            train.rounds() + site_a.rounds() + site_b.rounds() + pooled.rounds());
  return run;
}

void ExpectEveryCohort(Fixture& f, const std::vector<EvaluationModel>& models,
                       const EvaluationResult& result, std::int64_t grid_size,
                       const std::vector<double>& thresholds) {
  // CV: row i of the pooled training table is scored by its outer fold's model.
  std::vector<Eigen::Index> rows;
  for (int fold = 0; fold < kFolds; ++fold) {
    for (Eigen::Index i = 0; i < f.train_all.y.size(); ++i) {
      if (f.train_all.fold[static_cast<std::size_t>(i)] == fold) rows.push_back(i);
    }
  }
  const Pooled cv = Pool(f.train_pooled, models, rows, [&](Eigen::Index row, const auto& m) {
    return m.fold_models[static_cast<std::size_t>(f.train_all.fold[static_cast<std::size_t>(row)])];
  });
  ExpectCohort(result, "cv", "cv", models, cv, grid_size, thresholds);
  auto final_model = [](Eigen::Index, const EvaluationModel& m) { return m.final_model; };
  std::vector<Eigen::Index> all, a, b;
  for (Eigen::Index i = 0; i < f.external_all.y.size(); ++i) {
    all.push_back(i);
    (i < 100 ? a : b).push_back(i);
  }
  ExpectCohort(result, "external_site", "site_a", models,
               Pool(f.external_pooled, models, a, final_model), grid_size, thresholds);
  ExpectCohort(result, "external_site", "site_b", models,
               Pool(f.external_pooled, models, b, final_model), grid_size, thresholds);
  ExpectCohort(result, "external_pooled", "external", models,
               Pool(f.external_pooled, models, all, final_model), grid_size, thresholds);
}

TEST(EvaluationTest, FederatedEqualsPooledOnTheFineGridWithYoudenThresholds) {
  Fixture f;
  const std::vector<EvaluationModel> models = Models();
  EvaluationOptions options;  // fine grid, Youden on the out-of-fold probabilities
  const EvalRun run = Evaluate(f, models, options);
  const EvaluationResult& result = run.result;
  EXPECT_EQ(run.train_rounds, 2);
  EXPECT_EQ(result.grid_size, ss::kFineGridSize);
  EXPECT_DOUBLE_EQ(result.grid_resolution, 1e-5);
  ASSERT_EQ(result.metrics.size(), 4 * models.size());
  ASSERT_EQ(result.comparisons.size(), 4 * 6u);

  // Youden thresholds = a direct computation on the pooled out-of-fold
  // probabilities rounded to the grid.
  std::vector<Eigen::Index> rows;
  for (int fold = 0; fold < kFolds; ++fold) {
    for (Eigen::Index i = 0; i < f.train_all.y.size(); ++i) {
      if (f.train_all.fold[static_cast<std::size_t>(i)] == fold) rows.push_back(i);
    }
  }
  const Pooled cv = Pool(f.train_pooled, models, rows, [&](Eigen::Index row, const auto& m) {
    return m.fold_models[static_cast<std::size_t>(f.train_all.fold[static_cast<std::size_t>(row)])];
  });
  const Eigen::MatrixXd q = OnGrid(cv.p, ss::kFineGridSize);
  std::vector<double> thresholds;
  ASSERT_EQ(result.thresholds.size(), models.size());
  for (std::size_t r = 0; r < models.size(); ++r) {
    SCOPED_TRACE(models[r].name);
    // Brute force over every observed grid value: max J, lowest threshold on ties.
    double best_j = -1.0, best_t = 0.0;
    std::vector<double> values(q.col(static_cast<Eigen::Index>(r)).data(),
                               q.col(static_cast<Eigen::Index>(r)).data() + q.rows());
    std::sort(values.begin(), values.end());
    for (double t : values) {
      double tp = 0, fp = 0, n1 = 0, n0 = 0;
      for (Eigen::Index i = 0; i < q.rows(); ++i) {
        const bool pos = q(i, static_cast<Eigen::Index>(r)) >= t;
        if (cv.y[i] == 1.0) {
          n1 += 1;
          tp += pos;
        } else {
          n0 += 1;
          fp += pos;
        }
      }
      const double j = tp / n1 + (n0 - fp) / n0 - 1.0;
      if (j > best_j) {
        best_j = j;
        best_t = t;
      }
    }
    EXPECT_EQ(result.thresholds[r].rule, "youden_oof");
    EXPECT_EQ(result.thresholds[r].threshold, best_t);
    EXPECT_NEAR(result.thresholds[r].youden_j, best_j, 1e-12);
    thresholds.push_back(result.thresholds[r].threshold);
  }
  ExpectEveryCohort(f, models, result, ss::kFineGridSize, thresholds);
  // The fine grid's bound on the unbinned AUC.
  for (const CohortMetrics& m : result.metrics) {
    if (m.model != "intercept_only") EXPECT_LE(m.auc_error_bound, 1e-4) << m.model;
  }
  // The intercept-only model: AUC 0.5, no calibration slope (noted).
  bool noted = false;
  for (const auto& note : result.notes) noted |= note.find("intercept_only") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(EvaluationTest, FederatedEqualsPooledOnACoarseGridWithAFixedThreshold) {
  Fixture f;
  const std::vector<EvaluationModel> models = Models();
  EvaluationOptions options;
  options.grid_size = 101;  // ties in every cell: the bound matters
  options.fixed_threshold = 0.4;
  options.calibration_bins = 5;
  const EvalRun run = Evaluate(f, models, options);
  for (const ModelThreshold& t : run.result.thresholds) {
    EXPECT_EQ(t.rule, "probability");
    EXPECT_EQ(t.threshold, 0.4);
  }
  ExpectEveryCohort(f, models, run.result, 101, std::vector<double>(models.size(), 0.4));
  double largest_bound = 0.0;
  for (const CohortMetrics& m : run.result.metrics) {
    largest_bound = std::max(largest_bound, m.auc_error_bound);
    EXPECT_LE(m.calibration.size(), 5u);
  }
  EXPECT_GT(largest_bound, 1e-4);  // coarse: the bound is no longer negligible
}

TEST(EvaluationTest, CalibrationAgreesWithRGlm) {
  const std::string rscript = FindOnPath("Rscript");
  if (rscript.empty()) GTEST_SKIP() << "Rscript not found on PATH (install r-base-core)";
  Fixture f;
  const std::vector<EvaluationModel> models = Models();
  EvaluationOptions options;
  const EvalRun run = Evaluate(f, models, options);
  std::vector<Eigen::Index> all;
  for (Eigen::Index i = 0; i < f.external_all.y.size(); ++i) all.push_back(i);
  const Pooled ext = Pool(f.external_pooled, models, all,
                          [](Eigen::Index, const EvaluationModel& m) { return m.final_model; });
  testing::TempDir dir("fedrad_glm");
  {
    std::ofstream out(dir.File("data.txt"));
    char buf[64];
    for (Eigen::Index i = 0; i < ext.y.size(); ++i) {
      out << ext.y[i];
      for (Eigen::Index m = 0; m < 3; ++m) {
        std::snprintf(buf, sizeof buf, " %.17g", ext.p(i, m));
        out << buf;
      }
      out << "\n";
    }
  }
  std::ofstream(dir.File("glm.R"))
      << "d <- commandArgs(TRUE)[1]\n"
         "v <- as.matrix(read.table(file.path(d, 'data.txt')))\n"
         "out <- c()\n"
         "for (m in 1:3) {\n"
         "  fit <- glm(v[, 1] ~ qlogis(v[, m + 1]), family = binomial,\n"
         "             control = glm.control(epsilon = 1e-14, maxit = 100))\n"
         "  out <- c(out, coef(fit))\n"
         "}\n"
         "writeLines(sprintf('%.17g', out), file.path(d, 'out.txt'))\n";
  const std::string command =
      rscript + " " + dir.File("glm.R") + " " + dir.path() + " > " + dir.File("r.log") + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << "Rscript failed, see " << dir.File("r.log");
  std::ifstream in(dir.File("out.txt"));
  for (std::size_t r = 0; r < 3; ++r) {
    double alpha = 0, beta = 0;
    in >> alpha >> beta;
    SCOPED_TRACE(models[r].name);
    bool found = false;
    for (const CohortMetrics& m : run.result.metrics) {
      if (m.cohort.kind != "external_pooled" || m.model != models[r].name) continue;
      found = true;
      ASSERT_TRUE(m.calibration_slope.has_value());
      // qlogis(p) differs from s by rounding only.
      EXPECT_NEAR(*m.calibration_intercept, alpha, 1e-7);
      EXPECT_NEAR(*m.calibration_slope, beta, 1e-7);
    }
    EXPECT_TRUE(found);
  }
}

TEST(EvaluationTest, ProbabilityScorerFoldsPlattIntoTheScorer) {
  FittedModel model;
  model.selected = {0, 2};
  model.svm.columns = {0, 2};
  model.svm.w = Eigen::Vector2d(0.8, -1.1);
  model.svm.intercept = 0.3;
  model.svm_standardization.mean = Eigen::Vector2d(1.0, -2.0);
  model.svm_standardization.sd = Eigen::Vector2d(2.0, 0.5);
  model.has_platt = true;
  model.platt.a = -1.3;
  model.platt.b = 0.2;
  const ss::LinearScorer s = ProbabilityScorer(model);
  ss::LocalTable t;
  t.x.resize(1, 3);
  t.x << 0.7, 5.0, -1.4;
  const double v = 0.8 * (0.7 - 1.0) / 2.0 - 1.1 * (-1.4 + 2.0) / 0.5 + 0.3;
  EXPECT_NEAR(Sigma(Score(t, 0, s)), PlattProbability(model.platt, v), 1e-15);
  model.has_platt = false;
  EXPECT_NEAR(Score(t, 0, ProbabilityScorer(model)), v, 1e-15);
}

TEST(EvaluationTest, ModelsFromAStudyRunAndReadableErrors) {
  StudyPlan plan;
  plan.models = {{"clinical", "clinical_ds", 3}};
  StudyRun run;
  run.models.resize(1);
  run.models[0].name = "clinical";
  run.models[0].fold_models.resize(2);
  auto models = EvaluationModelsOf(plan, run);
  ASSERT_TRUE(models.ok());
  EXPECT_EQ((*models)[0].dataset, "clinical_ds");
  EXPECT_EQ((*models)[0].fold_models.size(), 2u);
  run.models[0].name = "other";
  EXPECT_FALSE(EvaluationModelsOf(plan, run).ok());

  Fixture f;
  auto train = InProcessAggregator::CreateMulti(f.train.pointers()).value();
  EvaluationCohorts cohorts;
  cohorts.training = &train;
  auto wrong_folds = EvaluateModels(Models(), 4, cohorts, EvaluationOptions{});
  ASSERT_FALSE(wrong_folds.ok());
  EXPECT_NE(wrong_folds.status().message().find("fold models, expected 4"), std::string::npos)
      << wrong_folds.status().message();
  EvaluationCohorts no_training;
  auto no_threshold = EvaluateModels(Models(), kFolds, no_training, EvaluationOptions{});
  ASSERT_FALSE(no_threshold.ok());
  EXPECT_NE(no_threshold.status().message().find("fixed probability threshold"), std::string::npos);
}

TEST(EvaluationProvidersTest, ModelsOnDifferentRowsAreRefused) {
  Fixture f;
  ss::Datasets site = f.train.sites[0];
  site.at("radiomics").y[0] = 1.0 - site.at("radiomics").y[0];  // a different row
  ss::GridHistogramRequest request;
  request.rows = {ss::RowSubset{}};
  request.models = {{"clinical", {MakeScorer("clinical", 0)}},
                    {"radiomics", {MakeScorer("radiomics", 0)}}};
  request.dataset = "clinical";
  auto result = ss::Compute(site, request);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("model 1: the model's dataset does not hold the same "
                                           "rows"),
            std::string::npos)
      << result.status().message();
  request.models[1].dataset = "missing";
  result = ss::Compute(site, request);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), common::StatusCode::kNotFound);
}

}  // namespace
}  // namespace fedrad::coordinator

// Missing values imputed with a pooled statistic (data_dictionary "missing":
// "impute"; docs/methods.md §11): the site keeps NaN cells, the coordinator
// computes the imputation values from the training rows of every fit, and
// every request carries them (providers.hpp "Missing values").
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/evaluation.hpp"
#include "fedrad/coordinator/pipeline.hpp"
#include "fedrad/coordinator/study_runner.hpp"
#include "fedrad/protocols/study_spec.hpp"
#include "fedrad/site_agent/stats/feature_table.hpp"
#include "fedrad/site_agent/stats/providers.hpp"
#include "fedrad/site_agent/stats/wire.hpp"
#include "fedrad/site_agent/study_data.hpp"
#include "temp_dir.hpp"

namespace fedrad::coordinator {
namespace {

namespace ss = site_agent::stats;
using nlohmann::json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Levels of "stage": I (reference), II, III.
protocols::StudySpec ImputeSpec() {
  const json document = json::parse(R"({
    "study_id": "impute-1",
    "models": [{"name": "clinical", "columns": ["clin_*"]},
               {"name": "combined", "columns": ["*"]}],
    "cv": {"folds": 3}, "lasso": {"nlambda": 12}, "svm": {"c_grid": [0.1, 1.0]},
    "data_dictionary": {
      "label_column": "y",
      "missing": "impute",
      "variables": [
        {"name": "nodal", "type": "binary"},
        {"name": "age", "type": "number", "range": [18, 100]},
        {"name": "ca19_9", "type": "number", "range": [0, 100000]},
        {"name": "stage", "type": "categorical", "levels": ["I", "II", "III"]}
      ],
      "derived": [{"name": "ca_high", "variable": "ca19_9", "op": ">", "threshold": 200}],
      "features": ["nodal", "age", "ca19_9", "stage", "ca_high"]
    }
  })");
  auto spec = protocols::ParseStudySpec(document, "spec.json", "");
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  protocols::StudySpec out = spec.ok() ? *spec : protocols::StudySpec{};
  out.feature_dictionary = protocols::ClinicalFeatureColumns(out);
  out.feature_dictionary.push_back("rad_a");  // radiomics-like: mean
  out.feature_dictionary.push_back("rad_b");
  return out;
}

// Columns: clin_nodal clin_age clin_ca19_9 clin_stage_II clin_stage_III
// clin_ca_high rad_a rad_b; about 12% of each variable missing (a missing
// stage leaves both dummies missing, a missing ca19_9 its derived column).
ss::FeatureTable SiteTable(int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  ss::FeatureTable t;
  t.path = "site" + std::to_string(seed) + ".csv";
  t.columns = ImputeSpec().feature_dictionary;
  t.x.resize(n, 8);
  t.y.resize(n);
  for (int i = 0; i < n; ++i) {
    t.ids.push_back("c" + std::to_string(seed) + "_" + std::to_string(i));
    const double nodal = uniform(rng) < 0.4 ? 1.0 : 0.0;
    const double age = 60.0 + 10.0 * normal(rng);
    const double ca = std::exp(4.5 + normal(rng));
    const double u = uniform(rng);
    const int stage = u < 0.3 ? 0 : (u < 0.75 ? 1 : 2);
    const double ra = normal(rng);
    const double rb = 2.0 + normal(rng);
    const double eta = -0.5 + 1.2 * nodal + 0.04 * (age - 60.0) + 0.8 * (stage == 2) + 0.9 * ra;
    t.y[i] = uniform(rng) < 1.0 / (1.0 + std::exp(-eta)) ? 1.0 : 0.0;
    const auto missing = [&] { return uniform(rng) < 0.12; };
    const bool ca_missing = missing();
    const bool stage_missing = missing();
    t.x.row(i) << (missing() ? kNaN : nodal), (missing() ? kNaN : age), (ca_missing ? kNaN : ca),
        (stage_missing ? kNaN : (stage == 1 ? 1.0 : 0.0)),
        (stage_missing ? kNaN : (stage == 2 ? 1.0 : 0.0)),
        (ca_missing ? kNaN : (ca > 200.0 ? 1.0 : 0.0)), (missing() ? kNaN : ra),
        (missing() ? kNaN : rb);
  }
  return t;
}

struct Consortium {
  protocols::StudySpec spec = ImputeSpec();
  std::vector<ss::Datasets> sites;
  ss::Datasets pooled;  // every site's rows, fold and inner fold ids kept
  ModelColumns columns;

  Consortium() {
    const int sizes[] = {60, 75, 50};
    for (int s = 0; s < 3; ++s) {
      auto datasets =
          ss::BuildDatasets(SiteTable(sizes[s], 11 + static_cast<std::uint64_t>(s)), spec);
      EXPECT_TRUE(datasets.ok()) << datasets.status().ToString();
      sites.push_back(std::move(datasets).value());
    }
    for (const auto& [name, first] : sites.front()) {
      ss::LocalTable all;
      Eigen::Index n = 0;
      for (const auto& site : sites) n += site.at(name).x.rows();
      all.x.resize(n, first.x.cols());
      all.y.resize(n);
      all.inner_fold.resize(first.inner_fold.size());
      all.name = name;
      all.columns = first.columns;
      Eigen::Index at = 0;
      for (const auto& site : sites) {
        const ss::LocalTable& t = site.at(name);
        all.x.middleRows(at, t.x.rows()) = t.x;
        all.y.segment(at, t.y.size()) = t.y;
        all.fold.insert(all.fold.end(), t.fold.begin(), t.fold.end());
        for (std::size_t f = 0; f < t.inner_fold.size(); ++f) {
          all.inner_fold[f].insert(all.inner_fold[f].end(), t.inner_fold[f].begin(),
                                   t.inner_fold[f].end());
        }
        at += t.x.rows();
      }
      pooled.emplace(name, std::move(all));
      columns[name] = first.columns;
    }
  }
};

StudyRun RunOn(const std::vector<const ss::Datasets*>& sites, const StudyPlan& plan) {
  auto aggregator = InProcessAggregator::CreateMulti(sites);
  EXPECT_TRUE(aggregator.ok()) << aggregator.status().ToString();
  auto run = RunStudy(*aggregator, plan);
  EXPECT_TRUE(run.ok()) << run.status().ToString();
  return run.ok() ? *run : StudyRun{};
}

double MaxDiff(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  EXPECT_EQ(a.size(), b.size());
  if (a.size() != b.size()) return 1e300;
  return a.size() == 0 ? 0.0 : (a - b).cwiseAbs().maxCoeff();
}

TEST(ImputationTest, StudyTableKeepsMissingCellsWithImpute) {
  testing::TempDir dir("fedrad_impute");
  protocols::StudySpec spec = ImputeSpec();
  spec.feature_dictionary.clear();
  site_agent::StudyDataSources sources;
  sources.clinical = dir.WriteText("clinical.csv",
                                   "case_id,y,nodal,age,ca19_9,stage\n"
                                   "c1,1,1,61,250.5,III\n"
                                   "c2,0,,45,NA,II\n"
                                   "c3,0,0,,12,\n");
  auto table = site_agent::BuildStudyTableFrom(sources, spec, nullptr, nullptr);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  ASSERT_EQ(table->x.rows(), 3);
  // clin_nodal clin_age clin_ca19_9 clin_stage_II clin_stage_III clin_ca_high
  EXPECT_TRUE(std::isnan(table->x(1, 0)));
  EXPECT_TRUE(std::isnan(table->x(1, 2)));
  EXPECT_TRUE(std::isnan(table->x(1, 5)));  // derived from a missing value
  EXPECT_EQ(table->x(1, 3), 1.0);
  EXPECT_TRUE(std::isnan(table->x(2, 1)));
  EXPECT_TRUE(std::isnan(table->x(2, 3)));  // a missing level: every dummy
  EXPECT_TRUE(std::isnan(table->x(2, 4)));
  EXPECT_EQ(table->x(2, 5), 0.0);
  EXPECT_EQ(table->x(0, 4), 1.0);
  // A missing label is never imputed.
  sources.clinical = dir.WriteText("bad.csv", "case_id,y,nodal,age,ca19_9,stage\nc1,,1,61,3,I\n");
  auto bad = site_agent::BuildStudyTableFrom(sources, spec, nullptr, nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("never imputes a label"), std::string::npos)
      << bad.status().message();
}

TEST(ImputationTest, RequestsWithoutImputationValuesNameTheDatasetAndColumn) {
  Consortium c;
  ss::MomentsRequest moments;
  moments.dataset = "combined";
  auto result = ss::Compute(c.sites[0], moments);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), common::StatusCode::kFailedPrecondition);
  EXPECT_NE(result.status().message().find("dataset 'combined'"), std::string::npos)
      << result.status().message();
  EXPECT_NE(result.status().message().find("column '"), std::string::npos)
      << result.status().message();
  ss::LogisticRequest logistic;
  logistic.dataset = "clinical";
  logistic.center = Eigen::VectorXd::Zero(6);
  logistic.scale = Eigen::VectorXd::Ones(6);
  logistic.beta = Eigen::VectorXd::Zero(6);
  result = ss::Compute(c.sites[1], logistic);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("dataset 'clinical'"), std::string::npos);
  // With fill values the same request is computed and finite.
  logistic.fill = Eigen::VectorXd::Constant(6, 0.5);
  result = ss::Compute(c.sites[1], logistic);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  for (double v : *result) EXPECT_TRUE(std::isfinite(v));
  // A plan without imputation rules fails at the first round, readably.
  StudyPlan plan = *MakeStudyPlan(c.spec, c.columns);
  for (auto& m : plan.models) m.imputation.clear();
  auto aggregator = InProcessAggregator::CreateMulti({&c.sites[0], &c.sites[1], &c.sites[2]});
  ASSERT_TRUE(aggregator.ok());
  auto run = RunStudy(*aggregator, plan);
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().ToString().find("has a missing value"), std::string::npos)
      << run.status().ToString();
}

TEST(ImputationTest, ImputationSumsAndFillsCrossTheWire) {
  ss::ImputationSumsRequest sums;
  sums.dataset = "combined";
  sums.rows = {ss::RowSubset::Kind::kAll, -1, 2};
  ss::SvmRequest svm;
  svm.dataset = "clinical";
  svm.columns = {1, 4};
  svm.w = Eigen::Vector2d(0.5, -1.0);
  svm.fill = Eigen::Vector2d(61.25, 1.0);
  ss::ScoreHistogramRequest histogram;
  histogram.dataset = "clinical";
  histogram.rows = {{ss::RowSubset::Kind::kTestOfFold, 0, -1},
                    {ss::RowSubset::Kind::kTestOfFold, 1, -1}};
  histogram.scorers.resize(2);
  for (auto& s : histogram.scorers) {
    s.columns = {2};
    s.w = Eigen::VectorXd::Ones(1);
  }
  histogram.scorers[1].fill = Eigen::VectorXd::Constant(1, 3.5);  // part 0 has none
  const std::vector<ss::StatRequest> batch = {sums, svm, histogram};
  auto message = ss::EncodeStatsBatch("study-1", 4, batch);
  ASSERT_TRUE(message.ok()) << message.status().ToString();
  EXPECT_EQ(message->parameters.at("fills"), 2);
  auto decoded = ss::DecodeStatsBatch(*message);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->size(), 3u);
  EXPECT_EQ(std::get<ss::ImputationSumsRequest>((*decoded)[0]).rows.outer_fold, 2);
  EXPECT_EQ(std::get<ss::SvmRequest>((*decoded)[1]).fill, svm.fill);
  const auto& h = std::get<ss::ScoreHistogramRequest>((*decoded)[2]);
  EXPECT_EQ(h.scorers[0].fill.size(), 0);
  EXPECT_EQ(h.scorers[1].fill, histogram.scorers[1].fill);
  // Without fills the batch encodes as before (no "fills" parameter).
  auto plain = ss::EncodeStatsBatch("study-1", 4, {sums});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->parameters.contains("fills"));
  // A fill of the wrong length is refused by the encoder.
  svm.fill = Eigen::VectorXd::Ones(3);
  EXPECT_FALSE(ss::EncodeStatsBatch("study-1", 4, {svm}).ok());
}

// The hand computation: mean / majority / most frequent level over the
// pooled rows of a fit's training part: rows whose outer fold is not
// `outer` (-1: every row) and, with inner >= 0, whose CV fold within that
// part is not `inner` (the training part of CV fold `inner`).
Eigen::VectorXd HandValues(const ss::LocalTable& pooled, int outer, int inner = -1) {
  const Eigen::Index p = pooled.x.cols();
  Eigen::VectorXd count = Eigen::VectorXd::Zero(p);
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(p);
  double stage_counts[3] = {0, 0, 0};
  for (Eigen::Index i = 0; i < pooled.x.rows(); ++i) {
    const auto row = static_cast<std::size_t>(i);
    if (pooled.fold[row] == outer) continue;
    if (inner >= 0) {
      const int cv_fold =
          outer < 0 ? pooled.fold[row] : pooled.inner_fold[static_cast<std::size_t>(outer)][row];
      if (cv_fold == inner) continue;
    }
    for (Eigen::Index j = 0; j < p; ++j) {
      if (std::isnan(pooled.x(i, j))) continue;
      count[j] += 1;
      sum[j] += pooled.x(i, j);
    }
    if (!std::isnan(pooled.x(i, 3))) {
      stage_counts[pooled.x(i, 3) == 1.0 ? 1 : (pooled.x(i, 4) == 1.0 ? 2 : 0)] += 1;
    }
  }
  Eigen::VectorXd v = sum.cwiseQuotient(count);   // means
  v[0] = sum[0] > count[0] - sum[0] ? 1.0 : 0.0;  // nodal: majority
  v[5] = sum[5] > count[5] - sum[5] ? 1.0 : 0.0;  // ca_high: majority
  int mode = 0;
  for (int l = 1; l < 3; ++l) {
    if (stage_counts[l] > stage_counts[mode]) mode = l;
  }
  v[3] = mode == 1 ? 1.0 : 0.0;
  v[4] = mode == 2 ? 1.0 : 0.0;
  return v;
}

TEST(ImputationTest, FederatedEqualsPooledAndValuesAreThoseOfTheTrainingRowsInScope) {
  Consortium c;
  auto plan = MakeStudyPlan(c.spec, c.columns);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->models[1].imputation.size(), 8u);
  EXPECT_EQ(plan->models[1].imputation[0].statistic, ImputationStatistic::kMajority);
  EXPECT_EQ(plan->models[1].imputation[1].statistic, ImputationStatistic::kMean);
  EXPECT_EQ(plan->models[1].imputation[4].statistic, ImputationStatistic::kMode);
  EXPECT_EQ(plan->models[1].imputation[5].statistic, ImputationStatistic::kMajority);
  EXPECT_EQ(plan->models[1].imputation[7].statistic, ImputationStatistic::kMean);

  const StudyRun federated = RunOn({&c.sites[0], &c.sites[1], &c.sites[2]}, *plan);
  const StudyRun pooled = RunOn({&c.pooled}, *plan);
  ASSERT_EQ(federated.models.size(), 2u);
  ASSERT_EQ(pooled.models.size(), 2u);
  EXPECT_EQ(federated.rounds, pooled.rounds);

  const ss::LocalTable& all = c.pooled.at("combined");
  double max_value_diff = 0.0;
  double max_coef_diff = 0.0;
  for (std::size_t m = 0; m < 2; ++m) {
    const ModelRun& f = federated.models[m];
    const ModelRun& q = pooled.models[m];
    SCOPED_TRACE(f.name);
    std::vector<const FittedModel*> fits_f = {&f.final_model};
    std::vector<const FittedModel*> fits_q = {&q.final_model};
    for (const auto& fold : f.fold_models) fits_f.push_back(&fold);
    for (const auto& fold : q.fold_models) fits_q.push_back(&fold);
    ASSERT_EQ(fits_f.size(), 4u);
    for (std::size_t part = 0; part < fits_f.size(); ++part) {
      SCOPED_TRACE("part " + std::to_string(part));
      EXPECT_EQ(fits_f[part]->selected, fits_q[part]->selected);
      max_coef_diff = std::max(max_coef_diff, MaxDiff(fits_f[part]->svm.w, fits_q[part]->svm.w));
      max_coef_diff = std::max(max_coef_diff,
                               std::abs(fits_f[part]->svm.intercept - fits_q[part]->svm.intercept));
      const auto& pf = fits_f[part]->lasso.path.points;
      const auto& pq = fits_q[part]->lasso.path.points;
      ASSERT_EQ(pf.size(), pq.size());
      for (std::size_t l = 0; l < pf.size(); ++l) {
        max_coef_diff = std::max(max_coef_diff, MaxDiff(pf[l].beta, pq[l].beta));
      }
      // The values are those of the training rows in scope (final: every
      // row; outer fold f: the rows outside f), computed by hand.
      const Eigen::VectorXd hand = HandValues(all, static_cast<int>(part) - 1);
      const Eigen::VectorXd expected =
          m == 0 ? Eigen::VectorXd(hand.head(6)) : hand;  // clinical: the 6 clin_ columns
      max_value_diff = std::max(max_value_diff, MaxDiff(fits_f[part]->imputation, expected));
      EXPECT_LT(MaxDiff(fits_q[part]->imputation, expected), 1e-12);
      // Inside the fit, CV fold g's requests carry the values of g's
      // training part.
      ASSERT_EQ(fits_f[part]->fold_imputation.size(), 3u);
      for (int g = 0; g < 3; ++g) {
        const Eigen::VectorXd inner = HandValues(all, static_cast<int>(part) - 1, g);
        max_value_diff = std::max(
            max_value_diff, MaxDiff(fits_f[part]->fold_imputation[static_cast<std::size_t>(g)],
                                    m == 0 ? Eigen::VectorXd(inner.head(6)) : inner));
      }
      // The scorer's fill is the values of the SVM's columns.
      ASSERT_EQ(fits_f[part]->svm_fill.size(),
                static_cast<Eigen::Index>(fits_f[part]->svm.columns.size()));
      for (std::size_t k = 0; k < fits_f[part]->svm.columns.size(); ++k) {
        EXPECT_EQ(fits_f[part]->svm_fill[static_cast<Eigen::Index>(k)],
                  fits_f[part]->imputation[fits_f[part]->svm.columns[k]]);
      }
    }
    EXPECT_NEAR(f.cv.auc, q.cv.auc, 1e-12);
    EXPECT_EQ(f.missing_cells, q.missing_cells);
  }
  EXPECT_LT(max_value_diff, 1e-12);
  EXPECT_LT(max_coef_diff, 1e-10);
  // The folds' values differ from the final model's (they exclude the
  // held-out rows), so the scoping is visible.
  EXPECT_GT(MaxDiff(federated.models[1].fold_models[0].imputation,
                    federated.models[1].final_model.imputation),
            1e-6);
  // Missing cells of the final model's scope, counted by hand.
  double missing = 0.0;
  for (Eigen::Index j = 0; j < all.x.cols(); ++j) {
    const double hand = static_cast<double>(all.x.col(j).array().isNaN().count());
    EXPECT_EQ(federated.models[1].missing_cells[j], hand);
    missing += hand;
  }
  EXPECT_GT(missing, 50.0);
  std::printf(
      "imputation: federated vs pooled max |coef diff| %.3g, values vs hand %.3g, %g "
      "missing cells\n",
      max_coef_diff, max_value_diff, missing);
}

// Records every request it forwards (the held-out round's scorers).
class RecordingAggregator final : public Aggregator {
 public:
  explicit RecordingAggregator(Aggregator& base) : base_(base) {}
  int num_features() const override { return base_.num_features(); }
  common::Result<std::vector<double>> Sum(const ss::StatRequest& request) override {
    Record({request});
    return base_.Sum(request);
  }
  common::Result<std::vector<std::vector<double>>> SumBatch(
      const std::vector<ss::StatRequest>& requests) override {
    Record(requests);
    return base_.SumBatch(requests);
  }
  std::int64_t rounds() const override { return base_.rounds(); }
  std::vector<ss::ScoreHistogramRequest> held_out;  // requests on outer folds' held-out rows

 private:
  void Record(const std::vector<ss::StatRequest>& requests) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& request : requests) {
      const auto* h = std::get_if<ss::ScoreHistogramRequest>(&request);
      if (h != nullptr && !h->rows.empty() && h->rows[0].outer_fold == -1 &&
          h->rows[0].kind == ss::RowSubset::Kind::kTestOfFold && h->rows.size() == 3 &&
          h->dataset == "combined" && h->bins == 512) {
        held_out.push_back(*h);
      }
    }
  }
  Aggregator& base_;
  std::mutex mutex_;
};

TEST(ImputationTest, HeldOutRowsAreScoredWithTheirFoldsValuesAndExternalRowsWithTheFinal) {
  Consortium c;
  auto plan = MakeStudyPlan(c.spec, c.columns);
  ASSERT_TRUE(plan.ok());
  auto base = InProcessAggregator::CreateMulti({&c.sites[0], &c.sites[1], &c.sites[2]});
  ASSERT_TRUE(base.ok());
  RecordingAggregator recording(*base);
  auto run = RunStudy(recording, *plan);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  const ModelRun& combined = run->models[1];
  // The study's held-out round: part f = outer fold f's model on the rows of
  // fold f, filled with outer fold f's values (never the final model's).
  ASSERT_FALSE(recording.held_out.empty());
  const ss::ScoreHistogramRequest& h = recording.held_out.back();
  std::size_t filled = 0;  // the check is not empty: the fold models select columns
  for (const FittedModel& fold : combined.fold_models) filled += fold.svm.columns.size();
  EXPECT_GT(filled, 3u);
  for (int f = 0; f < 3; ++f) {
    const FittedModel& fold = combined.fold_models[static_cast<std::size_t>(f)];
    const ss::LinearScorer& scorer = h.scorers[static_cast<std::size_t>(f)];
    EXPECT_EQ(h.rows[static_cast<std::size_t>(f)].fold, f);
    EXPECT_EQ(scorer.columns, fold.svm.columns);
    ASSERT_EQ(scorer.fill.size(), static_cast<Eigen::Index>(fold.svm.columns.size()));
    for (std::size_t k = 0; k < fold.svm.columns.size(); ++k) {
      EXPECT_EQ(scorer.fill[static_cast<Eigen::Index>(k)], fold.imputation[fold.svm.columns[k]]);
    }
  }
  // The evaluation's scorers: cv cohort per fold, external cohorts final.
  auto models = EvaluationModelsOf(*plan, *run);
  ASSERT_TRUE(models.ok());
  const EvaluationModel& m = (*models)[1];
  EXPECT_EQ(m.final_model.fill, combined.final_model.svm_fill);
  for (int f = 0; f < 3; ++f) {
    EXPECT_EQ(m.fold_models[static_cast<std::size_t>(f)].fill,
              combined.fold_models[static_cast<std::size_t>(f)].svm_fill);
  }
}

TEST(ImputationTest, ValuesFromSumsBreakTiesDeterministicallyAndRefuseEmptyColumns) {
  // Columns: a mean, a 0/1 majority (tie: 0), and a 3-level group whose
  // reference level ties with level 2 (the reference, listed first, wins).
  std::vector<ColumnImputation> rules(4);
  rules[1].statistic = ImputationStatistic::kMajority;
  for (int l = 1; l <= 2; ++l) {
    rules[static_cast<std::size_t>(1 + l)].statistic = ImputationStatistic::kMode;
    rules[static_cast<std::size_t>(1 + l)].group = "stage";
    rules[static_cast<std::size_t>(1 + l)].level = l;
    rules[static_cast<std::size_t>(1 + l)].levels = 3;
  }
  // n = 10; observed 8, 6, 9, 9; sums 20, 3 (3 ones, 3 zeros), 2, 4
  // (level 1: 2, level 2: 4, reference: 9 - 6 = 3 -> level 2).
  auto v = ImputationValuesFromSums({10, 8, 6, 9, 9, 20, 3, 2, 4}, rules, {});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ((*v)[0], 2.5);
  EXPECT_EQ((*v)[1], 0.0);
  EXPECT_EQ((*v)[2], 0.0);
  EXPECT_EQ((*v)[3], 1.0);
  // Reference 4, level 1: 1, level 2: 4 -> tie, the reference wins: 0, 0.
  v = ImputationValuesFromSums({10, 8, 6, 9, 9, 20, 4, 1, 4}, rules, {});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)[1], 1.0);
  EXPECT_EQ((*v)[2], 0.0);
  EXPECT_EQ((*v)[3], 0.0);
  auto empty = ImputationValuesFromSums({10, 0, 6, 9, 9, 0, 3, 2, 4}, rules, {"clin_age"});
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("'clin_age' has no observed value"), std::string::npos)
      << empty.status().message();
}

}  // namespace
}  // namespace fedrad::coordinator

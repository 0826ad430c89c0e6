// Cost of a federated study (issue 4, item 6): rounds, bytes per site and
// wall time of a nested-CV study of three models on in-process sites, and
// the wall time of the same estimator on the pooled rows (one site) in the
// same process.
//
// Study (defaults = the benchmark): N = 300 cases over 4 sites,
// models clinical (10 columns), radiomics (1,000 columns) and combined
// (1,010 columns); nested 5-fold CV; LASSO with 100 λ (lambda.min); a
// 10-value C grid for the squared-hinge SVM; Platt scaling. The true signal
// is sparse: 3 clinical and 5 radiomics columns carry it.
//
// Usage: fedrad_bench_study [--quick] [--sites S] [--n N] [--radiomics P]
//                           [--nlambda L] [--folds K] [--seed S] [--progress]
//                           [--write-data DIR]
//   --quick: N = 150, 200 radiomics columns, 30 λ, 3 folds (development).
//   --write-data DIR: instead of running, write the same study as files for
//     the CLI (bench/run_study_wire_bench.sh): DIR/site_<s>.csv (one per
//     site, with the outer fold column), DIR/pooled.csv, DIR/features.txt
//     (the feature dictionary) and DIR/study.json (the same options).
#include <Eigen/Dense>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "fedrad/common/csv.hpp"
#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/pipeline.hpp"
#include "fedrad/site_agent/stats/folds.hpp"
#include "fedrad/site_agent/stats/local_table.hpp"
#include "fedrad/site_agent/stats/providers.hpp"

namespace {

using fedrad::coordinator::InProcessAggregator;
using fedrad::coordinator::StudyPlan;
using fedrad::coordinator::StudyRun;
using fedrad::site_agent::stats::Datasets;
using fedrad::site_agent::stats::LocalTable;

struct Config {
  int n = 300;
  int sites = 4;
  int clinical = 10;
  int radiomics = 1000;
  int nlambda = 100;
  int folds = 5;
  std::uint64_t seed = 20261127;
  bool progress = false;
};

// All N rows, clinical columns first then radiomics; sparse logistic signal.
LocalTable MakeCohort(const Config& c) {
  std::mt19937_64 rng(c.seed);
  auto uniform = [&rng] { return (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53; };
  auto normal = [&uniform] {
    return std::sqrt(-2.0 * std::log(uniform())) * std::cos(2.0 * M_PI * uniform());
  };
  const int p = c.clinical + c.radiomics;
  LocalTable t;
  t.x.resize(c.n, p);
  t.y.resize(c.n);
  for (int i = 0; i < c.n; ++i) {
    // A latent factor shared by some radiomics columns (they are correlated
    // in real data).
    const double latent = normal();
    double eta = -0.4;
    for (int j = 0; j < p; ++j) {
      double z = normal();
      if (j >= c.clinical && (j - c.clinical) % 10 == 0) z = 0.6 * latent + 0.8 * z;
      t.x(i, j) = 10.0 * (j % 7) + (0.5 + (j % 5)) * z;  // various offsets and scales
      if (j < 3) eta += (j == 1 ? -0.6 : 0.7) * z;       // clinical signal
      if (j >= c.clinical && j < c.clinical + 5) eta += 0.5 * (j % 2 ? 1 : -1) * z;  // radiomics
    }
    t.y[i] = uniform() < 1.0 / (1.0 + std::exp(-eta)) ? 1.0 : 0.0;
  }
  // Outer folds and per-outer-fold inner folds, stratified and seeded (the
  // same per row for the federated and the pooled run).
  t.fold = fedrad::site_agent::stats::AssignFolds(t.y, c.folds, c.seed).value();
  t.inner_fold.assign(static_cast<std::size_t>(c.folds), {});
  for (int f = 0; f < c.folds; ++f) {
    std::vector<Eigen::Index> rows;
    for (Eigen::Index i = 0; i < t.y.size(); ++i) {
      if (t.fold[static_cast<std::size_t>(i)] != f) rows.push_back(i);
    }
    Eigen::VectorXd labels(static_cast<Eigen::Index>(rows.size()));
    for (std::size_t r = 0; r < rows.size(); ++r)
      labels[static_cast<Eigen::Index>(r)] = t.y[rows[r]];
    const auto ids = fedrad::site_agent::stats::AssignFolds(
                         labels, c.folds, c.seed + 1 + static_cast<std::uint64_t>(f))
                         .value();
    auto& out = t.inner_fold[static_cast<std::size_t>(f)];
    out.assign(static_cast<std::size_t>(t.y.size()), -1);
    for (std::size_t r = 0; r < rows.size(); ++r) out[static_cast<std::size_t>(rows[r])] = ids[r];
  }
  return t;
}

LocalTable Part(const LocalTable& t, int begin, int end, int col_begin, int col_end) {
  LocalTable out;
  out.x = t.x.block(begin, col_begin, end - begin, col_end - col_begin);
  out.y = t.y.segment(begin, end - begin);
  out.fold.assign(t.fold.begin() + begin, t.fold.begin() + end);
  for (const auto& inner : t.inner_fold)
    out.inner_fold.emplace_back(inner.begin() + begin, inner.begin() + end);
  return out;
}

std::vector<Datasets> MakeSites(const LocalTable& all, const Config& c, int num_sites) {
  std::vector<Datasets> sites;
  const int p = c.clinical + c.radiomics;
  for (int s = 0; s < num_sites; ++s) {
    const int begin = c.n * s / num_sites;
    const int end = c.n * (s + 1) / num_sites;
    Datasets d;
    d.emplace("clinical", Part(all, begin, end, 0, c.clinical));
    d.emplace("radiomics", Part(all, begin, end, c.clinical, p));
    d.emplace("combined", Part(all, begin, end, 0, p));
    sites.push_back(std::move(d));
  }
  return sites;
}

StudyPlan MakePlan(const Config& c) {
  StudyPlan plan;
  plan.outer_folds = c.folds;
  plan.nested = true;
  auto& o = plan.options;
  o.lasso_cv.num_folds = c.folds;
  o.lasso_cv.lasso.nlambda = c.nlambda;
  o.lasso_cv.choice = fedrad::coordinator::LambdaChoice::kMin;
  o.svm_cv.num_folds = c.folds;
  o.svm_cv.c_grid.clear();
  for (int i = 0; i < 10; ++i) o.svm_cv.c_grid.push_back(std::pow(10.0, -3.0 + i * 5.0 / 9.0));
  o.platt = true;
  plan.models = {{"clinical", "clinical", c.clinical, {}, {}},
                 {"radiomics", "radiomics", c.radiomics, {}, {}},
                 {"combined", "combined", c.clinical + c.radiomics, {}, {}}};
  return plan;
}

struct Timed {
  StudyRun run;
  double seconds = 0.0;
  std::int64_t rounds = 0;
  std::int64_t bytes_to = 0;
  std::int64_t bytes_from = 0;
};

Timed RunOnce(const std::vector<Datasets>& sites, const StudyPlan& plan, bool progress) {
  std::vector<const Datasets*> pointers;
  for (const auto& s : sites) pointers.push_back(&s);
  auto agg = InProcessAggregator::CreateMulti(pointers);
  if (!agg.ok()) {
    std::fprintf(stderr, "study_bench: %s\n", agg.status().ToString().c_str());
    std::exit(1);
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto run = fedrad::coordinator::RunStudy(
      *agg, plan,
      progress ? fedrad::coordinator::ProgressFn(
                     [](const std::string& line) { std::fprintf(stderr, "  %s\n", line.c_str()); })
               : nullptr);
  const auto t1 = std::chrono::steady_clock::now();
  if (!run.ok()) {
    std::fprintf(stderr, "study_bench: %s\n", run.status().ToString().c_str());
    std::exit(1);
  }
  Timed out;
  out.seconds = std::chrono::duration<double>(t1 - t0).count();
  out.rounds = agg->rounds();
  out.bytes_to = agg->bytes_to_each_site();
  out.bytes_from = agg->bytes_from_each_site();
  out.run = std::move(run).value();
  return out;
}

}  // namespace

// Column names of the written tables: clin_00.., rad_0000...
std::string ColumnName(const Config& c, int j) {
  char name[32];
  if (j < c.clinical) {
    std::snprintf(name, sizeof name, "clin_%02d", j);
  } else {
    std::snprintf(name, sizeof name, "rad_%04d", j - c.clinical);
  }
  return name;
}

bool WriteRows(const std::string& path, const LocalTable& all, const Config& c, int begin,
               int end) {
  std::ofstream out(path);
  out << "case_id,label,fold";
  for (int j = 0; j < all.x.cols(); ++j) out << ',' << ColumnName(c, j);
  out << '\n';
  for (int i = begin; i < end; ++i) {
    out << "case" << i << ',' << all.y[i] << ',' << all.fold[static_cast<std::size_t>(i)];
    for (int j = 0; j < all.x.cols(); ++j) out << ',' << fedrad::common::FormatDouble(all.x(i, j));
    out << '\n';
  }
  return static_cast<bool>(out);
}

int WriteData(const std::string& dir, const LocalTable& all, const Config& c,
              const StudyPlan& plan) {
  bool ok = true;
  for (int s = 0; s < c.sites; ++s) {
    ok = ok && WriteRows(dir + "/site_" + std::to_string(s) + ".csv", all, c, c.n * s / c.sites,
                         c.n * (s + 1) / c.sites);
  }
  ok = ok && WriteRows(dir + "/pooled.csv", all, c, 0, c.n);
  std::ofstream dict(dir + "/features.txt");
  for (int j = 0; j < all.x.cols(); ++j) dict << ColumnName(c, j) << '\n';
  std::ofstream spec(dir + "/study.json");
  spec << "{\n  \"study_id\": \"bench-study\",\n"
       << "  \"table\": {\"id_column\": \"case_id\", \"label_column\": \"label\", "
          "\"fold_column\": \"fold\"},\n"
       << "  \"feature_dictionary\": \"features.txt\",\n"
       << "  \"models\": [\n"
       << "    {\"name\": \"clinical\", \"columns\": [\"clin_*\"]},\n"
       << "    {\"name\": \"radiomics\", \"columns\": [\"rad_*\"]},\n"
       << "    {\"name\": \"combined\", \"columns\": [\"clin_*\", \"rad_*\"]}\n  ],\n"
       << "  \"cv\": {\"folds\": " << c.folds << ", \"seed\": " << c.seed
       << ", \"selection\": \"nested\"},\n"
       << "  \"lasso\": {\"nlambda\": " << c.nlambda << ", \"lambda_choice\": \"lambda.min\"},\n"
       << "  \"svm\": {\"c_grid\": [";
  for (std::size_t k = 0; k < plan.options.svm_cv.c_grid.size(); ++k) {
    spec << (k ? ", " : "") << fedrad::common::FormatDouble(plan.options.svm_cv.c_grid[k]);
  }
  spec << "]},\n  \"platt\": true\n}\n";
  ok = ok && static_cast<bool>(dict) && static_cast<bool>(spec);
  if (!ok) {
    std::fprintf(stderr, "study_bench: cannot write the study files into %s\n", dir.c_str());
    return 1;
  }
  std::printf("wrote %d site tables, pooled.csv, features.txt and study.json into %s\n", c.sites,
              dir.c_str());
  return 0;
}

int main(int argc, char** argv) {
  Config c;
  std::string write_dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "study_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--quick") {
      c.n = 150;
      c.radiomics = 200;
      c.nlambda = 30;
      c.folds = 3;
    } else if (a == "--sites") {
      c.sites = std::atoi(next());
    } else if (a == "--n") {
      c.n = std::atoi(next());
    } else if (a == "--radiomics") {
      c.radiomics = std::atoi(next());
    } else if (a == "--nlambda") {
      c.nlambda = std::atoi(next());
    } else if (a == "--folds") {
      c.folds = std::atoi(next());
    } else if (a == "--seed") {
      c.seed = std::strtoull(next(), nullptr, 10);
    } else if (a == "--progress") {
      c.progress = true;
    } else if (a == "--write-data") {
      write_dir = next();
    } else {
      std::fprintf(stderr,
                   "usage: fedrad_bench_study [--quick] [--sites S] [--n N] [--radiomics P] "
                   "[--nlambda L] [--folds K] [--seed S] [--progress] [--write-data DIR]\n");
      return 2;
    }
  }
  const LocalTable all = MakeCohort(c);
  const StudyPlan plan = MakePlan(c);
  if (!write_dir.empty()) return WriteData(write_dir, all, c, plan);
  std::printf(
      "study: N = %d (%d positive), %d sites, models clinical %d / radiomics %d / "
      "combined %d columns, nested %d-fold CV, %d lambdas, %zu C values, Platt\n",
      c.n, static_cast<int>(all.y.sum()), c.sites, c.clinical, c.radiomics,
      c.clinical + c.radiomics, c.folds, c.nlambda, plan.options.svm_cv.c_grid.size());

  const auto fed_sites = MakeSites(all, c, c.sites);
  const auto pooled_sites = MakeSites(all, c, 1);
  const Timed fed = RunOnce(fed_sites, plan, c.progress);
  const Timed pooled = RunOnce(pooled_sites, plan, false);

  bool same = fed.run.models.size() == pooled.run.models.size();
  for (std::size_t m = 0; same && m < fed.run.models.size(); ++m) {
    const auto& a = fed.run.models[m];
    const auto& b = pooled.run.models[m];
    same = a.final_model.selected == b.final_model.selected &&
           a.final_model.svm_cv.c_chosen == b.final_model.svm_cv.c_chosen && a.cv.auc == b.cv.auc;
    for (std::size_t f = 0; same && f < a.cv.folds.size(); ++f) {
      same = a.cv.folds[f].selected == b.cv.folds[f].selected && a.cv.folds[f].c == b.cv.folds[f].c;
    }
  }
  for (const auto& m : fed.run.models) {
    std::printf(
        "  %-9s final: %3zu selected, lambda %.4g, C %.4g, fit rounds %lld; nested CV AUC "
        "%.4f; selected per outer fold:",
        m.name.c_str(), m.final_model.selected.size(), m.final_model.lasso.lambda_chosen,
        m.final_model.svm_cv.c_chosen, static_cast<long long>(m.final_model.rounds), m.cv.auc);
    for (const auto& f : m.cv.folds) std::printf(" %zu", f.selected.size());
    std::printf("\n");
  }
  std::printf("rounds (federated, whole study): %lld (pooled run: %lld)\n",
              static_cast<long long>(fed.rounds), static_cast<long long>(pooled.rounds));
  std::printf("bytes to each site: %lld, from each site: %lld (as reported by the aggregator)\n",
              static_cast<long long>(fed.bytes_to), static_cast<long long>(fed.bytes_from));
  std::printf(
      "wall time: federated (%d in-process sites) %.2f s, pooled (1 site) %.2f s, "
      "ratio %.2f\n",
      c.sites, fed.seconds, pooled.seconds, fed.seconds / pooled.seconds);
  std::printf("federated == pooled (selected sets, C, CV AUC per model and outer fold): %s\n",
              same ? "yes" : "NO");
  std::printf("targets: rounds <= 1000: %s; wall time <= 3x pooled: %s\n",
              fed.rounds <= 1000 ? "met" : "MISSED",
              fed.seconds <= 3.0 * pooled.seconds ? "met" : "MISSED");
  return same ? 0 : 1;
}

// Statistic batches on the wire (site_agent/stats/wire.hpp, docs/protocol.md
// "Statistic batches"): every request type survives Encode -> protocol codec
// -> Decode with the same statistic at a site, malformed batches are refused
// with messages naming the request and the field, and the fuzz seed corpus
// (tests/fuzz/corpus/stats_batch/) is generated and checked here.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "../fuzz/frame_container.hpp"
#include "fedrad/protocols/messages.hpp"
#include "fedrad/site_agent/stats/providers.hpp"
#include "fedrad/site_agent/stats/wire.hpp"

namespace fedrad::site_agent::stats {
namespace {

using common::StatusCode;

constexpr int kP = 5;

LocalTable RandomTable(int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  LocalTable t;
  t.x.resize(n, kP);
  t.y.resize(n);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < kP; ++j) t.x(i, j) = normal(rng) + j;
    t.y[i] = normal(rng) + t.x(i, 0) > 0.0 ? 1.0 : 0.0;
    t.fold.push_back(i % 3);
  }
  for (int f = 0; f < 3; ++f) {
    std::vector<int> inner(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) inner[static_cast<std::size_t>(i)] = i % 3 == f ? -1 : (i / 3) % 2;
    t.inner_fold.push_back(std::move(inner));
  }
  return t;
}

Eigen::VectorXd Vec(std::initializer_list<double> v) {
  Eigen::VectorXd out(static_cast<Eigen::Index>(v.size()));
  Eigen::Index i = 0;
  for (double x : v) out[i++] = x;
  return out;
}

LinearScorer Scorer(std::vector<int> columns, bool standardised, double intercept) {
  LinearScorer s;
  const auto k = static_cast<Eigen::Index>(columns.size());
  s.columns = std::move(columns);
  s.w = Eigen::VectorXd::LinSpaced(k, -0.7, 1.3);
  if (standardised) {
    s.center = Eigen::VectorXd::Constant(k, 0.25);
    s.scale = Eigen::VectorXd::Constant(k, 1.5);
    if (k > 0) s.scale[0] = 0.0;  // a constant column
  }
  s.intercept = intercept;
  return s;
}

// One request of every type, with edge cases: empty Hessian set, a zero
// scale, negative zero, subnormal and huge values, raw and standardised SVM,
// Huber loss, a deviance matrix, several parts, outer-fold scoping and two
// datasets.
std::vector<StatRequest> EveryRequestType() {
  std::vector<StatRequest> batch;
  batch.push_back(MomentsRequest{RowSubset{}, ""});
  batch.push_back(MomentsRequest{RowSubset{RowSubset::Kind::kTestOfFold, 2, -1}, "second"});

  LogisticRequest logistic;
  logistic.rows = RowSubset{RowSubset::Kind::kTrainOfFold, 1, -1};
  logistic.center = Vec({0.5, -0.0, 1e-310, 3.0, 4.0});
  logistic.scale = Vec({1.0, 2.0, 0.0, 1e300, 0.5});
  logistic.intercept = -0.3;
  logistic.beta = Vec({0.1, 0.0, -0.2, 0.0, 0.4});
  logistic.hessian_columns = {4, 0, 2};
  batch.push_back(logistic);
  logistic.hessian_columns.clear();
  logistic.rows = RowSubset{RowSubset::Kind::kTestOfFold, 1, 2};
  batch.push_back(logistic);

  SvmRequest svm;
  svm.rows = RowSubset{RowSubset::Kind::kTrainOfFold, 0, 1};
  svm.columns = {3, 1};
  svm.w = Vec({0.25, -1.5});
  svm.bias_weight = 0.125;
  svm.bias_value = 1.0;
  batch.push_back(svm);
  svm.loss = SvmLoss::kHuberHinge;
  svm.huber_delta = 0.01;
  svm.center = Vec({1.0, 2.0});
  svm.scale = Vec({0.5, 0.0});
  svm.dataset = "second";
  batch.push_back(svm);

  DevianceRequest deviance;
  deviance.rows = RowSubset{RowSubset::Kind::kTestOfFold, 0, -1};
  deviance.center = Vec({0, 1, 2, 3, 4});
  deviance.scale = Vec({1, 1, 2, 1, 0});
  deviance.intercepts = Vec({0.1, -0.2, 0.3});
  deviance.betas = Eigen::MatrixXd::Zero(kP, 3);
  deviance.betas(0, 1) = 0.5;
  deviance.betas(4, 2) = -0.75;
  deviance.betas(2, 0) = 1.25;
  batch.push_back(deviance);

  ScoreHistogramRequest histogram;
  histogram.bins = 7;
  histogram.rows = {RowSubset{RowSubset::Kind::kTestOfFold, 0, -1},
                    RowSubset{RowSubset::Kind::kTestOfFold, 1, -1}, RowSubset{}};
  histogram.scorers = {Scorer({0, 2}, true, 0.5), Scorer({4}, false, -1.0), Scorer({}, false, 0.0)};
  batch.push_back(histogram);

  PlattRequest platt;
  platt.rows = {RowSubset{RowSubset::Kind::kTestOfFold, 2, 0}};
  platt.scorers = {Scorer({1, 3, 0}, true, 0.0)};
  platt.a = -1.7;
  platt.b = 0.05;
  platt.target_pos = 0.9;
  platt.target_neg = 0.1;
  platt.dataset = "second";
  batch.push_back(platt);
  return batch;
}

// The evaluation requests (issue 6): two parts, two models on different
// datasets holding the same rows ("" and "third"), several grid sizes.
std::vector<StatRequest> EvaluationRequests(const Datasets& datasets) {
  std::vector<EvalModel> models = {
      {"", {Scorer({0, 2}, true, 0.5), Scorer({4}, false, -1.0)}},
      {"third", {Scorer({1, 3, 0}, true, 0.0), Scorer({}, false, 0.3)}}};
  const std::vector<RowSubset> rows = {RowSubset{RowSubset::Kind::kTestOfFold, 0, -1},
                                       RowSubset{RowSubset::Kind::kTestOfFold, 1, 2}};
  std::vector<StatRequest> batch;
  GridHistogramRequest histogram;
  histogram.rows = rows;
  histogram.models = models;
  histogram.grid_size = 11;
  batch.push_back(histogram);
  PlacementSumsRequest placement;
  placement.rows = rows;
  placement.models = models;
  placement.grid_size = 11;
  placement.pooled_histograms = Compute(datasets, histogram).value();  // this site alone
  placement.dataset = "third";
  batch.push_back(placement);
  ThresholdCountsRequest counts;
  counts.rows = {RowSubset{}};
  counts.models = {{"third", {Scorer({2}, false, 0.1)}}, {"", {Scorer({0, 1}, true, -0.2)}}};
  counts.thresholds = {0.3, 0.6};
  counts.calibration_bins = 4;
  batch.push_back(counts);
  histogram.grid_size = 1000001;
  histogram.rows = {RowSubset{}};
  histogram.models = {{"third", {Scorer({}, false, 0.0)}}};
  batch.push_back(histogram);
  return batch;
}

// Through the full codec, as a site receives it.
protocols::RoundRequest OverTheWire(const protocols::RoundRequest& request) {
  protocols::Message message;
  message.header.session_id = 42;
  message.header.sequence = 7;
  message.body = request;
  auto frames = protocols::Encode(message);
  EXPECT_TRUE(frames.ok()) << frames.status().ToString();
  if (!frames.ok()) return {};
  auto decoded = protocols::Decode(*frames);
  EXPECT_TRUE(decoded.ok()) << decoded.status().ToString();
  if (!decoded.ok()) return {};
  return std::get<protocols::RoundRequest>(decoded->body);
}

TEST(StatsWireTest, EveryRequestTypeRoundTripsAndComputesTheSameStatistic) {
  const Datasets datasets = {{"", RandomTable(30, 1)}, {"second", RandomTable(24, 2)}};
  const std::vector<StatRequest> batch = EveryRequestType();
  auto encoded = EncodeStatsBatch("job-1", 9, batch);
  ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
  EXPECT_EQ(encoded->statistic, "stats_batch");
  EXPECT_EQ(encoded->round_id, 9);
  EXPECT_EQ(encoded->parameters.dump(), R"({"datasets":["","second"],"requests":9})");

  auto decoded = DecodeStatsBatch(OverTheWire(*encoded));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->size(), batch.size());
  for (std::size_t r = 0; r < batch.size(); ++r) {
    SCOPED_TRACE("request " + std::to_string(r));
    ASSERT_EQ((*decoded)[r].index(), batch[r].index());
    EXPECT_EQ(DatasetOf((*decoded)[r]), DatasetOf(batch[r]));
    auto want = Compute(datasets, batch[r]);
    auto got = Compute(datasets, (*decoded)[r]);
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, *want);  // bit for bit
  }
  // Spot checks of fields the statistic would not notice.
  const auto& logistic = std::get<LogisticRequest>((*decoded)[2]);
  EXPECT_EQ(logistic.hessian_columns, (std::vector<int>{4, 0, 2}));
  EXPECT_TRUE(std::signbit(logistic.center[1]));
  EXPECT_EQ(logistic.center[2], 1e-310);
  EXPECT_EQ(logistic.rows.kind, RowSubset::Kind::kTrainOfFold);
  EXPECT_EQ(logistic.rows.fold, 1);
  const auto& huber = std::get<SvmRequest>((*decoded)[5]);
  EXPECT_EQ(huber.loss, SvmLoss::kHuberHinge);
  EXPECT_EQ(huber.huber_delta, 0.01);
  EXPECT_EQ(huber.rows.outer_fold, 1);
  const auto& deviance = std::get<DevianceRequest>((*decoded)[6]);
  EXPECT_EQ(deviance.betas, std::get<DevianceRequest>(batch[6]).betas);
  const auto& platt = std::get<PlattRequest>((*decoded)[8]);
  EXPECT_EQ(platt.target_pos, 0.9);
  EXPECT_EQ(platt.rows[0].outer_fold, 0);
  EXPECT_EQ(platt.scorers[0].scale, std::get<PlattRequest>(batch[8]).scorers[0].scale);

  // Encoding is canonical: the decoded batch encodes to the same message.
  auto again = EncodeStatsBatch("job-1", 9, *decoded);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *encoded);
}

TEST(StatsWireTest, EvaluationRequestsRoundTripAndComputeTheSameStatistic) {
  const Datasets datasets = {{"", RandomTable(30, 1)}, {"third", RandomTable(30, 1)}};
  const std::vector<StatRequest> batch = EvaluationRequests(datasets);
  auto encoded = EncodeStatsBatch("job-1", 3, batch);
  ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
  EXPECT_EQ(encoded->parameters.dump(), R"({"datasets":["","third"],"requests":4})");
  auto decoded = DecodeStatsBatch(OverTheWire(*encoded));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->size(), batch.size());
  const std::vector<std::size_t> sizes = {2 * 2 * 11, 2 + 2 * 2 + 2 * 4, 2 * (5 + 3 * 4),
                                          2 * 1000001};
  for (std::size_t r = 0; r < batch.size(); ++r) {
    SCOPED_TRACE("request " + std::to_string(r));
    ASSERT_EQ((*decoded)[r].index(), batch[r].index());
    EXPECT_EQ(DatasetOf((*decoded)[r]), DatasetOf(batch[r]));
    auto want = Compute(datasets, batch[r]);
    auto got = Compute(datasets, (*decoded)[r]);
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, *want);  // bit for bit
    EXPECT_EQ(got->size(), sizes[r]);
    EXPECT_EQ(ResultSize((*decoded)[r], kP), sizes[r]);
  }
  const auto& placement = std::get<PlacementSumsRequest>((*decoded)[1]);
  EXPECT_EQ(placement.pooled_histograms,
            std::get<PlacementSumsRequest>(batch[1]).pooled_histograms);
  EXPECT_EQ(placement.models[1].dataset, "third");
  EXPECT_EQ(placement.rows[1].outer_fold, 2);
  EXPECT_EQ(placement.models[0].scorers[0].scale,
            std::get<PlacementSumsRequest>(batch[1]).models[0].scorers[0].scale);
  const auto& counts = std::get<ThresholdCountsRequest>((*decoded)[2]);
  EXPECT_EQ(counts.thresholds, (std::vector<double>{0.3, 0.6}));
  EXPECT_EQ(counts.calibration_bins, 4);
  // The placement sums of a site alone count its own Mann-Whitney pairs.
  auto again = EncodeStatsBatch("job-1", 3, *decoded);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *encoded);
  // Scoped (a ScopedAggregator's rewrite) moves every model to the dataset.
  const StatRequest scoped = Scoped(batch[0], "second", 1);
  const auto& h = std::get<GridHistogramRequest>(scoped);
  EXPECT_EQ(h.dataset, "second");
  EXPECT_EQ(h.models[1].dataset, "second");
  EXPECT_EQ(h.rows[0].outer_fold, 1);
}

TEST(StatsWireTest, ResultsRoundTripAndAreCheckedAgainstTheRequestSizes) {
  const std::vector<std::vector<double>> results = {{1.0, -0.0, 1e-300}, {}, {6.02e23}};
  auto reply = EncodeStatsResults("job-1", 3, results);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  protocols::Message message;
  message.header.session_id = 1;
  message.header.sequence = 2;
  message.body = *reply;
  auto frames = protocols::Encode(message);
  ASSERT_TRUE(frames.ok());
  auto decoded = protocols::Decode(*frames);
  ASSERT_TRUE(decoded.ok());
  const auto& wire = std::get<protocols::RoundReply>(decoded->body);
  auto back = DecodeStatsResults(wire, {3, 0, 1});
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, results);
  EXPECT_TRUE(std::signbit((*back)[0][1]));

  auto wrong = DecodeStatsResults(wire, {2, 1, 1});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kProtocolError);
  EXPECT_NE(wrong.status().message().find("result 0 has 3 values, expected 2"), std::string::npos)
      << wrong.status().message();
  auto fewer = DecodeStatsResults(wire, {3, 0});
  ASSERT_FALSE(fewer.ok());
  EXPECT_NE(fewer.status().message().find("3 results, expected 2"), std::string::npos)
      << fewer.status().message();
  // Sizes that lie about the data.
  protocols::RoundReply liar = wire;
  liar.arrays[1].f64.push_back(1.0);
  liar.arrays[1].shape = {5};
  auto lie = DecodeStatsResults(liar, {3, 0, 1});
  ASSERT_FALSE(lie.ok());
  EXPECT_NE(lie.status().message().find("'f64' has 5 values, the sizes add up to 4"),
            std::string::npos)
      << lie.status().message();
  protocols::RoundReply other = wire;
  other.statistic = "cohort_size";
  EXPECT_FALSE(DecodeStatsResults(other, {3, 0, 1}).ok());

  auto nan = EncodeStatsResults("job-1", 3, {{1.0, std::nan("")}});
  ASSERT_FALSE(nan.ok());
  EXPECT_NE(nan.status().message().find("result 0 has a non-finite value at index 1"),
            std::string::npos);
  EXPECT_FALSE(EncodeStatsResults("job-1", 3, {}).ok());
}

TEST(StatsWireTest, EncoderRefusesInconsistentRequests) {
  auto fails_with = [](const StatRequest& request, const std::string& text) {
    auto encoded = EncodeStatsBatch("job-1", 1, {MomentsRequest{}, request});
    ASSERT_FALSE(encoded.ok()) << text;
    EXPECT_EQ(encoded.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(encoded.status().message().find(text), std::string::npos)
        << encoded.status().message();
  };
  LogisticRequest logistic;
  logistic.center = Vec({0, 0});
  logistic.scale = Vec({1, 1});
  logistic.beta = Vec({0, 0, 0});
  fails_with(logistic, "stats_batch request 1 (logistic): center, scale and beta");
  logistic.beta = Vec({0, 0});
  logistic.hessian_columns = {1, 1};
  fails_with(logistic, "hessian_columns: column 1 repeated");
  logistic.hessian_columns = {2};
  fails_with(logistic, "hessian_columns: column 2 outside [0, 1]");
  SvmRequest svm;
  svm.columns = {0};
  fails_with(svm, "(svm): w has 0 values, expected 1");
  MomentsRequest moments;
  moments.rows.kind = RowSubset::Kind::kTestOfFold;
  fails_with(moments, "a fold subset needs a fold id >= 0");
  moments = MomentsRequest{};
  moments.dataset = "bad name";
  fails_with(moments, "dataset name 'bad name'");
  ScoreHistogramRequest histogram;
  histogram.bins = 1;
  fails_with(histogram, "bins must be in [2, 65536]");
  histogram.bins = 4;
  histogram.rows = {RowSubset{}};
  fails_with(histogram, "1 row subsets but 0 scorers");
  PlattRequest platt;
  platt.a = std::numeric_limits<double>::infinity();
  fails_with(platt, "non-finite");
  GridHistogramRequest grid;
  grid.rows = {RowSubset{}};
  fails_with(grid, "(grid_histogram): 0 models, expected 1..64");
  grid.models = {{"", {}}};
  fails_with(grid, "model 0 has 0 scorers for 1 parts");
  grid.models = {{"", {Scorer({0}, false, 0.0)}}};
  grid.grid_size = 1;
  fails_with(grid, "grid_size must be in [2, 1000001], got 1");
  grid.models = {{"bad name", {Scorer({0}, false, 0.0)}}};
  grid.grid_size = 3;
  fails_with(grid, "dataset name 'bad name'");
  PlacementSumsRequest placement;
  placement.rows = {RowSubset{}};
  placement.models = {{"", {Scorer({0}, false, 0.0)}}};
  placement.grid_size = 3;
  placement.pooled_histograms = {1, 2, 3};
  fails_with(placement, "(placement_sums): pooled_histograms has 3 values, expected 2 * 1 models");
  ThresholdCountsRequest counts;
  counts.rows = {RowSubset{}};
  counts.models = {{"", {Scorer({0}, false, 0.0)}}};
  fails_with(counts, "(threshold_counts): 0 thresholds for 1 models");
  counts.thresholds = {0.5};
  counts.calibration_bins = 1001;
  fails_with(counts, "calibration_bins must be in [0, 1000], got 1001");
  EXPECT_FALSE(EncodeStatsBatch("job-1", 1, {}).ok());
}

// A valid encoded batch to break: moments on "", logistic (p = 2, one
// Hessian column) on "b".
protocols::RoundRequest Small() {
  LogisticRequest logistic;
  logistic.center = Vec({0, 1});
  logistic.scale = Vec({1, 2});
  logistic.beta = Vec({0.5, -0.5});
  logistic.intercept = 0.25;
  logistic.hessian_columns = {1};
  logistic.dataset = "b";
  return EncodeStatsBatch("job-1", 4, {MomentsRequest{}, logistic}).value();
}
// i64 of Small(): [1, 0, 0,-1,-1,   2, 1, 0,-1,-1, 2, 1, 1]
// f64 of Small(): [0, 1, 1, 2, 0.25, 0.5, -0.5]

struct Malformed {
  std::string name;
  protocols::RoundRequest request;
  std::string message;  // expected part of the error
};

std::vector<Malformed> MalformedBatches() {
  std::vector<Malformed> out;
  auto add = [&out](std::string name, auto edit, std::string message) {
    protocols::RoundRequest r = Small();
    edit(r);
    for (auto& a : r.arrays) {
      a.shape = {static_cast<std::int64_t>(a.dtype == protocols::DType::kI64 ? a.i64.size()
                                                                             : a.f64.size())};
    }
    out.push_back({std::move(name), std::move(r), std::move(message)});
  };
  using R = protocols::RoundRequest;
  add(
      "statistic", [](R& r) { r.statistic = "cohort_size"; }, "statistic is 'cohort_size'");
  add(
      "extra_parameter", [](R& r) { r.parameters["x"] = 1; }, "unexpected parameter 'x'");
  add(
      "requests_missing", [](R& r) { r.parameters.erase("requests"); },
      "parameter 'requests' must be an integer");
  add(
      "requests_zero", [](R& r) { r.parameters["requests"] = 0; },
      "parameter 'requests' is 0, expected 1..4096");
  add(
      "requests_too_many", [](R& r) { r.parameters["requests"] = 3; },
      "stats_batch request 2: type: array 'i64' ends at 13 values");
  add(
      "requests_too_few", [](R& r) { r.parameters["requests"] = 1; },
      "8 unread values at the end of array 'i64'");
  add(
      "datasets_not_array", [](R& r) { r.parameters["datasets"] = "b"; },
      "parameter 'datasets' must be an array");
  add(
      "datasets_bad_name", [](R& r) { r.parameters["datasets"][1] = "-b"; },
      "datasets item 1 is not \"\" or a valid name");
  add(
      "datasets_repeated", [](R& r) { r.parameters["datasets"][1] = ""; },
      "datasets item 1 '' repeated");
  add(
      "arrays_missing", [](R& r) { r.arrays.pop_back(); }, "expected arrays 'i64' and 'f64'");
  add(
      "arrays_swapped", [](R& r) { std::swap(r.arrays[0], r.arrays[1]); }, "array 0 must be 'i64'");
  add(
      "arrays_2d",
      [](R& r) {
        r.arrays[1].shape = {7, 1};
      },
      "");  // fixed below
  add(
      "type_unknown", [](R& r) { r.arrays[0].i64[5] = 12; },
      "stats_batch request 1: type is 12 at i64[5], expected [1, 11]");
  add(
      "dataset_index", [](R& r) { r.arrays[0].i64[6] = 2; },
      "stats_batch request 1 (logistic): dataset is 2 at i64[6], expected [0, 1]");
  add(
      "row_kind", [](R& r) { r.arrays[0].i64[2] = 3; },
      "stats_batch request 0 (moments): rows kind is 3 at i64[2], expected [0, 2]");
  add(
      "row_fold_for_test_kind", [](R& r) { r.arrays[0].i64[2] = 2; },
      "stats_batch request 0 (moments): rows fold is -1 at i64[3], expected [0, 2147483647]");
  add(
      "outer_fold", [](R& r) { r.arrays[0].i64[4] = -2; },
      "rows outer fold is -2 at i64[4], expected [-1, 2147483647]");
  add(
      "p_larger_than_data", [](R& r) { r.arrays[0].i64[10] = 3; },
      "stats_batch request 1 (logistic): beta needs 3 values at f64[7], only 0 remain");
  add(
      "p_huge", [](R& r) { r.arrays[0].i64[10] = 2000000000; },
      "center needs 2000000000 values at f64[0], only 7 remain");
  add(
      "hessian_count", [](R& r) { r.arrays[0].i64[11] = 3; },
      "hessian column count is 3 at i64[11], expected [0, 2]");
  add(
      "hessian_column_range", [](R& r) { r.arrays[0].i64[12] = 2; },
      "hessian_columns item 0 is 2, expected [0, 1]");
  add(
      "hessian_column_negative", [](R& r) { r.arrays[0].i64[12] = -1; },
      "hessian_columns item 0 is -1");
  add(
      "i64_truncated", [](R& r) { r.arrays[0].i64.resize(12); },
      "hessian_columns needs 1 values at i64[12], only 0 remain");
  add(
      "f64_extra", [](R& r) { r.arrays[1].f64.push_back(1.0); },
      "1 unread values at the end of array 'f64'");
  // Huge counts in the other request types are refused before allocation.
  {
    ScoreHistogramRequest h;
    h.bins = 4;
    h.rows = {RowSubset{}};
    h.scorers = {Scorer({0}, false, 0.0)};
    // i64: [5, 0, 4, 1, 0,-1,-1, 1, 0, 0]
    protocols::RoundRequest r = EncodeStatsBatch("job-1", 4, {h}).value();
    auto edit = [&out, &r](std::string name, std::size_t at, std::int64_t v, std::string m) {
      protocols::RoundRequest c = r;
      c.arrays[0].i64[at] = v;
      out.push_back({std::move(name), std::move(c), std::move(m)});
    };
    edit("histogram_bins", 2, 1, "(score_histogram): bins is 1 at i64[2], expected [2, 65536]");
    edit("histogram_parts_huge", 3, 1000000000, "1000000000 parts need at least 5000000000 values");
    edit("histogram_std_length", 8, 2, "part 0 standardisation length is 2 at i64[8]");
    edit("histogram_columns_huge", 7, 2000000000,
         "part 0 columns needs 2000000000 values at i64[9], only 1 remain");
    SvmRequest svm;
    svm.columns = {0, 1};
    svm.w = Vec({1, 2});
    // i64: [3, 0, 0,-1,-1, 0, 2, 0, 0, 1]
    r = EncodeStatsBatch("job-1", 4, {svm}).value();
    edit("svm_loss", 5, 2, "(svm): loss is 2 at i64[5], expected [0, 1]");
    edit("svm_std_length", 7, 1, "standardisation length must be 0 or 2");
    edit("svm_column_repeated", 9, 0, "columns item 1: column 0 repeated");
    DevianceRequest dev;
    dev.center = Vec({0, 0});
    dev.scale = Vec({1, 1});
    dev.intercepts = Vec({0});
    dev.betas = Eigen::MatrixXd::Zero(2, 1);
    // i64: [4, 0, 0,-1,-1, 2, 1]
    r = EncodeStatsBatch("job-1", 4, {dev}).value();
    edit("deviance_l_huge", 6, 2000000000, "intercepts needs 2000000000 values");
    r.arrays[1].f64.resize(4 + 1000);
    r.arrays[1].shape = {1004};
    r.arrays[0].i64[6] = 1000;  // 1000 intercepts, then p x L = 2000 betas > 4 left
    out.push_back({"deviance_betas_short", r, "betas needs 2 x 1000 values at f64[1004]"});

    // Evaluation requests: one part, one model with one column.
    GridHistogramRequest grid;
    grid.rows = {RowSubset{}};
    grid.models = {{"", {Scorer({0}, false, 0.0)}}};
    grid.grid_size = 3;
    // i64: [7, 0, 3, 1, 1, 0,-1,-1, 0, 1, 0, 0]
    r = EncodeStatsBatch("job-1", 4, {grid}).value();
    edit("grid_size", 2, 1, "(grid_histogram): grid_size is 1 at i64[2], expected [2, 1000001]");
    edit("eval_models_zero", 4, 0, "model count is 0 at i64[4], expected [1, 64]");
    edit("eval_models_huge", 4, 65, "model count is 65 at i64[4], expected [1, 64]");
    edit("eval_parts_huge", 3, 1000000000, "1000000000 parts of 1 models need at least");
    edit("eval_model_dataset", 8, 1, "model 0 dataset is 1 at i64[8], expected [0, 0]");
    edit("eval_scorer_columns", 9, 5, "model 0 scorer 0 columns needs 5 values at i64[11]");
    PlacementSumsRequest placement;
    placement.rows = grid.rows;
    placement.models = grid.models;
    placement.grid_size = 3;
    placement.pooled_histograms = {1, 0, 2, 0, 3, 1};
    // f64: [intercept, w, pooled x 6]
    r = EncodeStatsBatch("job-1", 4, {placement}).value();
    edit("placement_grid_huge", 2, 2000000, "grid_size is 2000000 at i64[2]");
    r.arrays[1].f64.pop_back();
    r.arrays[1].shape = {7};
    out.push_back({"placement_pooled_short", r,
                   "(placement_sums): pooled_histograms needs 6 values at f64[2], only 5 remain"});
    ThresholdCountsRequest counts;
    counts.rows = grid.rows;
    counts.models = grid.models;
    counts.thresholds = {0.5};
    r = EncodeStatsBatch("job-1", 4, {counts}).value();
    edit("threshold_bins", 2, 1001, "calibration_bins is 1001 at i64[2], expected [0, 1000]");
    r.arrays[1].f64.pop_back();
    r.arrays[1].shape = {2};
    out.push_back({"threshold_missing", r, "thresholds needs 1 values at f64[2], only 0 remain"});
  }
  return out;
}

TEST(StatsWireTest, MalformedBatchesAreRefusedNamingRequestAndField) {
  for (Malformed& m : MalformedBatches()) {
    SCOPED_TRACE(m.name);
    if (m.name == "arrays_2d") {
      m.request.arrays[1].shape = {7, 1};
      m.message = "array 'f64' must be one-dimensional f64";
    }
    auto decoded = DecodeStatsBatch(m.request);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), StatusCode::kProtocolError);
    EXPECT_NE(decoded.status().message().find(m.message), std::string::npos)
        << decoded.status().message();
  }
  // The unmodified batch decodes (the cases above break one thing each).
  EXPECT_TRUE(DecodeStatsBatch(Small()).ok());
}

// --- fuzz seed corpus (tests/fuzz/corpus/stats_batch/) ----------------------

bool Regenerate() {
  const char* v = std::getenv("FEDRAD_REGENERATE_GOLDEN");
  return v != nullptr && std::string(v) == "1";
}

std::string Container(const protocols::RoundRequest& request) {
  protocols::Message message;
  message.header.session_id = 0x0123456789ABCDEFull;
  message.header.sequence = 0x120;
  message.body = request;
  auto frames = protocols::Encode(message);
  EXPECT_TRUE(frames.ok()) << frames.status().ToString();
  return frames.ok() ? fuzz::WriteContainer(*frames) : std::string();
}

TEST(StatsBatchSeedCorpusTest, SeedsAreUpToDate) {
  const std::string dir = std::string(FEDRAD_TEST_DATA_DIR) + "/../fuzz/corpus/stats_batch";
  std::vector<std::pair<std::string, std::string>> seeds;
  seeds.emplace_back("valid_every_type.bin",
                     Container(EncodeStatsBatch("job-1", 9, EveryRequestType()).value()));
  seeds.emplace_back("valid_small.bin", Container(Small()));
  {
    const Datasets datasets = {{"", RandomTable(30, 1)}, {"third", RandomTable(30, 1)}};
    seeds.emplace_back(
        "valid_evaluation.bin",
        Container(EncodeStatsBatch("job-1", 3, EvaluationRequests(datasets)).value()));
  }
  {
    // A single-site evaluation (type 10): two models, fine grid, 5 bins.
    LocalEvaluationRequest local;
    local.rows = {RowSubset{}};
    local.models = {{"", {Scorer({0, 2}, true, 0.5)}}, {"third", {Scorer({1}, false, -0.3)}}};
    local.grid_size = kFineGridSize;
    local.thresholds = {0.25, 0.5};
    local.calibration_bins = 5;
    local.max_curve_points = 501;
    local.dataset = "third";
    seeds.emplace_back("valid_local_evaluation.bin",
                       Container(EncodeStatsBatch("job-1", 5, {local}).value()));
  }
  for (Malformed& m : MalformedBatches()) {
    if (m.name == "arrays_2d") m.request.arrays[1].shape = {7, 1};
    seeds.emplace_back("bad_" + m.name + ".bin", Container(m.request));
  }
  for (const auto& [name, bytes] : seeds) {
    SCOPED_TRACE(name);
    const std::string path = dir + "/" + name;
    if (Regenerate()) {
      std::filesystem::create_directories(dir);
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in.good()) << "missing " << path << " (regenerate with FEDRAD_REGENERATE_GOLDEN=1)";
    const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_TRUE(file == bytes) << path << " differs from the generator";
    // The seed decodes as a protocol message; valid_* batches decode, bad_* do not.
    auto frames = fuzz::ReadContainer(file);
    ASSERT_TRUE(frames.has_value());
    auto message = protocols::Decode(*frames);
    ASSERT_TRUE(message.ok()) << message.status().ToString();
    auto batch = DecodeStatsBatch(std::get<protocols::RoundRequest>(message->body));
    EXPECT_EQ(batch.ok(), name.rfind("valid_", 0) == 0) << batch.status().ToString();
  }
}

}  // namespace
}  // namespace fedrad::site_agent::stats

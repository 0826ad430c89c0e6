#include "fedrad/site_agent/stats/wire.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace fedrad::site_agent::stats {

using common::Result;
using common::Status;
using protocols::Array;
using protocols::DType;

namespace {

// Request type codes (docs/protocol.md, "Statistic batches").
enum TypeCode : std::int64_t {
  kMoments = 1,
  kLogistic = 2,
  kSvm = 3,
  kDeviance = 4,
  kScoreHistogram = 5,
  kPlatt = 6,
  kGridHistogram = 7,
  kPlacementSums = 8,
  kThresholdCounts = 9,
  kLocalEvaluation = 10,
  kImputationSums = 11,
};

constexpr std::size_t kMaxDatasets = 64;
constexpr std::int64_t kMaxIndex = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t kMinBins = 2;
constexpr std::int64_t kMaxBins = 65536;
constexpr auto kMaxModels = static_cast<std::int64_t>(kMaxEvalModels);
constexpr int kMaxNewtonSteps = 1000;

const char* TypeName(std::int64_t code) {
  switch (code) {
    case kMoments:
      return "moments";
    case kLogistic:
      return "logistic";
    case kSvm:
      return "svm";
    case kDeviance:
      return "deviance";
    case kScoreHistogram:
      return "score_histogram";
    case kPlatt:
      return "platt";
    case kGridHistogram:
      return "grid_histogram";
    case kPlacementSums:
      return "placement_sums";
    case kThresholdCounts:
      return "threshold_counts";
    case kLocalEvaluation:
      return "local_evaluation";
    case kImputationSums:
      return "imputation_sums";
    default:
      return "unknown";
  }
}

// Codes follow the order of the StatRequest alternatives.
static_assert(std::is_same_v<std::variant_alternative_t<0, StatRequest>, MomentsRequest> &&
              std::is_same_v<std::variant_alternative_t<1, StatRequest>, LogisticRequest> &&
              std::is_same_v<std::variant_alternative_t<2, StatRequest>, SvmRequest> &&
              std::is_same_v<std::variant_alternative_t<3, StatRequest>, DevianceRequest> &&
              std::is_same_v<std::variant_alternative_t<4, StatRequest>, ScoreHistogramRequest> &&
              std::is_same_v<std::variant_alternative_t<5, StatRequest>, PlattRequest> &&
              std::is_same_v<std::variant_alternative_t<6, StatRequest>, GridHistogramRequest> &&
              std::is_same_v<std::variant_alternative_t<7, StatRequest>, PlacementSumsRequest> &&
              std::is_same_v<std::variant_alternative_t<8, StatRequest>, ThresholdCountsRequest> &&
              std::is_same_v<std::variant_alternative_t<9, StatRequest>, LocalEvaluationRequest> &&
              std::is_same_v<std::variant_alternative_t<10, StatRequest>, ImputationSumsRequest>);
std::int64_t TypeCodeOf(const StatRequest& request) {
  return static_cast<std::int64_t>(request.index()) + 1;
}

// Every dataset a request names: its own, then (evaluation requests) each
// model's.
std::vector<std::string> DatasetsOf(const StatRequest& request) {
  std::vector<std::string> names{DatasetOf(request)};
  std::visit(
      [&names](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, GridHistogramRequest> ||
                      std::is_same_v<T, PlacementSumsRequest> ||
                      std::is_same_v<T, ThresholdCountsRequest> ||
                      std::is_same_v<T, LocalEvaluationRequest>) {
          for (const EvalModel& m : r.models) names.push_back(m.dataset);
        }
      },
      request);
  return names;
}

// The fill vectors of a request (providers.hpp, "Missing values"), in slot
// order: slot 0 of a moments, logistic, SVM or deviance request; slot l =
// scorer l of a score histogram or Platt request; slot m·L + l = model m's
// scorer l of an evaluation request (L parts). `expected` is each slot's
// length (-1: not known here, a moments request's p; the provider checks it).
struct FillSlot {
  Eigen::VectorXd* fill = nullptr;
  std::int64_t expected = -1;
};

std::vector<FillSlot> FillSlotsOf(StatRequest& request) {
  std::vector<FillSlot> slots;
  std::visit(
      [&slots](auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, MomentsRequest>) {
          slots.push_back({&r.fill, -1});
        } else if constexpr (std::is_same_v<T, LogisticRequest> ||
                             std::is_same_v<T, DevianceRequest>) {
          slots.push_back({&r.fill, static_cast<std::int64_t>(r.center.size())});
        } else if constexpr (std::is_same_v<T, SvmRequest>) {
          slots.push_back({&r.fill, static_cast<std::int64_t>(r.columns.size())});
        } else if constexpr (std::is_same_v<T, ScoreHistogramRequest> ||
                             std::is_same_v<T, PlattRequest>) {
          for (auto& scorer : r.scorers) {
            slots.push_back({&scorer.fill, static_cast<std::int64_t>(scorer.columns.size())});
          }
        } else if constexpr (std::is_same_v<T, GridHistogramRequest> ||
                             std::is_same_v<T, PlacementSumsRequest> ||
                             std::is_same_v<T, ThresholdCountsRequest> ||
                             std::is_same_v<T, LocalEvaluationRequest>) {
          for (auto& model : r.models) {
            for (auto& scorer : model.scorers) {
              slots.push_back({&scorer.fill, static_cast<std::int64_t>(scorer.columns.size())});
            }
          }
        }
      },
      request);
  return slots;
}

// Dataset names are "" (a site's single table) or the protocol's name rule.
bool ValidDatasetName(const std::string& name) {
  if (name.empty()) return true;
  if (name.size() > 64) return false;
  const auto ok = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  };
  if (!std::all_of(name.begin(), name.end(), ok)) return false;
  return name[0] != '_' && name[0] != '.' && name[0] != '-';
}

// ---------------------------------------------------------------------------
// Encoder: appends each request's integers to `i64` and doubles to `f64`.
// ---------------------------------------------------------------------------
class BatchWriter {
 public:
  explicit BatchWriter(const std::map<std::string, std::int64_t>& dataset_index)
      : dataset_index_(dataset_index) {}
  Status Add(std::size_t index, const StatRequest& request, std::int64_t dataset) {
    where_ =
        "stats_batch request " + std::to_string(index) + " (" + TypeName(TypeCodeOf(request)) + ")";
    i64_.push_back(TypeCodeOf(request));
    i64_.push_back(dataset);
    return std::visit([this](const auto& r) { return Write(r); }, request);
  }
  std::vector<std::int64_t>& i64() { return i64_; }
  std::vector<double>& f64() { return f64_; }

 private:
  Status Fail(const std::string& what) const {
    return common::InvalidArgument(where_ + ": " + what);
  }
  Status Rows(const RowSubset& rows) {
    if (rows.kind != RowSubset::Kind::kAll && (rows.fold < 0 || rows.fold > kMaxIndex)) {
      return Fail("rows: a fold subset needs a fold id >= 0, got " + std::to_string(rows.fold));
    }
    if (rows.fold < -1) return Fail("rows: fold id " + std::to_string(rows.fold) + " < -1");
    if (rows.outer_fold < -1) {
      return Fail("rows: outer fold " + std::to_string(rows.outer_fold) + " < -1");
    }
    const std::int64_t kind = rows.kind == RowSubset::Kind::kAll           ? 0
                              : rows.kind == RowSubset::Kind::kTrainOfFold ? 1
                                                                           : 2;
    i64_.insert(i64_.end(), {kind, rows.fold, rows.outer_fold});
    return Status::Ok();
  }
  Status Columns(const std::vector<int>& columns, const std::string& what,
                 std::int64_t max = kMaxIndex) {
    std::set<int> seen;
    for (int c : columns) {
      if (c < 0 || c >= max) {
        return Fail(what + ": column " + std::to_string(c) + " outside [0, " +
                    std::to_string(max - 1) + "]");
      }
      if (!seen.insert(c).second) return Fail(what + ": column " + std::to_string(c) + " repeated");
      i64_.push_back(c);
    }
    return Status::Ok();
  }
  void Doubles(const Eigen::VectorXd& v) { f64_.insert(f64_.end(), v.data(), v.data() + v.size()); }
  Status Scorer(const LinearScorer& s, std::size_t part) {
    return Scorer(s, "scorer " + std::to_string(part));
  }
  Status Scorer(const LinearScorer& s, const std::string& what) {
    if (s.w.size() != static_cast<Eigen::Index>(s.columns.size())) {
      return Fail(what + ": w has " + std::to_string(s.w.size()) + " values, expected " +
                  std::to_string(s.columns.size()) + " (one per column)");
    }
    if (s.center.size() != s.scale.size() ||
        (s.center.size() != 0 && s.center.size() != s.w.size())) {
      return Fail(what + ": center and scale must both be empty or have " +
                  std::to_string(s.columns.size()) + " values, got " +
                  std::to_string(s.center.size()) + " and " + std::to_string(s.scale.size()));
    }
    i64_.push_back(static_cast<std::int64_t>(s.columns.size()));
    i64_.push_back(static_cast<std::int64_t>(s.center.size()));
    FEDRAD_RETURN_IF_ERROR(Columns(s.columns, what + " columns"));
    f64_.push_back(s.intercept);
    Doubles(s.center);
    Doubles(s.scale);
    Doubles(s.w);
    return Status::Ok();
  }
  Status Parts(const std::vector<RowSubset>& rows, const std::vector<LinearScorer>& scorers) {
    if (rows.size() != scorers.size()) {
      return Fail(std::to_string(rows.size()) + " row subsets but " +
                  std::to_string(scorers.size()) + " scorers (one per part)");
    }
    i64_.push_back(static_cast<std::int64_t>(rows.size()));
    for (std::size_t l = 0; l < rows.size(); ++l) {
      FEDRAD_RETURN_IF_ERROR(Rows(rows[l]));
      FEDRAD_RETURN_IF_ERROR(Scorer(scorers[l], l));
    }
    return Status::Ok();
  }

  Status Write(const MomentsRequest& r) { return Rows(r.rows); }
  Status Write(const ImputationSumsRequest& r) { return Rows(r.rows); }

 public:
  // The fill section after the last request (only when some request has a
  // fill, so a batch without imputation encodes as before): per non-empty
  // fill, i64 [request, slot, length] in increasing (request, slot) order,
  // f64 its values. Returns the number of fills.
  Result<std::int64_t> FillSection(const std::vector<StatRequest>& requests) {
    std::int64_t count = 0;
    for (std::size_t r = 0; r < requests.size(); ++r) {
      // Read only: the slots of a const request (no copy of the request).
      const std::vector<FillSlot> slots = FillSlotsOf(const_cast<StatRequest&>(requests[r]));
      for (std::size_t slot = 0; slot < slots.size(); ++slot) {
        const Eigen::VectorXd& fill = *slots[slot].fill;
        if (fill.size() == 0) continue;
        if (slots[slot].expected >= 0 && fill.size() != slots[slot].expected) {
          return common::InvalidArgument(
              "stats_batch request " + std::to_string(r) + " (" +
              TypeName(TypeCodeOf(requests[r])) + "): fill " + std::to_string(slot) + " has " +
              std::to_string(fill.size()) + " values, expected " +
              std::to_string(slots[slot].expected) + " (one per column)");
        }
        i64_.insert(i64_.end(), {static_cast<std::int64_t>(r), static_cast<std::int64_t>(slot),
                                 static_cast<std::int64_t>(fill.size())});
        Doubles(fill);
        ++count;
      }
    }
    return count;
  }

 private:
  Status Write(const LogisticRequest& r) {
    const auto p = r.beta.size();
    if (r.center.size() != p || r.scale.size() != p) {
      return Fail("center, scale and beta must have the same length, got " +
                  std::to_string(r.center.size()) + ", " + std::to_string(r.scale.size()) +
                  " and " + std::to_string(p));
    }
    FEDRAD_RETURN_IF_ERROR(Rows(r.rows));
    i64_.push_back(p);
    i64_.push_back(static_cast<std::int64_t>(r.hessian_columns.size()));
    FEDRAD_RETURN_IF_ERROR(Columns(r.hessian_columns, "hessian_columns", p));
    Doubles(r.center);
    Doubles(r.scale);
    f64_.push_back(r.intercept);
    Doubles(r.beta);
    return Status::Ok();
  }
  Status Write(const SvmRequest& r) {
    const auto k = static_cast<Eigen::Index>(r.columns.size());
    if (r.w.size() != k) {
      return Fail("w has " + std::to_string(r.w.size()) + " values, expected " + std::to_string(k) +
                  " (one per column)");
    }
    if (r.center.size() != r.scale.size() || (r.center.size() != 0 && r.center.size() != k)) {
      return Fail("center and scale must both be empty or have " + std::to_string(k) +
                  " values, got " + std::to_string(r.center.size()) + " and " +
                  std::to_string(r.scale.size()));
    }
    FEDRAD_RETURN_IF_ERROR(Rows(r.rows));
    i64_.push_back(r.loss == SvmLoss::kSquaredHinge ? 0 : 1);
    i64_.push_back(k);
    i64_.push_back(r.center.size());
    FEDRAD_RETURN_IF_ERROR(Columns(r.columns, "columns"));
    f64_.insert(f64_.end(), {r.huber_delta, r.bias_weight, r.bias_value});
    Doubles(r.center);
    Doubles(r.scale);
    Doubles(r.w);
    return Status::Ok();
  }
  Status Write(const DevianceRequest& r) {
    const auto p = r.center.size();
    const auto l = r.intercepts.size();
    if (r.scale.size() != p) {
      return Fail("center has " + std::to_string(p) + " values, scale " +
                  std::to_string(r.scale.size()));
    }
    if (r.betas.rows() != p || r.betas.cols() != l) {
      return Fail("betas is " + std::to_string(r.betas.rows()) + " x " +
                  std::to_string(r.betas.cols()) + ", expected " + std::to_string(p) + " x " +
                  std::to_string(l) + " (features x intercepts)");
    }
    FEDRAD_RETURN_IF_ERROR(Rows(r.rows));
    i64_.push_back(p);
    i64_.push_back(l);
    Doubles(r.center);
    Doubles(r.scale);
    Doubles(r.intercepts);
    f64_.insert(f64_.end(), r.betas.data(), r.betas.data() + r.betas.size());  // column-major
    return Status::Ok();
  }
  Status Write(const ScoreHistogramRequest& r) {
    if (r.bins < kMinBins || r.bins > kMaxBins) {
      return Fail("bins must be in [2, 65536], got " + std::to_string(r.bins));
    }
    i64_.push_back(r.bins);
    return Parts(r.rows, r.scorers);
  }
  Status Write(const PlattRequest& r) {
    f64_.insert(f64_.end(), {r.a, r.b, r.target_pos, r.target_neg});
    return Parts(r.rows, r.scorers);
  }
  // evaluation = parts R rows[parts] model[R]; model = dataset scorer[parts].
  Status Evaluation(const std::vector<RowSubset>& rows, const std::vector<EvalModel>& models) {
    if (models.empty() || models.size() > kMaxEvalModels) {
      return Fail(std::to_string(models.size()) + " models, expected 1.." +
                  std::to_string(kMaxEvalModels));
    }
    i64_.push_back(static_cast<std::int64_t>(rows.size()));
    i64_.push_back(static_cast<std::int64_t>(models.size()));
    for (const RowSubset& part : rows) FEDRAD_RETURN_IF_ERROR(Rows(part));
    for (std::size_t m = 0; m < models.size(); ++m) {
      const EvalModel& model = models[m];
      const std::string what = "model " + std::to_string(m);
      if (model.scorers.size() != rows.size()) {
        return Fail(what + " has " + std::to_string(model.scorers.size()) + " scorers for " +
                    std::to_string(rows.size()) + " parts (one per part)");
      }
      i64_.push_back(dataset_index_.at(model.dataset));
      for (std::size_t l = 0; l < model.scorers.size(); ++l) {
        FEDRAD_RETURN_IF_ERROR(Scorer(model.scorers[l], what + " scorer " + std::to_string(l)));
      }
    }
    return Status::Ok();
  }
  Status Write(const GridHistogramRequest& r) {
    if (r.grid_size < 2 || r.grid_size > kMaxGridSize) {
      return Fail("grid_size must be in [2, " + std::to_string(kMaxGridSize) + "], got " +
                  std::to_string(r.grid_size));
    }
    i64_.push_back(r.grid_size);
    return Evaluation(r.rows, r.models);
  }
  Status Write(const PlacementSumsRequest& r) {
    if (r.grid_size < 2 || r.grid_size > kMaxGridSize) {
      return Fail("grid_size must be in [2, " + std::to_string(kMaxGridSize) + "], got " +
                  std::to_string(r.grid_size));
    }
    i64_.push_back(r.grid_size);
    FEDRAD_RETURN_IF_ERROR(Evaluation(r.rows, r.models));
    const auto expected = 2 * static_cast<std::int64_t>(r.models.size()) * r.grid_size;
    if (static_cast<std::int64_t>(r.pooled_histograms.size()) != expected) {
      return Fail("pooled_histograms has " + std::to_string(r.pooled_histograms.size()) +
                  " values, expected 2 * " + std::to_string(r.models.size()) + " models * " +
                  std::to_string(r.grid_size) + " grid points = " + std::to_string(expected));
    }
    f64_.insert(f64_.end(), r.pooled_histograms.begin(), r.pooled_histograms.end());
    return Status::Ok();
  }
  Status Write(const ThresholdCountsRequest& r) {
    if (r.calibration_bins < 0 || r.calibration_bins > kMaxCalibrationBins) {
      return Fail("calibration_bins must be in [0, " + std::to_string(kMaxCalibrationBins) +
                  "], got " + std::to_string(r.calibration_bins));
    }
    i64_.push_back(r.calibration_bins);
    FEDRAD_RETURN_IF_ERROR(Evaluation(r.rows, r.models));
    if (r.thresholds.size() != r.models.size()) {
      return Fail(std::to_string(r.thresholds.size()) + " thresholds for " +
                  std::to_string(r.models.size()) + " models (one per model)");
    }
    f64_.insert(f64_.end(), r.thresholds.begin(), r.thresholds.end());
    return Status::Ok();
  }
  // local_evaluation: i64 grid_size bins max_iterations max_curve_points
  // evaluation; f64 thresholds[R] tolerance.
  Status Write(const LocalEvaluationRequest& r) {
    if (r.grid_size < 2 || r.grid_size > kMaxGridSize) {
      return Fail("grid_size must be in [2, " + std::to_string(kMaxGridSize) + "], got " +
                  std::to_string(r.grid_size));
    }
    if (r.calibration_bins < 0 || r.calibration_bins > kMaxCalibrationBins) {
      return Fail("calibration_bins must be in [0, " + std::to_string(kMaxCalibrationBins) +
                  "], got " + std::to_string(r.calibration_bins));
    }
    if (r.calibration_max_iterations < 1 || r.calibration_max_iterations > kMaxNewtonSteps) {
      return Fail("calibration_max_iterations must be in [1, " + std::to_string(kMaxNewtonSteps) +
                  "], got " + std::to_string(r.calibration_max_iterations));
    }
    if (r.max_curve_points < 2 || r.max_curve_points > kMaxCurvePoints) {
      return Fail("max_curve_points must be in [2, " + std::to_string(kMaxCurvePoints) + "], got " +
                  std::to_string(r.max_curve_points));
    }
    if (!(r.calibration_tolerance > 0.0)) {
      return Fail("calibration_tolerance must be > 0");
    }
    i64_.insert(i64_.end(), {r.grid_size, r.calibration_bins, r.calibration_max_iterations,
                             r.max_curve_points});
    FEDRAD_RETURN_IF_ERROR(Evaluation(r.rows, r.models));
    if (r.thresholds.size() != r.models.size()) {
      return Fail(std::to_string(r.thresholds.size()) + " thresholds for " +
                  std::to_string(r.models.size()) + " models (one per model)");
    }
    f64_.insert(f64_.end(), r.thresholds.begin(), r.thresholds.end());
    f64_.push_back(r.calibration_tolerance);
    return Status::Ok();
  }

  const std::map<std::string, std::int64_t>& dataset_index_;
  std::string where_;
  std::vector<std::int64_t> i64_;
  std::vector<double> f64_;
};

// ---------------------------------------------------------------------------
// Decoder: reads the streams back, checking every count against what is
// left before anything is allocated, and every enum and index.
// ---------------------------------------------------------------------------
class BatchReader {
 public:
  BatchReader(const std::vector<std::int64_t>& i64, const std::vector<double>& f64,
              const std::vector<std::string>& datasets)
      : i64_(i64), f64_(f64), datasets_(datasets) {}

  Result<StatRequest> Read(std::size_t index) {
    where_ = "stats_batch request " + std::to_string(index);
    std::int64_t type = 0;
    FEDRAD_RETURN_IF_ERROR(Int("type", kMoments, kImputationSums, &type));
    where_ += std::string(" (") + TypeName(type) + ")";
    std::int64_t dataset = 0;
    FEDRAD_RETURN_IF_ERROR(
        Int("dataset", 0, static_cast<std::int64_t>(datasets_.size()) - 1, &dataset));
    const std::string& name = datasets_[static_cast<std::size_t>(dataset)];
    switch (type) {
      case kMoments: {
        MomentsRequest r;
        r.dataset = name;
        FEDRAD_RETURN_IF_ERROR(Rows("rows", &r.rows));
        return StatRequest(std::move(r));
      }
      case kImputationSums: {
        ImputationSumsRequest r;
        r.dataset = name;
        FEDRAD_RETURN_IF_ERROR(Rows("rows", &r.rows));
        return StatRequest(std::move(r));
      }
      case kLogistic: {
        LogisticRequest r;
        r.dataset = name;
        FEDRAD_RETURN_IF_ERROR(Rows("rows", &r.rows));
        std::int64_t p = 0;
        std::int64_t k = 0;
        FEDRAD_RETURN_IF_ERROR(Int("p", 0, kMaxIndex, &p));
        FEDRAD_RETURN_IF_ERROR(Int("hessian column count", 0, p, &k));
        FEDRAD_RETURN_IF_ERROR(Columns("hessian_columns", k, p, &r.hessian_columns));
        FEDRAD_RETURN_IF_ERROR(Doubles("center", p, &r.center));
        FEDRAD_RETURN_IF_ERROR(Doubles("scale", p, &r.scale));
        FEDRAD_RETURN_IF_ERROR(Double("intercept", &r.intercept));
        FEDRAD_RETURN_IF_ERROR(Doubles("beta", p, &r.beta));
        return StatRequest(std::move(r));
      }
      case kSvm: {
        SvmRequest r;
        r.dataset = name;
        FEDRAD_RETURN_IF_ERROR(Rows("rows", &r.rows));
        std::int64_t loss = 0;
        std::int64_t k = 0;
        std::int64_t c = 0;
        FEDRAD_RETURN_IF_ERROR(Int("loss", 0, 1, &loss));
        r.loss = loss == 0 ? SvmLoss::kSquaredHinge : SvmLoss::kHuberHinge;
        FEDRAD_RETURN_IF_ERROR(Int("column count", 0, kMaxIndex, &k));
        FEDRAD_RETURN_IF_ERROR(Int("standardisation length", 0, k, &c));
        if (c != 0 && c != k) {
          return Fail("standardisation length must be 0 or " + std::to_string(k) +
                      " (the column count), got " + std::to_string(c));
        }
        FEDRAD_RETURN_IF_ERROR(Columns("columns", k, kMaxIndex, &r.columns));
        FEDRAD_RETURN_IF_ERROR(Double("huber_delta", &r.huber_delta));
        FEDRAD_RETURN_IF_ERROR(Double("bias_weight", &r.bias_weight));
        FEDRAD_RETURN_IF_ERROR(Double("bias_value", &r.bias_value));
        FEDRAD_RETURN_IF_ERROR(Doubles("center", c, &r.center));
        FEDRAD_RETURN_IF_ERROR(Doubles("scale", c, &r.scale));
        FEDRAD_RETURN_IF_ERROR(Doubles("w", k, &r.w));
        return StatRequest(std::move(r));
      }
      case kDeviance: {
        DevianceRequest r;
        r.dataset = name;
        FEDRAD_RETURN_IF_ERROR(Rows("rows", &r.rows));
        std::int64_t p = 0;
        std::int64_t l = 0;
        FEDRAD_RETURN_IF_ERROR(Int("p", 0, kMaxIndex, &p));
        FEDRAD_RETURN_IF_ERROR(Int("coefficient vector count", 0, kMaxIndex, &l));
        FEDRAD_RETURN_IF_ERROR(Doubles("center", p, &r.center));
        FEDRAD_RETURN_IF_ERROR(Doubles("scale", p, &r.scale));
        FEDRAD_RETURN_IF_ERROR(Doubles("intercepts", l, &r.intercepts));
        // p * l is checked against what is left without overflow.
        const auto left = static_cast<std::int64_t>(f64_.size() - f64_pos_);
        if (p > 0 && l > left / p) {
          return Fail("betas needs " + std::to_string(p) + " x " + std::to_string(l) +
                      " values at f64[" + std::to_string(f64_pos_) + "], only " +
                      std::to_string(left) + " remain");
        }
        r.betas.resize(p, l);
        for (Eigen::Index i = 0; i < r.betas.size(); ++i) r.betas.data()[i] = f64_[f64_pos_++];
        return StatRequest(std::move(r));
      }
      case kScoreHistogram: {
        ScoreHistogramRequest r;
        r.dataset = name;
        std::int64_t bins = 0;
        FEDRAD_RETURN_IF_ERROR(Int("bins", kMinBins, kMaxBins, &bins));
        r.bins = static_cast<int>(bins);
        FEDRAD_RETURN_IF_ERROR(Parts(&r.rows, &r.scorers));
        return StatRequest(std::move(r));
      }
      case kGridHistogram: {
        GridHistogramRequest r;
        r.dataset = name;
        FEDRAD_RETURN_IF_ERROR(Int("grid_size", 2, kMaxGridSize, &r.grid_size));
        FEDRAD_RETURN_IF_ERROR(Evaluation(&r.rows, &r.models));
        return StatRequest(std::move(r));
      }
      case kPlacementSums: {
        PlacementSumsRequest r;
        r.dataset = name;
        FEDRAD_RETURN_IF_ERROR(Int("grid_size", 2, kMaxGridSize, &r.grid_size));
        FEDRAD_RETURN_IF_ERROR(Evaluation(&r.rows, &r.models));
        // R ≤ 64 and G ≤ kMaxGridSize: no overflow.
        const auto count = 2 * static_cast<std::int64_t>(r.models.size()) * r.grid_size;
        const auto left = static_cast<std::int64_t>(f64_.size() - f64_pos_);
        if (count > left) {
          return Fail("pooled_histograms needs " + std::to_string(count) + " values at f64[" +
                      std::to_string(f64_pos_) + "], only " + std::to_string(left) + " remain");
        }
        r.pooled_histograms.assign(f64_.begin() + static_cast<std::ptrdiff_t>(f64_pos_),
                                   f64_.begin() + static_cast<std::ptrdiff_t>(f64_pos_ + count));
        f64_pos_ += static_cast<std::size_t>(count);
        return StatRequest(std::move(r));
      }
      case kThresholdCounts: {
        ThresholdCountsRequest r;
        r.dataset = name;
        std::int64_t bins = 0;
        FEDRAD_RETURN_IF_ERROR(Int("calibration_bins", 0, kMaxCalibrationBins, &bins));
        r.calibration_bins = static_cast<int>(bins);
        FEDRAD_RETURN_IF_ERROR(Evaluation(&r.rows, &r.models));
        Eigen::VectorXd thresholds;
        FEDRAD_RETURN_IF_ERROR(
            Doubles("thresholds", static_cast<std::int64_t>(r.models.size()), &thresholds));
        r.thresholds.assign(thresholds.data(), thresholds.data() + thresholds.size());
        return StatRequest(std::move(r));
      }
      case kLocalEvaluation: {
        LocalEvaluationRequest r;
        r.dataset = name;
        std::int64_t bins = 0;
        std::int64_t iterations = 0;
        std::int64_t points = 0;
        FEDRAD_RETURN_IF_ERROR(Int("grid_size", 2, kMaxGridSize, &r.grid_size));
        FEDRAD_RETURN_IF_ERROR(Int("calibration_bins", 0, kMaxCalibrationBins, &bins));
        FEDRAD_RETURN_IF_ERROR(Int("calibration_max_iterations", 1, kMaxNewtonSteps, &iterations));
        FEDRAD_RETURN_IF_ERROR(Int("max_curve_points", 2, kMaxCurvePoints, &points));
        r.calibration_bins = static_cast<int>(bins);
        r.calibration_max_iterations = static_cast<int>(iterations);
        r.max_curve_points = static_cast<int>(points);
        FEDRAD_RETURN_IF_ERROR(Evaluation(&r.rows, &r.models));
        Eigen::VectorXd thresholds;
        FEDRAD_RETURN_IF_ERROR(
            Doubles("thresholds", static_cast<std::int64_t>(r.models.size()), &thresholds));
        r.thresholds.assign(thresholds.data(), thresholds.data() + thresholds.size());
        FEDRAD_RETURN_IF_ERROR(Double("calibration_tolerance", &r.calibration_tolerance));
        if (!(r.calibration_tolerance > 0.0)) {
          return Fail("calibration_tolerance must be > 0");
        }
        return StatRequest(std::move(r));
      }
      default: {  // kPlatt (Int() checked the range)
        PlattRequest r;
        r.dataset = name;
        FEDRAD_RETURN_IF_ERROR(Double("a", &r.a));
        FEDRAD_RETURN_IF_ERROR(Double("b", &r.b));
        FEDRAD_RETURN_IF_ERROR(Double("target_pos", &r.target_pos));
        FEDRAD_RETURN_IF_ERROR(Double("target_neg", &r.target_neg));
        FEDRAD_RETURN_IF_ERROR(Parts(&r.rows, &r.scorers));
        return StatRequest(std::move(r));
      }
    }
  }

  // The fill section (see BatchWriter::FillSection): `count` fills.
  Status Fills(std::int64_t count, std::vector<StatRequest>* requests) {
    where_ = "stats_batch fills";
    std::int64_t last_request = -1;
    std::int64_t last_slot = -1;
    for (std::int64_t f = 0; f < count; ++f) {
      const std::string what = "fill " + std::to_string(f) + " ";
      std::int64_t request = 0;
      std::int64_t slot = 0;
      std::int64_t length = 0;
      FEDRAD_RETURN_IF_ERROR(Int(what + "request", std::max<std::int64_t>(last_request, 0),
                                 static_cast<std::int64_t>(requests->size()) - 1, &request));
      std::vector<FillSlot> slots = FillSlotsOf((*requests)[static_cast<std::size_t>(request)]);
      const std::int64_t first_slot = request == last_request ? last_slot + 1 : 0;
      FEDRAD_RETURN_IF_ERROR(Int(what + "slot (of request " + std::to_string(request) + ")",
                                 first_slot, static_cast<std::int64_t>(slots.size()) - 1, &slot));
      const FillSlot& target = slots[static_cast<std::size_t>(slot)];
      FEDRAD_RETURN_IF_ERROR(Int(what + "length", target.expected >= 0 ? target.expected : 1,
                                 target.expected >= 0 ? target.expected : kMaxIndex, &length));
      if (length == 0) return Fail(what + "is empty (an empty fill is not sent)");
      FEDRAD_RETURN_IF_ERROR(Doubles(what + "values", length, target.fill));
      last_request = request;
      last_slot = slot;
    }
    return Status::Ok();
  }

  Status Finish() const {
    if (i64_pos_ != i64_.size()) {
      return common::ProtocolError("stats_batch: " + std::to_string(i64_.size() - i64_pos_) +
                                   " unread values at the end of array 'i64' (" +
                                   std::to_string(i64_.size()) + " values)");
    }
    if (f64_pos_ != f64_.size()) {
      return common::ProtocolError("stats_batch: " + std::to_string(f64_.size() - f64_pos_) +
                                   " unread values at the end of array 'f64' (" +
                                   std::to_string(f64_.size()) + " values)");
    }
    return Status::Ok();
  }

 private:
  Status Fail(const std::string& what) const { return common::ProtocolError(where_ + ": " + what); }

  Status Int(const std::string& field, std::int64_t min, std::int64_t max, std::int64_t* out) {
    if (i64_pos_ >= i64_.size()) {
      return Fail(field + ": array 'i64' ends at " + std::to_string(i64_.size()) + " values");
    }
    const std::int64_t v = i64_[i64_pos_];
    if (v < min || v > max) {
      return Fail(field + " is " + std::to_string(v) + " at i64[" + std::to_string(i64_pos_) +
                  "], expected [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    }
    ++i64_pos_;
    *out = v;
    return Status::Ok();
  }

  Status Rows(const std::string& field, RowSubset* rows) {
    std::int64_t kind = 0;
    std::int64_t fold = 0;
    std::int64_t outer = 0;
    FEDRAD_RETURN_IF_ERROR(Int(field + " kind", 0, 2, &kind));
    FEDRAD_RETURN_IF_ERROR(Int(field + " fold", kind == 0 ? -1 : 0, kMaxIndex, &fold));
    FEDRAD_RETURN_IF_ERROR(Int(field + " outer fold", -1, kMaxIndex, &outer));
    rows->kind = kind == 0   ? RowSubset::Kind::kAll
                 : kind == 1 ? RowSubset::Kind::kTrainOfFold
                             : RowSubset::Kind::kTestOfFold;
    rows->fold = static_cast<int>(fold);
    rows->outer_fold = static_cast<int>(outer);
    return Status::Ok();
  }

  // `count` distinct column indices in [0, max) (max = kMaxIndex: unbounded
  // here, the provider checks them against the dataset's width).
  Status Columns(const std::string& field, std::int64_t count, std::int64_t max,
                 std::vector<int>* out) {
    const auto left = static_cast<std::int64_t>(i64_.size() - i64_pos_);
    if (count > left) {
      return Fail(field + " needs " + std::to_string(count) + " values at i64[" +
                  std::to_string(i64_pos_) + "], only " + std::to_string(left) + " remain");
    }
    out->reserve(static_cast<std::size_t>(count));
    std::set<std::int64_t> seen;
    for (std::int64_t k = 0; k < count; ++k) {
      const std::int64_t v = i64_[i64_pos_];
      if (v < 0 || v >= max) {
        return Fail(field + " item " + std::to_string(k) + " is " + std::to_string(v) +
                    ", expected [0, " + std::to_string(max - 1) + "]");
      }
      if (!seen.insert(v).second) {
        return Fail(field + " item " + std::to_string(k) + ": column " + std::to_string(v) +
                    " repeated");
      }
      out->push_back(static_cast<int>(v));
      ++i64_pos_;
    }
    return Status::Ok();
  }

  Status Double(const std::string& field, double* out) {
    if (f64_pos_ >= f64_.size()) {
      return Fail(field + ": array 'f64' ends at " + std::to_string(f64_.size()) + " values");
    }
    *out = f64_[f64_pos_++];
    return Status::Ok();
  }

  Status Doubles(const std::string& field, std::int64_t count, Eigen::VectorXd* out) {
    const auto left = static_cast<std::int64_t>(f64_.size() - f64_pos_);
    if (count > left) {
      return Fail(field + " needs " + std::to_string(count) + " values at f64[" +
                  std::to_string(f64_pos_) + "], only " + std::to_string(left) + " remain");
    }
    out->resize(count);
    for (std::int64_t k = 0; k < count; ++k) (*out)[k] = f64_[f64_pos_++];
    return Status::Ok();
  }

  // scorer = k c columns[k]; f64 intercept center[c] scale[c] w[k].
  Status Scorer(const std::string& prefix, LinearScorer* s) {
    std::int64_t k = 0;
    std::int64_t c = 0;
    FEDRAD_RETURN_IF_ERROR(Int(prefix + "column count", 0, kMaxIndex, &k));
    FEDRAD_RETURN_IF_ERROR(Int(prefix + "standardisation length", 0, k, &c));
    if (c != 0 && c != k) {
      return Fail(prefix + "standardisation length must be 0 or " + std::to_string(k) +
                  " (the column count), got " + std::to_string(c));
    }
    FEDRAD_RETURN_IF_ERROR(Columns(prefix + "columns", k, kMaxIndex, &s->columns));
    FEDRAD_RETURN_IF_ERROR(Double(prefix + "intercept", &s->intercept));
    FEDRAD_RETURN_IF_ERROR(Doubles(prefix + "center", c, &s->center));
    FEDRAD_RETURN_IF_ERROR(Doubles(prefix + "scale", c, &s->scale));
    FEDRAD_RETURN_IF_ERROR(Doubles(prefix + "w", k, &s->w));
    return Status::Ok();
  }

  // evaluation = parts R rows[parts] model[R] (see the writer).
  Status Evaluation(std::vector<RowSubset>* rows, std::vector<EvalModel>* models) {
    std::int64_t parts = 0;
    std::int64_t count = 0;
    FEDRAD_RETURN_IF_ERROR(Int("part count", 0, kMaxIndex, &parts));
    FEDRAD_RETURN_IF_ERROR(Int("model count", 1, kMaxModels, &count));
    // Each part takes 3 integers (rows) and, per model, at least 2 more
    // (a scorer): bounds the count by the stream before allocating.
    const auto left = static_cast<std::int64_t>(i64_.size() - i64_pos_);
    if (parts > left / (3 + 2 * count)) {
      return Fail(std::to_string(parts) + " parts of " + std::to_string(count) +
                  " models need at least " + std::to_string(parts * (3 + 2 * count)) +
                  " values at i64[" + std::to_string(i64_pos_) + "], only " + std::to_string(left) +
                  " remain");
    }
    rows->resize(static_cast<std::size_t>(parts));
    for (std::int64_t l = 0; l < parts; ++l) {
      FEDRAD_RETURN_IF_ERROR(
          Rows("part " + std::to_string(l) + " rows", &(*rows)[static_cast<std::size_t>(l)]));
    }
    models->resize(static_cast<std::size_t>(count));
    for (std::int64_t m = 0; m < count; ++m) {
      EvalModel& model = (*models)[static_cast<std::size_t>(m)];
      const std::string what = "model " + std::to_string(m) + " ";
      std::int64_t dataset = 0;
      FEDRAD_RETURN_IF_ERROR(
          Int(what + "dataset", 0, static_cast<std::int64_t>(datasets_.size()) - 1, &dataset));
      model.dataset = datasets_[static_cast<std::size_t>(dataset)];
      model.scorers.resize(static_cast<std::size_t>(parts));
      for (std::int64_t l = 0; l < parts; ++l) {
        FEDRAD_RETURN_IF_ERROR(Scorer(what + "scorer " + std::to_string(l) + " ",
                                      &model.scorers[static_cast<std::size_t>(l)]));
      }
    }
    return Status::Ok();
  }

  Status Parts(std::vector<RowSubset>* rows, std::vector<LinearScorer>* scorers) {
    std::int64_t parts = 0;
    // Each part takes at least 5 integers: bounds the count by the stream.
    FEDRAD_RETURN_IF_ERROR(Int("part count", 0, kMaxIndex, &parts));
    const auto left = static_cast<std::int64_t>(i64_.size() - i64_pos_);
    if (parts > left / 5) {
      return Fail(std::to_string(parts) + " parts need at least " + std::to_string(5 * parts) +
                  " values at i64[" + std::to_string(i64_pos_) + "], only " + std::to_string(left) +
                  " remain");
    }
    rows->resize(static_cast<std::size_t>(parts));
    scorers->resize(static_cast<std::size_t>(parts));
    for (std::int64_t l = 0; l < parts; ++l) {
      const std::string part = "part " + std::to_string(l) + " ";
      LinearScorer& s = (*scorers)[static_cast<std::size_t>(l)];
      FEDRAD_RETURN_IF_ERROR(Rows(part + "rows", &(*rows)[static_cast<std::size_t>(l)]));
      std::int64_t k = 0;
      std::int64_t c = 0;
      FEDRAD_RETURN_IF_ERROR(Int(part + "column count", 0, kMaxIndex, &k));
      FEDRAD_RETURN_IF_ERROR(Int(part + "standardisation length", 0, k, &c));
      if (c != 0 && c != k) {
        return Fail(part + "standardisation length must be 0 or " + std::to_string(k) +
                    " (the column count), got " + std::to_string(c));
      }
      FEDRAD_RETURN_IF_ERROR(Columns(part + "columns", k, kMaxIndex, &s.columns));
      FEDRAD_RETURN_IF_ERROR(Double(part + "intercept", &s.intercept));
      FEDRAD_RETURN_IF_ERROR(Doubles(part + "center", c, &s.center));
      FEDRAD_RETURN_IF_ERROR(Doubles(part + "scale", c, &s.scale));
      FEDRAD_RETURN_IF_ERROR(Doubles(part + "w", k, &s.w));
    }
    return Status::Ok();
  }

  const std::vector<std::int64_t>& i64_;
  const std::vector<double>& f64_;
  const std::vector<std::string>& datasets_;
  std::size_t i64_pos_ = 0;
  std::size_t f64_pos_ = 0;
  std::string where_;
};

// The array named `name` of `arrays` at position `index` with `dtype` and a
// one-dimensional shape.
Result<const Array*> OneDim(const std::vector<Array>& arrays, std::size_t index,
                            const std::string& name, DType dtype, const std::string& what) {
  if (index >= arrays.size() || arrays[index].name != name) {
    return common::ProtocolError(what + ": array " + std::to_string(index) + " must be '" + name +
                                 "'");
  }
  const Array& a = arrays[index];
  if (a.dtype != dtype || a.shape.size() != 1) {
    return common::ProtocolError(what + ": array '" + name + "' must be one-dimensional " +
                                 (dtype == DType::kF64 ? "f64" : "i64"));
  }
  return &a;
}

}  // namespace

Result<protocols::RoundRequest> EncodeStatsBatch(const std::string& job_id, std::int64_t round_id,
                                                 const std::vector<StatRequest>& requests) {
  if (requests.empty() || requests.size() > kMaxBatchRequests) {
    return common::InvalidArgument("stats_batch: " + std::to_string(requests.size()) +
                                   " requests, expected 1.." + std::to_string(kMaxBatchRequests));
  }
  std::vector<std::string> datasets;
  std::map<std::string, std::int64_t> dataset_index;
  BatchWriter writer(dataset_index);
  for (std::size_t r = 0; r < requests.size(); ++r) {
    for (const std::string& name : DatasetsOf(requests[r])) {
      if (dataset_index.count(name) != 0) continue;
      if (!ValidDatasetName(name)) {
        return common::InvalidArgument("stats_batch request " + std::to_string(r) +
                                       ": dataset name '" + name +
                                       "' is neither empty nor a valid name");
      }
      if (datasets.size() == kMaxDatasets) {
        return common::InvalidArgument("stats_batch: more than " + std::to_string(kMaxDatasets) +
                                       " datasets in one batch");
      }
      dataset_index.emplace(name, static_cast<std::int64_t>(datasets.size()));
      datasets.push_back(name);
    }
    FEDRAD_RETURN_IF_ERROR(writer.Add(r, requests[r], dataset_index.at(DatasetOf(requests[r]))));
  }
  FEDRAD_ASSIGN_OR_RETURN(const std::int64_t fills, writer.FillSection(requests));
  for (double v : writer.f64()) {
    if (!std::isfinite(v)) {
      return common::InvalidArgument("stats_batch: a request holds a non-finite number");
    }
  }
  if (writer.i64().size() > static_cast<std::size_t>(protocols::kMaxArrayElements) ||
      writer.f64().size() > static_cast<std::size_t>(protocols::kMaxArrayElements)) {
    return common::ResourceExhausted("stats_batch: the batch exceeds " +
                                     std::to_string(protocols::kMaxArrayElements) +
                                     " values per array");
  }
  protocols::RoundRequest message;
  message.job_id = job_id;
  message.round_id = round_id;
  message.statistic = kStatsBatchStatistic;
  message.parameters = nlohmann::json{{"requests", requests.size()}, {"datasets", datasets}};
  if (fills > 0) message.parameters["fills"] = fills;
  const auto ni = static_cast<std::int64_t>(writer.i64().size());
  const auto nf = static_cast<std::int64_t>(writer.f64().size());
  message.arrays.push_back(Array::I64("i64", {ni}, std::move(writer.i64())));
  message.arrays.push_back(Array::F64("f64", {nf}, std::move(writer.f64())));
  return message;
}

Result<std::vector<StatRequest>> DecodeStatsBatch(const protocols::RoundRequest& message) {
  const std::string what = "stats_batch";
  if (message.statistic != kStatsBatchStatistic) {
    return common::ProtocolError(what + ": statistic is '" + message.statistic + "'");
  }
  const nlohmann::json& params = message.parameters;
  if (!params.is_object()) return common::ProtocolError(what + ": parameters is not an object");
  // "secure" marks step 0 of a secure round (docs/protocol.md 6.5); it is
  // checked by stats/secure_round.hpp (PlainBatchRequest), not here.
  for (const auto& item : params.items()) {
    if (item.key() != "requests" && item.key() != "datasets" && item.key() != "secure" &&
        item.key() != "fills") {
      return common::ProtocolError(what + ": unexpected parameter '" + item.key() +
                                   "' (expected requests, datasets, fills, secure)");
    }
  }
  const auto requests_it = params.find("requests");
  if (requests_it == params.end() || !requests_it->is_number_integer()) {
    return common::ProtocolError(what + ": parameter 'requests' must be an integer");
  }
  const auto count = requests_it->get<std::int64_t>();
  if (count < 1 || count > static_cast<std::int64_t>(kMaxBatchRequests)) {
    return common::ProtocolError(what + ": parameter 'requests' is " + std::to_string(count) +
                                 ", expected 1.." + std::to_string(kMaxBatchRequests));
  }
  const auto datasets_it = params.find("datasets");
  if (datasets_it == params.end() || !datasets_it->is_array() || datasets_it->empty() ||
      datasets_it->size() > kMaxDatasets) {
    return common::ProtocolError(what + ": parameter 'datasets' must be an array of 1.." +
                                 std::to_string(kMaxDatasets) + " names");
  }
  std::vector<std::string> datasets;
  for (std::size_t d = 0; d < datasets_it->size(); ++d) {
    const nlohmann::json& name = (*datasets_it)[d];
    if (!name.is_string() || !ValidDatasetName(name.get<std::string>())) {
      return common::ProtocolError(what + ": datasets item " + std::to_string(d) +
                                   " is not \"\" or a valid name");
    }
    if (std::find(datasets.begin(), datasets.end(), name.get<std::string>()) != datasets.end()) {
      return common::ProtocolError(what + ": datasets item " + std::to_string(d) + " '" +
                                   name.get<std::string>() + "' repeated");
    }
    datasets.push_back(name.get<std::string>());
  }
  if (message.arrays.size() != 2) {
    return common::ProtocolError(what + ": expected arrays 'i64' and 'f64', got " +
                                 std::to_string(message.arrays.size()) + " arrays");
  }
  FEDRAD_ASSIGN_OR_RETURN(const Array* i64, OneDim(message.arrays, 0, "i64", DType::kI64, what));
  FEDRAD_ASSIGN_OR_RETURN(const Array* f64, OneDim(message.arrays, 1, "f64", DType::kF64, what));

  BatchReader reader(i64->i64, f64->f64, datasets);
  std::vector<StatRequest> out;
  out.reserve(static_cast<std::size_t>(count));
  for (std::int64_t r = 0; r < count; ++r) {
    FEDRAD_ASSIGN_OR_RETURN(StatRequest request, reader.Read(static_cast<std::size_t>(r)));
    out.push_back(std::move(request));
  }
  if (const auto fills = params.find("fills"); fills != params.end()) {
    // At most one fill per value of the i64 stream's triples.
    if (!fills->is_number_integer() || fills->get<std::int64_t>() < 1 ||
        fills->get<std::int64_t>() > static_cast<std::int64_t>(i64->i64.size() / 3)) {
      return common::ProtocolError(what +
                                   ": parameter 'fills' must be an integer in [1, i64 values / 3]");
    }
    FEDRAD_RETURN_IF_ERROR(reader.Fills(fills->get<std::int64_t>(), &out));
  }
  FEDRAD_RETURN_IF_ERROR(reader.Finish());
  return out;
}

Result<protocols::RoundReply> EncodeStatsResults(const std::string& job_id, std::int64_t round_id,
                                                 const std::vector<std::vector<double>>& results) {
  if (results.empty() || results.size() > kMaxBatchRequests) {
    return common::InvalidArgument("stats_batch reply: " + std::to_string(results.size()) +
                                   " results, expected 1.." + std::to_string(kMaxBatchRequests));
  }
  std::vector<std::int64_t> sizes;
  std::vector<double> values;
  std::size_t total = 0;
  for (const auto& r : results) total += r.size();
  if (total > static_cast<std::size_t>(protocols::kMaxArrayElements)) {
    return common::ResourceExhausted("stats_batch reply: " + std::to_string(total) +
                                     " values, limit " +
                                     std::to_string(protocols::kMaxArrayElements));
  }
  values.reserve(total);
  for (std::size_t r = 0; r < results.size(); ++r) {
    for (std::size_t i = 0; i < results[r].size(); ++i) {
      if (!std::isfinite(results[r][i])) {
        return common::InvalidArgument("stats_batch reply: result " + std::to_string(r) +
                                       " has a non-finite value at index " + std::to_string(i));
      }
    }
    sizes.push_back(static_cast<std::int64_t>(results[r].size()));
    values.insert(values.end(), results[r].begin(), results[r].end());
  }
  protocols::RoundReply reply;
  reply.job_id = job_id;
  reply.round_id = round_id;
  reply.statistic = kStatsBatchStatistic;
  const auto n = static_cast<std::int64_t>(sizes.size());
  const auto t = static_cast<std::int64_t>(values.size());
  reply.arrays.push_back(Array::I64("sizes", {n}, std::move(sizes)));
  reply.arrays.push_back(Array::F64("f64", {t}, std::move(values)));
  return reply;
}

Result<std::vector<std::vector<double>>> DecodeStatsResults(
    const protocols::RoundReply& message, const std::vector<std::size_t>& expected_sizes) {
  const std::string what = "stats_batch reply";
  if (message.statistic != kStatsBatchStatistic) {
    return common::ProtocolError(what + ": statistic is '" + message.statistic + "'");
  }
  if (message.arrays.size() != 2) {
    return common::ProtocolError(what + ": expected arrays 'sizes' and 'f64', got " +
                                 std::to_string(message.arrays.size()) + " arrays");
  }
  FEDRAD_ASSIGN_OR_RETURN(const Array* sizes,
                          OneDim(message.arrays, 0, "sizes", DType::kI64, what));
  FEDRAD_ASSIGN_OR_RETURN(const Array* values, OneDim(message.arrays, 1, "f64", DType::kF64, what));
  if (sizes->i64.size() != expected_sizes.size()) {
    return common::ProtocolError(what + ": " + std::to_string(sizes->i64.size()) +
                                 " results, expected " + std::to_string(expected_sizes.size()) +
                                 " (one per request)");
  }
  std::size_t total = 0;
  for (std::size_t r = 0; r < expected_sizes.size(); ++r) {
    if (sizes->i64[r] < 0 || static_cast<std::size_t>(sizes->i64[r]) != expected_sizes[r]) {
      return common::ProtocolError(what + ": result " + std::to_string(r) + " has " +
                                   std::to_string(sizes->i64[r]) + " values, expected " +
                                   std::to_string(expected_sizes[r]));
    }
    total += expected_sizes[r];
  }
  if (values->f64.size() != total) {
    return common::ProtocolError(what + ": array 'f64' has " + std::to_string(values->f64.size()) +
                                 " values, the sizes add up to " + std::to_string(total));
  }
  std::vector<std::vector<double>> out(expected_sizes.size());
  std::size_t pos = 0;
  for (std::size_t r = 0; r < expected_sizes.size(); ++r) {
    out[r].assign(values->f64.begin() + static_cast<std::ptrdiff_t>(pos),
                  values->f64.begin() + static_cast<std::ptrdiff_t>(pos + expected_sizes[r]));
    pos += expected_sizes[r];
  }
  return out;
}

}  // namespace fedrad::site_agent::stats

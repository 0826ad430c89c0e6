#include "fedrad/site_agent/policy.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <iterator>
#include <sstream>
#include <variant>

#include "fedrad/common/files.hpp"
#include "fedrad/common/hash.hpp"
#include "fedrad/common/json_reader.hpp"
#include "fedrad/common/logging.hpp"
#include "fedrad/common/sodium_init.hpp"
#include "fedrad/protocols/study_spec.hpp"

namespace fedrad::site_agent {

using common::Result;
using common::Status;
using stats::RowSubset;

namespace {

bool IsSha256Hex(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool ParseKind(const std::string& name, StatKind* kind) {
  for (StatKind k : AllStatKinds()) {
    if (name == StatKindName(k)) {
      *kind = k;
      return true;
    }
  }
  return false;
}

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

std::string PolicyName(const Policy& policy) {
  if (policy.from_file) return policy.source_path;
  return policy.source_path.empty()
             ? std::string("the default policy (no policy file)")
             : "the default policy (no policy file at " + policy.source_path + ")";
}

// "rule K of POLICY": how every refusal names the rule it applies.
std::string RuleOf(const Policy& policy, const std::string& key) {
  return "rule " + key + " of " + PolicyName(policy);
}

common::Status Refuse(const std::string& key, std::string* rule, std::string text) {
  if (rule != nullptr) *rule = key;
  return common::PermissionDenied(std::move(text));
}

std::string DescribeRows(const RowSubset& subset) {
  std::string text;
  switch (subset.kind) {
    case RowSubset::Kind::kAll:
      text = "all rows";
      break;
    case RowSubset::Kind::kTrainOfFold:
      text = "training rows of fold " + std::to_string(subset.fold);
      break;
    case RowSubset::Kind::kTestOfFold:
      text = "test rows of fold " + std::to_string(subset.fold);
      break;
  }
  if (subset.outer_fold >= 0) {
    text += " (inner folds, within the training part of outer fold " +
            std::to_string(subset.outer_fold) + ")";
  }
  return text;
}

// Rows and class counts of one group of rows.
struct GroupCount {
  std::int64_t rows = 0;
  std::int64_t positives = 0;
};

// The groups whose sums a request on `subset` releases or lets the
// coordinator derive: the subset, its complement within the same fold, and
// for a nested subset the outer fold's own rows. Each with a description.
Result<std::vector<std::pair<std::string, GroupCount>>> GroupsOf(const stats::LocalTable& table,
                                                                 const RowSubset& subset) {
  std::vector<std::pair<std::string, GroupCount>> groups;
  auto count = [&](const RowSubset& s, const std::string& what) -> Status {
    FEDRAD_ASSIGN_OR_RETURN(auto rows, stats::SelectRows(table, s));
    GroupCount c;
    c.rows = static_cast<std::int64_t>(rows.size());
    for (Eigen::Index i : rows) c.positives += table.y(i) > 0.5 ? 1 : 0;
    groups.emplace_back(what, c);
    return Status::Ok();
  };
  FEDRAD_RETURN_IF_ERROR(count(subset, DescribeRows(subset)));
  if (subset.kind != RowSubset::Kind::kAll) {
    RowSubset other = subset;
    other.kind = subset.kind == RowSubset::Kind::kTrainOfFold ? RowSubset::Kind::kTestOfFold
                                                              : RowSubset::Kind::kTrainOfFold;
    FEDRAD_RETURN_IF_ERROR(
        count(other, DescribeRows(other) + ", the complement of " + DescribeRows(subset)));
  }
  if (subset.outer_fold >= 0) {
    const auto& ids = table.inner_fold[static_cast<std::size_t>(subset.outer_fold)];
    GroupCount c;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0) {
        ++c.rows;
        c.positives += table.y(static_cast<Eigen::Index>(i)) > 0.5 ? 1 : 0;
      }
    }
    groups.emplace_back("rows of outer fold " + std::to_string(subset.outer_fold) +
                            ", the complement of its training part",
                        c);
  }
  return groups;
}

std::vector<RowSubset> SubsetsOf(const stats::StatRequest& request) {
  return std::visit(
      [](const auto& r) -> std::vector<RowSubset> {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, stats::ScoreHistogramRequest> ||
                      std::is_same_v<T, stats::PlattRequest>) {
          return r.rows;
        } else {
          return {r.rows};
        }
      },
      request);
}

bool Safe(std::int64_t count, std::int64_t k) { return count == 0 || count >= k; }

std::string RequestName(std::size_t index, const stats::StatRequest& request) {
  const std::string& dataset = stats::DatasetOf(request);
  return "stats_batch request " + std::to_string(index) + " (" + StatKindName(KindOf(request)) +
         ", dataset " + Quote(dataset) + ")";
}

// "histogram_cells": "clear" | "always" | {"<kind>": "clear" | "always", ...}
// for the kinds of CellCountedKinds().
void ParseHistogramCells(const nlohmann::json& value, common::ErrorList* errors, Policy* policy) {
  const std::string expected =
      "expected \"clear\", \"always\" or an object mapping score_histogram, grid_histogram, "
      "threshold_counts to \"clear\" or \"always\"";
  if (value.is_string()) {
    const std::string text = value.get<std::string>();
    if (text == "always") {
      policy->histogram_cells_always = true;
    } else if (text != "clear") {
      errors->Add("/histogram_cells", expected + ", got " + Quote(text));
    }
    return;
  }
  if (!value.is_object()) {
    errors->Add("/histogram_cells", expected + ", got " + value.dump());
    return;
  }
  for (const auto& [name, rule] : value.items()) {
    const std::string pointer = common::JsonPointerAppend("/histogram_cells", name);
    StatKind kind{};
    const std::vector<StatKind> counted = CellCountedKinds();
    if (!ParseKind(name, &kind) ||
        std::find(counted.begin(), counted.end(), kind) == counted.end()) {
      errors->Add(pointer,
                  "unknown key: expected score_histogram, grid_histogram or threshold_counts "
                  "(the statistics with per-cell counts)");
      continue;
    }
    if (!rule.is_string() || (rule != "clear" && rule != "always")) {
      errors->Add(pointer, "expected \"clear\" or \"always\", got " + rule.dump());
      continue;
    }
    if (rule == "always") policy->cells_always_kinds.push_back(kind);
  }
}

// " (checked in secure rounds too: histogram_cells of POLICY)" when a masked
// result was checked, so the operator sees why a secure round was refused.
std::string MaskedNote(const Policy& policy, bool masked) {
  if (!masked) return "";
  return "; this site checks these cells in secure rounds too: histogram_cells " +
         policy.HistogramCellsText() + " of " + PolicyName(policy);
}

// The policy file `fedrad site approve` creates: every default spelled out.
nlohmann::json DefaultPolicyDocument() {
  const Policy defaults;
  nlohmann::json allowed = nlohmann::json::array();
  for (StatKind k : defaults.allowed) allowed.push_back(StatKindName(k));
  nlohmann::json document = nlohmann::json::object();
  document["min_cohort_size"] = defaults.min_cohort_size;
  document["min_count_per_cell"] = defaults.min_count_per_cell;
  document["allowed_statistics"] = allowed;
  document["max_rounds"] = defaults.max_rounds;
  document["histogram_cells"] = defaults.histogram_cells_always ? "always" : "clear";
  document["require_approval"] = defaults.require_approval;
  document["approved_studies"] = nlohmann::json::array();
  return document;
}

}  // namespace

const char* StatKindName(StatKind kind) {
  switch (kind) {
    case StatKind::kMoments:
      return "moments";
    case StatKind::kLogistic:
      return "logistic";
    case StatKind::kSvm:
      return "svm";
    case StatKind::kDeviance:
      return "deviance";
    case StatKind::kScoreHistogram:
      return "score_histogram";
    case StatKind::kPlatt:
      return "platt";
    case StatKind::kGridHistogram:
      return "grid_histogram";
    case StatKind::kPlacementSums:
      return "placement_sums";
    case StatKind::kThresholdCounts:
      return "threshold_counts";
    case StatKind::kLocalEvaluation:
      return "local_evaluation";
    case StatKind::kImputationSums:
      return "imputation_sums";
  }
  return "unknown";
}

StatKind KindOf(const stats::StatRequest& request) {
  // In the order of the StatRequest alternatives (providers.hpp).
  static constexpr StatKind kByIndex[] = {
      StatKind::kMoments,         StatKind::kLogistic,       StatKind::kSvm,
      StatKind::kDeviance,        StatKind::kScoreHistogram, StatKind::kPlatt,
      StatKind::kGridHistogram,   StatKind::kPlacementSums,  StatKind::kThresholdCounts,
      StatKind::kLocalEvaluation, StatKind::kImputationSums};
  static_assert(std::size(kByIndex) == std::variant_size_v<stats::StatRequest>,
                "every statistic request type needs its policy kind");
  return kByIndex[request.index()];
}

std::vector<StatKind> AllStatKinds() {
  return {StatKind::kMoments,         StatKind::kLogistic,       StatKind::kSvm,
          StatKind::kDeviance,        StatKind::kScoreHistogram, StatKind::kPlatt,
          StatKind::kGridHistogram,   StatKind::kPlacementSums,  StatKind::kThresholdCounts,
          StatKind::kLocalEvaluation, StatKind::kImputationSums};
}

bool Policy::Allows(StatKind kind) const {
  return std::find(allowed.begin(), allowed.end(), kind) != allowed.end();
}

std::vector<StatKind> CellCountedKinds() {
  return {StatKind::kScoreHistogram, StatKind::kGridHistogram, StatKind::kThresholdCounts};
}

bool Policy::ChecksMaskedCells(StatKind kind) const {
  return histogram_cells_always || std::find(cells_always_kinds.begin(), cells_always_kinds.end(),
                                             kind) != cells_always_kinds.end();
}

std::string Policy::HistogramCellsText() const {
  if (histogram_cells_always) return "\"always\"";
  if (cells_always_kinds.empty()) return "\"clear\"";
  nlohmann::json object = nlohmann::json::object();
  for (StatKind kind : CellCountedKinds()) {
    object[StatKindName(kind)] = ChecksMaskedCells(kind) ? "always" : "clear";
  }
  return object.dump();
}

Result<Policy> ParsePolicy(const nlohmann::json& document, const std::string& source) {
  common::ErrorList errors(source);
  common::ObjectReader root(document, "", &errors);
  Policy policy;
  policy.source_path = source;
  policy.from_file = true;
  policy.min_cohort_size = root.Int("min_cohort_size", policy.min_cohort_size, 1, 1000000000);
  policy.min_count_per_cell =
      root.Int("min_count_per_cell", policy.min_count_per_cell, 1, 1000000000);
  std::vector<std::string> all_names;
  for (StatKind k : AllStatKinds()) all_names.emplace_back(StatKindName(k));
  const std::vector<std::string> names = root.StringList("allowed_statistics", all_names);
  policy.allowed.clear();
  for (std::size_t i = 0; i < names.size(); ++i) {
    StatKind kind{};
    const std::string pointer = "/allowed_statistics/" + std::to_string(i);
    if (!ParseKind(names[i], &kind)) {
      errors.Add(pointer,
                 "expected one of moments, logistic, svm, deviance, score_histogram, "
                 "platt, grid_histogram, placement_sums, threshold_counts, "
                 "local_evaluation, got " +
                     Quote(names[i]));
    } else if (policy.Allows(kind)) {
      errors.Add(pointer, "duplicate statistic " + Quote(names[i]));
    } else {
      policy.allowed.push_back(kind);
    }
  }
  policy.max_rounds = root.Int("max_rounds", policy.max_rounds, 1, 1000000000);
  if (const nlohmann::json* cells = root.Raw("histogram_cells"); cells != nullptr) {
    ParseHistogramCells(*cells, &errors, &policy);
  }
  policy.require_approval = root.Bool("require_approval", true);
  for (common::ObjectReader& entry : root.ObjectArray("approved_studies", false)) {
    ApprovedStudy study;
    study.study_id = entry.String("study_id");
    study.spec_sha256 = entry.String("spec_sha256");
    study.approved_at = entry.String("approved_at", "");
    study.approved_by = entry.String("approved_by", "");
    if (!study.spec_sha256.empty() && !IsSha256Hex(study.spec_sha256)) {
      entry.Error("spec_sha256",
                  "expected 64 lower-case hex characters, got " + Quote(study.spec_sha256));
    }
    if (study.study_id.empty() && entry.Has("study_id")) {
      entry.Error("study_id", "expected a non-empty study id");
    }
    entry.Finish();
    policy.approved.push_back(std::move(study));
  }
  root.Finish();
  FEDRAD_RETURN_IF_ERROR(errors.ToStatus());
  if (!policy.require_approval) {
    common::Log(common::LogLevel::kWarn, "policy",
                "STUDY APPROVAL IS OFF: this site will run ANY study a coordinator offers "
                "(require_approval is false)",
                {{"policy", source}});
  }
  return policy;
}

Result<Policy> LoadPolicy(const std::string& path) {
  FEDRAD_ASSIGN_OR_RETURN(auto document, common::ReadJsonFile(path));
  return ParsePolicy(document, path);
}

std::string SitePolicyPath(const std::string& site_config_path) {
  const auto slash = site_config_path.rfind('/');
  return slash == std::string::npos ? std::string("policy.json")
                                    : site_config_path.substr(0, slash + 1) + "policy.json";
}

Result<Policy> LoadSitePolicy(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    if (errno != ENOENT) {
      return common::PermissionDenied(
          path + ": cannot read this site's policy file: " + std::strerror(errno));
    }
    Policy defaults;
    defaults.source_path = path;
    return defaults;
  }
  return LoadPolicy(path);
}

Status CheckBatch(const Policy& policy, const stats::Datasets& datasets,
                  const std::vector<stats::StatRequest>& requests, std::int64_t rounds_so_far,
                  std::string* rule) {
  if (rounds_so_far + 1 > policy.max_rounds) {
    return Refuse("max_rounds", rule,
                  "disclosure policy: round " + std::to_string(rounds_so_far + 1) +
                      " of this study exceeds max_rounds " + std::to_string(policy.max_rounds) +
                      " (" + RuleOf(policy, "max_rounds") + ")");
  }
  const std::int64_t k = policy.min_count_per_cell;
  for (std::size_t r = 0; r < requests.size(); ++r) {
    const stats::StatRequest& request = requests[r];
    const std::string name = RequestName(r, request);
    if (!policy.Allows(KindOf(request))) {
      return Refuse("allowed_statistics", rule,
                    "disclosure policy: " + name + ": statistic kind " +
                        Quote(StatKindName(KindOf(request))) + " is not in allowed_statistics (" +
                        RuleOf(policy, "allowed_statistics") + ")");
    }
    const auto it = datasets.find(stats::DatasetOf(request));
    if (it == datasets.end()) {
      return common::NotFound(name + ": no dataset '" + stats::DatasetOf(request) +
                              "' at this site");
    }
    const stats::LocalTable& table = it->second;
    const auto n = static_cast<std::int64_t>(table.x.rows());
    if (n < policy.min_cohort_size) {
      return Refuse("min_cohort_size", rule,
                    "disclosure policy: " + name + ": the dataset has " + std::to_string(n) +
                        " rows, below min_cohort_size " + std::to_string(policy.min_cohort_size) +
                        " (" + RuleOf(policy, "min_cohort_size") + ")");
    }
    if (const auto* local = std::get_if<stats::LocalEvaluationRequest>(&request)) {
      // A release of one site's metrics: the cohort behind it must be large
      // enough as a whole and in each class.
      GroupCount cohort;
      for (const RowSubset& subset : local->rows) {
        auto rows = stats::SelectRows(table, subset);
        if (!rows.ok()) return rows.status().Wrap(name);
        cohort.rows += static_cast<std::int64_t>(rows->size());
        for (Eigen::Index i : *rows) cohort.positives += table.y(i) > 0.5 ? 1 : 0;
      }
      const std::int64_t negatives = cohort.rows - cohort.positives;
      if (cohort.rows < policy.min_cohort_size) {
        return Refuse("min_cohort_size", rule,
                      "disclosure policy: " + name + ": local evaluation of " +
                          std::to_string(cohort.rows) + " rows, below min_cohort_size " +
                          std::to_string(policy.min_cohort_size) + " (" +
                          RuleOf(policy, "min_cohort_size") + ")");
      }
      if (cohort.positives < k || negatives < k) {
        return Refuse("min_count_per_cell", rule,
                      "disclosure policy: " + name + ": local evaluation of " +
                          std::to_string(cohort.positives) + " cases and " +
                          std::to_string(negatives) + " controls; each class needs at least " +
                          "min_count_per_cell " + std::to_string(k) + " (" +
                          RuleOf(policy, "min_count_per_cell") + ")");
      }
    }
    for (const RowSubset& subset : SubsetsOf(request)) {
      auto groups = GroupsOf(table, subset);
      if (!groups.ok()) return groups.status().Wrap(name);
      for (const auto& [what, count] : *groups) {
        const std::int64_t negatives = count.rows - count.positives;
        std::string broken;
        if (!Safe(count.rows, k)) {
          broken = std::to_string(count.rows) + " rows";
        } else if (!Safe(count.positives, k)) {
          broken = std::to_string(count.positives) + " rows of class 1";
        } else if (!Safe(negatives, k)) {
          broken = std::to_string(negatives) + " rows of class 0";
        }
        if (!broken.empty()) {
          return Refuse("min_count_per_cell", rule,
                        "disclosure policy: " + name + ", " + what + ": " + broken +
                            ", below min_count_per_cell " + std::to_string(k) + " (" +
                            RuleOf(policy, "min_count_per_cell") +
                            "; a count must be 0 or at least the minimum)");
        }
      }
    }
  }
  return Status::Ok();
}

Status CheckResults(const Policy& policy, const std::vector<stats::StatRequest>& requests,
                    const std::vector<std::vector<double>>& results, bool masked,
                    std::string* rule) {
  if (results.size() != requests.size()) {
    return common::Internal("disclosure policy: " + std::to_string(results.size()) +
                            " results for " + std::to_string(requests.size()) + " requests");
  }
  const std::int64_t k = policy.min_count_per_cell;
  for (std::size_t r = 0; r < requests.size(); ++r) {
    const std::vector<double>& values = results[r];
    if (const auto* h = std::get_if<stats::ScoreHistogramRequest>(&requests[r])) {
      // Masked: only sums over sites leave, unless the policy checks them.
      if (masked && !policy.ChecksMaskedCells(StatKind::kScoreHistogram)) continue;
      const std::size_t bins = static_cast<std::size_t>(h->bins);
      for (std::size_t i = 0; i < values.size(); ++i) {
        const auto c = static_cast<std::int64_t>(std::llround(values[i]));
        if (!Safe(c, k)) {
          const std::size_t part = i / (2 * bins);
          const std::size_t within = i % (2 * bins);
          return Refuse(
              "min_count_per_cell", rule,
              "disclosure policy: " + RequestName(r, requests[r]) + ", part " +
                  std::to_string(part) + " (" + DescribeRows(h->rows[part]) + "): histogram cell " +
                  std::to_string(within % bins) + " of class " + (within < bins ? "0" : "1") +
                  " holds " + std::to_string(c) + " rows, below min_count_per_cell " +
                  std::to_string(k) + " (" + RuleOf(policy, "min_count_per_cell") +
                  (masked ? MaskedNote(policy, masked) +
                                "; a checked histogram cell must be empty or hold at least the "
                                "minimum: use fewer bins)"
                          : "; a histogram cell sent in the clear must be empty or hold at "
                            "least the minimum: use secure aggregation or fewer bins)"));
        }
      }
    } else if (const auto* g = std::get_if<stats::GridHistogramRequest>(&requests[r])) {
      // Per-class counts of probabilities per grid cell: as score histograms.
      if (masked && !policy.ChecksMaskedCells(StatKind::kGridHistogram)) continue;
      const auto grid = static_cast<std::size_t>(g->grid_size);
      for (std::size_t i = 0; i < values.size(); ++i) {
        const auto c = static_cast<std::int64_t>(std::llround(values[i]));
        if (!Safe(c, k)) {
          // Layout (GridHistograms): per model, G controls then G cases.
          return Refuse("min_count_per_cell", rule,
                        "disclosure policy: " + RequestName(r, requests[r]) + ": grid cell " +
                            std::to_string(i % grid) + " of " + std::to_string(grid) +
                            " grid points, model " + std::to_string(i / (2 * grid)) + ", class " +
                            ((i % (2 * grid)) < grid ? "0" : "1") + ", holds " + std::to_string(c) +
                            " rows, below min_count_per_cell " + std::to_string(k) + " (" +
                            RuleOf(policy, "min_count_per_cell") + MaskedNote(policy, masked) +
                            (masked ? "; the study's coarser fallback grid may pass)"
                                    : "; use secure aggregation or a coarser grid)"));
        }
      }
    } else if (const auto* t = std::get_if<stats::ThresholdCountsRequest>(&requests[r])) {
      // TP/FP/TN/FN and calibration-bin counts are released counts.
      if (masked && !policy.ChecksMaskedCells(StatKind::kThresholdCounts)) continue;
      stats::ThresholdCountsLayout layout{static_cast<int>(t->models.size()), t->calibration_bins};
      for (int m = 0; m < layout.num_models; ++m) {
        std::vector<std::pair<std::size_t, std::string>> cells = {
            {layout.Tp(m), "TP"}, {layout.Fp(m), "FP"}, {layout.Tn(m), "TN"}, {layout.Fn(m), "FN"}};
        for (int b = 0; b < layout.bins; ++b) {
          cells.emplace_back(layout.BinCount(m, b), "calibration bin " + std::to_string(b) +
                                                        " of " + std::to_string(layout.bins));
        }
        for (const auto& [cell, what] : cells) {
          if (cell >= values.size()) continue;
          const auto c = static_cast<std::int64_t>(std::llround(values[cell]));
          if (!Safe(c, k)) {
            return Refuse("min_count_per_cell", rule,
                          "disclosure policy: " + RequestName(r, requests[r]) + ": model " +
                              std::to_string(m) + ", count " + what + ", holds " +
                              std::to_string(c) + " rows, below min_count_per_cell " +
                              std::to_string(k) + " (" + RuleOf(policy, "min_count_per_cell") +
                              MaskedNote(policy, masked) + ")");
          }
        }
      }
    } else if (std::holds_alternative<stats::ImputationSumsRequest>(requests[r])) {
      // [n, o_1..o_p, S_1..S_p]: per column the observed cells o_j and the
      // missing cells n - o_j are released counts (in the clear they are this
      // site's own; masked, only sums over sites leave unless checked).
      if (masked && !policy.ChecksMaskedCells(StatKind::kImputationSums)) continue;
      if (values.empty() || (values.size() - 1) % 2 != 0) continue;
      const auto n = static_cast<std::int64_t>(std::llround(values[0]));
      const std::size_t p = (values.size() - 1) / 2;
      for (std::size_t j = 0; j < p; ++j) {
        const auto observed = static_cast<std::int64_t>(std::llround(values[1 + j]));
        for (const auto& [what, c] : {std::pair<const char*, std::int64_t>{"observed", observed},
                                      {"missing", n - observed}}) {
          if (!Safe(c, k)) {
            return Refuse("min_count_per_cell", rule,
                          "disclosure policy: " + RequestName(r, requests[r]) + ": column " +
                              std::to_string(j) + " has " + std::to_string(c) + " " + what +
                              " cells, below min_count_per_cell " + std::to_string(k) + " (" +
                              RuleOf(policy, "min_count_per_cell") + MaskedNote(policy, masked) +
                              "; use secure aggregation)");
          }
        }
      }
    } else if (const auto* s = std::get_if<stats::SvmRequest>(&requests[r])) {
      if (values.size() < 2) continue;
      const auto active = static_cast<std::int64_t>(std::llround(values[1]));
      if (!Safe(active, k)) {
        return Refuse("min_count_per_cell", rule,
                      "disclosure policy: " + RequestName(r, requests[r]) + ", " +
                          DescribeRows(s->rows) + ": the Hessian would be a sum over " +
                          std::to_string(active) + " active rows, below min_count_per_cell " +
                          std::to_string(k) + " (" + RuleOf(policy, "min_count_per_cell") + ")");
      }
    }
  }
  return Status::Ok();
}

Status CheckStudyApproved(const Policy& policy, const std::string& study_id,
                          const std::string& spec_sha256, const std::string& spec_path) {
  if (!policy.require_approval) return Status::Ok();
  const ApprovedStudy* same_id = nullptr;
  for (const ApprovedStudy& a : policy.approved) {
    if (a.study_id == study_id && a.spec_sha256 == spec_sha256) return Status::Ok();
    if (a.study_id == study_id) same_id = &a;
  }
  std::string text = "study " + Quote(study_id) + " (spec SHA-256 " + spec_sha256 +
                     ") is not approved by " + PolicyName(policy);
  if (same_id != nullptr) {
    text += ": the approved spec of this study has SHA-256 " + same_id->spec_sha256 +
            " (the spec changed since it was approved)";
  }
  const std::string policy_arg = policy.source_path.empty() ? "POLICY.json" : policy.source_path;
  text += "; review it with `fedrad site review " + spec_path + " --policy " + policy_arg +
          "` and approve it with `fedrad site approve " + spec_path + " --policy " + policy_arg +
          " --by NAME`";
  return common::PermissionDenied(text);
}

Result<std::string> ReviewStudy(const std::string& spec_path, const Policy& policy) {
  FEDRAD_RETURN_IF_ERROR(common::InitSodium());
  FEDRAD_ASSIGN_OR_RETURN(auto spec, protocols::LoadStudySpec(spec_path));
  std::ostringstream out;
  out << "Study " << Quote(spec.study_id) << "\n"
      << "  spec:    " << spec_path << "\n"
      << "  SHA-256: " << spec.sha256 << "\n";
  const Status approved = CheckStudyApproved(policy, spec.study_id, spec.sha256, spec_path);
  if (!policy.require_approval) {
    out << "  approval: NOT REQUIRED by " << PolicyName(policy)
        << " (require_approval is false: this site runs any study)\n";
  } else if (approved.ok()) {
    for (const ApprovedStudy& a : policy.approved) {
      if (a.study_id == spec.study_id && a.spec_sha256 == spec.sha256) {
        out << "  approval: APPROVED on " << a.approved_at << " by " << a.approved_by << "\n";
        break;
      }
    }
  } else {
    out << "  approval: NOT APPROVED by " << PolicyName(policy) << "\n";
    for (const ApprovedStudy& a : policy.approved) {
      if (a.study_id == spec.study_id) {
        out << "            (another version of this study, SHA-256 " << a.spec_sha256
            << ", was approved on " << a.approved_at << ": the spec has changed)\n";
      }
    }
  }
  out << "\nModels (" << spec.models.size() << "), each fitted on this site's feature table:\n";
  for (const auto& model : spec.models) {
    out << "  " << model.name << ": ";
    if (!spec.feature_dictionary.empty()) {
      FEDRAD_ASSIGN_OR_RETURN(auto columns,
                              protocols::ResolveModelColumns(model, spec.feature_dictionary));
      out << columns.size() << " features:";
      for (const auto& c : columns) out << " " << c;
    } else {
      out << "features matching";
      for (const auto& c : model.columns) out << " " << c;
      out << " (no feature dictionary: resolved against the site's table)";
    }
    out << "\n";
  }
  out << "\nComputation: " << spec.folds << "-fold cross-validation ("
      << (spec.nested ? "nested" : "outside_cv") << " selection, seed " << spec.seed
      << "), lasso logistic regression (" << spec.nlambda << " lambdas), linear SVM ("
      << (spec.hinge ? "hinge" : "squared hinge") << ", " << spec.c_grid.size()
      << " values of C), AUC from score histograms (" << spec.histogram_bins << " bins)"
      << (spec.platt ? ", Platt calibration" : "") << ".\n";
  out << "Evaluation grid: pooled ROC statistics from per-class histograms of predicted "
         "probabilities on a public grid of "
      << spec.evaluation.grid_points << " points";
  if (spec.evaluation.fallback_grid_points > 0) {
    out << ", or " << spec.evaluation.fallback_grid_points
        << " points for a cohort where a site refuses the fine grid (fallback)";
  }
  out << "; this policy checks their cells "
      << (policy.ChecksMaskedCells(StatKind::kGridHistogram) ? "masked or in the clear"
                                                             : "only in the clear")
      << ".\n";
  if (policy.ChecksMaskedCells(StatKind::kGridHistogram) &&
      spec.evaluation.fallback_grid_points == 0) {
    out << "Note: the spec names no fallback grid (evaluation.fallback_grid_points): if this "
           "site refuses the fine grid, privacy.on_refusal applies.\n";
  }
  out << "\nWhat leaves this site (sums over rows of a fold or of all rows, never a row):\n";
  struct Line {
    StatKind kind;
    bool used;
    const char* what;
  };
  const Line lines[] = {
      {StatKind::kMoments, true,
       "row count, number of positives, per-feature sums and sums of squares"},
      {StatKind::kLogistic, true,
       "negative log-likelihood, gradient and Hessian (active columns) of logistic models"},
      {StatKind::kDeviance, true, "held-out binomial deviance of fold models"},
      {StatKind::kSvm, true, "squared-hinge loss, gradient, Hessian and active-set size"},
      {StatKind::kScoreHistogram, true,
       "per-class counts of held-out scores in histogram bins (AUC)"},
      {StatKind::kPlatt, spec.platt, "Platt log-loss, gradient and Hessian (2 parameters)"},
      {StatKind::kGridHistogram, true,
       "evaluation: per-class counts of predicted probabilities on a public grid (ROC, AUC)"},
      {StatKind::kPlacementSums, true,
       "evaluation: sums of DeLong placement values and their products (AUC confidence "
       "intervals, model comparisons)"},
      {StatKind::kThresholdCounts, true,
       "evaluation: TP/FP/TN/FN at a fixed threshold, squared error and calibration-bin "
       "counts and sums"},
      {StatKind::kLocalEvaluation,
       std::any_of(spec.sites.begin(), spec.sites.end(), [](const auto& s) { return s.external; }),
       "evaluation of a cohort this site holds alone (an external site): its AUC, DeLong "
       "placement sums, ROC curve points, TP/FP/TN/FN at the training threshold, Brier score, "
       "calibration bins, intercept and slope, IN THE CLEAR"},
      {StatKind::kImputationSums, spec.has_data_dictionary && spec.data_dictionary.impute,
       "missing values: per-feature counts of observed cells and their sums (pooled means and "
       "majority values for imputation)"},
  };
  bool refused = false;
  for (const Line& line : lines) {
    if (!line.used) continue;
    const bool allowed = policy.Allows(line.kind);
    refused = refused || !allowed;
    out << "  " << StatKindName(line.kind) << ": " << line.what
        << (allowed ? "" : "  [NOT ALLOWED by this policy: the study would fail here]") << "\n";
  }
  const bool secure = spec.privacy.secure_aggregation;
  out << "\nHow it leaves: "
      << (secure ? "masked (secure aggregation): the coordinator learns only sums over at least " +
                       std::to_string(spec.privacy.min_sites) + " sites" +
                       (spec.privacy.allow_fewer_sites ? " (fewer allowed by the spec)" : "")
                 : std::string("IN THE CLEAR (privacy.secure_aggregation is false): the "
                               "coordinator sees this site's sums"))
      << ".\n";
  out << "\nRounds: at most " << policy.max_rounds
      << " stats_batch rounds (this site's max_rounds; later rounds are refused).\n"
      << "Policy (" << PolicyName(policy) << "): min_cohort_size " << policy.min_cohort_size
      << ", min_count_per_cell " << policy.min_count_per_cell
      << " (every fold and class behind a released number, and every SVM active set, must be "
         "empty or hold at least this many rows; histogram cells too when they leave "
      << (policy.histogram_cells_always ? std::string("masked or in the clear")
          : policy.cells_always_kinds.empty()
              ? std::string("in the clear")
              : "in the clear, and masked too for histogram_cells " + policy.HistogramCellsText())
      << ").\n";
  if (!secure || policy.ChecksMaskedCells(StatKind::kScoreHistogram)) {
    out << "Note: " << spec.histogram_bins
        << "-bin score histograms of held-out folds are checked cell by cell; on a small cohort "
           "cells of 1.."
        << policy.min_count_per_cell - 1
        << " rows are likely and the study would be refused (see docs/security.md).\n";
  }
  if (refused) {
    out << "\nWARNING: this policy refuses statistics the study needs.\n";
  }
  if (policy.require_approval && !approved.ok()) {
    out << "\nTo approve: fedrad site approve " << spec_path << " --policy "
        << (policy.source_path.empty() ? "POLICY.json" : policy.source_path) << " --by NAME\n";
  }
  return out.str();
}

std::string UtcNowIso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

Status ApproveStudy(const std::string& policy_path, const std::string& spec_path,
                    const std::string& approver, const std::string& now_utc) {
  if (approver.empty()) {
    return common::InvalidArgument("approve: the approver's name must not be empty (--by NAME)");
  }
  FEDRAD_RETURN_IF_ERROR(common::InitSodium());
  FEDRAD_ASSIGN_OR_RETURN(auto spec, protocols::LoadStudySpec(spec_path));
  struct stat info {};
  const bool exists = ::stat(policy_path.c_str(), &info) == 0;
  std::string before;
  nlohmann::json document = DefaultPolicyDocument();
  if (exists) {
    FEDRAD_ASSIGN_OR_RETURN(before, common::ReadFile(policy_path));
    FEDRAD_ASSIGN_OR_RETURN(document, common::ParseJson(before, policy_path));
  }
  // Validate what is there (a broken policy is not silently rewritten).
  FEDRAD_ASSIGN_OR_RETURN(auto policy, ParsePolicy(document, policy_path));
  for (const ApprovedStudy& a : policy.approved) {
    if (a.study_id == spec.study_id && a.spec_sha256 == spec.sha256) return Status::Ok();
  }
  nlohmann::json record = {{"study_id", spec.study_id},
                           {"spec_sha256", spec.sha256},
                           {"approved_at", now_utc.empty() ? UtcNowIso8601() : now_utc},
                           {"approved_by", approver}};
  if (!document.contains("approved_studies")) {
    document["approved_studies"] = nlohmann::json::array();
  }
  document["approved_studies"].push_back(record);
  const std::string text = document.dump(2) + "\n";
  // Refuse if the file changed since it was read (another approval, an edit).
  struct stat again {};
  const bool exists_now = ::stat(policy_path.c_str(), &again) == 0;
  bool changed = exists_now != exists;
  if (!changed && exists_now) {
    FEDRAD_ASSIGN_OR_RETURN(auto now_content, common::ReadFile(policy_path));
    changed = now_content != before;
  }
  if (changed) {
    return common::FailedPrecondition(policy_path +
                                      ": the policy file changed while the approval was being "
                                      "recorded; nothing was written, run the approval again");
  }
  return common::WriteFileAtomic(policy_path, text, 0644).Wrap("approve");
}

}  // namespace fedrad::site_agent

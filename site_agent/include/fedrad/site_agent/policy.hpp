// A site's disclosure policy and study approvals (docs/configuration.md,
// "Site policy and study approval"; docs/security.md, "Disclosure gate").
//
// The policy is the site's own file, never the coordinator's: it says what
// may leave this site. Every statistic a site sends is a sum over the rows
// of a RowSubset (stats/providers.hpp); the gate bounds how few rows may
// stand behind any released number.
//
//   {
//     "min_cohort_size": 10,        rows a dataset needs before anything leaves
//     "min_count_per_cell": 5,      rows behind any released sum (see below)
//     "allowed_statistics": ["moments", "logistic", "svm", "deviance",
//                            "score_histogram", "platt"],
//     "max_rounds": 100000,         stats_batch rounds answered per study job
//     "histogram_cells": "clear",   "clear" | "always" | per kind (see below)
//     "require_approval": true,     false: run any study (logged as a warning)
//     "approved_studies": [
//       {"study_id": "crlm", "spec_sha256": "<64 hex>",
//        "approved_at": "2026-11-27T06:00:00Z", "approved_by": "dr.a"}
//     ]
//   }
//
// Counting rule (k = min_count_per_cell). A count c is *safe* when c == 0
// or c >= k (an empty group releases nothing; a group of 1..k-1 rows could
// single out patients). CheckBatch, before anything is computed, requires
// for every request and every RowSubset it names, within its dataset:
//   - the dataset has at least min_cohort_size rows;
//   - the selected rows, and the complementary part of the same fold (the
//     test part of a training subset and vice versa: a sum over all rows
//     minus a sum over the training rows is a sum over the test rows), and,
//     for a nested subset (outer_fold f), the rows of outer fold f itself,
//     are each a safe count, and so are their numbers of rows of class 0 and
//     of class 1 (Σ y is in every moments result, and derivable from the
//     logistic gradient);
//   - the statistic kind is allowed, and the round is within max_rounds;
//   - for local_evaluation (a release of one site's evaluation metrics):
//     the selected rows number at least min_cohort_size, and each class
//     among them at least min_count_per_cell (none empty).
// CheckResults, after computing and before sending, requires every released
// count to be safe: the active-set size |I| (|Q| for the Huberised hinge) of
// an SVM result, whose Hessian Σ_I u_i u_iᵀ over a single active row would be
// that patient's outer product, and each score-histogram cell (neg_b, pos_b)
// of a histogram that leaves the site in the clear. In a secure round
// (secure aggregation, docs/protocol.md 6.5) a histogram leaves masked: the
// coordinator learns only the cell sums over at least min_sites sites, which
// no single site can check, so the cell rule applies there only where the
// policy says "always" (docs/security.md, "Disclosure gate", explains why: a
// cross-validated AUC needs fine histograms of ~n/K held-out rows, whose
// cells hold 1..4 rows on any small cohort).
//
// "histogram_cells" says, per kind of counted statistic, whether its cells
// are checked in secure rounds too:
//   "clear"  (default) no kind: cells are checked only when they leave in
//            the clear;
//   "always" every kind: score_histogram (the SVM's C selection, during
//            training), grid_histogram (the evaluation's ROC grid) and
//            threshold_counts (TP/FP/TN/FN, calibration bins);
//   {"grid_histogram": "always", ...}  per kind, each "clear" | "always";
//            a kind not named is "clear". E.g. {"grid_histogram": "always"}
//            lets the training run (its masked score histograms are not
//            checked) and refuses an evaluation grid whose cells at this
//            site break the minimum; the coordinator then reruns the
//            evaluation on the study's coarser fallback grid
//            (evaluation.fallback_grid_points, docs/configuration.md).
//
// Every refusal names its rule: the policy key that was broken
// (max_rounds, allowed_statistics, min_cohort_size, min_count_per_cell).
//
// Not covered (documented in docs/security.md): parameters crafted to weight
// one row (e.g. a coefficient on a feature only one patient has) in a sum of
// safe size; differences across rounds with different models.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/site_agent/stats/providers.hpp"

namespace fedrad::site_agent {

enum class StatKind {
  kMoments,
  kLogistic,
  kSvm,
  kDeviance,
  kScoreHistogram,
  kPlatt,
  kGridHistogram,
  kPlacementSums,
  kThresholdCounts,
  kLocalEvaluation,
  kImputationSums  // per-feature observed counts and sums ("missing": "impute")
};

// "moments", "logistic", "svm", "deviance", "score_histogram", "platt",
// "grid_histogram", "placement_sums", "threshold_counts" (the evaluation's
// requests, docs/methods.md §10), "local_evaluation" (a cohort this site
// holds alone, e.g. as the study's only external site: AUC, DeLong sums, ROC
// points, confusion counts, Brier and calibration of its own rows; allowed by
// default, see docs/security.md "Single-site release").
const char* StatKindName(StatKind kind);
StatKind KindOf(const stats::StatRequest& request);
std::vector<StatKind> AllStatKinds();

struct ApprovedStudy {
  std::string study_id;
  std::string spec_sha256;  // 64 lower-case hex characters
  std::string approved_at;  // UTC, "YYYY-MM-DDTHH:MM:SSZ"
  std::string approved_by;
};

struct Policy {
  // The policy file: where this policy was read from (from_file) or, for the
  // built-in defaults, where the site expects it ("" if not known).
  std::string source_path;
  bool from_file = false;
  std::int64_t min_cohort_size = 10;
  std::int64_t min_count_per_cell = 5;
  std::vector<StatKind> allowed = AllStatKinds();
  std::int64_t max_rounds = 100000;
  // "histogram_cells": "always" (true: every counted kind) | "clear" (false).
  bool histogram_cells_always = false;
  // "histogram_cells" as an object: the kinds whose cells are checked in
  // secure rounds too (a subset of CellCountedKinds(); with
  // histogram_cells_always true it is ignored).
  std::vector<StatKind> cells_always_kinds;
  bool require_approval = true;
  std::vector<ApprovedStudy> approved;

  bool Allows(StatKind kind) const;
  // Whether the cells of a statistic of `kind` are checked when it leaves
  // the site masked (they are always checked when it leaves in the clear).
  bool ChecksMaskedCells(StatKind kind) const;
  // The "histogram_cells" value as written in a policy file: "clear",
  // "always" or the per-kind object (compact JSON), for logs and reviews.
  std::string HistogramCellsText() const;
};

// The statistic kinds whose results hold per-cell counts the cell rule
// applies to: score_histogram, grid_histogram, threshold_counts.
std::vector<StatKind> CellCountedKinds();

// Reads a policy file (strict: unknown keys, wrong types and out-of-range
// values are errors naming the file and the JSON pointer). With
// require_approval false it logs a warning.
common::Result<Policy> LoadPolicy(const std::string& path);
common::Result<Policy> ParsePolicy(const nlohmann::json& document, const std::string& source);

// The default policy file of a site agent: "policy.json" in the folder of
// the site config file (the site config's "policy" key overrides it).
std::string SitePolicyPath(const std::string& site_config_path);
// The site agent's policy (mandatory gate): the file at `path`, or the
// built-in defaults (Policy{}, source_path = path, approval required) if
// there is no file there. A file that cannot be read or parsed is an error
// naming the file and the JSON pointer: the site must not run on it.
common::Result<Policy> LoadSitePolicy(const std::string& path);

// The disclosure gate before computing one stats_batch round:
// `rounds_so_far` is the number of rounds of this study job already
// answered. kPermissionDenied naming the request index, statistic kind,
// dataset, rows and the rule broken (also stored in *rule if given: the
// policy key); kNotFound for an unknown dataset.
common::Status CheckBatch(const Policy& policy, const stats::Datasets& datasets,
                          const std::vector<stats::StatRequest>& requests,
                          std::int64_t rounds_so_far, std::string* rule = nullptr);
// The gate after computing (results[r] is the array of requests[r]).
// `masked`: the results leave the site masked in a secure round (only sums
// over sites are revealed), so the cells of a kind are checked only if the
// policy's "histogram_cells" says "always" for it (ChecksMaskedCells).
// Every cell refusal names the request (index, kind, dataset), the cell
// (model or part, class or count, grid size), its count and the minimum.
common::Status CheckResults(const Policy& policy, const std::vector<stats::StatRequest>& requests,
                            const std::vector<std::vector<double>>& results, bool masked = false,
                            std::string* rule = nullptr);

// OK if the study (id and spec SHA-256) is approved by the policy, or the
// policy does not require approval; kPermissionDenied otherwise, giving the
// exact `fedrad site review` / `fedrad site approve` commands for the spec
// at `spec_path` and the policy's file.
common::Status CheckStudyApproved(const Policy& policy, const std::string& study_id,
                                  const std::string& spec_sha256,
                                  const std::string& spec_path = "SPEC.json");

// A human-readable summary for `fedrad site review`: what the study will
// compute, what leaves the site (models and their features, statistic
// kinds, the rounds bound), the policy's limits and whether the spec is
// already approved.
common::Result<std::string> ReviewStudy(const std::string& spec_path, const Policy& policy);

// Records {study_id, sha256, now (UTC), approver} in the policy file
// atomically (a missing file is created, mode 0644, holding every default
// of Policy{} explicitly plus the approval). Refuses
// (kFailedPrecondition) if the file changed while it was being updated, and
// kInvalidArgument for an empty approver. Approving an already approved
// spec again is a no-op. `now_utc` ("" = the current time) is for tests.
common::Status ApproveStudy(const std::string& policy_path, const std::string& spec_path,
                            const std::string& approver, const std::string& now_utc = "");

// The current UTC time as "YYYY-MM-DDTHH:MM:SSZ".
std::string UtcNowIso8601();

}  // namespace fedrad::site_agent

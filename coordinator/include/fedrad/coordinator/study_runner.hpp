// Running a study specification end to end on an aggregator, and writing
// its outputs. Used by `fedrad fit --pooled` (one in-process table),
// `fedrad simulate` (one in-process table per site) and the coordinator's
// `study` job (WireAggregator).
//
// Outputs in OUT_DIR (written atomically; an existing file is replaced only
// after the new one is complete):
//   OUT_DIR/<model>/model.json  per model: selected feature names,
//     coefficients (LASSO at the chosen λ and the SVM) in standardised and
//     original units, intercepts, λ (chosen, min, 1se) and the whole path
//     with cvm/cvsd, C and the C grid with CV AUCs, standardisation
//     parameters, Platt A/B, cross-validated performance (nested or marked
//     optimistic), rounds, bytes per site, provenance (fedrad version, spec
//     SHA-256, study id, mode, sites, data SHA-256 where known). Numbers
//     %.17g in the C locale, so files reproduce exactly.
//   OUT_DIR/study.json  the study summary: models, rounds, bytes, timing.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/pipeline.hpp"
#include "fedrad/coordinator/results.hpp"
#include "fedrad/protocols/study_spec.hpp"
#include "fedrad/site_agent/stats/feature_table.hpp"

namespace fedrad::coordinator {

// Model name -> its resolved column names (dataset column order).
using ModelColumns = std::map<std::string, std::vector<std::string>>;

// Plan (options from the spec, one entry per model) for resolved columns.
common::Result<StudyPlan> MakeStudyPlan(const protocols::StudySpec& spec,
                                        const ModelColumns& columns);

struct RunProvenance {
  std::string mode;                // "pooled" | "simulate" | "federated"
  std::vector<std::string> sites;  // site names
  // Sites removed from a federated study after a disclosure-gate refusal
  // (privacy.on_refusal "continue"): site and reason, in order.
  std::vector<std::pair<std::string, std::string>> excluded_sites;
  std::map<std::string, std::string> data_sha256;  // site -> table SHA-256, when known
  double wall_seconds = 0.0;
  std::int64_t bytes_to_each_site = 0;
  std::int64_t bytes_from_each_site = 0;
};

// Missing values: every imputed column once (in feature-dictionary order;
// a column shared by several models has the same rows, hence the same
// values), with its statistic, the final model's value and its missing
// cells among all training rows. Empty without imputation.
std::vector<ImputedColumn> ImputationSummary(const protocols::StudySpec& spec,
                                             const ModelColumns& columns, const StudyRun& run);

common::Status WriteStudyOutputs(const protocols::StudySpec& spec, const ModelColumns& columns,
                                 const StudyRun& run, const RunProvenance& provenance,
                                 const std::string& out_dir);

// What the CLI adds to fit / simulate (the coordinator library does not link
// the site's radiomics): `prepare_spec` is applied to the loaded spec (e.g.
// site_agent::ResolveStudyFeatureDictionary: the feature dictionary of a spec
// with a data_dictionary); `load_table` reads the DATA of one site (name,
// DATA, spec; default stats::ReadFeatureTable(DATA)), e.g. a folder with a
// clinical CSV and a manifest (site_agent::BuildStudyTableFrom).
struct InProcessHooks {
  std::function<common::Status(protocols::StudySpec*)> prepare_spec;
  std::function<common::Result<site_agent::stats::FeatureTable>(
      const std::string& site, const std::string& data, const protocols::StudySpec& spec)>
      load_table;
};

// `fedrad fit --pooled DATA --spec SPEC --out DIR`. Both write the models,
// study.json, results.json and report.html (study_results.hpp) and print the
// results table.
common::Status RunFitPooled(const std::string& spec_path, const std::string& data_path,
                            const std::string& out_dir, std::ostream& progress,
                            const InProcessHooks& hooks = {});
// `fedrad simulate --spec SPEC --site NAME=DATA ... [--external NAME=DATA ...] --out DIR`.
// External sites take no part in the fit; the frozen models are evaluated on
// each of them and on all of them together (results.json, report.html).
common::Status RunSimulate(const std::string& spec_path,
                           const std::vector<std::pair<std::string, std::string>>& sites,
                           const std::string& out_dir, std::ostream& progress,
                           const std::vector<std::pair<std::string, std::string>>& externals = {},
                           const InProcessHooks& hooks = {});

}  // namespace fedrad::coordinator

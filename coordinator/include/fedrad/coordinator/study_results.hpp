// From a finished study run to what its users read: runs the federated
// evaluation (evaluation.hpp) on the study's aggregators, assembles
// StudyResults (results.hpp) and writes results.json and report.html
// (report.hpp) next to the models. Shared by `fedrad fit --pooled`,
// `fedrad simulate` and the coordinator's study job, so that every run
// produces the same outputs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/coordinator/evaluation.hpp"
#include "fedrad/coordinator/results.hpp"
#include "fedrad/coordinator/study_runner.hpp"
#include "fedrad/protocols/study_spec.hpp"

namespace fedrad::coordinator {

// Per-site case/control counts when the caller knows them: in-process runs
// read the tables (disclosure_minimum -1: the report applies the inputs'
// minimum); a live coordinator has what each site released in its JOB_ACCEPT
// (disclosure_minimum = that site's k, counts already withheld by the site
// are nullopt).
struct KnownSiteCounts {
  std::string site_id;
  bool external = false;
  std::optional<std::int64_t> cases;
  std::optional<std::int64_t> controls;
  std::int64_t disclosure_minimum = -1;
};

// Complementary suppression: within each role's sites, when exactly one
// site's cases (or controls) are hidden and the cohort total is released,
// the smallest released count of that column is withheld too (marked
// *_withheld), so that no hidden count follows from the total by
// subtraction. Applied by EvaluateStudy; public for the tests.
void WithholdComplementaryCounts(std::vector<SiteCohort>* sites);

struct StudyReportInputs {
  const protocols::StudySpec* spec = nullptr;
  const ModelColumns* columns = nullptr;
  const StudyPlan* plan = nullptr;
  const StudyRun* run = nullptr;
  const RunProvenance* provenance = nullptr;
  std::string started_utc;  // ISO 8601 UTC
  std::vector<KnownSiteCounts> site_counts;
  std::int64_t disclosure_minimum = 0;  // counts below it are shown as "<k"
};

// Current UTC time as 2026-11-27T07:00:00Z.
std::string UtcNow();

// Evaluates the run's models on `cohorts` (cohorts.training: the study's own
// aggregator for the CV cohort) and assembles the results. The grids are
// the spec's (evaluation.grid_points and fallback_grid_points override
// options.grid_size and options.fallback_grid_size).
common::Result<StudyResults> EvaluateStudy(const StudyReportInputs& inputs,
                                           const EvaluationCohorts& cohorts,
                                           const EvaluationOptions& options = {});

// Writes OUT/results.json and OUT/report.html; returns the terminal table.
common::Result<std::string> WriteStudyReport(const StudyResults& results,
                                             const std::string& out_dir);

}  // namespace fedrad::coordinator

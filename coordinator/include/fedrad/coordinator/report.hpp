// The outputs of a study (issue 6): results.json, report.html and the
// plain-text results table printed at the end of a run, all from one
// StudyResults (results.hpp). docs/results.md documents the schema and what
// the report shows.
//
//   - results.json, schema "fedrad-results-1": every number as %.17g in the C
//     locale (parses back to the same double); NaN, ±inf and absent optionals
//     as null (a null ROC threshold is the +inf end of the curve); written
//     atomically (temp file + rename).
//   - report.html: one self-contained file (inline <style> and SVG; no
//     script, no external resource, nothing fetched): study summary, cohort
//     table per site (counts below the disclosure minimum k shown as "<k"),
//     ROC curves (cross-validation and external), metric tables with 95% CIs
//     and the AUC error bound of pooled-grid cohorts, DeLong comparisons,
//     selected features with coefficients, calibration plot, privacy ledger.
//     Every string taken from the results is HTML-escaped.
//   - FormatResultsTable: ASCII text, one row per cohort × model (cohorts in
//     order of first appearance in `metrics`, models in `models` order), then
//     one DeLong line per cohort.
#pragma once

#include <string>

#include "fedrad/common/status.hpp"
#include "fedrad/coordinator/results.hpp"

namespace fedrad::coordinator {

// Identifies the results.json layout; bumped on any incompatible change.
inline constexpr const char* kResultsSchema = "fedrad-results-1";

// Writes results.json to `path` atomically. Errors name the path.
common::Status WriteResultsJson(const StudyResults& results, const std::string& path);

// The results.json text (what WriteResultsJson writes).
std::string ResultsJsonText(const StudyResults& results);

// Writes report.html to `path` atomically. Errors name the path.
common::Status WriteReportHtml(const StudyResults& results, const std::string& path);

// The report.html text (what WriteReportHtml writes).
std::string ReportHtmlText(const StudyResults& results);

// The terminal results table, e.g.
//
//   Cohort               Model        n  AUC [95% CI]          Accuracy  Sensitivity  Specificity
//   -------------------  ---------  ---  --------------------  --------  -----------  -----------
//   cv                   clinical   412  0.712 [0.661, 0.763]     0.670        0.650        0.680
//   ...
//
//   DeLong p (cv): combined vs clinical <0.001, combined vs radiomics 0.061, ...
//   AUC on cv from pooled grid histograms (G = 1001): |AUC - unbinned AUC| <= 2.4e-04
//
// Numbers with 3 decimals ("NA" when undefined); one DeLong line per cohort
// with comparisons; one error-bound line per pooled-grid cohort. ASCII only
// (other bytes of names become '?'); ends with a newline.
std::string FormatResultsTable(const StudyResults& results);

}  // namespace fedrad::coordinator

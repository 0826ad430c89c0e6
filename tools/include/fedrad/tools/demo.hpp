// `fedrad demo`: a whole federated study on this machine, from nothing
// (README's main command; docs/demo.md).
//
//   fedrad demo [--out DIR] [--force] [--seed S] [--sites SPEC] [--quick]
//
// 1. Writes a synthetic consortium (`fedrad synth`; default three training
//    hospitals and one external hospital) and one identity per party
//    (`fedrad keygen`: NAME.secret 0600 + NAME.public) into DIR.
// 2. Writes the configs a real deployment would use, with paths relative to
//    each file: the study spec (data dictionary of the six clinical
//    predictors and the derived CA19-9 > 200 U/mL, radiomics parameters,
//    the clinical / radiomics / combined models with nested LASSO CV and a
//    linear SVM, the sites with their roles and signing keys, secure
//    aggregation on, min_sites 3), the coordinator's config, and per site
//    its config (data.clinical + data.manifest: the site validates and
//    extracts itself) and its policy, approving the study through
//    `fedrad site approve`'s code (site_agent::ApproveStudy).
// 3. Starts `fedrad coordinator` and one `fedrad site --exit-after-study`
//    per site as child processes (the same executable), on 127.0.0.1, a
//    free port; shows live progress (phase, round, sites connected,
//    elapsed, ETA) from the coordinator's JSON log and audit log.
// 4. When the coordinator has finished: prints its results table, checks
//    results.json and report.html, and verifies every party's audit log
//    (`fedrad audit verify`, written to DIR/audit-verify.txt).
//
// Layout of DIR (every party's folder is self-contained, as on its own
// machine):
//   DIR/DEMO.txt                  what this folder is and how to rerun each party
//   DIR/synthetic/                synth's README.txt and truth.json (the generating model)
//   DIR/keys/                     every party's NAME.public (the auditor's --keys directory)
//   DIR/coordinator/              coordinator.json, study.json, radiomics.json, keys/,
//                                 coordinator.log (JSON lines), coordinator.audit.jsonl,
//                                 console.txt (stderr), summary.txt (stdout),
//                                 results/ (results.json, report.html, <model>/model.json)
//   DIR/<site>/                   site.json, study.json, radiomics.json, policy.json, keys/,
//                                 data/ (manifest.csv, clinical.csv, images/, masks/),
//                                 work/ (the extracted radiomics), <site>.log,
//                                 <site>.audit.jsonl, console.txt
//   DIR/audit-verify.txt          the audit verification report
//
// Failure handling: if any child exits with an error (or is killed), the
// others are stopped (SIGTERM, then SIGKILL after a grace period), the
// failing party, its exit status and the tail of its logs are reported, and
// the demo fails. `stop` (SIGINT/SIGTERM of the demo) stops every child the
// same way and returns kCancelled. Children get SIGTERM if the demo itself
// dies (PR_SET_PDEATHSIG).
#pragma once

#include <atomic>
#include <cstdint>
#include <ostream>
#include <string>

#include "fedrad/common/status.hpp"

namespace fedrad::tools {

struct DemoOptions {
  std::string out_dir = "fedrad-demo";
  // Replace DIR if it is a previous demo's folder (holds DEMO.txt); a
  // non-empty folder that is not is refused even with force.
  bool force = false;
  std::uint64_t seed = 20260127;
  // Sites in `fedrad synth --sites` syntax ("id:role:cases,..."); "" = the
  // default consortium (or the quick one with `quick`).
  std::string sites;
  // Smaller cohorts and a lighter study for tests (~20 s instead of ~1-2 min).
  bool quick = false;
  // Log level of the site processes ("" = info); the coordinator's log stays
  // at info or more verbose, the progress display reads it.
  std::string log_level;
  // The fedrad executable to start the parties with ("" = /proc/self/exe).
  std::string fedrad_binary;
  // Redraw one progress line in place (a terminal); otherwise print a line
  // at each phase change and every 10 s.
  bool live = false;
};

// Runs the demo (see above). OK when the study completed, results.json and
// report.html were written and every audit log verified. Progress and the
// final table go to `out`.
common::Status RunDemo(const DemoOptions& options, const std::atomic<bool>* stop,
                       std::ostream& out);

}  // namespace fedrad::tools

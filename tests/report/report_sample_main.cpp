// fedrad_report_sample OUT_DIR: writes the sample study's report.html and
// results.json (tests/report/sample_results.hpp) into OUT_DIR and prints the
// terminal results table. Used by render_test.sh (headless Chromium) and to
// look at the report by hand.
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

#include "fedrad/coordinator/report.hpp"
#include "report/sample_results.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fedrad_report_sample OUT_DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "fedrad_report_sample: cannot create %s: %s\n", dir.c_str(),
                 ec.message().c_str());
    return 1;
  }
  const fedrad::coordinator::StudyResults results = fedrad::testing::SampleStudyResults();
  for (const fedrad::common::Status& status :
       {fedrad::coordinator::WriteReportHtml(results, (dir / "report.html").string()),
        fedrad::coordinator::WriteResultsJson(results, (dir / "results.json").string())}) {
    if (!status.ok()) {
      std::fprintf(stderr, "fedrad_report_sample: %s\n", status.ToString().c_str());
      return 1;
    }
  }
  std::fputs(fedrad::coordinator::FormatResultsTable(results).c_str(), stdout);
  return 0;
}

// Helpers shared by the live-study integration tests (study_test.cpp,
// external_site_test.cpp, resume_test.cpp): JSON files, comparisons of
// results with a tolerance, and running `fedrad` subcommands to completion.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "support/process.hpp"

namespace fedrad::integration {

// A synthetic live study (WriteSyntheticStudy): tables with a fold column
// for train and external sites, a feature dictionary and a spec.
struct SyntheticStudyOptions {
  std::string study_id = "wire-study";
  std::vector<std::string> train{"site_a", "site_b", "site_c"};
  std::vector<std::string> external{};
  int features = 12;
  int rows_per_site = 120;  // every fold count passes the default disclosure policy (k = 5)
  // Merged into the spec over the defaults (models "first" = f01..f06 and
  // "all" = "*", 3 nested folds, 15 lambdas, C grid {0.1, 1, 10}, 64 bins).
  nlohmann::json spec_overrides = nlohmann::json::object();
};

struct SyntheticStudyFiles {
  std::map<std::string, std::string> site_csv;  // site -> its table
  std::string pooled_csv;                       // the train sites' rows together
  std::string spec;
};

// Writes data/<site>_features.csv for every site, data/pooled.csv,
// features.txt and study.json (with `sites` as its "sites" list,
// Consortium::StudySites) into `dir`. Deterministic.
SyntheticStudyFiles WriteSyntheticStudy(const TempDir& dir, const nlohmann::json& sites,
                                        const SyntheticStudyOptions& options = {});

// A double as %.17g (round-trips).
std::string Num(double v);
// "f01", "f02", ...: the synthetic studies' feature names (j from 0).
std::string FeatureName(int j);

// The JSON document in `path` (discarded value if it does not parse).
nlohmann::json ReadJson(const std::string& path);
// Reads `path`, applies `edit`, writes it back (use with ASSERT_NO_FATAL_FAILURE).
void PatchJson(const std::string& path, const std::function<void(nlohmann::json&)>& edit);

// Same structure; numbers within `tol` relative to max(1, |x|) when either
// is a float, everything else equal; object keys in `skip` are ignored at
// any depth.
void ExpectSameJson(const nlohmann::json& a, const nlohmann::json& b, double tol,
                    const std::string& where, const std::vector<std::string>& skip = {});

// Runs `fedrad ARGS` in `dir` to completion and expects exit 0.
void RunFedrad(const std::string& name, const std::vector<std::string>& args, const TempDir& dir);

// `fedrad audit verify LOGS --keys KEYS`: exit code and stdout + stderr.
std::pair<int, std::string> AuditVerify(const std::vector<std::string>& logs,
                                        const std::string& keys, const TempDir& dir);

}  // namespace fedrad::integration

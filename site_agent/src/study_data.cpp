#include "fedrad/site_agent/study_data.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>

#include "fedrad/common/csv.hpp"
#include "fedrad/common/files.hpp"
#include "fedrad/common/hash.hpp"
#include "fedrad/common/json_reader.hpp"
#include "fedrad/common/sodium_init.hpp"
#include "fedrad/common/version.hpp"
#include "fedrad/site_agent/extract_command.hpp"
#include "fedrad/site_agent/radiomics/extraction.hpp"

namespace fedrad::site_agent {

namespace {

using protocols::StudyDataDictionary;
using protocols::StudyVariable;
using protocols::VariableType;

constexpr std::size_t kMaxReportedProblems = 20;
constexpr std::size_t kMaxProblemChars = 240;

std::string Quote(std::string_view text) { return "'" + std::string(text) + "'"; }

// A C-locale number: the whole cell, no surrounding spaces.
std::optional<double> ParseNumber(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (*begin == '+') ++begin;  // from_chars rejects a leading '+'
  double value = 0.0;
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

bool IsMissing(std::string_view cell) { return cell.empty() || cell == "NA"; }

// Every problem of the site's data, reported together.
class Problems {
 public:
  void Add(std::string message) {
    if (message.size() > kMaxProblemChars) message = message.substr(0, kMaxProblemChars) + "...";
    messages_.push_back(std::move(message));
  }
  bool empty() const { return messages_.empty(); }
  std::size_t size() const { return messages_.size(); }
  common::Status ToStatus() const {
    std::string text = std::to_string(messages_.size()) + " problem" +
                       (messages_.size() == 1 ? "" : "s") + " in this site's study data";
    text += messages_.size() > kMaxReportedProblems ? " (the first 20):" : ":";
    for (std::size_t k = 0; k < messages_.size() && k < kMaxReportedProblems; ++k) {
      text += "\n  " + messages_[k];
    }
    if (messages_.size() > kMaxReportedProblems) {
      text += "\n  ... and " + std::to_string(messages_.size() - kMaxReportedProblems) + " more";
    }
    return common::InvalidArgument(text);
  }

 private:
  std::vector<std::string> messages_;
};

std::string FormatBound(double value) { return common::FormatDoubleShort(value); }

// "expected a number in [0, 100000] U/mL" and the like.
std::string Expectation(const StudyVariable& variable) {
  std::string text;
  switch (variable.type) {
    case VariableType::kBinary:
      return "expected 0 or 1";
    case VariableType::kCategorical: {
      text = "expected one of ";
      for (std::size_t k = 0; k < variable.levels.size(); ++k) {
        text += (k == 0 ? "" : ", ") + Quote(variable.levels[k]);
      }
      return text;
    }
    case VariableType::kInteger:
      text = "expected an integer";
      break;
    case VariableType::kNumber:
      text = "expected a number";
      break;
  }
  if (variable.has_range) {
    text +=
        " in [" + FormatBound(variable.range_min) + ", " + FormatBound(variable.range_max) + "]";
  }
  if (!variable.unit.empty()) text += " " + variable.unit;
  return text;
}

// The value of one cell of a variable (categorical: the level index), or
// nullopt when the cell does not fit the variable.
std::optional<double> ParseValue(const StudyVariable& variable, const std::string& cell) {
  if (variable.type == VariableType::kCategorical) {
    for (std::size_t k = 0; k < variable.levels.size(); ++k) {
      if (variable.levels[k] == cell) return static_cast<double>(k);
    }
    return std::nullopt;
  }
  const auto value = ParseNumber(cell);
  if (!value || !std::isfinite(*value)) return std::nullopt;
  if (variable.type == VariableType::kBinary) {
    if (*value != 0.0 && *value != 1.0) return std::nullopt;
    return value;
  }
  if (variable.type == VariableType::kInteger && *value != std::floor(*value)) return std::nullopt;
  if (variable.has_range && (*value < variable.range_min || *value > variable.range_max)) {
    return std::nullopt;
  }
  return value;
}

// The validated clinical CSV.
struct ClinicalData {
  std::string path;
  std::vector<std::string> ids;                       // kept rows (complete_case drops some)
  std::vector<std::size_t> lines;                     // their CSV lines
  std::vector<double> labels;                         // 0/1
  std::map<std::string, std::vector<double>> values;  // variable -> value per kept row
  std::map<std::string, std::size_t> all_ids;         // every id with its line (kept or dropped)
  std::size_t dropped = 0;                            // rows left out (complete_case)
};

// Reads and checks the clinical CSV against the dictionary; problems go to
// `problems`. nullopt when the file cannot be read at all (also a problem).
std::optional<ClinicalData> ReadClinical(const std::string& path,
                                         const StudyDataDictionary& dictionary,
                                         Problems* problems) {
  auto csv = common::ReadCsvFile(path);
  if (!csv.ok()) {
    problems->Add(csv.status().ToString());
    return std::nullopt;
  }
  const std::string header_where = path + ":1: ";
  const auto id_column = csv->Column(dictionary.id_column);
  const auto label_column = csv->Column(dictionary.label_column);
  if (!id_column) {
    problems->Add(header_where + "no id column " + Quote(dictionary.id_column) +
                  " (data_dictionary.id_column)");
  }
  if (!label_column) {
    problems->Add(header_where + "no label column " + Quote(dictionary.label_column) +
                  " (data_dictionary.label_column)");
  }
  std::vector<std::optional<std::size_t>> variable_columns;
  for (const StudyVariable& variable : dictionary.variables) {
    variable_columns.push_back(csv->Column(variable.name));
    if (!variable_columns.back()) {
      problems->Add(header_where + "no column " + Quote(variable.name) + " (data_dictionary " +
                    protocols::VariableTypeName(variable.type) + " variable)");
    }
  }
  if (csv->rows.empty()) {
    problems->Add(path + ": the clinical table has no rows (cases)");
    return std::nullopt;
  }
  if (!id_column || !label_column) return std::nullopt;

  ClinicalData data;
  data.path = path;
  for (const StudyVariable& variable : dictionary.variables) data.values[variable.name];
  const std::string missing_rule =
      dictionary.complete_case ? ""
      : dictionary.impute      ? " (data_dictionary \"missing\": \"impute\" never imputes a label)"
                               : " (data_dictionary \"missing\": \"refuse\")";
  for (std::size_t r = 0; r < csv->rows.size(); ++r) {
    const auto& row = csv->rows[r];
    const std::size_t line = csv->row_lines[r];
    const std::string where = path + ":" + std::to_string(line) + ": column ";
    bool drop = false;

    const std::string& id = row[*id_column];
    if (id.empty()) {
      problems->Add(where + Quote(dictionary.id_column) +
                    ": expected a case id, got an empty cell");
    } else if (auto [it, inserted] = data.all_ids.emplace(id, line); !inserted) {
      problems->Add(where + Quote(dictionary.id_column) + ": duplicate case id " + Quote(id) +
                    " (first on line " + std::to_string(it->second) + ")");
    }

    const std::string& label_text = row[*label_column];
    double label = 0.0;
    if (IsMissing(label_text)) {
      if (dictionary.complete_case) {
        drop = true;
      } else {
        problems->Add(where + Quote(dictionary.label_column) + ": missing label" + missing_rule);
      }
    } else if (const auto parsed = ParseNumber(label_text);
               !parsed || (*parsed != 0.0 && *parsed != 1.0)) {
      problems->Add(where + Quote(dictionary.label_column) + ": expected 0 or 1, got " +
                    Quote(label_text));
    } else {
      label = *parsed;
    }

    std::vector<double> row_values(dictionary.variables.size(), 0.0);
    for (std::size_t v = 0; v < dictionary.variables.size(); ++v) {
      if (!variable_columns[v]) continue;
      const StudyVariable& variable = dictionary.variables[v];
      const std::string& cell = row[*variable_columns[v]];
      if (IsMissing(cell)) {
        if (dictionary.complete_case) {
          drop = true;
        } else if (dictionary.impute) {
          row_values[v] = std::nan("");  // kept missing: filled per request (providers.hpp)
        } else {
          problems->Add(where + Quote(variable.name) + ": missing value" + missing_rule);
        }
        continue;
      }
      const auto value = ParseValue(variable, cell);
      if (!value) {
        problems->Add(where + Quote(variable.name) + ": " + Expectation(variable) + ", got " +
                      Quote(cell));
        continue;
      }
      row_values[v] = *value;
    }
    if (drop) {
      ++data.dropped;
      continue;
    }
    data.ids.push_back(id);
    data.lines.push_back(line);
    data.labels.push_back(label);
    for (std::size_t v = 0; v < dictionary.variables.size(); ++v) {
      data.values[dictionary.variables[v].name].push_back(row_values[v]);
    }
  }
  if (data.ids.empty() && data.dropped > 0) {
    problems->Add(path +
                  ": every row has a missing value (data_dictionary \"missing\": "
                  "\"complete_case\" leaves no case)");
  }
  return data;
}

// A radiomics table (from the extraction or precomputed), checked.
struct RadiomicsData {
  std::string path;
  std::map<std::string, std::size_t> row_of;  // case id -> row
  std::vector<std::size_t> lines;
  std::vector<std::vector<double>> rows;  // NaN = absent
  std::set<std::string> failed;           // cases the extraction could not do
};

// Reads a `fedrad extract` table whose header must be case_id + `columns`.
std::optional<RadiomicsData> ReadRadiomics(const std::string& path,
                                           const std::vector<std::string>& columns,
                                           Problems* problems) {
  auto csv = common::ReadCsvFile(path);
  if (!csv.ok()) {
    problems->Add(csv.status().ToString());
    return std::nullopt;
  }
  std::vector<std::string> expected = {"case_id"};
  expected.insert(expected.end(), columns.begin(), columns.end());
  if (csv->header != expected) {
    std::string detail;
    for (std::size_t k = 0; k < std::max(csv->header.size(), expected.size()); ++k) {
      const std::string got = k < csv->header.size() ? csv->header[k] : "(none)";
      const std::string want = k < expected.size() ? expected[k] : "(none)";
      if (got != want) {
        detail =
            "column " + std::to_string(k + 1) + " is " + Quote(got) + ", expected " + Quote(want);
        break;
      }
    }
    problems->Add(path + ":1: the header is not that of the study's radiomics params (" +
                  std::to_string(csv->header.size() - 1) + " feature columns, expected " +
                  std::to_string(columns.size()) + "; " + detail + ")");
    return std::nullopt;
  }
  RadiomicsData data;
  data.path = path;
  for (std::size_t r = 0; r < csv->rows.size(); ++r) {
    const auto& row = csv->rows[r];
    const std::size_t line = csv->row_lines[r];
    const std::string where = path + ":" + std::to_string(line) + ": ";
    const std::string& id = row[0];
    if (id.empty()) {
      problems->Add(where + "column 'case_id': expected a case id, got an empty cell");
      continue;
    }
    if (auto [it, inserted] = data.row_of.emplace(id, data.rows.size()); !inserted) {
      problems->Add(where + "column 'case_id': duplicate case id " + Quote(id) +
                    " (first on line " + std::to_string(data.lines[it->second]) + ")");
      continue;
    }
    std::vector<double> values(columns.size(), std::nan(""));
    for (std::size_t c = 0; c < columns.size(); ++c) {
      const std::string& cell = row[c + 1];
      if (cell.empty()) continue;  // absent (the missing-value rule applies at the join)
      const auto value = ParseNumber(cell);
      if (!value || !std::isfinite(*value)) {
        problems->Add(where + "column " + Quote(columns[c]) + ": expected a finite number, got " +
                      Quote(cell));
        continue;
      }
      values[c] = *value;
    }
    data.lines.push_back(line);
    data.rows.push_back(std::move(values));
  }
  return data;
}

// The sidecar of a radiomics table (fedrad extract's provenance JSON).
common::Result<nlohmann::json> ReadSidecar(const std::string& table_path) {
  const std::string path = ProvenancePath(table_path);
  FEDRAD_ASSIGN_OR_RETURN(nlohmann::json json, common::ReadJsonFile(path));
  if (!json.is_object() || !json.contains("params_sha256") || !json["params_sha256"].is_string() ||
      !json.contains("fedrad_version") || !json["fedrad_version"].is_string()) {
    return common::InvalidArgument(path +
                                   ": not a fedrad extract provenance file (needs the strings "
                                   "fedrad_version and params_sha256)");
  }
  return json;
}

// Records the sidecar's failed cases as problems.
void AddSidecarFailures(const nlohmann::json& sidecar, const std::string& source,
                        RadiomicsData* data, Problems* problems) {
  if (!sidecar.contains("failures") || !sidecar["failures"].is_array()) return;
  for (const auto& failure : sidecar["failures"]) {
    if (!failure.is_object() || !failure.contains("case_id") || !failure["case_id"].is_string()) {
      continue;
    }
    const std::string id = failure["case_id"].get<std::string>();
    const std::string error = failure.contains("error") && failure["error"].is_string()
                                  ? failure["error"].get<std::string>()
                                  : "unknown error";
    data->failed.insert(id);
    problems->Add(source + ": case " + Quote(id) + ": radiomics extraction failed: " + error);
  }
}

// The cache key of an extraction: see the header.
common::Result<nlohmann::json> CacheKey(const std::string& manifest,
                                        const radiomics::ExtractionParams& params) {
  FEDRAD_RETURN_IF_ERROR(common::InitSodium());
  FEDRAD_ASSIGN_OR_RETURN(std::string manifest_sha256, common::Sha256File(manifest));
  return nlohmann::json{{"fedrad_version", std::string(common::Version())},
                        {"params_sha256", params.hash},
                        {"manifest", manifest},
                        {"manifest_sha256", manifest_sha256}};
}

// True when <work_dir>/radiomics.csv is an extraction of this manifest with
// these params whose images and masks are unchanged and had no failure.
bool CacheIsValid(const std::string& cache_path, const nlohmann::json& key,
                  const std::string& table_path) {
  auto cached = common::ReadJsonFile(cache_path);
  if (!cached.ok() || *cached != key) return false;
  auto sidecar = ReadSidecar(table_path);
  if (!sidecar.ok()) return false;
  if ((*sidecar)["params_sha256"] != key["params_sha256"]) return false;
  if (!sidecar->contains("failures") || !(*sidecar)["failures"].empty()) return false;
  auto cases = ReadManifest(key["manifest"].get<std::string>());
  if (!cases.ok() || !sidecar->contains("cases") || !(*sidecar)["cases"].is_array() ||
      (*sidecar)["cases"].size() != cases->size()) {
    return false;
  }
  for (std::size_t i = 0; i < cases->size(); ++i) {
    const radiomics::CaseInput& in = (*cases)[i];
    const nlohmann::json& record = (*sidecar)["cases"][i];
    if (!record.is_object() || record.value("case_id", "") != in.case_id) return false;
    const std::pair<const char*, std::string> files[] = {
        {"image_sha256", in.image_path},
        {"lesion_mask_sha256", in.lesion_mask_path},
        {"parenchyma_mask_sha256", in.parenchyma_mask_path},
        {"field_of_view_mask_sha256", in.field_of_view_mask_path}};
    for (const auto& [field, path] : files) {
      const nlohmann::json recorded = record.contains(field) ? record[field] : nlohmann::json();
      // null: the extraction did not read the file (none given, or a region
      // the params do not compute).
      if (recorded.is_null()) continue;
      if (path.empty()) return false;
      auto hash = common::Sha256File(path);
      if (!hash.ok() || !recorded.is_string() || recorded.get<std::string>() != *hash) return false;
    }
  }
  return true;
}

// Extracts (or reuses) the radiomics of `sources.manifest`.
common::Result<std::string> ExtractRadiomics(const StudyDataSources& sources,
                                             const protocols::StudySpec& spec,
                                             const radiomics::ExtractionParams& params,
                                             std::ostream* progress) {
  if (sources.work_dir.empty()) {
    return common::InvalidArgument("no work_dir for the radiomics extraction");
  }
  std::error_code ec;
  std::filesystem::create_directories(sources.work_dir, ec);
  if (ec) {
    return common::IoError("cannot create the work folder " + sources.work_dir + ": " +
                           ec.message());
  }
  const std::string table_path =
      (std::filesystem::path(sources.work_dir) / "radiomics.csv").string();
  const std::string params_path =
      (std::filesystem::path(sources.work_dir) / "radiomics.params.json").string();
  const std::string cache_path =
      (std::filesystem::path(sources.work_dir) / "radiomics.cache.json").string();
  FEDRAD_ASSIGN_OR_RETURN(nlohmann::json key, CacheKey(sources.manifest, params));
  if (CacheIsValid(cache_path, key, table_path)) {
    if (progress != nullptr) {
      *progress << "radiomics: reusing " << table_path << " (same params, manifest and images)\n";
    }
    return table_path;
  }
  // The cache key is removed first: an interrupted extraction is never reused.
  std::filesystem::remove(cache_path, ec);
  FEDRAD_RETURN_IF_ERROR(
      common::WriteFileAtomic(params_path, spec.radiomics_params.dump(2) + "\n"));
  ExtractOptions options;
  options.manifest = sources.manifest;
  options.params = params_path;
  options.out = table_path;
  options.jobs = sources.extract_jobs;
  options.progress = progress != nullptr;
  std::ostringstream sink;
  if (progress != nullptr) {
    *progress << "radiomics: extracting " << sources.manifest << " into " << table_path << "\n";
  }
  FEDRAD_ASSIGN_OR_RETURN(ExtractSummary summary,
                          RunExtract(options, progress != nullptr ? *progress : sink, false));
  FEDRAD_ASSIGN_OR_RETURN(nlohmann::json sidecar, ReadSidecar(table_path));
  if (sidecar["params_sha256"] != params.hash) {
    return common::Internal("the extraction's params hash " +
                            sidecar["params_sha256"].get<std::string>() + " is not the study's " +
                            params.hash);
  }
  if (summary.failures.empty()) {
    FEDRAD_RETURN_IF_ERROR(common::WriteFileAtomic(cache_path, key.dump(2) + "\n"));
  }
  return table_path;
}

// Writes the table as CSV (for its hash): id, label, columns, %.17g.
std::string TableText(const stats::FeatureTable& table, const protocols::StudySpec& spec) {
  std::string text = common::CsvEscape(spec.id_column) + "," + common::CsvEscape(spec.label_column);
  for (const auto& column : table.columns) text += "," + common::CsvEscape(column);
  text += "\n";
  for (Eigen::Index i = 0; i < table.x.rows(); ++i) {
    text += common::CsvEscape(table.ids[static_cast<std::size_t>(i)]) + "," +
            common::FormatDouble(table.y[i]);
    for (Eigen::Index j = 0; j < table.x.cols(); ++j)
      text += "," + common::FormatDouble(table.x(i, j));
    text += "\n";
  }
  return text;
}

common::Result<radiomics::ExtractionParams> SpecParams(const protocols::StudySpec& spec) {
  const std::string source = spec.radiomics_params_path.empty() ? "study spec /radiomics/params"
                                                                : spec.radiomics_params_path;
  return radiomics::ParseExtractionParams(spec.radiomics_params, source);
}

}  // namespace

common::Result<std::vector<std::string>> StudyFeatureColumns(const protocols::StudySpec& spec) {
  if (!spec.has_data_dictionary) {
    return common::InvalidArgument("the study spec has no data_dictionary");
  }
  std::vector<std::string> columns = protocols::ClinicalFeatureColumns(spec);
  if (!spec.radiomics_params.is_null()) {
    FEDRAD_ASSIGN_OR_RETURN(radiomics::ExtractionParams params, SpecParams(spec));
    const std::vector<std::string> radiomics_columns = radiomics::FeatureColumns(params);
    columns.insert(columns.end(), radiomics_columns.begin(), radiomics_columns.end());
  }
  return columns;
}

common::Status ResolveStudyFeatureDictionary(protocols::StudySpec* spec) {
  if (!spec->has_data_dictionary || !spec->feature_dictionary.empty()) return common::Status::Ok();
  FEDRAD_ASSIGN_OR_RETURN(spec->feature_dictionary, StudyFeatureColumns(*spec));
  for (const auto& model : spec->models) {
    auto resolved = protocols::ResolveModelColumns(model, spec->feature_dictionary);
    if (!resolved.ok()) {
      return resolved.status().Wrap("study " + spec->study_id +
                                    ": the columns of its data dictionary and radiomics params");
    }
  }
  return common::Status::Ok();
}

common::Result<stats::FeatureTable> BuildStudyTableFrom(const StudyDataSources& sources,
                                                        const protocols::StudySpec& spec,
                                                        StudyDataProvenance* provenance,
                                                        std::ostream* progress) {
  if (!spec.has_data_dictionary) {
    return common::InvalidArgument("the study spec has no data_dictionary");
  }
  const StudyDataDictionary& dictionary = spec.data_dictionary;
  if (sources.clinical.empty()) {
    return common::FailedPrecondition(
        "the study has a data dictionary but this site names no clinical CSV (data.clinical)");
  }
  const bool has_radiomics = !spec.radiomics_params.is_null();
  std::optional<radiomics::ExtractionParams> params;
  if (has_radiomics) {
    FEDRAD_ASSIGN_OR_RETURN(params, SpecParams(spec));
    if (sources.manifest.empty() == sources.features.empty()) {
      return common::FailedPrecondition(
          "the study has radiomics: give this site's images as a manifest (data.manifest) or a "
          "precomputed radiomics table (data.features), exactly one");
    }
  }
  std::string fedrad_version(common::Version());

  Problems problems;
  std::optional<ClinicalData> clinical = ReadClinical(sources.clinical, dictionary, &problems);

  std::optional<RadiomicsData> radiomics_data;
  std::vector<std::string> radiomics_columns;
  std::string radiomics_source;
  if (has_radiomics) {
    radiomics_columns = radiomics::FeatureColumns(*params);
    std::string table_path;
    if (!sources.features.empty()) {
      table_path = sources.features;
      radiomics_source = sources.features;
      auto sidecar = ReadSidecar(sources.features);
      if (!sidecar.ok()) {
        return common::FailedPrecondition("the precomputed radiomics table " + sources.features +
                                          " needs its fedrad extract provenance file (" +
                                          ProvenancePath(sources.features) +
                                          "): " + sidecar.status().message());
      }
      const std::string table_hash = (*sidecar)["params_sha256"].get<std::string>();
      if (table_hash != params->hash) {
        return common::FailedPrecondition(
            "the radiomics table " + sources.features + " was extracted with params SHA-256 " +
            table_hash + " but the study's radiomics params have SHA-256 " + params->hash +
            " (extract again with the study's params)");
      }
      fedrad_version = (*sidecar)["fedrad_version"].get<std::string>();
      radiomics_data = ReadRadiomics(table_path, radiomics_columns, &problems);
      if (radiomics_data) AddSidecarFailures(*sidecar, table_path, &*radiomics_data, &problems);
    } else {
      radiomics_source = sources.manifest;
      FEDRAD_ASSIGN_OR_RETURN(table_path, ExtractRadiomics(sources, spec, *params, progress));
      FEDRAD_ASSIGN_OR_RETURN(nlohmann::json sidecar, ReadSidecar(table_path));
      radiomics_data = ReadRadiomics(table_path, radiomics_columns, &problems);
      if (radiomics_data)
        AddSidecarFailures(sidecar, sources.manifest, &*radiomics_data, &problems);
    }
  }

  // The join, and the table.
  stats::FeatureTable table;
  table.path = sources.clinical;
  table.columns = protocols::ClinicalFeatureColumns(spec);
  table.columns.insert(table.columns.end(), radiomics_columns.begin(), radiomics_columns.end());
  if (clinical && (!has_radiomics || radiomics_data)) {
    std::vector<std::size_t> radiomics_row(clinical->ids.size(), 0);
    std::vector<bool> keep(clinical->ids.size(), true);
    if (has_radiomics) {
      for (std::size_t i = 0; i < clinical->ids.size(); ++i) {
        const std::string& id = clinical->ids[i];
        const auto it = radiomics_data->row_of.find(id);
        if (it == radiomics_data->row_of.end()) {
          if (radiomics_data->failed.count(id) == 0) {
            problems.Add(sources.clinical + ":" + std::to_string(clinical->lines[i]) + ": case " +
                         Quote(id) + " has no radiomics (not in " + radiomics_source + ")");
          }
          keep[i] = false;
          continue;
        }
        radiomics_row[i] = it->second;
        const std::vector<double>& values = radiomics_data->rows[it->second];
        std::size_t absent = 0;
        std::string first_absent;
        for (std::size_t c = 0; c < values.size(); ++c) {
          if (std::isnan(values[c])) {
            if (absent++ == 0) first_absent = radiomics_columns[c];
          }
        }
        if (absent > 0 && !dictionary.impute) {  // impute: the cells stay NaN
          if (dictionary.complete_case) {
            keep[i] = false;
            ++clinical->dropped;
          } else {
            problems.Add(radiomics_data->path + ":" +
                         std::to_string(radiomics_data->lines[it->second]) + ": case " + Quote(id) +
                         ": " + std::to_string(absent) + " radiomics feature" +
                         (absent == 1 ? " is" : "s are") + " missing (e.g. " + Quote(first_absent) +
                         ") (data_dictionary \"missing\": \"refuse\")");
          }
        }
      }
      for (const auto& [id, row] : radiomics_data->row_of) {
        if (clinical->all_ids.count(id) == 0) {
          problems.Add(radiomics_data->path + ":" + std::to_string(radiomics_data->lines[row]) +
                       ": case " + Quote(id) + " has radiomics but no row in " + sources.clinical);
        }
      }
    }
    if (problems.empty()) {
      std::size_t n = 0;
      for (bool k : keep) n += k ? 1 : 0;
      if (n == 0) {
        problems.Add(sources.clinical + ": no case is left for the study");
      } else {
        const auto rows = static_cast<Eigen::Index>(n);
        table.x.resize(rows, static_cast<Eigen::Index>(table.columns.size()));
        table.y.resize(rows);
        Eigen::Index out = 0;
        for (std::size_t i = 0; i < clinical->ids.size(); ++i) {
          if (!keep[i]) continue;
          table.ids.push_back(clinical->ids[i]);
          table.y[out] = clinical->labels[i];
          Eigen::Index c = 0;
          for (const std::string& feature : dictionary.features) {
            const auto variable =
                std::find_if(dictionary.variables.begin(), dictionary.variables.end(),
                             [&](const StudyVariable& v) { return v.name == feature; });
            if (variable != dictionary.variables.end()) {
              const double value = clinical->values.at(feature)[i];
              if (variable->type == VariableType::kCategorical) {
                // A missing level leaves every dummy column missing.
                for (std::size_t level = 1; level < variable->levels.size(); ++level) {
                  table.x(out, c++) = std::isnan(value)                     ? value
                                      : value == static_cast<double>(level) ? 1.0
                                                                            : 0.0;
                }
              } else {
                table.x(out, c++) = value;
              }
              continue;
            }
            const auto derived =
                std::find_if(dictionary.derived.begin(), dictionary.derived.end(),
                             [&](const protocols::StudyDerived& d) { return d.name == feature; });
            const double value = clinical->values.at(derived->variable)[i];
            if (std::isnan(value)) {  // derived from a missing value: missing
              table.x(out, c++) = value;
              continue;
            }
            bool on = false;
            if (derived->op == ">") on = value > derived->threshold;
            if (derived->op == ">=") on = value >= derived->threshold;
            if (derived->op == "<") on = value < derived->threshold;
            if (derived->op == "<=") on = value <= derived->threshold;
            table.x(out, c++) = on ? 1.0 : 0.0;
          }
          if (has_radiomics) {
            const std::vector<double>& values = radiomics_data->rows[radiomics_row[i]];
            for (double v : values) table.x(out, c++) = v;
          }
          ++out;
        }
      }
    }
  }
  if (!problems.empty()) return problems.ToStatus();
  if (progress != nullptr && clinical->dropped > 0) {
    *progress << "complete-case: " << clinical->dropped << " case"
              << (clinical->dropped == 1 ? "" : "s") << " with missing values left out\n";
  }
  if (progress != nullptr && dictionary.impute) {
    const auto missing = table.x.array().isNaN().count();
    if (missing > 0) {
      *progress << "impute: " << missing << " missing cell" << (missing == 1 ? "" : "s")
                << " kept; each request fills them with the pooled values it carries\n";
    }
  }
  FEDRAD_RETURN_IF_ERROR(common::InitSodium());
  table.sha256 = common::Sha256Hex(TableText(table, spec));
  if (provenance != nullptr) {
    provenance->fedrad_version = fedrad_version;
    provenance->radiomics_params_sha256 = has_radiomics ? params->hash : "";
    provenance->data_dictionary_sha256 = dictionary.sha256;
    provenance->cases = table.ids.size();
  }
  return table;
}

common::Result<stats::FeatureTable> BuildStudyTable(const SiteConfig& config,
                                                    const protocols::StudySpec& spec,
                                                    StudyDataProvenance* provenance,
                                                    std::ostream* progress) {
  if (!spec.has_data_dictionary) {
    if (config.study_features.empty()) {
      return common::FailedPrecondition(
          "the study spec has no data_dictionary, so this site needs its complete study table "
          "(study.features in " +
          config.source_path + ")");
    }
    FEDRAD_ASSIGN_OR_RETURN(stats::FeatureTable table,
                            stats::ReadFeatureTable(config.study_features, spec));
    if (provenance != nullptr) {
      *provenance = StudyDataProvenance{};
      provenance->fedrad_version = std::string(common::Version());
      provenance->cases = table.ids.size();
    }
    return table;
  }
  StudyDataSources sources;
  sources.clinical = config.data_clinical;
  sources.manifest = config.data_manifest;
  sources.features = config.data_features;
  sources.work_dir = config.data_work_dir;
  sources.extract_jobs = config.data_extract_jobs;
  if (sources.clinical.empty()) {
    return common::FailedPrecondition(
        "the study has a data dictionary but this site names no clinical CSV (data.clinical in " +
        config.source_path + ")");
  }
  return BuildStudyTableFrom(sources, spec, provenance, progress);
}

}  // namespace fedrad::site_agent

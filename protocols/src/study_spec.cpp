#include "fedrad/protocols/study_spec.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string_view>

#include "fedrad/common/files.hpp"
#include "fedrad/common/hash.hpp"
#include "fedrad/common/json_reader.hpp"
#include "fedrad/common/keys.hpp"
#include "fedrad/common/sodium_init.hpp"

namespace fedrad::protocols {

namespace {

using common::ObjectReader;

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

// '*' matches any run of characters (including none); everything else is
// literal. Iterative with backtracking to the last '*' (linear in practice).
bool GlobMatch(std::string_view pattern, std::string_view text) {
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string TrimSpace(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return std::string(text.substr(first, last - first + 1));
}

// Parses a feature dictionary file. Errors are added to `errors` at
// /feature_dictionary, each naming the dictionary file and line.
std::vector<std::string> ParseDictionary(const std::string& text, const std::string& path,
                                         ObjectReader& root) {
  std::vector<std::string> names;
  std::map<std::string, std::size_t> first_line;
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ++line_number;
    std::string_view line(text.data() + start, end - start);
    if (const auto hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    const std::string name = TrimSpace(line);
    if (!name.empty()) {
      const std::string where = path + ":" + std::to_string(line_number) + ": ";
      if (name.find('*') != std::string::npos) {
        root.Error("feature_dictionary",
                   where + "column name " + Quote(name) + " contains '*' (names are literal)");
      } else if (auto [it, inserted] = first_line.emplace(name, line_number); !inserted) {
        root.Error("feature_dictionary", where + "column " + Quote(name) +
                                             " is listed twice (first on line " +
                                             std::to_string(it->second) + ")");
      } else {
        names.push_back(name);
      }
    }
    if (end == text.size()) break;
    start = end + 1;
  }
  if (names.empty() && line_number > 0) {
    root.Error("feature_dictionary", path + ": lists no column names");
  }
  return names;
}

std::vector<double> DefaultCGrid() {
  std::vector<double> grid;
  for (int e = -7; e <= 2; ++e) grid.push_back(std::ldexp(1.0, e));
  return grid;
}

std::vector<double> ReadCGrid(ObjectReader& svm) {
  const nlohmann::json* value = svm.Raw("c_grid");
  if (value == nullptr) return DefaultCGrid();
  const std::string pointer = common::JsonPointerAppend(svm.pointer(), "c_grid");
  if (!value->is_array() || value->empty()) {
    svm.Error("c_grid", "expected a non-empty array of numbers > 0, got " +
                            (value->is_array() ? std::string("[]") : value->dump()));
    return DefaultCGrid();
  }
  std::vector<double> grid;
  bool ok = true;
  for (std::size_t i = 0; i < value->size(); ++i) {
    const nlohmann::json& element = (*value)[i];
    const std::string element_pointer = common::JsonPointerAppend(pointer, std::to_string(i));
    if (!element.is_number() || !(element.get<double>() > 0.0) ||
        !std::isfinite(element.get<double>())) {
      svm.errors()->Add(element_pointer, "expected a finite number > 0, got " + element.dump());
      ok = false;
      continue;
    }
    const double c = element.get<double>();
    for (std::size_t j = 0; j < grid.size(); ++j) {
      if (grid[j] == c) {
        svm.errors()->Add(element_pointer, "C = " + element.dump() +
                                               " is listed twice (the values must be distinct)");
        ok = false;
      }
    }
    grid.push_back(c);
  }
  return ok ? grid : DefaultCGrid();
}

// A variable, derived or level name: 1-64 of [A-Za-z0-9_.-], starting with
// a letter or digit (so that "clin_<name>" is a plain column name).
std::string CheckColumnName(const std::string& name, const char* what) {
  const auto allowed = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  };
  const bool ok = !name.empty() && name.size() <= 64 && allowed(name.front()) &&
                  name.front() != '_' && name.front() != '.' && name.front() != '-' &&
                  std::all_of(name.begin(), name.end(), allowed);
  if (ok) return {};
  return std::string("expected a ") + what +
         " of 1-64 characters from [A-Za-z0-9_.-] starting with a letter or digit, got " +
         nlohmann::json(name).dump();
}

// "range": [lo, hi] with finite lo <= hi (integers for an integer variable).
void ReadRange(ObjectReader& reader, StudyVariable* variable) {
  const nlohmann::json* value = reader.Raw("range");
  if (value == nullptr) return;
  const bool integer = variable->type == VariableType::kInteger;
  const char* expected = integer ? "expected [min, max] with integers min <= max, got "
                                 : "expected [min, max] with finite numbers min <= max, got ";
  if (variable->type != VariableType::kInteger && variable->type != VariableType::kNumber) {
    reader.Error("range", "only integer and number variables have a range (this one is " +
                              VariableTypeName(variable->type) + ")");
    return;
  }
  if (!value->is_array() || value->size() != 2 || !(*value)[0].is_number() ||
      !(*value)[1].is_number()) {
    reader.Error("range", expected + value->dump());
    return;
  }
  const double lo = (*value)[0].get<double>();
  const double hi = (*value)[1].get<double>();
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi ||
      (integer && (lo != std::floor(lo) || hi != std::floor(hi)))) {
    reader.Error("range", expected + value->dump());
    return;
  }
  variable->has_range = true;
  variable->range_min = lo;
  variable->range_max = hi;
}

// The "data_dictionary" section. Errors go to the reader's list.
StudyDataDictionary ReadDataDictionary(ObjectReader& section, const StudySpec& spec) {
  StudyDataDictionary dictionary;
  dictionary.id_column = section.String("id_column", spec.id_column);
  dictionary.label_column = section.String("label_column", spec.label_column);
  if (dictionary.id_column.empty()) {
    section.Error("id_column", "expected a column name of the clinical CSV, got \"\"");
  }
  if (dictionary.label_column.empty()) {
    section.Error("label_column", "expected a column name of the clinical CSV, got \"\"");
  } else if (dictionary.label_column == dictionary.id_column) {
    section.Error("label_column", "is the id column " + Quote(dictionary.id_column) + " as well");
  }
  const std::string missing =
      section.Choice("missing", {"refuse", "complete_case", "impute"}, "refuse");
  dictionary.complete_case = missing == "complete_case";
  dictionary.impute = missing == "impute";

  // name -> (kind, type): every variable and derived name is unique.
  std::map<std::string, std::string> names;  // name -> pointer of its definition
  std::map<std::string, VariableType> variable_types;
  const std::vector<std::string> type_names = {"binary", "integer", "number", "categorical"};
  const bool has_variables = section.Has("variables");
  std::vector<ObjectReader> variables = section.ObjectArray("variables");
  if (has_variables && variables.empty() && section.Raw("variables")->is_array()) {
    section.Error("variables", "expected at least one variable");
  }
  for (ObjectReader& reader : variables) {
    StudyVariable variable;
    variable.name = reader.String("name");
    const std::string type = reader.Choice("type", type_names);
    for (std::size_t k = 0; k < type_names.size(); ++k) {
      if (type == type_names[k]) variable.type = static_cast<VariableType>(k);
    }
    variable.unit = reader.String("unit", "");
    variable.description = reader.String("description", "");
    ReadRange(reader, &variable);
    const bool has_levels = reader.Has("levels");
    if (has_levels) {
      if (variable.type != VariableType::kCategorical) {
        reader.Error("levels", "only categorical variables have levels (this one is " + type + ")");
        (void)reader.Raw("levels");
      } else {
        variable.levels = reader.StringList("levels");
        const std::string levels_pointer = common::JsonPointerAppend(reader.pointer(), "levels");
        if (reader.Raw("levels")->is_array() && variable.levels.size() < 2) {
          reader.Error("levels", "expected at least two levels (the first is the reference)");
        }
        for (std::size_t k = 0; k < variable.levels.size(); ++k) {
          const std::string pointer = common::JsonPointerAppend(levels_pointer, std::to_string(k));
          if (std::string p = CheckColumnName(variable.levels[k], "level"); !p.empty()) {
            reader.errors()->Add(pointer, p);
          }
          for (std::size_t j = 0; j < k; ++j) {
            if (variable.levels[j] == variable.levels[k]) {
              reader.errors()->Add(pointer,
                                   "level " + Quote(variable.levels[k]) + " is listed twice");
            }
          }
        }
      }
    } else if (variable.type == VariableType::kCategorical && !type.empty()) {
      reader.Error("levels", "missing required key (a categorical variable lists its levels)");
    }
    if (!variable.name.empty()) {
      const std::string pointer = common::JsonPointerAppend(reader.pointer(), "name");
      if (std::string p = CheckColumnName(variable.name, "column name"); !p.empty()) {
        reader.Error("name", p);
      } else if (variable.name == dictionary.id_column ||
                 variable.name == dictionary.label_column) {
        reader.Error("name",
                     Quote(variable.name) + " is the id or label column (they are not variables)");
      } else if (auto [it, inserted] = names.emplace(variable.name, pointer); !inserted) {
        reader.Error("name", "variable " + Quote(variable.name) + " is defined twice (first at " +
                                 it->second + ")");
      } else {
        variable_types[variable.name] = variable.type;
      }
    }
    reader.Finish();
    dictionary.variables.push_back(std::move(variable));
  }

  for (ObjectReader& reader : section.ObjectArray("derived", /*required=*/false)) {
    StudyDerived derived;
    derived.name = reader.String("name");
    derived.variable = reader.String("variable");
    derived.op = reader.Choice("op", {">", ">=", "<", "<="});
    derived.threshold = reader.Number("threshold", -1e308, 1e308);
    if (!derived.name.empty()) {
      const std::string pointer = common::JsonPointerAppend(reader.pointer(), "name");
      if (std::string p = CheckColumnName(derived.name, "column name"); !p.empty()) {
        reader.Error("name", p);
      } else if (auto [it, inserted] = names.emplace(derived.name, pointer); !inserted) {
        reader.Error("name",
                     "name " + Quote(derived.name) + " is already defined at " + it->second);
      }
    }
    if (!derived.variable.empty()) {
      const auto it = variable_types.find(derived.variable);
      if (it == variable_types.end()) {
        reader.Error("variable", "unknown variable " + Quote(derived.variable) +
                                     " (derived values come from a variable of /data_dictionary/"
                                     "variables)");
      } else if (it->second == VariableType::kCategorical) {
        reader.Error("variable", "variable " + Quote(derived.variable) +
                                     " is categorical; a derived value needs a binary, integer "
                                     "or number variable");
      }
    }
    reader.Finish();
    dictionary.derived.push_back(std::move(derived));
  }

  const bool has_features = section.Has("features");
  dictionary.features = section.StringList("features");
  if (has_features && dictionary.features.empty() && section.Raw("features")->is_array()) {
    section.Error("features", "expected at least one variable or derived name");
  }
  const std::string features_pointer = common::JsonPointerAppend(section.pointer(), "features");
  for (std::size_t k = 0; k < dictionary.features.size(); ++k) {
    const std::string pointer = common::JsonPointerAppend(features_pointer, std::to_string(k));
    const std::string& name = dictionary.features[k];
    if (names.count(name) == 0) {
      section.errors()->Add(pointer, "unknown name " + Quote(name) +
                                         " (features name variables or derived values of the "
                                         "data dictionary)");
    }
    for (std::size_t j = 0; j < k; ++j) {
      if (dictionary.features[j] == name) {
        section.errors()->Add(pointer, Quote(name) + " is listed twice");
      }
    }
  }
  section.Finish();
  return dictionary;
}

}  // namespace

std::string VariableTypeName(VariableType type) {
  switch (type) {
    case VariableType::kBinary:
      return "binary";
    case VariableType::kInteger:
      return "integer";
    case VariableType::kNumber:
      return "number";
    case VariableType::kCategorical:
      return "categorical";
  }
  return "number";
}

std::vector<std::string> ClinicalFeatureColumns(const StudySpec& spec) {
  std::vector<std::string> columns;
  if (!spec.has_data_dictionary) return columns;
  const StudyDataDictionary& dictionary = spec.data_dictionary;
  for (const std::string& feature : dictionary.features) {
    const auto variable = std::find_if(dictionary.variables.begin(), dictionary.variables.end(),
                                       [&](const StudyVariable& v) { return v.name == feature; });
    if (variable != dictionary.variables.end() && variable->type == VariableType::kCategorical) {
      for (std::size_t k = 1; k < variable->levels.size(); ++k) {
        columns.push_back("clin_" + feature + "_" + variable->levels[k]);
      }
    } else {
      columns.push_back("clin_" + feature);
    }
  }
  return columns;
}

common::Result<std::vector<std::string>> ResolveModelColumns(
    const StudyModelSpec& model, const std::vector<std::string>& dictionary) {
  std::vector<bool> used(model.columns.size(), false);
  std::vector<std::string> resolved;
  for (const std::string& name : dictionary) {
    bool take = false;
    for (std::size_t k = 0; k < model.columns.size(); ++k) {
      if (GlobMatch(model.columns[k], name)) {
        used[k] = true;
        take = true;
      }
    }
    if (take) resolved.push_back(name);
  }
  std::string unmatched;
  for (std::size_t k = 0; k < model.columns.size(); ++k) {
    if (!used[k]) unmatched += (unmatched.empty() ? "" : ", ") + Quote(model.columns[k]);
  }
  if (!unmatched.empty()) {
    return common::InvalidArgument(
        "model " + Quote(model.name) + ": column pattern" +
        (unmatched.find(',') == std::string::npos ? " " : "s ") + unmatched +
        " match no feature column (of " + std::to_string(dictionary.size()) +
        (dictionary.empty() ? " columns)" : " columns, e.g. " + Quote(dictionary.front()) + ")"));
  }
  if (resolved.empty()) {
    return common::InvalidArgument("model " + Quote(model.name) + ": selects no column");
  }
  return resolved;
}

common::Result<StudySpec> ParseStudySpec(const nlohmann::json& document, const std::string& source,
                                         const std::string& base_dir) {
  common::ErrorList errors(source);
  ObjectReader root(document, "", &errors);
  StudySpec spec;

  spec.study_id = root.String("study_id");
  if (!spec.study_id.empty()) {
    if (auto s = common::ValidatePartyName(spec.study_id); !s.ok()) {
      root.Error("study_id", s.message());
    }
  }

  ObjectReader table = root.OptionalObject("table");
  spec.id_column = table.String("id_column", "case_id");
  spec.label_column = table.String("label_column", "label");
  spec.fold_column = table.String("fold_column", "");
  if (spec.id_column.empty()) table.Error("id_column", "expected a column name, got \"\"");
  if (spec.label_column.empty()) table.Error("label_column", "expected a column name, got \"\"");
  if (!spec.label_column.empty() && spec.label_column == spec.id_column) {
    table.Error("label_column", "is the id column " + Quote(spec.id_column) + " as well");
  }
  if (!spec.fold_column.empty() &&
      (spec.fold_column == spec.id_column || spec.fold_column == spec.label_column)) {
    table.Error("fold_column", "is the id or label column " + Quote(spec.fold_column) + " as well");
  }
  table.Finish();

  spec.feature_dictionary_path = root.String("feature_dictionary", "");
  if (!spec.feature_dictionary_path.empty()) {
    std::string path = spec.feature_dictionary_path;
    if (path.front() != '/' && !base_dir.empty()) path = base_dir + "/" + path;
    auto text = common::ReadFile(path);
    if (!text.ok()) {
      root.Error("feature_dictionary",
                 "cannot read the feature dictionary: " + text.status().ToString());
    } else {
      spec.feature_dictionary = ParseDictionary(*text, path, root);
      for (const std::string& reserved : {spec.id_column, spec.label_column, spec.fold_column}) {
        for (const std::string& name : spec.feature_dictionary) {
          if (!reserved.empty() && name == reserved) {
            root.Error("feature_dictionary",
                       path + ": lists " + Quote(name) + ", which is the id, label or fold column");
          }
        }
      }
    }
  }

  std::set<std::string> model_names;
  const bool has_models = root.Has("models");
  std::vector<ObjectReader> models = root.ObjectArray("models");
  if (has_models && models.empty() && document.is_object() && document["models"].is_array() &&
      document["models"].empty()) {
    root.Error("models", "expected at least one model");
  }
  for (ObjectReader& model_reader : models) {
    StudyModelSpec model;
    model.name = model_reader.String("name");
    if (!model.name.empty()) {
      if (auto s = common::ValidatePartyName(model.name); !s.ok()) {
        model_reader.Error("name", s.message());
      } else if (!model_names.insert(model.name).second) {
        model_reader.Error("name", "model name " + Quote(model.name) + " is used twice");
      }
    }
    const bool has_columns = model_reader.Has("columns");
    model.columns = model_reader.StringList("columns");
    const std::string columns_pointer =
        common::JsonPointerAppend(model_reader.pointer(), "columns");
    if (has_columns && model.columns.empty() && model_reader.Raw("columns")->is_array()) {
      model_reader.Error("columns", "expected at least one column name or pattern");
    }
    bool patterns_ok = true;
    for (std::size_t k = 0; k < model.columns.size(); ++k) {
      const std::string pointer = common::JsonPointerAppend(columns_pointer, std::to_string(k));
      if (model.columns[k].empty()) {
        errors.Add(pointer, "expected a column name or a pattern with '*', got \"\"");
        patterns_ok = false;
        continue;
      }
      for (std::size_t j = 0; j < k; ++j) {
        if (model.columns[j] == model.columns[k]) {
          errors.Add(pointer, Quote(model.columns[k]) + " is listed twice");
          patterns_ok = false;
        }
      }
      if (!spec.feature_dictionary.empty()) {
        StudyModelSpec one{model.name, {model.columns[k]}};
        if (auto resolved = ResolveModelColumns(one, spec.feature_dictionary); !resolved.ok()) {
          errors.Add(pointer, Quote(model.columns[k]) +
                                  " matches no column of the feature dictionary " +
                                  Quote(spec.feature_dictionary_path));
          patterns_ok = false;
        }
      }
    }
    (void)patterns_ok;
    model_reader.Finish();
    spec.models.push_back(std::move(model));
  }

  ObjectReader cv = root.OptionalObject("cv");
  spec.folds = static_cast<int>(cv.Int("folds", 5, 3, 1000));
  spec.seed = static_cast<std::uint64_t>(cv.Int("seed", 20260101, 0, INT64_MAX));
  spec.nested = cv.Choice("selection", {"nested", "outside_cv"}, "nested") == "nested";
  cv.Finish();

  ObjectReader lasso = root.OptionalObject("lasso");
  spec.nlambda = static_cast<int>(lasso.Int("nlambda", 100, 1, 10000));
  if (lasso.Has("lambda_min_ratio")) {
    const double ratio = lasso.Number("lambda_min_ratio", 0.0, 0.0, 1.0);
    if (ratio >= 1.0) {
      lasso.Error("lambda_min_ratio", "expected 0 (glmnet's default) or a number in (0, 1), got 1");
    } else {
      spec.lambda_min_ratio = ratio;
    }
  }
  if (lasso.Has("kkt_tolerance")) {
    const double tolerance = lasso.Number("kkt_tolerance", 1e-7, 0.0, 1.0);
    if (tolerance <= 0.0) {
      lasso.Error("kkt_tolerance", "expected a number in (0, 1], got 0");
    } else {
      spec.kkt_tolerance = tolerance;
    }
  }
  spec.lambda_1se =
      lasso.Choice("lambda_choice", {"lambda.min", "lambda.1se"}, "lambda.min") == "lambda.1se";
  spec.fold_lambda_own = lasso.Choice("fold_lambda_path", {"own", "master"}, "own") == "own";
  lasso.Finish();

  ObjectReader svm = root.OptionalObject("svm");
  spec.c_grid = ReadCGrid(svm);
  spec.hinge = svm.Choice("loss", {"squared_hinge", "hinge"}, "squared_hinge") == "hinge";
  spec.regularize_bias = svm.Bool("regularize_bias", false);
  if (svm.Has("bias_value")) {
    const double bias = svm.Number("bias_value", 1.0, 0.0, 1e6);
    if (bias <= 0.0) {
      svm.Error("bias_value", "expected a number in (0, 1e6], got 0");
    } else {
      spec.bias_value = bias;
    }
  }
  spec.histogram_bins = static_cast<int>(svm.Int("histogram_bins", 512, 2, 65536));
  svm.Finish();

  spec.platt = root.Bool("platt", true);

  ObjectReader evaluation = root.OptionalObject("evaluation");
  spec.evaluation.grid_points =
      evaluation.Int("grid_points", kDefaultEvaluationGridPoints, 2, kMaxEvaluationGridPoints);
  if (evaluation.Has("fallback_grid_points")) {
    const std::int64_t fallback =
        evaluation.Int("fallback_grid_points", 0, 2, kMaxEvaluationGridPoints);
    if (fallback != 0 && fallback >= spec.evaluation.grid_points) {
      evaluation.Error("fallback_grid_points", "expected fewer points than grid_points " +
                                                   std::to_string(spec.evaluation.grid_points) +
                                                   " (the fallback grid is the coarser one), got " +
                                                   std::to_string(fallback));
    } else {
      spec.evaluation.fallback_grid_points = fallback;
    }
  }
  evaluation.Finish();

  std::set<std::string> site_ids;
  for (ObjectReader& site_reader : root.ObjectArray("sites", /*required=*/false)) {
    StudySiteSpec site;
    site.id = site_reader.String("id");
    if (!site.id.empty()) {
      if (auto s = common::ValidatePartyName(site.id); !s.ok()) {
        site_reader.Error("id", s.message());
      } else if (!site_ids.insert(site.id).second) {
        site_reader.Error("id", "site " + Quote(site.id) + " is listed twice");
      }
    }
    site.sign_public_hex = site_reader.String("sign_public_key");
    if (!site.sign_public_hex.empty()) {
      if (auto s = common::ValidateSignPublicKey(site.sign_public_hex); !s.ok()) {
        site_reader.Error("sign_public_key", s.message());
      }
    }
    site.external = site_reader.Choice("role", {"train", "external"}, "train") == "external";
    site_reader.Finish();
    spec.sites.push_back(std::move(site));
  }

  if (root.Has("data_dictionary")) {
    ObjectReader section = root.OptionalObject("data_dictionary");
    spec.has_data_dictionary = true;
    spec.data_dictionary = ReadDataDictionary(section, spec);
    if (const nlohmann::json* raw = root.Raw("data_dictionary"); raw->is_object()) {
      if (common::InitSodium().ok()) spec.data_dictionary.sha256 = common::Sha256Hex(raw->dump());
    }
    if (!spec.fold_column.empty()) {
      table.Error("fold_column",
                  "a study with a data_dictionary assigns folds at the sites (give \"\")");
    }
  }
  if (const nlohmann::json* radiomics = root.Raw("radiomics"); radiomics != nullptr) {
    ObjectReader section(*radiomics, "/radiomics", &errors);
    const nlohmann::json* params = section.Raw("params");
    if (radiomics->is_object() && params == nullptr) {
      section.Error("params",
                    "missing required key (a parameter file path, or the parameter object)");
    } else if (params != nullptr && params->is_string()) {
      std::string path = params->get<std::string>();
      if (path.empty()) {
        section.Error("params", "expected a parameter file path or object, got \"\"");
      } else {
        if (path.front() != '/' && !base_dir.empty()) path = base_dir + "/" + path;
        spec.radiomics_params_path = path;
        auto text = common::ReadFile(path);
        if (!text.ok()) {
          section.Error("params",
                        "cannot read the radiomics parameter file: " + text.status().ToString());
        } else if (auto parsed = common::ParseJson(*text, path); !parsed.ok()) {
          section.Error("params", parsed.status().ToString());
        } else if (!parsed->is_object()) {
          section.Error("params", path + ": expected a JSON object of radiomics parameters");
        } else {
          spec.radiomics_params = std::move(parsed).value();
        }
      }
    } else if (params != nullptr && params->is_object()) {
      spec.radiomics_params = *params;
    } else if (params != nullptr) {
      section.Error("params",
                    "expected a parameter file path (relative to the spec) or a parameter "
                    "object, got " +
                        params->dump());
    }
    section.Finish();
    if (!spec.has_data_dictionary) {
      root.Error("radiomics",
                 "needs a data_dictionary (the clinical CSV carries the case ids and labels the "
                 "radiomics are joined to)");
    }
  }

  ObjectReader privacy = root.OptionalObject("privacy");
  spec.privacy.secure_aggregation = privacy.Bool("secure_aggregation", true);
  spec.privacy.min_sites = static_cast<int>(privacy.Int("min_sites", 3, 2, 255));
  spec.privacy.allow_fewer_sites = privacy.Bool("allow_fewer_sites", false);
  spec.privacy.threshold = static_cast<int>(privacy.Int("threshold", 0, 0, 255));
  if (spec.privacy.threshold == 1) {
    privacy.Error("threshold", "expected 0 (floor(n/2) + 1) or a number in [2, 255], got 1");
  }
  spec.privacy.continue_on_refusal =
      privacy.Choice("on_refusal", {"stop", "continue"}, "stop") == "continue";
  spec.privacy.wait_on_dropout =
      privacy.Choice("on_dropout", {"continue", "wait"}, "continue") == "wait";
  privacy.Finish();
  root.Finish();

  FEDRAD_RETURN_IF_ERROR(errors.ToStatus());
  return spec;
}

common::Result<StudySpec> LoadStudySpec(const std::string& path) {
  FEDRAD_ASSIGN_OR_RETURN(std::string bytes, common::ReadFile(path));
  FEDRAD_ASSIGN_OR_RETURN(nlohmann::json document, common::ParseJson(bytes, path));
  std::string base_dir;
  if (const auto slash = path.rfind('/'); slash != std::string::npos) {
    base_dir = slash == 0 ? "/" : path.substr(0, slash);
  }
  FEDRAD_ASSIGN_OR_RETURN(StudySpec spec, ParseStudySpec(document, path, base_dir));
  FEDRAD_RETURN_IF_ERROR(common::InitSodium());
  spec.sha256 = common::Sha256Hex(bytes);
  return spec;
}

}  // namespace fedrad::protocols

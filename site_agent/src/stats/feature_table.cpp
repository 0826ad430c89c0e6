#include "fedrad/site_agent/stats/feature_table.hpp"

#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <system_error>

#include "fedrad/common/csv.hpp"
#include "fedrad/common/hash.hpp"
#include "fedrad/common/sodium_init.hpp"
#include "fedrad/site_agent/stats/folds.hpp"

namespace fedrad::site_agent::stats {

namespace {

constexpr std::size_t kMaxReportedErrors = 20;

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

// Collects row errors; stops counting details after kMaxReportedErrors.
class RowErrors {
 public:
  void Add(std::string message) {
    ++count_;
    if (count_ <= kMaxReportedErrors) messages_.push_back(std::move(message));
  }
  bool empty() const { return count_ == 0; }
  common::Status ToStatus(const std::string& path) const {
    std::string text = path + ": " + std::to_string(count_) + " error" + (count_ == 1 ? "" : "s") +
                       " in the feature table:";
    for (const auto& m : messages_) text += "\n  " + m;
    if (count_ > messages_.size()) {
      text += "\n  ... and " + std::to_string(count_ - messages_.size()) + " more";
    }
    return common::InvalidArgument(text);
  }

 private:
  std::size_t count_ = 0;
  std::vector<std::string> messages_;
};

}  // namespace

common::Result<FeatureTable> ReadFeatureTable(const std::string& path,
                                              const protocols::StudySpec& spec) {
  FEDRAD_ASSIGN_OR_RETURN(common::CsvTable csv, common::ReadCsvFile(path));
  const std::string header_where = path + ":1: ";

  const auto id_column = csv.Column(spec.id_column);
  const auto label_column = csv.Column(spec.label_column);
  std::optional<std::size_t> fold_column;
  {
    std::string missing;
    auto need = [&](const std::optional<std::size_t>& index, const std::string& name,
                    const char* role) {
      if (!index) {
        missing +=
            std::string(missing.empty() ? "" : "; ") + "no " + role + " column " + Quote(name);
      }
    };
    need(id_column, spec.id_column, "id");
    need(label_column, spec.label_column, "label");
    if (!spec.fold_column.empty()) {
      fold_column = csv.Column(spec.fold_column);
      need(fold_column, spec.fold_column, "fold");
    }
    if (!missing.empty()) {
      return common::InvalidArgument(header_where + "header: " + missing +
                                     " (the study spec's \"table\" section names them)");
    }
  }
  if (csv.rows.empty()) return common::InvalidArgument(path + ": the table has no rows (cases)");

  FeatureTable table;
  table.path = path;
  std::vector<std::size_t> feature_index;
  for (std::size_t c = 0; c < csv.header.size(); ++c) {
    if (c == *id_column || c == *label_column || (fold_column && c == *fold_column)) continue;
    feature_index.push_back(c);
    table.columns.push_back(csv.header[c]);
  }

  const auto n = static_cast<Eigen::Index>(csv.rows.size());
  const auto p = static_cast<Eigen::Index>(feature_index.size());
  table.x.resize(n, p);
  table.y.resize(n);
  table.ids.reserve(csv.rows.size());
  if (fold_column) table.fold.resize(csv.rows.size(), 0);

  RowErrors errors;
  std::map<std::string, std::size_t> id_line;
  for (std::size_t r = 0; r < csv.rows.size(); ++r) {
    const auto& row = csv.rows[r];
    const std::string where = path + ":" + std::to_string(csv.row_lines[r]) + ": column ";
    const std::string& id = row[*id_column];
    if (id.empty()) {
      errors.Add(where + Quote(spec.id_column) + ": expected a case id, got an empty cell");
    } else if (auto [it, inserted] = id_line.emplace(id, csv.row_lines[r]); !inserted) {
      errors.Add(where + Quote(spec.id_column) + ": duplicate case id " + Quote(id) +
                 " (first on line " + std::to_string(it->second) + ")");
    }
    table.ids.push_back(id);

    const std::string& label_text = row[*label_column];
    const auto label = ParseNumber(label_text);
    if (!label || (*label != 0.0 && *label != 1.0)) {
      errors.Add(where + Quote(spec.label_column) + ": expected 0 or 1, got " + Quote(label_text));
      table.y[static_cast<Eigen::Index>(r)] = 0.0;
    } else {
      table.y[static_cast<Eigen::Index>(r)] = *label;
    }

    if (fold_column) {
      const std::string& fold_text = row[*fold_column];
      const auto fold = ParseNumber(fold_text);
      if (!fold || *fold != std::floor(*fold) || *fold < 0.0 || *fold >= spec.folds) {
        errors.Add(where + Quote(spec.fold_column) + ": expected a fold id, an integer in [0, " +
                   std::to_string(spec.folds - 1) + "] (the spec has " +
                   std::to_string(spec.folds) + " folds), got " + Quote(fold_text));
      } else {
        table.fold[r] = static_cast<int>(*fold);
      }
    }

    for (Eigen::Index j = 0; j < p; ++j) {
      const std::string& cell = row[feature_index[static_cast<std::size_t>(j)]];
      const auto value = ParseNumber(cell);
      if (!value || !std::isfinite(*value)) {
        std::string why;
        if (cell.empty()) {
          why =
              "got an empty cell (missing values are not supported: impute them or drop the "
              "column)";
        } else if (value) {
          why = "got " + Quote(cell) + " (NaN and infinity are not allowed)";
        } else {
          why = "got " + Quote(cell);
        }
        errors.Add(where + Quote(table.columns[static_cast<std::size_t>(j)]) +
                   ": expected a finite number, " + why);
        table.x(static_cast<Eigen::Index>(r), j) = 0.0;
      } else {
        table.x(static_cast<Eigen::Index>(r), j) = *value;
      }
    }
  }
  if (!errors.empty()) return errors.ToStatus(path);

  FEDRAD_RETURN_IF_ERROR(common::InitSodium());
  FEDRAD_ASSIGN_OR_RETURN(table.sha256, common::Sha256File(path));
  return table;
}

common::Result<Datasets> BuildDatasets(const FeatureTable& table,
                                       const protocols::StudySpec& spec) {
  const std::vector<std::string>& dictionary =
      spec.feature_dictionary.empty() ? table.columns : spec.feature_dictionary;
  std::map<std::string, Eigen::Index> column_index;
  for (std::size_t c = 0; c < table.columns.size(); ++c) {
    column_index.emplace(table.columns[c], static_cast<Eigen::Index>(c));
  }
  {
    std::vector<std::string> missing;
    for (const auto& name : dictionary) {
      if (column_index.count(name) == 0) missing.push_back(name);
    }
    if (!missing.empty()) {
      std::string list;
      for (std::size_t k = 0; k < missing.size() && k < 5; ++k) {
        list += (k == 0 ? "" : ", ") + Quote(missing[k]);
      }
      if (missing.size() > 5) list += ", ...";
      return common::InvalidArgument(table.path + ": " + std::to_string(missing.size()) +
                                     " column(s) of the study's feature dictionary are missing "
                                     "from the table: " +
                                     list);
    }
  }

  std::vector<int> fold = table.fold;
  const auto n = table.y.size();
  if (fold.empty()) {
    FEDRAD_ASSIGN_OR_RETURN(fold, AssignFolds(table.y, spec.folds, spec.seed));
  } else if (fold.size() != static_cast<std::size_t>(n)) {
    return common::InvalidArgument(table.path + ": fold ids and labels differ in length");
  }

  // Inner fold ids in both selections: nested CV repeats the whole fit per
  // outer fold, and outside_cv refits the SVM (and Platt, on out-of-fold
  // scores of an inner CV) on the training part of each outer fold.
  std::vector<std::vector<int>> inner;
  {
    inner.resize(static_cast<std::size_t>(spec.folds));
    for (int f = 0; f < spec.folds; ++f) {
      std::vector<Eigen::Index> rows;
      for (Eigen::Index i = 0; i < n; ++i) {
        if (fold[static_cast<std::size_t>(i)] != f) rows.push_back(i);
      }
      Eigen::VectorXd labels(static_cast<Eigen::Index>(rows.size()));
      for (std::size_t k = 0; k < rows.size(); ++k) {
        labels[static_cast<Eigen::Index>(k)] = table.y[rows[k]];
      }
      FEDRAD_ASSIGN_OR_RETURN(
          std::vector<int> ids,
          AssignFolds(labels, spec.folds, spec.seed + static_cast<std::uint64_t>(f) + 1));
      std::vector<int>& out = inner[static_cast<std::size_t>(f)];
      out.assign(static_cast<std::size_t>(n), -1);
      for (std::size_t k = 0; k < rows.size(); ++k) {
        out[static_cast<std::size_t>(rows[k])] = ids[k];
      }
    }
  }

  Datasets datasets;
  for (const auto& model : spec.models) {
    auto resolved = protocols::ResolveModelColumns(model, dictionary);
    if (!resolved.ok()) {
      return common::InvalidArgument(table.path + ": " + resolved.status().message());
    }
    LocalTable local;
    local.x.resize(n, static_cast<Eigen::Index>(resolved->size()));
    for (std::size_t k = 0; k < resolved->size(); ++k) {
      local.x.col(static_cast<Eigen::Index>(k)) = table.x.col(column_index.at((*resolved)[k]));
    }
    local.y = table.y;
    local.fold = fold;
    local.inner_fold = inner;
    local.name = model.name;
    local.columns = *resolved;
    if (auto s = ValidateTable(local); !s.ok()) {
      return s.Wrap(table.path + ": dataset " + Quote(model.name));
    }
    datasets.emplace(model.name, std::move(local));
  }
  return datasets;
}

}  // namespace fedrad::site_agent::stats

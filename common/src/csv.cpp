#include "fedrad/common/csv.hpp"

#include <cmath>
#include <cstdio>
#include <set>

#include "fedrad/common/files.hpp"

namespace fedrad::common {

std::optional<std::size_t> CsvTable::Column(std::string_view name) const {
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return i;
  }
  return std::nullopt;
}

Result<CsvTable> ParseCsv(std::string_view text, const std::string& source) {
  CsvTable table;
  table.source = source;
  std::vector<std::string> record;
  std::string field;
  std::size_t line = 1;
  std::size_t record_line = 1;
  bool in_quotes = false;
  bool field_quoted = false;
  bool header_done = false;
  std::size_t i = 0;
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") i = 3;  // UTF-8 BOM

  auto end_record = [&]() -> Status {
    record.push_back(std::move(field));
    field.clear();
    field_quoted = false;
    const bool blank = record.size() == 1 && record[0].empty();
    if (!blank) {
      if (!header_done) {
        std::set<std::string> seen;
        for (std::size_t c = 0; c < record.size(); ++c) {
          if (record[c].empty()) {
            return ParseError(source + ":" + std::to_string(record_line) + ": header column " +
                              std::to_string(c + 1) + " has no name");
          }
          if (!seen.insert(record[c]).second) {
            return ParseError(source + ":" + std::to_string(record_line) +
                              ": header names column \"" + record[c] + "\" twice");
          }
        }
        table.header = std::move(record);
        header_done = true;
      } else {
        if (record.size() != table.header.size()) {
          return ParseError(source + ":" + std::to_string(record_line) + ": row has " +
                            std::to_string(record.size()) + " fields, expected " +
                            std::to_string(table.header.size()) + " (as in the header)");
        }
        table.rows.push_back(std::move(record));
        table.row_lines.push_back(record_line);
      }
    }
    record.clear();
    record_line = line;
    return Status::Ok();
  };

  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"') {
      if (!field.empty() || field_quoted) {
        return ParseError(source + ":" + std::to_string(line) +
                          ": a quote inside an unquoted field (quote the whole field and "
                          "double the quote)");
      }
      in_quotes = true;
      field_quoted = true;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
      field_quoted = false;
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      continue;  // CRLF: the LF ends the record
    } else if (c == '\n') {
      ++line;
      FEDRAD_RETURN_IF_ERROR(end_record());
    } else {
      if (field_quoted) {
        return ParseError(source + ":" + std::to_string(line) +
                          ": text after a closing quote; expected a comma or end of line");
      }
      field.push_back(c);
    }
  }
  if (in_quotes) {
    return ParseError(source + ":" + std::to_string(record_line) + ": quoted field never closed");
  }
  if (!field.empty() || !record.empty() || field_quoted) FEDRAD_RETURN_IF_ERROR(end_record());
  if (!header_done) return ParseError(source + ": empty file; expected a header line");
  return table;
}

Result<CsvTable> ReadCsvFile(const std::string& path) {
  FEDRAD_ASSIGN_OR_RETURN(std::string text, ReadFile(path, std::size_t{1} << 30));
  return ParseCsv(text, path);
}

std::string CsvEscape(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string FormatDouble(double value) {
  if (std::isnan(value)) return "";
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", value);
  return buf;
}

}  // namespace fedrad::common

namespace fedrad::common {

std::string FormatDoubleShort(double value) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%g", value);
  return buf;
}

}  // namespace fedrad::common

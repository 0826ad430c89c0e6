// Reading and writing CSV tables (RFC 4180: comma-separated, fields may be
// double-quoted, "" inside quotes is a quote; CRLF or LF line ends).
//
// Used for manifests, clinical tables and feature tables. Errors name the
// file and the line.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fedrad/common/status.hpp"

namespace fedrad::common {

struct CsvTable {
  std::string source;  // file path (for messages)
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each the header's width
  std::vector<std::size_t> row_lines;          // 1-based line of each row

  // Index of a header column, or nullopt.
  std::optional<std::size_t> Column(std::string_view name) const;
};

// Parses CSV text. The first record is the header (non-empty, unique
// names). Blank lines are skipped; every row must have the header's width.
Result<CsvTable> ParseCsv(std::string_view text, const std::string& source);
Result<CsvTable> ReadCsvFile(const std::string& path);

// Quotes a field when it contains a comma, quote, CR or LF.
std::string CsvEscape(std::string_view field);

// A number as %.17g in the C locale (round-trips exactly); "" for NaN.
std::string FormatDouble(double value);

// A number for messages: %g (shortest readable, not for data files).
std::string FormatDoubleShort(double value);

}  // namespace fedrad::common

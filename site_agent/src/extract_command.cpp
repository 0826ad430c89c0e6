#include "fedrad/site_agent/extract_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "fedrad/common/config_common.hpp"
#include "fedrad/common/csv.hpp"
#include "fedrad/common/files.hpp"
#include "fedrad/common/version.hpp"

namespace fedrad::site_agent {

using radiomics::CaseInput;
using radiomics::CaseResult;
using Clock = std::chrono::steady_clock;

namespace {

common::Result<double> ParsePositive(const std::string& text, const std::string& where) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(v > 0.0) || !std::isfinite(v)) {
    return common::InvalidArgument(where + ": expected a positive number of mm, got \"" + text +
                                   "\"");
  }
  return v;
}

std::string FormatDuration(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

// Progress display: "[ 12/224] 8.1 cases/s, ETA 0:26, 1 failed".
class Progress {
 public:
  Progress(std::ostream& out, bool tty, bool enabled, std::size_t total)
      : out_(out), tty_(tty), enabled_(enabled), total_(total), start_(Clock::now()) {}

  void Update(std::size_t done, std::size_t failed, bool final = false) {
    if (!enabled_) return;
    const auto now = Clock::now();
    if (!final && !tty_ && now - last_ < std::chrono::seconds(5)) return;
    if (!final && tty_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
    char line[160];
    const int width = static_cast<int>(std::to_string(total_).size());
    std::snprintf(line, sizeof(line), "[%*zu/%zu] %.1f cases/s", width, done, total_, rate);
    std::string text = line;
    if (!final && rate > 0 && done < total_) {
      text += ", ETA " + FormatDuration(static_cast<double>(total_ - done) / rate);
    } else if (final) {
      text += ", " + FormatDuration(elapsed) + " elapsed";
    }
    if (failed > 0) text += ", " + std::to_string(failed) + " failed";
    std::lock_guard<std::mutex> lock(mutex_);
    if (tty_) {
      out_ << "\r" << text << "\033[K" << (final ? "\n" : "") << std::flush;
    } else {
      out_ << text << "\n" << std::flush;
    }
  }

  void Message(const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex_);
    out_ << (tty_ ? "\r\033[K" : "") << text << "\n" << std::flush;
  }

 private:
  std::ostream& out_;
  bool tty_;
  bool enabled_;
  std::size_t total_;
  Clock::time_point start_;
  Clock::time_point last_{};
  std::mutex mutex_;
};

}  // namespace

std::string ProvenancePath(const std::string& table_path) {
  std::string base = table_path;
  if (base.size() > 4 && base.compare(base.size() - 4, 4, ".csv") == 0) {
    base.resize(base.size() - 4);
  }
  return base + ".provenance.json";
}

common::Result<std::vector<CaseInput>> ReadManifest(const std::string& path) {
  FEDRAD_ASSIGN_OR_RETURN(common::CsvTable table, common::ReadCsvFile(path));
  const std::set<std::string> known = {"case_id",  "image",        "lesion_mask", "parenchyma_mask",
                                       "fov_mask", "spacing_x_mm", "spacing_y_mm"};
  for (const std::string& column : table.header) {
    if (known.count(column) == 0) {
      return common::InvalidArgument(path + ": unknown manifest column \"" + column +
                                     "\" (allowed: case_id, image, lesion_mask, "
                                     "parenchyma_mask, fov_mask, spacing_x_mm, spacing_y_mm)");
    }
  }
  for (const char* required : {"case_id", "image", "lesion_mask"}) {
    if (!table.Column(required)) {
      return common::InvalidArgument(path + ": manifest has no \"" + std::string(required) +
                                     "\" column");
    }
  }
  const bool has_sx = table.Column("spacing_x_mm").has_value();
  if (has_sx != table.Column("spacing_y_mm").has_value()) {
    return common::InvalidArgument(path + ": give both spacing_x_mm and spacing_y_mm, or neither");
  }
  auto cell = [&](std::size_t row, const char* column) -> std::string {
    auto c = table.Column(column);
    return c ? table.rows[row][*c] : std::string();
  };
  std::vector<CaseInput> cases;
  std::set<std::string> ids;
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const std::string where = path + ":" + std::to_string(table.row_lines[r]);
    CaseInput in;
    in.case_id = cell(r, "case_id");
    if (in.case_id.empty()) return common::InvalidArgument(where + ": case_id is empty");
    if (!ids.insert(in.case_id).second) {
      return common::InvalidArgument(where + ": case_id \"" + in.case_id + "\" appears twice");
    }
    in.image_path = common::ResolveConfigPath(path, cell(r, "image"));
    in.lesion_mask_path = common::ResolveConfigPath(path, cell(r, "lesion_mask"));
    if (in.image_path.empty()) return common::InvalidArgument(where + ": image is empty");
    if (in.lesion_mask_path.empty()) {
      return common::InvalidArgument(where + ": lesion_mask is empty");
    }
    in.parenchyma_mask_path = common::ResolveConfigPath(path, cell(r, "parenchyma_mask"));
    in.field_of_view_mask_path = common::ResolveConfigPath(path, cell(r, "fov_mask"));
    const std::string sx = cell(r, "spacing_x_mm");
    const std::string sy = cell(r, "spacing_y_mm");
    if (!sx.empty() || !sy.empty()) {
      FEDRAD_ASSIGN_OR_RETURN(double x, ParsePositive(sx, where + ": spacing_x_mm"));
      FEDRAD_ASSIGN_OR_RETURN(double y, ParsePositive(sy, where + ": spacing_y_mm"));
      in.spacing = radiomics::Spacing{x, y};
    }
    cases.push_back(std::move(in));
  }
  if (cases.empty()) return common::InvalidArgument(path + ": manifest lists no case");
  return cases;
}

common::Result<ExtractSummary> RunExtract(const ExtractOptions& options, std::ostream& progress,
                                          bool tty) {
  if (options.out.empty()) return common::InvalidArgument("--out is required");
  radiomics::ExtractionParams params = radiomics::DefaultExtractionParams();
  if (!options.params.empty()) {
    FEDRAD_ASSIGN_OR_RETURN(params, radiomics::LoadExtractionParams(options.params));
  }
  std::vector<CaseInput> cases;
  if (!options.manifest.empty()) {
    FEDRAD_ASSIGN_OR_RETURN(cases, ReadManifest(options.manifest));
  } else {
    if (options.image.empty() || options.mask.empty()) {
      return common::InvalidArgument("give --manifest, or --image and --mask for one case");
    }
    CaseInput in;
    in.case_id = std::filesystem::path(options.image).stem().string();
    in.image_path = options.image;
    in.lesion_mask_path = options.mask;
    in.parenchyma_mask_path = options.parenchyma;
    in.field_of_view_mask_path = options.field_of_view;
    if (!options.spacing.empty()) {
      const auto comma = options.spacing.find(',');
      if (comma == std::string::npos) {
        return common::InvalidArgument("--spacing: expected X,Y in mm, got \"" + options.spacing +
                                       "\"");
      }
      FEDRAD_ASSIGN_OR_RETURN(double x,
                              ParsePositive(options.spacing.substr(0, comma), "--spacing X"));
      FEDRAD_ASSIGN_OR_RETURN(double y,
                              ParsePositive(options.spacing.substr(comma + 1), "--spacing Y"));
      in.spacing = radiomics::Spacing{x, y};
    }
    cases.push_back(std::move(in));
  }

  // Refuse an unwritable output before computing anything.
  {
    const std::filesystem::path out_path(options.out);
    const std::filesystem::path dir =
        out_path.has_parent_path() ? out_path.parent_path() : std::filesystem::path(".");
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
      return common::NotFound("--out " + options.out + ": folder " + dir.string() +
                              " does not exist");
    }
    if (::access(dir.c_str(), W_OK) != 0) {
      return common::PermissionDenied("--out " + options.out + ": folder " + dir.string() +
                                      " is not writable");
    }
  }

  ExtractSummary summary;
  summary.cases = cases.size();
  summary.table_path = options.out;
  summary.provenance_path = ProvenancePath(options.out);
  std::vector<std::optional<CaseResult>> results(cases.size());
  std::vector<std::string> errors(cases.size());
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  std::atomic<std::size_t> failed{0};
  Progress display(progress, tty, options.progress, cases.size());
  const auto start = Clock::now();

  auto worker = [&] {
    while (true) {
      const std::size_t i = next.fetch_add(1);
      if (i >= cases.size()) return;
      common::Result<CaseResult> r = common::Internal("not run");
      try {
        r = radiomics::ExtractCase(cases[i], params);
      } catch (const std::exception& e) {
        r = common::Internal(cases[i].case_id + ": internal error: " + e.what());
      }
      if (r.ok()) {
        results[i] = std::move(r).value();
      } else {
        errors[i] = r.status().ToString();
        ++failed;
        display.Message("failed: " + cases[i].case_id + ": " + errors[i]);
      }
      ++done;
      display.Update(done.load(), failed.load());
    }
  };
  const int jobs = std::max(1, std::min<int>(options.jobs, static_cast<int>(cases.size())));
  // Keep each worker's freed working set mapped between cases instead of
  // returning it to the kernel and faulting it in again (see the function).
  radiomics::TuneAllocatorForExtraction();
  std::vector<std::thread> threads;
  for (int t = 1; t < jobs; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  display.Update(done.load(), failed.load(), true);

  // Table.
  std::vector<const CaseResult*> ok;
  for (const auto& r : results) {
    if (r) ok.push_back(&*r);
  }
  const std::vector<std::string> columns = radiomics::FeatureColumns(params);
  std::string table = "case_id";
  for (const auto& c : columns) table += "," + common::CsvEscape(c);
  table += "\n";
  const std::set<std::string> column_set(columns.begin(), columns.end());
  for (const CaseResult* r : ok) {
    for (const auto& [name, value] : r->features) {
      // Cannot happen unless FeatureColumns and the pipeline disagree: a bug.
      if (column_set.count(name) == 0) {
        return common::Internal("feature " + name + " of case " + r->case_id +
                                " is not among the table's columns");
      }
    }
    std::map<std::string, double> values(r->features.begin(), r->features.end());
    table += common::CsvEscape(r->case_id);
    for (const auto& c : columns) {
      auto it = values.find(c);
      table += ",";
      if (it != values.end()) table += common::FormatDouble(it->second);
    }
    table += "\n";
  }

  nlohmann::json provenance = {
      {"fedrad_version", std::string(common::Version())},
      {"params_sha256", params.hash},
      {"params", params.canonical},
      {"params_file",
       options.params.empty() ? nlohmann::json(nullptr) : nlohmann::json(options.params)},
      {"manifest",
       options.manifest.empty() ? nlohmann::json(nullptr) : nlohmann::json(options.manifest)},
      {"columns", columns.size()},
  };
  nlohmann::json case_records = nlohmann::json::array();
  for (const CaseResult* r : ok) case_records.push_back(r->Provenance());
  provenance["cases"] = case_records;
  nlohmann::json failure_records = nlohmann::json::array();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    if (errors[i].empty()) continue;
    summary.failures.emplace_back(cases[i].case_id, errors[i]);
    failure_records.push_back({{"case_id", cases[i].case_id}, {"error", errors[i]}});
  }
  provenance["failures"] = failure_records;
  summary.succeeded = ok.size();

  FEDRAD_RETURN_IF_ERROR(common::WriteFileAtomic(options.out, table));
  FEDRAD_RETURN_IF_ERROR(
      common::WriteFileAtomic(summary.provenance_path, provenance.dump(2) + "\n"));
  return summary;
}

}  // namespace fedrad::site_agent

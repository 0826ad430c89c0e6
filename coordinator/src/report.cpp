#include "fedrad/coordinator/report.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fedrad/common/csv.hpp"
#include "fedrad/common/files.hpp"

namespace fedrad::coordinator {

namespace {

// ---------------------------------------------------------------------------
// Number formatting (locale-free: std::to_chars never uses the locale).

// `value` with `decimals` digits after the point; "NA" for NaN/inf. A
// negative value that rounds to zero prints without its sign.
std::string Fixed(double value, int decimals) {
  if (!std::isfinite(value)) return "NA";
  char buffer[64];
  auto [end, ec] =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, decimals);
  if (ec != std::errc()) return "NA";
  std::string out(buffer, end);
  if (!out.empty() && out[0] == '-' && out.find_first_not_of("-0.") == std::string::npos) {
    out.erase(0, 1);
  }
  return out;
}

// `value` with `digits` significant digits (%g style).
std::string General(double value, int digits) {
  if (!std::isfinite(value)) return "NA";
  char buffer[64];
  auto [end, ec] =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general, digits);
  if (ec != std::errc()) return "NA";
  return std::string(buffer, end);
}

// Scientific with one decimal, e.g. "1.3e-05".
std::string Scientific(double value) {
  if (!std::isfinite(value)) return "NA";
  char buffer[64];
  auto [end, ec] =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific, 1);
  if (ec != std::errc()) return "NA";
  return std::string(buffer, end);
}

// A signed difference, e.g. "+0.041" / "-0.012".
std::string SignedFixed(double value, int decimals) {
  std::string out = Fixed(value, decimals);
  if (out == "NA" || out[0] == '-') return out;
  return (out.find_first_not_of("0.") == std::string::npos ? "" : "+") + out;
}

// p-value: 3 decimals, "< 0.001" below that.
std::string PValue(double p) {
  if (!std::isfinite(p)) return "NA";
  if (p < 0.001) return "< 0.001";
  return Fixed(p, 3);
}

// "0.811 [0.754, 0.868]" (or just the AUC when the CI is undefined).
std::string AucWithCi(const CohortMetrics& m, int auc_decimals, int ci_decimals) {
  std::string out = Fixed(m.auc, auc_decimals);
  if (std::isfinite(m.auc_ci_low) && std::isfinite(m.auc_ci_high)) {
    out += " [" + Fixed(m.auc_ci_low, ci_decimals) + ", " + Fixed(m.auc_ci_high, ci_decimals) + "]";
  }
  return out;
}

// 1234567 -> "1,234,567".
std::string Grouped(std::int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (std::size_t k = 0; k < digits.size(); ++k) {
    if (k > 0 && (digits.size() - k) % 3 == 0) out += ',';
    out += digits[k];
  }
  return value < 0 ? "-" + out : out;
}

// ---------------------------------------------------------------------------
// Ordering shared by the report and the terminal table.

bool SameCohort(const CohortRef& a, const CohortRef& b) {
  return a.kind == b.kind && a.name == b.name;
}

std::vector<CohortRef> CohortsInOrder(const StudyResults& results) {
  std::vector<CohortRef> cohorts;
  for (const CohortMetrics& m : results.metrics) {
    bool seen = false;
    for (const CohortRef& c : cohorts) seen = seen || SameCohort(c, m.cohort);
    if (!seen) cohorts.push_back(m.cohort);
  }
  return cohorts;
}

// Index of a model in results.models (its colour and line style); models
// not listed there come after, in order of appearance.
class ModelIndex {
 public:
  explicit ModelIndex(const StudyResults& results) {
    for (const ModelResult& model : results.models) Add(model.name);
    for (const CohortMetrics& m : results.metrics) Add(m.model);
  }
  int Of(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? 0 : it->second;
  }

 private:
  void Add(const std::string& name) {
    if (index_.count(name) == 0) index_.emplace(name, static_cast<int>(index_.size()));
  }
  std::map<std::string, int> index_;
};

// The metrics of one cohort, ordered by model index.
std::vector<const CohortMetrics*> MetricsOf(const StudyResults& results, const CohortRef& cohort,
                                            const ModelIndex& models) {
  std::vector<const CohortMetrics*> out;
  for (const CohortMetrics& m : results.metrics) {
    if (SameCohort(m.cohort, cohort)) out.push_back(&m);
  }
  std::stable_sort(out.begin(), out.end(), [&](const CohortMetrics* a, const CohortMetrics* b) {
    return models.Of(a->model) < models.Of(b->model);
  });
  return out;
}

// ---------------------------------------------------------------------------
// results.json: a streaming writer with %.17g numbers.

class JsonWriter {
 public:
  std::string Finish() {
    out_ += '\n';
    return std::move(out_);
  }

  void BeginObject() { Open('{', false); }
  void EndObject() { Close('}'); }
  // `flat`: all elements on one line (arrays of scalars).
  void BeginArray(bool flat = false) { Open('[', flat); }
  void EndArray() { Close(']'); }

  void Key(std::string_view key) {
    Level& level = stack_.back();
    if (level.count++ > 0) out_ += ',';
    NewLine(stack_.size());
    out_ += Quote(key);
    out_ += ": ";
    after_key_ = true;
  }

  void Null() {
    BeforeValue();
    out_ += "null";
  }
  void Bool(bool b) {
    BeforeValue();
    out_ += b ? "true" : "false";
  }
  void Int(std::int64_t i) {
    BeforeValue();
    out_ += std::to_string(i);
  }
  // Non-finite numbers are written as null.
  void Number(double d) {
    BeforeValue();
    out_ += std::isfinite(d) ? common::FormatDouble(d) : "null";
  }
  void OptionalNumber(const std::optional<double>& d) {
    if (d.has_value()) {
      Number(*d);
    } else {
      Null();
    }
  }
  void OptionalInt(const std::optional<std::int64_t>& i) {
    if (i.has_value()) {
      Int(*i);
    } else {
      Null();
    }
  }
  void String(std::string_view s) {
    BeforeValue();
    out_ += Quote(s);
  }
  void Strings(const std::vector<std::string>& values) {
    BeginArray(true);
    for (const std::string& v : values) String(v);
    EndArray();
  }

  // Shorthands for object members.
  void Member(std::string_view key, std::string_view s) {
    Key(key);
    String(s);
  }
  void Member(std::string_view key, const char* s) { Member(key, std::string_view(s)); }
  void Member(std::string_view key, const std::string& s) { Member(key, std::string_view(s)); }
  void Member(std::string_view key, double d) {
    Key(key);
    Number(d);
  }
  void Member(std::string_view key, std::int64_t i) {
    Key(key);
    Int(i);
  }
  void Member(std::string_view key, int i) { Member(key, static_cast<std::int64_t>(i)); }
  void Member(std::string_view key, bool b) {
    Key(key);
    Bool(b);
  }
  void Member(std::string_view key, const std::optional<double>& d) {
    Key(key);
    OptionalNumber(d);
  }
  void Member(std::string_view key, const std::optional<std::int64_t>& i) {
    Key(key);
    OptionalInt(i);
  }

 private:
  struct Level {
    bool flat = false;
    bool is_object = false;
    int count = 0;
  };

  static std::string Quote(std::string_view s) {
    // Invalid UTF-8 is replaced (U+FFFD) rather than thrown on.
    return nlohmann::json(std::string(s))
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  void NewLine(std::size_t depth) {
    out_ += '\n';
    out_.append(2 * depth, ' ');
  }

  void BeforeValue() {
    if (after_key_ || stack_.empty()) {
      after_key_ = false;
      return;
    }
    Level& level = stack_.back();
    if (level.count++ > 0) out_ += level.flat ? ", " : ",";
    if (!level.flat) NewLine(stack_.size());
  }

  void Open(char bracket, bool flat) {
    const bool parent_flat = !stack_.empty() && stack_.back().flat;
    BeforeValue();
    out_ += bracket;
    stack_.push_back({flat || parent_flat, bracket == '{', 0});
  }

  void Close(char bracket) {
    const Level level = stack_.back();
    stack_.pop_back();
    if (level.count > 0 && !level.flat) NewLine(stack_.size());
    out_ += bracket;
  }

  std::string out_;
  std::vector<Level> stack_;
  bool after_key_ = false;
};

void WriteCohortRef(JsonWriter& json, const CohortRef& cohort) {
  json.BeginObject();
  json.Member("kind", cohort.kind);
  json.Member("name", cohort.name);
  json.EndObject();
}

void WriteMetrics(JsonWriter& json, const CohortMetrics& m) {
  json.BeginObject();
  json.Member("model", m.model);
  json.Key("cohort");
  WriteCohortRef(json, m.cohort);
  json.Member("cases", m.cases);
  json.Member("controls", m.controls);
  json.Member("mode", m.mode);
  json.Member("grid_points", m.grid_points);
  json.Member("grid", m.grid);
  json.Member("auc_error_bound", m.auc_error_bound);
  json.Member("auc", m.auc);
  json.Member("auc_se", m.auc_se);
  json.Member("auc_ci_low", m.auc_ci_low);
  json.Member("auc_ci_high", m.auc_ci_high);
  json.Member("threshold", m.threshold);
  json.Member("tp", m.tp);
  json.Member("fp", m.fp);
  json.Member("tn", m.tn);
  json.Member("fn", m.fn);
  json.Member("accuracy", m.accuracy);
  json.Member("sensitivity", m.sensitivity);
  json.Member("specificity", m.specificity);
  json.Member("ppv", m.ppv);
  json.Member("npv", m.npv);
  json.Member("brier", m.brier);
  json.Member("calibration_intercept", m.calibration_intercept);
  json.Member("calibration_slope", m.calibration_slope);
  // Columns rather than one object per point: compact, and what plotting
  // code wants. A null threshold is the +inf end of the curve.
  json.Key("roc");
  json.BeginObject();
  json.Key("threshold");
  json.BeginArray(true);
  for (const auto& p : m.roc) json.Number(p.threshold);
  json.EndArray();
  json.Key("fpr");
  json.BeginArray(true);
  for (const auto& p : m.roc) json.Number(p.fpr);
  json.EndArray();
  json.Key("tpr");
  json.BeginArray(true);
  for (const auto& p : m.roc) json.Number(p.tpr);
  json.EndArray();
  json.EndObject();
  json.Key("calibration");
  json.BeginObject();
  json.Key("mean_predicted");
  json.BeginArray(true);
  for (const CalibrationBin& b : m.calibration) json.Number(b.mean_predicted);
  json.EndArray();
  json.Key("observed_rate");
  json.BeginArray(true);
  for (const CalibrationBin& b : m.calibration) json.Number(b.observed_rate);
  json.EndArray();
  json.Key("count");
  json.BeginArray(true);
  for (const CalibrationBin& b : m.calibration) json.Int(b.count);
  json.EndArray();
  json.EndObject();
  json.EndObject();
}

// ---------------------------------------------------------------------------
// HTML.

std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

// Absent values in HTML.
constexpr const char* kDash = "&#8212;";

std::string HtmlFixed(double value, int decimals) {
  return std::isfinite(value) ? Fixed(value, decimals) : kDash;
}
std::string HtmlFixed(const std::optional<double>& value, int decimals) {
  return value.has_value() ? HtmlFixed(*value, decimals) : kDash;
}

// Human label of a cohort.
std::string CohortLabel(const CohortRef& cohort) {
  if (cohort.kind == "cv") return "Cross-validation (out-of-fold)";
  if (cohort.kind == "external_pooled") return "External, all sites pooled";
  if (cohort.kind == "external_site") return "External: " + cohort.name;
  return cohort.kind + ": " + cohort.name;
}

// A count released by a site, or "<k" when it was below the disclosure
// minimum (absent).
std::string CountCell(const std::optional<std::int64_t>& count, std::int64_t k,
                      bool withheld = false) {
  if (count.has_value()) return Grouped(*count);
  if (withheld) return "withheld";
  return "&lt;" + std::to_string(k);
}

// Okabe–Ito colours (colour-blind safe) and dash patterns (for grey print).
struct Style {
  const char* color;
  const char* dash;  // "" = solid
};
constexpr Style kStyles[] = {
    {"#0072B2", ""},    {"#D55E00", "8 4"}, {"#009E73", "2 3"},      {"#CC79A7", "10 3 2 3"},
    {"#E69F00", "4 4"}, {"#56B4E9", "1 2"}, {"#000000", "12 3 3 3"},
};
const Style& StyleOf(int index) {
  return kStyles[static_cast<std::size_t>(index) % (sizeof kStyles / sizeof kStyles[0])];
}

struct Series {
  int style = 0;
  std::string legend;                         // plain text (escaped when written)
  std::vector<std::pair<double, double>> xy;  // data coordinates in [0, 1]
  bool markers = false;
  std::vector<std::string> marker_titles;  // plain text, one per point when markers
};

// Plot area of every chart (pixels inside the SVG's own coordinate system).
constexpr double kLeft = 64.0, kTop = 16.0, kSize = 400.0;
constexpr double kWidth = kLeft + kSize + 24.0;

std::string Px(double v) { return Fixed(v, 2); }
double ToX(double x) { return kLeft + std::clamp(x, 0.0, 1.0) * kSize; }
double ToY(double y) { return kTop + (1.0 - std::clamp(y, 0.0, 1.0)) * kSize; }

// A square [0,1]×[0,1] chart with a diagonal reference line, ticks every
// 0.2, axis labels, one polyline per series and a legend below the plot.
std::string SvgChart(const std::string& css_class, const std::string& id, const std::string& title,
                     const std::string& desc, const std::string& x_label,
                     const std::string& y_label, const std::vector<Series>& series) {
  const double legend_top = kTop + kSize + 52.0;
  const double height = legend_top + 20.0 * static_cast<double>(series.size()) + 8.0;
  std::string s;
  s += "<svg class=\"chart " + css_class + "\" id=\"" + Escape(id) +
       "\" role=\"img\" viewBox=\"0 0 " + Px(kWidth) + " " + Px(height) + "\" width=\"" +
       Px(kWidth) + "\" height=\"" + Px(height) + "\" aria-labelledby=\"" + Escape(id) + "-title " +
       Escape(id) + "-desc\">\n";
  s += "<title id=\"" + Escape(id) + "-title\">" + Escape(title) + "</title>\n";
  s += "<desc id=\"" + Escape(id) + "-desc\">" + Escape(desc) + "</desc>\n";
  s += "<rect class=\"plot-area\" x=\"" + Px(kLeft) + "\" y=\"" + Px(kTop) + "\" width=\"" +
       Px(kSize) + "\" height=\"" + Px(kSize) + "\" fill=\"#ffffff\" stroke=\"#444444\"/>\n";
  // Grid lines and ticks.
  for (int k = 0; k <= 5; ++k) {
    const double v = k / 5.0;
    const std::string label = Fixed(v, 1);
    const std::string x = Px(ToX(v)), y = Px(ToY(v));
    if (k > 0 && k < 5) {
      s += "<line class=\"grid\" x1=\"" + x + "\" y1=\"" + Px(kTop) + "\" x2=\"" + x + "\" y2=\"" +
           Px(kTop + kSize) + "\" stroke=\"#e4e4e4\"/>";
      s += "<line class=\"grid\" x1=\"" + Px(kLeft) + "\" y1=\"" + y + "\" x2=\"" +
           Px(kLeft + kSize) + "\" y2=\"" + y + "\" stroke=\"#e4e4e4\"/>\n";
    }
    s += "<line x1=\"" + x + "\" y1=\"" + Px(kTop + kSize) + "\" x2=\"" + x + "\" y2=\"" +
         Px(kTop + kSize + 5) + "\" stroke=\"#444444\"/>";
    s += "<text x=\"" + x + "\" y=\"" + Px(kTop + kSize + 19) +
         "\" text-anchor=\"middle\" font-size=\"12\">" + label + "</text>";
    s += "<line x1=\"" + Px(kLeft - 5) + "\" y1=\"" + y + "\" x2=\"" + Px(kLeft) + "\" y2=\"" + y +
         "\" stroke=\"#444444\"/>";
    s += "<text x=\"" + Px(kLeft - 8) + "\" y=\"" + Px(ToY(v) + 4) +
         "\" text-anchor=\"end\" font-size=\"12\">" + label + "</text>\n";
  }
  s += "<text class=\"axis-label\" x=\"" + Px(kLeft + kSize / 2) + "\" y=\"" +
       Px(kTop + kSize + 40) + "\" text-anchor=\"middle\" font-size=\"13\">" + Escape(x_label) +
       "</text>\n";
  s += "<text class=\"axis-label\" x=\"" + Px(18) + "\" y=\"" + Px(kTop + kSize / 2) +
       "\" text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 " + Px(18) + " " +
       Px(kTop + kSize / 2) + ")\">" + Escape(y_label) + "</text>\n";
  // Diagonal reference.
  s += "<line class=\"reference\" x1=\"" + Px(ToX(0)) + "\" y1=\"" + Px(ToY(0)) + "\" x2=\"" +
       Px(ToX(1)) + "\" y2=\"" + Px(ToY(1)) +
       "\" stroke=\"#888888\" stroke-dasharray=\"4 4\"><title>reference: y = x</title></line>\n";
  // Series.
  for (const Series& line : series) {
    const Style& style = StyleOf(line.style);
    std::string points;
    std::vector<std::pair<double, double>> drawn;
    for (const auto& [x, y] : line.xy) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      if (!points.empty()) points += ' ';
      points += Px(ToX(x)) + "," + Px(ToY(y));
      drawn.emplace_back(x, y);
    }
    s += "<polyline class=\"series\" fill=\"none\" stroke=\"" + std::string(style.color) +
         "\" stroke-width=\"2.2\" stroke-linejoin=\"round\"";
    if (*style.dash != '\0') s += " stroke-dasharray=\"" + std::string(style.dash) + "\"";
    s += " points=\"" + points + "\"><title>" + Escape(line.legend) + "</title></polyline>\n";
    if (line.markers) {
      std::size_t k = 0;
      for (const auto& [x, y] : line.xy) {
        if (std::isfinite(x) && std::isfinite(y)) {
          s += "<circle cx=\"" + Px(ToX(x)) + "\" cy=\"" + Px(ToY(y)) + "\" r=\"3.5\" fill=\"" +
               style.color + "\">";
          if (k < line.marker_titles.size()) {
            s += "<title>" + Escape(line.marker_titles[k]) + "</title>";
          }
          s += "</circle>";
        }
        ++k;
      }
      s += "\n";
    }
  }
  // Legend below the plot.
  for (std::size_t k = 0; k < series.size(); ++k) {
    const Style& style = StyleOf(series[k].style);
    const double y = legend_top + 20.0 * static_cast<double>(k);
    s += "<line x1=\"" + Px(kLeft) + "\" y1=\"" + Px(y) + "\" x2=\"" + Px(kLeft + 28) + "\" y2=\"" +
         Px(y) + "\" stroke=\"" + style.color + "\" stroke-width=\"2.2\"";
    if (*style.dash != '\0') s += " stroke-dasharray=\"" + std::string(style.dash) + "\"";
    s += "/><text class=\"legend\" x=\"" + Px(kLeft + 36) + "\" y=\"" + Px(y + 4) +
         "\" font-size=\"12.5\">" + Escape(series[k].legend) + "</text>\n";
  }
  s += "</svg>\n";
  return s;
}

constexpr const char* kStyleSheet = R"css(
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; color: #1a1a1a; background: #ffffff; max-width: 1120px; margin: 0 auto;
       padding: 24px 28px 48px; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.25em; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 2px solid #d0d7de; }
h3 { font-size: 1.05em; margin: 18px 0 6px; }
p.lead { color: #444444; margin: 0 0 12px; }
table { border-collapse: collapse; margin: 6px 0 12px; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 4px 0; caption-side: top; }
th, td { padding: 4px 10px; border-bottom: 1px solid #d8dee4; text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid #8c959f; background: #f3f5f7; }
tr.group th { background: #eaeef2; border-top: 2px solid #d0d7de; }
th[scope=row] { font-weight: 600; background: #fafbfc; }
td.num, th.num { text-align: right; white-space: nowrap; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
              font-size: 0.92em; overflow-wrap: anywhere; }
.charts, .models { display: flex; flex-wrap: wrap; gap: 28px; }
.model { flex: 1 1 320px; max-width: 540px; }
.model table { min-width: 320px; }
figure { margin: 0; }
figcaption { font-size: 0.92em; color: #444444; max-width: 488px; margin-top: 4px; }
svg.chart { max-width: 100%; height: auto; background: #ffffff; }
svg.chart text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
                 fill: #1a1a1a; }
.note { font-size: 0.92em; color: #444444; }
ul.notes li { margin: 2px 0; }
footer { margin-top: 36px; font-size: 0.88em; color: #555555; border-top: 1px solid #d0d7de;
         padding-top: 8px; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  h2 { break-after: avoid; }
  figure, tr, svg.chart { break-inside: avoid; }
  thead th { background: none; }
}
)css";

void HtmlSummary(const StudyResults& r, std::string& h) {
  h += "<section id=\"summary\">\n<h2>Study summary</h2>\n";
  h += "<table class=\"summary\">\n<caption>Study</caption>\n<tbody>\n";
  auto row = [&h](const std::string& name, const std::string& value_html) {
    h += "<tr><th scope=\"row\">" + name + "</th><td>" + value_html + "</td></tr>\n";
  };
  row("Study id", Escape(r.study_id));
  row("Study spec SHA-256", "<span class=\"mono\">" + Escape(r.spec_sha256) + "</span>");
  row("fedrad version", Escape(r.fedrad_version));
  row("Started (UTC)", Escape(r.started_utc));
  row("Finished (UTC)", Escape(r.finished_utc));
  row("Mode", Escape(r.mode));
  std::string secure = r.secure_aggregation ? "on" : "off";
  if (r.mode != "federated") {
    secure = "not applicable (in-process run)";
  } else if (r.secure_aggregation) {
    secure += " (at least " + std::to_string(r.min_sites) + " sites per sum" +
              (r.fewer_sites_allowed ? "; fewer sites allowed" : "; fewer sites refused") + ")";
  } else if (r.min_sites > 0) {
    secure += " (minimum sites " + std::to_string(r.min_sites) + ")";
  }
  row("Secure aggregation", secure);
  row("Cross-validation", Escape(r.cv_scheme));
  row("Rounds", Grouped(r.rounds));
  h += "</tbody>\n</table>\n";
  if (!r.notes.empty()) {
    h += "<h3>Notes</h3>\n<ul class=\"notes\">\n";
    for (const std::string& note : r.notes) h += "<li>" + Escape(note) + "</li>\n";
    h += "</ul>\n";
  }
  h += "</section>\n";
}

void HtmlCohorts(const StudyResults& r, std::string& h) {
  h += "<section id=\"cohorts\">\n<h2>Cohorts</h2>\n";
  h += "<table class=\"cohorts\">\n<caption>Patients per site (cases: label 1, controls: label "
       "0)</caption>\n<thead><tr><th scope=\"col\">Site</th><th scope=\"col\">Role</th>"
       "<th scope=\"col\" class=\"num\">Cases</th><th scope=\"col\" class=\"num\">Controls</th>"
       "<th scope=\"col\" class=\"num\">Total</th><th scope=\"col\" class=\"num\">Disclosure "
       "minimum k</th></tr></thead>\n<tbody>\n";
  bool any_hidden = false;
  bool any_withheld = false;
  for (const SiteCohort& site : r.sites) {
    const bool both = site.cases.has_value() && site.controls.has_value();
    any_hidden = any_hidden || !both;
    any_withheld = any_withheld || site.cases_withheld || site.controls_withheld;
    h += "<tr><th scope=\"row\">" + Escape(site.site_id) + "</th><td>" + Escape(site.role) +
         "</td><td class=\"num\">" +
         CountCell(site.cases, site.disclosure_minimum, site.cases_withheld) +
         "</td><td class=\"num\">" +
         CountCell(site.controls, site.disclosure_minimum, site.controls_withheld) +
         "</td><td class=\"num\">" + (both ? Grouped(*site.cases + *site.controls) : kDash) +
         "</td><td class=\"num\">" + std::to_string(site.disclosure_minimum) + "</td></tr>\n";
  }
  h += "</tbody>\n</table>\n";
  h += std::string(
           "<p class=\"note\">A count below the site's disclosure minimum k is not "
           "released and is shown as &quot;&lt;k&quot;") +
       (any_hidden ? "; the total is then not shown either, since it would reveal it." : ".") +
       (any_withheld ? " A count shown as &quot;withheld&quot; was released by its site but is "
                       "not shown, because with the cohort's total it would reveal a count "
                       "below k of another site."
                     : "") +
       "</p>\n</section>\n";
}

void HtmlRoc(const StudyResults& r, const ModelIndex& models, std::string& h) {
  h += "<section id=\"roc\">\n<h2>ROC curves</h2>\n<div class=\"charts\">\n";
  const std::vector<CohortRef> cohorts = CohortsInOrder(r);
  // One chart for cross-validation and one for external data: the pooled
  // external cohort when there is one, else each external site.
  bool has_pooled = false;
  for (const CohortRef& c : cohorts) has_pooled = has_pooled || c.kind == "external_pooled";
  int chart = 0;
  for (const CohortRef& cohort : cohorts) {
    const bool show = cohort.kind == "cv" || cohort.kind == "external_pooled" ||
                      (cohort.kind == "external_site" && !has_pooled);
    if (!show) continue;
    std::vector<Series> series;
    std::string desc = "ROC curves on " + CohortLabel(cohort) + ":";
    for (const CohortMetrics* m : MetricsOf(r, cohort, models)) {
      Series line;
      line.style = models.Of(m->model);
      line.legend = m->model + " AUC " + AucWithCi(*m, 3, 2);
      for (const auto& p : m->roc) line.xy.emplace_back(p.fpr, p.tpr);
      desc += " " + line.legend + ";";
      series.push_back(std::move(line));
    }
    const std::string id = "roc-" + std::to_string(++chart);
    h += "<figure>\n";
    h += SvgChart("roc", id, "ROC curves: " + CohortLabel(cohort), desc,
                  "1 \u2212 specificity (false positive rate)", "Sensitivity (true positive rate)",
                  series);
    h += "<figcaption>" + Escape(CohortLabel(cohort)) +
         ". AUC with DeLong 95% CI in the legend; dashed diagonal: chance.</figcaption>\n";
    h += "</figure>\n";
  }
  if (chart == 0) h += "<p>No cohort was evaluated.</p>\n";
  h += "</div>\n</section>\n";
}

void HtmlMetrics(const StudyResults& r, const ModelIndex& models, std::string& h) {
  h += "<section id=\"metrics\">\n<h2>Discrimination and classification</h2>\n";
  h += "<table class=\"metrics\">\n<caption>Metrics per cohort and model (threshold fixed on "
       "training data)</caption>\n<thead><tr><th scope=\"col\">Model</th><th scope=\"col\" "
       "class=\"num\">n (cases/controls)</th><th scope=\"col\" class=\"num\">AUC [95% CI]</th>"
       "<th scope=\"col\" class=\"num\">Accuracy</th><th scope=\"col\" "
       "class=\"num\">Sensitivity</th><th scope=\"col\" class=\"num\">Specificity</th><th "
       "scope=\"col\" class=\"num\">PPV</th><th scope=\"col\" class=\"num\">NPV</th><th "
       "scope=\"col\" class=\"num\">Threshold</th><th scope=\"col\">AUC error "
       "bound</th></tr></thead>\n";
  bool any_grid = false;
  for (const CohortRef& cohort : CohortsInOrder(r)) {
    const std::vector<const CohortMetrics*> rows = MetricsOf(r, cohort, models);
    std::string how;
    if (!rows.empty() && rows.front()->mode == "pooled_grid") {
      how = rows.front()->grid == "fallback"
                ? ": pooled FALLBACK grid (a site's disclosure policy refused the fine grid)"
                : ": pooled grid";
      if (rows.front()->grid_points > 0)
        how += " of " + Grouped(rows.front()->grid_points) + " points";
    } else if (!rows.empty() && rows.front()->mode == "site_local") {
      how = ": computed at the site";
      if (rows.front()->grid_points > 0)
        how += " on the grid of " + Grouped(rows.front()->grid_points) + " points";
    }
    h += "<tbody>\n<tr class=\"group\"><th scope=\"colgroup\" colspan=\"10\">" +
         Escape(CohortLabel(cohort)) + how + "</th></tr>\n";
    for (const CohortMetrics* m : rows) {
      std::string bound;
      if (m->mode == "pooled_grid") {
        any_grid = true;
        bound = "&#8804; " + Scientific(m->auc_error_bound);
      } else if (m->mode == "site_local") {
        bound = m->grid_points > 0 ? "&#8804; " + Scientific(m->auc_error_bound) : "exact";
      } else {
        bound = Escape(m->mode);
      }
      h += "<tr><th scope=\"row\">" + Escape(m->model) + "</th><td class=\"num\">" +
           Grouped(m->cases + m->controls) + " (" + Grouped(m->cases) + "/" + Grouped(m->controls) +
           ")</td><td class=\"num\">" + AucWithCi(*m, 3, 3) + "</td><td class=\"num\">" +
           HtmlFixed(m->accuracy, 3) + "</td><td class=\"num\">" + HtmlFixed(m->sensitivity, 3) +
           "</td><td class=\"num\">" + HtmlFixed(m->specificity, 3) + "</td><td class=\"num\">" +
           HtmlFixed(m->ppv, 3) + "</td><td class=\"num\">" + HtmlFixed(m->npv, 3) +
           "</td><td class=\"num\">" + HtmlFixed(m->threshold, 3) + "</td><td>" + bound +
           "</td></tr>\n";
    }
    h += "</tbody>\n";
  }
  h += "</table>\n";
  h += "<p class=\"note\">AUC: Mann&#8211;Whitney (ties count &#189;); 95% CI from the DeLong "
       "variance, clipped to [0, 1]. A case is called positive when its predicted probability "
       "is at least the threshold. PPV/NPV are absent (&#8212;) when no patient is called "
       "positive/negative.";
  if (any_grid) {
    h += " <strong>Pooled-grid AUCs</strong> are computed from securely summed score "
         "histograms on a public grid of G points: they are exact for the scores rounded to "
         "the grid, and differ from the AUC of the unrounded scores by at most the AUC "
         "error bound in the last column (&#189;&#183;&#931;<sub>k</sub> "
         "cases<sub>k</sub>&#183;controls<sub>k</sub> / "
         "(N<sub>1</sub>N<sub>0</sub>)).";
  }
  h += " Site-local AUCs are computed by the one site holding the cohort on its raw scores "
       "(exact).</p>\n</section>\n";
}

void HtmlDelong(const StudyResults& r, std::string& h) {
  h += "<section id=\"delong\">\n<h2>Model comparisons (paired DeLong test)</h2>\n";
  if (r.comparisons.empty()) {
    h += "<p>No comparison was computed.</p>\n</section>\n";
    return;
  }
  h += "<table class=\"delong\">\n<caption>Paired DeLong tests between models on the same "
       "patients</caption>\n<thead><tr><th scope=\"col\">Comparison</th><th "
       "scope=\"col\">Cohort</th><th scope=\"col\" class=\"num\">AUC A</th><th scope=\"col\" "
       "class=\"num\">AUC B</th><th scope=\"col\" class=\"num\">&#916;AUC (A &#8722; B)</th><th "
       "scope=\"col\" class=\"num\">Z</th><th scope=\"col\" class=\"num\">p</th></tr></thead>\n"
       "<tbody>\n";
  for (const DelongComparison& c : r.comparisons) {
    h += "<tr><th scope=\"row\">" + Escape(c.model_a) + " vs " + Escape(c.model_b) + "</th><td>" +
         Escape(CohortLabel(c.cohort)) + "</td><td class=\"num\">" + HtmlFixed(c.auc_a, 3) +
         "</td><td class=\"num\">" + HtmlFixed(c.auc_b, 3) + "</td><td class=\"num\">" +
         Escape(SignedFixed(c.auc_a - c.auc_b, 3)) + "</td><td class=\"num\">" + HtmlFixed(c.z, 2) +
         "</td><td class=\"num\">" + Escape(PValue(c.p_value)) + "</td></tr>\n";
  }
  h += "</tbody>\n</table>\n<p class=\"note\">Two-sided p = 2&#934;(&#8722;|Z|), Z = &#916;AUC / "
       "&#963; with the DeLong covariance of the paired AUCs.</p>\n</section>\n";
}

void HtmlModels(const StudyResults& r, std::string& h) {
  h += "<section id=\"features\">\n<h2>Models and selected features</h2>\n<div "
       "class=\"models\">\n";
  for (const ModelResult& model : r.models) {
    h += "<div class=\"model\">\n<h3>" + Escape(model.name) + "</h3>\n";
    h += "<p class=\"lead\">" + std::to_string(model.selected.size()) + " of " +
         std::to_string(model.columns.size()) +
         " candidate columns selected; LASSO &#955; = " + General(model.lambda, 4) + " (" +
         Escape(model.lambda_rule) + "); SVM C = " + General(model.c, 4) + ", bias " +
         HtmlFixed(model.svm_bias, 4);
    if (model.platt_a.has_value() && model.platt_b.has_value()) {
      h += "; Platt a = " + HtmlFixed(model.platt_a, 4) + ", b = " + HtmlFixed(model.platt_b, 4);
    }
    h += "; threshold " + HtmlFixed(model.threshold, 3) + " (" + Escape(model.threshold_rule) +
         ").</p>\n";
    if (model.selected.empty()) {
      h += "<p>No feature selected.</p>\n</div>\n";
      continue;
    }
    std::vector<const SelectedFeature*> features;
    for (const SelectedFeature& f : model.selected) features.push_back(&f);
    std::stable_sort(features.begin(), features.end(),
                     [](const SelectedFeature* a, const SelectedFeature* b) {
                       return std::fabs(a->coefficient) > std::fabs(b->coefficient);
                     });
    h += "<table class=\"features\">\n<caption>" + Escape(model.name) +
         ": SVM weights (standardised features)</caption>\n<thead><tr><th "
         "scope=\"col\">Feature</th><th scope=\"col\" class=\"num\">Coefficient</th></tr>"
         "</thead>\n<tbody>\n";
    for (const SelectedFeature* f : features) {
      h += "<tr><td class=\"mono\">" + Escape(f->name) + "</td><td class=\"num\">" +
           HtmlFixed(f->coefficient, 4) + "</td></tr>\n";
    }
    h += "</tbody>\n</table>\n</div>\n";
  }
  h += "</div>\n";
  if (r.models.empty()) h += "<p>No model.</p>\n";
  h += "</section>\n";
}

// Missing values imputed with pooled statistics of the training rows
// (docs/methods.md §11); nothing without imputation.
void HtmlImputation(const StudyResults& r, std::string& h) {
  if (r.imputation.empty()) return;
  h += "<section id=\"imputation\">\n<h2>Missing values</h2>\n<p class=\"lead\">" +
       General(r.missing_cells_imputed, 10) +
       " missing cells of the training sites were imputed with statistics pooled over the "
       "training rows of each fit (each cross-validation fold uses its own training rows; "
       "external sites the final model's values). The values below are the final model's."
       "</p>\n<table class=\"features\">\n<thead><tr><th scope=\"col\">Column</th><th "
       "scope=\"col\">Statistic</th><th scope=\"col\" class=\"num\">Value</th><th scope=\"col\" "
       "class=\"num\">Missing cells</th></tr></thead>\n<tbody>\n";
  for (const ImputedColumn& c : r.imputation) {
    h += "<tr><td class=\"mono\">" + Escape(c.column) + "</td><td>" + Escape(c.statistic) +
         "</td><td class=\"num\">" + HtmlFixed(c.value, 4) + "</td><td class=\"num\">" +
         General(c.missing_cells, 10) + "</td></tr>\n";
  }
  h += "</tbody>\n</table>\n</section>\n";
}

void HtmlCalibration(const StudyResults& r, const ModelIndex& models, std::string& h) {
  h += "<section id=\"calibration\">\n<h2>Calibration</h2>\n";
  int chart = 0;
  std::string figures;
  std::string rows;
  for (const CohortRef& cohort : CohortsInOrder(r)) {
    std::vector<Series> series;
    std::string desc = "Calibration on " + CohortLabel(cohort) + ":";
    for (const CohortMetrics* m : MetricsOf(r, cohort, models)) {
      if (m->brier.has_value() || m->calibration_intercept.has_value() ||
          m->calibration_slope.has_value()) {
        rows += "<tr><td>" + Escape(CohortLabel(cohort)) + "</td><th scope=\"row\">" +
                Escape(m->model) + "</th><td class=\"num\">" + HtmlFixed(m->brier, 3) +
                "</td><td class=\"num\">" + HtmlFixed(m->calibration_intercept, 3) +
                "</td><td class=\"num\">" + HtmlFixed(m->calibration_slope, 3) + "</td></tr>\n";
      }
      if (m->calibration.empty()) continue;
      Series line;
      line.style = models.Of(m->model);
      line.markers = true;
      line.legend = m->model;
      if (m->brier.has_value()) line.legend += " Brier " + Fixed(*m->brier, 3);
      if (m->calibration_intercept.has_value()) {
        line.legend += ", intercept " + Fixed(*m->calibration_intercept, 2);
      }
      if (m->calibration_slope.has_value()) {
        line.legend += ", slope " + Fixed(*m->calibration_slope, 2);
      }
      for (const CalibrationBin& b : m->calibration) {
        line.xy.emplace_back(b.mean_predicted, b.observed_rate);
        line.marker_titles.push_back(m->model + ": predicted " + Fixed(b.mean_predicted, 3) +
                                     ", observed " + Fixed(b.observed_rate, 3) +
                                     ", n = " + std::to_string(b.count));
      }
      desc += " " + line.legend + ";";
      series.push_back(std::move(line));
    }
    if (series.empty()) continue;
    const std::string id = "calibration-" + std::to_string(++chart);
    figures += "<figure>\n" +
               SvgChart("calibration", id, "Calibration: " + CohortLabel(cohort), desc,
                        "Mean predicted probability", "Observed event rate", series) +
               "<figcaption>" + Escape(CohortLabel(cohort)) +
               ". One point per bin of predicted probability; dashed diagonal: perfect "
               "calibration.</figcaption>\n</figure>\n";
  }
  if (!figures.empty()) h += "<div class=\"charts\">\n" + figures + "</div>\n";
  if (!rows.empty()) {
    h += "<table class=\"calibration\">\n<caption>Brier score and logistic recalibration "
         "(logit P(y = 1) = intercept + slope &#183; logit p)</caption>\n<thead><tr><th "
         "scope=\"col\">Cohort</th><th scope=\"col\">Model</th><th scope=\"col\" "
         "class=\"num\">Brier</th><th scope=\"col\" class=\"num\">Intercept</th><th "
         "scope=\"col\" class=\"num\">Slope</th></tr></thead>\n<tbody>\n" +
         rows + "</tbody>\n</table>\n";
  }
  if (figures.empty() && rows.empty()) h += "<p>No calibration was computed.</p>\n";
  h += "</section>\n";
}

void HtmlLedger(const StudyResults& r, std::string& h) {
  h += "<section id=\"ledger\">\n<h2>Privacy ledger</h2>\n";
  h += "<table class=\"ledger\">\n<caption>What left each site (aggregates only; bytes as "
       "counted by the coordinator)</caption>\n<thead><tr><th scope=\"col\">Site</th><th "
       "scope=\"col\">Role</th><th scope=\"col\" class=\"num\">Rounds</th><th scope=\"col\" "
       "class=\"num\">Bytes to site</th><th scope=\"col\" class=\"num\">Bytes from site</th><th "
       "scope=\"col\">Statistic kinds</th></tr></thead>\n<tbody>\n";
  for (const SiteLedger& site : r.ledger) {
    std::string kinds;
    for (const std::string& kind : site.statistic_kinds) {
      kinds += (kinds.empty() ? "" : ", ") + ("<code>" + Escape(kind) + "</code>");
    }
    h += "<tr><th scope=\"row\">" + Escape(site.site_id) + "</th><td>" + Escape(site.role) +
         "</td><td class=\"num\">" + Grouped(site.rounds) + "</td><td class=\"num\">" +
         Grouped(site.bytes_to) + "</td><td class=\"num\">" + Grouped(site.bytes_from) +
         "</td><td>" + (kinds.empty() ? kDash : kinds) + "</td></tr>\n";
  }
  h += "</tbody>\n</table>\n";
  h += std::string(
           "<p class=\"note\">Every number in this report is an aggregate; no "
           "patient-level value was released. ") +
       (r.secure_aggregation
            ? "Sums across sites were securely aggregated: the coordinator saw only totals."
        : r.mode == "federated"
            ? "Secure aggregation was off: the coordinator saw each site's sums."
            : "This run was in one process (mode " + Escape(r.mode) +
                  "): no statistic crossed a network; the counts above are what a federated "
                  "run would release.") +
       "</p>\n</section>\n";
}

// ---------------------------------------------------------------------------
// Terminal table.

std::string Ascii(std::string_view s) {
  std::string out(s);
  for (char& ch : out) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u >= 0x7f) ch = '?';
  }
  return out;
}

std::string TerminalCohort(const CohortRef& cohort) {
  if (cohort.kind == "cv") return "cv";
  if (cohort.kind == "external_pooled") return "external (pooled)";
  if (cohort.kind == "external_site") return "external " + cohort.name;
  return cohort.kind + " " + cohort.name;
}

}  // namespace

std::string ResultsJsonText(const StudyResults& r) {
  JsonWriter json;
  json.BeginObject();
  json.Member("schema", kResultsSchema);
  json.Key("study");
  json.BeginObject();
  json.Member("study_id", r.study_id);
  json.Member("spec_sha256", r.spec_sha256);
  json.Member("fedrad_version", r.fedrad_version);
  json.Member("started_utc", r.started_utc);
  json.Member("finished_utc", r.finished_utc);
  json.Member("mode", r.mode);
  json.Member("secure_aggregation", r.secure_aggregation);
  json.Member("min_sites", r.min_sites);
  json.Member("fewer_sites_allowed", r.fewer_sites_allowed);
  json.Member("cv_scheme", r.cv_scheme);
  json.Member("rounds", r.rounds);
  json.Key("notes");
  json.BeginArray();
  for (const std::string& note : r.notes) json.String(note);
  json.EndArray();
  json.EndObject();

  json.Key("sites");
  json.BeginArray();
  for (const SiteCohort& site : r.sites) {
    json.BeginObject();
    json.Member("site_id", site.site_id);
    json.Member("role", site.role);
    json.Member("cases", site.cases);
    json.Member("controls", site.controls);
    json.Member("disclosure_minimum", site.disclosure_minimum);
    json.Member("cases_withheld", site.cases_withheld);
    json.Member("controls_withheld", site.controls_withheld);
    json.EndObject();
  }
  json.EndArray();

  json.Key("models");
  json.BeginArray();
  for (const ModelResult& model : r.models) {
    json.BeginObject();
    json.Member("name", model.name);
    json.Key("columns");
    json.Strings(model.columns);
    json.Member("lambda", model.lambda);
    json.Member("lambda_rule", model.lambda_rule);
    json.Member("c", model.c);
    json.Member("svm_bias", model.svm_bias);
    json.Member("platt_a", model.platt_a);
    json.Member("platt_b", model.platt_b);
    json.Member("threshold_rule", model.threshold_rule);
    json.Member("threshold", model.threshold);
    json.Key("selected");
    json.BeginArray();
    for (const SelectedFeature& f : model.selected) {
      json.BeginObject();
      json.Member("name", f.name);
      json.Member("coefficient", f.coefficient);
      json.EndObject();
    }
    json.EndArray();
    json.EndObject();
  }
  json.EndArray();

  // Missing values imputed (null without imputation; docs/results.md).
  json.Key("imputation");
  if (r.imputation.empty()) {
    json.Null();
  } else {
    json.BeginObject();
    json.Member("missing_cells_imputed", r.missing_cells_imputed);
    json.Key("columns");
    json.BeginArray();
    for (const ImputedColumn& c : r.imputation) {
      json.BeginObject();
      json.Member("column", c.column);
      json.Member("statistic", c.statistic);
      json.Member("value", c.value);
      json.Member("missing_cells", c.missing_cells);
      json.EndObject();
    }
    json.EndArray();
    json.EndObject();
  }

  json.Key("metrics");
  json.BeginArray();
  for (const CohortMetrics& m : r.metrics) WriteMetrics(json, m);
  json.EndArray();

  json.Key("comparisons");
  json.BeginArray();
  for (const DelongComparison& c : r.comparisons) {
    json.BeginObject();
    json.Key("cohort");
    WriteCohortRef(json, c.cohort);
    json.Member("model_a", c.model_a);
    json.Member("model_b", c.model_b);
    json.Member("auc_a", c.auc_a);
    json.Member("auc_b", c.auc_b);
    json.Member("delta_auc", c.auc_a - c.auc_b);
    json.Member("z", c.z);
    json.Member("p_value", c.p_value);
    json.EndObject();
  }
  json.EndArray();

  json.Key("ledger");
  json.BeginArray();
  for (const SiteLedger& site : r.ledger) {
    json.BeginObject();
    json.Member("site_id", site.site_id);
    json.Member("role", site.role);
    json.Member("rounds", site.rounds);
    json.Member("bytes_to", site.bytes_to);
    json.Member("bytes_from", site.bytes_from);
    json.Key("statistic_kinds");
    json.Strings(site.statistic_kinds);
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  return json.Finish();
}

common::Status WriteResultsJson(const StudyResults& results, const std::string& path) {
  common::Status status = common::WriteFileAtomic(path, ResultsJsonText(results));
  if (!status.ok()) return status.Wrap("writing results.json to " + path);
  return common::Status::Ok();
}

std::string ReportHtmlText(const StudyResults& r) {
  const ModelIndex models(r);
  std::string h;
  h.reserve(64 << 10);
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  h += "<meta name=\"generator\" content=\"fedrad " + Escape(r.fedrad_version) + "\">\n";
  h += "<title>fedrad report: " + Escape(r.study_id) + "</title>\n";
  h += "<style>" + std::string(kStyleSheet) + "</style>\n</head>\n<body>\n";
  h += "<header>\n<h1>Study report: " + Escape(r.study_id) + "</h1>\n";
  h += "<p class=\"lead\">Federated radiomics study run by fedrad " + Escape(r.fedrad_version) +
       ", " + Escape(r.started_utc) + " to " + Escape(r.finished_utc) + ".</p>\n";
  h += "<nav aria-label=\"Sections\"><p class=\"note\"><a href=\"#summary\">Summary</a> &#183; "
       "<a href=\"#cohorts\">Cohorts</a> &#183; <a href=\"#roc\">ROC curves</a> &#183; "
       "<a href=\"#metrics\">Metrics</a> &#183; <a href=\"#delong\">Comparisons</a> &#183; "
       "<a href=\"#features\">Features</a> &#183; <a href=\"#calibration\">Calibration</a> "
       "&#183; <a href=\"#ledger\">Privacy ledger</a></p></nav>\n</header>\n<main>\n";
  HtmlSummary(r, h);
  HtmlCohorts(r, h);
  HtmlRoc(r, models, h);
  HtmlMetrics(r, models, h);
  HtmlDelong(r, h);
  HtmlModels(r, h);
  HtmlImputation(r, h);
  HtmlCalibration(r, models, h);
  HtmlLedger(r, h);
  h += "</main>\n<footer>Generated by fedrad " + Escape(r.fedrad_version) + " from study spec " +
       "<span class=\"mono\">" + Escape(r.spec_sha256) +
       "</span>. The numbers are also in results.json (schema " + std::string(kResultsSchema) +
       ").</footer>\n</body>\n</html>\n";
  return h;
}

common::Status WriteReportHtml(const StudyResults& results, const std::string& path) {
  common::Status status = common::WriteFileAtomic(path, ReportHtmlText(results));
  if (!status.ok()) return status.Wrap("writing report.html to " + path);
  return common::Status::Ok();
}

std::string FormatResultsTable(const StudyResults& r) {
  const ModelIndex models(r);
  const std::vector<std::string> header = {"Cohort",   "Model",       "n",          "AUC [95% CI]",
                                           "Accuracy", "Sensitivity", "Specificity"};
  const std::vector<bool> right = {false, false, true, false, true, true, true};
  std::vector<std::vector<std::string>> rows;
  for (const CohortRef& cohort : CohortsInOrder(r)) {
    for (const CohortMetrics* m : MetricsOf(r, cohort, models)) {
      rows.push_back({Ascii(TerminalCohort(m->cohort)), Ascii(m->model),
                      std::to_string(m->cases + m->controls), AucWithCi(*m, 3, 3),
                      Fixed(m->accuracy, 3), Fixed(m->sensitivity, 3), Fixed(m->specificity, 3)});
    }
  }
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  auto emit = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) line += "  ";
      const std::string pad(width[c] - cells[c].size(), ' ');
      line += right[c] ? pad + cells[c] : cells[c] + pad;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  emit(header);
  std::vector<std::string> rule;
  for (std::size_t w : width) rule.emplace_back(w, '-');
  emit(rule);
  for (const auto& row : rows) emit(row);
  if (!r.comparisons.empty()) out += "\n";

  for (const CohortRef& cohort : CohortsInOrder(r)) {
    std::string line;
    for (const DelongComparison& c : r.comparisons) {
      if (!SameCohort(c.cohort, cohort)) continue;
      const std::string p = PValue(c.p_value);
      line += (line.empty() ? "" : ", ") + Ascii(c.model_a) + " vs " + Ascii(c.model_b) + " " +
              (p[0] == '<' ? "<0.001" : p);
    }
    if (!line.empty()) out += "DeLong p (" + Ascii(TerminalCohort(cohort)) + "): " + line + "\n";
  }
  for (const CohortRef& cohort : CohortsInOrder(r)) {
    double bound = 0.0;
    std::int64_t grid = 0;
    bool pooled = false;
    bool local = false;
    bool fallback = false;
    for (const CohortMetrics* m : MetricsOf(r, cohort, models)) {
      fallback = fallback || m->grid == "fallback";
      const bool on_site = m->mode == "site_local" && m->grid_points > 0;
      if (m->mode != "pooled_grid" && !on_site) continue;
      pooled = true;
      local = on_site;
      bound = std::max(bound, m->auc_error_bound);
      grid = std::max(grid, m->grid_points);
    }
    if (!pooled) continue;
    out += "AUC on " + Ascii(TerminalCohort(cohort)) +
           (local ? " computed at the site on its grid" : " from pooled grid histograms") +
           (grid > 0 ? " (" + std::string(fallback ? "fallback grid, " : "") +
                           "G = " + std::to_string(grid) + ")"
                     : std::string()) +
           ": |AUC - unbinned AUC| <= " + Scientific(bound) + "\n";
  }
  return out;
}

}  // namespace fedrad::coordinator

#include "fedrad/site_agent/synth.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numbers>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <sstream>
#include <system_error>

#include "fedrad/common/csv.hpp"
#include "fedrad/common/files.hpp"
#include "fedrad/common/keys.hpp"
#include "fedrad/common/version.hpp"

namespace fedrad::site_agent {

namespace {

namespace fs = std::filesystem;

// splitmix64: small, fast and identical on every platform (std::
// distributions are not), which is what "deterministic by seed" needs.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in (0, 1).
  double Uniform() { return (static_cast<double>(Next() >> 11) + 0.5) * 0x1.0p-53; }
  // Standard normal (Box-Muller, both values used).
  double Normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double r = std::sqrt(-2.0 * std::log(Uniform()));
    const double t = 2.0 * std::numbers::pi * Uniform();
    spare_ = r * std::sin(t);
    has_spare_ = true;
    return r * std::cos(t);
  }
  bool Bernoulli(double p) { return Uniform() < p; }

 private:
  std::uint64_t state_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

std::uint64_t CaseSeed(std::uint64_t seed, std::size_t site, int index) {
  Rng mix(seed ^ (0x5157a11ULL * (site + 1)) ^ (0x9e37ULL * static_cast<std::uint64_t>(index + 1)));
  mix.Next();
  return mix.Next();
}

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

struct Scanner {
  double gain = 1.0;
  double speckle_sigma_px = 1.0;
  double noise_floor = 2.0;
};

Scanner ScannerOf(std::size_t k) {
  Scanner s;
  s.gain = 1.0 + 0.12 * std::sin(1.7 * static_cast<double>(k) + 0.4);
  s.speckle_sigma_px = 1.4 + 0.3 * static_cast<double>(k % 3);
  s.noise_floor = 2.0 + static_cast<double>(k % 2);
  return s;
}

struct Clinical {
  int nodal = 0, synchronous = 0, bilobar = 0, chemo = 0, targeted = 0;
  double ca19_9 = 0.0;
  double age = 0.0, bmi = 0.0, cea = 0.0, albumin = 0.0;
  bool male = false;
};

struct CaseTruth {
  Clinical clinical;
  double u = 0.0;  // imaging risk
  double eta = 0.0;
  int label = 0;
};

double Clip(double v, double lo, double hi) { return std::min(hi, std::max(lo, v)); }

CaseTruth DrawCase(Rng& rng) {
  CaseTruth c;
  Clinical& k = c.clinical;
  k.nodal = rng.Bernoulli(0.55);
  k.synchronous = rng.Bernoulli(0.45);
  k.bilobar = rng.Bernoulli(0.35);
  k.chemo = rng.Bernoulli(0.5);
  k.targeted = rng.Bernoulli(k.chemo ? 0.35 : 0.05);
  k.ca19_9 =
      std::round(10.0 * std::exp(std::log(30.0) + 0.9 * k.bilobar + 1.4 * rng.Normal())) / 10.0;
  k.age = std::round(Clip(61.0 + 10.0 * rng.Normal(), 25.0, 90.0));
  k.male = rng.Bernoulli(0.6);
  k.bmi = std::round(10.0 * Clip(25.5 + 4.0 * rng.Normal(), 15.0, 45.0)) / 10.0;
  k.cea = std::round(10.0 * std::exp(std::log(8.0) + 1.2 * rng.Normal())) / 10.0;
  k.albumin = std::round(10.0 * (40.0 + 5.0 * rng.Normal())) / 10.0;
  c.u = rng.Normal();
  c.eta = -1.35 + 0.75 * k.nodal + 0.55 * k.synchronous + 0.65 * k.bilobar + 0.45 * k.chemo -
          0.35 * k.targeted + 0.9 * (k.ca19_9 > 200.0 ? 1 : 0) + 1.2 * c.u;
  c.label = rng.Bernoulli(Sigmoid(c.eta)) ? 1 : 0;
  return c;
}

// A smooth random field of unit standard deviation (white noise blurred).
cv::Mat SmoothField(Rng& rng, int size, double sigma_px) {
  cv::Mat noise(size, size, CV_64F);
  for (int y = 0; y < size; ++y) {
    auto* row = noise.ptr<double>(y);
    for (int x = 0; x < size; ++x) row[x] = rng.Normal();
  }
  cv::Mat smooth;
  cv::GaussianBlur(noise, smooth, cv::Size(0, 0), sigma_px, sigma_px, cv::BORDER_REFLECT);
  cv::Scalar mean, sd;
  cv::meanStdDev(smooth, mean, sd);
  smooth = (smooth - mean[0]) / std::max(sd[0], 1e-12);
  return smooth;
}

struct CaseImages {
  cv::Mat image, lesion, liver, fov;  // CV_8U
};

// Renders one case (see the header for the model).
CaseImages RenderCase(Rng& rng, const CaseTruth& truth, const Scanner& scanner, int size,
                      double spacing_mm) {
  const double mm = 1.0 / spacing_mm;  // pixels per mm
  const double n = static_cast<double>(size);
  CaseImages out;

  // Field of view: a sector with its apex above the image.
  out.fov = cv::Mat::zeros(size, size, CV_8U);
  const cv::Point2d apex(n / 2.0, -0.15 * n);
  const double r_min = 0.2 * n;
  const double r_max = 1.12 * n;
  const double half_angle = 38.0 * std::numbers::pi / 180.0;
  for (int y = 0; y < size; ++y) {
    auto* row = out.fov.ptr<std::uint8_t>(y);
    for (int x = 0; x < size; ++x) {
      const double dx = x + 0.5 - apex.x;
      const double dy = y + 0.5 - apex.y;
      const double r = std::hypot(dx, dy);
      const double angle = std::atan2(dx, dy);
      if (r >= r_min && r <= r_max && std::abs(angle) <= half_angle) row[x] = 255;
    }
  }

  // Lesion: centre well inside the field of view, irregular margin.
  const double radius_mm = std::max(4.0, 8.0 + 1.5 * truth.u + 1.5 * rng.Normal());
  const double radius = radius_mm * mm;
  const double irregularity = 0.06 + 0.10 * Sigmoid(1.5 * truth.u);
  double amplitude[6] = {0, 0, 0, 0, 0, 0};
  double phase[6] = {0, 0, 0, 0, 0, 0};
  for (int k = 2; k <= 5; ++k) {
    amplitude[k] = irregularity * rng.Normal() / k;
    phase[k] = 2.0 * std::numbers::pi * rng.Uniform();
  }
  const double margin = radius * 1.6 + 6.0 * mm;
  cv::Point2d centre;
  for (int attempt = 0;; ++attempt) {
    centre = {margin + (n - 2.0 * margin) * rng.Uniform(),
              std::max(margin, 0.3 * n) + (n - margin - std::max(margin, 0.3 * n)) * rng.Uniform()};
    const int cx = std::clamp(static_cast<int>(centre.x), 0, size - 1);
    const int cy = std::clamp(static_cast<int>(centre.y), 0, size - 1);
    if (out.fov.at<std::uint8_t>(cy, cx) != 0 || attempt > 50) break;
  }
  std::vector<cv::Point> outline;
  constexpr int kVertices = 180;
  for (int v = 0; v < kVertices; ++v) {
    const double theta = 2.0 * std::numbers::pi * v / kVertices;
    double r = 1.0;
    for (int k = 2; k <= 5; ++k) r += amplitude[k] * std::cos(k * theta + phase[k]);
    r = std::max(0.4, r) * radius;
    outline.emplace_back(static_cast<int>(std::lround(centre.x + r * std::cos(theta))),
                         static_cast<int>(std::lround(centre.y + r * std::sin(theta))));
  }
  out.lesion = cv::Mat::zeros(size, size, CV_8U);
  cv::fillPoly(out.lesion, std::vector<std::vector<cv::Point>>{outline}, cv::Scalar(255));
  cv::bitwise_and(out.lesion, out.fov, out.lesion);

  // Distance from the lesion (pixels) for the halo and the parenchyma mask.
  cv::Mat outside;
  cv::bitwise_not(out.lesion, outside);
  cv::Mat distance;
  cv::distanceTransform(outside, distance, cv::DIST_L2, cv::DIST_MASK_PRECISE, CV_32F);

  // Parenchyma: a disk of 7 mm, at least 12 mm from the lesion, in the FOV.
  out.liver = cv::Mat::zeros(size, size, CV_8U);
  const double liver_radius = 7.0 * mm;
  for (int attempt = 0; attempt < 200; ++attempt) {
    const cv::Point2d c(liver_radius + (n - 2 * liver_radius) * rng.Uniform(),
                        liver_radius + (n - 2 * liver_radius) * rng.Uniform());
    const int cx = static_cast<int>(c.x);
    const int cy = static_cast<int>(c.y);
    if (distance.at<float>(cy, cx) < static_cast<float>(liver_radius + 12.0 * mm)) continue;
    cv::Mat disk = cv::Mat::zeros(size, size, CV_8U);
    cv::circle(disk, cv::Point(cx, cy), static_cast<int>(liver_radius), cv::Scalar(255), -1);
    cv::Mat inside;
    cv::bitwise_and(disk, out.fov, inside);
    if (cv::countNonZero(inside) < cv::countNonZero(disk) * 0.95) continue;
    out.liver = inside;
    break;
  }

  // Echogenicity map.
  const double contrast = 0.45 - 0.12 * std::tanh(truth.u);
  const double heterogeneity = 0.12 + 0.25 * Sigmoid(2.0 * truth.u);
  const double halo = 0.35 * Sigmoid(2.0 * truth.u - 0.5);
  const double halo_px = 1.5 * mm;
  const cv::Mat texture = SmoothField(rng, size, 4.0);
  const cv::Mat liver_texture = SmoothField(rng, size, 10.0);
  cv::Mat echo(size, size, CV_64F);
  for (int y = 0; y < size; ++y) {
    auto* e = echo.ptr<double>(y);
    const auto* in_lesion = out.lesion.ptr<std::uint8_t>(y);
    const auto* d = distance.ptr<float>(y);
    const auto* t = texture.ptr<double>(y);
    const auto* lt = liver_texture.ptr<double>(y);
    for (int x = 0; x < size; ++x) {
      double value = 1.0 + 0.06 * lt[x];
      if (in_lesion[x] != 0) {
        value = contrast * std::max(0.05, 1.0 + heterogeneity * t[x]);
      } else if (d[x] <= halo_px) {
        value *= 1.0 - halo;
      }
      e[x] = value;
    }
  }

  // Speckle, depth attenuation, log compression.
  cv::Mat re(size, size, CV_64F), im(size, size, CV_64F);
  for (int y = 0; y < size; ++y) {
    auto* a = re.ptr<double>(y);
    auto* b = im.ptr<double>(y);
    for (int x = 0; x < size; ++x) {
      a[x] = rng.Normal();
      b[x] = rng.Normal();
    }
  }
  cv::GaussianBlur(re, re, cv::Size(0, 0), scanner.speckle_sigma_px, scanner.speckle_sigma_px,
                   cv::BORDER_REFLECT);
  cv::GaussianBlur(im, im, cv::Size(0, 0), scanner.speckle_sigma_px, scanner.speckle_sigma_px,
                   cv::BORDER_REFLECT);
  cv::Mat magnitude;
  cv::magnitude(re, im, magnitude);
  const double mean_magnitude = cv::mean(magnitude)[0];
  out.image = cv::Mat::zeros(size, size, CV_8U);
  constexpr double kCompression = 10.0;
  for (int y = 0; y < size; ++y) {
    auto* pixel = out.image.ptr<std::uint8_t>(y);
    const auto* e = echo.ptr<double>(y);
    const auto* m = magnitude.ptr<double>(y);
    const auto* f = out.fov.ptr<std::uint8_t>(y);
    const double depth = 1.0 - 0.35 * (y + 0.5) / n;
    for (int x = 0; x < size; ++x) {
      if (f[x] == 0) continue;
      const double s = scanner.gain * depth * e[x] * m[x] / mean_magnitude;
      const double v = std::log1p(kCompression * s) / std::log1p(4.0 * kCompression);
      pixel[x] =
          static_cast<std::uint8_t>(std::lround(Clip(scanner.noise_floor + 200.0 * v, 0.0, 255.0)));
    }
  }
  return out;
}

// Images are written directly (no fsync per file: a thousand fsyncs would
// dominate the run); the manifests, written last and atomically, are what
// make a site folder usable, and a partial folder is never reused because
// the output folder must be new or empty.
common::Status WritePng(const std::string& path, const cv::Mat& image) {
  if (!cv::imwrite(path, image)) return common::IoError(path + ": cannot write the PNG image");
  return common::Status::Ok();
}

// Data values are rounded to 0.1 when drawn; %.10g prints them as written
// (C locale: fedrad never calls setlocale).
std::string Num(double v) {
  char buffer[40];
  std::snprintf(buffer, sizeof(buffer), "%.10g", v);
  return buffer;
}

common::Status CheckOptions(const SynthOptions& options, const std::vector<SynthSite>& sites) {
  if (options.out_dir.empty()) return common::InvalidArgument("synth: --out is required");
  if (options.image_size < 64 || options.image_size > 2048) {
    return common::InvalidArgument("synth: image size must be in [64, 2048] pixels, got " +
                                   std::to_string(options.image_size));
  }
  if (!(options.spacing_mm > 0.0 && options.spacing_mm <= 10.0)) {
    return common::InvalidArgument("synth: spacing must be in (0, 10] mm, got " +
                                   Num(options.spacing_mm));
  }
  // The lesion, its ring and a parenchyma disk 12 mm away must fit.
  if (options.image_size * options.spacing_mm < 50.0) {
    return common::InvalidArgument(
        "synth: the field of view (image size x spacing = " +
        Num(options.image_size * options.spacing_mm) +
        " mm) must be at least 50 mm for a lesion, its ring and a parenchyma region");
  }
  std::set<std::string> ids;
  for (const SynthSite& site : sites) {
    if (auto s = common::ValidatePartyName(site.id); !s.ok()) {
      return common::InvalidArgument("synth: site id \"" + site.id + "\": " + s.message());
    }
    if (!ids.insert(site.id).second) {
      return common::InvalidArgument("synth: site \"" + site.id + "\" is listed twice");
    }
    if (site.cases < 1 || site.cases > 100000) {
      return common::InvalidArgument("synth: site \"" + site.id +
                                     "\": cases must be in [1, 100000], got " +
                                     std::to_string(site.cases));
    }
  }
  if (sites.empty()) return common::InvalidArgument("synth: no site");
  return common::Status::Ok();
}

}  // namespace

std::vector<SynthSite> DefaultSynthSites() {
  return {{"hospital_a", false, 80},
          {"hospital_b", false, 74},
          {"hospital_c", false, 70},
          {"hospital_d", true, 54}};
}

common::Result<std::vector<SynthSite>> ParseSynthSites(const std::string& text) {
  std::vector<SynthSite> sites;
  std::stringstream entries(text);
  std::string entry;
  while (std::getline(entries, entry, ',')) {
    const auto first = entry.find(':');
    const auto second = first == std::string::npos ? first : entry.find(':', first + 1);
    if (second == std::string::npos || entry.find(':', second + 1) != std::string::npos) {
      return common::InvalidArgument("--sites entry \"" + entry +
                                     "\": expected id:role:cases, e.g. hospital_a:train:80");
    }
    SynthSite site;
    site.id = entry.substr(0, first);
    const std::string role = entry.substr(first + 1, second - first - 1);
    const std::string cases = entry.substr(second + 1);
    if (role != "train" && role != "external") {
      return common::InvalidArgument("--sites entry \"" + entry +
                                     "\": role must be train or external, got \"" + role + "\"");
    }
    site.external = role == "external";
    char* end = nullptr;
    const long count = std::strtol(cases.c_str(), &end, 10);
    if (cases.empty() || *end != '\0' || count < 1 || count > 100000) {
      return common::InvalidArgument("--sites entry \"" + entry +
                                     "\": cases must be an integer in [1, 100000], got \"" + cases +
                                     "\"");
    }
    site.cases = static_cast<int>(count);
    sites.push_back(std::move(site));
  }
  if (sites.empty()) return common::InvalidArgument("--sites: expected at least one entry");
  return sites;
}

common::Result<std::vector<SynthSiteSummary>> GenerateConsortium(
    const SynthOptions& options, const std::function<void(const std::string&)>& progress) {
  const std::vector<SynthSite> sites = options.sites.empty() ? DefaultSynthSites() : options.sites;
  FEDRAD_RETURN_IF_ERROR(CheckOptions(options, sites));
  std::error_code ec;
  const fs::path root(options.out_dir);
  if (fs::exists(root, ec)) {
    if (!fs::is_directory(root, ec)) {
      return common::AlreadyExists("synth: " + options.out_dir + " exists and is not a folder");
    }
    if (!fs::is_empty(root, ec)) {
      return common::AlreadyExists("synth: " + options.out_dir +
                                   " is not empty; choose a new folder (nothing is overwritten)");
    }
  }

  std::vector<SynthSiteSummary> summaries;
  for (std::size_t s = 0; s < sites.size(); ++s) {
    const SynthSite& site = sites[s];
    const Scanner scanner = ScannerOf(s);
    const fs::path dir = root / site.id;
    for (const char* sub : {"images", "masks"}) {
      fs::create_directories(dir / sub, ec);
      if (ec) {
        return common::IoError("synth: cannot create " + (dir / sub).string() + ": " +
                               ec.message());
      }
    }
    std::string manifest =
        "case_id,image,lesion_mask,parenchyma_mask,fov_mask,spacing_x_mm,spacing_y_mm\n";
    std::string clinical =
        "case_id,recurrence_2y,age_years,sex,nodal_positive,synchronous_metastases,"
        "bilobar_metastases,preoperative_chemotherapy,targeted_drugs,ca19_9_u_ml,cea_ng_ml,"
        "bmi,albumin_g_l\n";
    SynthSiteSummary summary{site.id, site.external, site.cases, 0};
    for (int i = 0; i < site.cases; ++i) {
      char id_buffer[96];
      std::snprintf(id_buffer, sizeof(id_buffer), "%s-%04d", site.id.c_str(), i + 1);
      const std::string id = id_buffer;
      Rng rng(CaseSeed(options.seed, s, i));
      const CaseTruth truth = DrawCase(rng);
      const CaseImages images =
          RenderCase(rng, truth, scanner, options.image_size, options.spacing_mm);
      FEDRAD_RETURN_IF_ERROR(WritePng((dir / "images" / (id + ".png")).string(), images.image));
      FEDRAD_RETURN_IF_ERROR(
          WritePng((dir / "masks" / (id + "_lesion.png")).string(), images.lesion));
      FEDRAD_RETURN_IF_ERROR(
          WritePng((dir / "masks" / (id + "_liver.png")).string(), images.liver));
      FEDRAD_RETURN_IF_ERROR(WritePng((dir / "masks" / (id + "_fov.png")).string(), images.fov));
      const std::string spacing = Num(options.spacing_mm);
      manifest += id + ",images/" + id + ".png,masks/" + id + "_lesion.png,";
      manifest += cv::countNonZero(images.liver) > 0 ? "masks/" + id + "_liver.png" : "";
      manifest += ",masks/" + id + "_fov.png," + spacing + "," + spacing + "\n";
      const Clinical& k = truth.clinical;
      clinical += id + "," + std::to_string(truth.label) + "," + Num(k.age) + "," +
                  (k.male ? "M" : "F") + "," + std::to_string(k.nodal) + "," +
                  std::to_string(k.synchronous) + "," + std::to_string(k.bilobar) + "," +
                  std::to_string(k.chemo) + "," + std::to_string(k.targeted) + "," + Num(k.ca19_9) +
                  "," + Num(k.cea) + "," + Num(k.bmi) + "," + Num(k.albumin) + "\n";
      summary.positives += truth.label;
    }
    FEDRAD_RETURN_IF_ERROR(common::WriteFileAtomic((dir / "manifest.csv").string(), manifest));
    FEDRAD_RETURN_IF_ERROR(common::WriteFileAtomic((dir / "clinical.csv").string(), clinical));
    if (progress) {
      progress(site.id + " (" + (site.external ? "external" : "train") +
               "): " + std::to_string(site.cases) + " cases, " + std::to_string(summary.positives) +
               " with recurrence, written to " + dir.string());
    }
    summaries.push_back(summary);
  }

  std::string truth = "{\n  \"generator\": \"fedrad synth\",\n  \"fedrad_version\": \"" +
                      std::string(common::Version()) +
                      "\",\n  \"seed\": " + std::to_string(options.seed) +
                      ",\n  \"image_size\": " + std::to_string(options.image_size) +
                      ",\n  \"spacing_mm\": " + Num(options.spacing_mm) +
                      ",\n  \"label\": \"recurrence_2y ~ Bernoulli(1 / (1 + exp(-eta)))\",\n"
                      "  \"eta\": {\"intercept\": -1.35, \"nodal_positive\": 0.75, "
                      "\"synchronous_metastases\": 0.55, \"bilobar_metastases\": 0.65, "
                      "\"preoperative_chemotherapy\": 0.45, \"targeted_drugs\": -0.35, "
                      "\"ca19_9_u_ml > 200\": 0.9, \"imaging_risk_u\": 1.2},\n"
                      "  \"imaging\": \"see site_agent/include/fedrad/site_agent/synth.hpp\",\n"
                      "  \"sites\": [";
  for (std::size_t s = 0; s < summaries.size(); ++s) {
    const Scanner scanner = ScannerOf(s);
    truth += std::string(s == 0 ? "\n" : ",\n") + "    {\"id\": \"" + summaries[s].id +
             "\", \"role\": \"" + (summaries[s].external ? "external" : "train") +
             "\", \"cases\": " + std::to_string(summaries[s].cases) +
             ", \"recurrences\": " + std::to_string(summaries[s].positives) +
             ", \"scanner\": {\"gain\": " + Num(scanner.gain) +
             ", \"speckle_sigma_px\": " + Num(scanner.speckle_sigma_px) +
             ", \"noise_floor\": " + Num(scanner.noise_floor) + "}}";
  }
  truth += "\n  ]\n}\n";
  FEDRAD_RETURN_IF_ERROR(common::WriteFileAtomic((root / "truth.json").string(), truth));
  FEDRAD_RETURN_IF_ERROR(common::WriteFileAtomic(
      (root / "README.txt").string(),
      "Synthetic consortium written by `fedrad synth` (seed " + std::to_string(options.seed) +
          "). NOT patient data.\n"
          "Each site folder holds images/, masks/ (lesion, liver parenchyma, field of view;\n"
          "8-bit PNG, 0/255), manifest.csv (for `fedrad extract --manifest`) and clinical.csv\n"
          "(the outcome recurrence_2y and the clinical variables). truth.json holds the\n"
          "generating model; site_agent/include/fedrad/site_agent/synth.hpp documents it.\n"));
  return summaries;
}

}  // namespace fedrad::site_agent

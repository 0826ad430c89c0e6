#include "fedrad/site_agent/radiomics/extraction.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <span>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "fedrad/common/csv.hpp"
#include "fedrad/common/hash.hpp"
#include "fedrad/common/json_reader.hpp"
#include "fedrad/common/version.hpp"
#include "fedrad/site_agent/radiomics/shape.hpp"
#include "filters_internal.hpp"
#include "texture_common.hpp"

namespace fedrad::site_agent::radiomics {
namespace {

using common::ObjectReader;
using nlohmann::json;

constexpr int kMaxFilterMargin = 512;
constexpr int kDefaultBinCount = 32;

// A list of numbers under `key` (optional); errors recorded with the key's
// pointer. Each value must lie in [min, max].
std::vector<double> NumberList(ObjectReader& reader, const std::string& key,
                               std::vector<double> fallback, double min, double max) {
  const json* raw = reader.Raw(key);
  if (raw == nullptr) return fallback;
  if (!raw->is_array()) {
    reader.Error(key, "expected an array of numbers");
    return fallback;
  }
  std::vector<double> out;
  for (std::size_t i = 0; i < raw->size(); ++i) {
    const json& v = (*raw)[i];
    if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < min ||
        v.get<double>() > max) {
      reader.errors()->Add(common::JsonPointerAppend(
                               common::JsonPointerAppend(reader.pointer(), key), std::to_string(i)),
                           "expected a number in [" + common::FormatDoubleShort(min) + ", " +
                               common::FormatDoubleShort(max) + "], got " + v.dump());
      continue;
    }
    out.push_back(v.get<double>());
  }
  return out;
}

// Feature names of every family, from a probe run on a small synthetic
// image (so the list is always what the kernels produce).
const std::map<std::string, std::vector<std::string>>& FamilyFeatureNames();

// RoiValues and RoiLevels into `out` (n + 1 slots, need not be initialised):
// branch-free compaction, every value is written at the next free slot,
// which advances only for ROI pixels. Returns the number of ROI values.
std::size_t CompactRoi(const double* values, const std::uint8_t* mask, std::size_t n, double* out) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    out[count] = values[i];
    count += mask[i] != 0 ? 1 : 0;
  }
  return count;
}
std::size_t CompactLevels(const int* levels, std::size_t n, int* out) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    out[count] = levels[i];
    count += levels[i] > 0 ? 1 : 0;
  }
  return count;
}

// Computes the families of one (region, image type) pair. Families that
// share an input build it once: the ROI's grey levels (firstorder,
// histogram), the neighbouring grey level dependence matrix (gldm, ngldm) and
// the zone labelling (glszm, gldzm: one BuildZoneMatrices call fills both).
// Each family's features are those of its *Features2D() function, bit for bit.
class FamilyComputer {
 public:
  // `border_distance` (may be null): BorderDistanceMap of a mask with
  // `border_roi_pixels` ROI pixels that contains the levels' ROI; used for
  // the GLDZM when the two ROIs have the same size (so are equal).
  FamilyComputer(const IntensityRoi& roi, const LevelImage& levels, const Image& original_for_shape,
                 const Mask& region_mask, const ExtractionParams& params, bool want_glszm,
                 bool want_gldzm, const Grid<int>* border_distance = nullptr,
                 std::size_t border_roi_pixels = 0)
      : roi_(roi),
        levels_(levels),
        original_for_shape_(original_for_shape),
        region_mask_(region_mask),
        params_(params),
        want_glszm_(want_glszm),
        want_gldzm_(want_gldzm),
        border_distance_(border_distance),
        border_roi_pixels_(border_roi_pixels) {}

  FeatureList Compute(const std::string& family) {
    if (family == "firstorder") {
      // As RoiValues, into a buffer without zero fill.
      std::span<const double> values;
      std::unique_ptr<double[]> buffer;
      if (roi_.image.pixels.width == roi_.mask.width &&
          roi_.image.pixels.height == roi_.mask.height) {
        buffer = std::make_unique_for_overwrite<double[]>(roi_.mask.data.size() + 1);
        values = {buffer.get(), CompactRoi(roi_.image.pixels.data.data(), roi_.mask.data.data(),
                                           roi_.mask.data.size(), buffer.get())};
      }
      return FirstOrderFeatures(values, RoiLevelList(), roi_.image.spacing, params_.first_order);
    }
    if (family == "histogram") {
      return IntensityHistogramFeatures(RoiLevelList(), levels_.num_levels,
                                        params_.first_order.percentile_method);
    }
    if (family == "shape2D") return Shape2DFeatures(region_mask_, original_for_shape_.spacing);
    // (The texture kernels get the box and zero-bordered copy made once.)
    if (family == "glcm") {
      return texture_internal::GlcmFeaturesPrepared(levels_, Prepared(), params_.aggregation,
                                                    params_.glcm);
    }
    if (family == "glrlm") {
      return texture_internal::GlrlmFeaturesPrepared(levels_, Prepared().box, params_.aggregation);
    }
    if (family == "glszm") {
      // As GlszmFeatures2D (the one-slice mean of GlszmFeaturesPerSlice).
      const Glszm& glszm = Zones().first;
      if (glszm.Total() <= 0.0) return {};
      texture_internal::ValueMean<kGlszmFeatureDefs.size()> mean;
      mean.Add(ComputeGlszmValues(glszm));
      return texture_internal::MakeFeatureList(kGlszmFeatureDefs, mean.Mean());
    }
    if (family == "gldzm") {
      const Gldzm& gldzm = Zones().second;
      if (gldzm.Total() <= 0.0) return {};
      return GldzmFeatures(gldzm);
    }
    if (family == "gldm") {
      const Ngldm& ngldm = NgldmMatrix();
      if (ngldm.Total() <= 0.0) return {};
      return GldmFeatures(ngldm);
    }
    if (family == "ngldm") {
      // As NgldmFeatures2D (the one-slice mean of NgldmFeaturesPerSlice).
      const Ngldm& ngldm = NgldmMatrix();
      if (ngldm.Total() <= 0.0) return {};
      texture_internal::ValueMean<kNgldmFeatureDefs.size()> mean;
      mean.Add(ComputeNgldmValues(ngldm));
      return texture_internal::MakeFeatureList(kNgldmFeatureDefs, mean.Mean());
    }
    if (family == "ngtdm") {
      if (!FusedNeighbourhoods()) return NgtdmFeatures2D(levels_, params_.ngtdm_distance);
      // As NgtdmFeatures2D (the one-slice mean of NgtdmFeaturesPerSlice).
      if (Prepared().box.empty()) return {};
      const Ngtdm& ngtdm = NgtdmMatrix();
      if (ngtdm.TotalCount() <= 0.0) return NgtdmFeatures(Ngtdm{});
      texture_internal::ValueMean<kNgtdmFeatureDefs.size()> mean;
      mean.Add(ComputeNgtdmValues(ngtdm));
      return texture_internal::MakeFeatureList(kNgtdmFeatureDefs, mean.Mean());
    }
    return {};
  }

 private:
  // The levels' ROI box and its copy with a zero border of 1 (GLCM at
  // distance 1, NGTDM/NGLDM, zones), made on first use.
  const texture_internal::PreparedLevels& Prepared() {
    if (!prepared_) {
      prepared_.emplace();
      prepared_->box = texture_internal::FindRoiBox(levels_);
      if (!prepared_->box.empty()) {
        padded_ = texture_internal::MakePaddedLevels(levels_, prepared_->box, 1);
        prepared_->padded = &*padded_;
      }
    }
    return *prepared_;
  }

  // As RoiLevels, into a buffer without zero fill.
  std::span<const int> RoiLevelList() {
    if (!roi_levels_) {
      const std::vector<int>& all = levels_.levels.data;
      roi_levels_ = std::make_unique_for_overwrite<int[]>(all.size() + 1);
      roi_level_count_ = CompactLevels(all.data(), all.size(), roi_levels_.get());
    }
    return {roi_levels_.get(), roi_level_count_};
  }

  // NGTDM and NGLDM both of distance 1 (the defaults) and both wanted: one
  // pass over the neighbourhoods builds the two (BuildNgtdmAndNgldm8).
  bool FusedNeighbourhoods() const {
    return params_.ngtdm_distance == 1 && params_.ngldm.distance == 1 &&
           params_.families.count("ngtdm") != 0 &&
           (params_.families.count("ngldm") != 0 || params_.families.count("gldm") != 0);
  }

  void BuildFused() {
    ngldm_.emplace();
    ngtdm_.emplace();
    texture_internal::BuildNgtdmAndNgldm8(levels_, params_.ngldm.alpha, *ngtdm_, *ngldm_,
                                          &Prepared());
  }

  const Ngldm& NgldmMatrix() {
    if (!ngldm_) {
      if (FusedNeighbourhoods()) {
        BuildFused();
      } else {
        ngldm_ = BuildNgldm(levels_, params_.ngldm);
      }
    }
    return *ngldm_;
  }

  const Ngtdm& NgtdmMatrix() {
    if (!ngtdm_) BuildFused();
    return *ngtdm_;
  }

  const std::pair<Glszm, Gldzm>& Zones() {
    if (!zones_) {
      zones_.emplace();
      // The region's border distances serve every image type whose ROI is
      // the region's (no pixel dropped by re-segmentation or as not finite).
      const Grid<int>* distance =
          border_distance_ != nullptr && want_gldzm_ && RoiLevelList().size() == border_roi_pixels_
              ? border_distance_
              : nullptr;
      texture_internal::BuildZoneMatricesWithDistance(
          levels_, params_.zone_connectivity, want_glszm_ ? &zones_->first : nullptr,
          want_gldzm_ ? &zones_->second : nullptr, nullptr, distance, &Prepared());
    }
    return *zones_;
  }

  const IntensityRoi& roi_;
  const LevelImage& levels_;
  const Image& original_for_shape_;
  const Mask& region_mask_;
  const ExtractionParams& params_;
  bool want_glszm_;
  bool want_gldzm_;
  const Grid<int>* border_distance_;
  std::size_t border_roi_pixels_;
  std::optional<texture_internal::PreparedLevels> prepared_;
  std::optional<texture_internal::PaddedLevels> padded_;
  std::unique_ptr<int[]> roi_levels_;
  std::size_t roi_level_count_ = 0;
  std::optional<Ngldm> ngldm_;
  std::optional<Ngtdm> ngtdm_;
  std::optional<std::pair<Glszm, Gldzm>> zones_;
};

const std::map<std::string, std::vector<std::string>>& FamilyFeatureNames() {
  static const std::map<std::string, std::vector<std::string>> names = [] {
    std::map<std::string, std::vector<std::string>> out;
    Image image;
    image.pixels = Grid<double>(6, 5);
    Mask mask(6, 5, 1);
    for (int y = 0; y < 5; ++y) {
      for (int x = 0; x < 6; ++x) image.pixels.at(x, y) = (x * 7 + y * 3) % 5 + 1.0;
    }
    ExtractionParams params;
    params.discretisation.bin_width = 1.0;
    const IntensityRoi roi = PrepareIntensityRoi(image, mask, params.discretisation);
    const LevelImage levels = DiscretisePrepared(roi, params.discretisation);
    FamilyComputer computer(roi, levels, image, mask, params, /*want_glszm=*/true,
                            /*want_gldzm=*/true);
    for (const std::string& family : kFeatureFamilies) {
      for (const Feature& f : computer.Compute(family)) out[family].push_back(f.name);
    }
    return out;
  }();
  return names;
}

int FilterMargin(const FilterSpec& spec, const Spacing& spacing) {
  const double min_spacing = std::min(spacing.x_mm, spacing.y_mm);
  return std::visit(
      [&](const auto& p) -> int {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, LogParams>) {
          return LogKernelRadius(p.sigma_mm / min_spacing, p) + 2;
        } else if constexpr (std::is_same_v<T, WaveletParams>) {
          return 16 * p.level;
        } else if constexpr (std::is_same_v<T, MeanParams>) {
          return p.support;
        } else if constexpr (std::is_same_v<T, LbpParams>) {
          return static_cast<int>(std::ceil(p.radius)) + 2;
        } else if constexpr (std::is_same_v<T, GaborParams>) {
          return static_cast<int>(std::ceil(p.truncation_sigmas * p.sigma_mm / min_spacing)) + 2;
        } else if constexpr (std::is_same_v<T, LawsParams>) {
          return 4 + (p.energy_map ? p.energy_distance : 0);
        } else {
          return 2;
        }
      },
      spec);
}

// Two wavelet specs that differ at most in the band.
bool SameDecomposition(const WaveletParams& a, const WaveletParams& b) {
  return a.family == b.family && a.level == b.level && a.convention == b.convention &&
         a.padding == b.padding && a.rotation_invariant == b.rotation_invariant;
}

RegionInfo DescribeRegion(const std::string& name, const Mask& mask) {
  RegionInfo info;
  info.name = name;
  info.min_x = mask.width;
  info.min_y = mask.height;
  // All-zero rows (most of the image) are skipped with a vectorised memcmp.
  const std::vector<std::uint8_t> zeros(static_cast<std::size_t>(std::max(mask.width, 0)), 0);
  for (int y = 0; y < mask.height && !zeros.empty(); ++y) {
    const std::uint8_t* row = &mask.data[zeros.size() * static_cast<std::size_t>(y)];
    if (std::memcmp(row, zeros.data(), zeros.size()) == 0) continue;
    for (int x = 0; x < mask.width; ++x) {
      if (row[x] == 0) continue;
      ++info.pixels;
      info.min_x = std::min(info.min_x, x);
      info.max_x = std::max(info.max_x, x);
    }
    info.min_y = std::min(info.min_y, y);
    info.max_y = y;
  }
  if (info.pixels == 0) info.min_x = info.min_y = 0;
  return info;
}

// Whether every value is finite (no NaN, no infinity); branch-free, so
// vectorised.
bool AllFinite(const std::vector<double>& values) {
  bool finite = true;
  for (double v : values) finite &= std::fabs(v) <= std::numeric_limits<double>::max();
  return finite;
}

// The rectangle [x0, x0 + w) x [y0, y0 + h) of `grid` (inside it), copied
// row by row into storage reserved, not zero-filled, first.
template <typename T>
Grid<T> Crop(const Grid<T>& grid, int x0, int y0, int w, int h) {
  Grid<T> out;
  out.width = w;
  out.height = h;
  out.data.reserve(static_cast<std::size_t>(w) * static_cast<std::size_t>(h));
  for (int y = 0; y < h; ++y) {
    const auto first =
        grid.data.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(grid.width) *
                                                            static_cast<std::size_t>(y0 + y) +
                                                        static_cast<std::size_t>(x0));
    out.data.insert(out.data.end(), first, first + w);
  }
  return out;
}

json SpacingJson(const Spacing& s) { return json::array({s.x_mm, s.y_mm}); }

json FilterJson(const FilterSpec& spec) {
  json j = {{"name", FilterName(spec)}};
  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, LogParams>) {
          j["sigma_mm"] = p.sigma_mm;
          j["convention"] = p.convention == LogConvention::kIbsi ? "ibsi" : "pyradiomics";
          j["truncation_sigmas"] = p.truncation_sigmas;
        } else if constexpr (std::is_same_v<T, WaveletParams>) {
          j["wavelet"] = std::string(WaveletFamilyName(p.family));
          j["band"] = std::string(WaveletBandName(p.band));
          j["level"] = p.level;
          j["convention"] = p.convention == WaveletConvention::kIbsi ? "ibsi" : "pyradiomics";
        } else if constexpr (std::is_same_v<T, LbpParams>) {
          j["radius"] = p.radius;
          j["samples"] = p.samples;
        } else if constexpr (std::is_same_v<T, GradientParams>) {
          j["use_spacing"] = p.use_spacing;
        }
      },
      spec);
  return j;
}

void ParseImageTypes(ObjectReader& root, ExtractionParams* params) {
  const json* raw = root.Raw("imageType");
  if (raw == nullptr) return;  // defaults stay
  params->original = false;
  params->filters.clear();
  ObjectReader types(*raw, common::JsonPointerAppend(root.pointer(), "imageType"), root.errors());
  if (types.Has("Original")) types.Object("Original").Finish();
  params->original = types.Has("Original");
  if (types.Has("LoG")) {
    ObjectReader log = types.Object("LoG");
    const std::vector<double> sigmas = NumberList(log, "sigma", {}, 1e-3, 100.0);
    if (log.Has("sigma") && sigmas.empty()) log.Error("sigma", "expected at least one sigma (mm)");
    if (!log.Has("sigma")) log.Error("sigma", "missing required key");
    const std::string convention = log.Choice("convention", {"ibsi", "pyradiomics"}, "ibsi");
    const double truncation = log.Number("truncation", 0.0, 0.0, 20.0);
    log.Finish();
    for (double sigma : sigmas) {
      LogParams p;
      p.sigma_mm = sigma;
      p.convention = convention == "ibsi" ? LogConvention::kIbsi : LogConvention::kPyRadiomics;
      p.truncation_sigmas = truncation;
      params->filters.emplace_back(p);
    }
  }
  if (types.Has("Wavelet")) {
    ObjectReader wav = types.Object("Wavelet");
    const std::string family = wav.Choice("wavelet", {"haar", "db2", "db3", "coif1"}, "coif1");
    std::vector<std::string> bands = wav.StringList("bands", {"LL", "LH", "HL", "HH"});
    const std::string convention = wav.Choice("convention", {"ibsi", "pyradiomics"}, "ibsi");
    wav.Finish();
    for (std::size_t i = 0; i < bands.size(); ++i) {
      auto band = ParseWaveletBand(bands[i]);
      if (!band) {
        wav.errors()->Add(common::JsonPointerAppend(
                              common::JsonPointerAppend(wav.pointer(), "bands"), std::to_string(i)),
                          "expected one of LL, LH, HL, HH, got \"" + bands[i] + "\"");
        continue;
      }
      WaveletParams p;
      p.family = ParseWaveletFamily(family).value_or(WaveletFamily::kCoif1);
      p.band = *band;
      p.convention =
          convention == "ibsi" ? WaveletConvention::kIbsi : WaveletConvention::kPyRadiomics;
      params->filters.emplace_back(p);
    }
  }
  if (types.Has("Square")) {
    types.Object("Square").Finish();
    params->filters.emplace_back(SquareParams{});
  }
  if (types.Has("SquareRoot")) {
    types.Object("SquareRoot").Finish();
    params->filters.emplace_back(SquareRootParams{});
  }
  if (types.Has("Logarithm")) {
    types.Object("Logarithm").Finish();
    params->filters.emplace_back(LogarithmParams{});
  }
  if (types.Has("Exponential")) {
    types.Object("Exponential").Finish();
    params->filters.emplace_back(ExponentialParams{});
  }
  if (types.Has("Gradient")) {
    ObjectReader g = types.Object("Gradient");
    GradientParams p;
    p.use_spacing = g.Bool("useSpacing", true);
    g.Finish();
    params->filters.emplace_back(p);
  }
  if (types.Has("LBP2D")) {
    ObjectReader l = types.Object("LBP2D");
    LbpParams p;
    p.radius = l.Number("radius", 1.0, 0.5, 10.0);
    p.samples = static_cast<int>(l.Int("samples", 8, 1, 32));
    l.Finish();
    params->filters.emplace_back(p);
  }
  types.Finish();
  if (!params->original && params->filters.empty()) {
    root.Error("imageType", "enables no image type; expected at least \"Original\"");
  }
  for (const FilterSpec& spec : params->filters) {
    const std::string problem = CheckFilterParams(spec);
    if (!problem.empty()) root.Error("imageType", problem);
  }
}

void ParseFeatureClasses(ObjectReader& root, ExtractionParams* params) {
  const json* raw = root.Raw("featureClass");
  if (raw == nullptr) return;
  params->families.clear();
  const std::string pointer = common::JsonPointerAppend(root.pointer(), "featureClass");
  if (!raw->is_object()) {
    root.Error("featureClass", "expected an object mapping family names to feature lists");
    return;
  }
  const auto& known = FamilyFeatureNames();
  for (const auto& [family, value] : raw->items()) {
    const std::string fp = common::JsonPointerAppend(pointer, family);
    auto names = known.find(family);
    if (names == known.end()) {
      std::string allowed;
      for (const auto& f : kFeatureFamilies) allowed += (allowed.empty() ? "" : ", ") + f;
      root.errors()->Add(fp,
                         "unknown feature family \"" + family + "\" (allowed: " + allowed + ")");
      continue;
    }
    std::vector<std::string> selected;
    if (!value.is_null()) {
      if (!value.is_array()) {
        root.errors()->Add(fp, "expected a list of feature names ([] or null = all)");
        continue;
      }
      for (std::size_t i = 0; i < value.size(); ++i) {
        const json& v = value[i];
        if (!v.is_string() || std::find(names->second.begin(), names->second.end(),
                                        v.get<std::string>()) == names->second.end()) {
          std::string allowed;
          for (const auto& n : names->second) allowed += (allowed.empty() ? "" : ", ") + n;
          root.errors()->Add(
              common::JsonPointerAppend(fp, std::to_string(i)),
              "unknown " + family + " feature " + v.dump() + " (allowed: " + allowed + ")");
          continue;
        }
        selected.push_back(v.get<std::string>());
      }
    }
    params->families[family] = selected;
  }
  if (params->families.empty()) root.Error("featureClass", "enables no feature family");
}

void ParseSetting(ObjectReader& root, ExtractionParams* params) {
  ObjectReader s = root.OptionalObject("setting");
  DiscretisationSettings& d = params->discretisation;
  // Ultrasound intensities have no physical unit, so the default is a fixed
  // bin count (IBSI's advice for arbitrary units; it also keeps filtered
  // images, whose values are small, from collapsing into one bin). Giving
  // binWidth selects fixed bin width instead.
  if (s.Has("binWidth") && s.Has("binCount")) {
    s.Error("binCount", "give either binWidth (fixed bin width) or binCount, not both");
  }
  d.bin_width = s.Number("binWidth", 25.0, 1e-9, 1e12);
  const std::string mode = s.Choice("discretisation", {"ibsi", "pyradiomics"}, "ibsi");
  d.bin_count = static_cast<int>(s.Int("binCount", kDefaultBinCount, 1, kMaxTextureLevels));
  if (s.Has("binWidth")) {
    d.mode = mode == "ibsi" ? DiscretisationMode::kFixedBinWidth
                            : DiscretisationMode::kFixedBinWidthPyRadiomics;
  } else {
    d.mode = DiscretisationMode::kFixedBinCount;
    if (mode == "pyradiomics") {
      s.Error("discretisation", "\"pyradiomics\" bin edges apply to binWidth; give binWidth too");
    }
  }
  if (s.Has("resegmentRange")) {
    const std::vector<double> range = NumberList(s, "resegmentRange", {}, -1e300, 1e300);
    if (range.size() != 2 || range[0] > range[1]) {
      s.Error("resegmentRange", "expected [min, max] with min <= max");
    } else {
      d.resegment_min = range[0];
      d.resegment_max = range[1];
    }
  }
  d.normalisation.enabled = s.Bool("normalize", false);
  d.normalisation.scale = s.Number("normalizeScale", 1.0, 1e-9, 1e9);
  if (s.Has("removeOutliers")) {
    d.normalisation.outlier_sigma = s.Number("removeOutliers", 3.0, 1e-9, 1e9);
  }
  params->first_order.voxel_array_shift = s.Number("voxelArrayShift", 0.0, -1e12, 1e12);
  params->first_order.percentile_method =
      s.Choice("percentiles", {"linear", "nearest_rank"}, "linear") == "linear"
          ? PercentileMethod::kLinear
          : PercentileMethod::kNearestRank;
  std::vector<double> distances = NumberList(s, "distances", {1.0}, 1.0, 64.0);
  params->glcm.distances.clear();
  for (double v : distances) {
    if (v != std::floor(v)) s.Error("distances", "expected whole numbers of pixels");
    params->glcm.distances.push_back(static_cast<int>(v));
  }
  if (params->glcm.distances.empty()) s.Error("distances", "expected at least one distance");
  params->aggregation = s.Choice("aggregation", {"2D:avg", "2D:mrg"}, "2D:avg") == "2D:avg"
                            ? DirectionAggregation::kAverage
                            : DirectionAggregation::kMerge;
  params->zone_connectivity =
      s.Int("zoneConnectivity", 8, 4, 8) == 4 ? Connectivity2D::kFour : Connectivity2D::kEight;
  if (s.Has("zoneConnectivity")) {
    const json* z = s.Raw("zoneConnectivity");
    if (z != nullptr && !(z->is_number_integer() && (z->get<int>() == 4 || z->get<int>() == 8))) {
      s.Error("zoneConnectivity", "expected 4 or 8");
    }
  }
  params->ngldm.alpha = static_cast<int>(s.Int("gldm_a", 0, 0, 1000));
  params->ngldm.distance = static_cast<int>(s.Int("ngldmDistance", 1, 1, 16));
  params->ngtdm_distance = static_cast<int>(s.Int("ngtdmDistance", 1, 1, 16));
  auto rule = ParseColorRule(
      s.Choice("colorConversion", {"luminance", "red", "green", "blue"}, "luminance"));
  if (rule.ok()) params->color_rule = *rule;
  params->mask_label = static_cast<int>(s.Int("label", 0, 0, 65535));
  params->minimum_roi_pixels = static_cast<int>(s.Int("minimumROISize", 10, 1, 100000000));
  if (s.Has("pixelSpacing")) {
    const std::vector<double> sp = NumberList(s, "pixelSpacing", {}, 1e-6, 1e3);
    if (sp.size() != 2) {
      s.Error("pixelSpacing", "expected [x_mm, y_mm]");
    } else {
      params->pixel_spacing = Spacing{sp[0], sp[1]};
    }
  }
  s.Finish();
  const std::string problem = CheckDiscretisation(d);
  if (!problem.empty()) root.Error("setting", problem);
}

void ParseRegions(ObjectReader& root, ExtractionParams* params) {
  ObjectReader r = root.OptionalObject("regions");
  ObjectReader lesion = r.OptionalObject("lesion");
  params->lesion_components =
      lesion.Choice("components", {"largest", "all"}, "largest") == "largest"
          ? ComponentRule::kLargest
          : ComponentRule::kAll;
  lesion.Finish();
  params->ring_widths_mm = NumberList(r, "ringWidthsMm", {5.0}, 0.01, 1000.0);
  std::set<std::string> names;
  for (double w : params->ring_widths_mm) {
    if (!names.insert(RingRegionName(w)).second) {
      r.Error("ringWidthsMm", "lists the width " + common::FormatDoubleShort(w) + " mm twice");
    }
  }
  params->parenchyma = r.Bool("parenchyma", true);
  r.Finish();
}

json CanonicalJson(const ExtractionParams& p) {
  json filters = json::array();
  for (const auto& f : p.filters) filters.push_back(FilterJson(f));
  json families = json::object();
  for (const auto& [family, names] : p.families) families[family] = names;
  const DiscretisationSettings& d = p.discretisation;
  json disc = {
      {"mode", DiscretisationModeName(d.mode)},
      {"bin_width", d.bin_width},
      {"bin_count", d.bin_count},
      {"resegment",
       d.resegment_min ? json::array({*d.resegment_min, *d.resegment_max}) : json(nullptr)},
      {"normalize", d.normalisation.enabled},
      {"normalize_scale", d.normalisation.scale},
      {"remove_outliers",
       d.normalisation.outlier_sigma ? json(*d.normalisation.outlier_sigma) : json(nullptr)}};
  return {
      {"fedrad_radiomics_params", 1},
      {"original", p.original},
      {"filters", filters},
      {"families", families},
      {"discretisation", disc},
      {"voxel_array_shift", p.first_order.voxel_array_shift},
      {"percentiles",
       p.first_order.percentile_method == PercentileMethod::kLinear ? "linear" : "nearest_rank"},
      {"glcm_distances", p.glcm.distances},
      {"aggregation", p.aggregation == DirectionAggregation::kAverage ? "2D:avg" : "2D:mrg"},
      {"zone_connectivity", static_cast<int>(p.zone_connectivity)},
      {"gldm_alpha", p.ngldm.alpha},
      {"ngldm_distance", p.ngldm.distance},
      {"ngtdm_distance", p.ngtdm_distance},
      {"color_conversion", ColorRuleName(p.color_rule)},
      {"mask_label", p.mask_label},
      {"minimum_roi_pixels", p.minimum_roi_pixels},
      {"pixel_spacing", p.pixel_spacing ? SpacingJson(*p.pixel_spacing) : json(nullptr)},
      {"lesion_components", p.lesion_components == ComponentRule::kLargest ? "largest" : "all"},
      {"ring_widths_mm", p.ring_widths_mm},
      {"parenchyma", p.parenchyma},
  };
}

void Finalise(ExtractionParams* params) {
  params->canonical = CanonicalJson(*params);
  params->hash = common::Sha256Hex(params->canonical.dump());
}

bool Selected(const ExtractionParams& params, const std::string& family, const std::string& name) {
  auto it = params.families.find(family);
  if (it == params.families.end()) return false;
  return it->second.empty() ||
         std::find(it->second.begin(), it->second.end(), name) != it->second.end();
}

}  // namespace

ExtractionParams DefaultExtractionParams() {
  ExtractionParams params;
  params.discretisation.mode = DiscretisationMode::kFixedBinCount;
  params.discretisation.bin_count = kDefaultBinCount;
  for (double sigma : {1.0, 2.0, 3.0}) {
    LogParams p;
    p.sigma_mm = sigma;
    params.filters.emplace_back(p);
  }
  for (WaveletBand band :
       {WaveletBand::kLL, WaveletBand::kLH, WaveletBand::kHL, WaveletBand::kHH}) {
    WaveletParams p;
    p.band = band;
    p.convention = WaveletConvention::kIbsi;
    params.filters.emplace_back(p);
  }
  for (const std::string& family : kFeatureFamilies) params.families[family] = {};
  Finalise(&params);
  return params;
}

common::Result<ExtractionParams> ParseExtractionParams(const json& document,
                                                       const std::string& source) {
  common::ErrorList errors(source);
  ExtractionParams params = DefaultExtractionParams();
  ObjectReader root(document, "", &errors);
  ParseImageTypes(root, &params);
  ParseFeatureClasses(root, &params);
  ParseSetting(root, &params);
  ParseRegions(root, &params);
  root.Finish();
  FEDRAD_RETURN_IF_ERROR(errors.ToStatus());
  Finalise(&params);
  return params;
}

std::vector<std::string> FeatureColumns(const ExtractionParams& params) {
  std::vector<std::string> regions = {"lesion"};
  for (double w : params.ring_widths_mm) regions.push_back(RingRegionName(w));
  if (params.parenchyma) regions.push_back("parenchyma");
  std::vector<std::pair<std::string, bool>> images;  // name, is original
  if (params.original) images.emplace_back("original", true);
  for (const FilterSpec& spec : params.filters) images.emplace_back(FilterName(spec), false);
  const auto& names = FamilyFeatureNames();
  std::vector<std::string> columns;
  for (const std::string& region : regions) {
    for (const auto& [image, is_original] : images) {
      for (const std::string& family : kFeatureFamilies) {
        if (params.families.count(family) == 0) continue;
        if (family == "shape2D" && !is_original) continue;
        for (const std::string& name : names.at(family)) {
          if (Selected(params, family, name)) {
            columns.push_back(region + "_" + image + "_" + family + "_" + name);
          }
        }
      }
    }
  }
  return columns;
}

common::Result<ExtractionParams> LoadExtractionParams(const std::string& path) {
  FEDRAD_ASSIGN_OR_RETURN(json document, common::ReadJsonFile(path));
  return ParseExtractionParams(document, path);
}

json CaseResult::Provenance() const {
  json regions_json = json::array();
  for (const RegionInfo& r : regions) {
    regions_json.push_back({{"name", r.name},
                            {"pixels", r.pixels},
                            {"bbox_xyxy", json::array({r.min_x, r.min_y, r.max_x, r.max_y})}});
  }
  return {{"case_id", case_id},
          {"image_sha256", image_sha256},
          {"lesion_mask_sha256", lesion_mask_sha256},
          {"parenchyma_mask_sha256",
           parenchyma_mask_sha256.empty() ? json(nullptr) : json(parenchyma_mask_sha256)},
          {"field_of_view_mask_sha256",
           field_of_view_mask_sha256.empty() ? json(nullptr) : json(field_of_view_mask_sha256)},
          {"size", json::array({width, height})},
          {"spacing_mm", SpacingJson(spacing)},
          {"regions", regions_json},
          {"features", features.size()},
          {"warnings", warnings}};
}

common::Result<CaseResult> ExtractFromArrays(const std::string& case_id, const Image& image,
                                             const Mask& lesion_mask, const Mask* parenchyma_mask,
                                             const Mask* field_of_view,
                                             const ExtractionParams& params) {
  const int w = image.pixels.width;
  const int h = image.pixels.height;
  auto same_size = [&](const Mask& m) { return m.width == w && m.height == h; };
  if (!same_size(lesion_mask) || (parenchyma_mask != nullptr && !same_size(*parenchyma_mask)) ||
      (field_of_view != nullptr && !same_size(*field_of_view))) {
    return common::InvalidArgument(case_id + ": masks must have the image's size " +
                                   std::to_string(w) + "x" + std::to_string(h));
  }
  CaseResult result;
  result.case_id = case_id;
  result.spacing = image.spacing;
  result.width = w;
  result.height = h;

  // Regions.
  std::vector<std::pair<std::string, Mask>> regions;
  Mask lesion = LesionRegion(lesion_mask, params.lesion_components);
  const std::size_t lesion_pixels = CountRoi(lesion);
  if (lesion_pixels == 0) {
    return common::InvalidArgument(case_id + ": the lesion mask has no ROI pixels" +
                                   (params.mask_label != 0
                                        ? " with label " + std::to_string(params.mask_label)
                                        : std::string(" (all pixels are 0)")));
  }
  if (lesion_pixels < static_cast<std::size_t>(params.minimum_roi_pixels)) {
    return common::InvalidArgument(case_id + ": the lesion has " + std::to_string(lesion_pixels) +
                                   " pixels, fewer than minimumROISize " +
                                   std::to_string(params.minimum_roi_pixels));
  }
  if (params.lesion_components == ComponentRule::kLargest) {
    const std::size_t mask_pixels = CountRoi(lesion_mask);
    if (lesion_pixels < mask_pixels) {
      result.warnings.push_back("lesion mask has several components; the largest (" +
                                std::to_string(lesion_pixels) + " of " +
                                std::to_string(mask_pixels) + " pixels) was kept");
    }
  }
  regions.emplace_back("lesion", lesion);
  for (double width : params.ring_widths_mm) {
    Mask ring = RingRegion(lesion, width, image.spacing, field_of_view);
    const std::size_t n = CountRoi(ring);
    const std::string name = RingRegionName(width);
    if (n < static_cast<std::size_t>(params.minimum_roi_pixels)) {
      result.warnings.push_back(name + " has " + std::to_string(n) +
                                " pixels inside the image/field of view (minimumROISize " +
                                std::to_string(params.minimum_roi_pixels) +
                                "): its features are absent");
      continue;
    }
    regions.emplace_back(name, std::move(ring));
  }
  if (params.parenchyma && parenchyma_mask != nullptr) {
    Mask parenchyma(w, h, 0);
    for (std::size_t i = 0; i < parenchyma.data.size(); ++i) {
      parenchyma.data[i] = parenchyma_mask->data[i] != 0 ? 1 : 0;
    }
    const std::size_t n = CountRoi(parenchyma);
    if (n < static_cast<std::size_t>(params.minimum_roi_pixels)) {
      return common::InvalidArgument(case_id + ": the parenchyma mask has " + std::to_string(n) +
                                     " ROI pixels, fewer than minimumROISize " +
                                     std::to_string(params.minimum_roi_pixels));
    }
    regions.emplace_back("parenchyma", std::move(parenchyma));
  }

  // Normalisation applies to the whole original image, before any filter.
  DiscretisationSettings roi_settings = params.discretisation;
  // (A reference to the input when there is no normalisation: no per-image
  // copy of the whole image.)
  std::optional<Image> normalised;
  if (roi_settings.normalisation.enabled) {
    normalised = NormaliseImage(image, roi_settings.normalisation);
  }
  const Image& source = normalised ? *normalised : image;
  roi_settings.normalisation.enabled = false;

  int margin = 2;
  for (const FilterSpec& spec : params.filters) {
    margin = std::max(margin, FilterMargin(spec, image.spacing));
  }
  margin = std::min(margin, kMaxFilterMargin);

  bool uses_periodic_padding = false;
  for (const FilterSpec& spec : params.filters) {
    const auto* wavelet = std::get_if<WaveletParams>(&spec);
    if (wavelet != nullptr && (wavelet->convention == WaveletConvention::kPyRadiomics ||
                               wavelet->padding == Padding::kPeriodic)) {
      uses_periodic_padding = true;
    }
  }
  // Square, square root, logarithm and exponential scale by the largest |x|
  // of the whole image: computed once on the whole image, then cropped.
  std::vector<std::optional<Image>> whole_image_filtered(params.filters.size());
  for (std::size_t i = 0; i < params.filters.size(); ++i) {
    const FilterSpec& spec = params.filters[i];
    if (std::holds_alternative<SquareParams>(spec) ||
        std::holds_alternative<SquareRootParams>(spec) ||
        std::holds_alternative<LogarithmParams>(spec) ||
        std::holds_alternative<ExponentialParams>(spec)) {
      whole_image_filtered[i] = ApplyFilter(source, spec);
    }
  }

  // Each region's bounding box, computed once.
  std::vector<RegionInfo> infos;
  infos.reserve(regions.size());
  for (const auto& [region_name, region_mask] : regions) {
    infos.push_back(DescribeRegion(region_name, region_mask));
  }

  // LoG responses shared between regions. With non-periodic padding and a
  // kernel reach within the margin, the response at a pixel of a region's
  // box equals the whole-image response (the crop's padding is never
  // reached, or is the image's own), so it does not depend on which crop it
  // came from: the first region computes the whole-image response on the
  // bounding box of its own box and of every later box that contains it
  // (the rings' boxes contain the lesion's), and later regions whose box
  // lies inside cut their window out of it, bit for bit.
  struct SharedWindow {
    int x0 = 0;
    int y0 = 0;
    Image image;
  };
  std::vector<std::optional<SharedWindow>> shared_log(params.filters.size());
  auto log_shareable = [&](const FilterSpec& spec) {
    const auto* p = std::get_if<LogParams>(&spec);
    if (p == nullptr) return false;
    const Padding padding = p->padding.value_or(
        p->convention == LogConvention::kPyRadiomics ? Padding::kNearest : Padding::kMirror);
    return padding != Padding::kPeriodic &&
           LogKernelRadius(p->sigma_mm / image.spacing.x_mm, *p) <= margin &&
           LogKernelRadius(p->sigma_mm / image.spacing.y_mm, *p) <= margin;
  };
  // Whether the box [x0, x1] x [y0, y1] contains the region's box.
  auto contains = [](int x0, int y0, int x1, int y1, const RegionInfo& inner) {
    return x0 <= inner.min_x && y0 <= inner.min_y && x1 >= inner.max_x && y1 >= inner.max_y;
  };

  const bool want_glszm = params.families.count("glszm") != 0;
  const bool want_gldzm = params.families.count("gldzm") != 0;
  for (std::size_t region_index = 0; region_index < regions.size(); ++region_index) {
    const std::string& region_name = regions[region_index].first;
    const Mask& region_mask = regions[region_index].second;
    const RegionInfo& info = infos[region_index];
    result.regions.push_back(info);
    // Filters run on the region's bounding box plus the widest filter
    // support, so filtered values inside the region equal whole-image
    // filtering; they are computed on the bounding box only (the window),
    // and the features only look at the window: every family depends on the
    // ROI pixels alone (in raster order), never on where the ROI sits.
    int x0 = std::max(0, info.min_x - margin);
    int y0 = std::max(0, info.min_y - margin);
    int x1 = std::min(w - 1, info.max_x + margin);
    int y1 = std::min(h - 1, info.max_y + margin);
    // Periodic padding wraps around the image: a crop that touches a border
    // must then span the whole axis, or it would wrap onto its own far edge.
    if (uses_periodic_padding) {
      if (x0 == 0 || x1 == w - 1) x0 = 0, x1 = w - 1;
      if (y0 == 0 || y1 == h - 1) y0 = 0, y1 = h - 1;
    }
    Image crop;
    crop.spacing = source.spacing;
    crop.pixels = Crop(source.pixels, x0, y0, x1 - x0 + 1, y1 - y0 + 1);
    const filter_detail::Window window{info.min_x - x0, info.min_y - y0,
                                       info.max_x - info.min_x + 1, info.max_y - info.min_y + 1};
    const Mask window_mask = Crop(region_mask, info.min_x, info.min_y, window.width, window.height);

    // Re-segmentation (a range in the original image's units) is decided on
    // the original image, and that intensity mask is used for every image
    // type, as PyRadiomics does.
    Image original{Crop(crop.pixels, window.x0, window.y0, window.width, window.height),
                   crop.spacing};
    // (PrepareIntensityRoi's mask: normalisation is off here.)
    const Mask intensity_mask = ResegmentMask(original, window_mask, roi_settings);
    DiscretisationSettings filtered_settings = roi_settings;
    filtered_settings.resegment_min.reset();
    filtered_settings.resegment_max.reset();

    // GLDZM border distances of the region's ROI, shared by its image types
    // (the zone labelling checks that an image type's ROI is this one).
    std::optional<Grid<int>> border_distance;
    const std::size_t intensity_pixels = CountRoi(intensity_mask);
    if (want_gldzm) border_distance = BorderDistanceMap(intensity_mask);

    std::string level_error;
    // Takes the image: it becomes the IntensityRoi's image without a copy
    // (what PrepareIntensityRoi does, as normalisation is off at this point).
    auto run_image = [&](const std::string& image_name, Image img, bool with_shape) {
      const bool is_original = with_shape;
      const DiscretisationSettings& settings = is_original ? roi_settings : filtered_settings;
      IntensityRoi roi;
      roi.image = std::move(img);
      // The original's re-segmented mask is intensity_mask itself; so is a
      // filtered image's when every value is finite (its settings have no
      // range: ResegmentMask would only drop non-finite values).
      const bool keep_mask = is_original || (!settings.resegment_min && !settings.resegment_max &&
                                             AllFinite(roi.image.pixels.data));
      roi.mask = keep_mask ? intensity_mask : ResegmentMask(roi.image, intensity_mask, settings);
      if ((keep_mask ? intensity_pixels : CountRoi(roi.mask)) == 0) {
        result.warnings.push_back(region_name + "/" + image_name +
                                  ": no pixel left after re-segmentation; features absent");
        return;
      }
      const LevelImage levels = DiscretisePrepared(roi, settings);
      if (levels.num_levels > kMaxTextureLevels) {
        level_error = region_name + "/" + image_name + ": discretisation gives " +
                      std::to_string(levels.num_levels) + " grey levels, more than the " +
                      std::to_string(kMaxTextureLevels) +
                      " texture matrices allow; increase setting.binWidth or set binCount";
        return;
      }
      FamilyComputer computer(roi, levels, roi.image, window_mask, params, want_glszm, want_gldzm,
                              border_distance ? &*border_distance : nullptr, intensity_pixels);
      for (const std::string& family : kFeatureFamilies) {
        if (params.families.count(family) == 0) continue;
        if (family == "shape2D" && !with_shape) continue;
        for (const Feature& f : computer.Compute(family)) {
          if (!Selected(params, family, f.name)) continue;
          double value = f.value;
          if (!std::isfinite(value)) {
            result.warnings.push_back(region_name + "_" + image_name + "_" + family + "_" + f.name +
                                      " is not finite; written as missing");
            value = std::nan("");
          }
          result.features.emplace_back(region_name + "_" + image_name + "_" + family + "_" + f.name,
                                       value);
        }
      }
    };
    if (params.original) run_image("original", std::move(original), true);
    // Wavelet bands that differ only in the band come from one decomposition:
    // the first of them computes all and parks the others here.
    std::vector<std::optional<Image>> pending(params.filters.size());
    for (std::size_t i = 0; i < params.filters.size(); ++i) {
      if (!level_error.empty()) break;
      const FilterSpec& spec = params.filters[i];
      Image filtered;
      if (pending[i]) {
        filtered = std::move(*pending[i]);
        pending[i].reset();
      } else if (whole_image_filtered[i]) {
        filtered.spacing = whole_image_filtered[i]->spacing;
        filtered.pixels = Crop(whole_image_filtered[i]->pixels, info.min_x, info.min_y,
                               window.width, window.height);
      } else if (info.pixels > 0 && log_shareable(spec)) {
        std::optional<SharedWindow>& shared = shared_log[i];
        if (!shared ||
            !contains(shared->x0, shared->y0, shared->x0 + shared->image.pixels.width - 1,
                      shared->y0 + shared->image.pixels.height - 1, info)) {
          RegionInfo box = info;
          for (std::size_t later = region_index + 1; later < infos.size(); ++later) {
            const RegionInfo& other = infos[later];
            if (other.pixels == 0 ||
                !contains(other.min_x, other.min_y, other.max_x, other.max_y, info)) {
              continue;
            }
            box.min_x = std::min(box.min_x, infos[later].min_x);
            box.min_y = std::min(box.min_y, infos[later].min_y);
            box.max_x = std::max(box.max_x, infos[later].max_x);
            box.max_y = std::max(box.max_y, infos[later].max_y);
          }
          shared.emplace();
          shared->x0 = box.min_x;
          shared->y0 = box.min_y;
          shared->image = filter_detail::LaplacianOfGaussianWindow(
              source, std::get<LogParams>(spec),
              filter_detail::Window{box.min_x, box.min_y, box.max_x - box.min_x + 1,
                                    box.max_y - box.min_y + 1});
        }
        filtered.spacing = shared->image.spacing;
        // The last region inside the shared window takes it without a copy
        // when its window is the whole of it (the ring after the lesion).
        bool later_user = false;
        for (std::size_t later = region_index + 1; later < infos.size(); ++later) {
          later_user =
              later_user ||
              (infos[later].pixels > 0 &&
               contains(shared->x0, shared->y0, shared->x0 + shared->image.pixels.width - 1,
                        shared->y0 + shared->image.pixels.height - 1, infos[later]));
        }
        if (!later_user && info.min_x == shared->x0 && info.min_y == shared->y0 &&
            window.width == shared->image.pixels.width &&
            window.height == shared->image.pixels.height) {
          filtered.pixels = std::move(shared->image.pixels);
          shared.reset();
        } else {
          filtered.pixels = Crop(shared->image.pixels, info.min_x - shared->x0,
                                 info.min_y - shared->y0, window.width, window.height);
        }
      } else if (const auto* wavelet = std::get_if<WaveletParams>(&spec)) {
        std::vector<WaveletBand> bands;
        std::vector<std::size_t> users;
        for (std::size_t j = i; j < params.filters.size(); ++j) {
          const auto* other = std::get_if<WaveletParams>(&params.filters[j]);
          if (other == nullptr || !SameDecomposition(*wavelet, *other)) continue;
          if (std::find(bands.begin(), bands.end(), other->band) == bands.end()) {
            bands.push_back(other->band);
          }
          users.push_back(j);
        }
        std::array<Image, 4> all = filter_detail::WaveletBandsWindow(crop, *wavelet, bands, window);
        // Each band is moved to its last user and copied for the others
        // (filter i, the first user, keeps its band until the end).
        std::array<int, 4> uses{};
        for (std::size_t j : users) {
          ++uses[static_cast<std::size_t>(std::get<WaveletParams>(params.filters[j]).band)];
        }
        for (std::size_t j : users) {
          if (j == i) continue;
          const auto band =
              static_cast<std::size_t>(std::get<WaveletParams>(params.filters[j]).band);
          if (--uses[band] == 0) {
            pending[j] = std::move(all[band]);
          } else {
            pending[j] = all[band];
          }
        }
        filtered = std::move(all[static_cast<int>(wavelet->band)]);
      } else {
        filtered = filter_detail::ApplyFilterWindow(crop, spec, window);
      }
      run_image(FilterName(spec), std::move(filtered), false);
    }
    if (!level_error.empty()) return common::InvalidArgument(case_id + ": " + level_error);
  }
  return result;
}

bool TuneAllocatorForExtraction() {
#if defined(__GLIBC__)
  return mallopt(M_MMAP_THRESHOLD, 64 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 128 << 20) == 1;
#else
  return false;
#endif
}

common::Result<CaseResult> ExtractCase(const CaseInput& input, const ExtractionParams& params) {
  const std::optional<Spacing> spacing = input.spacing ? input.spacing : params.pixel_spacing;
  if (!spacing) {
    return common::InvalidArgument(
        input.case_id +
        ": pixel spacing is missing: give it in the manifest (spacing_x_mm, "
        "spacing_y_mm) or as setting.pixelSpacing in the params (ring widths and "
        "filter sigmas are in mm)");
  }
  FEDRAD_ASSIGN_OR_RETURN(LoadedImage loaded,
                          LoadImage(input.image_path, params.color_rule, *spacing));
  const int w = loaded.image.pixels.width;
  const int h = loaded.image.pixels.height;
  FEDRAD_ASSIGN_OR_RETURN(Mask lesion, LoadMask(input.lesion_mask_path, params.mask_label, w, h));
  std::optional<Mask> parenchyma;
  if (!input.parenchyma_mask_path.empty() && params.parenchyma) {
    FEDRAD_ASSIGN_OR_RETURN(Mask m, LoadMask(input.parenchyma_mask_path, 0, w, h));
    parenchyma = std::move(m);
  }
  std::optional<Mask> fov;
  if (!input.field_of_view_mask_path.empty()) {
    FEDRAD_ASSIGN_OR_RETURN(Mask m, LoadMask(input.field_of_view_mask_path, 0, w, h));
    fov = std::move(m);
  }
  auto extracted =
      ExtractFromArrays(input.case_id, loaded.image, lesion, parenchyma ? &*parenchyma : nullptr,
                        fov ? &*fov : nullptr, params);
  if (!extracted.ok()) {
    std::string files = "image " + input.image_path + ", lesion mask " + input.lesion_mask_path;
    if (!input.parenchyma_mask_path.empty()) {
      files += ", parenchyma mask " + input.parenchyma_mask_path;
    }
    return extracted.status().Wrap("case " + input.case_id + " (" + files + ")");
  }
  CaseResult result = std::move(extracted).value();
  for (auto& warning : loaded.warnings) result.warnings.insert(result.warnings.begin(), warning);
  FEDRAD_ASSIGN_OR_RETURN(result.image_sha256, common::Sha256File(input.image_path));
  FEDRAD_ASSIGN_OR_RETURN(result.lesion_mask_sha256, common::Sha256File(input.lesion_mask_path));
  if (fov) {
    FEDRAD_ASSIGN_OR_RETURN(result.field_of_view_mask_sha256,
                            common::Sha256File(input.field_of_view_mask_path));
  }
  if (parenchyma) {
    FEDRAD_ASSIGN_OR_RETURN(result.parenchyma_mask_sha256,
                            common::Sha256File(input.parenchyma_mask_path));
  }
  return result;
}

}  // namespace fedrad::site_agent::radiomics

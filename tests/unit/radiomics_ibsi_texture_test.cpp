// IBSI-1 digital phantom, 2D texture aggregations: every row of
// tests/data/ibsi/ibsi1_digital_phantom_reference_values_2D.csv (GLCM and
// GLRLM 2D:avg + 2D:mrg, GLSZM/GLDZM/NGTDM/NGLDM 2D) against the texture
// kernels, with the IBSI pass rule (tests/data/ibsi/README.md).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "fedrad/site_agent/radiomics/texture.hpp"

namespace fedrad::site_agent::radiomics {
namespace {

const std::string kIbsiDir = std::string(FEDRAD_TEST_DATA_DIR) + "/ibsi/";

struct Phantom {
  std::vector<LevelImage> slices;  // one per z, levels = intensities inside the mask
};

// Grid file: "nx ny nz", spacing, nz*ny rows of intensities, then the mask.
Phantom LoadPhantom() {
  std::ifstream in(kIbsiDir + "ibsi1_digital_phantom_grid.txt");
  Phantom phantom;
  int nx = 0;
  int ny = 0;
  int nz = 0;
  double sx = 0.0;
  double sy = 0.0;
  double sz = 0.0;
  if (!(in >> nx >> ny >> nz >> sx >> sy >> sz)) return phantom;
  const auto plane = static_cast<std::size_t>(nx) * static_cast<std::size_t>(ny);
  std::vector<int> intensity(plane * static_cast<std::size_t>(nz));
  std::vector<int> mask(intensity.size());
  for (int& v : intensity) in >> v;
  for (int& v : mask) in >> v;
  if (!in) return phantom;
  for (int z = 0; z < nz; ++z) {
    LevelImage slice;
    slice.levels = Grid<int>(nx, ny, 0);
    slice.num_levels = 6;  // IBSI: Ng = 6 (levels 1..6, 2 and 5 absent)
    for (int y = 0; y < ny; ++y) {
      for (int x = 0; x < nx; ++x) {
        const std::size_t k = static_cast<std::size_t>(z) * plane +
                              static_cast<std::size_t>(y) * static_cast<std::size_t>(nx) +
                              static_cast<std::size_t>(x);
        if (mask[k] != 0) slice.levels.at(x, y) = intensity[k];
      }
    }
    phantom.slices.push_back(std::move(slice));
  }
  return phantom;
}

// Splits one CSV line; fields may be double-quoted (with "" escapes).
std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t k = 0; k < line.size(); ++k) {
    const char c = line[k];
    if (quoted) {
      if (c == '"' && k + 1 < line.size() && line[k + 1] == '"') {
        fields.back() += '"';
        ++k;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  return fields;
}

struct ReferenceRow {
  std::string key;
  std::string family;       // family_abbrev: cm, rlm, szm, dzm, ngt, ngl
  std::string code;         // IBSI feature code
  std::string aggregation;  // 2D:avg, 2D:mrg, 2D
  double value = 0.0;
  double tolerance = 0.0;
};

std::vector<ReferenceRow> LoadReference() {
  std::ifstream in(kIbsiDir + "ibsi1_digital_phantom_reference_values_2D.csv");
  std::vector<ReferenceRow> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const std::vector<std::string> f = SplitCsv(line);
    if (f.size() < 12) continue;
    rows.push_back(ReferenceRow{f[0], f[3], f[6], f[8], std::stod(f[10]), std::stod(f[11])});
  }
  return rows;
}

// IBSI pass rule: |c - v| <= tolerance when tolerance > 0, otherwise c
// rounded to 3 significant digits equals v.
bool PassesIbsi(double computed, double reference, double tolerance) {
  if (!std::isfinite(computed)) return false;
  if (tolerance > 0.0) return std::abs(computed - reference) <= tolerance * (1.0 + 1e-12);
  if (reference == 0.0) return std::abs(computed) <= 1e-9;
  const double half_unit = 0.5 * std::pow(10.0, std::floor(std::log10(std::abs(reference))) - 2.0);
  return std::abs(computed - reference) <= half_unit * (1.0 + 1e-9);
}

const Phantom& GetPhantom() {
  static const Phantom phantom = LoadPhantom();
  return phantom;
}

const std::vector<ReferenceRow>& GetReference() {
  static const std::vector<ReferenceRow> rows = LoadReference();
  return rows;
}

FeatureList ComputeFamily(const std::string& family, const std::string& aggregation) {
  const std::vector<LevelImage>& slices = GetPhantom().slices;
  const DirectionAggregation direction_aggregation =
      aggregation == "2D:mrg" ? DirectionAggregation::kMerge : DirectionAggregation::kAverage;
  if (family == "cm") return GlcmFeaturesPerSlice(slices, direction_aggregation);
  if (family == "rlm") return GlrlmFeaturesPerSlice(slices, direction_aggregation);
  if (family == "szm") return GlszmFeaturesPerSlice(slices, Connectivity2D::kEight);
  if (family == "dzm") return GldzmFeaturesPerSlice(slices, Connectivity2D::kEight);
  if (family == "ngt") return NgtdmFeaturesPerSlice(slices, 1);
  if (family == "ngl") return NgldmFeaturesPerSlice(slices, NgldmOptions{1, 0});
  return {};
}

// Checks every reference row of `family`; reports each failure and a summary.
void CheckFamily(const std::string& family, const std::string& label, int expected_rows) {
  const Phantom& phantom = GetPhantom();
  ASSERT_EQ(phantom.slices.size(), 4u) << "could not read the phantom grid";
  int total = 0;
  int passed = 0;
  std::ostringstream failures;
  for (const ReferenceRow& row : GetReference()) {
    if (row.family != family) continue;
    ++total;
    const FeatureList features = ComputeFamily(family, row.aggregation);
    const Feature* match = nullptr;
    for (const Feature& feature : features) {
      if (feature.ibsi_code == row.code) match = &feature;
    }
    if (match == nullptr) {
      failures << "  " << row.key << ": no feature with IBSI code " << row.code << "\n";
      continue;
    }
    if (PassesIbsi(match->value, row.value, row.tolerance)) {
      ++passed;
    } else {
      failures.precision(6);
      failures << "  " << row.key << " (" << match->name << ", " << row.aggregation
               << "): computed " << match->value << ", reference " << row.value << "\n";
    }
  }
  std::cout << "IBSI 2D " << label << ": passed " << passed << "/" << total << "\n";
  EXPECT_EQ(total, expected_rows) << "unexpected number of reference rows for " << label;
  EXPECT_EQ(passed, total) << "failing rows:\n" << failures.str();
}

TEST(RadiomicsIbsiTexture, PhantomSlicesMatchTheManualOrientationCheck) {
  const Phantom& phantom = GetPhantom();
  ASSERT_EQ(phantom.slices.size(), 4u);
  // README: z = 0, direction (0,1): (1,1)=10, (1,4)=(4,1)=4, (4,4)=6,
  // (4,6)=(6,4)=1, (6,6)=4.
  const Glcm glcm = BuildGlcm(phantom.slices[0], Offset2D{0, 1});
  EXPECT_EQ(glcm.at(1, 1), 10.0);
  EXPECT_EQ(glcm.at(1, 4), 4.0);
  EXPECT_EQ(glcm.at(4, 1), 4.0);
  EXPECT_EQ(glcm.at(4, 4), 6.0);
  EXPECT_EQ(glcm.at(4, 6), 1.0);
  EXPECT_EQ(glcm.at(6, 4), 1.0);
  EXPECT_EQ(glcm.at(6, 6), 4.0);
  EXPECT_EQ(glcm.Total(), 30.0);
  int roi_pixels = 0;
  for (const LevelImage& slice : phantom.slices) {
    for (int level : slice.levels.data) roi_pixels += level > 0 ? 1 : 0;
  }
  EXPECT_EQ(roi_pixels, 74);
}

TEST(RadiomicsIbsiTexture, PassRule) {
  EXPECT_TRUE(PassesIbsi(0.5194, 0.519, 0.0));
  EXPECT_FALSE(PassesIbsi(0.5196, 0.519, 0.0));
  EXPECT_TRUE(PassesIbsi(-0.01214, -0.0121, 0.0));
  EXPECT_TRUE(PassesIbsi(113.4, 113.0, 0.0));
  EXPECT_FALSE(PassesIbsi(113.6, 113.0, 0.0));
  EXPECT_TRUE(PassesIbsi(1.0, 1.05, 0.1));
  EXPECT_FALSE(PassesIbsi(std::nan(""), 1.0, 0.0));
}

TEST(RadiomicsIbsiTexture, Glcm) { CheckFamily("cm", "GLCM", 50); }
TEST(RadiomicsIbsiTexture, Glrlm) { CheckFamily("rlm", "GLRLM", 32); }
TEST(RadiomicsIbsiTexture, Glszm) { CheckFamily("szm", "GLSZM", 16); }
TEST(RadiomicsIbsiTexture, Gldzm) { CheckFamily("dzm", "GLDZM", 16); }
TEST(RadiomicsIbsiTexture, Ngtdm) { CheckFamily("ngt", "NGTDM", 5); }
TEST(RadiomicsIbsiTexture, Ngldm) { CheckFamily("ngl", "NGLDM", 17); }

}  // namespace
}  // namespace fedrad::site_agent::radiomics

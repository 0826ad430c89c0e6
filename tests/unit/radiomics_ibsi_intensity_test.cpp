// IBSI-1 digital phantom: the 18 "Intensity-based statistical features" and
// the 23 "Intensity histogram features" against the reference values, with
// the IBSI pass rule. These families do not depend on geometry, so the 74 ROI
// voxels of the 4 slices are pooled into one sample (README of tests/data/ibsi).
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "fedrad/site_agent/radiomics/discretise.hpp"
#include "fedrad/site_agent/radiomics/intensity.hpp"

namespace fedrad::site_agent::radiomics {
namespace {

const std::string kIbsiDir = std::string(FEDRAD_TEST_DATA_DIR) + "/ibsi/";

struct Phantom {
  std::vector<double> roi_values;  // pooled over slices, z-major then y then x
  Spacing spacing;
};

// ibsi1_digital_phantom_grid.txt: "nx ny nz", spacing, nz*ny rows of nx
// intensities, then the mask in the same order.
Phantom LoadPhantom() {
  std::ifstream in(kIbsiDir + "ibsi1_digital_phantom_grid.txt");
  Phantom phantom;
  int nx = 0, ny = 0, nz = 0;
  double sx = 0, sy = 0, sz = 0;
  in >> nx >> ny >> nz >> sx >> sy >> sz;
  const std::size_t n =
      static_cast<std::size_t>(nx) * static_cast<std::size_t>(ny) * static_cast<std::size_t>(nz);
  std::vector<double> intensities(n);
  std::vector<int> mask(n);
  for (double& v : intensities) in >> v;
  for (int& m : mask) in >> m;
  if (!in) return phantom;
  for (std::size_t i = 0; i < n; ++i) {
    if (mask[i] != 0) phantom.roi_values.push_back(intensities[i]);
  }
  phantom.spacing = Spacing{sx, sy};
  return phantom;
}

// Splits one CSV line (RFC 4180 quoting, no embedded newlines).
std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        fields.back() += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      fields.emplace_back();
    } else if (ch != '\r') {
      fields.back() += ch;
    }
  }
  return fields;
}

struct ReferenceRow {
  std::string key;
  std::string feature;
  std::string code;
  double value = 0.0;
  double tolerance = 0.0;
};

std::vector<ReferenceRow> LoadReference(const std::string& family) {
  std::ifstream in(kIbsiDir + "ibsi1_digital_phantom_reference_values.csv");
  std::vector<ReferenceRow> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    const std::vector<std::string> f = SplitCsv(line);
    if (f.size() < 12 || f[1] != family) continue;
    rows.push_back({f[0], f[4], f[6], std::stod(f[10]), std::stod(f[11])});
  }
  return rows;
}

// IBSI pass rule: |c - v| <= tolerance when a tolerance is given, otherwise
// c rounded to 3 significant digits equals v.
bool Passes(double computed, double reference, double tolerance) {
  if (!std::isfinite(computed)) return false;
  if (tolerance > 0.0) return std::fabs(computed - reference) <= tolerance;
  if (reference == 0.0) return std::fabs(computed) < 1e-12;
  const double half_unit = 0.5 * std::pow(10.0, std::floor(std::log10(std::fabs(reference))) - 2);
  return std::fabs(computed - reference) <= half_unit * (1.0 + 1e-9);
}

std::map<std::string, double> ByIbsiCode(const FeatureList& features) {
  std::map<std::string, double> by_code;
  for (const Feature& f : features) {
    if (!f.ibsi_code.empty()) by_code[f.ibsi_code] = f.value;
  }
  return by_code;
}

// Compares every reference row of `family`; returns the number passed.
int CompareFamily(const std::string& family, const FeatureList& features, std::size_t* total) {
  const std::vector<ReferenceRow> rows = LoadReference(family);
  const std::map<std::string, double> computed = ByIbsiCode(features);
  *total = rows.size();
  int passed = 0;
  for (const ReferenceRow& row : rows) {
    const auto it = computed.find(row.code);
    if (it == computed.end()) {
      ADD_FAILURE() << row.key << " (" << row.code << "): no feature with this IBSI code";
      continue;
    }
    if (Passes(it->second, row.value, row.tolerance)) {
      ++passed;
    } else {
      ADD_FAILURE() << row.key << " (" << row.code << ", " << row.feature << "): computed "
                    << it->second << ", reference " << row.value;
    }
  }
  return passed;
}

class RadiomicsIbsiIntensityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    phantom_ = LoadPhantom();
    ASSERT_EQ(phantom_.roi_values.size(), 74u) << "could not read the IBSI phantom grid";
    DiscretisationSettings none;
    none.mode = DiscretisationMode::kNone;
    ASSERT_EQ(CheckDiscretisation(none), "");
    discretised_ = DiscretiseValues(phantom_.roi_values, none);
  }

  Phantom phantom_;
  DiscretisedValues discretised_;
};

TEST_F(RadiomicsIbsiIntensityTest, PhantomHasSixLevels) {
  EXPECT_EQ(discretised_.num_levels, 6);
  std::vector<int> counts(7, 0);
  for (int level : discretised_.levels) ++counts[static_cast<std::size_t>(level)];
  EXPECT_EQ(counts, (std::vector<int>{0, 50, 0, 1, 16, 0, 7}));
}

TEST_F(RadiomicsIbsiIntensityTest, FixedBinWidthOneAndBinCountSixEqualNoDiscretisation) {
  DiscretisationSettings fbw;
  fbw.mode = DiscretisationMode::kFixedBinWidth;
  fbw.bin_width = 1.0;
  DiscretisationSettings fbn;
  fbn.mode = DiscretisationMode::kFixedBinCount;
  fbn.bin_count = 6;
  EXPECT_EQ(DiscretiseValues(phantom_.roi_values, fbw).levels, discretised_.levels);
  EXPECT_EQ(DiscretiseValues(phantom_.roi_values, fbn).levels, discretised_.levels);
}

TEST_F(RadiomicsIbsiIntensityTest, IntensityBasedStatistics) {
  const FeatureList features =
      FirstOrderFeatures(phantom_.roi_values, discretised_.levels, phantom_.spacing);
  std::size_t total = 0;
  const int passed = CompareFamily("Intensity-based statistical features", features, &total);
  std::cout << "IBSI statistics: passed " << passed << "/" << total << std::endl;
  EXPECT_EQ(total, 18u);
  EXPECT_EQ(static_cast<std::size_t>(passed), total);

  // Self-check values quoted in the README, and the PyRadiomics kurtosis.
  const std::map<std::string, double> by_code = ByIbsiCode(features);
  EXPECT_NEAR(by_code.at("Q4LE"), 2.149, 1e-3);
  EXPECT_NEAR(by_code.at("ECT3"), 3.045, 1e-3);
  double kurtosis = 0.0, excess = 0.0;
  for (const Feature& f : features) {
    if (f.name == "Kurtosis") kurtosis = f.value;
    if (f.name == "ExcessKurtosis") excess = f.value;
  }
  EXPECT_NEAR(kurtosis, excess + 3.0, 1e-12);
  EXPECT_NEAR(excess, -0.355, 5e-4);
}

TEST_F(RadiomicsIbsiIntensityTest, IntensityHistogram) {
  const FeatureList features =
      IntensityHistogramFeatures(discretised_.levels, discretised_.num_levels);
  EXPECT_EQ(features.size(), 23u);
  std::size_t total = 0;
  const int passed = CompareFamily("Intensity histogram features", features, &total);
  std::cout << "IBSI histogram: passed " << passed << "/" << total << std::endl;
  EXPECT_EQ(total, 23u);
  EXPECT_EQ(static_cast<std::size_t>(passed), total);
}

TEST_F(RadiomicsIbsiIntensityTest, NearestRankPercentilesAlsoPass) {
  FirstOrderOptions options;
  options.percentile_method = PercentileMethod::kNearestRank;
  const FeatureList stats =
      FirstOrderFeatures(phantom_.roi_values, discretised_.levels, phantom_.spacing, options);
  const FeatureList histogram = IntensityHistogramFeatures(
      discretised_.levels, discretised_.num_levels, PercentileMethod::kNearestRank);
  std::size_t total = 0;
  EXPECT_EQ(CompareFamily("Intensity-based statistical features", stats, &total), 18);
  EXPECT_EQ(CompareFamily("Intensity histogram features", histogram, &total), 23);
}

}  // namespace
}  // namespace fedrad::site_agent::radiomics

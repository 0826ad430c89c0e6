#include "support/study_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "support/consortium.hpp"

namespace fedrad::integration {

using nlohmann::json;

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string FeatureName(int j) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "f%02d", j + 1);
  return buf;
}

json ReadJson(const std::string& path) {
  return json::parse(ReadTextFile(path), nullptr, /*allow_exceptions=*/false);
}

void PatchJson(const std::string& path, const std::function<void(json&)>& edit) {
  json j = ReadJson(path);
  ASSERT_TRUE(j.is_object()) << path;
  edit(j);
  WriteTextFile(path, j.dump(2) + "\n");
}

void ExpectSameJson(const json& a, const json& b, double tol, const std::string& where,
                    const std::vector<std::string>& skip) {
  if (a.is_number_float() || b.is_number_float()) {
    ASSERT_TRUE(a.is_number() && b.is_number()) << where << ": " << a << " vs " << b;
    const double x = a.get<double>();
    const double y = b.get<double>();
    EXPECT_LE(std::abs(x - y), tol * std::max({1.0, std::abs(x), std::abs(y)}))
        << where << ": " << Num(x) << " vs " << Num(y);
    return;
  }
  ASSERT_EQ(a.type(), b.type()) << where << ": " << a.dump() << " vs " << b.dump();
  if (a.is_object()) {
    for (const auto& item : a.items()) {
      if (std::find(skip.begin(), skip.end(), item.key()) != skip.end()) continue;
      ASSERT_TRUE(b.contains(item.key())) << where << "/" << item.key() << " missing";
      ExpectSameJson(item.value(), b[item.key()], tol, where + "/" + item.key(), skip);
    }
    for (const auto& item : b.items()) {
      if (std::find(skip.begin(), skip.end(), item.key()) != skip.end()) continue;
      EXPECT_TRUE(a.contains(item.key())) << where << "/" << item.key() << " extra";
    }
  } else if (a.is_array()) {
    ASSERT_EQ(a.size(), b.size()) << where;
    for (std::size_t i = 0; i < a.size(); ++i) {
      ExpectSameJson(a[i], b[i], tol, where + "/" + std::to_string(i), skip);
    }
  } else {
    EXPECT_EQ(a, b) << where;
  }
}

void RunFedrad(const std::string& name, const std::vector<std::string>& args, const TempDir& dir) {
  auto p = Process::StartFedrad(name, args, dir.path());
  ASSERT_NE(p, nullptr);
  const auto code = p->WaitForExit(Consortium::kJobWait);
  ASSERT_TRUE(code.has_value()) << name << " did not finish";
  ASSERT_EQ(*code, 0) << name << " stderr:\n" << p->Stderr();
}

SyntheticStudyFiles WriteSyntheticStudy(const TempDir& dir, const json& sites,
                                        const SyntheticStudyOptions& options) {
  std::mt19937_64 rng(20261127);
  std::normal_distribution<double> normal;
  std::string header = "case_id,label,fold";
  for (int j = 0; j < options.features; ++j) header += "," + FeatureName(j);
  header += "\n";
  SyntheticStudyFiles files;
  std::string pooled = header;
  std::vector<std::string> all = options.train;
  all.insert(all.end(), options.external.begin(), options.external.end());
  for (std::size_t s = 0; s < all.size(); ++s) {
    const bool train = s < options.train.size();
    std::string csv = header;
    for (int i = 0; i < options.rows_per_site; ++i) {
      std::vector<double> x(static_cast<std::size_t>(options.features));
      for (int j = 0; j < options.features; ++j) {
        x[static_cast<std::size_t>(j)] =
            normal(rng) * (1.0 + 0.2 * j) + 0.3 * static_cast<double>(s);
      }
      const double eta = 1.2 * x[0] - 0.9 * x[1] + (options.features > 4 ? 0.5 * x[4] : 0.0) +
                         0.8 * normal(rng) - 0.1 * static_cast<double>(s);
      std::string row = all[s] + "-" + std::to_string(i) + "," + (eta > 0 ? "1" : "0") + "," +
                        std::to_string((i + static_cast<int>(s)) % 3);
      for (double v : x) row += "," + Num(v);
      csv += row + "\n";
      if (train) pooled += row + "\n";
    }
    files.site_csv[all[s]] = dir.File("data/" + all[s] + "_features.csv");
    WriteTextFile(files.site_csv[all[s]], csv);
  }
  files.pooled_csv = dir.File("data/pooled.csv");
  WriteTextFile(files.pooled_csv, pooled);
  std::string dictionary = "# feature columns shared by every site\n";
  for (int j = 0; j < options.features; ++j) dictionary += FeatureName(j) + "\n";
  WriteTextFile(dir.File("features.txt"), dictionary);
  json spec = {
      {"study_id", options.study_id},
      {"table", {{"id_column", "case_id"}, {"label_column", "label"}, {"fold_column", "fold"}}},
      {"feature_dictionary", "features.txt"},
      {"models",
       {{{"name", "first"}, {"columns", {"f01", "f02", "f03", "f04", "f05", "f06"}}},
        {{"name", "all"}, {"columns", {"*"}}}}},
      {"cv", {{"folds", 3}, {"seed", 7}, {"selection", "nested"}}},
      {"lasso", {{"nlambda", 15}}},
      {"svm", {{"c_grid", {0.1, 1.0, 10.0}}, {"histogram_bins", 64}}},
      {"platt", true},
      {"sites", sites},
  };
  spec.merge_patch(options.spec_overrides);
  files.spec = dir.File("study.json");
  WriteTextFile(files.spec, spec.dump(2) + "\n");
  return files;
}

std::pair<int, std::string> AuditVerify(const std::vector<std::string>& logs,
                                        const std::string& keys, const TempDir& dir) {
  std::vector<std::string> args = {"audit", "verify"};
  args.insert(args.end(), logs.begin(), logs.end());
  args.push_back("--keys");
  args.push_back(keys);
  auto p = Process::StartFedrad("audit-verify", args, dir.path());
  if (p == nullptr) return {-1, ""};
  const auto code = p->WaitForExit(Consortium::kJobWait);
  return {code.value_or(-1), p->Stdout() + p->Stderr()};
}

}  // namespace fedrad::integration

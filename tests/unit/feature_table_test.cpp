#include "fedrad/site_agent/stats/feature_table.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>

#include "fedrad/common/hash.hpp"
#include "fedrad/common/sodium_init.hpp"
#include "fedrad/site_agent/stats/folds.hpp"
#include "temp_dir.hpp"

namespace fedrad::site_agent::stats {
namespace {

protocols::StudySpec Spec() {
  protocols::StudySpec spec;
  spec.study_id = "s";
  spec.models = {{"clinical", {"clin_*"}}, {"radiomics", {"lesion_*"}}, {"combined", {"*"}}};
  return spec;
}

std::string ErrorOf(const std::string& path, const protocols::StudySpec& spec) {
  auto table = ReadFeatureTable(path, spec);
  EXPECT_FALSE(table.ok());
  return table.ok() ? std::string() : table.status().ToString();
}

TEST(FeatureTable, ReadsIdsLabelsFoldsAndFeaturesInHeaderOrder) {
  testing::TempDir dir("fedrad_feature_table");
  const std::string text =
      "lesion_a,case_id,clin_age,label,fold\n"
      "1.5,c1,60,1,0\n"
      "-2e-3,c2,+71,0,2\n"
      "\n"
      "3,\"c,3\",55,1.0,1\n";
  const std::string path = dir.WriteText("t.csv", text);
  protocols::StudySpec spec = Spec();
  spec.fold_column = "fold";
  spec.folds = 3;
  auto table = ReadFeatureTable(path, spec);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_EQ(table->ids, (std::vector<std::string>{"c1", "c2", "c,3"}));
  EXPECT_EQ(table->columns, (std::vector<std::string>{"lesion_a", "clin_age"}));
  ASSERT_EQ(table->x.rows(), 3);
  ASSERT_EQ(table->x.cols(), 2);
  EXPECT_EQ(table->x(0, 0), 1.5);
  EXPECT_EQ(table->x(1, 0), -2e-3);
  EXPECT_EQ(table->x(1, 1), 71.0);
  EXPECT_EQ(table->x(2, 1), 55.0);
  EXPECT_EQ(table->y[0], 1.0);
  EXPECT_EQ(table->y[1], 0.0);
  EXPECT_EQ(table->y[2], 1.0);
  EXPECT_EQ(table->fold, (std::vector<int>{0, 2, 1}));
  ASSERT_TRUE(common::InitSodium().ok());
  EXPECT_EQ(table->sha256, common::Sha256Hex(text));
}

TEST(FeatureTable, RowErrorsNameFileLineColumnAndWhatWasExpected) {
  testing::TempDir dir("fedrad_feature_table");
  const std::string path = dir.WriteText("t.csv",
                                         "case_id,label,fold,clin_age,lesion_a\n"
                                         "c1,1,0,60,1\n"
                                         "c2,2,0,61,x\n"
                                         "c1,0,-1,,nan\n"
                                         "c4,yes,5,inf,1.5\n");
  protocols::StudySpec spec = Spec();
  spec.fold_column = "fold";
  const std::string message = ErrorOf(path, spec);
  for (const std::string& expected : {
           path + ":3: column 'label': expected 0 or 1, got '2'",
           path + ":3: column 'lesion_a': expected a finite number, got 'x'",
           path + ":4: column 'case_id': duplicate case id 'c1' (first on line 2)",
           path + ":4: column 'fold': expected a fold id, an integer in [0, 4]",
           path + ":4: column 'clin_age': expected a finite number, got an empty cell",
           path + ":4: column 'lesion_a': expected a finite number, got 'nan' (NaN and infinity",
           path + ":5: column 'label': expected 0 or 1, got 'yes'",
           path + ":5: column 'fold': expected a fold id, an integer in [0, 4] (the spec has 5 "
                  "folds), got '5'",
           path + ":5: column 'clin_age': expected a finite number, got 'inf'",
       }) {
    EXPECT_NE(message.find(expected), std::string::npos) << expected << "\n" << message;
  }
}

TEST(FeatureTable, MissingIdLabelOrFoldColumnIsNamed) {
  testing::TempDir dir("fedrad_feature_table");
  const std::string path = dir.WriteText("t.csv", "id,y,clin_a\nc1,1,2\n");
  protocols::StudySpec spec = Spec();
  spec.fold_column = "fold";
  const std::string message = ErrorOf(path, spec);
  EXPECT_NE(message.find(path + ":1: header: no id column 'case_id'; no label column 'label'; "
                                "no fold column 'fold'"),
            std::string::npos)
      << message;
  const std::string empty = dir.WriteText("e.csv", "case_id,label,clin_a\n");
  EXPECT_NE(ErrorOf(empty, Spec()).find("no rows"), std::string::npos);
}

// A synthetic table: n rows, the given labels pattern, clinical and lesion columns.
FeatureTable Synthetic(int n, int positives_every) {
  FeatureTable table;
  table.path = "synthetic.csv";
  table.columns = {"clin_a", "lesion_x", "clin_b", "lesion_y"};
  table.x.resize(n, 4);
  table.y.resize(n);
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal;
  for (int i = 0; i < n; ++i) {
    table.ids.push_back("c" + std::to_string(i));
    for (int j = 0; j < 4; ++j) table.x(i, j) = normal(rng);
    table.y[i] = (positives_every > 0 && i % positives_every == 0) ? 1.0 : 0.0;
  }
  return table;
}

TEST(FeatureTable, BuildDatasetsResolvesColumnsPerModel) {
  const FeatureTable table = Synthetic(20, 3);
  protocols::StudySpec spec = Spec();
  auto datasets = BuildDatasets(table, spec);
  ASSERT_TRUE(datasets.ok()) << datasets.status().ToString();
  ASSERT_EQ(datasets->size(), 3u);
  const LocalTable& clinical = datasets->at("clinical");
  ASSERT_EQ(clinical.x.cols(), 2);
  EXPECT_TRUE(clinical.x.col(0).isApprox(table.x.col(0)));
  EXPECT_TRUE(clinical.x.col(1).isApprox(table.x.col(2)));
  const LocalTable& combined = datasets->at("combined");
  EXPECT_EQ(combined.x, table.x);
  EXPECT_EQ(combined.y, table.y);
  EXPECT_EQ(combined.fold, clinical.fold);

  // With a dictionary the dictionary's order is used, and its columns must exist.
  spec.feature_dictionary = {"lesion_y", "lesion_x", "clin_a"};
  datasets = BuildDatasets(table, spec);
  ASSERT_TRUE(datasets.ok()) << datasets.status().ToString();
  EXPECT_EQ(datasets->at("radiomics").x.col(0), table.x.col(3));
  EXPECT_EQ(datasets->at("radiomics").x.col(1), table.x.col(1));
  EXPECT_EQ(datasets->at("clinical").x.cols(), 1);
  spec.feature_dictionary.push_back("lesion_zz");
  auto missing = BuildDatasets(table, spec);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().ToString().find("'lesion_zz'"), std::string::npos)
      << missing.status().ToString();
  spec.feature_dictionary.clear();
  spec.models.push_back({"ring", {"ring5mm_*"}});
  auto unmatched = BuildDatasets(table, spec);
  ASSERT_FALSE(unmatched.ok());
  EXPECT_NE(unmatched.status().ToString().find("\"ring5mm_*\""), std::string::npos);
}

TEST(FeatureTable, BuildDatasetsFoldsAreStratifiedAndInnerFoldsExcludeTheOuterFold) {
  const FeatureTable table = Synthetic(53, 3);  // 18 positives, 35 negatives
  protocols::StudySpec spec = Spec();
  spec.folds = 4;
  spec.seed = 99;
  auto datasets = BuildDatasets(table, spec);
  ASSERT_TRUE(datasets.ok()) << datasets.status().ToString();
  const LocalTable& t = datasets->at("combined");
  auto expected = AssignFolds(table.y, 4, 99);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(t.fold, *expected);
  int count[4][2] = {};
  for (std::size_t i = 0; i < t.fold.size(); ++i) {
    ASSERT_GE(t.fold[i], 0);
    ASSERT_LT(t.fold[i], 4);
    ++count[t.fold[i]][t.y[static_cast<Eigen::Index>(i)] == 1.0 ? 1 : 0];
  }
  for (int f = 0; f < 4; ++f) {
    EXPECT_GE(count[f][1], 4);  // 18 / 4 = 4.5
    EXPECT_LE(count[f][1], 5);
    EXPECT_GE(count[f][0], 8);  // 35 / 4 = 8.75
    EXPECT_LE(count[f][0], 9);
  }
  ASSERT_EQ(t.inner_fold.size(), 4u);
  for (int f = 0; f < 4; ++f) {
    const std::vector<int>& inner = t.inner_fold[static_cast<std::size_t>(f)];
    ASSERT_EQ(inner.size(), t.fold.size());
    Eigen::VectorXd train_y(53);
    Eigen::Index m = 0;
    int inner_count[4][2] = {};
    for (std::size_t i = 0; i < inner.size(); ++i) {
      if (t.fold[i] == f) {
        EXPECT_EQ(inner[i], -1) << "outer fold " << f << " row " << i;
      } else {
        ASSERT_GE(inner[i], 0);
        ASSERT_LT(inner[i], 4);
        train_y[m++] = t.y[static_cast<Eigen::Index>(i)];
        ++inner_count[inner[i]][t.y[static_cast<Eigen::Index>(i)] == 1.0 ? 1 : 0];
      }
    }
    // The documented seed: AssignFolds over the training rows with seed + f + 1.
    auto again = AssignFolds(train_y.head(m), 4, 99 + static_cast<std::uint64_t>(f) + 1);
    ASSERT_TRUE(again.ok());
    std::vector<int> got;
    for (std::size_t i = 0; i < inner.size(); ++i) {
      if (inner[i] >= 0) got.push_back(inner[i]);
    }
    EXPECT_EQ(got, *again);
    for (int g = 0; g < 4; ++g) {
      for (int c = 0; c < 2; ++c) {
        int total = 0;
        for (int h = 0; h < 4; ++h) total += inner_count[h][c];
        EXPECT_LE(inner_count[g][c], total / 4 + 1);
        EXPECT_GE(inner_count[g][c], total / 4);
      }
    }
  }
  EXPECT_EQ(datasets->at("clinical").inner_fold, t.inner_fold);

  spec.nested = false;  // outside_cv refits per outer fold: the same inner folds
  auto outside = BuildDatasets(table, spec);
  ASSERT_TRUE(outside.ok());
  EXPECT_EQ(outside->at("combined").inner_fold, t.inner_fold);
}

TEST(FeatureTable, BuildDatasetsUsesTheFoldColumnWhenGiven) {
  FeatureTable table = Synthetic(10, 2);
  table.fold = {0, 1, 2, 0, 1, 2, 0, 1, 2, 0};
  protocols::StudySpec spec = Spec();
  spec.folds = 3;
  auto datasets = BuildDatasets(table, spec);
  ASSERT_TRUE(datasets.ok()) << datasets.status().ToString();
  EXPECT_EQ(datasets->at("combined").fold, table.fold);
  for (std::size_t i = 0; i < table.fold.size(); ++i) {
    EXPECT_EQ(datasets->at("combined").inner_fold[static_cast<std::size_t>(table.fold[i])][i], -1);
  }
}

TEST(FeatureTable, TinyAndSingleClassSitesStillBuild) {
  protocols::StudySpec spec = Spec();
  spec.folds = 5;
  for (const FeatureTable& table : {Synthetic(3, 2), Synthetic(7, 0), Synthetic(1, 1)}) {
    auto datasets = BuildDatasets(table, spec);
    ASSERT_TRUE(datasets.ok()) << datasets.status().ToString();
    const LocalTable& t = datasets->at("combined");
    ASSERT_EQ(t.inner_fold.size(), 5u);
    for (std::size_t i = 0; i < t.fold.size(); ++i) {
      EXPECT_GE(t.fold[i], 0);
      EXPECT_LT(t.fold[i], 5);
      for (int f = 0; f < 5; ++f) {
        const int inner = t.inner_fold[static_cast<std::size_t>(f)][i];
        if (t.fold[i] == f) {
          EXPECT_EQ(inner, -1);
        } else {
          EXPECT_GE(inner, 0);
          EXPECT_LT(inner, 5);
        }
      }
    }
  }
}

}  // namespace
}  // namespace fedrad::site_agent::stats

// The WireAggregator against three real `fedrad site` processes: this test
// process is the coordinator (ServerTransport + SessionManager over CurveZMQ
// on 127.0.0.1), offers the sites a study job and runs FitLassoCv over the
// wire; the result must equal FitLassoCv on an InProcessAggregator over the
// same three tables (same rounds, max |Δβ| <= 1e-12 at every λ).
#include "fedrad/coordinator/wire_aggregator.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "fedrad/common/sodium_init.hpp"
#include "fedrad/coordinator/aggregator.hpp"
#include "fedrad/coordinator/cross_validation.hpp"
#include "fedrad/coordinator/session_manager.hpp"
#include "fedrad/protocols/study_spec.hpp"
#include "fedrad/protocols/transport.hpp"
#include "fedrad/site_agent/stats/feature_table.hpp"
#include "support/consortium.hpp"
#include "support/process.hpp"
#include "support/wire.hpp"

namespace fedrad::integration {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::vector<std::string> kSiteIds = {"site_a", "site_b", "site_c"};
constexpr int kP = 8;

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

TEST(WireAggregator, LassoCvOverTheWireEqualsInProcess) {
  TempDir dir;
  Consortium study(
      dir, {.sites = {{"site_a", 0}, {"site_b", 0}, {"site_c", 0}}, .heartbeat_liveness = 50});
  ASSERT_NO_FATAL_FAILURE(study.Setup());

  // Three tables (40 rows, 8 features, a fold column) and a spec.
  std::mt19937_64 rng(4);
  std::normal_distribution<double> normal;
  std::vector<std::string> csv_paths;
  for (const std::string& id : kSiteIds) {
    std::string csv = "case_id,label,fold";
    for (int j = 0; j < kP; ++j) csv += ",x" + std::to_string(j);
    csv += "\n";
    for (int i = 0; i < 40; ++i) {
      std::vector<double> x(kP);
      for (double& v : x) v = normal(rng);
      const double eta = x[0] - 0.7 * x[2] + 0.6 * normal(rng);
      csv +=
          id + "-" + std::to_string(i) + "," + (eta > 0 ? "1" : "0") + "," + std::to_string(i % 3);
      for (double v : x) csv += "," + Num(v);
      csv += "\n";
    }
    csv_paths.push_back(dir.File("data/" + id + "_features.csv"));
    WriteTextFile(csv_paths.back(), csv);
  }
  std::string dictionary;
  for (int j = 0; j < kP; ++j) dictionary += "x" + std::to_string(j) + "\n";
  WriteTextFile(dir.File("features.txt"), dictionary);
  const json spec_json = {{"study_id", "wire-lasso"},
                          {"table", {{"fold_column", "fold"}}},
                          {"feature_dictionary", "features.txt"},
                          {"models", {{{"name", "all"}, {"columns", {"*"}}}}},
                          {"cv", {{"folds", 3}, {"selection", "outside_cv"}}},
                          // Plain rounds (this test compares bytes with the
                          // in-process aggregator); study_test.cpp runs secure.
                          {"privacy", {{"secure_aggregation", false}}}};
  const std::string spec_path = dir.File("study.json");
  WriteTextFile(spec_path, spec_json.dump(2) + "\n");
  auto spec = protocols::LoadStudySpec(spec_path);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();

  // The in-process reference over the same tables.
  std::vector<site_agent::stats::Datasets> tables;
  for (const std::string& path : csv_paths) {
    auto table = site_agent::stats::ReadFeatureTable(path, *spec);
    ASSERT_TRUE(table.ok()) << table.status().ToString();
    auto datasets = site_agent::stats::BuildDatasets(*table, *spec);
    ASSERT_TRUE(datasets.ok()) << datasets.status().ToString();
    tables.push_back(std::move(datasets).value());
  }
  std::vector<const site_agent::stats::Datasets*> pointers;
  for (const auto& t : tables) pointers.push_back(&t);
  auto in_process = coordinator::InProcessAggregator::CreateMulti(pointers);
  ASSERT_TRUE(in_process.ok()) << in_process.status().ToString();
  coordinator::LassoCvOptions options;
  options.num_folds = 3;
  options.lasso.nlambda = 12;
  options.choice = coordinator::LambdaChoice::kMin;
  coordinator::ScopedAggregator local(*in_process, "all", kP);
  auto reference = coordinator::FitLassoCv(local, options);
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();

  // This process is the coordinator.
  ASSERT_TRUE(common::InitSodium().ok());
  auto identity = LoadIdentityForTest(study.SecretKeyFile("coordinator"));
  ASSERT_TRUE(identity.has_value());
  protocols::ServerOptions server_options;
  server_options.endpoint = "tcp://127.0.0.1:*";
  server_options.identity = &*identity;
  for (const std::string& id : kSiteIds) server_options.allowed_keys[study.PublicKey(id)] = id;
  auto server = protocols::ServerTransport::Bind(server_options);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  study.UseCoordinatorEndpoint((*server)->endpoint());
  for (std::size_t s = 0; s < kSiteIds.size(); ++s) {
    json config = json::parse(ReadTextFile(study.SiteConfig(kSiteIds[s])));
    config.erase("data");
    config["study"] = {{"spec", spec_path}, {"features", csv_paths[s]}};
    WriteTextFile(study.SiteConfig(kSiteIds[s]), config.dump(2) + "\n");
    // Small random folds (some class counts of 3): this test is about the
    // sums, so the sites' policies admit any count (the disclosure gate is
    // tested in refusal_test.cpp). Approval is on by default.
    WriteTextFile(study.SitePolicy(kSiteIds[s]), R"({"min_count_per_cell": 1})");
    ASSERT_NO_FATAL_FAILURE(study.ApproveStudy(kSiteIds[s], spec_path));
  }
  coordinator::SessionOptions session_options;
  session_options.heartbeat_interval = std::chrono::milliseconds(200);
  session_options.heartbeat_liveness = 50;
  coordinator::SessionManager sessions(server->get(), session_options);
  std::vector<std::unique_ptr<Process>> sites;
  for (const std::string& id : kSiteIds) sites.push_back(study.StartSite(id));

  const std::string job_id = coordinator::kStudyJobId;
  std::set<std::string> accepted;
  const auto deadline = Clock::now() + Consortium::kJobWait;
  while (accepted.size() < kSiteIds.size()) {
    ASSERT_LT(Clock::now(), deadline) << "only " << accepted.size() << " sites accepted";
    auto incoming = sessions.Poll(std::chrono::milliseconds(50));
    for (const std::string& site : sessions.TakeNewSessions()) {
      protocols::JobOffer offer;
      offer.job_id = job_id;
      offer.kind = "study";
      offer.description = "integration test";
      offer.parameters = {{"study_id", spec->study_id}, {"spec_sha256", spec->sha256}};
      ASSERT_TRUE(sessions.Send(site, offer).ok());
    }
    if (incoming && std::holds_alternative<protocols::JobAccept>(incoming->message.body)) {
      accepted.insert(incoming->site_id);
    }
    ASSERT_FALSE(incoming && std::holds_alternative<protocols::JobDecline>(incoming->message.body))
        << std::get<protocols::JobDecline>(incoming->message.body).reason;
  }

  coordinator::WireAggregatorOptions wire_options;
  wire_options.job_id = job_id;
  wire_options.sites = kSiteIds;
  wire_options.dataset_features = {{"all", kP}};
  wire_options.round_timeout = std::chrono::seconds(20);
  coordinator::WireAggregator wire(&sessions, wire_options);
  coordinator::ScopedAggregator remote(wire, "all", kP);
  auto federated = coordinator::FitLassoCv(remote, options);
  ASSERT_TRUE(federated.ok()) << federated.status().ToString();

  EXPECT_EQ(wire.rounds(), in_process->rounds());
  EXPECT_EQ(wire.bytes_to_each_site(), in_process->bytes_to_each_site());
  EXPECT_EQ(wire.bytes_from_each_site(), in_process->bytes_from_each_site());
  EXPECT_GT(wire.bytes_to_each_site(), 0);
  ASSERT_EQ(federated->path.points.size(), reference->path.points.size());
  double max_diff = 0.0;
  for (std::size_t l = 0; l < reference->path.points.size(); ++l) {
    const auto& a = federated->path.points[l];
    const auto& b = reference->path.points[l];
    max_diff = std::max(max_diff, std::abs(a.intercept - b.intercept));
    max_diff = std::max(max_diff, (a.beta - b.beta).cwiseAbs().maxCoeff());
  }
  EXPECT_LE(max_diff, 1e-12);
  EXPECT_EQ(federated->index_min, reference->index_min);
  ASSERT_EQ(federated->cvm.size(), reference->cvm.size());
  for (std::size_t l = 0; l < reference->cvm.size(); ++l) {
    EXPECT_NEAR(federated->cvm[l], reference->cvm[l], 1e-12) << "lambda " << l;
  }

  // A request the sites cannot serve comes back as the site's error.
  site_agent::stats::MomentsRequest unknown;
  unknown.dataset = "nope";
  coordinator::WireAggregatorOptions bad_options = wire_options;
  bad_options.dataset_features["nope"] = 3;
  coordinator::WireAggregator bad(&sessions, bad_options);
  auto failed = bad.Sum(unknown);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), common::StatusCode::kFailedPrecondition);
  EXPECT_NE(failed.status().message().find("no dataset 'nope'"), std::string::npos)
      << failed.status().message();

  protocols::JobEnd end{job_id, "completed", "test over"};
  for (const std::string& id : kSiteIds) (void)sessions.Send(id, end);
  sessions.CloseAll("study complete");
  for (auto& site : sites) ASSERT_NO_FATAL_FAILURE(Consortium::ExpectSiteFinished(site.get()));
}

}  // namespace
}  // namespace fedrad::integration

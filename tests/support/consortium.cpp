#include "support/consortium.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <utility>

namespace fedrad::integration {
namespace {

using nlohmann::json;

constexpr milliseconds kKeygenWait{15000};

json LogSection(const std::string& file) {
  return json{{"level", "info"}, {"format", "human"}, {"file", file}};
}

}  // namespace

Consortium::Consortium(const TempDir& dir, ConsortiumOptions options)
    : dir_(dir), options_(std::move(options)) {}

void Consortium::Setup() {
  ASSERT_FALSE(dir_.path().empty()) << "no temporary directory";
  ASSERT_NO_FATAL_FAILURE(Keygen("coordinator"));
  for (const auto& site : options_.sites) ASSERT_NO_FATAL_FAILURE(Keygen(site.id));
  for (const auto& site : options_.strangers) ASSERT_NO_FATAL_FAILURE(Keygen(site.id));
  for (const auto& party : options_.extra_allowlisted) ASSERT_NO_FATAL_FAILURE(Keygen(party));
  ASSERT_EQ(::mkdir(dir_.File("data").c_str(), 0700), 0);
  for (const auto& site : options_.sites) {
    WriteCohort(site);
    WriteSiteConfig(site);
  }
  for (const auto& site : options_.strangers) {
    WriteCohort(site);
    WriteSiteConfig(site);
  }
  WriteCoordinatorConfig();
}

void Consortium::Keygen(const std::string& party) {
  auto keygen = Process::StartFedrad(
      "keygen-" + party, {"keygen", "--name", party, "--out", dir_.File("keys")}, dir_.path());
  ASSERT_NE(keygen, nullptr);
  const auto code = keygen->WaitForExit(kKeygenWait);
  ASSERT_TRUE(code.has_value()) << "fedrad keygen --name " << party << " did not finish";
  ASSERT_EQ(*code, 0) << "fedrad keygen --name " << party << ": " << keygen->Stderr();
  const std::string public_path = dir_.File("keys/" + party + ".public");
  const json block = json::parse(ReadTextFile(public_path), nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(block.is_object()) << public_path << " is not a JSON object";
  ASSERT_EQ(block.value("id", ""), party) << public_path;
  PublicKeys keys{block.value("curve_public_key", ""), block.value("sign_public_key", "")};
  ASSERT_EQ(keys.curve.size(), 40u) << public_path;
  ASSERT_EQ(keys.sign.size(), 64u) << public_path;
  struct stat st {};
  ASSERT_EQ(::stat(SecretKeyFile(party).c_str(), &st), 0) << SecretKeyFile(party);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << SecretKeyFile(party) << " must be private";
  keys_[party] = std::move(keys);
}

void Consortium::WriteCohort(const SiteSpec& site) {
  std::string csv = "case_id,age,sex,outcome\n";
  for (std::int64_t i = 0; i < site.cases; ++i) {
    csv += site.id + "-" + std::to_string(i + 1) + "," + std::to_string(40 + i % 40) + "," +
           (i % 2 == 0 ? "F" : "M") + "," + std::to_string(i % 3 == 0 ? 1 : 0) + "\n";
  }
  WriteTextFile(dir_.File("data/" + site.id + ".csv"), csv);
}

void Consortium::WriteSiteConfig(const SiteSpec& site) {
  // The endpoint is only known once the coordinator is bound; StartSite
  // rewrites the file with it. Paths are relative to the config file.
  const json config = {
      {"site", {{"id", site.id}, {"secret_key_file", "keys/" + site.id + ".secret"}}},
      {"coordinator",
       {{"endpoint", endpoint_.empty() ? "tcp://127.0.0.1:1" : endpoint_},
        {"public_key", keys_.at("coordinator").curve}}},
      {"data", {{"cohort_file", "data/" + site.id + ".csv"}}},
      {"network",
       {{"hello_timeout_ms", options_.hello_timeout_ms},
        {"reconnect_interval_ms", options_.reconnect_interval_ms},
        {"reconnect_max_ms", options_.reconnect_max_ms}}},
      {"log", LogSection(site.id + ".log")},
      {"policy", site.id + ".policy.json"},  // each site its own (absent = the defaults)
  };
  WriteTextFile(SiteConfig(site.id), config.dump(2) + "\n");
}

void Consortium::WriteCoordinatorConfig(const std::string& bind) {
  json sites = json::array();
  auto add = [&](const std::string& id) {
    sites.push_back({{"id", id},
                     {"curve_public_key", keys_.at(id).curve},
                     {"sign_public_key", keys_.at(id).sign}});
  };
  for (const auto& site : options_.sites) add(site.id);
  for (const auto& party : options_.extra_allowlisted) add(party);
  json coordinator = {
      {"id", "coordinator"},
      {"bind", bind},
      {"secret_key_file", "keys/coordinator.secret"},
      {"heartbeat_interval_ms", options_.heartbeat_interval_ms},
      {"heartbeat_liveness", options_.heartbeat_liveness},
      {"job_timeout_s", options_.job_timeout_s},
      {"expected_sites", options_.expected_sites},
      {"ready_file", "coordinator.ready"},
  };
  if (options_.max_message_bytes) coordinator["max_message_bytes"] = *options_.max_message_bytes;
  const json config = {
      {"coordinator", coordinator},
      {"log", LogSection("coordinator.log")},
      {"sites", sites},
  };
  WriteTextFile(dir_.File("coordinator.json"), config.dump(2) + "\n");
}

void Consortium::StartCoordinator() {
  ASSERT_EQ(coordinator_, nullptr) << "coordinator already started";
  coordinator_ = Process::StartFedrad(
      "coordinator", {"coordinator", "--config", dir_.File("coordinator.json")}, dir_.path());
  ASSERT_NE(coordinator_, nullptr);
  const std::string ready = dir_.File("coordinator.ready");
  const bool is_ready = WaitForFileContains(ready, "\n", kStartWait);
  ASSERT_TRUE(is_ready) << "the coordinator wrote no ready file " << ready
                        << "; exit: " << coordinator_->WaitForExit(milliseconds(0)).value_or(-1)
                        << "; stderr: " << coordinator_->Stderr();
  std::string text = ReadTextFile(ready);
  endpoint_ = text.substr(0, text.find('\n'));
  ASSERT_EQ(endpoint_.rfind("tcp://127.0.0.1:", 0), 0u) << "ready file holds \"" << text << "\"";
  ASSERT_GT(port(), 0) << endpoint_;
  // Now that the endpoint is known, point every site config at it.
  UseCoordinatorEndpoint(endpoint_);
}

void Consortium::ExpectSiteFinished(Process* site) {
  ASSERT_NE(site, nullptr);
  const auto code = site->WaitForExit(kSiteExitWait);
  ASSERT_TRUE(code.has_value()) << site->name() << " did not exit after the study";
  EXPECT_EQ(*code, 0) << site->name() << " stderr:\n" << site->Stderr();
}

void Consortium::KillAndRestartCoordinator() {
  ASSERT_NE(coordinator_, nullptr) << "start the coordinator first";
  coordinator_->Kill(SIGKILL);
  ASSERT_TRUE(coordinator_->WaitForExit(milliseconds(5000)).has_value());
  coordinator_.reset();
  std::filesystem::remove(dir_.File("coordinator.ready"));
  // Same port as before, so the sites' configs stay valid.
  const std::string previous = endpoint_;
  WriteCoordinatorConfig(previous);
  ASSERT_NO_FATAL_FAILURE(StartCoordinator());
  ASSERT_EQ(endpoint_, previous);
}

void Consortium::UseCoordinatorEndpoint(const std::string& endpoint) {
  endpoint_ = endpoint;
  for (const auto& site : options_.sites) WriteSiteConfig(site);
  for (const auto& site : options_.strangers) WriteSiteConfig(site);
}

std::unique_ptr<Process> Consortium::StartSite(const std::string& id, bool exit_after_study,
                                               const std::string& instance) {
  EXPECT_FALSE(endpoint_.empty()) << "start the coordinator before the sites";
  std::vector<std::string> args = {"site", "--config", SiteConfig(id)};
  if (exit_after_study) args.push_back("--exit-after-study");
  auto process =
      Process::StartFedrad(instance.empty() ? id : id + "." + instance, args, dir_.path());
  EXPECT_NE(process, nullptr) << "cannot start site " << id;
  return process;
}

std::uint16_t Consortium::port() const {
  const auto colon = endpoint_.rfind(':');
  if (colon == std::string::npos) return 0;
  try {
    return static_cast<std::uint16_t>(std::stoi(endpoint_.substr(colon + 1)));
  } catch (const std::exception&) {
    return 0;
  }
}

const std::string& Consortium::coordinator_public_key() const {
  return keys_.at("coordinator").curve;
}

std::string Consortium::SecretKeyFile(const std::string& party) const {
  return dir_.File("keys/" + party + ".secret");
}

std::string Consortium::PublicKey(const std::string& party) const { return keys_.at(party).curve; }

std::string Consortium::SignPublicKey(const std::string& party) const {
  return keys_.at(party).sign;
}

nlohmann::json Consortium::StudySites(const std::vector<std::string>& ids) const {
  json sites = json::array();
  for (const std::string& id : ids) {
    sites.push_back({{"id", id}, {"sign_public_key", SignPublicKey(id)}, {"role", "train"}});
  }
  return sites;
}

std::string Consortium::CoordinatorLog() const { return dir_.File("coordinator.log"); }

std::string Consortium::SiteLog(const std::string& id) const { return dir_.File(id + ".log"); }

std::string Consortium::SiteConfig(const std::string& id) const { return dir_.File(id + ".json"); }

std::string Consortium::SitePolicy(const std::string& id) const {
  return dir_.File(id + ".policy.json");
}

void Consortium::ApproveStudy(const std::string& id, const std::string& spec) const {
  auto approve = Process::StartFedrad(
      "approve-" + id,
      {"site", "approve", spec, "--policy", SitePolicy(id), "--by", "integration test"},
      dir_.path());
  ASSERT_NE(approve, nullptr);
  const auto code = approve->WaitForExit(kKeygenWait);
  ASSERT_TRUE(code.has_value()) << "fedrad site approve did not finish for " << id;
  ASSERT_EQ(*code, 0) << "fedrad site approve " << spec << " for " << id << ": "
                      << approve->Stderr();
}

std::int64_t Consortium::TotalCases() const {
  std::int64_t total = 0;
  for (const auto& site : options_.sites) total += site.cases;
  return total;
}

void Consortium::ExpectCoordinatorTotal(std::int64_t total, std::size_t sites) {
  ASSERT_NE(coordinator_, nullptr);
  const auto code = coordinator_->WaitForExit(kJobWait);
  ASSERT_TRUE(code.has_value()) << "the coordinator did not finish the job";
  const std::string out = coordinator_->Stdout();
  EXPECT_EQ(*code, 0) << "coordinator stdout:\n" << out << "stderr:\n" << coordinator_->Stderr();
  // "  total        224  (3 sites)": the count is right-aligned.
  static const std::regex kTotalLine(R"(^\s*total\s+(-?\d+)\s+\((\d+) sites\)\s*$)");
  const auto lines = LinesContaining(coordinator_->stdout_path(), "total");
  ASSERT_EQ(lines.size(), 1u) << "coordinator stdout:\n" << out;
  std::smatch match;
  ASSERT_TRUE(std::regex_match(lines[0], match, kTotalLine))
      << "unexpected summary line \"" << lines[0] << "\"";
  EXPECT_EQ(match[1].str(), std::to_string(total)) << out;
  EXPECT_EQ(match[2].str(), std::to_string(sites)) << out;
  EXPECT_NE(out.find("completed"), std::string::npos) << out;
}

std::map<std::string, std::int64_t> Consortium::SummaryCounts() const {
  // Per-site lines of the summary: "  site_a          80".
  static const std::regex kSiteLine(R"(^\s+([A-Za-z0-9][A-Za-z0-9_.-]*)\s+(-?\d+)\s*$)");
  std::map<std::string, std::int64_t> counts;
  if (coordinator_ == nullptr) return counts;
  std::istringstream in(coordinator_->Stdout());
  for (std::string line; std::getline(in, line);) {
    std::smatch match;
    if (std::regex_match(line, match, kSiteLine) && match[1].str() != "total") {
      counts[match[1].str()] = std::stoll(match[2].str());
    }
  }
  return counts;
}

std::unique_ptr<Process> StartCoordinatorProcess(const TempDir& dir, const std::string& name,
                                                 const std::vector<std::string>& extra,
                                                 std::string* endpoint) {
  std::filesystem::remove(dir.File("coordinator.ready"));
  std::vector<std::string> args = {"coordinator", "--config", dir.File("coordinator.json")};
  args.insert(args.end(), extra.begin(), extra.end());
  auto p = Process::StartFedrad(name, args, dir.path());
  if (p == nullptr) return p;
  const bool ready =
      WaitForFileContains(dir.File("coordinator.ready"), "\n", Consortium::kStartWait);
  if (endpoint != nullptr) {
    endpoint->clear();
    if (ready) {
      const std::string text = ReadTextFile(dir.File("coordinator.ready"));
      *endpoint = text.substr(0, text.find('\n'));
    }
  }
  return p;
}

}  // namespace fedrad::integration

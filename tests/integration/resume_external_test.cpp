// Failure drill (issue 7): the coordinator is SIGKILLed during the EXTERNAL
// evaluation of a live study and `fedrad coordinator --resume` finishes it.
// (a) One external site: killed while that site's local_evaluation round is
//     in flight. (b) Two external sites: killed inside their secure pooled
//     rounds, after the first pooled round was journaled.
// In both, the resumed run's results.json and models equal an uninterrupted
// run's (apart from times), the journal held exactly the rounds completed
// before the kill, the resumed coordinator asks the sites only the round in
// flight at the kill and the ones after it, and every audit log verifies.
//
// Where the kill falls is made deterministic with SIGSTOP, not with sleeps:
// an external site is stopped once it has accepted the study (it takes no
// part in training), so the coordinator blocks in the first external round
// that needs it; the test reads the coordinator's audit log (a "send"
// ROUND_REQUEST to the stopped site in that round) and kills it there. For
// (b) the two external sites are then stopped and continued in turn, one
// secure-round step at a time, until the coordinator waits inside the second
// pooled round. The coordinator's heartbeat liveness is raised so that a
// stopped site is not expired meanwhile.
// Real processes on 127.0.0.1, secure aggregation on (the default).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fedrad/coordinator/round_journal.hpp"
#include "support/consortium.hpp"
#include "support/process.hpp"
#include "support/study_support.hpp"

namespace fedrad::integration {
namespace {

using nlohmann::json;

const std::vector<std::string> kTrain = {"site_a", "site_b", "site_c"};
const std::vector<std::string> kTimeKeys = {"started_utc", "finished_utc", "wall_seconds"};
constexpr milliseconds kStepWait{15000};

// The entries of an audit log (JSON lines) appended after a point: read
// incrementally, polled until a condition holds.
class AuditTail {
 public:
  explicit AuditTail(std::string path) : path_(std::move(path)) {}

  // Forgets everything written so far: entries() starts after it.
  void SkipToEnd() {
    Read();
    entries_.clear();
  }
  const std::vector<json>& entries() {
    Read();
    return entries_;
  }
  // Entries (since SkipToEnd) that satisfy `match`.
  std::size_t Count(const std::function<bool(const json&)>& match) {
    const std::vector<json>& all = entries();
    return static_cast<std::size_t>(std::count_if(all.begin(), all.end(), match));
  }
  // Polls until at least `count` entries satisfy `match`; false on timeout.
  bool WaitFor(const std::function<bool(const json&)>& match, std::size_t count,
               milliseconds timeout) {
    return PollUntil([&] { return Count(match) >= count; }, timeout);
  }
  // Polls (every 10 ms) until `condition` holds; false on timeout.
  static bool PollUntil(const std::function<bool()>& condition, milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return true;
  }

 private:
  void Read() {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return;
    in.seekg(static_cast<std::streamoff>(offset_));
    std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Only complete lines (a record is written with one write()).
    const std::size_t end = chunk.rfind('\n');
    if (end == std::string::npos) return;
    offset_ += end + 1;
    std::size_t at = 0;
    while (at <= end) {
      const std::size_t nl = chunk.find('\n', at);
      json entry = json::parse(chunk.substr(at, nl - at), nullptr, /*allow_exceptions=*/false);
      if (entry.is_object()) entries_.push_back(std::move(entry));
      at = nl + 1;
    }
  }

  std::string path_;
  std::size_t offset_ = 0;
  std::vector<json> entries_;
};

std::function<bool(const json&)> Event(const std::string& event) {
  return [event](const json& e) { return e.value("event", "") == event; };
}
std::function<bool(const json&)> RoundStart(std::int64_t round) {
  return [round](const json& e) {
    return e.value("event", "") == "round_start" && e.value("round", std::int64_t{-1}) == round;
  };
}
// A message of `type` sent to ("send") or received from ("receive") `peer`.
std::function<bool(const json&)> Message(const std::string& event, const std::string& peer,
                                         const std::string& type) {
  return [=](const json& e) {
    return e.value("event", "") == event && e.value("peer", "") == peer &&
           e.value("type", "") == type;
  };
}

// True once the coordinator holds the receipt of every message `site` sent
// it (a RECEIPT follows each message but BYE, heartbeats included): nothing
// of the site's round is still in flight when the coordinator is killed.
bool ReceiptsIn(AuditTail& tail, const std::string& site) {
  std::size_t messages = 0;
  std::size_t receipts = 0;
  for (const json& e : tail.entries()) {
    if (e.value("event", "") != "receive" || e.value("peer", "") != site) continue;
    const std::string type = e.value("type", "");
    if (type == "RECEIPT") {
      ++receipts;
    } else if (type != "BYE") {
      ++messages;
    }
  }
  return receipts >= messages;
}

// The round ids in which `site` answered a round (from an uninterrupted
// run's audit entries), ascending.
std::vector<std::int64_t> RoundsAnsweredBy(const std::vector<json>& entries,
                                           const std::string& site) {
  std::set<std::int64_t> rounds;
  for (const json& e : entries) {
    if (Message("receive", site, "ROUND_REPLY")(e))
      rounds.insert(e.value("round", std::int64_t{0}));
  }
  return {rounds.begin(), rounds.end()};
}

// One drill: a consortium of the three train sites and `externals`.
class ExternalResumeDrill {
 public:
  ExternalResumeDrill(const TempDir& dir, std::vector<std::string> externals)
      : dir_(dir), externals_(std::move(externals)), study_(dir, Options(externals_)) {}

  static ConsortiumOptions Options(const std::vector<std::string>& externals) {
    ConsortiumOptions options;
    for (const std::string& id : kTrain) options.sites.push_back({id, 0});
    for (const std::string& id : externals) options.sites.push_back({id, 0});
    // A stopped external site must outlive the training (seconds) without
    // being expired: 30 s. The sites reconnect to a resumed coordinator at
    // its first "unknown_session" answer, not by this liveness.
    options.heartbeat_interval_ms = 300;
    options.heartbeat_liveness = 100;
    options.job_timeout_s = 60;
    return options;
  }

  std::vector<std::string> AllSites() const {
    std::vector<std::string> all = kTrain;
    all.insert(all.end(), externals_.begin(), externals_.end());
    return all;
  }

  void Setup() {
    ASSERT_NO_FATAL_FAILURE(study_.Setup());
    json sites = study_.StudySites(AllSites());
    for (std::size_t s = kTrain.size(); s < sites.size(); ++s) sites[s]["role"] = "external";
    SyntheticStudyOptions options;
    options.study_id = "resume-external";
    options.external = externals_;
    options.features = 8;
    options.spec_overrides = {{"lasso", {{"nlambda", 8}}},
                              {"svm", {{"c_grid", {0.1, 1.0}}, {"histogram_bins", 32}}}};
    if (externals_.size() >= 2) {
      options.spec_overrides["privacy"] = {{"min_sites", 3}, {"allow_fewer_sites", true}};
    }
    files_ = WriteSyntheticStudy(dir_, sites, options);
  }

  void PointStudyAt(const std::string& out) {
    PatchJson(dir_.File("coordinator.json"), [&](json& c) {
      c["coordinator"]["job"] = "study";
      if (!endpoint_.empty()) c["coordinator"]["bind"] = endpoint_;
      c["study"] = {{"spec", files_.spec}, {"out_dir", out}, {"round_timeout_s", 30}};
    });
  }

  void ConfigureSites() {
    for (const std::string& id : AllSites()) {
      PatchJson(study_.SiteConfig(id), [&](json& c) {
        c.erase("data");
        c["study"] = {{"spec", files_.spec}, {"features", files_.site_csv.at(id)}};
      });
      ASSERT_NO_FATAL_FAILURE(study_.ApproveStudy(id, files_.spec));
    }
  }

  void StartSites(const std::string& instance) {
    sites_.clear();
    for (const std::string& id : AllSites()) {
      sites_[id] = study_.StartSite(id, true, instance);
      ASSERT_NE(sites_[id], nullptr);
    }
  }

  Process& site(const std::string& id) { return *sites_.at(id); }

  void ExpectSitesFinished() {
    for (auto& [id, process] : sites_) {
      SCOPED_TRACE(id);
      ASSERT_NO_FATAL_FAILURE(Consortium::ExpectSiteFinished(process.get()));
    }
  }

  // Run A: the study uninterrupted; its audit entries in `entries`.
  void RunUninterrupted(const std::string& out, std::vector<json>* entries) {
    AuditTail tail(audit());
    tail.SkipToEnd();
    ASSERT_NO_FATAL_FAILURE(PointStudyAt(out));
    ASSERT_NO_FATAL_FAILURE(study_.StartCoordinator());
    endpoint_ = study_.endpoint();
    ASSERT_NO_FATAL_FAILURE(ConfigureSites());
    ASSERT_NO_FATAL_FAILURE(StartSites("a"));
    const auto code = study_.coordinator().WaitForExit(Consortium::kJobWait);
    ASSERT_TRUE(code.has_value()) << "run A did not finish";
    ASSERT_EQ(*code, 0) << study_.coordinator().Stderr();
    ASSERT_NO_FATAL_FAILURE(ExpectSitesFinished());
    *entries = tail.entries();
  }

  // Starts `fedrad coordinator` (with `extra` arguments) on the endpoint of
  // run A and waits for its ready file.
  std::unique_ptr<Process> StartCoordinator(const std::string& name,
                                            const std::vector<std::string>& extra) {
    std::string endpoint;
    auto p = StartCoordinatorProcess(dir_, name, extra, &endpoint);
    if (p == nullptr) return p;
    EXPECT_FALSE(endpoint.empty()) << p->Stderr();
    return p;
  }

  // Every audit log (coordinator and sites) verifies together.
  void ExpectAuditLogsVerify() {
    std::vector<std::string> logs = {audit()};
    for (const std::string& id : AllSites()) logs.push_back(dir_.File(id + ".audit.jsonl"));
    const auto [code, report] = AuditVerify(logs, dir_.File("keys"), dir_);
    EXPECT_EQ(code, 0) << report;
    EXPECT_NE(report.find("RESULT: PASS"), std::string::npos) << report;
    // Messages in flight to the killed coordinator are lost with it: warnings.
    std::size_t lost = 0;
    for (std::size_t at = report.find("[lost_in_crash]"); at != std::string::npos;
         at = report.find("[lost_in_crash]", at + 1)) {
      ++lost;
    }
    std::printf("audit logs verify; messages lost in the coordinator's crash: %zu\n", lost);
  }

  std::string audit() const { return dir_.File("coordinator.audit.jsonl"); }
  Consortium& study() { return study_; }

 private:
  const TempDir& dir_;
  std::vector<std::string> externals_;
  Consortium study_;
  SyntheticStudyFiles files_;
  std::string endpoint_;
  std::map<std::string, std::unique_ptr<Process>> sites_;
};

// Recorded rounds per stream of the journal left by the killed coordinator.
std::map<std::string, std::uint64_t> JournalRounds(const std::string& path,
                                                   const std::vector<std::string>& streams) {
  std::map<std::string, std::uint64_t> out;
  auto journal = coordinator::RoundJournal::Open(path);
  EXPECT_TRUE(journal.ok()) << journal.status().ToString();
  if (!journal.ok()) return out;
  for (const std::string& stream : streams) out[stream] = journal->recorded(stream);
  return out;
}

// The resumed run's results and models equal run A's apart from times.
void ExpectSameOutputs(const std::string& out_a, const std::string& out_b) {
  const json a = ReadJson(out_a + "/results.json");
  const json b = ReadJson(out_b + "/results.json");
  ASSERT_TRUE(a.is_object()) << out_a;
  ASSERT_TRUE(b.is_object()) << out_b;
  ExpectSameJson(a, b, 0.0, "results.json", kTimeKeys);
  bool external_metrics = false;
  for (const json& m : b["metrics"]) {
    external_metrics = external_metrics || m["cohort"]["kind"] == "external_site";
  }
  EXPECT_TRUE(external_metrics) << "no external cohort in " << out_b << "/results.json";
  for (const char* model : {"first", "all"}) {
    const std::string name = std::string(model) + "/model.json";
    EXPECT_EQ(ReadTextFile(out_a + "/" + name), ReadTextFile(out_b + "/" + name)) << name;
  }
}

// The rounds the resumed coordinator started: exactly `first` .. `last`.
void ExpectResumedRounds(const std::vector<json>& resumed, std::int64_t first, std::int64_t last) {
  std::vector<std::int64_t> started;
  for (const json& e : resumed) {
    if (Event("round_start")(e)) started.push_back(e.value("round", std::int64_t{-1}));
  }
  std::vector<std::int64_t> expected;
  for (std::int64_t r = first; r <= last; ++r) expected.push_back(r);
  EXPECT_EQ(started, expected);
}

TEST(CoordinatorResumeExternal, KilledDuringTheLocalEvaluationOfOneExternalSite) {
  TempDir dir;
  const std::string kExternal = "site_d";
  ExternalResumeDrill drill(dir, {kExternal});
  ASSERT_NO_FATAL_FAILURE(drill.Setup());

  // --- run A: uninterrupted ---
  const std::string out_a = dir.File("out_a");
  std::vector<json> run_a;
  ASSERT_NO_FATAL_FAILURE(drill.RunUninterrupted(out_a, &run_a));
  const std::size_t rounds_a =
      static_cast<std::size_t>(std::count_if(run_a.begin(), run_a.end(), Event("round_end")));
  // The external site answers one round, the study's last.
  const std::vector<std::int64_t> external_rounds = RoundsAnsweredBy(run_a, kExternal);
  ASSERT_EQ(external_rounds.size(), 1u);
  const std::int64_t local = external_rounds.front();
  ASSERT_EQ(static_cast<std::size_t>(local), rounds_a);

  // --- run B: the external site is stopped once it accepted; the
  // coordinator is killed when it has sent it the local evaluation ---
  const std::string out_b = dir.File("out_b");
  ASSERT_NO_FATAL_FAILURE(drill.PointStudyAt(out_b));
  AuditTail tail(drill.audit());
  tail.SkipToEnd();
  auto first = drill.StartCoordinator("coordinator-b", {});
  ASSERT_NE(first, nullptr);
  ASSERT_NO_FATAL_FAILURE(drill.StartSites("b"));
  ASSERT_TRUE(tail.WaitFor(Message("receive", kExternal, "JOB_ACCEPT"), 1, Consortium::kJobWait))
      << first->Stderr();
  ASSERT_TRUE(AuditTail::PollUntil([&] { return ReceiptsIn(tail, kExternal); }, kStepWait));
  drill.site(kExternal).Kill(SIGSTOP);
  ASSERT_TRUE(tail.WaitFor(
      [&](const json& e) {
        return Message("send", kExternal, "ROUND_REQUEST")(e) && e.value("round", 0) == local;
      },
      1, Consortium::kJobWait))
      << first->Stderr();
  first->Kill(SIGKILL);
  ASSERT_TRUE(first->WaitForExit(milliseconds(5000)).has_value());
  EXPECT_EQ(tail.Count(Message("receive", kExternal, "ROUND_REPLY")), 0u);
  const std::size_t rounds_first = tail.Count(Event("round_end"));
  EXPECT_EQ(rounds_first, rounds_a - 1);  // everything but the external round
  const std::string journal = out_b + "/coordinator.journal";
  const auto recorded = JournalRounds(journal, {"train", "external:" + kExternal});
  EXPECT_EQ(recorded.at("train"), rounds_a - 1);
  EXPECT_EQ(recorded.at("external:" + kExternal), 0u);
  // The site wakes up to the dead coordinator's request (its answer goes
  // nowhere) and reconnects to the resumed one.
  drill.site(kExternal).Kill(SIGCONT);

  // --- resume ---
  const std::size_t before_resume = tail.entries().size();
  auto resumed = drill.StartCoordinator("coordinator-resumed", {"--resume"});
  ASSERT_NE(resumed, nullptr);
  const auto code = resumed->WaitForExit(Consortium::kJobWait);
  ASSERT_TRUE(code.has_value()) << "the resumed coordinator did not finish";
  ASSERT_EQ(*code, 0) << resumed->Stderr() << "\nlog:\n"
                      << ReadTextFile(drill.study().CoordinatorLog());
  ASSERT_NO_FATAL_FAILURE(drill.ExpectSitesFinished());
  EXPECT_GE(CountOccurrences(drill.study().CoordinatorLog(), "resuming the study from its journal"),
            1u);
  // Only the round in flight at the kill went to the sites again.
  const std::vector<json> all = tail.entries();
  const std::vector<json> after(all.begin() + static_cast<std::ptrdiff_t>(before_resume),
                                all.end());
  ExpectResumedRounds(after, local, local);
  EXPECT_EQ(tail.Count(Event("round_end")), rounds_a);

  ASSERT_NO_FATAL_FAILURE(ExpectSameOutputs(out_a, out_b));
  drill.ExpectAuditLogsVerify();
}

TEST(CoordinatorResumeExternal, KilledInsideTheSecurePooledRoundsOfTwoExternalSites) {
  TempDir dir;
  const std::string d = "site_d";
  const std::string e = "site_e";
  ExternalResumeDrill drill(dir, {d, e});
  ASSERT_NO_FATAL_FAILURE(drill.Setup());

  // --- run A: uninterrupted ---
  const std::string out_a = dir.File("out_a");
  std::vector<json> run_a;
  ASSERT_NO_FATAL_FAILURE(drill.RunUninterrupted(out_a, &run_a));
  const std::size_t rounds_a =
      static_cast<std::size_t>(std::count_if(run_a.begin(), run_a.end(), Event("round_end")));
  // After training and the CV evaluation: site_d's local evaluation, site_e's,
  // then the pooled rounds of both (at least two: the ROC rounds).
  const std::vector<std::int64_t> by_d = RoundsAnsweredBy(run_a, d);
  const std::vector<std::int64_t> by_e = RoundsAnsweredBy(run_a, e);
  ASSERT_GE(by_d.size(), 3u);
  const std::int64_t local_d = by_d.front();
  const std::int64_t local_e = local_d + 1;
  const std::int64_t pooled_first = local_d + 2;
  const auto pooled = static_cast<std::int64_t>(by_d.size()) - 1;
  ASSERT_EQ(by_e.front(), local_e);
  ASSERT_EQ(by_e.size(), by_d.size());
  ASSERT_EQ(by_d.back(), static_cast<std::int64_t>(rounds_a));
  ASSERT_EQ(by_d[1], pooled_first);
  const std::uint64_t trained = static_cast<std::uint64_t>(local_d) - 1;

  // --- run B ---
  const std::string out_b = dir.File("out_b");
  ASSERT_NO_FATAL_FAILURE(drill.PointStudyAt(out_b));
  AuditTail tail(drill.audit());
  tail.SkipToEnd();
  auto first = drill.StartCoordinator("coordinator-b", {});
  ASSERT_NE(first, nullptr);
  ASSERT_NO_FATAL_FAILURE(drill.StartSites("b"));
  // site_e stopped once it accepted: the coordinator trains, evaluates
  // site_d alone, and waits for site_e's local evaluation.
  ASSERT_TRUE(tail.WaitFor(Message("receive", e, "JOB_ACCEPT"), 1, Consortium::kJobWait))
      << first->Stderr();
  ASSERT_TRUE(AuditTail::PollUntil([&] { return ReceiptsIn(tail, e); }, kStepWait));
  drill.site(e).Kill(SIGSTOP);
  const auto sent_to = [&](const std::string& site) {
    return tail.Count(Message("send", site, "ROUND_REQUEST"));
  };
  const auto answered_by = [&](const std::string& site) {
    return tail.Count(Message("receive", site, "ROUND_REPLY"));
  };
  ASSERT_TRUE(tail.WaitFor(
      [&](const json& x) {
        return Message("send", e, "ROUND_REQUEST")(x) && x.value("round", 0) == local_e;
      },
      1, Consortium::kJobWait))
      << first->Stderr();
  ASSERT_EQ(answered_by(d), 1u);  // its local evaluation, complete
  // Now both external sites are stopped, and continued one at a time: a
  // site the coordinator waits for (sent it more requests than it answered)
  // runs until it has answered all it was sent, i.e. until the coordinator
  // waits for the other one, which stays stopped meanwhile. Each turn
  // advances the pooled rounds by at least one secure-round step and never
  // past a step the stopped site has not answered; repeated until the second
  // pooled round has started (it cannot complete: both sites are stopped).
  ASSERT_TRUE(AuditTail::PollUntil([&] { return ReceiptsIn(tail, d); }, kStepWait));
  drill.site(d).Kill(SIGSTOP);
  const auto pending = [&](const std::string& site) { return sent_to(site) > answered_by(site); };
  for (int turn = 0; tail.Count(RoundStart(pooled_first + 1)) == 0; ++turn) {
    ASSERT_LT(turn, 64) << "no second pooled round";
    ASSERT_TRUE(AuditTail::PollUntil([&] { return pending(d) || pending(e); }, kStepWait))
        << "turn " << turn << ": the coordinator waits for neither external site\n"
        << first->Stderr();
    const std::string& site = pending(d) ? d : e;
    const std::size_t before = answered_by(site);
    drill.site(site).Kill(SIGCONT);
    ASSERT_TRUE(AuditTail::PollUntil([&] { return answered_by(site) > before && !pending(site); },
                                     kStepWait))
        << "turn " << turn << ": " << site << " answered " << answered_by(site) << " of "
        << sent_to(site) << "\n"
        << first->Stderr();
    drill.site(site).Kill(SIGSTOP);
  }
  // The coordinator waits inside the second pooled round.
  first->Kill(SIGKILL);
  ASSERT_TRUE(first->WaitForExit(milliseconds(5000)).has_value());
  EXPECT_EQ(tail.Count(Event("round_end")), trained + 3);  // + 2 local + 1 pooled
  const auto recorded =
      JournalRounds(out_b + "/coordinator.journal",
                    {"train", "external:" + d, "external:" + e, "external-pooled"});
  EXPECT_EQ(recorded.at("train"), trained);
  EXPECT_EQ(recorded.at("external:" + d), 1u);
  EXPECT_EQ(recorded.at("external:" + e), 1u);
  EXPECT_EQ(recorded.at("external-pooled"), 1u);
  drill.site(d).Kill(SIGCONT);
  drill.site(e).Kill(SIGCONT);

  // --- resume ---
  const std::size_t before_resume = tail.entries().size();
  auto resumed = drill.StartCoordinator("coordinator-resumed", {"--resume"});
  ASSERT_NE(resumed, nullptr);
  const auto code = resumed->WaitForExit(Consortium::kJobWait);
  ASSERT_TRUE(code.has_value()) << "the resumed coordinator did not finish";
  ASSERT_EQ(*code, 0) << resumed->Stderr() << "\nlog:\n"
                      << ReadTextFile(drill.study().CoordinatorLog());
  ASSERT_NO_FATAL_FAILURE(drill.ExpectSitesFinished());
  // The resumed coordinator asked the second pooled round again and the
  // ones after it, nothing before.
  const std::vector<json> all = tail.entries();
  const std::vector<json> after(all.begin() + static_cast<std::ptrdiff_t>(before_resume),
                                all.end());
  ExpectResumedRounds(after, pooled_first + 1, pooled_first + pooled - 1);
  EXPECT_EQ(tail.Count(Event("round_end")), rounds_a);

  ASSERT_NO_FATAL_FAILURE(ExpectSameOutputs(out_a, out_b));
  drill.ExpectAuditLogsVerify();
}

}  // namespace
}  // namespace fedrad::integration

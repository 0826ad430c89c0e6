// `fedrad demo` (tools/include/fedrad/tools/demo.hpp; docs/demo.md).
#include "fedrad/tools/demo.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fedrad/common/audit_verify.hpp"
#include "fedrad/common/files.hpp"
#include "fedrad/common/keys.hpp"
#include "fedrad/common/logging.hpp"
#include "fedrad/common/sodium_init.hpp"
#include "fedrad/common/version.hpp"
#include "fedrad/site_agent/policy.hpp"
#include "fedrad/site_agent/synth.hpp"

namespace fedrad::tools {
namespace {

namespace fs = std::filesystem;
using common::Result;
using common::Status;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

constexpr const char* kMarker = "DEMO.txt";
constexpr const char* kStudyId = "crlm-demo";
constexpr const char* kApprover = "demo site operator (fedrad demo)";

// ---------------------------------------------------------------------------
// The study the demo runs.

// The sites of the demo: --sites, or the default / quick consortium.
Result<std::vector<site_agent::SynthSite>> DemoSites(const DemoOptions& options) {
  if (!options.sites.empty()) {
    FEDRAD_ASSIGN_OR_RETURN(auto sites, site_agent::ParseSynthSites(options.sites));
    int train = 0;
    for (const auto& s : sites) train += s.external ? 0 : 1;
    if (train < 3) {
      return common::InvalidArgument(
          "--sites: the demo needs at least 3 training sites (secure aggregation with "
          "privacy.min_sites 3), got " +
          std::to_string(train));
    }
    for (const auto& site : sites) {
      if (site.id == "coordinator" || site.id == "keys" || site.id == "synthetic") {
        return common::InvalidArgument("--sites: \"" + site.id +
                                       "\" is a folder of the demo (coordinator, keys, "
                                       "synthetic); choose another site id");
      }
    }
    return sites;
  }
  if (!options.quick) return site_agent::DefaultSynthSites();
  return std::vector<site_agent::SynthSite>{{"hospital_a", false, 60},
                                            {"hospital_b", false, 56},
                                            {"hospital_c", false, 52},
                                            {"hospital_d", true, 40}};
}

// Radiomics parameters of the demo. The default set (docs/radiomics.md:
// original + 3 LoG + 4 wavelet bands on lesion, 5 mm ring and parenchyma,
// ~3,800 features) costs minutes of secure aggregation on 2 cores (every
// LASSO round sums gradients over every feature); the demo keeps the
// original image on the lesion and its 5 mm ring (where the synthetic risk
// lives: lesion size, darkness, heterogeneity, margin and halo; the
// parenchyma carries none) and the families that describe them.
// docs/demo.md explains the choice.
Json DemoRadiomicsParams(bool quick) {
  Json families = Json::object();
  for (const char* family : {"firstorder", "shape2D", "glcm"}) families[family] = Json::array();
  if (!quick) {
    for (const char* family : {"glrlm", "glszm", "gldm", "ngtdm"}) {
      families[family] = Json::array();
    }
  }
  Json params;
  params["imageType"] = {{"Original", Json::object()}};
  params["featureClass"] = families;
  params["setting"] = {{"binCount", 32},
                       {"distances", {1}},
                       {"aggregation", "2D:avg"},
                       {"zoneConnectivity", 8},
                       {"gldm_a", 0},
                       {"colorConversion", "luminance"},
                       {"label", 0},
                       {"minimumROISize", 10}};
  params["regions"] = {
      {"lesion", {{"components", "largest"}}}, {"ringWidthsMm", {5}}, {"parenchyma", false}};
  return params;
}

// The data dictionary (contract C1): the paper's six clinical predictors
// (five binary, CA19-9 > 200 U/mL derived from the measured value), plus
// age and sex, which are validated but do not enter the models.
Json DemoDataDictionary() {
  Json variables = Json::array();
  const std::pair<const char*, const char*> binaries[] = {
      {"nodal_positive", "lymph-node positive primary tumour"},
      {"synchronous_metastases", "liver metastases found with the primary"},
      {"bilobar_metastases", "metastases in both liver lobes"},
      {"preoperative_chemotherapy", "chemotherapy before liver resection"},
      {"targeted_drugs", "targeted therapy (e.g. anti-EGFR, anti-VEGF) before resection"}};
  for (const auto& [name, description] : binaries) {
    variables.push_back({{"name", name}, {"type", "binary"}, {"description", description}});
  }
  variables.push_back({{"name", "ca19_9_u_ml"},
                       {"type", "number"},
                       {"unit", "U/mL"},
                       {"range", {0, 100000}},
                       {"description", "preoperative serum CA19-9"}});
  variables.push_back({{"name", "age_years"},
                       {"type", "integer"},
                       {"unit", "years"},
                       {"range", {18, 100}},
                       {"description", "age at surgery (validated, not a predictor)"}});
  variables.push_back({{"name", "sex"},
                       {"type", "categorical"},
                       {"levels", {"F", "M"}},
                       {"description", "F or M (validated, not a predictor)"}});
  Json dictionary;
  dictionary["id_column"] = "case_id";
  dictionary["label_column"] = "recurrence_2y";
  dictionary["missing"] = "refuse";
  dictionary["variables"] = variables;
  dictionary["derived"] = {
      {{"name", "ca19_9_gt_200"}, {"variable", "ca19_9_u_ml"}, {"op", ">"}, {"threshold", 200}}};
  dictionary["features"] = {"nodal_positive",     "synchronous_metastases",
                            "bilobar_metastases", "preoperative_chemotherapy",
                            "targeted_drugs",     "ca19_9_gt_200"};
  return dictionary;
}

struct Party {
  std::string id;
  bool external = false;
  int cases = 0;
  common::PublicIdentity pub;
};

Json DemoStudySpec(const std::vector<Party>& sites, bool quick) {
  Json spec;
  spec["study_id"] = kStudyId;
  spec["table"] = {{"id_column", "case_id"}, {"label_column", "label"}, {"fold_column", ""}};
  spec["data_dictionary"] = DemoDataDictionary();
  spec["radiomics"] = {{"params", "radiomics.json"}};
  const Json radiomics = {"lesion_*", "ring5mm_*"};
  Json combined = {"clin_*"};
  for (const auto& pattern : radiomics) combined.push_back(pattern);
  spec["models"] = {{{"name", "clinical"}, {"columns", {"clin_*"}}},
                    {{"name", "radiomics"}, {"columns", radiomics}},
                    {{"name", "combined"}, {"columns", combined}}};
  spec["cv"] = {{"folds", quick ? 3 : 5}, {"seed", 20260101}, {"selection", "nested"}};
  spec["lasso"] = {{"nlambda", quick ? 20 : 100},
                   {"lambda_min_ratio", 0.05},
                   {"kkt_tolerance", 1e-7},
                   {"lambda_choice", "lambda.min"},
                   {"fold_lambda_path", "own"}};
  spec["svm"] = {{"c_grid", {0.0078125, 0.015625, 0.03125, 0.0625, 0.125, 0.25, 0.5, 1, 2, 4}},
                 {"loss", "squared_hinge"},
                 {"regularize_bias", false},
                 {"bias_value", 1},
                 {"histogram_bins", 512}};
  spec["platt"] = true;
  Json list = Json::array();
  for (const Party& site : sites) {
    list.push_back({{"id", site.id},
                    {"sign_public_key", site.pub.sign_public_hex},
                    {"role", site.external ? "external" : "train"}});
  }
  spec["sites"] = list;
  spec["privacy"] = {{"secure_aggregation", true},
                     {"min_sites", 3},
                     {"allow_fewer_sites", false},
                     {"threshold", 0},
                     {"on_refusal", "stop"}};
  return spec;
}

// ---------------------------------------------------------------------------
// Files.

Status WriteJson(const fs::path& path, const Json& json, unsigned mode = 0644) {
  return common::WriteFileAtomic(path.string(), json.dump(2) + "\n", mode);
}

Status MakeDir(const fs::path& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return common::IoError(path.string() + ": cannot create the folder: " + ec.message());
  return Status();
}

Status CopyFile(const fs::path& from, const fs::path& to) {
  FEDRAD_ASSIGN_OR_RETURN(std::string text, common::ReadFile(from.string()));
  return common::WriteFileAtomic(to.string(), text);
}

// An empty (or missing) folder to write the demo into. With `force`, a
// previous demo's folder (it holds DEMO.txt) is removed first.
Status PrepareOutDir(const fs::path& dir, bool force) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) {
      return common::AlreadyExists(dir.string() + " exists and is not a folder");
    }
    if (!fs::is_empty(dir, ec)) {
      if (!force) {
        return common::AlreadyExists(
            dir.string() +
            " exists and is not empty; give another --out, or --force to replace a previous "
            "demo's folder");
      }
      if (!fs::exists(dir / kMarker, ec)) {
        return common::AlreadyExists(dir.string() + " is not empty and holds no " + kMarker +
                                     " (not a previous demo's folder): refusing to delete it "
                                     "even with --force");
      }
      fs::remove_all(dir, ec);
      if (ec) return common::IoError(dir.string() + ": cannot remove: " + ec.message());
    }
  }
  return MakeDir(dir);
}

// A TCP port on 127.0.0.1 that is free now (the kernel's choice).
Result<int> FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return common::IoError("socket(): " + std::string(std::strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return common::IoError("cannot find a free port on 127.0.0.1: " + why);
  }
  ::close(fd);
  return static_cast<int>(ntohs(address.sin_port));
}

std::string Tail(const fs::path& path, std::size_t lines) {
  auto text = common::ReadFile(path.string(), 256u << 20);
  if (!text.ok() || text->empty()) return "";
  std::deque<std::string> last;
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    last.push_back(line);
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (const auto& line : last) out += "    " + line + "\n";
  return out;
}

std::string MinSec(double seconds) {
  const auto total = static_cast<long>(std::max(0.0, seconds) + 0.5);
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%ld:%02ld", total / 60, total % 60);
  return buffer;
}

// New complete lines appended to a file since the last call.
class LineTail {
 public:
  explicit LineTail(fs::path path) : path_(std::move(path)) {}
  std::vector<std::string> Poll() {
    std::vector<std::string> lines;
    std::ifstream in(path_, std::ios::binary);
    if (!in) return lines;
    in.seekg(offset_);
    std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    offset_ += static_cast<std::streamoff>(chunk.size());
    partial_ += chunk;
    std::size_t start = 0;
    for (std::size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
      lines.push_back(partial_.substr(start, nl - start));
    }
    partial_.erase(0, start);
    return lines;
  }

 private:
  fs::path path_;
  std::streamoff offset_ = 0;
  std::string partial_;
};

// ---------------------------------------------------------------------------
// Child processes.

struct Child {
  std::string name;   // party id
  fs::path folder;    // its folder
  fs::path log_file;  // its log (config "log.file")
  pid_t pid = -1;
  std::optional<int> status;  // exit code, or 128 + signal
};

Result<pid_t> Spawn(const std::string& binary, const std::vector<std::string>& args,
                    const fs::path& stdout_path, const fs::path& stderr_path) {
  std::vector<std::string> argv_storage{binary};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return common::IoError("fork(): " + std::string(std::strerror(errno)));
  if (pid == 0) {
    // Own process group: a terminal's Ctrl-C reaches only the demo, which
    // stops its children itself; SIGTERM if the demo dies.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    const int out = ::open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    const int err = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out < 0 || err < 0) ::_exit(127);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, STDIN_FILENO);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

// Reaps `child` if it has exited (block: wait for it).
bool Reap(Child& child, bool block) {
  if (child.status) return true;
  if (child.pid <= 0) return true;
  int status = 0;
  const pid_t r = ::waitpid(child.pid, &status, block ? 0 : WNOHANG);
  if (r != child.pid) return false;
  child.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

std::string DescribeExit(int status) {
  if (status > 128) {
    const char* name = ::strsignal(status - 128);
    return "killed by signal " + std::to_string(status - 128) + " (" +
           (name != nullptr ? name : "?") + ")";
  }
  return "exit status " + std::to_string(status);
}

// SIGTERM to every running child, SIGKILL after `grace`.
void StopAll(std::vector<Child>& children, std::chrono::milliseconds grace) {
  for (Child& child : children) {
    if (!Reap(child, false)) ::kill(child.pid, SIGTERM);
  }
  const auto deadline = Clock::now() + grace;
  for (;;) {
    bool running = false;
    for (Child& child : children) running |= !Reap(child, false);
    if (!running) return;
    if (Clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (Child& child : children) {
    if (!Reap(child, false)) {
      ::kill(child.pid, SIGKILL);
      Reap(child, true);
    }
  }
}

std::string FailureReport(const Child& child) {
  std::string text = child.name + " failed (" + DescribeExit(*child.status) + ")\n";
  const fs::path console = child.folder / "console.txt";
  if (std::string tail = Tail(console, 15); !tail.empty()) {
    text += "  last lines of " + console.string() + ":\n" + tail;
  }
  if (std::string tail = Tail(child.log_file, 15); !tail.empty()) {
    text += "  last lines of " + child.log_file.string() + ":\n" + tail;
  }
  return text;
}

// ---------------------------------------------------------------------------
// Progress, from the coordinator's JSON log and audit log.

enum class Phase { kConnecting, kPreparing, kTraining, kEvaluation, kFinishing };

const char* PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kConnecting:
      return "sites connecting";
    case Phase::kPreparing:
      return "sites validating data + extracting radiomics";
    case Phase::kTraining:
      return "training (secure aggregation)";
    case Phase::kEvaluation:
      return "evaluation";
    case Phase::kFinishing:
      return "writing results";
  }
  return "?";
}

struct ProgressState {
  Phase phase = Phase::kConnecting;
  Clock::time_point start;
  Clock::time_point phase_start;
  std::set<std::string> connected;
  std::set<std::string> accepted;
  std::size_t sites = 0;
  int fits_done = 0;
  int fits_total = 0;
  std::int64_t round = 0;
  std::int64_t round_at_training = 0;
  std::string failure;  // why the coordinator is failing, from its log
  // ETA model (seconds), calibrated on the 2-core reference machine
  // (docs/demo.md): extraction per case (all sites in parallel on the
  // cores), typical total rounds, seconds per round before any is measured,
  // evaluation.
  double extraction_s = 0;
  double typical_rounds = 0;
  double round_s = 0.1;
  double evaluation_s = 5;

  void Enter(Phase next) {
    if (next <= phase) return;
    phase = next;
    phase_start = Clock::now();
    if (next == Phase::kTraining) round_at_training = round;
  }

  // Applies one coordinator log record (JSON lines format).
  void OnLog(const std::string& line) {
    const Json record = Json::parse(line, nullptr, false);
    if (!record.is_object()) return;
    const std::string msg = record.value("msg", "");
    const std::string site = record.value("site", "");
    if (msg == "site connected") {
      connected.insert(site);
      if (connected.size() >= sites) Enter(Phase::kPreparing);
    } else if (msg == "session ended") {
      connected.erase(site);
    } else if (msg == "site accepted the study") {
      accepted.insert(site);
    } else if (msg == "study started") {
      Enter(Phase::kTraining);
    } else if (msg == "progress") {
      const std::string step = record.value("step", "");
      if (step == "evaluation") {
        Enter(Phase::kEvaluation);
      } else if (step.find(": done (") != std::string::npos) {
        ++fits_done;
      }
    } else if (msg == "job completed") {
      Enter(Phase::kFinishing);
    } else if (msg == "site declined the study" || msg == "study failed") {
      failure = msg + ": " + site + (site.empty() ? "" : ": ") +
                record.value("reason", record.value("error", ""));
    } else if (msg == "site refused a round by its disclosure policy") {
      failure = msg + ": " + site + ": " + record.value("reason", "");
    }
  }

  // Applies one coordinator audit record: the current round.
  void OnAudit(const std::string& line) {
    if (line.find("\"event\":\"round_start\"") == std::string::npos) return;
    const Json record = Json::parse(line, nullptr, false);
    if (record.is_object()) round = std::max<std::int64_t>(round, record.value("round", 0));
  }

  double Elapsed() const { return std::chrono::duration<double>(Clock::now() - start).count(); }

  // Seconds left (an estimate; see the model above).
  double Eta() const {
    const double in_phase = std::chrono::duration<double>(Clock::now() - phase_start).count();
    const double training_rounds = typical_rounds;
    double per_round = round_s;
    const double done_rounds = static_cast<double>(round - round_at_training);
    if (phase == Phase::kTraining && done_rounds >= 20) per_round = in_phase / done_rounds;
    const double training_s = training_rounds * per_round;
    switch (phase) {
      case Phase::kConnecting:
        return extraction_s + training_s + evaluation_s;
      case Phase::kPreparing:
        return std::max(extraction_s - in_phase, 1.0) + training_s + evaluation_s;
      case Phase::kTraining: {
        const double rounds_left =
            std::max(training_rounds * 1.0 - done_rounds, 0.05 * training_rounds);
        return rounds_left * per_round + evaluation_s;
      }
      case Phase::kEvaluation:
        return std::max(evaluation_s - in_phase, 1.0);
      case Phase::kFinishing:
        return 0;
    }
    return 0;
  }

  std::string Line() const {
    std::string text = "[" + MinSec(Elapsed()) + "] " + PhaseName(phase);
    if (phase == Phase::kPreparing) {
      text += " (" + std::to_string(accepted.size()) + "/" + std::to_string(sites) + " ready)";
    }
    if (phase == Phase::kTraining) {
      text += " (model fits " + std::to_string(fits_done) + "/" + std::to_string(fits_total) + ")";
    }
    if (round > 0) text += " | round " + std::to_string(round);
    text +=
        " | sites " + std::to_string(connected.size()) + "/" + std::to_string(sites) + " connected";
    if (phase != Phase::kFinishing) text += " | ETA ~" + MinSec(Eta());
    return text;
  }
};

// ---------------------------------------------------------------------------
// The demo.

struct Layout {
  fs::path root;
  fs::path keys;
  fs::path coordinator;
  fs::path results;
  fs::path Site(const std::string& id) const { return root / id; }
};

std::string DemoText(const std::vector<Party>& sites) {
  std::string text =
      "This folder was written by `fedrad demo` (fedrad " + std::string(common::Version()) +
      "): a synthetic consortium (NOT patient data) and a complete federated study over it.\n"
      "Every party's folder holds the configs it would use on its own machine (paths are\n"
      "relative to each config file). docs/demo.md explains every file.\n\n"
      "Rerun the study by hand (one terminal each):\n"
      "  fedrad coordinator --config coordinator/coordinator.json\n";
  for (const Party& site : sites) {
    text += "  fedrad site --config " + site.id + "/site.json --exit-after-study\n";
  }
  text += "Check the audit trail:\n  fedrad audit verify coordinator/coordinator.audit.jsonl";
  for (const Party& site : sites) text += " " + site.id + "/" + site.id + ".audit.jsonl";
  text += " --keys keys\n";
  text += "Results: coordinator/results/report.html, coordinator/results/results.json\n";
  return text;
}

// Writes the consortium, keys, specs, configs and policies.
Result<std::vector<Party>> WriteConsortium(const DemoOptions& options, const Layout& layout,
                                           int port, std::ostream& out) {
  FEDRAD_ASSIGN_OR_RETURN(std::vector<site_agent::SynthSite> synth_sites, DemoSites(options));
  // 1. Synthetic data, then each site's data moved into its own folder.
  const fs::path synthetic = layout.root / "synthetic";
  site_agent::SynthOptions synth;
  synth.out_dir = synthetic.string();
  synth.sites = synth_sites;
  synth.seed = options.seed;
  out << "writing the synthetic consortium (seed " << options.seed << ")\n";
  FEDRAD_ASSIGN_OR_RETURN(
      auto summaries, site_agent::GenerateConsortium(
                          synth, [&](const std::string& line) { out << "  " << line << "\n"; }));
  std::vector<Party> sites;
  for (const auto& summary : summaries) {
    Party party;
    party.id = summary.id;
    party.external = summary.external;
    party.cases = summary.cases;
    FEDRAD_RETURN_IF_ERROR(MakeDir(layout.Site(party.id)));
    std::error_code ec;
    fs::rename(synthetic / party.id, layout.Site(party.id) / "data", ec);
    if (ec) {
      return common::IoError((synthetic / party.id).string() + ": cannot move to " +
                             (layout.Site(party.id) / "data").string() + ": " + ec.message());
    }
    sites.push_back(std::move(party));
  }

  // 2. Identities: each party's secret stays in its folder; the public
  // blocks are collected in keys/ (the auditor's --keys directory).
  out << "each site's data moved to DIR/<site>/data (its own folder, as on its own machine)\n";
  out << "creating keys (fedrad keygen) for the coordinator and " << sites.size() << " sites\n";
  FEDRAD_RETURN_IF_ERROR(MakeDir(layout.keys));
  auto keygen = [&](const std::string& name,
                    const fs::path& folder) -> Result<common::PublicIdentity> {
    FEDRAD_RETURN_IF_ERROR(common::RunKeygen(name, (folder / "keys").string(), nullptr));
    const fs::path pub = folder / "keys" / (name + ".public");
    FEDRAD_RETURN_IF_ERROR(CopyFile(pub, layout.keys / (name + ".public")));
    return common::LoadPublicIdentity(pub.string());
  };
  FEDRAD_ASSIGN_OR_RETURN(common::PublicIdentity coordinator_pub,
                          keygen("coordinator", layout.coordinator));
  for (Party& site : sites) {
    FEDRAD_ASSIGN_OR_RETURN(site.pub, keygen(site.id, layout.Site(site.id)));
  }

  // 3. The study (same bytes at every party: each site approves its SHA-256).
  const Json spec = DemoStudySpec(sites, options.quick);
  const Json params = DemoRadiomicsParams(options.quick);
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(port);
  out << "writing the study spec, configs and site policies\n";
  FEDRAD_RETURN_IF_ERROR(WriteJson(layout.coordinator / "study.json", spec));
  FEDRAD_RETURN_IF_ERROR(WriteJson(layout.coordinator / "radiomics.json", params));

  Json admitted = Json::array();
  for (const Party& site : sites) {
    admitted.push_back({{"id", site.id},
                        {"curve_public_key", site.pub.curve_public_z85},
                        {"sign_public_key", site.pub.sign_public_hex}});
  }
  Json coordinator;
  coordinator["coordinator"] = {{"id", "coordinator"},
                                {"bind", endpoint},
                                {"secret_key_file", "keys/coordinator.secret"},
                                {"heartbeat_interval_ms", 1000},
                                {"heartbeat_liveness", 10},
                                {"job_timeout_s", 600},
                                {"ready_file", "coordinator.endpoint"},
                                {"job", "study"}};
  coordinator["study"] = {{"spec", "study.json"}, {"out_dir", "results"}, {"round_timeout_s", 300}};
  coordinator["log"] = {{"level", "info"}, {"format", "json"}, {"file", "coordinator.log"}};
  coordinator["audit"] = {{"log", "coordinator.audit.jsonl"}};
  coordinator["sites"] = admitted;
  FEDRAD_RETURN_IF_ERROR(WriteJson(layout.coordinator / "coordinator.json", coordinator));

  for (const Party& site : sites) {
    const fs::path folder = layout.Site(site.id);
    FEDRAD_RETURN_IF_ERROR(CopyFile(layout.coordinator / "study.json", folder / "study.json"));
    FEDRAD_RETURN_IF_ERROR(
        CopyFile(layout.coordinator / "radiomics.json", folder / "radiomics.json"));
    Json config;
    config["site"] = {{"id", site.id}, {"secret_key_file", "keys/" + site.id + ".secret"}};
    config["coordinator"] = {{"endpoint", endpoint},
                             {"public_key", coordinator_pub.curve_public_z85}};
    config["data"] = {
        {"clinical", "data/clinical.csv"}, {"manifest", "data/manifest.csv"}, {"work_dir", "work"}};
    config["study"] = {{"spec", "study.json"}};
    config["policy"] = "policy.json";
    config["log"] = {{"level", "info"}, {"format", "human"}, {"file", site.id + ".log"}};
    config["audit"] = {{"log", site.id + ".audit.jsonl"}};
    FEDRAD_RETURN_IF_ERROR(WriteJson(folder / "site.json", config));
    // The site's operator approves the study: `fedrad site approve`'s code.
    FEDRAD_RETURN_IF_ERROR(site_agent::ApproveStudy((folder / "policy.json").string(),
                                                    (folder / "study.json").string(), kApprover));
  }
  // synth's description of the data and its generating model stay in
  // synthetic/ (README.txt, truth.json).
  FEDRAD_RETURN_IF_ERROR(
      common::WriteFileAtomic((layout.root / kMarker).string(), DemoText(sites)));
  return sites;
}

// Waits for the file to exist and be non-empty (the coordinator's ready file).
bool WaitForFile(const fs::path& path, Child& child, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    std::error_code ec;
    if (fs::exists(path, ec) && fs::file_size(path, ec) > 0) return true;
    if (Reap(child, false)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

Status RunParties(const DemoOptions& options, const Layout& layout, const std::vector<Party>& sites,
                  const std::atomic<bool>* stop, std::ostream& out) {
  std::string binary = options.fedrad_binary;
  if (binary.empty()) {
    std::error_code ec;
    binary = fs::read_symlink("/proc/self/exe", ec).string();
    if (ec) return common::Internal("cannot find the fedrad executable: " + ec.message());
  }
  std::vector<Child> children;
  auto start = [&](const std::string& name, const fs::path& folder, const fs::path& log_file,
                   std::vector<std::string> args) -> Status {
    Child child;
    child.name = name;
    child.folder = folder;
    child.log_file = log_file;
    FEDRAD_ASSIGN_OR_RETURN(child.pid,
                            Spawn(binary, args, folder / "summary.txt", folder / "console.txt"));
    children.push_back(std::move(child));
    return Status();
  };

  ProgressState progress;
  progress.start = progress.phase_start = Clock::now();
  progress.sites = sites.size();
  progress.fits_total = 3 * ((options.quick ? 3 : 5) + 1);
  int total_cases = 0;
  for (const Party& site : sites) total_cases += site.cases;
  const unsigned cores = std::max(1u, std::min(2u, std::thread::hardware_concurrency()));
  progress.extraction_s = 2.0 + total_cases * 0.03 / cores;
  progress.typical_rounds = options.quick ? 95 : 270;
  progress.round_s = options.quick ? 0.12 : 0.2;

  std::vector<std::string> coordinator_args{"coordinator", "--config",
                                            (layout.coordinator / "coordinator.json").string()};
  if (options.log_level == "debug" || options.log_level == "trace") {
    coordinator_args.insert(coordinator_args.end(), {"--log-level", options.log_level});
  }
  FEDRAD_RETURN_IF_ERROR(start("coordinator", layout.coordinator,
                               layout.coordinator / "coordinator.log", coordinator_args));
  out << "started coordinator (pid " << children[0].pid << ")\n";
  if (!WaitForFile(layout.coordinator / "coordinator.endpoint", children[0],
                   std::chrono::seconds(20))) {
    StopAll(children, std::chrono::seconds(3));
    Reap(children[0], true);
    return common::Unavailable("the coordinator did not start listening:\n" +
                               FailureReport(children[0]));
  }
  for (const Party& site : sites) {
    const fs::path folder = layout.Site(site.id);
    std::vector<std::string> args{"site", "--config", (folder / "site.json").string(),
                                  "--exit-after-study"};
    if (!options.log_level.empty()) args.insert(args.end(), {"--log-level", options.log_level});
    if (auto s = start(site.id, folder, folder / (site.id + ".log"), args); !s.ok()) {
      StopAll(children, std::chrono::seconds(3));
      return s;
    }
    out << "started site " << site.id << (site.external ? " (external)" : "") << " (pid "
        << children.back().pid << ")\n";
  }
  out.flush();

  LineTail log_tail(layout.coordinator / "coordinator.log");
  LineTail audit_tail(layout.coordinator / "coordinator.audit.jsonl");
  std::string last_line;
  Phase last_phase = progress.phase;
  auto last_print = Clock::now();
  auto draw = [&](bool force) {
    const std::string line = progress.Line();
    if (options.live) {
      out << "\r\033[K" << line << std::flush;
    } else if ((force && line != last_line) || progress.phase != last_phase ||
               Clock::now() - last_print > std::chrono::seconds(10)) {
      out << line << "\n" << std::flush;
      last_print = Clock::now();
    }
    last_phase = progress.phase;
    last_line = line;
  };
  auto end_live = [&] {
    if (options.live) out << "\n";
  };

  Child& coordinator = children[0];
  draw(true);
  for (;;) {
    for (const std::string& line : log_tail.Poll()) progress.OnLog(line);
    for (const std::string& line : audit_tail.Poll()) progress.OnAudit(line);
    if (stop != nullptr && stop->load()) {
      end_live();
      out << "interrupted: stopping the coordinator and the sites\n";
      StopAll(children, std::chrono::seconds(5));
      return common::Cancelled("the demo was interrupted; partial outputs in " +
                               layout.root.string());
    }
    // A failed child stops the demo; a site may end (OK) once the study is over.
    for (Child& child : children) {
      if (!Reap(child, false) || *child.status == 0) continue;
      end_live();
      draw(true);
      StopAll(children, std::chrono::seconds(5));
      std::string text = FailureReport(child);
      if (!progress.failure.empty()) text = "coordinator: " + progress.failure + "\n" + text;
      return common::FailedPrecondition("the demo failed: " + text);
    }
    if (coordinator.status) break;  // exited 0
    draw(false);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (const std::string& line : log_tail.Poll()) progress.OnLog(line);
  progress.Enter(Phase::kFinishing);
  draw(true);
  end_live();
  // The sites end after the coordinator's BYE.
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  for (Child& child : children) {
    while (!Reap(child, false) && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  for (Child& child : children) {
    if (!child.status) {
      StopAll(children, std::chrono::seconds(3));
      return common::TimeoutError("site " + child.name +
                                  " did not exit within 20 s after the study ended:\n" +
                                  FailureReport(child));
    }
    if (*child.status != 0) {
      return common::FailedPrecondition("the demo failed after the study: " + FailureReport(child));
    }
  }
  out << "study finished in " << MinSec(progress.Elapsed()) << " (" << progress.round
      << " rounds)\n";
  return Status();
}

}  // namespace

Status RunDemo(const DemoOptions& options, const std::atomic<bool>* stop, std::ostream& out) {
  const auto started = Clock::now();
  if (!options.log_level.empty()) {
    if (auto level = common::ParseLogLevel(options.log_level); !level.ok()) {
      return level.status().Wrap("--log-level");
    }
  }
  if (auto sites = DemoSites(options); !sites.ok()) return sites.status();
  FEDRAD_RETURN_IF_ERROR(common::InitSodium());
  Layout layout;
  layout.root = fs::absolute(options.out_dir).lexically_normal();
  if (layout.root.has_filename() == false) layout.root = layout.root.parent_path();
  layout.keys = layout.root / "keys";
  layout.coordinator = layout.root / "coordinator";
  layout.results = layout.coordinator / "results";
  FEDRAD_RETURN_IF_ERROR(PrepareOutDir(layout.root, options.force).Wrap("fedrad demo --out"));
  FEDRAD_RETURN_IF_ERROR(MakeDir(layout.coordinator));
  FEDRAD_ASSIGN_OR_RETURN(const int port, FreeLoopbackPort());

  out << "fedrad demo " << common::Version() << ": a federated study on this machine, in "
      << layout.root.string() << "\n";
  FEDRAD_ASSIGN_OR_RETURN(std::vector<Party> sites, WriteConsortium(options, layout, port, out));
  out << "coordinator on 127.0.0.1:" << port << ", " << sites.size() << " sites (";
  for (std::size_t i = 0; i < sites.size(); ++i) {
    out << (i ? ", " : "") << sites[i].id << " " << sites[i].cases << " cases"
        << (sites[i].external ? ", external" : "");
  }
  out << ")\n";
  FEDRAD_RETURN_IF_ERROR(RunParties(options, layout, sites, stop, out));

  // The results table (the coordinator's standard output) and the files.
  if (auto table = common::ReadFile((layout.coordinator / "summary.txt").string()); table.ok()) {
    out << "\n" << *table;
  }
  for (const char* name : {"results.json", "report.html"}) {
    std::error_code ec;
    if (!fs::exists(layout.results / name, ec)) {
      return common::NotFound((layout.results / name).string() +
                              ": the coordinator finished but did not write it");
    }
  }

  // The audit trail of every party.
  std::vector<std::string> logs{(layout.coordinator / "coordinator.audit.jsonl").string()};
  for (const Party& site : sites) {
    logs.push_back((layout.Site(site.id) / (site.id + ".audit.jsonl")).string());
  }
  std::ostringstream report;
  std::ostringstream errors;
  const int verdict = common::RunAuditVerify(logs, layout.keys.string(), report, errors);
  const fs::path verify_file = layout.root / "audit-verify.txt";
  FEDRAD_RETURN_IF_ERROR(
      common::WriteFileAtomic(verify_file.string(), report.str() + errors.str()));
  std::string command = "fedrad audit verify";
  for (const std::string& log : logs) {
    command += " " + fs::relative(log, layout.root).string();
  }
  command += " --keys keys";
  out << "\naudit trail: " << command << " (in " << layout.root.string() << ")\n";
  if (verdict != 0) {
    return common::FailedPrecondition("audit verification failed (" + verify_file.string() +
                                      "):\n" + Tail(verify_file, 20));
  }
  out << "  passed: " << logs.size() << " audit logs, report in " << verify_file.string() << "\n\n";
  out << "outputs:\n"
      << "  report:   " << (layout.results / "report.html").string() << "\n"
      << "  results:  " << (layout.results / "results.json").string() << "\n"
      << "  folder:   " << layout.root.string() << " (" << kMarker
      << " explains it; docs/demo.md)\n"
      << "demo completed in "
      << MinSec(std::chrono::duration<double>(Clock::now() - started).count()) << "\n";
  return Status();
}

}  // namespace fedrad::tools

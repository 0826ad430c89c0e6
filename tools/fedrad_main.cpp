// fedrad: one command line for every party of a federated radiomics study.
// This file only parses arguments and dispatches; the work lives in the
// libraries. Exit codes: 0 success, 1 failure, 2 usage error (CLI11),
// 3 timeout, 4 refused by a peer, 70 internal error, 130 interrupted.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "fedrad/common/audit_verify.hpp"
#include "fedrad/common/keys.hpp"
#include "fedrad/common/logging.hpp"
#include "fedrad/common/sodium_init.hpp"
#include "fedrad/common/status.hpp"
#include "fedrad/common/version.hpp"
#include "fedrad/coordinator/coordinator.hpp"
#include "fedrad/coordinator/coordinator_config.hpp"
#include "fedrad/coordinator/study_runner.hpp"
#include "fedrad/protocols/messages.hpp"
#include "fedrad/site_agent/extract_command.hpp"
#include "fedrad/site_agent/policy.hpp"
#include "fedrad/site_agent/site_agent.hpp"
#include "fedrad/site_agent/site_config.hpp"
#include "fedrad/site_agent/study_data.hpp"
#include "fedrad/site_agent/synth.hpp"
#include "fedrad/tools/demo.hpp"

namespace {

using fedrad::common::Status;
using fedrad::common::StatusCode;

std::atomic<bool> g_stop{false};

extern "C" void OnSignal(int) { g_stop.store(true); }

void InstallSignalHandlers() {
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kTimeout:
      return 3;
    case StatusCode::kVersionMismatch:
    case StatusCode::kPermissionDenied:
    case StatusCode::kUnauthenticated:
      return 4;
    case StatusCode::kCancelled:
      return 130;
    case StatusCode::kInternal:
      return 70;
    default:
      return 1;
  }
}

int Fail(const std::string& command, const Status& status) {
  std::fprintf(stderr, "fedrad %s: error: %s\n", command.c_str(), status.ToString().c_str());
  return ExitCodeFor(status);
}

// Applies the config's log settings, overridden by --log-level/--log-format.
Status SetUpLogging(fedrad::common::LogOptions options, const std::string& level,
                    const std::string& format) {
  if (!level.empty()) {
    FEDRAD_ASSIGN_OR_RETURN(options.level, fedrad::common::ParseLogLevel(level));
  }
  if (!format.empty()) {
    FEDRAD_ASSIGN_OR_RETURN(options.format, fedrad::common::ParseLogFormat(format));
  }
  return fedrad::common::ConfigureLogging(options);
}

// fit / simulate: a spec with a data_dictionary gets its feature dictionary
// from site_agent::StudyFeatureColumns, and a site's DATA may be a folder
// holding clinical.csv and manifest.csv (or radiomics.csv with its
// provenance sidecar), e.g. one site of `fedrad synth`: its study table is
// built and validated as a site agent would (extraction cached in
// OUT/work/<site>). A DATA file is a complete study table as before.
fedrad::coordinator::InProcessHooks StudyDataHooks(const std::string& out_dir) {
  fedrad::coordinator::InProcessHooks hooks;
  hooks.prepare_spec = fedrad::site_agent::ResolveStudyFeatureDictionary;
  hooks.load_table = [out_dir](const std::string& site, const std::string& data,
                               const fedrad::protocols::StudySpec& spec)
      -> fedrad::common::Result<fedrad::site_agent::stats::FeatureTable> {
    std::error_code ec;
    if (!std::filesystem::is_directory(data, ec)) {
      return fedrad::site_agent::stats::ReadFeatureTable(data, spec);
    }
    if (!spec.has_data_dictionary) {
      return fedrad::common::InvalidArgument(
          "site " + site + ": " + data +
          " is a folder, which needs a study spec with a data_dictionary (else give the site's "
          "study table, a CSV file)");
    }
    const std::filesystem::path dir(data);
    fedrad::site_agent::StudyDataSources sources;
    sources.clinical = (dir / "clinical.csv").string();
    if (!spec.radiomics_params.is_null()) {
      if (std::filesystem::exists(dir / "manifest.csv", ec)) {
        sources.manifest = (dir / "manifest.csv").string();
      } else {
        sources.features = (dir / "radiomics.csv").string();
      }
    }
    sources.work_dir = (std::filesystem::path(out_dir) / "work" / site).string();
    auto table = fedrad::site_agent::BuildStudyTableFrom(sources, spec, nullptr, &std::cout);
    if (!table.ok()) return table.status().Wrap("site " + site + " (" + data + ")");
    return table;
  };
  return hooks;
}

int Run(int argc, char** argv) {
  CLI::App app{"fedrad " + std::string(fedrad::common::Version()) +
               ": federated multicenter training of radiomics prediction models.\n"
               "Patient data stay at each hospital; only aggregate statistics travel, over\n"
               "CurveZMQ-encrypted connections between pinned keys."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(fedrad::common::Version()));

  std::string log_level;
  std::string log_format;
  auto add_log_flags = [&](CLI::App* sub) {
    sub->add_option("--log-level", log_level, "trace|debug|info|warn|error (overrides the config)");
    sub->add_option("--log-format", log_format, "human|json (overrides the config)");
  };

  // keygen
  std::string key_name;
  std::string key_dir;
  std::string show_public;
  CLI::App* keygen = app.add_subcommand(
      "keygen", "Create a party identity (CURVE + Ed25519 keys), or print its public block");
  auto* name_opt = keygen->add_option("--name", key_name, "party name, e.g. site_a or coordinator");
  auto* out_opt = keygen->add_option("--out", key_dir, "directory for NAME.secret and NAME.public");
  auto* show_opt = keygen->add_option("--show-public", show_public,
                                      "print the public block of a .secret or .public file");
  name_opt->needs(out_opt);
  out_opt->needs(name_opt);
  show_opt->excludes(name_opt)->excludes(out_opt);

  // coordinator
  std::string coordinator_config;
  CLI::App* coord = app.add_subcommand("coordinator", "Run the study coordinator");
  coord->add_option("--config", coordinator_config, "coordinator config (JSON)")
      ->required()
      ->check(CLI::ExistingFile);
  bool coordinator_resume = false;
  coord->add_flag("--resume", coordinator_resume,
                  "continue the study recorded in the round journal (study.journal) after a "
                  "crash or a stop, instead of starting it over");
  add_log_flags(coord);

  // site
  std::string site_config;
  bool exit_after_bye = false;
  CLI::App* site = app.add_subcommand("site", "Run a hospital's site agent");
  site->add_option("--config", site_config, "site config (JSON; required to run the agent)")
      ->check(CLI::ExistingFile);
  site->add_flag("--exit-after-study", exit_after_bye,
                 "exit when the coordinator ends the study instead of waiting for the next one");
  add_log_flags(site);
  // site review / site approve (site_agent/policy.hpp)
  std::string policy_spec;
  std::string policy_file;
  std::string policy_approver;
  site->require_subcommand(0, 1);
  CLI::App* site_review = site->add_subcommand(
      "review", "Show what a study will compute and what will leave this site");
  site_review->add_option("spec", policy_spec, "study spec (JSON)")
      ->required()
      ->check(CLI::ExistingFile);
  site_review->add_option("--policy", policy_file,
                          "this site's policy file (JSON; default: the \"policy\" of the site "
                          "config given with `site --config`; absent = the built-in defaults)");
  CLI::App* site_approve = site->add_subcommand(
      "approve", "Record a study spec's SHA-256 as approved in this site's policy file");
  site_approve->add_option("spec", policy_spec, "study spec (JSON)")
      ->required()
      ->check(CLI::ExistingFile);
  site_approve->add_option("--policy", policy_file,
                           "this site's policy file (created if absent; default: the \"policy\" "
                           "of the site config given with `site --config`)");
  site_approve->add_option("--by", policy_approver, "who approves (name or role)")->required();

  // extract
  fedrad::site_agent::ExtractOptions extract_options;
  bool extract_quiet = false;
  CLI::App* extract = app.add_subcommand(
      "extract", "Compute IBSI radiomics features for one case or a whole cohort");
  extract
      ->add_option("--manifest", extract_options.manifest,
                   "cohort CSV: case_id,image,lesion_mask[,parenchyma_mask,fov_mask,"
                   "spacing_x_mm,spacing_y_mm]")
      ->check(CLI::ExistingFile);
  extract->add_option("--image", extract_options.image, "single case: the image")
      ->check(CLI::ExistingFile);
  extract->add_option("--mask", extract_options.mask, "single case: the lesion mask")
      ->check(CLI::ExistingFile);
  extract
      ->add_option("--parenchyma", extract_options.parenchyma,
                   "single case: tumour-free liver parenchyma mask")
      ->check(CLI::ExistingFile);
  extract
      ->add_option("--fov", extract_options.field_of_view,
                   "single case: field-of-view mask (the scanned sector)")
      ->check(CLI::ExistingFile);
  extract->add_option("--spacing", extract_options.spacing, "single case: pixel spacing X,Y in mm");
  extract
      ->add_option("--params", extract_options.params,
                   "parameter file (JSON; see docs/radiomics.md); default: the built-in set")
      ->check(CLI::ExistingFile);
  extract->add_option("--out", extract_options.out, "feature table to write (CSV)")->required();
  extract->add_option("--jobs", extract_options.jobs, "worker threads")
      ->check(CLI::Range(1, 256))
      ->default_val(1);
  extract->add_flag("--quiet", extract_quiet, "no progress display");

  // fit --pooled
  std::string fit_data;
  std::string fit_spec;
  std::string fit_out;
  CLI::App* fit = app.add_subcommand(
      "fit",
      "Fit a study's models on one pooled table in this process (the reference for the\n"
      "federated fit; writes DIR/<model>/model.json and DIR/study.json)");
  fit->add_option("--pooled", fit_data,
                  "feature table (CSV: id, label 0/1, optional fold id, feature columns), or a "
                  "folder with clinical.csv and manifest.csv (spec with a data_dictionary)")
      ->required()
      ->check(CLI::ExistingPath);
  fit->add_option("--spec", fit_spec, "study specification (JSON; see docs/configuration.md)")
      ->required()
      ->check(CLI::ExistingFile);
  fit->add_option("--out", fit_out, "output folder (created if missing)")->required();

  // simulate
  std::vector<std::string> simulate_sites;
  std::string simulate_spec;
  std::string simulate_out;
  CLI::App* simulate =
      app.add_subcommand("simulate",
                         "Run the federated fit in this process with one in-memory site per table\n"
                         "(same outputs as fit; sites exchange only aggregated statistics)");
  simulate
      ->add_option("--spec", simulate_spec, "study specification (JSON; see docs/configuration.md)")
      ->required()
      ->check(CLI::ExistingFile);
  simulate
      ->add_option("--site", simulate_sites,
                   "NAME=DATA: a site's name and feature table, or its folder with "
                   "clinical.csv and manifest.csv (repeat for every site)")
      ->required()
      ->take_all()
      ->allow_extra_args(false);
  std::vector<std::string> simulate_externals;
  simulate
      ->add_option("--external", simulate_externals,
                   "NAME=DATA.csv: an external validation site (not in the fit; the frozen "
                   "models are evaluated on it; repeatable)")
      ->take_all()
      ->allow_extra_args(false);
  simulate->add_option("--out", simulate_out, "output folder (created if missing)")->required();

  // synth
  fedrad::site_agent::SynthOptions synth_options;
  std::string synth_sites;
  CLI::App* synth = app.add_subcommand(
      "synth",
      "Write a synthetic consortium (ultrasound-like images, masks, manifests, clinical\n"
      "tables with known recurrence risk) for the demo and for trying fedrad out");
  synth->add_option("--out", synth_options.out_dir, "new (or empty) output folder")->required();
  synth
      ->add_option("--sites", synth_sites,
                   "id:role:cases,... (role train|external); default "
                   "hospital_a:train:80,hospital_b:train:74,hospital_c:train:70,"
                   "hospital_d:external:54")
      ->capture_default_str();
  synth->add_option("--seed", synth_options.seed, "random seed (same seed, same files)")
      ->capture_default_str();
  synth->add_option("--image-size", synth_options.image_size, "image width = height in pixels")
      ->capture_default_str();
  synth->add_option("--spacing", synth_options.spacing_mm, "pixel size in mm")
      ->capture_default_str();

  // audit verify
  std::vector<std::string> audit_logs;
  std::string audit_keys;
  CLI::App* audit = app.add_subcommand("audit", "Audit trail tools (see docs/audit.md)");
  audit->require_subcommand(1);
  CLI::App* audit_verify = audit->add_subcommand(
      "verify",
      "Check audit logs: hash chains, signatures, send/receive cross-checks and receipts;\n"
      "print what left each party. Exit 0 pass, 1 fail, 2 usage");
  audit_verify->add_option("LOG", audit_logs, "audit log files (JSON lines), one per party")
      ->required();
  audit_verify->add_option("--keys", audit_keys, "directory with the parties' NAME.public files")
      ->required();

  // demo (tools/demo.hpp)
  fedrad::tools::DemoOptions demo_options;
  CLI::App* demo = app.add_subcommand(
      "demo",
      "Run a whole federated study on this machine: a synthetic consortium, keys, configs,\n"
      "the coordinator and one site agent process per hospital on 127.0.0.1, live progress,\n"
      "results table, results.json, report.html, audit verification (docs/demo.md)");
  demo->add_option("--out", demo_options.out_dir, "new (or empty) output folder")
      ->capture_default_str();
  demo->add_flag("--force", demo_options.force, "replace a previous demo's output folder");
  demo->add_option("--seed", demo_options.seed, "random seed of the synthetic consortium")
      ->capture_default_str();
  demo->add_option("--sites", demo_options.sites,
                   "id:role:cases,... as for `fedrad synth` (at least 3 train sites); default "
                   "hospital_a:train:80,hospital_b:train:74,hospital_c:train:70,"
                   "hospital_d:external:54");
  demo->add_flag("--quick", demo_options.quick,
                 "smaller cohorts and a lighter study (tests; about a third of the time)");
  demo->add_option("--log-level", demo_options.log_level,
                   "log level of the site processes (trace|debug|info|warn|error)");

  // version
  CLI::App* version = app.add_subcommand("version", "Print the version and protocol version");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0; everything else is
    // a usage error: exit 2 as documented (not CLI11's own numbers).
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (keygen->parsed()) {
    if (auto s = fedrad::common::InitSodium(); !s.ok()) return Fail("keygen", s);
    if (!show_public.empty()) {
      auto text = fedrad::common::ShowPublic(show_public);
      if (!text.ok()) return Fail("keygen", text.status());
      std::cout << *text;
      return 0;
    }
    if (key_name.empty()) {
      std::fprintf(stderr, "fedrad keygen: give --name NAME --out DIR, or --show-public FILE\n");
      return 2;
    }
    std::string report;
    if (auto s = fedrad::common::RunKeygen(key_name, key_dir, &report); !s.ok()) {
      return Fail("keygen", s);
    }
    std::cout << report;
    return 0;
  }
  if (extract->parsed()) {
    extract_options.progress = !extract_quiet;
    const bool tty = isatty(STDERR_FILENO) != 0;
    auto summary = fedrad::site_agent::RunExtract(extract_options, std::cerr, tty);
    if (!summary.ok()) {
      // For extract every refusal is about local files or parameters: exit 1
      // (4 is reserved for a peer's refusal), 70 for a bug.
      const int code = Fail("extract", summary.status());
      return code == 70 ? 70 : 1;
    }
    std::cout << "extracted " << summary->succeeded << " of " << summary->cases << " cases in "
              << summary->seconds << " s\n  table:      " << summary->table_path
              << "\n  provenance: " << summary->provenance_path << "\n";
    if (!summary->failures.empty()) {
      std::cerr << "fedrad extract: " << summary->failures.size() << " case(s) failed:\n";
      for (const auto& [id, why] : summary->failures)
        std::cerr << "  " << id << ": " << why << "\n";
      return 1;
    }
    return 0;
  }
  if (fit->parsed()) {
    Status s = fedrad::coordinator::RunFitPooled(fit_spec, fit_data, fit_out, std::cout,
                                                 StudyDataHooks(fit_out));
    if (!s.ok()) return Fail("fit", s) == 70 ? 70 : 1;
    return 0;
  }
  if (simulate->parsed()) {
    std::vector<std::pair<std::string, std::string>> sites;
    std::vector<std::pair<std::string, std::string>> externals;
    for (const auto& [flag, entries, out] :
         {std::tuple{"--site", &simulate_sites, &sites},
          std::tuple{"--external", &simulate_externals, &externals}}) {
      for (const std::string& entry : *entries) {
        const auto eq = entry.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == entry.size()) {
          std::fprintf(stderr,
                       "fedrad simulate: %s expects NAME=DATA.csv (e.g. site_a=a.csv), got "
                       "\"%s\"\n",
                       flag, entry.c_str());
          return 2;
        }
        out->emplace_back(entry.substr(0, eq), entry.substr(eq + 1));
      }
    }
    Status s = fedrad::coordinator::RunSimulate(simulate_spec, sites, simulate_out, std::cout,
                                                externals, StudyDataHooks(simulate_out));
    if (!s.ok()) return Fail("simulate", s) == 70 ? 70 : 1;
    return 0;
  }
  if (synth->parsed()) {
    if (!synth_sites.empty()) {
      auto sites = fedrad::site_agent::ParseSynthSites(synth_sites);
      if (!sites.ok()) {
        std::fprintf(stderr, "fedrad synth: %s\n", sites.status().message().c_str());
        return 2;
      }
      synth_options.sites = std::move(sites).value();
    }
    auto written = fedrad::site_agent::GenerateConsortium(
        synth_options, [](const std::string& line) { std::cout << line << std::endl; });
    if (!written.ok()) return Fail("synth", written.status()) == 70 ? 70 : 1;
    std::cout << "synthetic consortium in " << synth_options.out_dir
              << " (truth.json holds the generating model)\n";
    return 0;
  }
  if (audit_verify->parsed()) {
    return fedrad::common::RunAuditVerify(audit_logs, audit_keys, std::cout, std::cerr);
  }
  if (version->parsed()) {
    std::cout << "fedrad " << fedrad::common::Version() << " (wire protocol "
              << static_cast<int>(fedrad::protocols::kProtocolMajor) << "."
              << static_cast<int>(fedrad::protocols::kProtocolMinor) << ")\n";
    return 0;
  }
  if (site_review->parsed() || site_approve->parsed()) {
    // The policy file: --policy, else the site config's "policy".
    if (policy_file.empty() && !site_config.empty()) {
      auto config = fedrad::site_agent::LoadSiteConfig(site_config);
      if (!config.ok()) return Fail("site", config.status()) == 70 ? 70 : 1;
      policy_file = config->policy_file;
    }
    if (site_approve->parsed() && policy_file.empty()) {
      std::fprintf(stderr,
                   "fedrad site approve: give --policy FILE (or the site config: fedrad site "
                   "--config SITE.json approve SPEC --by NAME)\n");
      return 2;
    }
    fedrad::site_agent::Policy policy;
    if (site_review->parsed() && !policy_file.empty()) {
      // What the site agent would apply: the file, or the defaults if absent.
      auto loaded = fedrad::site_agent::LoadSitePolicy(policy_file);
      if (!loaded.ok()) return Fail("site", loaded.status()) == 70 ? 70 : 1;
      policy = std::move(loaded).value();
    }
    if (site_review->parsed()) {
      auto text = fedrad::site_agent::ReviewStudy(policy_spec, policy);
      if (!text.ok()) return Fail("site review", text.status()) == 70 ? 70 : 1;
      std::cout << *text;
      return 0;
    }
    Status s = fedrad::site_agent::ApproveStudy(policy_file, policy_spec, policy_approver);
    if (!s.ok()) return Fail("site approve", s) == 70 ? 70 : 1;
    std::cout << "approved " << policy_spec << " in " << policy_file << "\n";
    return 0;
  }
  if (site->parsed() && site_config.empty()) {
    std::fprintf(stderr, "fedrad site: give --config FILE (or: site review|approve SPEC)\n");
    return 2;
  }
  InstallSignalHandlers();
  if (demo->parsed()) {
    demo_options.live = isatty(STDOUT_FILENO) != 0;
    Status s = fedrad::tools::RunDemo(demo_options, &g_stop, std::cout);
    if (!s.ok()) return Fail("demo", s);
    return 0;
  }
  if (coord->parsed()) {
    auto config = fedrad::coordinator::LoadCoordinatorConfig(coordinator_config);
    if (!config.ok()) return Fail("coordinator", config.status());
    config->prepare_spec = fedrad::site_agent::ResolveStudyFeatureDictionary;
    config->resume = coordinator_resume;
    if (auto s = SetUpLogging(config->log, log_level, log_format); !s.ok()) {
      return Fail("coordinator", s);
    }
    auto summary = fedrad::coordinator::RunCoordinator(*config, &g_stop, std::cout);
    if (!summary.ok()) return Fail("coordinator", summary.status());
    return summary->complete ? 0 : 1;
  }
  if (site->parsed()) {
    auto config = fedrad::site_agent::LoadSiteConfig(site_config);
    if (!config.ok()) return Fail("site", config.status());
    if (auto s = SetUpLogging(config->log, log_level, log_format); !s.ok()) {
      return Fail("site", s);
    }
    fedrad::site_agent::SiteRunOptions options;
    options.exit_after_bye = exit_after_bye;
    Status s = fedrad::site_agent::RunSite(*config, options, &g_stop);
    if (!s.ok()) return Fail("site", s);
    return 0;
  }
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fedrad: internal error (a bug, please report it): %s\n", e.what());
    return 70;
  }
}

// `fedrad audit verify`: checks audit logs (audit_log.hpp) offline.
//
// For each log: every line parses and is canonical; seq runs 1, 2, 3, ...;
// each prev is the SHA-256 of the line before (kAuditGenesis for the first);
// every signature verifies with the actor's key pinned in the keys directory
// (NAME.public files from `fedrad keygen`). Across logs: every `send` in A to
// B has a `receive` in B from A with the same type, SHA-256 and size, in the
// same order, and the reverse; every stored receipt verifies with the
// sender's key and matches the sender's own `send` record.
//
// Problems are located by record number (line number in the file, from 1).
// Errors fail the verification; warnings (a truncated last line left by a
// crash, a log without log_close, a peer whose log was not given) do not.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fedrad/common/status.hpp"

namespace fedrad::common {

enum class AuditProblem {
  kMalformed,         // a line is not a canonical audit record (edited by hand)
  kTruncatedLine,     // the last line has no newline (crash while writing) [warning]
  kBadSignature,      // signature does not verify: edited, or signed with an unknown key
  kOtherKey,          // signature verifies with another party's key (re-signed)
  kWrongActor,        // a record names another actor than the log's
  kUnknownKey,        // no NAME.public in the keys directory for a party
  kKeyMismatch,       // log_open states another key than the pinned one
  kHeadMissing,       // record 1 does not start at the genesis value
  kChainBroken,       // prev is not the hash of the line before
  kDeleted,           // seq numbers missing
  kReordered,         // seq numbers out of order
  kDuplicate,         // a seq appears twice (insertion or replay)
  kNoClose,           // the log ends without log_close [warning]
  kPeerLogMissing,    // messages with a party whose log was not given [warning]
  kNotReceived,       // A logged a send to B; B's log has no such receive
  kNotSent,           // B logged a receive from A; A's log has no such send
  kPayloadMismatch,   // send and receive differ in SHA-256 or size
  kReceiptInvalid,    // a stored receipt's signature does not verify
  kReceiptMismatch,   // a receipt does not match the sender's send record
  kReceiptBeyondLog,  // a receipt for a seq past the end of the sender's log
  kLostInCrash,       // not received, and the receiver or sender restarted after a crash
  kLostInReconnect,   // not received, and the receiver opened a new session meanwhile
                      // right there: the message died with it [warning]
};

// Stable lower-case name, e.g. "chain_broken".
std::string_view AuditProblemName(AuditProblem problem);

struct AuditFinding {
  bool error = true;  // false: warning
  AuditProblem problem = AuditProblem::kMalformed;
  std::string log;           // the log's name (path as given)
  std::uint64_t record = 0;  // line number in that log, 0: the log as a whole
  std::string message;
};

struct AuditVerifyResult {
  std::vector<AuditFinding> findings;
  std::string report;  // the readable report (what `fedrad audit verify` prints)
  bool passed() const;
  std::size_t errors() const;
};

// Party name -> Ed25519 public key (hex), from every *.public file in `dir`.
Result<std::map<std::string, std::string>> LoadAuditKeys(const std::string& dir);

// Verifies logs given as (name, content) pairs.
AuditVerifyResult VerifyAuditLogs(const std::vector<std::pair<std::string, std::string>>& logs,
                                  const std::map<std::string, std::string>& keys);

// The CLI: reads the files, prints the report to `out` and usage problems to
// `err`. Returns 0 pass, 1 fail, 2 usage (no log, unreadable file or keys).
int RunAuditVerify(const std::vector<std::string>& log_paths, const std::string& keys_dir,
                   std::ostream& out, std::ostream& err);

}  // namespace fedrad::common

// Tamper-evident audit trail: one append-only JSON-lines file per party.
//
// Every record is one line, in this canonical form (keys in this fixed order,
// every key always present, no spaces, strings JSON-escaped with non-ASCII as
// \uXXXX, integers in decimal):
//
//   {"seq":1,"time":"2026-11-27T04:43:06.123Z","actor":"site_a","event":"send",
//    "peer":"coordinator","study":"liver-2026","round":3,"type":"ROUND_REPLY",
//    "sha256":"<64 hex>","bytes":1234,"arrays":"n:i64[1];sum_x:f64[12]",
//    "detail":"","receipt_seq":0,"receipt_sig":"","prev":"<64 hex>",
//    "sig":"<128 hex>"}
//
//   seq          1, 2, 3, ... (the record number; no gaps)
//   time         UTC, RFC 3339 with milliseconds
//   actor        the party that writes the log (its identity name)
//   event        [a-z_]{1,32}: log_open, log_recover, log_close, study_start,
//                study_end, round_start, round_end, send, receive, refuse,
//                receipt, ...
//   peer         the other party of a message ("" if none)
//   study, round study id ("" if none) and round number (0 if none)
//   type         message type name ("" if none)
//   sha256/bytes AuditPayloadHash() of the message frames and their total size
//   arrays       the statistic arrays a message carries, "name:dtype[shape];..."
//   detail       free text (a refusal reason, a key, ...)
//   receipt_*    a peer's signed receipt stored with this record (see below)
//   prev         SHA-256 (hex) of the previous record's line, without its
//                newline; kAuditGenesis for seq 1
//   sig          Ed25519 signature (hex) by the actor over the line's bytes
//                up to and excluding `,"sig":"...` , i.e. over the canonical
//                record without sig, closed with '}'
//
// Receipts. A party that sends a message signs a receipt (AuditReceipt) over
//   {"receipt":1,"site":S,"seq":N,"peer":P,"type":T,"sha256":H,"bytes":B}
// where S is the sender, N the seq of its own `send` record, P the receiver.
// The receiver stores it (receipt_seq = N, receipt_sig) in its `receive` or
// `receipt` record; `fedrad audit verify` checks it with S's key and against
// S's log. The sender cannot later deny the message, and a sender's log that
// lost records is caught by the receipts the receiver holds.
//
// Durability: each record is written with one write(2) on an O_APPEND file;
// fsync happens at Sync(), RoundBoundary() and Close(). A crash leaves at
// most a truncated last line. Open() on an existing log verifies the whole
// chain with the actor's own key, cuts a truncated last line (recording a
// `log_recover` record that says how many bytes and their hash) and
// continues the chain with a `log_open` record.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "fedrad/common/keys.hpp"
#include "fedrad/common/secure_memory.hpp"
#include "fedrad/common/status.hpp"

namespace fedrad::common {

// `prev` of the first record: 64 zeros.
inline constexpr std::string_view kAuditGenesis =
    "0000000000000000000000000000000000000000000000000000000000000000";

// What the caller supplies for one record.
struct AuditEntry {
  std::string event;
  std::string peer;
  std::string study;
  std::int64_t round = 0;
  std::string type;
  std::string sha256;
  std::uint64_t bytes = 0;
  std::string arrays;
  std::string detail;
  std::uint64_t receipt_seq = 0;
  std::string receipt_sig;
};

// A full record as stored.
struct AuditRecord {
  std::uint64_t seq = 0;
  std::string time;
  std::string actor;
  AuditEntry entry;
  std::string prev;
  std::string sig;
};

// A sender's signed statement that it sent one message (see the file header).
struct AuditReceipt {
  std::string site;  // the sender
  std::uint64_t seq = 0;
  std::string peer;  // the receiver
  std::string type;
  std::string sha256;
  std::uint64_t bytes = 0;
  std::string sig;  // 128 hex
};

// SHA-256 (hex) of a message's frames: each frame as an 8-byte little-endian
// length followed by its bytes, so frame boundaries count.
std::string AuditPayloadHash(std::span<const std::string> frames);

// The `arrays` field for a fedrad wire message (docs/protocol.md 2.2-2.3):
// reads the meta frame (frames[1]) and joins its "arrays" entries as
// "name:dtype[d0,d1]" with ';'. "" if there is no meta frame or no arrays.
std::string AuditArraysSummary(std::span<const std::string> frames);

// The canonical line of a record without its signature (ends with '}'), and
// the full line (canonical bytes with ,"sig":"..." inserted before the '}').
std::string AuditCanonicalUnsigned(const AuditRecord& record);
std::string AuditCanonicalLine(const AuditRecord& record);
// The bytes a receipt signature covers.
std::string AuditReceiptCanonical(const AuditReceipt& receipt);

// Parses one line strictly: a JSON object with exactly the record keys and
// types, which re-serialises to exactly `line`. `where` prefixes errors.
Result<AuditRecord> ParseAuditRecord(std::string_view line, const std::string& where);

// Sets record.sig: the Ed25519 signature by `identity` over
// AuditCanonicalUnsigned(record). (The writer does this; exposed for tests.)
void SignAuditRecord(AuditRecord& record, const Identity& identity);

// Ed25519 verification of a record's / receipt's signature with a 32-byte
// public key given as 64 hex characters.
bool VerifyAuditRecordSignature(const AuditRecord& record, const std::string& sign_public_hex);
bool VerifyAuditReceipt(const AuditReceipt& receipt, const std::string& sign_public_hex);

// The writer. Thread-safe (one mutex). Not copyable.
class AuditLog {
 public:
  // Creates `path` (mode 0600, parent must exist) or continues an existing
  // log of the same actor after verifying it (see the file header). Refuses
  // a log that fails verification or belongs to another actor.
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& path, const Identity& identity);
  ~AuditLog();  // Close() if not closed (errors are logged)
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends one record; returns its seq. study/round default to the current
  // context (SetContext) when the entry leaves them empty/0.
  Result<std::uint64_t> Append(AuditEntry entry);

  // The study and round that later records default to.
  void SetContext(std::string study, std::int64_t round);

  // A `send` record for a message to `peer`; returns the receipt to pass to
  // the peer (which stores it with StoreReceipt or in its receive record).
  Result<AuditReceipt> RecordSend(const std::string& peer, const std::string& type,
                                  std::span<const std::string> frames, std::string arrays = "");
  // A `receive` record; `receipt` (may be null) is the sender's receipt.
  Result<std::uint64_t> RecordReceive(const std::string& peer, const std::string& type,
                                      std::span<const std::string> frames, std::string arrays = "",
                                      const AuditReceipt* receipt = nullptr);
  // A `receipt` record storing a receipt that arrived apart from its message.
  Result<std::uint64_t> StoreReceipt(const AuditReceipt& receipt);

  // fsyncs everything appended so far.
  Status Sync();
  // Appends `round_end` for the current context and fsyncs.
  Status RoundBoundary();
  // Appends `log_close`, fsyncs and closes. Later calls fail.
  Status Close();

  const std::string& path() const { return path_; }
  const std::string& actor() const { return actor_; }
  std::uint64_t last_seq() const;

 private:
  AuditLog() = default;
  Result<std::uint64_t> AppendLocked(AuditEntry entry);
  Status SyncLocked();

  mutable std::mutex mutex_;
  std::string path_;
  std::string actor_;
  std::string sign_public_hex_;
  SecureBuffer sign_secret_;
  int fd_ = -1;
  std::uint64_t last_seq_ = 0;
  std::string last_hash_;
  std::string study_;
  std::int64_t round_ = 0;
};

}  // namespace fedrad::common

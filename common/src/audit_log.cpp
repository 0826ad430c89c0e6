#include "fedrad/common/audit_log.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "errno_status.hpp"
#include "fedrad/common/files.hpp"
#include "fedrad/common/hash.hpp"
#include "fedrad/common/logging.hpp"
#include "fedrad/common/sodium_init.hpp"

namespace fedrad::common {
namespace {

using internal::ErrnoStatus;

constexpr std::size_t kMaxAuditLogBytes = std::size_t{1} << 30;

std::string Quote(std::string_view text) {
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', /*ensure_ascii=*/true, nlohmann::json::error_handler_t::replace);
}

std::string NowRfc3339Ms() {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return text;
}

bool HexToBytes(const std::string& hex, unsigned char* out, std::size_t size) {
  std::size_t decoded = 0;
  const char* end = nullptr;
  return hex.size() == 2 * size &&
         sodium_hex2bin(out, size, hex.data(), hex.size(), nullptr, &decoded, &end) == 0 &&
         decoded == size && end == hex.data() + hex.size();
}

std::string BytesToHex(const unsigned char* bytes, std::size_t size) {
  std::string hex(2 * size + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes, size);
  hex.resize(2 * size);
  return hex;
}

std::string SignHex(std::string_view message, const SecureBuffer& secret) {
  std::array<unsigned char, crypto_sign_BYTES> sig{};
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), secret.data());
  return BytesToHex(sig.data(), sig.size());
}

bool VerifyHex(std::string_view message, const std::string& sig_hex,
               const std::string& public_hex) {
  if (InitSodium().ok() == false) return false;
  std::array<unsigned char, crypto_sign_BYTES> sig{};
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> pk{};
  if (!HexToBytes(sig_hex, sig.data(), sig.size()) ||
      !HexToBytes(public_hex, pk.data(), pk.size())) {
    return false;
  }
  return crypto_sign_verify_detached(sig.data(),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), pk.data()) == 0;
}

bool ValidEventName(const std::string& event) {
  if (event.empty() || event.size() > 32) return false;
  for (char c : event) {
    if (!((c >= 'a' && c <= 'z') || c == '_')) return false;
  }
  return true;
}

}  // namespace

std::string AuditPayloadHash(std::span<const std::string> frames) {
  Sha256Hasher hasher;
  for (const std::string& frame : frames) {
    char length[8];
    const std::uint64_t n = frame.size();
    for (int i = 0; i < 8; ++i) length[i] = static_cast<char>(n >> (8 * i));
    hasher.Update(std::string_view(length, sizeof length));
    hasher.Update(frame);
  }
  return hasher.FinalHex();
}

std::string AuditArraysSummary(std::span<const std::string> frames) {
  if (frames.size() < 2) return "";
  const nlohmann::json meta = nlohmann::json::parse(frames[1], nullptr, false);
  if (!meta.is_object() || !meta.contains("arrays") || !meta["arrays"].is_array()) return "";
  std::string out;
  for (const auto& a : meta["arrays"]) {
    if (!a.is_object() || !a.contains("name") || !a["name"].is_string()) continue;
    if (!out.empty()) out += ";";
    out += a["name"].get<std::string>();
    if (a.contains("dtype") && a["dtype"].is_string()) out += ":" + a["dtype"].get<std::string>();
    out += "[";
    if (a.contains("shape") && a["shape"].is_array()) {
      bool first = true;
      for (const auto& d : a["shape"]) {
        if (!first) out += ",";
        first = false;
        out += d.is_number_integer() ? std::to_string(d.get<std::int64_t>()) : "?";
      }
    }
    out += "]";
  }
  return out;
}

std::string AuditCanonicalUnsigned(const AuditRecord& r) {
  const AuditEntry& e = r.entry;
  std::string out;
  out.reserve(512);
  out += "{\"seq\":" + std::to_string(r.seq);
  out += ",\"time\":" + Quote(r.time);
  out += ",\"actor\":" + Quote(r.actor);
  out += ",\"event\":" + Quote(e.event);
  out += ",\"peer\":" + Quote(e.peer);
  out += ",\"study\":" + Quote(e.study);
  out += ",\"round\":" + std::to_string(e.round);
  out += ",\"type\":" + Quote(e.type);
  out += ",\"sha256\":" + Quote(e.sha256);
  out += ",\"bytes\":" + std::to_string(e.bytes);
  out += ",\"arrays\":" + Quote(e.arrays);
  out += ",\"detail\":" + Quote(e.detail);
  out += ",\"receipt_seq\":" + std::to_string(e.receipt_seq);
  out += ",\"receipt_sig\":" + Quote(e.receipt_sig);
  out += ",\"prev\":" + Quote(r.prev);
  out += "}";
  return out;
}

std::string AuditCanonicalLine(const AuditRecord& record) {
  std::string line = AuditCanonicalUnsigned(record);
  line.pop_back();
  line += ",\"sig\":" + Quote(record.sig) + "}";
  return line;
}

std::string AuditReceiptCanonical(const AuditReceipt& r) {
  return "{\"receipt\":1,\"site\":" + Quote(r.site) + ",\"seq\":" + std::to_string(r.seq) +
         ",\"peer\":" + Quote(r.peer) + ",\"type\":" + Quote(r.type) +
         ",\"sha256\":" + Quote(r.sha256) + ",\"bytes\":" + std::to_string(r.bytes) + "}";
}

Result<AuditRecord> ParseAuditRecord(std::string_view line, const std::string& where) {
  nlohmann::json json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return ParseError(where + ": not a JSON object");
  }
  static constexpr std::array<const char*, 16> kKeys = {
      "seq",    "time",  "actor",  "event",  "peer",        "study",       "round", "type",
      "sha256", "bytes", "arrays", "detail", "receipt_seq", "receipt_sig", "prev",  "sig"};
  if (json.size() != kKeys.size()) {
    return ParseError(where + ": expected the " + std::to_string(kKeys.size()) +
                      " audit record keys, found " + std::to_string(json.size()));
  }
  for (const char* key : kKeys) {
    if (!json.contains(key)) return ParseError(where + ": missing key \"" + key + "\"");
  }
  const auto str = [&](const char* key, std::string* out) -> Status {
    if (!json[key].is_string()) return ParseError(where + ": \"" + key + "\" is not a string");
    *out = json[key].get<std::string>();
    return Status::Ok();
  };
  const auto uns = [&](const char* key, std::uint64_t* out) -> Status {
    if (!json[key].is_number_unsigned()) {
      return ParseError(where + ": \"" + key + "\" is not a non-negative integer");
    }
    *out = json[key].get<std::uint64_t>();
    return Status::Ok();
  };
  AuditRecord r;
  FEDRAD_RETURN_IF_ERROR(uns("seq", &r.seq));
  FEDRAD_RETURN_IF_ERROR(str("time", &r.time));
  FEDRAD_RETURN_IF_ERROR(str("actor", &r.actor));
  FEDRAD_RETURN_IF_ERROR(str("event", &r.entry.event));
  FEDRAD_RETURN_IF_ERROR(str("peer", &r.entry.peer));
  FEDRAD_RETURN_IF_ERROR(str("study", &r.entry.study));
  if (!json["round"].is_number_integer()) {
    return ParseError(where + ": \"round\" is not an integer");
  }
  r.entry.round = json["round"].get<std::int64_t>();
  FEDRAD_RETURN_IF_ERROR(str("type", &r.entry.type));
  FEDRAD_RETURN_IF_ERROR(str("sha256", &r.entry.sha256));
  FEDRAD_RETURN_IF_ERROR(uns("bytes", &r.entry.bytes));
  FEDRAD_RETURN_IF_ERROR(str("arrays", &r.entry.arrays));
  FEDRAD_RETURN_IF_ERROR(str("detail", &r.entry.detail));
  FEDRAD_RETURN_IF_ERROR(uns("receipt_seq", &r.entry.receipt_seq));
  FEDRAD_RETURN_IF_ERROR(str("receipt_sig", &r.entry.receipt_sig));
  FEDRAD_RETURN_IF_ERROR(str("prev", &r.prev));
  FEDRAD_RETURN_IF_ERROR(str("sig", &r.sig));
  if (AuditCanonicalLine(r) != line) {
    return ParseError(where +
                      ": not in canonical form (keys out of order, spaces or other "
                      "re-formatting; the line was rewritten)");
  }
  return r;
}

void SignAuditRecord(AuditRecord& record, const Identity& identity) {
  if (identity.sign_secret.size() != kSignSecretKeyBytes) {
    throw std::logic_error("SignAuditRecord: identity without an Ed25519 secret key");
  }
  (void)InitSodium();
  record.sig = SignHex(AuditCanonicalUnsigned(record), identity.sign_secret);
}

bool VerifyAuditRecordSignature(const AuditRecord& record, const std::string& sign_public_hex) {
  return VerifyHex(AuditCanonicalUnsigned(record), record.sig, sign_public_hex);
}

bool VerifyAuditReceipt(const AuditReceipt& receipt, const std::string& sign_public_hex) {
  return VerifyHex(AuditReceiptCanonical(receipt), receipt.sig, sign_public_hex);
}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path,
                                                 const Identity& identity) {
  FEDRAD_RETURN_IF_ERROR(InitSodium());
  if (identity.sign_secret.size() != kSignSecretKeyBytes) {
    return InvalidArgument("audit log " + path + ": identity " + identity.pub.name +
                           " has no Ed25519 secret key");
  }
  std::unique_ptr<AuditLog> log(new AuditLog());
  log->path_ = path;
  log->actor_ = identity.pub.name;
  log->sign_public_hex_ = identity.pub.sign_public_hex;
  log->sign_secret_ = SecureBuffer(kSignSecretKeyBytes);
  std::memcpy(log->sign_secret_.data(), identity.sign_secret.data(), kSignSecretKeyBytes);
  log->last_hash_ = std::string(kAuditGenesis);

  std::string recovered_detail;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    FEDRAD_ASSIGN_OR_RETURN(std::string text, ReadFile(path, kMaxAuditLogBytes));
    std::size_t pos = 0;
    std::size_t complete_end = 0;
    while (pos < text.size()) {
      const std::size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) break;  // truncated last line
      const std::string_view line(text.data() + pos, nl - pos);
      const std::uint64_t expected = log->last_seq_ + 1;
      const std::string where = path + ": record " + std::to_string(expected);
      FEDRAD_ASSIGN_OR_RETURN(AuditRecord record, ParseAuditRecord(line, where));
      if (record.seq != expected || record.prev != log->last_hash_ || record.actor != log->actor_ ||
          !VerifyAuditRecordSignature(record, log->sign_public_hex_)) {
        return FailedPrecondition(where +
                                  ": fails verification (seq, chain, actor or signature; run "
                                  "fedrad audit verify); refusing to append to it");
      }
      log->last_seq_ = record.seq;
      log->last_hash_ = Sha256Hex(line);
      pos = nl + 1;
      complete_end = pos;
    }
    if (complete_end < text.size()) {
      const std::string_view fragment(text.data() + complete_end, text.size() - complete_end);
      recovered_detail = "cut a truncated last line of " + std::to_string(fragment.size()) +
                         " bytes (sha256 " + Sha256Hex(fragment) + ") left by a crash";
      if (::truncate(path.c_str(), static_cast<off_t>(complete_end)) != 0) {
        return ErrnoStatus(errno, path + ": cannot cut the truncated last line");
      }
    }
  } else if (errno != ENOENT) {
    return ErrnoStatus(errno, path + ": cannot stat audit log");
  }

  log->fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  if (log->fd_ < 0) return ErrnoStatus(errno, path + ": cannot open audit log for appending");
  if (!recovered_detail.empty()) {
    AuditEntry recover;
    recover.event = "log_recover";
    recover.detail = recovered_detail;
    FEDRAD_RETURN_IF_ERROR(log->Append(std::move(recover)).status());
  }
  AuditEntry open;
  open.event = "log_open";
  open.detail = "sign_public_key=" + log->sign_public_hex_;
  FEDRAD_RETURN_IF_ERROR(log->Append(std::move(open)).status());
  FEDRAD_RETURN_IF_ERROR(log->Sync());
  FEDRAD_RETURN_IF_ERROR(internal::SyncDirectory(internal::ParentDirectory(path)));
  return log;
}

AuditLog::~AuditLog() {
  if (fd_ >= 0) {
    Status s = Close();
    if (!s.ok())
      Log(LogLevel::kWarn, "audit", "close failed", {{"log", path_}, {"error", s.ToString()}});
  }
}

void AuditLog::SetContext(std::string study, std::int64_t round) {
  std::lock_guard<std::mutex> lock(mutex_);
  study_ = std::move(study);
  round_ = round;
}

std::uint64_t AuditLog::last_seq() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_seq_;
}

Result<std::uint64_t> AuditLog::Append(AuditEntry entry) {
  std::lock_guard<std::mutex> lock(mutex_);
  return AppendLocked(std::move(entry));
}

Result<std::uint64_t> AuditLog::AppendLocked(AuditEntry entry) {
  if (fd_ < 0) return FailedPrecondition("audit log " + path_ + " is closed");
  if (!ValidEventName(entry.event)) {
    return InvalidArgument("audit log " + path_ + ": invalid event name " + Quote(entry.event) +
                           " (expected [a-z_]{1,32})");
  }
  if (entry.study.empty()) entry.study = study_;
  if (entry.round == 0) entry.round = round_;
  AuditRecord record;
  record.seq = last_seq_ + 1;
  record.time = NowRfc3339Ms();
  record.actor = actor_;
  record.entry = std::move(entry);
  record.prev = last_hash_;
  record.sig = SignHex(AuditCanonicalUnsigned(record), sign_secret_);
  std::string line = AuditCanonicalLine(record);
  const std::string hash = Sha256Hex(line);
  line += '\n';
  // A write that fails part-way (disk full, file size limit) must not leave
  // half a record: the file is cut back to its last complete line, so the
  // log stays verifiable and the party stops with an intact trail.
  const off_t before = ::lseek(fd_, 0, SEEK_END);
  if (int err = internal::WriteAll(fd_, line.data(), line.size()); err != 0) {
    std::string detail = path_ + ": cannot append audit record " + std::to_string(record.seq);
    if (before >= 0 && ::ftruncate(fd_, before) == 0) {
      detail += " (nothing of it was kept; the log ends with record " +
                std::to_string(last_seq_) + ")";
    } else {
      detail += " (and cutting the partial record failed: fedrad audit verify will report a "
                "truncated last line)";
    }
    return ErrnoStatus(err, detail);
  }
  last_seq_ = record.seq;
  last_hash_ = hash;
  return record.seq;
}

Result<AuditReceipt> AuditLog::RecordSend(const std::string& peer, const std::string& type,
                                          std::span<const std::string> frames, std::string arrays) {
  AuditEntry entry;
  entry.event = "send";
  entry.peer = peer;
  entry.type = type;
  entry.sha256 = AuditPayloadHash(frames);
  for (const std::string& f : frames) entry.bytes += f.size();
  entry.arrays = std::move(arrays);
  AuditReceipt receipt;
  receipt.site = actor_;
  receipt.peer = peer;
  receipt.type = type;
  receipt.sha256 = entry.sha256;
  receipt.bytes = entry.bytes;
  std::lock_guard<std::mutex> lock(mutex_);
  FEDRAD_ASSIGN_OR_RETURN(receipt.seq, AppendLocked(std::move(entry)));
  receipt.sig = SignHex(AuditReceiptCanonical(receipt), sign_secret_);
  return receipt;
}

Result<std::uint64_t> AuditLog::RecordReceive(const std::string& peer, const std::string& type,
                                              std::span<const std::string> frames,
                                              std::string arrays, const AuditReceipt* receipt) {
  AuditEntry entry;
  entry.event = "receive";
  entry.peer = peer;
  entry.type = type;
  entry.sha256 = AuditPayloadHash(frames);
  for (const std::string& f : frames) entry.bytes += f.size();
  entry.arrays = std::move(arrays);
  if (receipt != nullptr) {
    entry.receipt_seq = receipt->seq;
    entry.receipt_sig = receipt->sig;
  }
  return Append(std::move(entry));
}

Result<std::uint64_t> AuditLog::StoreReceipt(const AuditReceipt& receipt) {
  AuditEntry entry;
  entry.event = "receipt";
  entry.peer = receipt.site;
  entry.type = receipt.type;
  entry.sha256 = receipt.sha256;
  entry.bytes = receipt.bytes;
  entry.receipt_seq = receipt.seq;
  entry.receipt_sig = receipt.sig;
  return Append(std::move(entry));
}

Status AuditLog::Sync() {
  std::lock_guard<std::mutex> lock(mutex_);
  return SyncLocked();
}

Status AuditLog::SyncLocked() {
  if (fd_ < 0) return FailedPrecondition("audit log " + path_ + " is closed");
  if (::fsync(fd_) != 0) return ErrnoStatus(errno, path_ + ": fsync of audit log failed");
  return Status::Ok();
}

Status AuditLog::RoundBoundary() {
  std::lock_guard<std::mutex> lock(mutex_);
  AuditEntry entry;
  entry.event = "round_end";
  FEDRAD_RETURN_IF_ERROR(AppendLocked(std::move(entry)).status());
  return SyncLocked();
}

Status AuditLog::Close() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (fd_ < 0) return FailedPrecondition("audit log " + path_ + " is already closed");
  AuditEntry entry;
  entry.event = "log_close";
  Status appended = AppendLocked(std::move(entry)).status();
  Status synced = SyncLocked();
  ::close(fd_);
  fd_ = -1;
  FEDRAD_RETURN_IF_ERROR(appended);
  return synced;
}

}  // namespace fedrad::common

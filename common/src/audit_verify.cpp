#include "fedrad/common/audit_verify.hpp"

#include <algorithm>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include "fedrad/common/audit_log.hpp"
#include "fedrad/common/files.hpp"
#include "fedrad/common/hash.hpp"
#include "fedrad/common/keys.hpp"
#include "fedrad/common/sodium_init.hpp"

namespace fedrad::common {
namespace {

constexpr std::size_t kMaxAuditLogBytes = std::size_t{1} << 30;
constexpr std::size_t kMaxFindingsShownPerLog = 25;

struct Line {
  std::string raw;
  std::optional<AuditRecord> record;
};

struct ParsedLog {
  std::string name;
  std::vector<Line> lines;
  std::string actor;
  bool truncated = false;
  std::size_t fragment_bytes = 0;
  std::map<std::uint64_t, std::size_t> index_of_seq;  // first line index with that seq
  std::uint64_t max_seq = 0;
};

std::string Short(const std::string& hash) { return hash.substr(0, 12); }

std::string Rec(std::size_t index) { return "record " + std::to_string(index + 1); }

// Line indices of the actor's sends that did not leave: each "send_failed"
// record cancels the latest earlier send of the same message (peer, type,
// SHA-256, size) that it did not cancel yet. The transport records a send
// before handing the message to the socket and send_failed if the socket
// refused it (protocols/transport.hpp, WireEvent).
std::set<std::size_t> CancelledSends(const ParsedLog& log) {
  std::set<std::size_t> out;
  for (std::size_t i = 0; i < log.lines.size(); ++i) {
    const auto& failed = log.lines[i].record;
    if (!failed || failed->actor != log.actor || failed->entry.event != "send_failed") continue;
    for (std::size_t k = i; k-- > 0;) {
      const auto& r = log.lines[k].record;
      if (r && r->actor == log.actor && r->entry.event == "send" &&
          r->entry.peer == failed->entry.peer && r->entry.type == failed->entry.type &&
          r->entry.sha256 == failed->entry.sha256 && r->entry.bytes == failed->entry.bytes &&
          out.count(k) == 0) {
        out.insert(k);
        break;
      }
    }
  }
  return out;
}

// Line indices of the log's restarts after a crash: a log_open that is not
// the first record and does not follow a log_close (a log_recover between
// them is skipped).
std::vector<std::size_t> CrashRestarts(const ParsedLog& log) {
  std::vector<std::size_t> out;
  for (std::size_t i = 1; i < log.lines.size(); ++i) {
    const auto& rec = log.lines[i].record;
    if (!rec || rec->entry.event != "log_open") continue;
    std::size_t before = i - 1;
    while (before > 0 && log.lines[before].record &&
           log.lines[before].record->entry.event == "log_recover") {
      --before;
    }
    const auto& prev = log.lines[before].record;
    if (!prev || prev->entry.event != "log_close") out.push_back(i);
  }
  return out;
}

// True if a restart in `restarts` lies strictly between line indices lo and hi.
bool RestartBetween(const std::vector<std::size_t>& restarts, std::size_t lo, std::size_t hi) {
  return std::any_of(restarts.begin(), restarts.end(),
                     [&](std::size_t r) { return r > lo && r < hi; });
}

class Verifier {
 public:
  explicit Verifier(const std::map<std::string, std::string>& keys) : keys_(keys) {}

  void Error(AuditProblem p, const std::string& log, std::uint64_t record, std::string message) {
    findings_.push_back({true, p, log, record, std::move(message)});
  }
  void Warning(AuditProblem p, const std::string& log, std::uint64_t record, std::string message) {
    findings_.push_back({false, p, log, record, std::move(message)});
  }

  ParsedLog Parse(const std::string& name, const std::string& text) {
    ParsedLog log;
    log.name = name;
    std::size_t pos = 0;
    while (pos < text.size()) {
      const std::size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) {
        log.truncated = true;
        log.fragment_bytes = text.size() - pos;
        break;
      }
      Line line;
      line.raw = text.substr(pos, nl - pos);
      const std::size_t index = log.lines.size();
      auto parsed = ParseAuditRecord(line.raw, Rec(index));
      if (parsed.ok()) {
        line.record = std::move(*parsed);
      } else {
        Error(AuditProblem::kMalformed, name, index + 1,
              parsed.status().message() + " (the record was edited)");
      }
      log.lines.push_back(std::move(line));
      pos = nl + 1;
    }
    std::map<std::string, std::size_t> actors;
    for (std::size_t i = 0; i < log.lines.size(); ++i) {
      const auto& r = log.lines[i].record;
      if (!r) continue;
      ++actors[r->actor];
      log.index_of_seq.emplace(r->seq, i);
      log.max_seq = std::max(log.max_seq, r->seq);
    }
    std::size_t best = 0;
    for (const auto& [actor, count] : actors) {
      if (count > best) {
        best = count;
        log.actor = actor;
      }
    }
    return log;
  }

  void CheckChain(const ParsedLog& log) {
    const std::string& name = log.name;
    if (log.lines.empty() && !log.truncated) {
      Error(AuditProblem::kMalformed, name, 0, "the log is empty");
      return;
    }
    const auto key = keys_.find(log.actor);
    if (!log.actor.empty() && key == keys_.end()) {
      Error(AuditProblem::kUnknownKey, name, 0,
            "no key for actor \"" + log.actor + "\" in the keys directory (" + log.actor +
                ".public); signatures not checked");
    }
    std::map<std::string, std::size_t> index_of_hash;
    for (std::size_t i = 0; i < log.lines.size(); ++i) {
      index_of_hash.emplace(Sha256Hex(log.lines[i].raw), i);
    }
    std::uint64_t prev_seq = 0;
    std::set<std::uint64_t> seen;
    for (std::size_t i = 0; i < log.lines.size(); ++i) {
      const auto& rec = log.lines[i].record;
      if (!rec) continue;
      const std::uint64_t n = i + 1;
      if (rec->actor != log.actor) {
        Error(AuditProblem::kWrongActor, name, n,
              "names actor \"" + rec->actor + "\" in the log of \"" + log.actor +
                  "\" (inserted from another log?)");
      }
      if (key != keys_.end()) {
        if (!VerifyAuditRecordSignature(*rec, key->second)) {
          std::string signer;
          for (const auto& [party, pk] : keys_) {
            if (party != log.actor && VerifyAuditRecordSignature(*rec, pk)) signer = party;
          }
          if (!signer.empty()) {
            Error(AuditProblem::kOtherKey, name, n,
                  "signed with " + signer + "'s key, not " + log.actor +
                      "'s: the record was re-signed");
          } else {
            Error(AuditProblem::kBadSignature, name, n,
                  "signature does not verify with " + log.actor +
                      "'s key: the record was edited, or re-signed with an unknown key");
          }
        } else if (rec->entry.event == "log_open") {
          const std::string stated = "sign_public_key=" + key->second;
          if (rec->entry.detail != stated) {
            Error(AuditProblem::kKeyMismatch, name, n,
                  "log_open states " + rec->entry.detail + ", pinned key is " + key->second);
          }
        }
      }
      // Chain.
      if (i == 0) {
        if (rec->prev != kAuditGenesis) {
          Error(AuditProblem::kHeadMissing, name, n,
                "prev is not the genesis value: the log's first record(s) were deleted");
        }
      } else {
        const std::string expected = Sha256Hex(log.lines[i - 1].raw);
        if (rec->prev != expected) {
          std::string hint;
          const auto it = index_of_hash.find(rec->prev);
          if (it != index_of_hash.end()) {
            hint = "; it was written after what is now " + Rec(it->second);
          } else if (rec->prev == kAuditGenesis) {
            hint = "; it claims to be the first record of a log";
          } else {
            hint = "; its predecessor is not in the file (deleted or edited)";
          }
          Error(AuditProblem::kChainBroken, name, n,
                "prev does not match the hash of " + Rec(i - 1) + hint);
        }
      }
      // Sequence.
      const std::uint64_t s = rec->seq;
      if (s == prev_seq + 1) {
        // in order
      } else if (s > prev_seq + 1) {
        bool later = false;
        for (std::uint64_t m = prev_seq + 1; m < s && !later; ++m) {
          const auto it = log.index_of_seq.find(m);
          later = it != log.index_of_seq.end() && it->second > i;
        }
        if (later) {
          Error(AuditProblem::kReordered, name, n,
                "seq " + std::to_string(s) + " where " + std::to_string(prev_seq + 1) +
                    " was expected, and the skipped seq appears later: records out of order");
        } else {
          const std::string range =
              s == prev_seq + 2 ? std::to_string(prev_seq + 1)
                                : std::to_string(prev_seq + 1) + ".." + std::to_string(s - 1);
          Error(AuditProblem::kDeleted, name, n,
                "seq jumps from " + std::to_string(prev_seq) + " to " + std::to_string(s) +
                    ": record(s) with seq " + range + " were deleted before this record");
        }
      } else if (seen.count(s) != 0) {
        Error(AuditProblem::kDuplicate, name, n,
              "seq " + std::to_string(s) + " appears a second time (first at " +
                  Rec(log.index_of_seq.at(s)) + "): a record was inserted or replayed");
      } else {
        Error(AuditProblem::kReordered, name, n,
              "seq " + std::to_string(s) + " after seq " + std::to_string(prev_seq) +
                  ": records out of order");
      }
      seen.insert(s);
      prev_seq = std::max(prev_seq, s);
    }
    if (log.truncated) {
      Warning(AuditProblem::kTruncatedLine, name, log.lines.size() + 1,
              "truncated last line (" + std::to_string(log.fragment_bytes) +
                  " bytes, no newline): the writer stopped in the middle of a record (crash); "
                  "not verified");
    }
    const Line* last = log.lines.empty() ? nullptr : &log.lines.back();
    if (last != nullptr && last->record && last->record->entry.event != "log_close") {
      Warning(AuditProblem::kNoClose, name, log.lines.size(),
              "the log ends without log_close: the party is still running or crashed, or "
              "records at the end were cut (compare with the peers' logs and receipts)");
    }
  }

  // Sends of A to B against receives of B from A.
  void CrossCheck(const ParsedLog& a, const ParsedLog& b, std::ostringstream& summary) {
    std::vector<std::size_t> sends, receives;
    const std::set<std::size_t> cancelled = CancelledSends(a);
    for (std::size_t i = 0; i < a.lines.size(); ++i) {
      const auto& r = a.lines[i].record;
      if (r && r->actor == a.actor && r->entry.event == "send" && r->entry.peer == b.actor &&
          cancelled.count(i) == 0) {
        sends.push_back(i);
      }
    }
    for (std::size_t i = 0; i < b.lines.size(); ++i) {
      const auto& r = b.lines[i].record;
      if (r && r->actor == b.actor && r->entry.event == "receive" && r->entry.peer == a.actor) {
        receives.push_back(i);
      }
    }
    if (sends.empty() && receives.empty()) return;
    std::vector<bool> send_done(sends.size(), false), receive_done(receives.size(), false);
    // The receive (line index in b) each send was matched with.
    std::vector<std::optional<std::size_t>> matched_receive(sends.size());
    std::size_t matched = 0;
    // Each send is matched with a receive of the same message (type, SHA-256
    // of the encoded message, size): the hash covers the header's session id
    // and sequence number, so a message is unique and the match needs no
    // order. (Order is not a property of the two logs together: across a
    // crash and reconnect, messages queued for the old connection can reach
    // the restarted peer after newer ones.)
    std::map<std::tuple<std::string, std::string, std::int64_t>, std::deque<std::size_t>> by_key;
    for (std::size_t ri = 0; ri < receives.size(); ++ri) {
      const AuditEntry& r = b.lines[receives[ri]].record->entry;
      by_key[{r.type, r.sha256, r.bytes}].push_back(ri);
    }
    for (std::size_t si = 0; si < sends.size(); ++si) {
      const AuditEntry& s = a.lines[sends[si]].record->entry;
      const auto it = by_key.find({s.type, s.sha256, s.bytes});
      if (it == by_key.end() || it->second.empty()) continue;
      const std::size_t ri = it->second.front();
      it->second.pop_front();
      send_done[si] = receive_done[ri] = true;
      matched_receive[si] = receives[ri];
      ++matched;
    }
    // Leftovers of the same type, in order: the payload differs.
    std::size_t ri = 0;
    for (std::size_t si = 0; si < sends.size(); ++si) {
      if (send_done[si]) continue;
      const AuditEntry& s = a.lines[sends[si]].record->entry;
      for (std::size_t k = ri; k < receives.size(); ++k) {
        if (receive_done[k]) continue;
        const AuditEntry& r = b.lines[receives[k]].record->entry;
        if (r.type != s.type) continue;
        Error(AuditProblem::kPayloadMismatch, a.name, sends[si] + 1,
              a.actor + " sent " + s.type + " (sha256 " + Short(s.sha256) + "..., " +
                  std::to_string(s.bytes) + " bytes) but " + b.name + " " + Rec(receives[k]) +
                  " has " + b.actor + " receiving it with sha256 " + Short(r.sha256) + "..., " +
                  std::to_string(r.bytes) + " bytes");
        send_done[si] = receive_done[k] = true;
        ri = k + 1;
        break;
      }
    }
    // A message lost in a crash: B restarted after a crash between the
    // receives of the matched sends around it (it was in flight to, or
    // unread by, the B that died), or A restarted after a crash before its
    // next matched send (it never left the A that died). A warning.
    const std::vector<std::size_t> a_restarts = CrashRestarts(a);
    const std::vector<std::size_t> b_restarts = CrashRestarts(b);
    // B's new sessions with A (its HELLO sends): what was in flight on the
    // connection B gave up is dropped with it (docs/protocol.md 4.1).
    std::vector<std::size_t> b_hellos;
    for (std::size_t i = 0; i < b.lines.size(); ++i) {
      const auto& r = b.lines[i].record;
      if (r && r->actor == b.actor && r->entry.event == "send" && r->entry.type == "HELLO" &&
          r->entry.peer == a.actor) {
        b_hellos.push_back(i);
      }
    }
    for (std::size_t si = 0; si < sends.size(); ++si) {
      if (send_done[si]) continue;
      const AuditEntry& s = a.lines[sends[si]].record->entry;
      std::size_t b_lo = 0;  // restarts are never record 1
      for (std::size_t k = si; k-- > 0;) {
        if (matched_receive[k]) {
          b_lo = *matched_receive[k];
          break;
        }
      }
      std::size_t b_hi = b.lines.size();
      std::size_t a_hi = a.lines.size();
      for (std::size_t k = si + 1; k < sends.size(); ++k) {
        if (matched_receive[k]) {
          b_hi = *matched_receive[k];
          a_hi = sends[k];
          break;
        }
      }
      const bool b_crashed = RestartBetween(b_restarts, std::min(b_lo, b_hi), std::max(b_lo, b_hi));
      const bool a_crashed = RestartBetween(a_restarts, sends[si], a_hi);
      if (b_crashed || a_crashed) {
        Warning(AuditProblem::kLostInCrash, a.name, sends[si] + 1,
                a.actor + " logged sending " + s.type + " (sha256 " + Short(s.sha256) + "..., " +
                    std::to_string(s.bytes) + " bytes) to " + b.actor + "; " + b.name +
                    " has no matching receive, and " + (b_crashed ? b.actor : a.actor) +
                    " restarted after a crash before the next message between them arrived: "
                    "lost in that crash");
        continue;
      }
      if (RestartBetween(b_hellos, std::min(b_lo, b_hi), std::max(b_lo, b_hi))) {
        Warning(AuditProblem::kLostInReconnect, a.name, sends[si] + 1,
                a.actor + " logged sending " + s.type + " (sha256 " + Short(s.sha256) + "..., " +
                    std::to_string(s.bytes) + " bytes) to " + b.actor + "; " + b.name +
                    " has no matching receive, and " + b.actor +
                    " opened a new session (HELLO) before the next message between them "
                    "arrived: dropped with the connection it gave up");
        continue;
      }
      Error(AuditProblem::kNotReceived, a.name, sends[si] + 1,
            a.actor + " logged sending " + s.type + " (sha256 " + Short(s.sha256) + "..., " +
                std::to_string(s.bytes) + " bytes) to " + b.actor + ", but " + b.name +
                " has no matching receive");
    }
    for (std::size_t k = 0; k < receives.size(); ++k) {
      if (receive_done[k]) continue;
      const AuditEntry& r = b.lines[receives[k]].record->entry;
      Error(AuditProblem::kNotSent, b.name, receives[k] + 1,
            b.actor + " logged receiving " + r.type + " (sha256 " + Short(r.sha256) + "..., " +
                std::to_string(r.bytes) + " bytes) from " + a.actor + ", but " + a.name +
                " has no matching send");
    }
    summary << "  " << a.actor << " -> " << b.actor << ": " << sends.size() << " sent, "
            << receives.size() << " received, " << matched << " matched\n";
  }

  // Receipts stored in `holder`, checked with the sender's key and log.
  void CheckReceipts(const ParsedLog& holder, const std::map<std::string, const ParsedLog*>& logs,
                     std::map<std::string, std::size_t>* verified) {
    for (std::size_t i = 0; i < holder.lines.size(); ++i) {
      const auto& rec = holder.lines[i].record;
      if (!rec || rec->entry.receipt_sig.empty()) continue;
      const AuditEntry& e = rec->entry;
      AuditReceipt receipt{e.peer,   e.receipt_seq, rec->actor,   e.type,
                           e.sha256, e.bytes,       e.receipt_sig};
      const auto key = keys_.find(e.peer);
      if (key == keys_.end()) {
        Error(AuditProblem::kUnknownKey, holder.name, i + 1,
              "holds a receipt from \"" + e.peer + "\" but the keys directory has no " + e.peer +
                  ".public");
        continue;
      }
      if (!VerifyAuditReceipt(receipt, key->second)) {
        Error(AuditProblem::kReceiptInvalid, holder.name, i + 1,
              "the receipt from " + e.peer + " for its record seq " +
                  std::to_string(e.receipt_seq) +
                  " does not verify: this record's type, hash or size differ from what " + e.peer +
                  " signed, or the receipt was forged");
        continue;
      }
      ++(*verified)[e.peer];
      const auto sender = logs.find(e.peer);
      if (sender == logs.end()) continue;
      const ParsedLog& s = *sender->second;
      const auto it = s.index_of_seq.find(e.receipt_seq);
      if (it == s.index_of_seq.end()) {
        if (e.receipt_seq > s.max_seq) {
          Error(AuditProblem::kReceiptBeyondLog, s.name, s.lines.size(),
                s.actor + " signed a receipt for its record seq " + std::to_string(e.receipt_seq) +
                    " (held in " + holder.name + " " + Rec(i) + "), but its log ends at seq " +
                    std::to_string(s.max_seq) + ": records at the end were cut (truncation)");
        } else {
          const auto after = s.index_of_seq.lower_bound(e.receipt_seq);
          Error(AuditProblem::kReceiptMismatch, s.name, after->second + 1,
                s.actor + " signed a receipt for its record seq " + std::to_string(e.receipt_seq) +
                    " (held in " + holder.name + " " + Rec(i) + "), which is missing from " +
                    s.name + " (deleted)");
        }
        continue;
      }
      const AuditRecord& sent = *s.lines[it->second].record;
      if (sent.entry.event != "send" || sent.entry.peer != rec->actor ||
          sent.entry.type != e.type || sent.entry.sha256 != e.sha256 ||
          sent.entry.bytes != e.bytes) {
        Error(AuditProblem::kReceiptMismatch, s.name, it->second + 1,
              "does not match the receipt " + s.actor + " signed for seq " +
                  std::to_string(e.receipt_seq) + " (held in " + holder.name + " " + Rec(i) +
                  ": send " + e.type + " to " + rec->actor + ", sha256 " + Short(e.sha256) +
                  "..., " + std::to_string(e.bytes) + " bytes)");
      }
    }
  }

  std::vector<AuditFinding> TakeFindings() { return std::move(findings_); }

 private:
  const std::map<std::string, std::string>& keys_;
  std::vector<AuditFinding> findings_;
};

std::string Ranges(const std::set<std::int64_t>& values) {
  std::string out;
  auto it = values.begin();
  while (it != values.end()) {
    const std::int64_t start = *it;
    std::int64_t end = start;
    auto next = std::next(it);
    while (next != values.end() && *next == end + 1) {
      end = *next;
      ++next;
    }
    if (!out.empty()) out += ",";
    out += std::to_string(start);
    if (end != start) out += "-" + std::to_string(end);
    it = next;
  }
  return out.empty() ? "-" : out;
}

// "What left <actor>": its sends grouped by peer and message type.
void Disclosures(const ParsedLog& log, std::ostringstream& out) {
  struct Group {
    std::size_t count = 0;
    std::uint64_t bytes = 0;
    std::set<std::int64_t> rounds;
    std::map<std::string, std::size_t> arrays;
  };
  std::map<std::string, std::map<std::string, Group>> by_peer;
  std::size_t refusals = 0;
  const std::set<std::size_t> cancelled = CancelledSends(log);
  for (std::size_t i = 0; i < log.lines.size(); ++i) {
    const Line& line = log.lines[i];
    if (!line.record || line.record->actor != log.actor) continue;
    const AuditEntry& e = line.record->entry;
    if (e.event == "refuse") ++refusals;
    if (e.event != "send" || cancelled.count(i) > 0) continue;
    Group& g = by_peer[e.peer][e.type];
    ++g.count;
    g.bytes += e.bytes;
    if (e.round > 0) g.rounds.insert(e.round);
    if (!e.arrays.empty()) ++g.arrays[e.arrays];
  }
  out << "What left " << log.actor << " (" << log.name << "):\n";
  if (by_peer.empty()) out << "  nothing (no send records)\n";
  for (const auto& [peer, groups] : by_peer) {
    std::size_t count = 0;
    std::uint64_t bytes = 0;
    for (const auto& [type, g] : groups) {
      count += g.count;
      bytes += g.bytes;
    }
    out << "  to " << peer << ": " << count << " messages, " << bytes << " bytes\n";
    for (const auto& [type, g] : groups) {
      out << "    " << type << " x" << g.count << ", rounds " << Ranges(g.rounds) << ", " << g.bytes
          << " bytes\n";
      for (const auto& [arrays, n] : g.arrays) {
        out << "      arrays " << arrays << " (x" << n << ")\n";
      }
    }
  }
  if (refusals > 0) out << "  refused requests: " << refusals << "\n";
}

}  // namespace

std::string_view AuditProblemName(AuditProblem problem) {
  switch (problem) {
    case AuditProblem::kMalformed:
      return "malformed";
    case AuditProblem::kTruncatedLine:
      return "truncated_line";
    case AuditProblem::kBadSignature:
      return "bad_signature";
    case AuditProblem::kOtherKey:
      return "signed_by_other_key";
    case AuditProblem::kWrongActor:
      return "wrong_actor";
    case AuditProblem::kUnknownKey:
      return "unknown_key";
    case AuditProblem::kKeyMismatch:
      return "key_mismatch";
    case AuditProblem::kHeadMissing:
      return "head_missing";
    case AuditProblem::kChainBroken:
      return "chain_broken";
    case AuditProblem::kDeleted:
      return "deleted";
    case AuditProblem::kReordered:
      return "reordered";
    case AuditProblem::kDuplicate:
      return "duplicate";
    case AuditProblem::kNoClose:
      return "no_close";
    case AuditProblem::kPeerLogMissing:
      return "peer_log_missing";
    case AuditProblem::kNotReceived:
      return "not_received";
    case AuditProblem::kLostInCrash:
      return "lost_in_crash";
    case AuditProblem::kLostInReconnect:
      return "lost_in_reconnect";
    case AuditProblem::kNotSent:
      return "not_sent";
    case AuditProblem::kPayloadMismatch:
      return "payload_mismatch";
    case AuditProblem::kReceiptInvalid:
      return "receipt_invalid";
    case AuditProblem::kReceiptMismatch:
      return "receipt_mismatch";
    case AuditProblem::kReceiptBeyondLog:
      return "receipt_beyond_log";
  }
  return "unknown";
}

bool AuditVerifyResult::passed() const { return errors() == 0; }

std::size_t AuditVerifyResult::errors() const {
  return static_cast<std::size_t>(
      std::count_if(findings.begin(), findings.end(), [](const auto& f) { return f.error; }));
}

Result<std::map<std::string, std::string>> LoadAuditKeys(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return NotFound(dir + ": not a directory (--keys expects a directory of NAME.public files)");
  }
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".public") paths.push_back(entry.path().string());
  }
  if (ec) return IoError(dir + ": cannot list directory: " + ec.message());
  std::sort(paths.begin(), paths.end());
  std::map<std::string, std::string> keys;
  for (const std::string& path : paths) {
    FEDRAD_ASSIGN_OR_RETURN(PublicIdentity pub, LoadPublicIdentity(path));
    if (keys.count(pub.name) != 0) {
      return InvalidArgument(path + ": a second key for party \"" + pub.name + "\"");
    }
    keys[pub.name] = pub.sign_public_hex;
  }
  if (keys.empty()) return NotFound(dir + ": no NAME.public files found");
  return keys;
}

AuditVerifyResult VerifyAuditLogs(const std::vector<std::pair<std::string, std::string>>& logs,
                                  const std::map<std::string, std::string>& keys) {
  (void)InitSodium();
  Verifier verifier(keys);
  std::vector<ParsedLog> parsed;
  parsed.reserve(logs.size());
  for (const auto& [name, text] : logs) {
    parsed.push_back(verifier.Parse(name, text));
    verifier.CheckChain(parsed.back());
  }
  std::map<std::string, const ParsedLog*> by_actor;
  for (const ParsedLog& log : parsed) {
    if (log.actor.empty()) continue;
    if (!by_actor.emplace(log.actor, &log).second) {
      verifier.Error(AuditProblem::kWrongActor, log.name, 0,
                     "a second log of actor \"" + log.actor + "\" (cross-checked with the first)");
    }
  }
  std::ostringstream cross;
  std::map<std::string, std::size_t> receipts;
  for (const ParsedLog& a : parsed) {
    if (by_actor[a.actor] != &a) continue;
    std::set<std::string> peers;
    for (const Line& line : a.lines) {
      if (line.record &&
          (line.record->entry.event == "send" || line.record->entry.event == "receive")) {
        peers.insert(line.record->entry.peer);
      }
    }
    for (const std::string& peer : peers) {
      const auto it = by_actor.find(peer);
      if (it == by_actor.end()) {
        verifier.Warning(AuditProblem::kPeerLogMissing, a.name, 0,
                         "messages with \"" + peer + "\" not cross-checked: its log was not given");
        continue;
      }
      verifier.CrossCheck(a, *it->second, cross);
    }
    verifier.CheckReceipts(a, by_actor, &receipts);
  }

  AuditVerifyResult result;
  result.findings = verifier.TakeFindings();
  std::stable_sort(result.findings.begin(), result.findings.end(),
                   [](const AuditFinding& x, const AuditFinding& y) {
                     return x.log != y.log ? x.log < y.log : x.record < y.record;
                   });

  std::ostringstream out;
  out << "fedrad audit verify: " << parsed.size() << " log(s), " << keys.size()
      << " pinned key(s)\n\n";
  for (const ParsedLog& log : parsed) {
    std::size_t errors = 0, warnings = 0, shown = 0;
    for (const AuditFinding& f : result.findings) {
      if (f.log != log.name) continue;
      (f.error ? errors : warnings)++;
    }
    out << log.name << ": actor " << (log.actor.empty() ? "(none)" : log.actor) << ", "
        << log.lines.size() << " records" << (log.truncated ? " + a truncated line" : "") << ": "
        << (errors == 0 ? "OK" : "FAILED") << " (" << errors << " error(s), " << warnings
        << " warning(s))\n";
    for (const AuditFinding& f : result.findings) {
      if (f.log != log.name) continue;
      if (++shown > kMaxFindingsShownPerLog) continue;
      out << "  " << (f.error ? "ERROR  " : "WARNING") << " "
          << (f.record == 0 ? std::string("(whole log)") : "record " + std::to_string(f.record))
          << " [" << AuditProblemName(f.problem) << "] " << f.message << "\n";
    }
    if (shown > kMaxFindingsShownPerLog) {
      out << "  ... and " << (shown - kMaxFindingsShownPerLog) << " more\n";
    }
  }
  out << "\nCross-check (send in one log = receive in the other, same type, sha256, size):\n";
  const std::string cross_text = cross.str();
  out << (cross_text.empty() ? "  no pairs of logs to compare\n" : cross_text);
  for (const auto& [party, n] : receipts) {
    out << "  receipts signed by " << party << ": " << n << " verified\n";
  }
  out << "\n";
  for (const ParsedLog& log : parsed) {
    if (log.actor.empty()) continue;
    Disclosures(log, out);
  }
  const std::size_t errors = result.errors();
  out << "\nRESULT: " << (errors == 0 ? "PASS" : "FAIL") << " (" << errors << " error(s), "
      << result.findings.size() - errors << " warning(s))\n";
  result.report = out.str();
  return result;
}

int RunAuditVerify(const std::vector<std::string>& log_paths, const std::string& keys_dir,
                   std::ostream& out, std::ostream& err) {
  if (log_paths.empty()) {
    err << "fedrad audit verify: give at least one LOG\n";
    return 2;
  }
  if (Status s = InitSodium(); !s.ok()) {
    err << "fedrad audit verify: error: " << s.ToString() << "\n";
    return 1;
  }
  auto keys = LoadAuditKeys(keys_dir);
  if (!keys.ok()) {
    err << "fedrad audit verify: error: --keys: " << keys.status().ToString() << "\n";
    return 2;
  }
  std::vector<std::pair<std::string, std::string>> logs;
  for (const std::string& path : log_paths) {
    auto text = ReadFile(path, kMaxAuditLogBytes);
    if (!text.ok()) {
      err << "fedrad audit verify: error: " << text.status().ToString() << "\n";
      return 2;
    }
    logs.emplace_back(path, std::move(*text));
  }
  const AuditVerifyResult result = VerifyAuditLogs(logs, *keys);
  out << result.report;
  return result.passed() ? 0 : 1;
}

}  // namespace fedrad::common

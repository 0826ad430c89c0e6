// AuditObserver: attaches an audit log (common/audit_log.hpp) to a transport.
//
// Every message the transport sends or receives is written to the log as a
// `send` or `receive` record (peer, wire type name, AuditPayloadHash of the
// frames, size, the arrays summary); a message the decoder rejected is a
// `refuse` record. A party that forwards receipts (a site) collects the
// receipt of every message it sent, except RECEIPT messages themselves (no
// receipts of receipts), and sends them as RECEIPT messages
// (docs/protocol.md); a party that stores receipts (the coordinator) writes
// each RECEIPT it receives as a `receipt` record, with the authenticated
// peer as the sender.
//
// An audit write failure is remembered: the party must check status() and
// stop (nothing may leave unlogged). After a failure nothing more is logged.
#pragma once

#include <deque>
#include <mutex>
#include <vector>

#include "fedrad/common/audit_log.hpp"
#include "fedrad/common/status.hpp"
#include "fedrad/protocols/transport.hpp"

namespace fedrad::protocols {

class AuditObserver final : public WireObserver {
 public:
  enum class Receipts { kNone, kCollect, kStore };
  // `log` is not owned and must outlive the observer; `receipts`: kCollect
  // keeps the receipts of sent messages (TakeReceipts), kStore writes the
  // RECEIPT messages received as `receipt` records.
  AuditObserver(common::AuditLog* log, Receipts receipts);

  void OnWire(const WireEvent& event) override;

  // The first audit write failure (OK if none).
  common::Status status() const;
  // The receipts collected since the last call, oldest first.
  std::vector<common::AuditReceipt> TakeReceipts();

 private:
  void Fail(const common::Status& status);

  common::AuditLog* log_;
  Receipts receipts_;
  mutable std::mutex mutex_;
  common::Status status_;
  std::deque<common::AuditReceipt> pending_;
};

// A RECEIPT message body carrying `receipt`.
Receipt ToReceiptMessage(const common::AuditReceipt& receipt);

}  // namespace fedrad::protocols

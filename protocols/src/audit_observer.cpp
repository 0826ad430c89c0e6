#include "fedrad/protocols/audit_observer.hpp"

#include <algorithm>
#include <iterator>
#include <span>
#include <string>
#include <utility>

#include "fedrad/common/logging.hpp"

namespace fedrad::protocols {

AuditObserver::AuditObserver(common::AuditLog* log, Receipts receipts)
    : log_(log), receipts_(receipts) {}

void AuditObserver::Fail(const common::Status& status) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (status_.ok()) {
    status_ = status.Wrap("audit log " + log_->path());
    common::Log(common::LogLevel::kError, "audit", "audit write failed; the party must stop",
                {{"log", log_->path()}, {"error", status_.ToString()}});
  }
}

common::Status AuditObserver::status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return status_;
}

std::vector<common::AuditReceipt> AuditObserver::TakeReceipts() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<common::AuditReceipt> out(pending_.begin(), pending_.end());
  pending_.clear();
  return out;
}

void AuditObserver::OnWire(const WireEvent& event) {
  if (!status().ok()) return;
  static const Frames kNoFrames;
  const Frames& frames = event.frames != nullptr ? *event.frames : kNoFrames;
  const std::span<const std::string> span(frames.data(), frames.size());
  const std::string type = MessageTypeName(event.type);
  const bool is_receipt = event.type == static_cast<std::uint16_t>(MessageType::kReceipt);

  if (event.direction == WireEvent::Direction::kSent) {
    auto receipt = log_->RecordSend(event.peer, type, span, common::AuditArraysSummary(span));
    if (!receipt.ok()) return Fail(receipt.status());
    if (receipts_ == Receipts::kCollect && !is_receipt) {
      std::lock_guard<std::mutex> lock(mutex_);
      pending_.push_back(std::move(receipt).value());
    }
    return;
  }
  if (event.direction == WireEvent::Direction::kSendFailed) {
    // The send recorded just before did not leave: say so, and drop its
    // receipt (the peer never got the message).
    common::AuditEntry entry;
    entry.event = "send_failed";
    entry.peer = event.peer;
    entry.type = type;
    entry.sha256 = common::AuditPayloadHash(span);
    entry.bytes = event.bytes;
    entry.detail = "the transport refused the message recorded by the previous send";
    if (receipts_ == Receipts::kCollect && !is_receipt) {
      std::lock_guard<std::mutex> lock(mutex_);
      const auto it =
          std::find_if(pending_.rbegin(), pending_.rend(), [&](const common::AuditReceipt& r) {
            return r.sha256 == entry.sha256 && r.type == type;
          });
      if (it != pending_.rend()) pending_.erase(std::next(it).base());
    }
    if (auto s = log_->Append(std::move(entry)); !s.ok()) Fail(s.status());
    return;
  }
  if (!event.decoded) {
    common::AuditEntry entry;
    entry.event = "refuse";
    entry.peer = event.peer;
    entry.type = type;
    entry.sha256 = common::AuditPayloadHash(span);
    entry.bytes = event.bytes;
    entry.detail = "the decoder rejected the message";
    if (auto s = log_->Append(std::move(entry)); !s.ok()) Fail(s.status());
    return;
  }
  auto received = log_->RecordReceive(event.peer, type, span, common::AuditArraysSummary(span));
  if (!received.ok()) return Fail(received.status());
  if (!is_receipt || receipts_ != Receipts::kStore) return;
  auto message = Decode(frames);
  const Receipt* body = message.ok() ? std::get_if<Receipt>(&message->body) : nullptr;
  if (body == nullptr) return;
  common::AuditReceipt receipt;
  receipt.site = event.peer;  // the authenticated sender, never message content
  receipt.seq = static_cast<std::uint64_t>(body->seq);
  receipt.peer = log_->actor();
  receipt.type = body->type;
  receipt.sha256 = body->sha256;
  receipt.bytes = static_cast<std::uint64_t>(body->bytes);
  receipt.sig = body->sig;
  if (auto s = log_->StoreReceipt(receipt); !s.ok()) Fail(s.status());
}

Receipt ToReceiptMessage(const common::AuditReceipt& receipt) {
  Receipt body;
  body.seq = static_cast<std::int64_t>(receipt.seq);
  body.type = receipt.type;
  body.sha256 = receipt.sha256;
  body.bytes = static_cast<std::int64_t>(receipt.bytes);
  body.sig = receipt.sig;
  return body;
}

}  // namespace fedrad::protocols

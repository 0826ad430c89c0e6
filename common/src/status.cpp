#include "fedrad/common/status.hpp"

namespace fedrad::common {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kInvalidArgument:
      return "invalid_argument";
    case StatusCode::kNotFound:
      return "not_found";
    case StatusCode::kAlreadyExists:
      return "already_exists";
    case StatusCode::kPermissionDenied:
      return "permission_denied";
    case StatusCode::kIoError:
      return "io_error";
    case StatusCode::kParseError:
      return "parse_error";
    case StatusCode::kProtocolError:
      return "protocol_error";
    case StatusCode::kVersionMismatch:
      return "version_mismatch";
    case StatusCode::kUnauthenticated:
      return "unauthenticated";
    case StatusCode::kTimeout:
      return "timeout";
    case StatusCode::kUnavailable:
      return "unavailable";
    case StatusCode::kResourceExhausted:
      return "resource_exhausted";
    case StatusCode::kFailedPrecondition:
      return "failed_precondition";
    case StatusCode::kCancelled:
      return "cancelled";
    case StatusCode::kInternal:
      return "internal";
  }
  return "unknown";
}

Status::Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

const Status& Status::Root() const {
  const Status* s = this;
  while (s->cause_) s = s->cause_.get();
  return *s;
}

Status Status::Wrap(std::string context) const { return Wrap(code_, std::move(context)); }

Status Status::Wrap(StatusCode code, std::string context) const {
  Status wrapped(code, std::move(context));
  wrapped.cause_ = std::make_shared<const Status>(*this);
  return wrapped;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out = message_;
  for (const Status* c = cause_.get(); c != nullptr; c = c->cause_.get()) {
    out += ": caused by: ";
    out += c->message_;
  }
  return out;
}

std::string Status::ToDebugString() const {
  if (ok()) return "OK";
  std::string out;
  for (const Status* c = this; c != nullptr; c = c->cause_.get()) {
    if (c != this) out += ": caused by: ";
    out += "[";
    out += StatusCodeName(c->code_);
    out += "] ";
    out += c->message_;
  }
  return out;
}

Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
Status ParseError(std::string m) { return {StatusCode::kParseError, std::move(m)}; }
Status ProtocolError(std::string m) { return {StatusCode::kProtocolError, std::move(m)}; }
Status VersionMismatch(std::string m) { return {StatusCode::kVersionMismatch, std::move(m)}; }
Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
Status TimeoutError(std::string m) { return {StatusCode::kTimeout, std::move(m)}; }
Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

BadResultAccess::BadResultAccess(Status status)
    : status_(std::move(status)),
      what_("accessed the value of an error Result: " + status_.ToString()) {}

}  // namespace fedrad::common

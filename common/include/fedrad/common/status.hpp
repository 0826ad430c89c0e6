// Status and Result<T>: how errors cross a boundary (file, config, network).
//
// Every function that can fail because of something outside the program's
// control (a file, a config value, a peer's bytes) returns a Status or a
// Result<T>. Exceptions are reserved for broken invariants (programming
// errors); they are caught in main().
//
// A Status carries a code, a human-readable message that names what was wrong
// (file, field, peer) and what was expected, and optionally the Status that
// caused it, so context can be added layer by layer without losing the root:
//
//   coordinator config: caused by: coord.json: /sites/1/curve_public_key:
//   expected a 40-character Z85 key, got 12 characters
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace fedrad::common {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // a value is malformed or out of range
  kNotFound,            // a file, key or record does not exist
  kAlreadyExists,       // refusing to overwrite something
  kPermissionDenied,    // file mode, unauthorised peer
  kIoError,             // a read/write/fsync failed
  kParseError,          // bytes could not be parsed (JSON, CSV, key file)
  kProtocolError,       // a peer's message violates docs/protocol.md
  kVersionMismatch,     // incompatible protocol or file version
  kUnauthenticated,     // a peer could not prove its identity
  kTimeout,             // a deadline passed
  kUnavailable,         // a peer or service is not reachable now
  kResourceExhausted,   // a size limit was exceeded
  kFailedPrecondition,  // the system is not in a state to do this
  kCancelled,           // stopped on request (signal, shutdown)
  kInternal,            // a bug: an invariant did not hold
};

// Stable lower-case name of a code, e.g. "invalid_argument".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message);

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The status this one was wrapped around, or nullptr.
  const Status* cause() const { return cause_.get(); }
  // The innermost status of the cause chain (this one if there is no cause).
  const Status& Root() const;

  // Returns a new status with `context` as its message and this one as its
  // cause. The code is kept unless `code` is given.
  Status Wrap(std::string context) const;
  Status Wrap(StatusCode code, std::string context) const;

  // "message: caused by: cause message: caused by: ..." (no code names).
  std::string ToString() const;
  // Like ToString() but each level prefixed by its code name.
  std::string ToDebugString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::shared_ptr<const Status> cause_;
};

// Convenience constructors.
Status InvalidArgument(std::string message);
Status NotFound(std::string message);
Status AlreadyExists(std::string message);
Status PermissionDenied(std::string message);
Status IoError(std::string message);
Status ParseError(std::string message);
Status ProtocolError(std::string message);
Status VersionMismatch(std::string message);
Status Unauthenticated(std::string message);
Status TimeoutError(std::string message);
Status Unavailable(std::string message);
Status ResourceExhausted(std::string message);
Status FailedPrecondition(std::string message);
Status Cancelled(std::string message);
Status Internal(std::string message);

// Thrown only by Result<T>::value() on an error result: using a value that is
// not there is a broken invariant.
class BadResultAccess : public std::exception {
 public:
  explicit BadResultAccess(Status status);
  const char* what() const noexcept override { return what_.c_str(); }
  const Status& status() const { return status_; }

 private:
  Status status_;
  std::string what_;
};

// Either a value of type T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : data_(std::move(status)) {  // NOLINT
    if (std::get<Status>(data_).ok()) {
      data_ = Status(StatusCode::kInternal, "Result constructed from an OK status without a value");
    }
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  // The error, or an OK status when there is a value.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(data_); }

  T& value() & {
    if (!ok()) throw BadResultAccess(std::get<Status>(data_));
    return std::get<T>(data_);
  }
  const T& value() const& {
    if (!ok()) throw BadResultAccess(std::get<Status>(data_));
    return std::get<T>(data_);
  }
  T&& value() && {
    if (!ok()) throw BadResultAccess(std::get<Status>(data_));
    return std::move(std::get<T>(data_));
  }
  T value_or(T fallback) const& { return ok() ? std::get<T>(data_) : fallback; }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace fedrad::common

#define FEDRAD_CONCAT_INNER_(a, b) a##b
#define FEDRAD_CONCAT_(a, b) FEDRAD_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define FEDRAD_RETURN_IF_ERROR(expr)                  \
  do {                                                \
    ::fedrad::common::Status fedrad_status_ = (expr); \
    if (!fedrad_status_.ok()) return fedrad_status_;  \
  } while (false)

// FEDRAD_ASSIGN_OR_RETURN(auto x, Foo()); declares x from a Result or returns
// its status.
#define FEDRAD_ASSIGN_OR_RETURN(lhs, rexpr)                   \
  auto FEDRAD_CONCAT_(fedrad_result_, __LINE__) = (rexpr);    \
  if (!FEDRAD_CONCAT_(fedrad_result_, __LINE__).ok())         \
    return FEDRAD_CONCAT_(fedrad_result_, __LINE__).status(); \
  lhs = std::move(FEDRAD_CONCAT_(fedrad_result_, __LINE__)).value()

#include "fedrad/common/sodium_init.hpp"

#include <sodium.h>

namespace fedrad::common {

Status InitSodium() {
  // A function-local static is initialised exactly once, even when several
  // threads get here at the same time. sodium_init() returns 0 on success, 1
  // if it was already initialised (e.g. by libzmq) and -1 on failure.
  static const int result = sodium_init();
  if (result < 0) {
    return FailedPrecondition(
        "libsodium could not be initialised (sodium_init() failed; is /dev/urandom available?)");
  }
  return Status::Ok();
}

}  // namespace fedrad::common

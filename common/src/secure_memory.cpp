#include "fedrad/common/secure_memory.hpp"

#include <sodium.h>

#include <new>
#include <stdexcept>
#include <utility>

#include "fedrad/common/sodium_init.hpp"

namespace fedrad::common {

SecureBuffer::SecureBuffer(std::size_t size) {
  if (size == 0) return;
  // sodium_malloc needs the page size that sodium_init() records; calling
  // InitSodium() here is cheap and makes the buffer safe to use early.
  if (!InitSodium().ok()) throw std::runtime_error("SecureBuffer: libsodium is not initialised");
  void* memory = sodium_malloc(size);
  if (memory == nullptr) throw std::bad_alloc();
  data_ = static_cast<std::uint8_t*>(memory);
  size_ = size;
  sodium_memzero(data_, size_);  // sodium_malloc fills with 0xdb; start from zeros
}

SecureBuffer::~SecureBuffer() {
  if (data_ != nullptr) sodium_free(data_);  // sodium_free wipes before freeing
}

SecureBuffer::SecureBuffer(SecureBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecureBuffer& SecureBuffer::operator=(SecureBuffer&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) sodium_free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void SecureBuffer::Wipe() {
  if (data_ != nullptr) sodium_memzero(data_, size_);
}

void SecureWipe(void* data, std::size_t size) {
  if (data != nullptr && size > 0) sodium_memzero(data, size);
}

}  // namespace fedrad::common

// Memory for secrets: allocated with sodium_malloc (guard pages, mlock'ed,
// not swapped) and wiped with sodium_memzero when released.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace fedrad::common {

// A fixed-size buffer of secret bytes. Move-only; wiped and freed on
// destruction. sodium must be initialised first (InitSodium()).
class SecureBuffer {
 public:
  SecureBuffer() = default;
  explicit SecureBuffer(std::size_t size);  // throws std::bad_alloc on failure
  ~SecureBuffer();
  SecureBuffer(SecureBuffer&& other) noexcept;
  SecureBuffer& operator=(SecureBuffer&& other) noexcept;
  SecureBuffer(const SecureBuffer&) = delete;
  SecureBuffer& operator=(const SecureBuffer&) = delete;

  std::uint8_t* data() { return data_; }
  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<std::uint8_t> span() { return {data_, size_}; }
  std::span<const std::uint8_t> span() const { return {data_, size_}; }

  // Wipes the contents (keeps the allocation).
  void Wipe();

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

// Wipes a region of ordinary memory (for temporaries that held secrets).
void SecureWipe(void* data, std::size_t size);

}  // namespace fedrad::common

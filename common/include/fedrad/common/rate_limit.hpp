// Keeps repeated log lines from flooding: a key may pass once per interval;
// the number of suppressed occurrences is reported with the next one.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace fedrad::common {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(Clock::duration interval) : interval_(interval) {}

  // True if `key` may be logged now; *suppressed receives how many times it
  // was held back since it was last allowed.
  bool Allow(const std::string& key, std::uint64_t* suppressed = nullptr) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = Clock::now();
    auto it = entries_.find(key);
    if (it == entries_.end()) {
      if (entries_.size() >= kMaxKeys) entries_.clear();  // bounded memory
      entries_[key] = Entry{now, 0};
      if (suppressed != nullptr) *suppressed = 0;
      return true;
    }
    if (now - it->second.last_allowed >= interval_) {
      if (suppressed != nullptr) *suppressed = it->second.suppressed;
      it->second = Entry{now, 0};
      return true;
    }
    ++it->second.suppressed;
    return false;
  }

 private:
  static constexpr std::size_t kMaxKeys = 4096;
  struct Entry {
    Clock::time_point last_allowed;
    std::uint64_t suppressed = 0;
  };
  Clock::duration interval_;
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace fedrad::common

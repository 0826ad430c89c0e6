#include "fedrad/coordinator/round_batcher.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

namespace fedrad::coordinator {

using common::Result;
using site_agent::stats::StatRequest;

namespace {

using Sums = std::vector<std::vector<double>>;

// Gathers one post (a batch of requests) from every running participant and
// sends them all to the base aggregator as one batch (one round).
class RoundBatcher {
 public:
  RoundBatcher(Aggregator& base, int participants)
      : base_(base),
        active_(participants),
        pending_(static_cast<std::size_t>(participants)),
        results_(static_cast<std::size_t>(participants)) {}

  Result<Sums> Post(int who, std::vector<StatRequest> requests) {
    const auto w = static_cast<std::size_t>(who);
    std::unique_lock<std::mutex> lock(mu_);
    pending_[w] = std::move(requests);
    ++num_pending_;
    if (num_pending_ == active_) {
      FlushLocked();
    } else {
      cv_.wait(lock, [this, w] { return results_[w].has_value(); });
    }
    Result<Sums> out = std::move(*results_[w]);
    results_[w].reset();
    return out;
  }

  void Leave() {
    std::lock_guard<std::mutex> lock(mu_);
    --active_;
    if (num_pending_ > 0 && num_pending_ == active_) FlushLocked();
  }

 private:
  // Called with mu_ held by the thread that completed the round; the other
  // participants are all waiting for their results.
  void FlushLocked() {
    std::vector<std::size_t> who;
    std::vector<std::size_t> counts;
    std::vector<StatRequest> all;
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      if (!pending_[i].has_value()) continue;
      who.push_back(i);
      counts.push_back(pending_[i]->size());
      for (auto& request : *pending_[i]) all.push_back(std::move(request));
      pending_[i].reset();
    }
    num_pending_ = 0;
    auto sums = base_.SumBatch(all);
    std::size_t next = 0;
    for (std::size_t k = 0; k < who.size(); ++k) {
      if (sums.ok() && sums->size() == all.size()) {
        Sums mine;
        mine.reserve(counts[k]);
        for (std::size_t c = 0; c < counts[k]; ++c) mine.push_back(std::move((*sums)[next++]));
        results_[who[k]] = Result<Sums>(std::move(mine));
      } else if (sums.ok()) {
        results_[who[k]] =
            Result<Sums>(common::Internal("round batcher: " + std::to_string(sums->size()) +
                                          " sums for " + std::to_string(all.size()) + " requests"));
      } else {
        results_[who[k]] = Result<Sums>(sums.status());
      }
    }
    cv_.notify_all();
  }

  Aggregator& base_;
  std::mutex mu_;
  std::condition_variable cv_;
  int active_ = 0;
  int num_pending_ = 0;
  std::vector<std::optional<std::vector<StatRequest>>> pending_;
  std::vector<std::optional<Result<Sums>>> results_;
};

// What one participant sees: an aggregator whose rounds are the base's.
class BatchedAggregator final : public Aggregator {
 public:
  BatchedAggregator(RoundBatcher& batcher, const Aggregator& base, int who)
      : batcher_(batcher), base_(base), who_(who) {}
  int num_features() const override { return base_.num_features(); }
  Result<std::vector<double>> Sum(const StatRequest& request) override {
    FEDRAD_ASSIGN_OR_RETURN(auto sums, batcher_.Post(who_, {request}));
    return std::move(sums.front());
  }
  Result<Sums> SumBatch(const std::vector<StatRequest>& requests) override {
    return batcher_.Post(who_, requests);
  }
  std::int64_t rounds() const override { return base_.rounds(); }
  std::int64_t bytes_to_each_site() const override { return base_.bytes_to_each_site(); }
  std::int64_t bytes_from_each_site() const override { return base_.bytes_from_each_site(); }

 private:
  RoundBatcher& batcher_;
  const Aggregator& base_;
  int who_;
};

}  // namespace

void RunConcurrently(Aggregator& base, int participants,
                     const std::function<void(int who, Aggregator& proxy)>& body) {
  if (participants <= 0) return;
  if (participants == 1) {
    body(0, base);
    return;
  }
  RoundBatcher batcher(base, participants);
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(participants));
  for (int i = 0; i < participants; ++i) {
    threads.emplace_back([&, i] {
      BatchedAggregator proxy(batcher, base, i);
      body(i, proxy);
      batcher.Leave();
    });
  }
  for (auto& thread : threads) thread.join();
}

}  // namespace fedrad::coordinator

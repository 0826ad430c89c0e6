// Running several solvers concurrently so that they share rounds.
//
// RunConcurrently(base, n, body) runs body(i, proxy_i) for i = 0..n-1, each
// in its own thread, where proxy_i is an Aggregator that forwards to `base`.
// A round of `base` is sent only when every still-running body has posted
// its next request (or batch of requests), and it carries all of them in one
// SumBatch; the answers go back to their bodies. Hence the rounds of the
// whole equal the maximum of the bodies' own rounds, not their sum.
//
// Proxies nest: a body may itself call RunConcurrently on its proxy (e.g.
// the outer folds of nested cross-validation, each running the inner folds'
// LASSO fits concurrently); a batch posted by a body travels as one part of
// the enclosing round. A failed round fails every request in it. Bodies must
// not keep the proxy after they return.
#pragma once

#include <functional>

#include "fedrad/coordinator/aggregator.hpp"

namespace fedrad::coordinator {

void RunConcurrently(Aggregator& base, int participants,
                     const std::function<void(int who, Aggregator& proxy)>& body);

}  // namespace fedrad::coordinator

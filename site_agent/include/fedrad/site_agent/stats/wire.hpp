// Statistic requests and their sums on the wire (docs/protocol.md,
// "Statistic batches").
//
// One round = one ROUND_REQUEST with statistic "stats_batch" from the
// coordinator to every site, and one ROUND_REPLY per site. The request's
// `parameters` object describes each request of the batch (type, dataset,
// rows, scalars) and refers to slices of two payload arrays, "f64" (every
// double vector and matrix of the batch, concatenated) and "i64" (every
// index list); the reply carries one "f64" array with every result array
// concatenated, in batch order, and `parameters`-free metadata. Decoders
// never trust the bytes: every slice, index, size and enum is checked
// against the limits below and against the batch itself, with errors naming
// the request number and the field ("stats_batch request 3 (logistic):
// beta has 7 values, expected 12").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/protocols/messages.hpp"
#include "fedrad/site_agent/stats/providers.hpp"

namespace fedrad::site_agent::stats {

inline constexpr char kStatsBatchStatistic[] = "stats_batch";
inline constexpr std::size_t kMaxBatchRequests = 4096;

common::Result<protocols::RoundRequest> EncodeStatsBatch(const std::string& job_id,
                                                         std::int64_t round_id,
                                                         const std::vector<StatRequest>& requests);
common::Result<std::vector<StatRequest>> DecodeStatsBatch(const protocols::RoundRequest& message);

common::Result<protocols::RoundReply> EncodeStatsResults(
    const std::string& job_id, std::int64_t round_id,
    const std::vector<std::vector<double>>& results);
// `expected_sizes`: ResultSize of each request of the batch at the coordinator.
common::Result<std::vector<std::vector<double>>> DecodeStatsResults(
    const protocols::RoundReply& message, const std::vector<std::size_t>& expected_sizes);

}  // namespace fedrad::site_agent::stats

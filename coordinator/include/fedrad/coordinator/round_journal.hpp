// The coordinator's durable study state: a journal of completed rounds.
//
// Why a journal of round results, not a snapshot of solver state: every
// solver of a study (standardization, LASSO path, cross-validation, SVM,
// Platt, evaluation) is a deterministic function of the sums its rounds
// return. A coordinator that recorded each completed round's sums can
// therefore rebuild its whole state after a crash by running the study again
// from the start and serving the recorded sums instead of asking the sites,
// up to the first round it had not completed, which then goes to the sites.
// The resumed run reaches the same state bit for bit (the sums are the same
// doubles), so its outputs equal an uninterrupted run's. No solver needs
// serialization code, and a solver added later is covered automatically.
//
// File format (little-endian; one append-only file, written by one process):
//
//   file    = header record, then round records
//   record  = magic "FRJ1" (4 octets) | u32 payload length | payload |
//             SHA-256 of the payload (32 octets)
//   header payload (JSON text): {"kind": "fedrad-round-journal", "version": 1,
//             "study_id", "spec_sha256", "job_id", "sites": [...],
//             "excluded": [[site, reason], ...],
//             "fedrad_version", "created_utc"}
//   round payload: u8 type (1 = round) | u16 stream length | stream (UTF-8) |
//             u64 index within the stream (0, 1, 2, ...) |
//             32 octets SHA-256 of the round's request batch (RequestDigest) |
//             i64 bytes to each site | i64 bytes from each site |
//             u32 number of sums | per sum: u32 length n, n f64 values
//   refused round payload: u8 type (2 = a round a site's disclosure gate
//             refused) | u16 stream length | stream | u64 index |
//             32 octets request SHA-256 | i64 bytes to | i64 bytes from |
//             u16 site length | site | u32 message length | message (the
//             refusal's status message, UTF-8)
//
// A refused round is journaled too (type 2): the study may go on after it
// (the evaluation's fallback grid, evaluation.hpp), so a resumed run must
// take the same branch at the same point, with the same stream indices and
// round ids, without asking the sites again. The replay returns the
// recorded refusal (kPermissionDenied with the recorded message).
//
// Each round record is appended with one write() and fsync()ed before the
// round's sums are handed to the solver ("one transaction per round"). A
// crash can leave at most one incomplete record at the end: Open() detects it
// (short read, bad magic, length beyond the file, checksum mismatch in the
// last record) and cuts it off, saying so. A bad record that is NOT the last
// one is corruption and an error naming its offset: a journal is never
// silently trusted.
//
// Streams: a study may drive several aggregators (the training sites, each
// external cohort); each wraps its own JournaledAggregator with a stream name
// and replays its own sequence.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "fedrad/common/status.hpp"
#include "fedrad/coordinator/aggregator.hpp"

namespace fedrad::coordinator {

struct JournalHeader {
  std::string study_id;
  std::string spec_sha256;
  std::string job_id;
  std::vector<std::string> sites;
  // Sites excluded before this job (a refusal or a dropout): site -> reason.
  std::vector<std::pair<std::string, std::string>> excluded;
  std::string fedrad_version;
  std::string created_utc;
};

struct JournalRound {
  std::string stream;
  std::uint64_t index = 0;
  std::string request_digest;  // 64 hex
  std::int64_t bytes_to = 0;
  std::int64_t bytes_from = 0;
  std::vector<std::vector<double>> sums;
  // A round refused by a site's disclosure gate (record type 2; no sums):
  // the refusing site (if known) and the refusal's message.
  bool refused = false;
  std::string refused_site;
  std::string refusal;
};

class RoundJournal {
 public:
  // Creates a new journal (kAlreadyExists if `path` exists: the caller
  // decides whether to resume or to refuse). Written with mode 0600.
  static common::Result<RoundJournal> Create(const std::string& path, JournalHeader header);
  // Opens an existing journal for resumption: reads the header and every
  // round record, cuts an incomplete last record (truncated_bytes() > 0)
  // and positions for appending. Errors name the path and the offset.
  static common::Result<RoundJournal> Open(const std::string& path);

  RoundJournal(RoundJournal&& other) noexcept;
  RoundJournal& operator=(RoundJournal&& other) noexcept;
  RoundJournal(const RoundJournal&) = delete;
  RoundJournal& operator=(const RoundJournal&) = delete;
  ~RoundJournal();

  const std::string& path() const { return path_; }
  const JournalHeader& header() const { return header_; }
  // Bytes of an incomplete last record cut by Open() (0 if none).
  std::int64_t truncated_bytes() const { return truncated_bytes_; }
  // Rounds recorded for `stream` (from the file and appended since).
  std::uint64_t recorded(const std::string& stream) const;
  std::uint64_t total_recorded() const;
  // Reads the recorded round `index` of `stream` back from the file (the
  // journal keeps only record offsets in memory; a study's sums can be GBs).
  // kInvalidArgument if there is no such round; kParseError if the record
  // no longer verifies (the file changed under the journal).
  common::Result<JournalRound> ReadRound(const std::string& stream, std::uint64_t index) const;
  // Appends one round (its index must be recorded(stream)) and fsyncs.
  common::Status Append(JournalRound round);

 private:
  RoundJournal() = default;
  std::string path_;
  int fd_ = -1;
  JournalHeader header_;
  std::int64_t truncated_bytes_ = 0;
  struct Location {
    std::int64_t offset = 0;  // of the record's magic
    std::uint32_t payload_bytes = 0;
  };
  std::map<std::string, std::vector<Location>> rounds_;
  std::int64_t end_ = 0;  // file size after the last good record
};

// SHA-256 (hex) of a request batch as the wire would carry it (the
// stats_batch encoding with a fixed job id and round id): equal batches have
// equal digests, so a resumed run can check that it asks what it asked before.
common::Result<std::string> RequestDigest(
    const std::vector<site_agent::stats::StatRequest>& requests);

// An Aggregator that journals every completed round of `base` and, while
// the journal holds recorded rounds of its stream, serves them instead of
// asking `base` (after checking that the request batch has the recorded
// digest: kFailedPrecondition naming the stream and round if not, i.e. the
// spec, the sites' data or the code changed since the journal was written).
// rounds() and the byte counters include the replayed rounds, so a resumed
// run reports the same totals as an uninterrupted one; before its first live
// round it calls base.SetRoundIdOffset(replayed rounds), so the round ids on
// the wire continue where the replay stopped. A failed round of `base` is
// not journaled, except a refusal by a site's disclosure gate
// (kPermissionDenied), which is journaled as a refused round and replayed as
// that refusal (replayed_refusal_site() then names the site, as a
// WireAggregator's last_failed_site() does for a live refusal).
class JournaledAggregator final : public Aggregator {
 public:
  JournaledAggregator(Aggregator& base, RoundJournal& journal, std::string stream)
      : base_(base), journal_(journal), stream_(std::move(stream)) {}
  int num_features() const override { return base_.num_features(); }
  common::Result<std::vector<double>> Sum(const site_agent::stats::StatRequest& request) override;
  common::Result<std::vector<std::vector<double>>> SumBatch(
      const std::vector<site_agent::stats::StatRequest>& requests) override;
  std::int64_t rounds() const override { return replayed_rounds_ + base_.rounds(); }
  std::int64_t bytes_to_each_site() const override {
    return replayed_to_ + base_.bytes_to_each_site();
  }
  std::int64_t bytes_from_each_site() const override {
    return replayed_from_ + base_.bytes_from_each_site();
  }
  // Rounds served from the journal so far.
  std::int64_t replayed_rounds() const { return replayed_rounds_; }
  // The site of the refusal the last SumBatch replayed from the journal
  // ("" if it did not replay a refusal).
  const std::string& replayed_refusal_site() const { return replayed_refusal_site_; }

 private:
  Aggregator& base_;
  RoundJournal& journal_;
  std::string stream_;
  std::uint64_t next_index_ = 0;
  std::int64_t replayed_rounds_ = 0;
  std::int64_t replayed_to_ = 0;
  std::int64_t replayed_from_ = 0;
  bool went_live_ = false;
  std::string replayed_refusal_site_;
};

}  // namespace fedrad::coordinator

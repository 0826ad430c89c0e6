// The journal of completed rounds (round_journal.hpp).
#include "fedrad/coordinator/round_journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <utility>

#include "fedrad/common/hash.hpp"
#include "fedrad/coordinator/wire_aggregator.hpp"
#include "fedrad/protocols/messages.hpp"
#include "fedrad/site_agent/stats/wire.hpp"

namespace fedrad::coordinator {
namespace {

using common::Result;
using common::Status;

constexpr char kMagic[4] = {'F', 'R', 'J', '1'};
constexpr std::size_t kFrameBytes = 4 + 4;       // magic + length
constexpr std::size_t kDigestBytes = 32;         // SHA-256 trailer
constexpr std::uint32_t kMaxPayload = 1u << 31;  // one round's sums stay below 2 GiB
constexpr std::uint8_t kRoundType = 1;
constexpr std::uint8_t kRefusedRoundType = 2;

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

std::string HexOf(const unsigned char* raw, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    hex.push_back(digits[raw[i] >> 4]);
    hex.push_back(digits[raw[i] & 15]);
  }
  return hex;
}

bool RawFromHex(const std::string& hex, unsigned char* raw) {
  if (hex.size() != 2 * kDigestBytes) return false;
  for (std::size_t i = 0; i < kDigestBytes; ++i) {
    const auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    raw[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return true;
}

// Raw SHA-256 (32 octets) of `bytes`.
std::array<unsigned char, kDigestBytes> RawSha256(std::string_view bytes) {
  std::array<unsigned char, kDigestBytes> raw{};
  RawFromHex(common::Sha256Hex(bytes), raw.data());
  return raw;
}

template <class T>
void Put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // the journal is little-endian, like the host
  out.append(bytes, sizeof(T));
}

// A bounds-checked reader over one payload.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  template <class T>
  bool Get(T* value) {
    if (bytes_.size() - at_ < sizeof(T)) return false;
    std::memcpy(value, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return true;
  }
  bool Take(std::size_t n, std::string_view* out) {
    if (bytes_.size() - at_ < n) return false;
    *out = bytes_.substr(at_, n);
    at_ += n;
    return true;
  }
  bool done() const { return at_ == bytes_.size(); }
  std::size_t remaining() const { return bytes_.size() - at_; }

 private:
  std::string_view bytes_;
  std::size_t at_ = 0;
};

std::string Frame(const std::string& payload) {
  std::string record;
  record.reserve(kFrameBytes + payload.size() + kDigestBytes);
  record.append(kMagic, 4);
  Put<std::uint32_t>(record, static_cast<std::uint32_t>(payload.size()));
  record += payload;
  const auto digest = RawSha256(payload);
  record.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  return record;
}

Result<std::string> EncodeRound(const JournalRound& round) {
  std::string payload;
  Put<std::uint8_t>(payload, round.refused ? kRefusedRoundType : kRoundType);
  if (round.stream.empty() || round.stream.size() > 255) {
    return common::InvalidArgument("journal stream name must have 1..255 characters");
  }
  Put<std::uint16_t>(payload, static_cast<std::uint16_t>(round.stream.size()));
  payload += round.stream;
  Put<std::uint64_t>(payload, round.index);
  unsigned char digest[kDigestBytes];
  if (!RawFromHex(round.request_digest, digest)) {
    return common::InvalidArgument("journal request digest must be 64 lower-case hex digits");
  }
  payload.append(reinterpret_cast<const char*>(digest), kDigestBytes);
  Put<std::int64_t>(payload, round.bytes_to);
  Put<std::int64_t>(payload, round.bytes_from);
  if (round.refused) {
    if (round.refused_site.size() > 65535 || round.refusal.size() > (1u << 20)) {
      return common::InvalidArgument("journal: a refused round's site or message is too long");
    }
    Put<std::uint16_t>(payload, static_cast<std::uint16_t>(round.refused_site.size()));
    payload += round.refused_site;
    Put<std::uint32_t>(payload, static_cast<std::uint32_t>(round.refusal.size()));
    payload += round.refusal;
    return payload;
  }
  Put<std::uint32_t>(payload, static_cast<std::uint32_t>(round.sums.size()));
  for (const auto& sum : round.sums) {
    Put<std::uint32_t>(payload, static_cast<std::uint32_t>(sum.size()));
    payload.append(reinterpret_cast<const char*>(sum.data()), sum.size() * sizeof(double));
    if (payload.size() >= kMaxPayload) {
      return common::ResourceExhausted("one round's sums exceed the journal's 2 GiB record limit");
    }
  }
  return payload;
}

// Decodes a round payload; `sums` false skips copying the arrays (index scan).
bool DecodeRound(std::string_view payload, JournalRound* round, bool sums) {
  Reader in(payload);
  std::uint8_t type = 0;
  std::uint16_t stream_size = 0;
  std::string_view stream;
  std::string_view digest;
  std::uint32_t count = 0;
  if (!in.Get(&type) || (type != kRoundType && type != kRefusedRoundType) ||
      !in.Get(&stream_size) || !in.Take(stream_size, &stream) || !in.Get(&round->index) ||
      !in.Take(kDigestBytes, &digest) || !in.Get(&round->bytes_to) || !in.Get(&round->bytes_from)) {
    return false;
  }
  round->stream = std::string(stream);
  round->request_digest =
      HexOf(reinterpret_cast<const unsigned char*>(digest.data()), digest.size());
  round->sums.clear();
  round->refused = type == kRefusedRoundType;
  round->refused_site.clear();
  round->refusal.clear();
  if (round->refused) {
    std::uint16_t site_size = 0;
    std::uint32_t message_size = 0;
    std::string_view site;
    std::string_view message;
    if (!in.Get(&site_size) || !in.Take(site_size, &site) || !in.Get(&message_size) ||
        !in.Take(message_size, &message)) {
      return false;
    }
    round->refused_site = std::string(site);
    round->refusal = std::string(message);
    return in.done();
  }
  if (!in.Get(&count)) return false;
  if (count > in.remaining() / 4) return false;
  if (sums) round->sums.resize(count);
  for (std::uint32_t s = 0; s < count; ++s) {
    std::uint32_t n = 0;
    std::string_view values;
    if (!in.Get(&n) || n > in.remaining() / sizeof(double) || !in.Take(n * sizeof(double), &values))
      return false;
    if (sums) {
      round->sums[s].resize(n);
      std::memcpy(round->sums[s].data(), values.data(), values.size());
    }
  }
  return in.done();
}

Status WriteAll(int fd, const std::string& bytes, const std::string& path) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return common::IoError(Errno("cannot write the round journal", path));
    }
    done += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

Status SyncDirectoryOf(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return common::IoError(Errno("cannot open the folder of", path));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return common::IoError(Errno("cannot sync the folder of", path));
  return Status::Ok();
}

// Reads exactly n bytes at `offset`; false on a short read.
bool ReadAt(int fd, std::int64_t offset, std::size_t n, std::string* out) {
  out->resize(n);
  std::size_t done = 0;
  while (done < n) {
    const ssize_t got =
        ::pread(fd, out->data() + done, n - done, offset + static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    done += static_cast<std::size_t>(got);
  }
  return true;
}

nlohmann::json HeaderJson(const JournalHeader& h) {
  return {{"kind", "fedrad-round-journal"},
          {"version", 1},
          {"study_id", h.study_id},
          {"spec_sha256", h.spec_sha256},
          {"job_id", h.job_id},
          {"sites", h.sites},
          {"excluded", h.excluded},
          {"fedrad_version", h.fedrad_version},
          {"created_utc", h.created_utc}};
}

}  // namespace

RoundJournal::RoundJournal(RoundJournal&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      header_(std::move(other.header_)),
      truncated_bytes_(other.truncated_bytes_),
      rounds_(std::move(other.rounds_)),
      end_(other.end_) {}

RoundJournal& RoundJournal::operator=(RoundJournal&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    header_ = std::move(other.header_);
    truncated_bytes_ = other.truncated_bytes_;
    rounds_ = std::move(other.rounds_);
    end_ = other.end_;
  }
  return *this;
}

RoundJournal::~RoundJournal() {
  if (fd_ >= 0) ::close(fd_);
}

Result<RoundJournal> RoundJournal::Create(const std::string& path, JournalHeader header) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return common::AlreadyExists("the round journal " + path + " already exists");
    }
    return common::IoError(Errno("cannot create the round journal", path));
  }
  RoundJournal journal;
  journal.path_ = path;
  journal.fd_ = fd;
  journal.header_ = std::move(header);
  const std::string record = Frame(HeaderJson(journal.header_).dump());
  FEDRAD_RETURN_IF_ERROR(WriteAll(fd, record, path));
  if (::fsync(fd) != 0) return common::IoError(Errno("cannot sync the round journal", path));
  FEDRAD_RETURN_IF_ERROR(SyncDirectoryOf(path));
  journal.end_ = static_cast<std::int64_t>(record.size());
  return journal;
}

Result<RoundJournal> RoundJournal::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0) return common::IoError(Errno("cannot open the round journal", path));
  RoundJournal journal;
  journal.path_ = path;
  journal.fd_ = fd;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return common::IoError(Errno("cannot stat the round journal", path));
  const std::int64_t size = st.st_size;

  std::int64_t at = 0;
  bool header_seen = false;
  std::string frame;
  std::string payload;
  std::string trailer;
  while (at < size) {
    const auto where = [&] { return path + ": record at byte " + std::to_string(at) + ": "; };
    // An incomplete record can only be the last one: everything from `at`
    // on is cut. A complete record that does not verify is the last one
    // torn by a crash if it ends the file, otherwise corruption.
    std::uint32_t length = 0;
    bool complete = ReadAt(fd, at, kFrameBytes, &frame);
    if (complete) {
      if (std::memcmp(frame.data(), kMagic, 4) != 0) {
        if (!header_seen) {
          return common::ParseError(where() + "not a fedrad round journal (no FRJ1 magic)");
        }
        return common::ParseError(where() + "bad magic: the journal is corrupt");
      }
      std::memcpy(&length, frame.data() + 4, 4);
      complete = length < kMaxPayload &&
                 at + static_cast<std::int64_t>(kFrameBytes + length + kDigestBytes) <= size;
    }
    if (!complete) {
      if (!header_seen) return common::ParseError(where() + "the journal header is incomplete");
      journal.truncated_bytes_ = size - at;
      break;
    }
    const std::int64_t record_end =
        at + static_cast<std::int64_t>(kFrameBytes + length + kDigestBytes);
    if (!ReadAt(fd, at + static_cast<std::int64_t>(kFrameBytes), length, &payload) ||
        !ReadAt(fd, at + static_cast<std::int64_t>(kFrameBytes + length), kDigestBytes, &trailer)) {
      return common::IoError(where() + "read failed");
    }
    const auto digest = RawSha256(payload);
    if (std::memcmp(digest.data(), trailer.data(), kDigestBytes) != 0) {
      if (record_end == size && header_seen) {
        journal.truncated_bytes_ = size - at;
        break;
      }
      return common::ParseError(where() + "checksum mismatch: the journal is corrupt");
    }
    if (!header_seen) {
      auto json = nlohmann::json::parse(payload, nullptr, false);
      if (json.is_discarded() || !json.is_object() ||
          json.value("kind", "") != "fedrad-round-journal") {
        return common::ParseError(where() + "not a fedrad round journal header");
      }
      if (json.value("version", 0) != 1) {
        return common::ParseError(where() + "journal version " +
                                  json.value("version", nlohmann::json()).dump() +
                                  " is not supported (expected 1)");
      }
      try {
        journal.header_.study_id = json.at("study_id").get<std::string>();
        journal.header_.spec_sha256 = json.at("spec_sha256").get<std::string>();
        journal.header_.job_id = json.at("job_id").get<std::string>();
        journal.header_.sites = json.at("sites").get<std::vector<std::string>>();
        journal.header_.excluded =
            json.at("excluded").get<std::vector<std::pair<std::string, std::string>>>();
        journal.header_.fedrad_version = json.at("fedrad_version").get<std::string>();
        journal.header_.created_utc = json.at("created_utc").get<std::string>();
      } catch (const nlohmann::json::exception& e) {
        return common::ParseError(where() + "bad journal header: " + e.what());
      }
      header_seen = true;
    } else {
      JournalRound round;
      if (!DecodeRound(payload, &round, /*sums=*/false)) {
        return common::ParseError(where() + "malformed round record");
      }
      auto& locations = journal.rounds_[round.stream];
      if (round.index != locations.size()) {
        return common::ParseError(where() + "stream \"" + round.stream + "\" round " +
                                  std::to_string(round.index) + " follows round " +
                                  std::to_string(locations.size()) + "; expected " +
                                  std::to_string(locations.size()));
      }
      locations.push_back({at, length});
    }
    at = record_end;
  }
  if (!header_seen) return common::ParseError(path + ": empty file, not a fedrad round journal");
  journal.end_ = at;
  if (journal.truncated_bytes_ > 0) {
    if (::ftruncate(fd, at) != 0 || ::fsync(fd) != 0) {
      return common::IoError(Errno("cannot cut the incomplete last record of", path));
    }
  }
  return journal;
}

std::uint64_t RoundJournal::recorded(const std::string& stream) const {
  const auto it = rounds_.find(stream);
  return it == rounds_.end() ? 0 : it->second.size();
}

std::uint64_t RoundJournal::total_recorded() const {
  std::uint64_t total = 0;
  for (const auto& [stream, locations] : rounds_) total += locations.size();
  return total;
}

Result<JournalRound> RoundJournal::ReadRound(const std::string& stream, std::uint64_t index) const {
  const auto it = rounds_.find(stream);
  if (it == rounds_.end() || index >= it->second.size()) {
    return common::InvalidArgument(path_ + ": no round " + std::to_string(index) + " of stream \"" +
                                   stream + "\"");
  }
  const Location& location = it->second[index];
  std::string payload;
  std::string trailer;
  const std::string where = path_ + ": record at byte " + std::to_string(location.offset) + ": ";
  if (!ReadAt(fd_, location.offset + static_cast<std::int64_t>(kFrameBytes), location.payload_bytes,
              &payload) ||
      !ReadAt(fd_,
              location.offset + static_cast<std::int64_t>(kFrameBytes + location.payload_bytes),
              kDigestBytes, &trailer)) {
    return common::ParseError(where + "the record can no longer be read (file truncated?)");
  }
  const auto digest = RawSha256(payload);
  JournalRound round;
  if (std::memcmp(digest.data(), trailer.data(), kDigestBytes) != 0 ||
      !DecodeRound(payload, &round, /*sums=*/true) || round.stream != stream ||
      round.index != index) {
    return common::ParseError(where + "the record no longer verifies (the file changed)");
  }
  return round;
}

Status RoundJournal::Append(JournalRound round) {
  if (fd_ < 0) return common::Internal("round journal is closed");
  auto& locations = rounds_[round.stream];
  if (round.index != locations.size()) {
    return common::Internal("journal stream \"" + round.stream + "\": appending round " +
                            std::to_string(round.index) + " after " +
                            std::to_string(locations.size()) + " rounds");
  }
  FEDRAD_ASSIGN_OR_RETURN(std::string payload, EncodeRound(round));
  const std::string record = Frame(payload);
  FEDRAD_RETURN_IF_ERROR(WriteAll(fd_, record, path_));
  if (::fdatasync(fd_) != 0) return common::IoError(Errno("cannot sync the round journal", path_));
  locations.push_back({end_, static_cast<std::uint32_t>(payload.size())});
  end_ += static_cast<std::int64_t>(record.size());
  return Status::Ok();
}

Result<std::string> RequestDigest(const std::vector<site_agent::stats::StatRequest>& requests) {
  FEDRAD_ASSIGN_OR_RETURN(protocols::RoundRequest request,
                          site_agent::stats::EncodeStatsBatch("journal", 1, requests));
  protocols::Message message;
  message.header.session_id = 1;
  message.header.sequence = 1;
  message.body = std::move(request);
  FEDRAD_ASSIGN_OR_RETURN(protocols::Frames frames, protocols::Encode(message));
  common::Sha256Hasher hasher;
  for (const auto& frame : frames) {
    std::string length;
    Put<std::uint64_t>(length, frame.size());
    hasher.Update(length);
    hasher.Update(frame);
  }
  return hasher.FinalHex();
}

Result<std::vector<double>> JournaledAggregator::Sum(
    const site_agent::stats::StatRequest& request) {
  FEDRAD_ASSIGN_OR_RETURN(auto sums, SumBatch({request}));
  return std::move(sums.front());
}

Result<std::vector<std::vector<double>>> JournaledAggregator::SumBatch(
    const std::vector<site_agent::stats::StatRequest>& requests) {
  FEDRAD_ASSIGN_OR_RETURN(std::string digest, RequestDigest(requests));
  replayed_refusal_site_.clear();
  if (next_index_ < journal_.recorded(stream_)) {
    FEDRAD_ASSIGN_OR_RETURN(JournalRound round, journal_.ReadRound(stream_, next_index_));
    if (round.request_digest != digest ||
        (!round.refused && round.sums.size() != requests.size())) {
      return common::FailedPrecondition(
          journal_.path() + ": stream \"" + stream_ + "\" round " +
          std::to_string(next_index_ + 1) +
          ": the resumed study asks something else than the journal recorded (request SHA-256 " +
          digest + ", recorded " + round.request_digest +
          "): the study spec, a site's data or the fedrad version changed since the journal was "
          "written; it cannot be resumed");
    }
    ++next_index_;
    ++replayed_rounds_;
    replayed_to_ += round.bytes_to;
    replayed_from_ += round.bytes_from;
    if (round.refused) {
      replayed_refusal_site_ = round.refused_site;
      return common::PermissionDenied(round.refusal);
    }
    return std::move(round.sums);
  }
  if (!went_live_) {
    // The first round the sites see: it continues the replayed rounds' ids.
    base_.SetRoundIdOffset(replayed_rounds_);
    went_live_ = true;
  }
  const std::int64_t to_before = base_.bytes_to_each_site();
  const std::int64_t from_before = base_.bytes_from_each_site();
  auto summed = base_.SumBatch(requests);
  if (!summed.ok() && summed.status().code() == common::StatusCode::kPermissionDenied) {
    // A disclosure-gate refusal: journaled, so a resumed run replays it.
    JournalRound refused;
    refused.stream = stream_;
    refused.index = next_index_;
    refused.request_digest = digest;
    refused.bytes_to = base_.bytes_to_each_site() - to_before;
    refused.bytes_from = base_.bytes_from_each_site() - from_before;
    refused.refused = true;
    if (const auto* wire = dynamic_cast<const WireAggregator*>(&base_)) {
      refused.refused_site = wire->last_failed_site();
    }
    refused.refusal = summed.status().ToString();
    FEDRAD_RETURN_IF_ERROR(journal_.Append(std::move(refused)));
    ++next_index_;
    return summed.status();
  }
  FEDRAD_ASSIGN_OR_RETURN(auto sums, std::move(summed));
  JournalRound round;
  round.stream = stream_;
  round.index = next_index_;
  round.request_digest = digest;
  round.bytes_to = base_.bytes_to_each_site() - to_before;
  round.bytes_from = base_.bytes_from_each_site() - from_before;
  round.sums = sums;
  FEDRAD_RETURN_IF_ERROR(journal_.Append(std::move(round)));
  ++next_index_;
  return sums;
}

}  // namespace fedrad::coordinator

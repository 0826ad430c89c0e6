#include "fedrad/common/keys.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "errno_status.hpp"
#include "fedrad/common/files.hpp"
#include "fedrad/common/json_reader.hpp"
#include "fedrad/common/sodium_init.hpp"
#include "fedrad/common/z85.hpp"

namespace fedrad::common {
namespace {

using internal::ErrnoStatus;

constexpr std::size_t kMaxPartyNameChars = 64;
constexpr std::size_t kSignPublicHexChars = 2 * kSignPublicKeyBytes;  // 64
constexpr std::size_t kSignSecretHexChars = 2 * kSignSecretKeyBytes;  // 128
constexpr std::size_t kMaxSecretFileBytes = 64 * 1024;
constexpr std::string_view kSecretFileHeader =
    "# fedrad identity secret key file -- keep private\n";
constexpr std::string_view kSecretFileVersion = "1";

// Keys of a secret file, in the order they are written.
constexpr std::string_view kKeyVersion = "fedrad-identity";
constexpr std::string_view kKeyName = "name";
constexpr std::string_view kKeyCurvePublic = "curve-public";
constexpr std::string_view kKeyCurveSecret = "curve-secret";
constexpr std::string_view kKeySignPublic = "sign-public";
constexpr std::string_view kKeySignSecret = "sign-secret";
constexpr std::array<std::string_view, 6> kSecretFileKeys = {
    kKeyVersion, kKeyName, kKeyCurvePublic, kKeyCurveSecret, kKeySignPublic, kKeySignSecret};

std::string JsonString(std::string_view text) {
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string_view Trim(std::string_view text) {
  const std::size_t begin = text.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  const std::size_t end = text.find_last_not_of(" \t\r");
  return text.substr(begin, end - begin + 1);
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::string JoinPath(const std::string& dir, const std::string& file) {
  return (std::filesystem::path(dir) / file).string();
}

std::string SecretPath(const std::string& dir, const std::string& name) {
  return JoinPath(dir, name + ".secret");
}

std::string PublicPath(const std::string& dir, const std::string& name) {
  return JoinPath(dir, name + ".public");
}

std::string_view AsText(const SecureBuffer& buffer, std::size_t size) {
  return {reinterpret_cast<const char*>(buffer.data()), size};
}

// Builds text in a SecureBuffer of a fixed capacity (for file contents that
// hold secrets).
class SecureTextBuilder {
 public:
  explicit SecureTextBuilder(std::size_t capacity) : buffer_(capacity) {}
  void Append(std::string_view text) {
    if (size_ + text.size() > buffer_.size()) {
      throw std::logic_error("SecureTextBuilder: capacity exceeded");
    }
    std::memcpy(buffer_.data() + size_, text.data(), text.size());
    size_ += text.size();
  }
  std::string_view view() const { return AsText(buffer_, size_); }

 private:
  SecureBuffer buffer_;
  std::size_t size_ = 0;
};

bool IsLowerHex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Secret file content read into secure memory.
struct SecretText {
  SecureBuffer buffer;
  std::size_t size = 0;
};

// Opens a secret file, refuses loose permissions and reads it into a
// SecureBuffer.
Result<SecretText> ReadSecretFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return ErrnoStatus(errno, path + ": cannot open secret key file");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoStatus(err, path + ": cannot stat secret key file");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument(path + ": not a regular file, expected a fedrad secret key file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return PermissionDenied(path + ": secret key file has mode " + mode +
                            "; it must be readable by its owner only (run: chmod 600 " + path +
                            ")");
  }
  if (st.st_size <= 0) {
    ::close(fd);
    return ParseError(path + ": secret key file is empty");
  }
  if (static_cast<std::uint64_t>(st.st_size) > kMaxSecretFileBytes) {
    ::close(fd);
    return ResourceExhausted(path + ": file is " + std::to_string(st.st_size) +
                             " bytes, too large for a fedrad secret key file (limit " +
                             std::to_string(kMaxSecretFileBytes) + " bytes)");
  }
  SecretText text{SecureBuffer(static_cast<std::size_t>(st.st_size)), 0};
  while (text.size < text.buffer.size()) {
    const ssize_t n = ::read(fd, text.buffer.data() + text.size, text.buffer.size() - text.size);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return ErrnoStatus(err, path + ": read failed");
    }
    if (n == 0) break;
    text.size += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return text;
}

// Creates `dir` (and missing parents) with mode 0700.
Status EnsureDirectory(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return FailedPrecondition(dir + ": exists but is not a directory");
    return Status::Ok();
  }
  if (errno != ENOENT) return ErrnoStatus(errno, dir + ": cannot stat directory");
  const std::filesystem::path parent = std::filesystem::path(dir).parent_path();
  if (!parent.empty() && parent != std::filesystem::path(dir)) {
    FEDRAD_RETURN_IF_ERROR(EnsureDirectory(parent.string()));
  }
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST && ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return Status::Ok();  // created concurrently
    }
    return ErrnoStatus(errno, dir + ": cannot create directory");
  }
  if (::chmod(dir.c_str(), 0700) != 0) {  // exact mode whatever the umask
    return ErrnoStatus(errno, dir + ": cannot set mode 0700");
  }
  return Status::Ok();
}

// kAlreadyExists if anything (even a dangling symlink) is at `path`.
Status CheckAbsent(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    return AlreadyExists(path +
                         ": already exists; refusing to overwrite an identity (move the old "
                         "files away or choose another name)");
  }
  if (errno != ENOENT) return ErrnoStatus(errno, path + ": cannot stat");
  return Status::Ok();
}

// The parsed "key: value" lines of a secret file (views into secure memory).
struct SecretFields {
  std::array<std::string_view, kSecretFileKeys.size()> value{};
  std::array<std::size_t, kSecretFileKeys.size()> line{};  // 0: absent
};

Result<SecretFields> ParseSecretLines(const std::string& path, std::string_view text) {
  SecretFields fields;
  std::size_t line_number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = Trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_number;
    const std::string where = path + ": line " + std::to_string(line_number) + ": ";
    if (line.empty() || line.front() == '#') continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return ParseError(where +
                        "expected \"key: value\" (keys: fedrad-identity, name, "
                        "curve-public, curve-secret, sign-public, sign-secret)");
    }
    const std::string_view key = Trim(line.substr(0, colon));
    const std::string_view value = Trim(line.substr(colon + 1));
    const auto it = std::find(kSecretFileKeys.begin(), kSecretFileKeys.end(), key);
    if (it == kSecretFileKeys.end()) {
      // Echo the key only if it is short: a damaged line might hold a secret.
      const std::string shown = key.size() <= 32 ? JsonString(key) : std::string("(long key)");
      return ParseError(where + "unknown key " + shown +
                        " (allowed: fedrad-identity, name, curve-public, curve-secret, "
                        "sign-public, sign-secret)");
    }
    const auto index = static_cast<std::size_t>(it - kSecretFileKeys.begin());
    if (fields.line[index] != 0) {
      return ParseError(where + "duplicate key \"" + std::string(key) + "\" (first given on line " +
                        std::to_string(fields.line[index]) + ")");
    }
    fields.value[index] = value;
    fields.line[index] = line_number;
  }
  std::string missing;
  for (std::size_t i = 0; i < kSecretFileKeys.size(); ++i) {
    if (fields.line[i] != 0) continue;
    if (!missing.empty()) missing += ", ";
    missing += "\"" + std::string(kSecretFileKeys[i]) + "\"";
  }
  if (!missing.empty()) {
    return ParseError(path + ": line " + std::to_string(line_number) +
                      " (end of file): missing required key(s) " + missing +
                      "; this is not a complete fedrad identity secret key file");
  }
  return fields;
}

}  // namespace

std::string PublicIdentity::ToJsonText() const {
  return "{\n  \"id\": " + JsonString(name) +
         ",\n  \"curve_public_key\": " + JsonString(curve_public_z85) +
         ",\n  \"sign_public_key\": " + JsonString(sign_public_hex) + "\n}\n";
}

Status ValidatePartyName(const std::string& name) {
  const auto allowed = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  };
  const auto alnum = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  const bool ok = !name.empty() && name.size() <= kMaxPartyNameChars && alnum(name.front()) &&
                  std::all_of(name.begin(), name.end(), allowed);
  if (ok) return Status::Ok();
  const std::string shown =
      name.size() <= 80 ? JsonString(name) : "of " + std::to_string(name.size()) + " characters";
  return InvalidArgument("invalid party name " + shown +
                         ": expected 1-64 characters from [A-Za-z0-9_.-], starting with a "
                         "letter or digit");
}

Status ValidateCurvePublicKey(const std::string& z85) {
  if (z85.size() != kCurveKeyZ85Chars) {
    return InvalidArgument("expected a 40-character Z85 key, got " + std::to_string(z85.size()) +
                           " characters");
  }
  std::array<std::uint8_t, kCurveKeyBytes> key{};
  Status decoded = Z85DecodeTo(z85, key);
  if (!decoded.ok())
    return InvalidArgument("expected a 40-character Z85 key: " + decoded.message());
  return Status::Ok();
}

Status ValidateSignPublicKey(const std::string& hex) {
  if (hex.size() != kSignPublicHexChars) {
    return InvalidArgument("expected a 64-character hex Ed25519 public key, got " +
                           std::to_string(hex.size()) + " characters");
  }
  if (!IsLowerHex(hex)) {
    return InvalidArgument(
        "expected a 64-character hex Ed25519 public key (lower-case 0-9a-f only), got other "
        "characters");
  }
  return Status::Ok();
}

Result<Identity> GenerateIdentity(const std::string& name) {
  FEDRAD_RETURN_IF_ERROR(ValidatePartyName(name));
  FEDRAD_RETURN_IF_ERROR(InitSodium());
  Identity identity;
  identity.pub.name = name;

  std::array<std::uint8_t, kCurveKeyBytes> curve_public{};
  SecureBuffer curve_secret(kCurveKeyBytes);
  crypto_box_keypair(curve_public.data(), curve_secret.data());
  FEDRAD_ASSIGN_OR_RETURN(identity.pub.curve_public_z85, Z85Encode(curve_public));
  identity.curve_secret_z85 = SecureBuffer(kCurveKeyZ85Chars + 1);  // NUL stays at the end
  FEDRAD_RETURN_IF_ERROR(
      Z85EncodeTo(curve_secret.span(),
                  std::span<char>(reinterpret_cast<char*>(identity.curve_secret_z85.data()),
                                  kCurveKeyZ85Chars)));

  std::array<std::uint8_t, kSignPublicKeyBytes> sign_public{};
  identity.sign_secret = SecureBuffer(kSignSecretKeyBytes);
  crypto_sign_keypair(sign_public.data(), identity.sign_secret.data());
  char hex[kSignPublicHexChars + 1];
  sodium_bin2hex(hex, sizeof hex, sign_public.data(), sign_public.size());
  identity.pub.sign_public_hex.assign(hex, kSignPublicHexChars);
  return identity;
}

Status WriteIdentity(const Identity& identity, const std::string& dir) {
  const std::string& name = identity.pub.name;
  FEDRAD_RETURN_IF_ERROR(ValidatePartyName(name));
  FEDRAD_RETURN_IF_ERROR(ValidateCurvePublicKey(identity.pub.curve_public_z85));
  FEDRAD_RETURN_IF_ERROR(ValidateSignPublicKey(identity.pub.sign_public_hex));
  if (identity.curve_secret_z85.size() != kCurveKeyZ85Chars + 1 ||
      identity.curve_secret_z85.data()[kCurveKeyZ85Chars] != 0 ||
      identity.sign_secret.size() != kSignSecretKeyBytes) {
    return InvalidArgument("identity " + JsonString(name) +
                           " has no valid secret keys (was it moved from?)");
  }
  FEDRAD_RETURN_IF_ERROR(InitSodium());

  const std::string secret_path = SecretPath(dir, name);
  const std::string public_path = PublicPath(dir, name);
  FEDRAD_RETURN_IF_ERROR(EnsureDirectory(dir));
  // Check both before writing either, so a refusal leaves no new file.
  FEDRAD_RETURN_IF_ERROR(CheckAbsent(secret_path));
  FEDRAD_RETURN_IF_ERROR(CheckAbsent(public_path));

  SecureBuffer sign_secret_hex(kSignSecretHexChars + 1);
  sodium_bin2hex(reinterpret_cast<char*>(sign_secret_hex.data()), sign_secret_hex.size(),
                 identity.sign_secret.data(), identity.sign_secret.size());

  const std::string version_line =
      std::string(kKeyVersion) + ": " + std::string(kSecretFileVersion);
  const std::string name_line = std::string(kKeyName) + ": " + name;
  const std::string curve_public_line =
      std::string(kKeyCurvePublic) + ": " + identity.pub.curve_public_z85;
  const std::string sign_public_line =
      std::string(kKeySignPublic) + ": " + identity.pub.sign_public_hex;
  const std::string curve_secret_key = std::string(kKeyCurveSecret) + ": ";
  const std::string sign_secret_key = std::string(kKeySignSecret) + ": ";

  SecureTextBuilder content(kSecretFileHeader.size() + version_line.size() + name_line.size() +
                            curve_public_line.size() + curve_secret_key.size() + kCurveKeyZ85Chars +
                            sign_public_line.size() + sign_secret_key.size() + kSignSecretHexChars +
                            6);
  content.Append(kSecretFileHeader);
  content.Append(version_line);
  content.Append("\n");
  content.Append(name_line);
  content.Append("\n");
  content.Append(curve_public_line);
  content.Append("\n");
  content.Append(curve_secret_key);
  content.Append(AsText(identity.curve_secret_z85, kCurveKeyZ85Chars));
  content.Append("\n");
  content.Append(sign_public_line);
  content.Append("\n");
  content.Append(sign_secret_key);
  content.Append(AsText(sign_secret_hex, kSignSecretHexChars));
  content.Append("\n");

  FEDRAD_RETURN_IF_ERROR(WriteNewFile(secret_path, content.view(), 0600));
  Status written = WriteNewFile(public_path, identity.pub.ToJsonText(), 0644);
  if (!written.ok()) {
    // Do not leave half an identity behind: the secret was never used.
    ::unlink(secret_path.c_str());
    return written.Wrap("cannot write the public half of identity " + JsonString(name) + " (" +
                        secret_path + " was removed again)");
  }
  return Status::Ok();
}

Result<Identity> LoadIdentity(const std::string& secret_path) {
  FEDRAD_RETURN_IF_ERROR(InitSodium());
  FEDRAD_ASSIGN_OR_RETURN(SecretText text, ReadSecretFile(secret_path));
  FEDRAD_ASSIGN_OR_RETURN(SecretFields fields,
                          ParseSecretLines(secret_path, AsText(text.buffer, text.size)));
  const auto at = [&](std::string_view key) {
    const auto index = static_cast<std::size_t>(
        std::find(kSecretFileKeys.begin(), kSecretFileKeys.end(), key) - kSecretFileKeys.begin());
    return std::pair<std::string_view, std::string>(
        fields.value[index], secret_path + ": line " + std::to_string(fields.line[index]) + ": " +
                                 std::string(key) + ": ");
  };

  const auto [version, version_where] = at(kKeyVersion);
  if (version != kSecretFileVersion) {
    const std::string shown = version.size() <= 16 ? JsonString(version) : "(long value)";
    return VersionMismatch(version_where + "unsupported identity file version " + shown +
                           " (this fedrad reads version 1)");
  }

  Identity identity;
  const auto [name, name_where] = at(kKeyName);
  identity.pub.name = std::string(name);
  if (Status s = ValidatePartyName(identity.pub.name); !s.ok()) {
    return ParseError(name_where + s.message());
  }

  const auto [curve_public, curve_public_where] = at(kKeyCurvePublic);
  identity.pub.curve_public_z85 = std::string(curve_public);
  if (Status s = ValidateCurvePublicKey(identity.pub.curve_public_z85); !s.ok()) {
    return ParseError(curve_public_where + s.message());
  }

  const auto [sign_public, sign_public_where] = at(kKeySignPublic);
  identity.pub.sign_public_hex = std::string(sign_public);
  if (Status s = ValidateSignPublicKey(identity.pub.sign_public_hex); !s.ok()) {
    return ParseError(sign_public_where + s.message());
  }

  const auto [curve_secret, curve_secret_where] = at(kKeyCurveSecret);
  if (curve_secret.size() != kCurveKeyZ85Chars) {
    return ParseError(curve_secret_where + "expected a 40-character Z85 key, got " +
                      std::to_string(curve_secret.size()) + " characters");
  }
  SecureBuffer curve_secret_bytes(kCurveKeyBytes);
  if (Status s = Z85DecodeTo(curve_secret, curve_secret_bytes.span()); !s.ok()) {
    return ParseError(curve_secret_where + s.message());
  }

  const auto [sign_secret, sign_secret_where] = at(kKeySignSecret);
  identity.sign_secret = SecureBuffer(kSignSecretKeyBytes);
  std::size_t decoded = 0;
  const char* hex_end = nullptr;
  if (sign_secret.size() != kSignSecretHexChars ||
      sodium_hex2bin(identity.sign_secret.data(), identity.sign_secret.size(), sign_secret.data(),
                     sign_secret.size(), nullptr, &decoded, &hex_end) != 0 ||
      decoded != kSignSecretKeyBytes || hex_end != sign_secret.data() + sign_secret.size()) {
    return ParseError(sign_secret_where +
                      "expected 128 hex characters (a 64-byte Ed25519 "
                      "secret key), got " +
                      std::to_string(sign_secret.size()) + " characters");
  }

  // The public halves must belong to the secret halves.
  std::array<std::uint8_t, kCurveKeyBytes> stated_curve_public{};
  std::array<std::uint8_t, kCurveKeyBytes> derived_curve_public{};
  (void)Z85DecodeTo(identity.pub.curve_public_z85, stated_curve_public);  // validated above
  if (crypto_scalarmult_base(derived_curve_public.data(), curve_secret_bytes.data()) != 0 ||
      sodium_memcmp(derived_curve_public.data(), stated_curve_public.data(), kCurveKeyBytes) != 0) {
    return ParseError(secret_path +
                      ": curve-secret does not match curve-public; the file is damaged or was "
                      "edited (generate a new identity with fedrad keygen)");
  }
  std::array<std::uint8_t, kSignPublicKeyBytes> stated_sign_public{};
  sodium_hex2bin(stated_sign_public.data(), stated_sign_public.size(),
                 identity.pub.sign_public_hex.data(), identity.pub.sign_public_hex.size(), nullptr,
                 nullptr, nullptr);
  std::array<std::uint8_t, kSignPublicKeyBytes> embedded_sign_public{};
  crypto_sign_ed25519_sk_to_pk(embedded_sign_public.data(), identity.sign_secret.data());
  // Also re-derive the key pair from the seed half, so a damaged seed is
  // caught too (sk_to_pk only copies the second half of the secret key).
  SecureBuffer seed(crypto_sign_SEEDBYTES);
  SecureBuffer rederived_secret(kSignSecretKeyBytes);
  std::array<std::uint8_t, kSignPublicKeyBytes> rederived_public{};
  crypto_sign_ed25519_sk_to_seed(seed.data(), identity.sign_secret.data());
  crypto_sign_seed_keypair(rederived_public.data(), rederived_secret.data(), seed.data());
  if (sodium_memcmp(embedded_sign_public.data(), stated_sign_public.data(), kSignPublicKeyBytes) !=
          0 ||
      sodium_memcmp(rederived_secret.data(), identity.sign_secret.data(), kSignSecretKeyBytes) !=
          0) {
    return ParseError(secret_path +
                      ": sign-secret does not match sign-public; the file is damaged or was "
                      "edited (generate a new identity with fedrad keygen)");
  }

  identity.curve_secret_z85 = SecureBuffer(kCurveKeyZ85Chars + 1);
  std::memcpy(identity.curve_secret_z85.data(), curve_secret.data(), kCurveKeyZ85Chars);
  return identity;
}

Result<PublicIdentity> LoadPublicIdentity(const std::string& path) {
  bool is_secret = EndsWith(path, ".secret");
  if (!is_secret && !EndsWith(path, ".public")) {
    // Neither suffix: a JSON public block starts with '{', a secret file not.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return ErrnoStatus(errno, path + ": cannot open");
    char head[64];
    ssize_t n;
    do {
      n = ::read(fd, head, sizeof head);
    } while (n < 0 && errno == EINTR);
    const int err = errno;
    ::close(fd);
    if (n < 0) return ErrnoStatus(err, path + ": read failed");
    const std::string_view start(head, static_cast<std::size_t>(n));
    const std::size_t first = start.find_first_not_of(" \t\r\n");
    is_secret = first != std::string_view::npos && start[first] != '{';
    SecureWipe(head, sizeof head);
  }
  if (is_secret) {
    FEDRAD_ASSIGN_OR_RETURN(Identity identity, LoadIdentity(path));
    return std::move(identity.pub);
  }

  FEDRAD_ASSIGN_OR_RETURN(nlohmann::json json, ReadJsonFile(path));
  ErrorList errors(path);
  ObjectReader root(json, "", &errors);
  PublicIdentity pub;
  pub.name = root.String("id");
  pub.curve_public_z85 = root.String("curve_public_key");
  pub.sign_public_hex = root.String("sign_public_key");
  if (errors.empty()) {
    if (Status s = ValidatePartyName(pub.name); !s.ok()) root.Error("id", s.message());
    if (Status s = ValidateCurvePublicKey(pub.curve_public_z85); !s.ok()) {
      root.Error("curve_public_key", s.message());
    }
    if (Status s = ValidateSignPublicKey(pub.sign_public_hex); !s.ok()) {
      root.Error("sign_public_key", s.message());
    }
  }
  root.Finish();
  FEDRAD_RETURN_IF_ERROR(errors.ToStatus());
  return pub;
}

Status RunKeygen(const std::string& name, const std::string& out_dir, std::string* report) {
  FEDRAD_RETURN_IF_ERROR(InitSodium());
  FEDRAD_ASSIGN_OR_RETURN(Identity identity, GenerateIdentity(name));
  FEDRAD_RETURN_IF_ERROR(WriteIdentity(identity, out_dir));
  if (report != nullptr) {
    const std::string secret_path = SecretPath(out_dir, name);
    *report = "Wrote " + secret_path + " (secret key file, mode 0600)\n" + "Wrote " +
              PublicPath(out_dir, name) + " (public key file, mode 0644)\n" +
              "\nPublic identity of " + name + " (paste into the other parties' configs):\n" +
              identity.pub.ToJsonText() + "\nKeep " + secret_path +
              " private: never copy, send or paste it anywhere.\n";
  }
  return Status::Ok();
}

Result<std::string> ShowPublic(const std::string& path) {
  FEDRAD_ASSIGN_OR_RETURN(PublicIdentity pub, LoadPublicIdentity(path));
  return pub.ToJsonText();
}

}  // namespace fedrad::common

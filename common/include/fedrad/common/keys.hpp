// Party identities: a CURVE keypair (CurveZMQ transport) and an Ed25519
// signing keypair (audit records, secure-aggregation key signatures).
//
// `fedrad keygen --name NAME --out DIR` writes two files:
//
//   DIR/NAME.secret  mode 0600, created exclusively, never overwritten:
//       # fedrad identity secret key file -- keep private
//       fedrad-identity: 1
//       name: site_a
//       curve-public: <40 chars Z85>
//       curve-secret: <40 chars Z85>
//       sign-public: <64 hex chars>
//       sign-secret: <128 hex chars>   (libsodium's 64-byte Ed25519 secret key)
//
//   DIR/NAME.public  mode 0644, a JSON block to paste into a config:
//       {"id": "site_a", "curve_public_key": "<Z85>", "sign_public_key": "<hex>"}
//
// Secret halves are parsed straight from a SecureBuffer into SecureBuffers
// and never sit in ordinary heap memory. A secret file whose mode grants any
// access to group or others is refused.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "fedrad/common/secure_memory.hpp"
#include "fedrad/common/status.hpp"

namespace fedrad::common {

inline constexpr std::size_t kCurveKeyBytes = 32;
inline constexpr std::size_t kCurveKeyZ85Chars = 40;
inline constexpr std::size_t kSignPublicKeyBytes = 32;
inline constexpr std::size_t kSignSecretKeyBytes = 64;

// Public half of an identity: safe to share, pasted into configs.
struct PublicIdentity {
  std::string name;
  std::string curve_public_z85;  // 40 characters
  std::string sign_public_hex;   // 64 hex characters

  // The pasteable JSON block (pretty-printed, ends with a newline).
  std::string ToJsonText() const;
};

struct Identity {
  PublicIdentity pub;
  SecureBuffer curve_secret_z85;  // 40 chars + NUL, as ZMQ_CURVE_SECRETKEY wants
  SecureBuffer sign_secret;       // 64 bytes
};

// Validates a party name: 1-64 chars of [A-Za-z0-9_.-], starting alphanumeric.
Status ValidatePartyName(const std::string& name);
// Validates a Z85 CURVE public key string (40 chars, decodes to 32 bytes).
Status ValidateCurvePublicKey(const std::string& z85);
// Validates a hex Ed25519 public key (64 hex chars).
Status ValidateSignPublicKey(const std::string& hex);

// Generates a fresh identity (InitSodium() first).
Result<Identity> GenerateIdentity(const std::string& name);

// Writes NAME.secret (0600, exclusive) and NAME.public into `dir` (created if
// missing, mode 0700). Refuses to overwrite either file.
Status WriteIdentity(const Identity& identity, const std::string& dir);

// Loads a secret file; refuses loose permissions and malformed content (the
// error names the file and the line). Checks that the public halves match
// the secret halves.
Result<Identity> LoadIdentity(const std::string& secret_path);

// Reads the public block from either a .public JSON file or a .secret file.
// A .public file must hold exactly the keys "id", "curve_public_key" and
// "sign_public_key". A secret file (a path ending in ".secret", or any file
// not starting with '{') is loaded with LoadIdentity(), so its mode is
// checked too, and only its public half is returned.
Result<PublicIdentity> LoadPublicIdentity(const std::string& path);

// `fedrad keygen`: generates an identity for `name`, writes it into `out_dir`
// (WriteIdentity) and, if `report` is not null, sets it to a short text for
// the operator: the paths written, the public block to paste into configs and
// a reminder that the secret file must stay private.
Status RunKeygen(const std::string& name, const std::string& out_dir, std::string* report);

// `fedrad show-public`: the pasteable public block (PublicIdentity::ToJsonText)
// of a .public or .secret file; equal to the .public file keygen wrote.
Result<std::string> ShowPublic(const std::string& path);

}  // namespace fedrad::common

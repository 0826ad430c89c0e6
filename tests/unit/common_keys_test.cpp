#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "fedrad/common/keys.hpp"
#include "fedrad/common/sodium_init.hpp"
#include "fedrad/common/z85.hpp"
#include "temp_dir.hpp"

namespace fedrad::common {
namespace {

class TempDir : public fedrad::testing::TempDir {
 public:
  TempDir() : fedrad::testing::TempDir("fedrad_common_keys") {}
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteText(const std::string& path, const std::string& text, mode_t mode) {
  { std::ofstream(path, std::ios::binary | std::ios::trunc) << text; }
  ::chmod(path.c_str(), mode);
}

unsigned ModeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0xFFFFFFFF;
  return static_cast<unsigned>(st.st_mode & 07777);
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

class CommonKeysTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(InitSodium().ok()); }

  // Generates and writes an identity; returns the secret file path.
  std::string MakeIdentity(const std::string& name) {
    Result<Identity> identity = GenerateIdentity(name);
    EXPECT_TRUE(identity.ok()) << identity.status().ToString();
    const Status written = WriteIdentity(*identity, dir_.path());
    EXPECT_TRUE(written.ok()) << written.ToString();
    return dir_.File(name + ".secret");
  }

  // Writes `lines` as a secret file with mode 0600 and loads it.
  Result<Identity> LoadLines(const std::vector<std::string>& lines) {
    const std::string path = dir_.File("edited.secret");
    WriteText(path, JoinLines(lines), 0600);
    return LoadIdentity(path);
  }

  TempDir dir_;
};

TEST_F(CommonKeysTest, ValidatePartyName) {
  EXPECT_TRUE(ValidatePartyName("site_a").ok());
  EXPECT_TRUE(ValidatePartyName("A").ok());
  EXPECT_TRUE(ValidatePartyName("0hospital.eu-1").ok());
  EXPECT_TRUE(ValidatePartyName(std::string(64, 'a')).ok());
  EXPECT_FALSE(ValidatePartyName(std::string(65, 'a')).ok());
  EXPECT_FALSE(ValidatePartyName("").ok());
  EXPECT_FALSE(ValidatePartyName("_site").ok());
  EXPECT_FALSE(ValidatePartyName(".hidden").ok());
  EXPECT_FALSE(ValidatePartyName("a/b").ok());
  EXPECT_FALSE(ValidatePartyName("a b").ok());
  EXPECT_FALSE(ValidatePartyName("caf\xc3\xa9").ok());
  const Status s = ValidatePartyName("../x");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "\"../x\"")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "[A-Za-z0-9_.-]")) << s.message();
}

TEST_F(CommonKeysTest, ValidatePublicKeys) {
  EXPECT_TRUE(ValidateCurvePublicKey("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7").ok());
  const Status short_key = ValidateCurvePublicKey("HelloWorld12");
  EXPECT_EQ(short_key.message(), "expected a 40-character Z85 key, got 12 characters");
  EXPECT_FALSE(ValidateCurvePublicKey("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf ").ok());
  EXPECT_FALSE(ValidateCurvePublicKey(std::string(40, '#')).ok());  // group > 2^32

  EXPECT_TRUE(ValidateSignPublicKey(std::string(64, 'a')).ok());
  EXPECT_TRUE(ValidateSignPublicKey(std::string(32, '0') + std::string(32, 'f')).ok());
  const Status short_hex = ValidateSignPublicKey("abcd");
  EXPECT_EQ(short_hex.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(short_hex.message(), "64-character hex")) << short_hex.message();
  EXPECT_TRUE(Contains(short_hex.message(), "got 4 characters")) << short_hex.message();
  EXPECT_FALSE(ValidateSignPublicKey(std::string(63, 'a') + "g").ok());
  EXPECT_FALSE(ValidateSignPublicKey(std::string(64, 'A')).ok());  // canonical lower case
}

TEST_F(CommonKeysTest, GenerateIdentityProducesConsistentKeys) {
  Result<Identity> r = GenerateIdentity("site_a");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Identity& id = *r;
  EXPECT_EQ(id.pub.name, "site_a");
  EXPECT_TRUE(ValidateCurvePublicKey(id.pub.curve_public_z85).ok());
  EXPECT_TRUE(ValidateSignPublicKey(id.pub.sign_public_hex).ok());
  ASSERT_EQ(id.curve_secret_z85.size(), kCurveKeyZ85Chars + 1);
  EXPECT_EQ(id.curve_secret_z85.data()[kCurveKeyZ85Chars], 0);  // NUL-terminated
  EXPECT_EQ(std::strlen(reinterpret_cast<const char*>(id.curve_secret_z85.data())), 40u);
  EXPECT_EQ(id.sign_secret.size(), kSignSecretKeyBytes);
  // The second half of an Ed25519 secret key is its public key.
  std::string tail;
  for (std::size_t i = 32; i < 64; ++i) {
    char byte[3];
    std::snprintf(byte, sizeof byte, "%02x", id.sign_secret.data()[i]);
    tail += byte;
  }
  EXPECT_EQ(tail, id.pub.sign_public_hex);

  Result<Identity> other = GenerateIdentity("site_a");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->pub.curve_public_z85, id.pub.curve_public_z85);
  EXPECT_FALSE(GenerateIdentity("bad name").ok());
}

TEST_F(CommonKeysTest, WriteLoadRoundTrip) {
  Result<Identity> generated = GenerateIdentity("site_a");
  ASSERT_TRUE(generated.ok());
  const std::string out = dir_.File("keys/nested");  // created with mode 0700
  ASSERT_TRUE(WriteIdentity(*generated, out).ok());
  EXPECT_EQ(ModeOf(out), 0700u);
  const std::string secret_path = out + "/site_a.secret";
  const std::string public_path = out + "/site_a.public";
  EXPECT_EQ(ModeOf(secret_path), 0600u);
  EXPECT_EQ(ModeOf(public_path), 0644u);

  // The secret file has exactly the documented layout.
  const std::vector<std::string> lines = SplitLines(Slurp(secret_path));
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[0], "# fedrad identity secret key file -- keep private");
  EXPECT_EQ(lines[1], "fedrad-identity: 1");
  EXPECT_EQ(lines[2], "name: site_a");
  EXPECT_EQ(lines[3], "curve-public: " + generated->pub.curve_public_z85);
  EXPECT_EQ(lines[4], std::string("curve-secret: ") +
                          reinterpret_cast<const char*>(generated->curve_secret_z85.data()));
  EXPECT_EQ(lines[5], "sign-public: " + generated->pub.sign_public_hex);
  EXPECT_EQ(lines[6].size(), std::string("sign-secret: ").size() + 128);

  Result<Identity> loaded = LoadIdentity(secret_path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->pub.name, "site_a");
  EXPECT_EQ(loaded->pub.curve_public_z85, generated->pub.curve_public_z85);
  EXPECT_EQ(loaded->pub.sign_public_hex, generated->pub.sign_public_hex);
  ASSERT_EQ(loaded->curve_secret_z85.size(), 41u);
  EXPECT_EQ(std::memcmp(loaded->curve_secret_z85.data(), generated->curve_secret_z85.data(), 41),
            0);
  ASSERT_EQ(loaded->sign_secret.size(), 64u);
  EXPECT_EQ(std::memcmp(loaded->sign_secret.data(), generated->sign_secret.data(), 64), 0);

  // The public file is the pasteable block.
  EXPECT_EQ(Slurp(public_path), generated->pub.ToJsonText());
  Result<PublicIdentity> pub = LoadPublicIdentity(public_path);
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  EXPECT_EQ(pub->name, "site_a");
  EXPECT_EQ(pub->curve_public_z85, generated->pub.curve_public_z85);
  EXPECT_EQ(pub->sign_public_hex, generated->pub.sign_public_hex);
}

TEST_F(CommonKeysTest, PublicJsonTextFormat) {
  PublicIdentity pub{"site_a", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", std::string(64, 'b')};
  EXPECT_EQ(pub.ToJsonText(),
            "{\n"
            "  \"id\": \"site_a\",\n"
            "  \"curve_public_key\": \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\",\n"
            "  \"sign_public_key\": \"" +
                std::string(64, 'b') +
                "\"\n"
                "}\n");
  const nlohmann::json parsed = nlohmann::json::parse(pub.ToJsonText());
  EXPECT_EQ(parsed["curve_public_key"], pub.curve_public_z85);
}

TEST_F(CommonKeysTest, SecondWriteToSameDirectoryIsRefusedAndOriginalUnchanged) {
  const std::string secret_path = MakeIdentity("site_a");
  const std::string public_path = dir_.File("site_a.public");
  const std::string secret_before = Slurp(secret_path);
  const std::string public_before = Slurp(public_path);

  Result<Identity> again = GenerateIdentity("site_a");
  ASSERT_TRUE(again.ok());
  const Status s = WriteIdentity(*again, dir_.path());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(Contains(s.message(), secret_path)) << s.message();
  EXPECT_EQ(Slurp(secret_path), secret_before);
  EXPECT_EQ(Slurp(public_path), public_before);
  EXPECT_EQ(ModeOf(secret_path), 0600u);
}

TEST_F(CommonKeysTest, ExistingPublicFileAloneBlocksBothWrites) {
  const std::string public_path = dir_.File("site_b.public");
  WriteText(public_path, "keep me", 0644);
  Result<Identity> id = GenerateIdentity("site_b");
  ASSERT_TRUE(id.ok());
  const Status s = WriteIdentity(*id, dir_.path());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(Contains(s.message(), public_path)) << s.message();
  EXPECT_FALSE(std::filesystem::exists(dir_.File("site_b.secret")));  // nothing written
  EXPECT_EQ(Slurp(public_path), "keep me");
}

TEST_F(CommonKeysTest, LoosePermissionsAreRefused) {
  const std::string path = MakeIdentity("site_a");
  for (mode_t mode : {0640, 0644, 0604, 0660, 0700}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    Result<Identity> r = LoadIdentity(path);
    if (mode == 0700) {
      EXPECT_TRUE(r.ok()) << r.status().ToString();  // owner-only is fine
      continue;
    }
    ASSERT_FALSE(r.ok()) << std::oct << mode;
    EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
    char expected_mode[8];
    std::snprintf(expected_mode, sizeof expected_mode, "%04o", static_cast<unsigned>(mode));
    EXPECT_EQ(r.status().message(), path + ": secret key file has mode " + expected_mode +
                                        "; it must be readable by its owner only (run: chmod 600 " +
                                        path + ")");
    // The public half cannot be read from a loose secret file either.
    Result<PublicIdentity> pub = LoadPublicIdentity(path);
    ASSERT_FALSE(pub.ok());
    EXPECT_TRUE(Contains(pub.status().message(), "chmod 600")) << pub.status().message();
  }
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  EXPECT_TRUE(LoadIdentity(path).ok());
  EXPECT_TRUE(ShowPublic(path).ok());
}

TEST_F(CommonKeysTest, TamperedCurvePublicIsRefused) {
  const std::string path = MakeIdentity("site_a");
  std::vector<std::string> lines = SplitLines(Slurp(path));
  Result<Identity> other = GenerateIdentity("site_b");
  ASSERT_TRUE(other.ok());
  lines[3] = "curve-public: " + other->pub.curve_public_z85;  // valid key, wrong one
  Result<Identity> r = LoadLines(lines);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "curve-secret does not match curve-public"))
      << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), dir_.File("edited.secret")));
}

TEST_F(CommonKeysTest, TamperedSignPublicIsRefused) {
  const std::string path = MakeIdentity("site_a");
  std::vector<std::string> lines = SplitLines(Slurp(path));
  Result<Identity> other = GenerateIdentity("site_b");
  ASSERT_TRUE(other.ok());
  lines[5] = "sign-public: " + other->pub.sign_public_hex;
  Result<Identity> r = LoadLines(lines);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "sign-secret does not match sign-public"))
      << r.status().message();
}

TEST_F(CommonKeysTest, TamperedSignSeedIsRefused) {
  const std::string path = MakeIdentity("site_a");
  std::vector<std::string> lines = SplitLines(Slurp(path));
  // Flip one hex digit in the seed half (the first 32 bytes) of sign-secret.
  const std::size_t pos = std::string("sign-secret: ").size() + 3;
  lines[6][pos] = lines[6][pos] == '0' ? '1' : '0';
  Result<Identity> r = LoadLines(lines);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "sign-secret does not match sign-public"))
      << r.status().message();
}

TEST_F(CommonKeysTest, TamperedCurveSecretIsRefused) {
  const std::string path = MakeIdentity("site_a");
  std::vector<std::string> lines = SplitLines(Slurp(path));
  Result<Identity> other = GenerateIdentity("site_b");
  ASSERT_TRUE(other.ok());
  lines[4] =
      std::string("curve-secret: ") + reinterpret_cast<const char*>(other->curve_secret_z85.data());
  Result<Identity> r = LoadLines(lines);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "does not match")) << r.status().message();
}

TEST_F(CommonKeysTest, MalformedLinesNameFileAndLine) {
  const std::string path = MakeIdentity("site_a");
  const std::vector<std::string> good = SplitLines(Slurp(path));
  const std::string edited = dir_.File("edited.secret");

  {  // a line without "key: value"
    std::vector<std::string> lines = good;
    lines.insert(lines.begin() + 3, "this line has no colon");
    Result<Identity> r = LoadLines(lines);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kParseError);
    EXPECT_TRUE(Contains(r.status().message(), edited + ": line 4: expected \"key: value\""))
        << r.status().message();
  }
  {  // unknown key
    std::vector<std::string> lines = good;
    lines.push_back("colour: blue");
    Result<Identity> r = LoadLines(lines);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kParseError);
    EXPECT_TRUE(Contains(r.status().message(), edited + ": line 8: unknown key \"colour\""))
        << r.status().message();
    EXPECT_TRUE(Contains(r.status().message(), "allowed: fedrad-identity, name"));
  }
  {  // duplicate key
    std::vector<std::string> lines = good;
    lines.push_back("name: site_b");
    Result<Identity> r = LoadLines(lines);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kParseError);
    EXPECT_TRUE(Contains(r.status().message(),
                         edited + ": line 8: duplicate key \"name\" (first given on line 3)"))
        << r.status().message();
  }
  {  // missing key
    std::vector<std::string> lines = good;
    lines.erase(lines.begin() + 6);
    Result<Identity> r = LoadLines(lines);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kParseError);
    EXPECT_TRUE(Contains(r.status().message(), edited + ": line 6 (end of file)"))
        << r.status().message();
    EXPECT_TRUE(Contains(r.status().message(), "missing required key(s) \"sign-secret\""))
        << r.status().message();
  }
  {  // bad curve-secret length, reported without echoing the secret
    std::vector<std::string> lines = good;
    lines[4] = lines[4].substr(0, lines[4].size() - 1);
    Result<Identity> r = LoadLines(lines);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(Contains(r.status().message(),
                         edited + ": line 5: curve-secret: expected a 40-character Z85 key, got "
                                  "39 characters"))
        << r.status().message();
    EXPECT_FALSE(Contains(r.status().message(), lines[4].substr(14))) << "secret echoed";
  }
  {  // bad sign-secret hex
    std::vector<std::string> lines = good;
    lines[6].back() = 'z';
    Result<Identity> r = LoadLines(lines);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(Contains(r.status().message(), edited + ": line 7: sign-secret: expected 128 hex"))
        << r.status().message();
  }
  {  // unsupported version
    std::vector<std::string> lines = good;
    lines[1] = "fedrad-identity: 2";
    Result<Identity> r = LoadLines(lines);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kVersionMismatch);
    EXPECT_TRUE(Contains(r.status().message(), edited + ": line 2: fedrad-identity: unsupported"))
        << r.status().message();
  }
  {  // bad name
    std::vector<std::string> lines = good;
    lines[2] = "name: bad name";
    Result<Identity> r = LoadLines(lines);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(Contains(r.status().message(), edited + ": line 3: name: invalid party name"))
        << r.status().message();
  }
}

TEST_F(CommonKeysTest, CommentsBlankLinesAndCrlfAreAccepted) {
  const std::string path = MakeIdentity("site_a");
  std::vector<std::string> lines = SplitLines(Slurp(path));
  std::vector<std::string> edited;
  edited.push_back("");
  for (const auto& line : lines) {
    edited.push_back("  " + line + "\r");
    edited.push_back("# comment");
    edited.push_back("   ");
  }
  Result<Identity> r = LoadLines(edited);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->pub.name, "site_a");
}

TEST_F(CommonKeysTest, MissingAndEmptySecretFiles) {
  Result<Identity> missing = LoadIdentity(dir_.File("nope.secret"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(missing.status().message(), dir_.File("nope.secret")));

  const std::string empty = dir_.File("empty.secret");
  WriteText(empty, "", 0600);
  Result<Identity> r = LoadIdentity(empty);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kParseError);
  EXPECT_TRUE(Contains(r.status().message(), empty));
}

TEST_F(CommonKeysTest, LoadPublicIdentityFromSecretFile) {
  const std::string secret_path = MakeIdentity("site_a");
  Result<PublicIdentity> from_secret = LoadPublicIdentity(secret_path);
  ASSERT_TRUE(from_secret.ok()) << from_secret.status().ToString();
  Result<PublicIdentity> from_public = LoadPublicIdentity(dir_.File("site_a.public"));
  ASSERT_TRUE(from_public.ok());
  EXPECT_EQ(from_secret->name, "site_a");
  EXPECT_EQ(from_secret->curve_public_z85, from_public->curve_public_z85);
  EXPECT_EQ(from_secret->sign_public_hex, from_public->sign_public_hex);

  // Without the usual suffixes the content decides.
  const std::string renamed_secret = dir_.File("identity-copy");
  std::filesystem::copy_file(secret_path, renamed_secret);
  ::chmod(renamed_secret.c_str(), 0600);
  Result<PublicIdentity> sniffed = LoadPublicIdentity(renamed_secret);
  ASSERT_TRUE(sniffed.ok()) << sniffed.status().ToString();
  EXPECT_EQ(sniffed->sign_public_hex, from_public->sign_public_hex);
  ::chmod(renamed_secret.c_str(), 0644);
  EXPECT_EQ(LoadPublicIdentity(renamed_secret).status().code(), StatusCode::kPermissionDenied);

  const std::string renamed_public = dir_.File("pub.json");
  std::filesystem::copy_file(dir_.File("site_a.public"), renamed_public);
  Result<PublicIdentity> json_file = LoadPublicIdentity(renamed_public);
  ASSERT_TRUE(json_file.ok()) << json_file.status().ToString();
  EXPECT_EQ(json_file->curve_public_z85, from_public->curve_public_z85);
}

TEST_F(CommonKeysTest, LoadPublicIdentityIsStrict) {
  const std::string path = dir_.File("x.public");
  const std::string curve = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
  const std::string sign(64, 'c');
  WriteText(path,
            R"({"id": "site_a", "curve_public_key": ")" + curve + R"(", "sign_public_key": ")" +
                sign + R"(", "comment": "hi"})",
            0644);
  Result<PublicIdentity> extra = LoadPublicIdentity(path);
  ASSERT_FALSE(extra.ok());
  EXPECT_EQ(extra.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      Contains(extra.status().message(), path + ": /comment: unknown key \"comment\" (allowed: id, "
                                                "curve_public_key, sign_public_key)"))
      << extra.status().message();

  WriteText(path, R"({"id": "site_a", "curve_public_key": "short", "sign_public_key": 5})", 0644);
  Result<PublicIdentity> bad = LoadPublicIdentity(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), path + ": /sign_public_key: expected a string"))
      << bad.status().message();

  WriteText(
      path,
      R"({"id": "site a", "curve_public_key": "short", "sign_public_key": ")" + sign + R"("})",
      0644);
  bad = LoadPublicIdentity(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), path + ": /id: invalid party name"))
      << bad.status().message();
  EXPECT_TRUE(Contains(bad.status().message(),
                       path + ": /curve_public_key: expected a 40-character Z85 key, got 5 "
                              "characters"))
      << bad.status().message();

  WriteText(path, "{\"id\": \"site_a\",\n", 0644);
  bad = LoadPublicIdentity(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kParseError);
  EXPECT_TRUE(Contains(bad.status().message(), path + ": line 2, column 1"))
      << bad.status().message();
}

TEST_F(CommonKeysTest, ShowPublicEqualsPublicFile) {
  const std::string secret_path = MakeIdentity("coordinator");
  const std::string public_text = Slurp(dir_.File("coordinator.public"));
  Result<std::string> from_public = ShowPublic(dir_.File("coordinator.public"));
  ASSERT_TRUE(from_public.ok()) << from_public.status().ToString();
  EXPECT_EQ(*from_public, public_text);
  Result<std::string> from_secret = ShowPublic(secret_path);
  ASSERT_TRUE(from_secret.ok()) << from_secret.status().ToString();
  EXPECT_EQ(*from_secret, public_text);
  EXPECT_FALSE(ShowPublic(dir_.File("missing.public")).ok());
}

TEST_F(CommonKeysTest, RunKeygenWritesFilesAndReports) {
  const std::string out = dir_.File("out");
  std::string report;
  ASSERT_TRUE(RunKeygen("site_c", out, &report).ok());
  const std::string secret_path = out + "/site_c.secret";
  const std::string public_path = out + "/site_c.public";
  EXPECT_EQ(ModeOf(secret_path), 0600u);
  EXPECT_EQ(ModeOf(public_path), 0644u);
  EXPECT_TRUE(Contains(report, secret_path)) << report;
  EXPECT_TRUE(Contains(report, public_path)) << report;
  EXPECT_TRUE(Contains(report, Slurp(public_path))) << report;
  EXPECT_TRUE(Contains(report, "private")) << report;
  // The secret key material never appears in the report.
  const std::vector<std::string> lines = SplitLines(Slurp(secret_path));
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_FALSE(Contains(report, lines[4].substr(14)));
  EXPECT_FALSE(Contains(report, lines[6].substr(13)));
  EXPECT_TRUE(LoadIdentity(secret_path).ok());

  std::string second_report = "unchanged";
  const Status again = RunKeygen("site_c", out, &second_report);
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(SplitLines(Slurp(secret_path)), lines);

  EXPECT_EQ(RunKeygen("bad/name", out, nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(RunKeygen("site_d", out, nullptr).ok());  // report is optional
}

TEST_F(CommonKeysTest, WriteIdentityRejectsEmptySecrets) {
  Identity empty;
  empty.pub = {"site_a", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", std::string(64, 'a')};
  const Status s = WriteIdentity(empty, dir_.path());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir_.File("site_a.secret")));
}

}  // namespace
}  // namespace fedrad::common

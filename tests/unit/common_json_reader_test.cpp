#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fedrad/common/json_reader.hpp"
#include "temp_dir.hpp"

namespace fedrad::common {
namespace {

using nlohmann::json;

class TempDir : public fedrad::testing::TempDir {
 public:
  TempDir() : fedrad::testing::TempDir("fedrad_common_json") {}
};

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The one error recorded, or a failure message.
std::string OnlyError(const ErrorList& errors) {
  if (errors.errors().size() != 1) {
    std::string all = "expected exactly one error, got " + std::to_string(errors.errors().size());
    for (const auto& e : errors.errors()) all += "\n  " + e;
    return all;
  }
  return errors.errors()[0];
}

TEST(CommonJsonPointerTest, EscapesTildeAndSlash) {
  EXPECT_EQ(JsonPointerAppend("", "a"), "/a");
  EXPECT_EQ(JsonPointerAppend("/sites", "1"), "/sites/1");
  EXPECT_EQ(JsonPointerAppend("/x", "a/b"), "/x/a~1b");
  EXPECT_EQ(JsonPointerAppend("/x", "m~n"), "/x/m~0n");
  EXPECT_EQ(JsonPointerAppend("", "~/"), "/~0~1");
  EXPECT_EQ(JsonPointerAppend("", ""), "/");
}

TEST(CommonErrorListTest, FormatsErrorsAndStatus) {
  ErrorList errors("coord.json");
  EXPECT_TRUE(errors.empty());
  EXPECT_TRUE(errors.ToStatus().ok());
  errors.Add("/coordinator/bind", "missing required key");
  errors.Add("/sites/1/id", "expected a string, got 3");
  EXPECT_FALSE(errors.empty());
  ASSERT_EQ(errors.errors().size(), 2u);
  EXPECT_EQ(errors.errors()[0], "coord.json: /coordinator/bind: missing required key");
  const Status s = errors.ToStatus();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "coord.json: 2 configuration errors:\n"
            "  coord.json: /coordinator/bind: missing required key\n"
            "  coord.json: /sites/1/id: expected a string, got 3");
}

TEST(CommonErrorListTest, SingleErrorStatus) {
  ErrorList errors("a.json");
  errors.Add("/x", "bad");
  EXPECT_EQ(errors.ToStatus().message(), "a.json: 1 configuration error:\n  a.json: /x: bad");
}

TEST(CommonObjectReaderTest, ReadsValidDocument) {
  const json doc = json::parse(R"({
    "name": "study-1", "mode": "fedavg", "rounds": 20, "lr": 0.5, "ratio": 1,
    "secure": true, "tags": ["a", "b"],
    "coordinator": {"bind": "tcp://127.0.0.1:5555"},
    "sites": [{"id": "site_a"}, {"id": "site_b"}]
  })");
  ErrorList errors("study.json");
  ObjectReader root(doc, "", &errors);
  EXPECT_EQ(root.String("name"), "study-1");
  EXPECT_EQ(root.Choice("mode", {"fedavg", "fedprox"}), "fedavg");
  EXPECT_EQ(root.Int("rounds", 1, 1000), 20);
  EXPECT_DOUBLE_EQ(root.Number("lr", 0.0, 1.0), 0.5);
  EXPECT_DOUBLE_EQ(root.Number("ratio", 0.0, 1.0), 1.0);  // ints are numbers
  EXPECT_TRUE(root.Bool("secure"));
  EXPECT_EQ(root.StringList("tags"), (std::vector<std::string>{"a", "b"}));
  ObjectReader coord = root.Object("coordinator");
  EXPECT_EQ(coord.pointer(), "/coordinator");
  EXPECT_EQ(coord.String("bind"), "tcp://127.0.0.1:5555");
  coord.Finish();
  std::vector<ObjectReader> sites = root.ObjectArray("sites");
  ASSERT_EQ(sites.size(), 2u);
  EXPECT_EQ(sites[1].pointer(), "/sites/1");
  EXPECT_EQ(sites[0].String("id"), "site_a");
  EXPECT_EQ(sites[1].String("id"), "site_b");
  for (auto& site : sites) site.Finish();
  root.Finish();
  EXPECT_TRUE(errors.empty()) << errors.ToStatus().message();
  EXPECT_TRUE(errors.ToStatus().ok());
}

TEST(CommonObjectReaderTest, OptionalValuesTakeFallbacks) {
  const json doc = json::object();
  ErrorList errors("x.json");
  ObjectReader root(doc, "", &errors);
  EXPECT_EQ(root.String("s", "dflt"), "dflt");
  EXPECT_EQ(root.Choice("c", {"a", "b"}, "b"), "b");
  EXPECT_EQ(root.Int("i", 42, 0, 100), 42);
  EXPECT_DOUBLE_EQ(root.Number("n", 2.5, 0, 10), 2.5);
  EXPECT_FALSE(root.Bool("b", false));
  EXPECT_EQ(root.StringList("l", {"z"}), (std::vector<std::string>{"z"}));
  ObjectReader log = root.OptionalObject("log");
  EXPECT_EQ(log.pointer(), "/log");
  EXPECT_EQ(log.String("level", "info"), "info");
  log.Finish();
  EXPECT_TRUE(root.ObjectArray("sites", /*required=*/false).empty());
  EXPECT_EQ(root.Raw("raw"), nullptr);
  EXPECT_FALSE(root.Has("h"));
  root.Finish();
  EXPECT_TRUE(errors.empty()) << errors.ToStatus().message();
}

TEST(CommonObjectReaderTest, MissingRequiredKeys) {
  const json doc = json::parse(R"({"coordinator": {}})");
  ErrorList errors("coord.json");
  ObjectReader root(doc, "", &errors);
  ObjectReader coord = root.Object("coordinator");
  EXPECT_EQ(coord.String("bind"), "");
  EXPECT_EQ(coord.Int("port", 1, 65535), 1);
  (void)root.ObjectArray("sites");
  ASSERT_EQ(errors.errors().size(), 3u);
  EXPECT_EQ(errors.errors()[0], "coord.json: /coordinator/bind: missing required key");
  EXPECT_EQ(errors.errors()[1], "coord.json: /coordinator/port: missing required key");
  EXPECT_EQ(errors.errors()[2], "coord.json: /sites: missing required key");
}

TEST(CommonObjectReaderTest, MissingRequiredObjectReportedOnce) {
  const json doc = json::object();
  ErrorList errors("c.json");
  ObjectReader root(doc, "", &errors);
  ObjectReader coord = root.Object("coordinator");
  (void)coord.String("bind");
  (void)coord.Int("port", 1, 10);
  coord.Finish();
  EXPECT_EQ(OnlyError(errors), "c.json: /coordinator: missing required key");
}

TEST(CommonObjectReaderTest, IntRejectsNonIntegersAndOutOfRange) {
  const json doc = json::parse(
      R"({"a": 1.5, "b": true, "c": "fast", "d": 700000, "e": 9, "f": 1.0,
          "g": 18446744073709551615, "h": -3})");
  ErrorList errors("coord.json");
  ObjectReader root(doc, "/coordinator", &errors);
  (void)root.Int("a", 10, 600000);
  (void)root.Int("b", 10, 600000);
  (void)root.Int("c", 10, 600000);
  (void)root.Int("d", 10, 600000);
  (void)root.Int("e", 10, 600000);
  (void)root.Int("f", 0, 10);
  EXPECT_EQ(root.Int("g", 5, 0, 10), 5);  // fallback on error
  EXPECT_EQ(root.Int("h", -5, 5), -3);
  const auto& e = errors.errors();
  ASSERT_EQ(e.size(), 7u);
  EXPECT_EQ(e[0], "coord.json: /coordinator/a: expected an integer in [10, 600000], got 1.5");
  EXPECT_EQ(e[1], "coord.json: /coordinator/b: expected an integer in [10, 600000], got true");
  EXPECT_EQ(e[2], "coord.json: /coordinator/c: expected an integer in [10, 600000], got \"fast\"");
  EXPECT_EQ(e[3], "coord.json: /coordinator/d: expected an integer in [10, 600000], got 700000");
  EXPECT_EQ(e[4], "coord.json: /coordinator/e: expected an integer in [10, 600000], got 9");
  EXPECT_EQ(e[5], "coord.json: /coordinator/f: expected an integer in [0, 10], got 1.0");
  EXPECT_TRUE(Contains(e[6], "/coordinator/g: expected an integer in [0, 10]"));
}

TEST(CommonObjectReaderTest, NumberAcceptsIntsAndFloatsOnly) {
  const json doc = json::parse(R"({"a": 3, "b": 0.25, "c": "1", "d": false, "e": 1e9})");
  ErrorList errors("m.json");
  ObjectReader root(doc, "", &errors);
  EXPECT_DOUBLE_EQ(root.Number("a", 0, 10), 3.0);
  EXPECT_DOUBLE_EQ(root.Number("b", 0, 1), 0.25);
  (void)root.Number("c", 0, 10);
  (void)root.Number("d", 0, 10);
  (void)root.Number("e", 0, 1.5);
  const auto& e = errors.errors();
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0], "m.json: /c: expected a number in [0, 10], got \"1\"");
  EXPECT_EQ(e[1], "m.json: /d: expected a number in [0, 10], got false");
  EXPECT_EQ(e[2], "m.json: /e: expected a number in [0, 1.5], got 1000000000.0");
}

TEST(CommonObjectReaderTest, StringBoolChoiceAndListTypeErrors) {
  const json doc = json::parse(
      R"({"s": 5, "b": "yes", "c": "sgd", "c2": 3, "l": "x", "l2": ["a", 2, null], "n": null})");
  ErrorList errors("t.json");
  ObjectReader root(doc, "", &errors);
  (void)root.String("s");
  (void)root.Bool("b");
  EXPECT_EQ(root.Choice("c", {"fedavg", "fedprox"}, "fedavg"), "fedavg");
  (void)root.Choice("c2", {"x", "y"});
  (void)root.StringList("l");
  (void)root.StringList("l2");
  (void)root.String("n", "fallback");
  const auto& e = errors.errors();
  ASSERT_EQ(e.size(), 8u) << errors.ToStatus().message();
  EXPECT_EQ(e[0], "t.json: /s: expected a string, got 5");
  EXPECT_EQ(e[1], "t.json: /b: expected true or false, got \"yes\"");
  EXPECT_EQ(e[2], "t.json: /c: expected one of \"fedavg\", \"fedprox\", got \"sgd\"");
  EXPECT_EQ(e[3], "t.json: /c2: expected one of \"x\", \"y\", got 3");
  EXPECT_EQ(e[4], "t.json: /l: expected an array of strings, got \"x\"");
  EXPECT_EQ(e[5], "t.json: /l2/1: expected a string, got 2");
  EXPECT_EQ(e[6], "t.json: /l2/2: expected a string, got null");
  EXPECT_EQ(e[7], "t.json: /n: expected a string, got null");
}

TEST(CommonObjectReaderTest, LongValuesAreTruncatedInMessages) {
  const json doc = {{"s", std::string(500, 'x')}};
  ErrorList errors("t.json");
  ObjectReader root(doc, "", &errors);
  (void)root.Int("s", 0, 1);
  const std::string error = OnlyError(errors);
  EXPECT_TRUE(Contains(error, "...")) << error;
  EXPECT_LT(error.size(), 150u);
}

TEST(CommonObjectReaderTest, NonObjectNodeReportedOnceAndDefaults) {
  const json doc = json::parse(R"({"coordinator": [1, 2], "log": 7})");
  ErrorList errors("c.json");
  ObjectReader root(doc, "", &errors);
  ObjectReader coord = root.Object("coordinator");
  EXPECT_EQ(coord.String("bind"), "");
  EXPECT_EQ(coord.Int("port", 7, 1, 10), 7);
  coord.Finish();
  ObjectReader log = root.OptionalObject("log");
  EXPECT_EQ(log.String("level", "info"), "info");
  log.Finish();
  root.Finish();
  const auto& e = errors.errors();
  ASSERT_EQ(e.size(), 2u) << errors.ToStatus().message();
  EXPECT_EQ(e[0], "c.json: /coordinator: expected an object, got an array");
  EXPECT_EQ(e[1], "c.json: /log: expected an object, got 7");
}

TEST(CommonObjectReaderTest, RootThatIsNotAnObject) {
  const json doc = json::parse("[1]");
  ErrorList errors("c.json");
  ObjectReader root(doc, "", &errors);
  (void)root.String("x");
  root.Finish();
  EXPECT_EQ(OnlyError(errors), "c.json: expected an object, got an array");
}

TEST(CommonObjectReaderTest, ObjectArrayNestedPointersAndBadElements) {
  const json doc = json::parse(R"({"sites": [{"id": "a"}, {"id": 3}, "oops", {"idd": "c"}]})");
  ErrorList errors("coord.json");
  ObjectReader root(doc, "", &errors);
  std::vector<ObjectReader> sites = root.ObjectArray("sites");
  ASSERT_EQ(sites.size(), 3u);  // the string element is reported and skipped
  EXPECT_EQ(sites[0].pointer(), "/sites/0");
  EXPECT_EQ(sites[1].pointer(), "/sites/1");
  EXPECT_EQ(sites[2].pointer(), "/sites/3");
  for (auto& site : sites) {
    (void)site.String("id");
    site.Finish();
  }
  root.Finish();
  const auto& e = errors.errors();
  ASSERT_EQ(e.size(), 4u) << errors.ToStatus().message();
  EXPECT_EQ(e[0], "coord.json: /sites/2: expected an object, got \"oops\"");
  EXPECT_EQ(e[1], "coord.json: /sites/1/id: expected a string, got 3");
  EXPECT_EQ(e[2], "coord.json: /sites/3/id: missing required key");
  EXPECT_EQ(e[3],
            "coord.json: /sites/3/idd: unknown key \"idd\" (allowed: id); did you mean \"id\"?");
}

TEST(CommonObjectReaderTest, ObjectArrayThatIsNotAnArray) {
  const json doc = json::parse(R"({"sites": {"id": "a"}})");
  ErrorList errors("coord.json");
  ObjectReader root(doc, "", &errors);
  EXPECT_TRUE(root.ObjectArray("sites").empty());
  EXPECT_EQ(OnlyError(errors), "coord.json: /sites: expected an array of objects, got an object");
}

TEST(CommonObjectReaderTest, UnknownKeysListAllowedKeys) {
  const json doc =
      json::parse(R"({"bind": "x", "heartbeat_interval": 5, "foo": 1, "a/b~": 2, "raw": 3})");
  ErrorList errors("coord.json");
  ObjectReader coord(doc, "/coordinator", &errors);
  (void)coord.String("bind");
  (void)coord.Int("heartbeat_interval_ms", 1000, 10, 600000);
  EXPECT_TRUE(coord.Has("raw"));
  EXPECT_FALSE(coord.Has("absent"));
  coord.Finish();
  const auto& e = errors.errors();
  ASSERT_EQ(e.size(), 3u) << errors.ToStatus().message();
  // Keys are iterated in sorted order by nlohmann::json.
  EXPECT_EQ(e[0],
            "coord.json: /coordinator/a~1b~0: unknown key \"a/b~\" (allowed: bind, "
            "heartbeat_interval_ms, raw, absent)");
  EXPECT_EQ(e[1],
            "coord.json: /coordinator/foo: unknown key \"foo\" (allowed: bind, "
            "heartbeat_interval_ms, raw, absent)");
  EXPECT_EQ(e[2],
            "coord.json: /coordinator/heartbeat_interval: unknown key \"heartbeat_interval\" "
            "(allowed: bind, heartbeat_interval_ms, raw, absent); did you mean "
            "\"heartbeat_interval_ms\"?");
}

TEST(CommonObjectReaderTest, UnknownKeyInObjectWithoutDeclaredKeys) {
  const json doc = json::parse(R"({"x": 1})");
  ErrorList errors("e.json");
  ObjectReader root(doc, "", &errors);
  root.Finish();
  EXPECT_EQ(OnlyError(errors), "e.json: /x: unknown key \"x\" (this object takes no keys)");
}

TEST(CommonObjectReaderTest, RawDeclaresKeyAndErrorUsesPointer) {
  const json doc = json::parse(R"({"model": {"kind": "logreg"}})");
  ErrorList errors("s.json");
  ObjectReader root(doc, "/study", &errors);
  const json* model = root.Raw("model");
  ASSERT_NE(model, nullptr);
  EXPECT_EQ((*model)["kind"], "logreg");
  root.Error("model", "kind \"logreg\" needs \"features\"");
  root.Finish();  // "model" was declared by Raw
  EXPECT_EQ(OnlyError(errors), "s.json: /study/model: kind \"logreg\" needs \"features\"");
  EXPECT_EQ(root.errors(), &errors);
}

TEST(CommonObjectReaderTest, OnePassReportsEveryProblem) {
  const json doc = json::parse(R"({"coordinator": {"bind": 1, "extra": true}, "sites": [{}]})");
  ErrorList errors("coord.json");
  ObjectReader root(doc, "", &errors);
  ObjectReader coord = root.Object("coordinator");
  (void)coord.String("bind");
  (void)coord.Int("heartbeat_interval_ms", 1000, 10, 600000);
  coord.Finish();
  for (auto& site : root.ObjectArray("sites")) {
    (void)site.String("id");
    site.Finish();
  }
  root.Finish();
  const Status s = errors.ToStatus();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "coord.json: 3 configuration errors:\n"
            "  coord.json: /coordinator/bind: expected a string, got 1\n"
            "  coord.json: /coordinator/extra: unknown key \"extra\" (allowed: bind, "
            "heartbeat_interval_ms)\n"
            "  coord.json: /sites/0/id: missing required key");
}

TEST(CommonParseJsonTest, ReportsLineAndColumn) {
  Result<json> r = ParseJson("{\n  \"a\": 1,\n  \"b\": tru\n}\n", "coord.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kParseError);
  const std::string m = r.status().message();
  EXPECT_TRUE(Contains(m, "coord.json: line 3, column ")) << m;
  EXPECT_TRUE(Contains(m, "invalid JSON")) << m;
  EXPECT_FALSE(Contains(m, "[json.exception")) << m;
}

TEST(CommonParseJsonTest, ExactPositionOfUnexpectedCharacter) {
  // The stray ']' is on line 2, column 9.
  Result<json> r = ParseJson("{\"a\": 1,\n  \"b\": 2]\n", "x.json");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "x.json: line 2, column 9: invalid JSON"))
      << r.status().message();
}

TEST(CommonParseJsonTest, UnexpectedEndOfInput) {
  Result<json> r = ParseJson("{\"a\": [1, 2", "x.json");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "x.json: line 1, column 12")) << r.status().message();
  Result<json> empty = ParseJson("", "empty.json");
  ASSERT_FALSE(empty.ok());
  EXPECT_TRUE(Contains(empty.status().message(), "empty.json: line 1, column 1"))
      << empty.status().message();
}

TEST(CommonParseJsonTest, RejectsDuplicateKeysWithPointer) {
  Result<json> r =
      ParseJson(R"({"sites": [{"id": "a"}, {"id": "b", "x": [1, {}], "id": "c"}]})", "coord.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kParseError);
  EXPECT_TRUE(Contains(r.status().message(), "coord.json: /sites/1/id: duplicate key"))
      << r.status().message();
  Result<json> top = ParseJson(R"({"a": 1, "b": {"a": 2}, "a": 3})", "t.json");
  ASSERT_FALSE(top.ok());
  EXPECT_TRUE(Contains(top.status().message(), "t.json: /a: duplicate key"))
      << top.status().message();
  Result<json> fine = ParseJson(R"({"a": {"a": {"a": 1}}, "b": [{"a": 1}, {"a": 2}]})", "f.json");
  ASSERT_TRUE(fine.ok()) << fine.status().message();
  EXPECT_EQ((*fine)["b"][1]["a"], 2);
}

TEST(CommonReadJsonFileTest, ReadsFileAndReportsBadJsonWithLineAndColumn) {
  TempDir dir;
  const std::string good = dir.WriteText("good.json", R"({"a": [1, 2, 3]})");
  Result<json> r = ReadJsonFile(good);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["a"][2], 3);

  const std::string bad = dir.WriteText("bad.json", "{\n  \"a\": 1,\n  \"b\" 2\n}\n");
  Result<json> b = ReadJsonFile(bad);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kParseError);
  EXPECT_TRUE(Contains(b.status().message(), bad + ": line 3, column 7: invalid JSON"))
      << b.status().message();
}

TEST(CommonReadJsonFileTest, MissingFileNamesPath) {
  TempDir dir;
  Result<json> r = ReadJsonFile(dir.File("nope.json"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(r.status().message(), dir.File("nope.json")));
  EXPECT_TRUE(Contains(r.status().message(), "No such file or directory"));
}

TEST(CommonReadJsonFileTest, RefusesFilesOver16MiB) {
  TempDir dir;
  const std::string path = dir.File("huge.json");
  {
    std::ofstream out(path, std::ios::binary);
    out << "[";
    const std::string chunk(1 << 20, ' ');
    for (int i = 0; i < 16; ++i) out << chunk;
    out << "]";
  }
  Result<json> r = ReadJsonFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(Contains(r.status().message(), path)) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "16777216")) << r.status().message();
}

}  // namespace
}  // namespace fedrad::common

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "fedrad/common/status.hpp"

namespace fedrad::common {
namespace {

TEST(CommonStatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_EQ(s.cause(), nullptr);
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(CommonStatusTest, ConvenienceConstructorsSetCodeAndMessage) {
  EXPECT_EQ(InvalidArgument("a").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(NotFound("a").code(), StatusCode::kNotFound);
  EXPECT_EQ(AlreadyExists("a").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(PermissionDenied("a").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(IoError("a").code(), StatusCode::kIoError);
  EXPECT_EQ(ParseError("a").code(), StatusCode::kParseError);
  EXPECT_EQ(TimeoutError("a").code(), StatusCode::kTimeout);
  EXPECT_EQ(Internal("boom").message(), "boom");
  EXPECT_FALSE(Internal("boom").ok());
  EXPECT_EQ(StatusCodeName(StatusCode::kPermissionDenied), "permission_denied");
  EXPECT_EQ(StatusCodeName(StatusCode::kInvalidArgument), "invalid_argument");
}

TEST(CommonStatusTest, WrapKeepsChainAndRoot) {
  const Status root = NotFound("coord.json: cannot open for reading: No such file or directory");
  const Status mid = root.Wrap("reading coordinator config");
  const Status top = mid.Wrap(StatusCode::kFailedPrecondition, "cannot start coordinator");

  EXPECT_EQ(mid.code(), StatusCode::kNotFound);  // code kept
  EXPECT_EQ(top.code(), StatusCode::kFailedPrecondition);
  ASSERT_NE(top.cause(), nullptr);
  EXPECT_EQ(top.cause()->message(), "reading coordinator config");
  ASSERT_NE(top.cause()->cause(), nullptr);
  EXPECT_EQ(top.cause()->cause()->message(), root.message());
  EXPECT_EQ(top.Root().message(), root.message());
  EXPECT_EQ(top.Root().code(), StatusCode::kNotFound);
  EXPECT_EQ(&root.Root(), &root);

  EXPECT_EQ(top.ToString(),
            "cannot start coordinator: caused by: reading coordinator config: caused by: "
            "coord.json: cannot open for reading: No such file or directory");
  EXPECT_EQ(top.ToDebugString(),
            "[failed_precondition] cannot start coordinator: caused by: [not_found] reading "
            "coordinator config: caused by: [not_found] coord.json: cannot open for reading: No "
            "such file or directory");
}

TEST(CommonStatusTest, ResultHoldsValueOrError) {
  Result<std::string> good(std::string("value"));
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(good.status().ok());
  EXPECT_EQ(*good, "value");
  EXPECT_EQ(good->size(), 5u);
  EXPECT_EQ(good.value_or("other"), "value");

  Result<std::string> bad(InvalidArgument("bad input"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "bad input");
  EXPECT_EQ(bad.value_or("other"), "other");
  EXPECT_THROW((void)bad.value(), BadResultAccess);
  try {
    (void)bad.value();
  } catch (const BadResultAccess& e) {
    EXPECT_EQ(e.status().message(), "bad input");
    EXPECT_NE(std::string(e.what()).find("bad input"), std::string::npos);
  }
}

TEST(CommonStatusTest, ResultFromOkStatusBecomesInternalError) {
  Result<int> r{Status::Ok()};
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

TEST(CommonStatusTest, ResultWorksWithMoveOnlyTypes) {
  Result<std::unique_ptr<int>> r(std::make_unique<int>(7));
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

Status FailIf(bool fail) { return fail ? IoError("disk on fire") : Status::Ok(); }

Status UsesReturnIfError(bool fail, int* reached) {
  FEDRAD_RETURN_IF_ERROR(FailIf(fail));
  ++*reached;
  return Status::Ok();
}

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument(std::to_string(x) + " is odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  FEDRAD_ASSIGN_OR_RETURN(int half, Half(x));
  FEDRAD_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(CommonStatusTest, ReturnIfErrorMacro) {
  int reached = 0;
  EXPECT_TRUE(UsesReturnIfError(false, &reached).ok());
  EXPECT_EQ(reached, 1);
  const Status s = UsesReturnIfError(true, &reached);
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_EQ(s.message(), "disk on fire");
  EXPECT_EQ(reached, 1);
}

TEST(CommonStatusTest, AssignOrReturnMacro) {
  Result<int> ok = Quarter(12);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 3);
  Result<int> first = Quarter(7);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().message(), "7 is odd");
  Result<int> second = Quarter(6);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(), "3 is odd");
}

}  // namespace
}  // namespace fedrad::common

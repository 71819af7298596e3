#ifndef EVALUATECODE_TESTS_TESTING_STATUS_MATCHERS_H_
#define EVALUATECODE_TESTS_TESTING_STATUS_MATCHERS_H_

// The Status matchers abseil 20220623 does not ship yet, modelled on cel-cpp's.

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evaluatecode::testing {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

MATCHER(IsOk, "is OK") { return GetStatus(arg).ok(); }

MATCHER_P2(StatusIs, code, message_matcher, "") {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(status.message()),
                                       result_listener);
}

}  // namespace evaluatecode::testing

#define EVALUATECODE_CONCAT_INNER(a, b) a##b
#define EVALUATECODE_CONCAT(a, b) EVALUATECODE_CONCAT_INNER(a, b)

// ASSERT_OK_AND_ASSIGN(auto value, StatusOrExpression);
#define ASSERT_OK_AND_ASSIGN(lhs, expression)                                  \
  auto EVALUATECODE_CONCAT(status_or_, __LINE__) = (expression);               \
  ASSERT_TRUE(EVALUATECODE_CONCAT(status_or_, __LINE__).ok())                  \
      << EVALUATECODE_CONCAT(status_or_, __LINE__).status();                   \
  lhs = std::move(EVALUATECODE_CONCAT(status_or_, __LINE__)).value()

#define ASSERT_OK(expression) ASSERT_TRUE((expression).ok()) << (expression)
#define EXPECT_OK(expression) EXPECT_TRUE((expression).ok()) << (expression)

#endif  // EVALUATECODE_TESTS_TESTING_STATUS_MATCHERS_H_

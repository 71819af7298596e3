#include "connectors/egress_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::connectors {
namespace {

using ::evaluatecode::testing::StatusIs;
using ::testing::HasSubstr;

AddressClass Classify(const std::string& text) {
  AddressClass klass = AddressClass::kPublic;
  absl::Status status = ClassifyAddressText(text, &klass);
  EXPECT_TRUE(status.ok()) << text << ": " << status;
  return klass;
}

struct Case {
  const char* address;
  AddressClass expected;
};

class ClassifyTest : public ::testing::TestWithParam<Case> {};

TEST_P(ClassifyTest, ClassifiesAddress) {
  EXPECT_EQ(Classify(GetParam().address), GetParam().expected)
      << GetParam().address << " is " << AddressClassName(Classify(GetParam().address));
}

INSTANTIATE_TEST_SUITE_P(
    Ipv4, ClassifyTest,
    ::testing::Values(
        Case{"0.0.0.0", AddressClass::kUnspecified}, Case{"0.255.1.2", AddressClass::kUnspecified},
        Case{"10.0.0.1", AddressClass::kPrivate}, Case{"10.255.255.255", AddressClass::kPrivate},
        Case{"100.64.0.1", AddressClass::kSharedCgnat},
        Case{"100.100.100.200", AddressClass::kSharedCgnat},  // Alibaba metadata
        Case{"100.127.255.255", AddressClass::kSharedCgnat},
        Case{"100.128.0.0", AddressClass::kPublic}, Case{"100.63.255.255", AddressClass::kPublic},
        Case{"127.0.0.1", AddressClass::kLoopback}, Case{"127.1.2.3", AddressClass::kLoopback},
        Case{"169.254.169.254", AddressClass::kLinkLocal},  // cloud metadata
        Case{"169.254.0.1", AddressClass::kLinkLocal},
        Case{"172.16.0.1", AddressClass::kPrivate}, Case{"172.31.255.255", AddressClass::kPrivate},
        Case{"172.15.255.255", AddressClass::kPublic}, Case{"172.32.0.0", AddressClass::kPublic},
        Case{"192.0.0.8", AddressClass::kReserved}, Case{"192.0.2.1", AddressClass::kDocumentation},
        Case{"192.88.99.1", AddressClass::kReserved},
        Case{"192.168.1.1", AddressClass::kPrivate},
        Case{"198.18.0.1", AddressClass::kBenchmarking},
        Case{"198.19.255.255", AddressClass::kBenchmarking},
        Case{"198.20.0.0", AddressClass::kPublic},
        Case{"198.51.100.7", AddressClass::kDocumentation},
        Case{"203.0.113.9", AddressClass::kDocumentation},
        Case{"224.0.0.1", AddressClass::kMulticast},
        Case{"239.255.255.250", AddressClass::kMulticast},
        Case{"240.0.0.1", AddressClass::kReserved},
        Case{"255.255.255.255", AddressClass::kReserved}, Case{"8.8.8.8", AddressClass::kPublic},
        Case{"1.1.1.1", AddressClass::kPublic}, Case{"151.101.1.1", AddressClass::kPublic}));

INSTANTIATE_TEST_SUITE_P(
    Ipv6, ClassifyTest,
    ::testing::Values(
        Case{"::", AddressClass::kUnspecified}, Case{"::1", AddressClass::kLoopback},
        // IPv4-mapped: unwrapped and judged as the IPv4 address.
        Case{"::ffff:127.0.0.1", AddressClass::kLoopback},
        Case{"::ffff:7f00:1", AddressClass::kLoopback},
        Case{"::ffff:10.1.2.3", AddressClass::kPrivate},
        Case{"::ffff:169.254.169.254", AddressClass::kLinkLocal},
        Case{"::ffff:8.8.8.8", AddressClass::kPublic},
        // IPv4-compatible (deprecated), NAT64, 6to4 and Teredo all reach an IPv4 host.
        Case{"::127.0.0.1", AddressClass::kEmbeddedIpv4},
        Case{"::10.0.0.1", AddressClass::kEmbeddedIpv4},
        Case{"64:ff9b::a9fe:a9fe", AddressClass::kEmbeddedIpv4},
        Case{"64:ff9b::8.8.8.8", AddressClass::kEmbeddedIpv4},
        Case{"64:ff9b:1::1", AddressClass::kEmbeddedIpv4},
        Case{"2002:7f00:1::1", AddressClass::kEmbeddedIpv4},
        Case{"2001::1", AddressClass::kReserved},  // Teredo
        Case{"2001:db8::1", AddressClass::kDocumentation},
        Case{"3fff::1", AddressClass::kDocumentation},
        Case{"100::1", AddressClass::kReserved},  // discard-only
        Case{"fc00::1", AddressClass::kPrivate},
        Case{"fd00:ec2::254", AddressClass::kPrivate},  // AWS IMDS over IPv6
        Case{"fe80::1", AddressClass::kLinkLocal}, Case{"febf::1", AddressClass::kLinkLocal},
        Case{"fec0::1", AddressClass::kReserved},  // deprecated site-local
        Case{"ff02::1", AddressClass::kMulticast}, Case{"ff05::2", AddressClass::kMulticast},
        Case{"4000::1", AddressClass::kReserved},  // outside 2000::/3
        Case{"2606:4700:4700::1111", AddressClass::kPublic},
        Case{"2a00:1450:4001:81a::200e", AddressClass::kPublic},
        Case{"2001:4860:4860::8888", AddressClass::kPublic}));

TEST(ClassifyAddressTextTest, RejectsNonNumericForms) {
  AddressClass klass;
  // Legacy forms that inet_aton would accept as 127.0.0.1 are not numeric addresses here; curl
  // would resolve them, and the socket callback then sees the real address.
  for (const char* text : {"localhost", "2130706433", "0x7f.1", "127.1", "", "1.2.3.4.5", "::g"}) {
    EXPECT_THAT(ClassifyAddressText(text, &klass),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a numeric")))
        << text;
  }
}

TEST(ClassifySockaddrTest, ReadsBothFamilies) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  inet_pton(AF_INET, "169.254.169.254", &v4.sin_addr);
  EXPECT_EQ(ClassifySockaddr(reinterpret_cast<sockaddr*>(&v4), sizeof(v4)),
            AddressClass::kLinkLocal);

  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::ffff:127.0.0.1", &v6.sin6_addr);
  EXPECT_EQ(ClassifySockaddr(reinterpret_cast<sockaddr*>(&v6), sizeof(v6)),
            AddressClass::kLoopback);

  sockaddr unix_socket{};
  unix_socket.sa_family = AF_UNIX;
  EXPECT_EQ(ClassifySockaddr(&unix_socket, sizeof(unix_socket)), AddressClass::kReserved);
  EXPECT_EQ(ClassifySockaddr(nullptr, 0), AddressClass::kReserved);
  // A truncated address is not trusted.
  EXPECT_EQ(ClassifySockaddr(reinterpret_cast<sockaddr*>(&v6), sizeof(sockaddr_in)),
            AddressClass::kReserved);
}

TEST(EgressPolicyTest, AllowsOnlyPublicByDefault) {
  EgressPolicy policy;
  EXPECT_OK(policy.Check(AddressClass::kPublic));
  for (AddressClass c :
       {AddressClass::kLoopback, AddressClass::kPrivate, AddressClass::kLinkLocal,
        AddressClass::kSharedCgnat, AddressClass::kMulticast, AddressClass::kUnspecified,
        AddressClass::kDocumentation, AddressClass::kBenchmarking, AddressClass::kEmbeddedIpv4,
        AddressClass::kReserved}) {
    EXPECT_THAT(policy.Check(c), StatusIs(absl::StatusCode::kPermissionDenied,
                                          HasSubstr(std::string(AddressClassName(c)))));
  }
}

TEST(EgressPolicyTest, LoopbackSwitchAllowsLoopbackOnly) {
  EgressPolicy policy{/*allow_loopback=*/true};
  EXPECT_OK(policy.Check(AddressClass::kLoopback));
  EXPECT_OK(policy.Check(AddressClass::kPublic));
  EXPECT_THAT(policy.Check(AddressClass::kPrivate), StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("private")));
  EXPECT_THAT(policy.Check(AddressClass::kLinkLocal), StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("link-local")));
}

}  // namespace
}  // namespace evaluatecode::connectors

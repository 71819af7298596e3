#include "connectors/egress_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace evaluatecode::connectors {
namespace {

struct Ipv4Range {
  uint32_t prefix;
  int bits;
  AddressClass klass;
};

constexpr uint32_t Ip4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

// IANA's IPv4 special-purpose registry plus the ranges Smokescreen denies. Order matters only where
// ranges nest (none do here).
constexpr Ipv4Range kIpv4Ranges[] = {
    {Ip4(0, 0, 0, 0), 8, AddressClass::kUnspecified},
    {Ip4(10, 0, 0, 0), 8, AddressClass::kPrivate},
    {Ip4(100, 64, 0, 0), 10, AddressClass::kSharedCgnat},
    {Ip4(127, 0, 0, 0), 8, AddressClass::kLoopback},
    {Ip4(169, 254, 0, 0), 16, AddressClass::kLinkLocal},
    {Ip4(172, 16, 0, 0), 12, AddressClass::kPrivate},
    {Ip4(192, 0, 0, 0), 24, AddressClass::kReserved},  // IETF protocol assignments
    {Ip4(192, 0, 2, 0), 24, AddressClass::kDocumentation},
    {Ip4(192, 88, 99, 0), 24, AddressClass::kReserved},  // deprecated 6to4 relay anycast
    {Ip4(192, 168, 0, 0), 16, AddressClass::kPrivate},
    {Ip4(198, 18, 0, 0), 15, AddressClass::kBenchmarking},
    {Ip4(198, 51, 100, 0), 24, AddressClass::kDocumentation},
    {Ip4(203, 0, 113, 0), 24, AddressClass::kDocumentation},
    {Ip4(224, 0, 0, 0), 4, AddressClass::kMulticast},
    {Ip4(240, 0, 0, 0), 4, AddressClass::kReserved},  // includes 255.255.255.255
};

struct Ipv6Range {
  unsigned char prefix[16];
  int bits;
  AddressClass klass;
};

// Ranges inside 2000::/3 (the only allocated global unicast space) that are not global, plus the
// IPv4-embedding forms. Everything outside 2000::/3 is handled before this table.
const Ipv6Range kIpv6Ranges[] = {
    {{0x20, 0x01, 0x0d, 0xb8}, 32, AddressClass::kDocumentation},
    {{0x20, 0x01, 0x00, 0x00}, 23, AddressClass::kReserved},  // IETF assignments; Teredo is 2001::/32
    {{0x20, 0x02}, 16, AddressClass::kEmbeddedIpv4},          // 6to4
    {{0x3f, 0xff, 0x00}, 20, AddressClass::kDocumentation},
};

bool MatchesPrefix(const unsigned char* address, const unsigned char* prefix, int bits) {
  const int full_bytes = bits / 8;
  if (std::memcmp(address, prefix, full_bytes) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (address[full_bytes] & mask) == (prefix[full_bytes] & mask);
}

bool AllZero(const unsigned char* bytes, int count) {
  for (int i = 0; i < count; ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

}  // namespace

absl::string_view AddressClassName(AddressClass c) {
  switch (c) {
    case AddressClass::kPublic: return "public";
    case AddressClass::kLoopback: return "loopback";
    case AddressClass::kPrivate: return "private";
    case AddressClass::kLinkLocal: return "link-local";
    case AddressClass::kSharedCgnat: return "shared (CGNAT)";
    case AddressClass::kMulticast: return "multicast";
    case AddressClass::kUnspecified: return "unspecified";
    case AddressClass::kDocumentation: return "documentation";
    case AddressClass::kBenchmarking: return "benchmarking";
    case AddressClass::kEmbeddedIpv4: return "IPv4-embedding IPv6";
    case AddressClass::kReserved: return "reserved";
  }
  return "reserved";
}

AddressClass ClassifyIpv4(uint32_t address) {
  for (const Ipv4Range& range : kIpv4Ranges) {
    const uint32_t mask = range.bits == 0 ? 0 : ~uint32_t{0} << (32 - range.bits);
    if ((address & mask) == range.prefix) return range.klass;
  }
  return AddressClass::kPublic;
}

AddressClass ClassifyIpv6(const unsigned char a[16]) {
  // ::ffff:a.b.c.d is how a dual-stack socket reaches an IPv4 host: judge the IPv4 address.
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a, kMapped, 12) == 0) {
    return ClassifyIpv4((uint32_t{a[12]} << 24) | (uint32_t{a[13]} << 16) |
                        (uint32_t{a[14]} << 8) | a[15]);
  }
  if (AllZero(a, 15)) {
    if (a[15] == 0) return AddressClass::kUnspecified;  // ::
    if (a[15] == 1) return AddressClass::kLoopback;     // ::1
  }
  if (AllZero(a, 12)) return AddressClass::kEmbeddedIpv4;  // deprecated IPv4-compatible ::a.b.c.d
  // 64:ff9b::/96 and 64:ff9b:1::/48 are NAT64: the gateway would connect to the embedded IPv4.
  static constexpr unsigned char kNat64[4] = {0x00, 0x64, 0xff, 0x9b};
  if (std::memcmp(a, kNat64, 4) == 0) return AddressClass::kEmbeddedIpv4;
  if (a[0] == 0xff) return AddressClass::kMulticast;
  if ((a[0] & 0xfe) == 0xfc) return AddressClass::kPrivate;  // fc00::/7 unique local
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return AddressClass::kLinkLocal;  // fe80::/10
  // Only 2000::/3 is allocated global unicast; the rest (100::/64 discard, fec0::/10 site-local,
  // …) is reserved.
  if ((a[0] & 0xe0) != 0x20) return AddressClass::kReserved;
  for (const Ipv6Range& range : kIpv6Ranges) {
    if (MatchesPrefix(a, range.prefix, range.bits)) return range.klass;
  }
  return AddressClass::kPublic;
}

AddressClass ClassifySockaddr(const struct sockaddr* address, socklen_t length) {
  if (address == nullptr) return AddressClass::kReserved;
  if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    return ClassifyIpv4(ntohl(in->sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    return ClassifyIpv6(in6->sin6_addr.s6_addr);
  }
  return AddressClass::kReserved;
}

absl::Status ClassifyAddressText(absl::string_view text, AddressClass* out) {
  const std::string copy(text);
  in_addr v4;
  if (inet_pton(AF_INET, copy.c_str(), &v4) == 1) {
    *out = ClassifyIpv4(ntohl(v4.s_addr));
    return absl::OkStatus();
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, copy.c_str(), &v6) == 1) {
    *out = ClassifyIpv6(v6.s6_addr);
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("not a numeric IP address: '", text, "'"));
}

absl::Status EgressPolicy::Check(AddressClass c) const {
  if (c == AddressClass::kPublic) return absl::OkStatus();
  if (c == AddressClass::kLoopback && allow_loopback) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("egress to a ", AddressClassName(c), " address is not allowed"));
}

}  // namespace evaluatecode::connectors

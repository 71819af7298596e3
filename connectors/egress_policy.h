#ifndef EVALUATECODE_CONNECTORS_EGRESS_POLICY_H_
#define EVALUATECODE_CONNECTORS_EGRESS_POLICY_H_

#include <sys/socket.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace evaluatecode::connectors {

// What kind of destination an IP address is. Only kPublic may be contacted by a production
// connector; kLoopback also by a connector marked `allow_insecure_loopback` (tests and dev).
enum class AddressClass {
  kPublic,        // global unicast
  kLoopback,      // 127/8, ::1 (also reached through ::ffff:127.0.0.1)
  kPrivate,       // 10/8, 172.16/12, 192.168/16, fc00::/7
  kLinkLocal,     // 169.254/16 (cloud metadata), fe80::/10
  kSharedCgnat,   // 100.64/10
  kMulticast,     // 224/4, ff00::/8
  kUnspecified,   // 0/8 ("this network"), ::/128
  kDocumentation, // TEST-NET-1/2/3, 2001:db8::/32, 3fff::/20
  kBenchmarking,  // 198.18/15
  kEmbeddedIpv4,  // IPv6 forms that tunnel to an IPv4 address: 64:ff9b::/96, 2002::/16, Teredo, ::/96
  kReserved,      // 240/4, 192.0.0/24, 100::/64, anything outside 2000::/3, …
};

// The name of `c` for messages, e.g. "link-local".
absl::string_view AddressClassName(AddressClass c);

// Classifies an IPv4 address given in host byte order.
AddressClass ClassifyIpv4(uint32_t address);
// Classifies a 16-byte IPv6 address. IPv4-mapped addresses (::ffff:a.b.c.d) are unwrapped and
// classified as the IPv4 address they name.
AddressClass ClassifyIpv6(const unsigned char address[16]);
// Classifies a socket address (AF_INET or AF_INET6); other families are kReserved.
AddressClass ClassifySockaddr(const struct sockaddr* address, socklen_t length);
// Classifies a numeric address in text ("10.0.0.1", "::1"). kInvalidArgument if it is not one.
absl::Status ClassifyAddressText(absl::string_view text, AddressClass* out);

// Which destinations a connector may reach once a name has been resolved. Thread-compatible; a
// plain value.
struct EgressPolicy {
  // Also allow loopback addresses (127/8, ::1). Set only for connectors marked
  // `allow_insecure_loopback` in config, i.e. fake vendors in tests and local development.
  bool allow_loopback = false;

  // OK if `c` may be contacted; otherwise kPermissionDenied naming the class.
  absl::Status Check(AddressClass c) const;
};

}  // namespace evaluatecode::connectors

#endif  // EVALUATECODE_CONNECTORS_EGRESS_POLICY_H_

// Fuzz target: the egress address classifier (connectors/egress_policy.h) with arbitrary socket
// address bytes, as curl's open-socket callback hands them over.
//
// Input: [family selector][length selector][up to sizeof(sockaddr_storage) address bytes].
//
// Properties:
// - ClassifySockaddr never reads past `length` and agrees with ClassifyIpv4 / ClassifyIpv6 on the
//   address it holds; other families and short lengths are kReserved (denied).
// - The text form (inet_ntop) classifies the same through ClassifyAddressText.
// - IPv4-mapped ::ffff:a.b.c.d classifies exactly as a.b.c.d (the header's promise).
// - Every IPv6 form that carries an IPv4 address — IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96
//   and 64:ff9b:1::/48, 6to4 2002:AABB:CCDD::/48, Teredo 2001:0::/32 (server and XOR-ed client
//   address) — is never allowed where its IPv4 address is denied, with or without
//   allow_loopback (the policy: "unwrap the IPv4 address and check it again", or deny the form).
// - Check() allows exactly kPublic, plus kLoopback when allow_loopback is set.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "connectors/egress_policy.h"
#include "tests/fuzz/fuzz_check.h"

namespace evaluatecode::connectors {
namespace {

bool Allowed(AddressClass c, bool allow_loopback) {
  EgressPolicy policy;
  policy.allow_loopback = allow_loopback;
  return policy.Check(c).ok();
}

uint32_t Ipv4At(const unsigned char* bytes) {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
         bytes[3];
}

// An embedded IPv4 address must not make a denied destination reachable.
void CheckNotLaxer(const unsigned char v6[16], uint32_t v4, const char* form) {
  const AddressClass c6 = ClassifyIpv6(v6);
  const AddressClass c4 = ClassifyIpv4(v4);
  for (bool loopback : {false, true}) {
    FUZZ_CHECK(!Allowed(c6, loopback) || Allowed(c4, loopback),
               "%s address classified %s is allowed (loopback %d) though its IPv4 %u.%u.%u.%u is %s",
               form, std::string(AddressClassName(c6)).c_str(), loopback, v4 >> 24,
               (v4 >> 16) & 255, (v4 >> 8) & 255, v4 & 255,
               std::string(AddressClassName(c4)).c_str());
  }
}

void CheckIpv6(const unsigned char a[16]) {
  const AddressClass c = ClassifyIpv6(a);
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a, kMapped, 12) == 0) {
    FUZZ_CHECK(c == ClassifyIpv4(Ipv4At(a + 12)), "::ffff:x classified unlike x");
  }
  static constexpr unsigned char kZero[12] = {};
  // :: and ::1 are IPv6's own unspecified and loopback addresses, not IPv4-compatible ones.
  if (std::memcmp(a, kZero, 12) == 0 && Ipv4At(a + 12) > 1) {
    CheckNotLaxer(a, Ipv4At(a + 12), "IPv4-compatible");
  }
  if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b) {
    CheckNotLaxer(a, Ipv4At(a + 12), "NAT64");
    // 64:ff9b:1::/48 (RFC 8215) may embed the address at other offsets too.
    for (int offset : {4, 5, 7, 9}) CheckNotLaxer(a, Ipv4At(a + offset), "NAT64 local-use");
  }
  if (a[0] == 0x20 && a[1] == 0x02) CheckNotLaxer(a, Ipv4At(a + 2), "6to4");
  if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x00 && a[3] == 0x00) {
    CheckNotLaxer(a, Ipv4At(a + 4), "Teredo server");
    CheckNotLaxer(a, ~Ipv4At(a + 12), "Teredo client");
  }
  // The text form is what config and logs carry.
  char text[INET6_ADDRSTRLEN];
  FUZZ_CHECK(inet_ntop(AF_INET6, a, text, sizeof(text)) != nullptr, "inet_ntop");
  AddressClass from_text;
  FUZZ_CHECK(ClassifyAddressText(text, &from_text).ok() && from_text == c,
             "text form %s classified differently", text);
}

void Run(const uint8_t* data, size_t size) {
  if (size < 2) return;
  sockaddr_storage storage;
  std::memset(&storage, 0, sizeof(storage));
  const size_t copied = std::min(size - 2, sizeof(storage));
  std::memcpy(&storage, data + 2, copied);
  // Mostly the two real families, sometimes whatever the bytes say.
  if (data[0] < 100) {
    storage.ss_family = AF_INET;
  } else if (data[0] < 200) {
    storage.ss_family = AF_INET6;
  }
  // The length curl reports: usually the family's own, sometimes anything up to the buffer.
  socklen_t length;
  if (data[1] < 128) {
    length = storage.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  } else {
    length = static_cast<socklen_t>((data[1] - 128) * sizeof(storage) / 127);
  }
  // Give the classifier exactly `length` bytes of its own, so ASan sees any read past them.
  unsigned char* exact = new unsigned char[length == 0 ? 1 : length];
  std::memcpy(exact, &storage, length);
  const auto* address = reinterpret_cast<const sockaddr*>(exact);
  const AddressClass c = ClassifySockaddr(length >= sizeof(sa_family_t) ? address : nullptr,
                                          length);

  if (storage.ss_family == AF_INET && length >= sizeof(sockaddr_in)) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
    const uint32_t v4 = ntohl(in->sin_addr.s_addr);
    FUZZ_CHECK(c == ClassifyIpv4(v4), "sockaddr_in classified unlike its address");
    char text[INET_ADDRSTRLEN];
    FUZZ_CHECK(inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text)) != nullptr, "inet_ntop");
    AddressClass from_text;
    FUZZ_CHECK(ClassifyAddressText(text, &from_text).ok() && from_text == c,
               "text form %s classified differently", text);
    // The same address, IPv4-mapped.
    unsigned char mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    std::memcpy(mapped + 12, &in->sin_addr, 4);
    FUZZ_CHECK(ClassifyIpv6(mapped) == c, "::ffff:%s classified unlike %s", text, text);
  } else if (storage.ss_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    FUZZ_CHECK(c == ClassifyIpv6(in6->sin6_addr.s6_addr), "sockaddr_in6 classified unlike its address");
    CheckIpv6(in6->sin6_addr.s6_addr);
  } else {
    FUZZ_CHECK(c == AddressClass::kReserved, "family %d length %u is not reserved",
               storage.ss_family, static_cast<unsigned>(length));
  }
  delete[] exact;

  for (bool loopback : {false, true}) {
    const bool allowed = Allowed(c, loopback);
    FUZZ_CHECK(allowed == (c == AddressClass::kPublic || (loopback && c == AddressClass::kLoopback)),
               "Check(%s) with allow_loopback %d", std::string(AddressClassName(c)).c_str(),
               loopback);
  }
}

}  // namespace
}  // namespace evaluatecode::connectors

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  evaluatecode::connectors::Run(data, size);
  return 0;
}

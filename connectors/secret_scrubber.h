#ifndef EVALUATECODE_CONNECTORS_SECRET_SCRUBBER_H_
#define EVALUATECODE_CONNECTORS_SECRET_SCRUBBER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"

namespace evaluatecode::connectors {

// What replaces a secret in scrubbed text.
inline constexpr absl::string_view kRedacted = "[REDACTED]";

// Removes every form of a set of secrets from text leaving the connector layer: the raw value, its
// URL-escaped forms (upper- and lower-case hex), base64 and base64url of it and of the HTTP Basic
// credentials built from it, and the alignment-independent core of its base64 encoding at each of
// the three byte offsets (so the key is caught inside any larger base64 blob, e.g. a vendor that
// echoes a whole Authorization header or a base64-encoded request dump).
//
// Immutable after construction; thread-safe.
class SecretScrubber {
 public:
  // `secrets`: the raw secret values. `extra_forms`: literal strings that are also secret, e.g. the
  // exact "user:password" pair of HTTP Basic. Values shorter than 4 bytes are ignored (scrubbing
  // them would redact ordinary text); the gateway refuses secrets shorter than 8 bytes.
  explicit SecretScrubber(const std::vector<std::string>& secrets,
                          const std::vector<std::string>& extra_forms = {});

  // `text` with every occurrence of a form replaced by kRedacted.
  std::string Scrub(absl::string_view text) const;
  // Scrubs every string and every object key inside `value`, in place.
  void ScrubValue(google::protobuf::Value* value) const;
  void ScrubStruct(google::protobuf::Struct* value) const;
  // True if `text` contains any form (used by tests and as a last check).
  bool Contains(absl::string_view text) const;

  // The forms searched for, longest first. For tests.
  const std::vector<std::string>& forms() const { return forms_; }

 private:
  std::vector<std::string> forms_;
};

}  // namespace evaluatecode::connectors

#endif  // EVALUATECODE_CONNECTORS_SECRET_SCRUBBER_H_

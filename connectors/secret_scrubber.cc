#include "connectors/secret_scrubber.h"

#include <curl/curl.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

namespace evaluatecode::connectors {
namespace {

constexpr size_t kMinFormBytes = 4;

std::string UrlEscape(absl::string_view text) {
  char* escaped = curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  if (escaped == nullptr) return std::string(text);
  std::string out(escaped);
  curl_free(escaped);
  return out;
}

// The same escape with lower-case hex digits (%2f), which some servers echo back.
std::string LowerHex(const std::string& escaped) {
  std::string out = escaped;
  for (size_t i = 0; i + 2 < out.size(); ++i) {
    if (out[i] == '%') {
      out[i + 1] = absl::ascii_tolower(out[i + 1]);
      out[i + 2] = absl::ascii_tolower(out[i + 2]);
    }
  }
  return out;
}

std::string StripPadding(std::string text) {
  while (!text.empty() && text.back() == '=') text.pop_back();
  return text;
}

// The base64 characters determined by `secret` alone when it starts `offset` bytes into a larger
// buffer: character i encodes bits [6i, 6i+6), so it is kept when all the bytes those bits come
// from belong to the secret.
std::string Base64Core(const std::string& secret, int offset, bool web_safe) {
  const std::string buffer = std::string(offset, '\0') + secret;
  const std::string encoded =
      StripPadding(web_safe ? absl::WebSafeBase64Escape(buffer) : absl::Base64Escape(buffer));
  const size_t end_byte = buffer.size();
  std::string core;
  for (size_t i = 0; i < encoded.size(); ++i) {
    const size_t first_byte = (6 * i) / 8;
    const size_t last_byte = (6 * i + 5) / 8;
    if (first_byte >= static_cast<size_t>(offset) && last_byte < end_byte) core += encoded[i];
  }
  return core;
}

}  // namespace

SecretScrubber::SecretScrubber(const std::vector<std::string>& secrets,
                               const std::vector<std::string>& extra_forms) {
  auto add = [this](std::string form) {
    if (form.size() >= kMinFormBytes) forms_.push_back(std::move(form));
  };
  for (const std::string& extra : extra_forms) {
    if (extra.size() < kMinFormBytes) continue;
    add(extra);
    add(StripPadding(absl::Base64Escape(extra)));
    add(StripPadding(absl::WebSafeBase64Escape(extra)));
    add(UrlEscape(extra));
    // A header value re-encoded by an echoing vendor (base64 of "Basic <base64>") is caught by the
    // cores of the encoded credentials.
    const std::string encoded = absl::Base64Escape(extra);
    for (int offset = 0; offset < 3; ++offset) add(Base64Core(encoded, offset, false));
  }
  for (const std::string& secret : secrets) {
    if (secret.size() < kMinFormBytes) continue;
    add(secret);
    const std::string escaped = UrlEscape(secret);
    add(escaped);
    add(LowerHex(escaped));
    // HTTP Basic with the secret as user name (Sift) or as password.
    for (const std::string& variant : {secret, absl::StrCat(secret, ":"), absl::StrCat(":", secret)}) {
      add(StripPadding(absl::Base64Escape(variant)));
      add(StripPadding(absl::WebSafeBase64Escape(variant)));
    }
    // Cores are shorter than the secret; too short a core would redact innocent base64.
    if (secret.size() >= 6) {
      for (int offset = 0; offset < 3; ++offset) {
        add(Base64Core(secret, offset, /*web_safe=*/false));
        add(Base64Core(secret, offset, /*web_safe=*/true));
      }
    }
  }
  std::sort(forms_.begin(), forms_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  forms_.erase(std::unique(forms_.begin(), forms_.end()), forms_.end());
}

std::string SecretScrubber::Scrub(absl::string_view text) const {
  std::string out(text);
  // Longest first, so a longer form is not half-replaced through a shorter one it contains; repeat
  // until stable in case a replacement joined two halves of a form.
  for (int round = 0; round < 3; ++round) {
    bool changed = false;
    for (const std::string& form : forms_) {
      if (absl::StrContains(out, form)) {
        out = absl::StrReplaceAll(out, {{form, kRedacted}});
        changed = true;
      }
    }
    if (!changed) break;
  }
  return out;
}

bool SecretScrubber::Contains(absl::string_view text) const {
  // Longest first: skip the forms that cannot fit, which for a vendor's short strings (most keys
  // and values of a JSON answer) is all of them.
  auto fits = std::partition_point(forms_.begin(), forms_.end(), [&](const std::string& form) {
    return form.size() > text.size();
  });
  for (; fits != forms_.end(); ++fits) {
    if (absl::StrContains(text, *fits)) return true;
  }
  return false;
}

void SecretScrubber::ScrubStruct(google::protobuf::Struct* value) const {
  if (forms_.empty()) return;
  bool keys_hold_secrets = false;
  for (auto& [key, field] : *value->mutable_fields()) {
    ScrubValue(&field);
    keys_hold_secrets = keys_hold_secrets || Contains(key);
  }
  // A map's keys cannot change in place: rebuild it, only in the rare case that one must.
  if (!keys_hold_secrets) return;
  google::protobuf::Struct scrubbed;
  for (auto& [key, field] : *value->mutable_fields()) {
    (*scrubbed.mutable_fields())[Scrub(key)] = std::move(field);
  }
  *value = std::move(scrubbed);
}

void SecretScrubber::ScrubValue(google::protobuf::Value* value) const {
  if (forms_.empty()) return;
  switch (value->kind_case()) {
    case google::protobuf::Value::kStringValue:
      if (Contains(value->string_value())) value->set_string_value(Scrub(value->string_value()));
      break;
    case google::protobuf::Value::kStructValue:
      ScrubStruct(value->mutable_struct_value());
      break;
    case google::protobuf::Value::kListValue:
      for (google::protobuf::Value& item : *value->mutable_list_value()->mutable_values()) {
        ScrubValue(&item);
      }
      break;
    default:
      break;
  }
}

}  // namespace evaluatecode::connectors

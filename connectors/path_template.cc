#include "connectors/path_template.h"

#include <curl/curl.h>

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace evaluatecode::connectors {
namespace {

bool IsIdentifier(absl::string_view name) {
  if (name.empty() || !(absl::ascii_isalpha(name[0]) || name[0] == '_')) return false;
  for (char c : name) {
    if (!(absl::ascii_isalnum(c) || c == '_')) return false;
  }
  return true;
}

// RFC 3986 pchar plus '/', minus '%' (a literal template needs no escapes).
bool IsLiteralPathChar(char c) {
  if (absl::ascii_isalnum(c)) return true;
  static constexpr absl::string_view kAllowed = "-._~!$&'()*+,;=:@/";
  return kAllowed.find(c) != absl::string_view::npos;
}

}  // namespace

std::string EscapeUrlComponent(absl::string_view text) {
  // Since curl 7.82 the handle argument may be null.
  char* escaped = curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  if (escaped == nullptr) return "";
  std::string out(escaped);
  curl_free(escaped);
  return out;
}

absl::StatusOr<std::vector<std::string>> PathTemplatePlaceholders(absl::string_view path_template) {
  if (path_template.empty() || path_template[0] != '/') {
    return absl::InvalidArgumentError("path must start with '/'");
  }
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (size_t i = 0; i < path_template.size(); ++i) {
    const char c = path_template[i];
    if (c == '{') {
      const size_t close = path_template.find('}', i + 1);
      if (close == absl::string_view::npos) {
        return absl::InvalidArgumentError(absl::StrCat("path: '{' at ", i, " is not closed"));
      }
      std::string name(path_template.substr(i + 1, close - i - 1));
      if (!IsIdentifier(name)) {
        return absl::InvalidArgumentError(
            absl::StrCat("path: placeholder '{", name, "}' is not an identifier"));
      }
      if (!seen.insert(name).second) {
        return absl::InvalidArgumentError(absl::StrCat("path: placeholder '{", name, "}' repeats"));
      }
      names.push_back(std::move(name));
      i = close;
    } else if (c == '}') {
      return absl::InvalidArgumentError(absl::StrCat("path: '}' at ", i, " has no '{'"));
    } else if (!IsLiteralPathChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("path: character '", absl::CHexEscape(std::string(1, c)), "' at ", i,
                       " is not allowed (the query goes in parameters)"));
    }
  }
  return names;
}

absl::StatusOr<std::string> ExpandPathTemplate(
    absl::string_view path_template, const std::map<std::string, std::string>& escaped_values) {
  std::string out;
  size_t i = 0;
  while (i < path_template.size()) {
    const size_t open = path_template.find('{', i);
    if (open == absl::string_view::npos) {
      absl::StrAppend(&out, path_template.substr(i));
      break;
    }
    absl::StrAppend(&out, path_template.substr(i, open - i));
    const size_t close = path_template.find('}', open);
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError("path: '{' is not closed");
    }
    const std::string name(path_template.substr(open + 1, close - open - 1));
    auto it = escaped_values.find(name);
    if (it == escaped_values.end()) {
      return absl::InvalidArgumentError(absl::StrCat("no value for path parameter '", name, "'"));
    }
    absl::StrAppend(&out, it->second);
    i = close + 1;
  }
  return out;
}

}  // namespace evaluatecode::connectors

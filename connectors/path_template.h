#ifndef EVALUATECODE_CONNECTORS_PATH_TEMPLATE_H_
#define EVALUATECODE_CONNECTORS_PATH_TEMPLATE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace evaluatecode::connectors {

// Percent-encodes everything but RFC 3986 unreserved characters (curl_easy_escape), so a value can
// never add a path segment, a query parameter or a fragment.
std::string EscapeUrlComponent(absl::string_view text);

// The `{name}` placeholders of a path template such as "/v205/score/{user_id}", in order.
// kInvalidArgument if the template does not start with '/', has an unbalanced or empty brace, a
// placeholder that is not an identifier, a repeated placeholder, or characters outside RFC 3986's
// path set (including '?' and '#').
absl::StatusOr<std::vector<std::string>> PathTemplatePlaceholders(absl::string_view path_template);

// Substitutes each placeholder with its value from `escaped_values` (already URL-escaped).
// kInvalidArgument if a placeholder has no value.
absl::StatusOr<std::string> ExpandPathTemplate(
    absl::string_view path_template, const std::map<std::string, std::string>& escaped_values);

}  // namespace evaluatecode::connectors

#endif  // EVALUATECODE_CONNECTORS_PATH_TEMPLATE_H_

#ifndef EVALUATECODE_SERVICE_OBSERVABILITY_JSON_WRITER_H_
#define EVALUATECODE_SERVICE_OBSERVABILITY_JSON_WRITER_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace evaluatecode::service::observability {

// Writes one JSON text front to back, without building a tree: the decision record's input is
// rendered straight from its Struct. nlohmann's serializer does the encoding (string escaping,
// invalid UTF-8 replaced by U+FFFD, shortest round-trip doubles); this class only places the
// brackets, colons and commas. The caller keeps the nesting balanced and writes a Key before each
// object member. Not thread-safe.
class JsonWriter {
 public:
  JsonWriter();
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  void Key(absl::string_view key);

  void String(absl::string_view value);
  // NaN and infinities have no JSON form: written as null, as JSON.stringify does.
  void Double(double value);
  void Int(int64_t value);
  void Uint(uint64_t value);
  void Bool(bool value);
  void Null();

  // The text written so far; the writer is empty afterwards (and allocates anew when reused).
  std::string Take();

 private:
  // The comma before a value, unless it opens its container or follows its key.
  void BeforeValue();
  void Open(char bracket);
  void Close(char bracket);
  void Dump(const nlohmann::json& scalar);

  std::string out_;
  // Whether the next value opens its container (or the text): no comma before it.
  bool first_ = true;
  bool after_key_ = false;
  // Reused for every scalar so that writing one allocates nothing once warm.
  nlohmann::json string_;
  nlohmann::json double_;
  nlohmann::json int_;
  nlohmann::json uint_;
  nlohmann::detail::serializer<nlohmann::json> serializer_;
};

}  // namespace evaluatecode::service::observability

#endif  // EVALUATECODE_SERVICE_OBSERVABILITY_JSON_WRITER_H_

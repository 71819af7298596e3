// Fuzz target: WireStruct::Read (common/wire_struct.h), the service's own reader of a request's
// input bytes, with arbitrary bytes as a serialized google.protobuf.Struct.
//
// Properties:
// - It never crashes or reads outside the bytes (ASan under --config=fuzz).
// - Whatever it accepts, protobuf parses, to the same Struct (tests/testing/wire_struct_reference.h).
#include <cstddef>
#include <cstdint>
#include <string>

#include "google/protobuf/stubs/logging.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/testing/wire_struct_reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // protobuf logs every string it refuses as invalid UTF-8: not findings.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  using evaluatecode::testing::WireStructVerdict;
  const WireStructVerdict verdict = evaluatecode::testing::JudgeWireStructRead(bytes);
  FUZZ_CHECK(verdict != WireStructVerdict::kProtobufRefuses,
             "Read accepted %zu bytes that protobuf does not parse", size);
  FUZZ_CHECK(verdict != WireStructVerdict::kDiffers,
             "Read accepted %zu bytes as another Struct than protobuf's", size);
  return 0;
}

#ifndef EVALUATECODE_TESTS_TESTING_WIRE_STRUCT_REFERENCE_H_
#define EVALUATECODE_TESTS_TESTING_WIRE_STRUCT_REFERENCE_H_

#include <string>

namespace evaluatecode::testing {

// What WireStruct::Read (common/wire_struct.h) makes of some bytes, judged by protobuf's own parse
// of them as a google.protobuf.Struct: the contract is that it declines, or reads what protobuf
// reads. Trees are compared as protobuf's deterministic serialization (NaN and -0 included), every
// null spelled NULL_VALUE (a Value without a field, or whose null_value has another number, is null
// all the same).
enum class WireStructVerdict {
  kDeclined,        // Read declined
  kAsProtobuf,      // Read accepted, and protobuf parses the same Struct
  kProtobufRefuses, // Read accepted what protobuf does not parse: a bug
  kDiffers,         // Read accepted, protobuf parses something else: a bug
};
WireStructVerdict JudgeWireStructRead(const std::string& bytes);

}  // namespace evaluatecode::testing

#endif  // EVALUATECODE_TESTS_TESTING_WIRE_STRUCT_REFERENCE_H_

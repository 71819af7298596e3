#ifndef EVALUATECODE_SERVICE_SERIALIZED_ANSWERS_H_
#define EVALUATECODE_SERVICE_SERIALIZED_ANSWERS_H_

#include <string>
#include <vector>

#include "evaluate/v1/evaluate.pb.h"
#include "google/protobuf/struct.pb.h"

namespace evaluatecode::service {

// The vendor answers an EvaluateCode response carries in its connector call records, each
// serialized once, when it is recorded: the sandbox worker is sent those bytes, and the reply
// carries them too, where protobuf would serialize each answer again (the largest part of an
// I/O-bound reply). Thread-compatible: an evaluation records its calls one after the other, and
// its reply is serialized after the last.
class SerializedAnswers {
 public:
  // `record` holds, as its `response`, the answer that `bytes` serialize. Both must outlive
  // MoveIntoRecords (they live on the call's arena).
  void Add(evaluate::v1::ConnectorCall& record, const std::string& bytes);

  // Gives each record that still holds its answer the answer's bytes instead: the parsed answer
  // is let go (its owner, the arena, frees it) and the bytes kept as the record's unknown field 9,
  // which protobuf writes as they are, after the known fields. `response` is field 9 and the
  // record's last, so the reply's bytes are what serializing the answers would have made. For
  // the reply only: the records read as having no response afterwards.
  void MoveIntoRecords();

 private:
  struct Answer {
    evaluate::v1::ConnectorCall* record;
    const google::protobuf::Value* value;
    const std::string* bytes;
  };
  std::vector<Answer> answers_;
};

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_SERIALIZED_ANSWERS_H_

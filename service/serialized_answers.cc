#include "service/serialized_answers.h"

#include "google/protobuf/message.h"
#include "google/protobuf/unknown_field_set.h"

namespace evaluatecode::service {

void SerializedAnswers::Add(evaluate::v1::ConnectorCall& record, const std::string& bytes) {
  answers_.push_back(Answer{&record, &record.response(), &bytes});
}

void SerializedAnswers::MoveIntoRecords() {
  for (const Answer& answer : answers_) {
    // A record whose answer was cleared or replaced since is left as it is.
    if (!answer.record->has_response() || &answer.record->response() != answer.value) continue;
    answer.record->unsafe_arena_release_response();
    answer.record->GetReflection()->MutableUnknownFields(answer.record)->AddLengthDelimited(
        evaluate::v1::ConnectorCall::kResponseFieldNumber, *answer.bytes);
  }
  answers_.clear();
}

}  // namespace evaluatecode::service

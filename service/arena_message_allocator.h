#ifndef EVALUATECODE_SERVICE_ARENA_MESSAGE_ALLOCATOR_H_
#define EVALUATECODE_SERVICE_ARENA_MESSAGE_ALLOCATOR_H_

#include "common/inline_arena.h"
#include "google/protobuf/arena.h"
#include "grpcpp/support/message_allocator.h"

namespace evaluatecode::service {

// Gives each unary call a request and a response on one protobuf Arena that starts in a block
// inside the holder (see common/inline_arena.h): parsing the input is pointer bumps, and the call's
// end frees a few blocks at once. Thread-safe: every call gets its own holder.
template <typename Request, typename Response>
class ArenaMessageAllocator final : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override { return new Holder(); }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() {
      this->set_request(google::protobuf::Arena::CreateMessage<Request>(arena_.get()));
      this->set_response(google::protobuf::Arena::CreateMessage<Response>(arena_.get()));
    }
    // gRPC calls this once, after the reactor's OnDone.
    void Release() override { delete this; }

   private:
    InlineArena<> arena_;
  };
};

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_ARENA_MESSAGE_ALLOCATOR_H_

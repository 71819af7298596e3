#ifndef EVALUATECODE_SERVICE_ARENA_MESSAGE_ALLOCATOR_H_
#define EVALUATECODE_SERVICE_ARENA_MESSAGE_ALLOCATOR_H_

#include <cstddef>

#include "google/protobuf/arena.h"
#include "grpcpp/support/message_allocator.h"

namespace evaluatecode::service {

// Gives each unary call a request and a response on one protobuf Arena that starts in a block
// inside the holder. The input Struct is a protobuf map per object level: parsed on the heap, its
// allocations and their frees were ≈ 27 % of the server's CPU per W1 evaluation (BENCHMARKS.md,
// "Profile"); on an arena parsing is pointer bumps and the call's end frees a few blocks at once.
// Thread-safe: every call gets its own holder.
template <typename Request, typename Response>
class ArenaMessageAllocator final : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override { return new Holder(); }

 private:
  // Large enough for a typical workflow input and its reply without a second block.
  static constexpr std::size_t kInitialBlockBytes = 16 * 1024;

  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() : arena_(Options(initial_block_)) {
      this->set_request(google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(google::protobuf::Arena::CreateMessage<Response>(&arena_));
    }
    // gRPC calls this once, after the reactor's OnDone.
    void Release() override { delete this; }

   private:
    static google::protobuf::ArenaOptions Options(char* block) {
      google::protobuf::ArenaOptions options;
      options.initial_block = block;
      options.initial_block_size = kInitialBlockBytes;
      return options;
    }

    // Declared before the arena, which is built on it and destroyed first.
    alignas(std::max_align_t) char initial_block_[kInitialBlockBytes];
    google::protobuf::Arena arena_;
  };
};

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_ARENA_MESSAGE_ALLOCATOR_H_

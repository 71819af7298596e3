#ifndef EVALUATECODE_COMMON_INLINE_ARENA_H_
#define EVALUATECODE_COMMON_INLINE_ARENA_H_

#include <cstddef>

#include "google/protobuf/arena.h"

namespace evaluatecode {

// A protobuf Arena whose first block lives inside this object (on the stack, or inside whatever
// holds it), so that a message of up to `kFirstBlockBytes` costs no heap allocation at all. A
// workflow input is a protobuf map per object level: allocated and freed node by node, it cost
// more than evaluating a small script, on both sides of the worker boundary.
template <std::size_t kFirstBlockBytes = 16 * 1024>
class InlineArena {
 public:
  InlineArena() : arena_(Options(first_block_)) {}
  InlineArena(const InlineArena&) = delete;
  InlineArena& operator=(const InlineArena&) = delete;

  google::protobuf::Arena* get() { return &arena_; }

 private:
  static google::protobuf::ArenaOptions Options(char* block) {
    google::protobuf::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = kFirstBlockBytes;
    return options;
  }

  // Declared before the arena, which is built on it and destroyed first.
  alignas(std::max_align_t) char first_block_[kFirstBlockBytes];
  google::protobuf::Arena arena_;
};

}  // namespace evaluatecode

#endif  // EVALUATECODE_COMMON_INLINE_ARENA_H_

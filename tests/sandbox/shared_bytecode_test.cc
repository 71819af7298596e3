#include "sandbox/shared_bytecode.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace evaluatecode::sandbox {
namespace {

TEST(SharedBytecodeTest, ReadsBackWhatWasWrittenByPositionAndRefusesWrites) {
  std::string bytecode(3 << 20, '\0');
  for (size_t i = 0; i < bytecode.size(); ++i) bytecode[i] = static_cast<char>(i * 7);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SharedBytecode> shared, SharedBytecode::Create(bytecode));
  // As a worker gets it: a descriptor whose offset other workers share (here: moved to the end).
  const int inherited = dup(shared->fd());
  ASSERT_GE(inherited, 0);
  ASSERT_OK_AND_ASSIGN(std::string read, ReadSharedBytecode(inherited));
  EXPECT_EQ(read, bytecode);
  ASSERT_OK_AND_ASSIGN(std::string again, ReadSharedBytecode(inherited));
  EXPECT_EQ(again, bytecode);
  // Sealed: a worker cannot change what the next one loads.
  EXPECT_EQ(pwrite(inherited, "x", 1, 0), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(ftruncate(inherited, 1), -1);
  errno = 0;
  EXPECT_EQ(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, inherited, 0), MAP_FAILED);
  EXPECT_EQ(errno, EPERM);
  // Nor can it lift the seals.
  EXPECT_EQ(fcntl(inherited, F_ADD_SEALS, 0), -1);
  EXPECT_EQ(errno, EPERM);
  // And a read-only shared mapping cannot be made writable afterwards.
  void* mapped = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, inherited, 0);
  ASSERT_NE(mapped, MAP_FAILED);
  EXPECT_EQ(mprotect(mapped, 4096, PROT_READ | PROT_WRITE), -1);
  EXPECT_EQ(errno, EACCES);
  munmap(mapped, 4096);
  EXPECT_EQ(fcntl(shared->fd(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  close(inherited);
}

}  // namespace
}  // namespace evaluatecode::sandbox

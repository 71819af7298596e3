// A sandbox worker that breaks its channel on cue, for the supervisor's channel-fault tests
// (worker_channel_fault_test.cc). It speaks the real protocol (framed_channel, worker_messages) on
// file descriptor 3 and runs ES5 scripts in an in-process sandbox, answering evaluations only (the
// tests send nothing else). A script whose source contains "FAULT:<name>" gets that fault instead
// of, or around, its answer:
//
//   close_channel         close the channel and stay alive
//   garbage_frame         a frame whose bytes do not parse
//   empty_reply           a well-formed final reply for the request carrying no result
//   oversized_frame       a length prefix over the frame cap
//   truncated_frame       a length prefix of 1000 bytes followed by 10, then nothing
//   truncated_header      2 of the 4 length bytes, then nothing
//   unknown_id            the answer under another request's id, and never under the right one
//   duplicate_reply       the answer twice, in one write
//   late_duplicate_reply  the answer, then the same answer again 100 ms later
//   stop_reading          shut the channel for reading, then answer (the next request cannot be
//                         written)
//   exit_after_reply      shut the channel for reading, answer, exit
//   ignore_channel        answer, then never read again, the channel left open (the next
//                         request can be written only as far as the socket's buffer holds)
//   late_reply            no fault: the answer, late (a short run that holds the worker)
//
// Each fault comes kFaultDelay after the request, so that the test can queue a second evaluation
// behind this one. A worker that stays alive after its fault waits to be killed; it also dies with
// its parent.
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>

#include "absl/time/clock.h"
#include "common/time_source.h"
#include "sandbox/framed_channel.h"
#include "sandbox/in_process_sandbox.h"
#include "sandbox/worker_messages.h"

namespace evaluatecode::sandbox {
namespace {

constexpr int kChannelFd = 3;
constexpr absl::Duration kFaultDelay = absl::Milliseconds(100);

[[noreturn]] void AwaitKill() {
  for (;;) pause();
}

void WriteRaw(const std::string& bytes) {
  if (write(kChannelFd, bytes.data(), bytes.size()) < 0) std::perror("faulty worker: write");
}

ipc::FromWorker Answer(Sandbox& sandbox, const ipc::ToWorker& request) {
  return ToReply(request.id(), sandbox.Evaluate(FromMessage(request.evaluate())));
}

// A frame as WriteFrame makes it, for writing several in one go.
std::string Frame(const ipc::FromWorker& message) {
  const std::string payload = message.SerializeAsString();
  std::string frame(4, '\0');
  for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>((payload.size() >> (8 * i)) & 0xff);
  return frame + payload;
}

// Serves `request`, misbehaving as its source asks. Returns false when the channel is gone.
bool Serve(Sandbox& sandbox, const ipc::ToWorker& request) {
  const std::string& source = request.evaluate().source();
  const size_t marker = source.find("FAULT:");
  if (marker == std::string::npos) return WriteFrame(kChannelFd, Answer(sandbox, request)).ok();
  const size_t name = marker + 6;
  const std::string fault = source.substr(name, source.find_first_of(" \n", name) - name);

  absl::SleepFor(kFaultDelay);
  if (fault == "late_reply") return WriteFrame(kChannelFd, Answer(sandbox, request)).ok();
  if (fault == "duplicate_reply") {
    // One write, so that both are there when the supervisor reads the first.
    const std::string frame = Frame(Answer(sandbox, request));
    WriteRaw(frame + frame);
    return true;
  }
  if (fault == "late_duplicate_reply") {
    const ipc::FromWorker reply = Answer(sandbox, request);
    if (!WriteFrame(kChannelFd, reply).ok()) return false;
    absl::SleepFor(absl::Milliseconds(100));
    return WriteFrame(kChannelFd, reply).ok();
  }
  if (fault == "ignore_channel") {
    WriteFrame(kChannelFd, Answer(sandbox, request)).IgnoreError();
  } else if (fault == "stop_reading" || fault == "exit_after_reply") {
    // Before the answer, so that the supervisor cannot write the next request in between.
    shutdown(kChannelFd, SHUT_RD);
    WriteFrame(kChannelFd, Answer(sandbox, request)).IgnoreError();
    if (fault == "exit_after_reply") _exit(0);
  } else if (fault == "close_channel") {
    close(kChannelFd);
  } else if (fault == "garbage_frame") {
    // Length 8, then a tag varint that never ends.
    WriteRaw(std::string("\x08\x00\x00\x00", 4) + std::string(8, '\xff'));
  } else if (fault == "empty_reply") {
    ipc::FromWorker reply;
    reply.set_id(request.id());
    WriteFrame(kChannelFd, reply).IgnoreError();
  } else if (fault == "oversized_frame") {
    WriteRaw("\xff\xff\xff\xff");
  } else if (fault == "truncated_frame") {
    WriteRaw(std::string("\xe8\x03\x00\x00", 4) + std::string(10, 'x'));
  } else if (fault == "truncated_header") {
    WriteRaw(std::string("\xe8\x03", 2));
  } else if (fault == "unknown_id") {
    ipc::FromWorker reply = Answer(sandbox, request);
    reply.set_id(request.id() + 1000);
    WriteFrame(kChannelFd, reply).IgnoreError();
  } else {
    std::fprintf(stderr, "faulty worker: unknown fault '%s'\n", fault.c_str());
    _exit(4);
  }
  AwaitKill();
}

int Run() {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  RealTimeSource time_source;
  InProcessSandboxOptions options;
  options.engine.time_source = &time_source;
  absl::StatusOr<std::unique_ptr<Sandbox>> sandbox = NewInProcessSandbox(options);
  if (!sandbox.ok()) {
    std::fprintf(stderr, "faulty worker: %s\n", sandbox.status().ToString().c_str());
    return 2;
  }
  if (!WriteFrame(kChannelFd, ipc::FromWorker()).ok()) return 0;
  for (;;) {
    ipc::ToWorker request;
    if (!ReadFrame(kChannelFd, &request).ok()) return 0;
    if (request.has_evaluate() && !Serve(**sandbox, request)) return 0;
  }
}

}  // namespace
}  // namespace evaluatecode::sandbox

int main() { return evaluatecode::sandbox::Run(); }

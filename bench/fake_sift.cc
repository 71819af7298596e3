// fake_sift: a Sift-style vendor on a loopback port for the I/O-bound workload (bench/run).
// Answers Sift v205 score requests (tests/testing/connectors/fake_vendor.h, SiftHandler: score 0.93)
// after a fixed latency. Prints {"type":"listening","port":N} on stdout, then serves until SIGTERM,
// SIGINT, or --max_lifetime, whichever comes first: it always stops by itself.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/testing/connectors/fake_vendor.h"

ABSL_FLAG(std::string, api_key_file, "", "File holding the API key the vendor expects (required).");
ABSL_FLAG(absl::Duration, latency, absl::Milliseconds(50), "Delay before each answer.");
ABSL_FLAG(absl::Duration, max_lifetime, absl::Minutes(15), "Exit after this long regardless.");

int main(int argc, char** argv) {
  // Off, as in the server (service/main.cc): this process shares the cores with the server it
  // measures, and the lock graph cost it ≈ 2 % of its CPU under W3.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::ParseCommandLine(argc, argv);
  std::ifstream file(absl::GetFlag(FLAGS_api_key_file));
  if (!file) {
    std::fprintf(stderr, "fake_sift: --api_key_file is required and must be readable\n");
    return 2;
  }
  std::stringstream key;
  key << file.rdbuf();
  const std::string api_key(absl::StripAsciiWhitespace(key.str()));

  // Block the stop signals before FakeVendor starts its threads, so only sigtimedwait sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  const absl::Duration latency = absl::GetFlag(FLAGS_latency);
  evaluatecode::testing::FakeVendor::Handler sift = evaluatecode::testing::SiftHandler(api_key);
  evaluatecode::testing::FakeVendor vendor(
      [sift, latency](const evaluatecode::testing::VendorRequest& request) {
        evaluatecode::testing::VendorResponse response = sift(request);
        response.delay = latency;
        return response;
      });
  std::printf("{\"type\":\"listening\",\"port\":%d}\n", vendor.port());
  std::fflush(stdout);

  const timespec wait = absl::ToTimespec(absl::GetFlag(FLAGS_max_lifetime));
  sigtimedwait(&stop, nullptr, &wait);
  std::fprintf(stderr, "fake_sift: stopping after %d requests\n", vendor.request_count());
  return 0;
}

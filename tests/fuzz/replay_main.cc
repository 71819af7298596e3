// A main() for fuzz targets built without libFuzzer (the normal gcc build): runs every corpus input
// once, then feeds pseudo-random mutations of them to LLVMFuzzerTestOneInput until the time budget
// is spent. It takes the libFuzzer flags the scripts use (-max_total_time, -max_len, -seed, -runs;
// others are ignored) and files or directories, so tests/fuzz/smoke_test.sh drives either kind of
// binary the same way. It has no coverage feedback and no sanitizers: that is what the libFuzzer
// build (--config=fuzz, tests/fuzz/run.sh) is for. A failing input is written to crash-<n> in
// $TEST_UNDECLARED_OUTPUTS_DIR (or the working directory) before the process dies.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) __attribute__((weak));

namespace {

// The input being run, for the crash handler (which may only use async-signal-safe calls).
const std::string* current_input = nullptr;
char crash_path[4096];

void OnFatalSignal(int signal_number) {
  if (current_input != nullptr) {
    const int fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      const char* data = current_input->data();
      size_t left = current_input->size();
      while (left > 0) {
        const ssize_t n = write(fd, data, left);
        if (n <= 0) break;
        data += n;
        left -= static_cast<size_t>(n);
      }
      close(fd);
      static const char kMessage[] = "replay: the failing input was written to ";
      (void)!write(2, kMessage, sizeof(kMessage) - 1);
      (void)!write(2, crash_path, strlen(crash_path));
      (void)!write(2, "\n", 1);
    }
  }
  signal(signal_number, SIG_DFL);
  raise(signal_number);
}

void AddFile(const std::string& path, std::vector<std::string>* corpus) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream data;
  data << file.rdbuf();
  corpus->push_back(data.str());
}

void AddPath(const std::string& path, std::vector<std::string>* corpus) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
    std::exit(2);
  }
  if (!S_ISDIR(st.st_mode)) return AddFile(path, corpus);
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return;
  std::vector<std::string> names;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') names.push_back(entry->d_name);
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) AddPath(path + "/" + name, corpus);
}

// One to four random edits of the kinds libFuzzer's mutators make, including splices of corpus
// entries, so structure from the seeds (keywords, JSON punctuation, YAML keys) survives.
std::string Mutate(const std::vector<std::string>& corpus, std::mt19937_64& rng, size_t max_len) {
  std::string out = corpus.empty() ? std::string() : corpus[rng() % corpus.size()];
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < edits; ++i) {
    const size_t pos = out.empty() ? 0 : rng() % (out.size() + 1);
    switch (rng() % 7) {
      case 0:  // flip a bit
        if (!out.empty()) out[pos % out.size()] ^= static_cast<char>(1 << (rng() % 8));
        break;
      case 1:  // set a random byte
        if (!out.empty()) out[pos % out.size()] = static_cast<char>(rng());
        break;
      case 2:  // insert random bytes
        out.insert(pos, std::string(1 + rng() % 8, static_cast<char>(rng())));
        break;
      case 3:  // erase a range
        if (!out.empty()) out.erase(pos % out.size(), 1 + rng() % 16);
        break;
      case 4: {  // duplicate a range
        if (out.empty()) break;
        const size_t from = rng() % out.size();
        out.insert(pos, out.substr(from, 1 + rng() % 32));
        break;
      }
      case 5: {  // splice in a piece of another corpus entry
        if (corpus.empty()) break;
        const std::string& other = corpus[rng() % corpus.size()];
        if (other.empty()) break;
        const size_t from = rng() % other.size();
        out.insert(pos, other.substr(from, 1 + rng() % 64));
        break;
      }
      case 6:  // an interesting ASCII character (delimiters, quotes, digits)
        out.insert(pos, 1, "{}[]()\"':,;.-+*/\\\n 0123456789eE"[rng() % 32]);
        break;
    }
  }
  if (out.size() > max_len) out.resize(max_len);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  double max_total_time = 10;
  size_t max_len = 4096;
  uint64_t seed = 1;
  long runs = -1;
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("-max_total_time=", 0) == 0) {
      max_total_time = std::atof(arg.c_str() + 16);
    } else if (arg.rfind("-max_len=", 0) == 0) {
      max_len = std::strtoul(arg.c_str() + 9, nullptr, 10);
    } else if (arg.rfind("-seed=", 0) == 0) {
      seed = std::strtoull(arg.c_str() + 6, nullptr, 10);
    } else if (arg.rfind("-runs=", 0) == 0) {
      runs = std::atol(arg.c_str() + 6);
    } else if (arg[0] == '-') {
      // Another libFuzzer flag (-timeout, -rss_limit_mb, …): meaningless here.
    } else {
      AddPath(arg, &corpus);
    }
  }
  const char* out_dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  std::snprintf(crash_path, sizeof(crash_path), "%s/crash-%d", out_dir ? out_dir : ".",
                static_cast<int>(getpid()));
  for (int s : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) signal(s, OnFatalSignal);

  const auto start = std::chrono::steady_clock::now();
  long executions = 0;
  for (const std::string& input : corpus) {
    current_input = &input;
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
    ++executions;
  }
  std::fprintf(stderr, "replay: %zu corpus inputs passed\n", corpus.size());
  std::mt19937_64 rng(seed);
  const auto budget = std::chrono::duration<double>(max_total_time);
  while (std::chrono::steady_clock::now() - start < budget && (runs < 0 || executions < runs)) {
    const std::string input = Mutate(corpus, rng, max_len);
    current_input = &input;
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
    current_input = nullptr;
    ++executions;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "replay: %ld executions in %.1f s (seed %llu), no failure\n", executions,
               seconds, static_cast<unsigned long long>(seed));
  return 0;
}

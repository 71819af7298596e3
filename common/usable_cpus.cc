#include "common/usable_cpus.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/cpu_affinity.h"

namespace evaluatecode {
namespace {

// The file's text; empty when it cannot be read (no such cgroup version, no controller).
std::string ReadSmallFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

std::optional<int> CpusInCfsQuota(absl::string_view quota_us, absl::string_view period_us) {
  int64_t quota = 0;
  int64_t period = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(quota_us), &quota) ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(period_us), &period) || quota <= 0 ||
      period <= 0) {
    return std::nullopt;
  }
  // Capped, so that an absurd quota cannot overflow an int: it limits nothing.
  return static_cast<int>(std::min<int64_t>((quota + period - 1) / period, 1 << 20));
}

// cpu.max holds the same two numbers as v1's pair of files, on one line.
std::optional<int> CpusInCpuMax(absl::string_view cpu_max) {
  const std::vector<absl::string_view> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(cpu_max), ' ', absl::SkipEmpty());
  if (fields.size() != 2) return std::nullopt;
  return CpusInCfsQuota(fields[0], fields[1]);
}

int UsableCpuCount(const std::string& cgroup_root) {
  const absl::StatusOr<std::vector<int>> allowed = AllowedCpus();
  int cpus = allowed.ok() && !allowed->empty()
                 ? static_cast<int>(allowed->size())
                 : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::optional<int> quota = CpusInCpuMax(ReadSmallFile(cgroup_root + "/cpu.max"));
  if (!quota.has_value()) {
    quota = CpusInCfsQuota(ReadSmallFile(cgroup_root + "/cpu/cpu.cfs_quota_us"),
                           ReadSmallFile(cgroup_root + "/cpu/cpu.cfs_period_us"));
  }
  if (quota.has_value()) cpus = std::min(cpus, *quota);
  return std::max(1, cpus);
}

}  // namespace evaluatecode

#!/usr/bin/env bash
# Builds one fuzz target (or all) with libFuzzer + ASan/UBSan and runs it for SECONDS over a scratch
# copy of its committed corpus (the repository is never written). New inputs, crashes and the log
# stay in the work directory, whose path is printed; a failure makes the script exit non-zero.
#
# Usage: tests/fuzz/run.sh TARGET|all SECONDS [extra libFuzzer flags...]
#   TARGET: script bridge config connectors_config connector_response egress validator wire_struct
# Reproduce a finding: tests/fuzz/run.sh TARGET 0 path/to/crash-input   (runs just that input)
# Environment: FUZZ_WORK_DIR (default: a new /tmp/evaluatecode-fuzz.XXXXXX), FUZZ_JOBS (parallel
# libFuzzer jobs per target, default 1).
set -euo pipefail
cd "$(dirname "$0")/../.."
all_targets=(script bridge config connectors_config connector_response egress validator wire_struct)
if [ $# -lt 2 ]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
target=$1 seconds=$2
shift 2
if [ "$target" = all ]; then targets=("${all_targets[@]}"); else targets=("$target"); fi

declare -A max_len=([script]=4096 [bridge]=16384 [config]=8192 [connectors_config]=8192
                    [connector_response]=16384 [egress]=160 [validator]=4096
                    [wire_struct]=4096)
declare -A dict=([bridge]=$PWD/tests/fuzz/bridge.dict [config]=$PWD/tests/fuzz/yaml.dict
                 [connectors_config]=$PWD/tests/fuzz/yaml.dict)

labels=()
for t in "${targets[@]}"; do labels+=("${t}_fuzzer"); done
bin_dir=$(tests/fuzz/build.sh "${labels[@]}")
work=${FUZZ_WORK_DIR:-$(mktemp -d /tmp/evaluatecode-fuzz.XXXXXX)}
echo "fuzz: work directory $work" >&2

status=0
for t in "${targets[@]}"; do
  [ -n "${max_len[$t]:-}" ] || { echo "fuzz: unknown target '$t'" >&2; exit 2; }
  dir="$work/$t"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -r "tests/fuzz/corpus/$t/." "$dir/corpus/"
  flags=("-max_len=${max_len[$t]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
         "-artifact_prefix=$dir/artifacts/")
  [ -z "${dict[$t]:-}" ] || flags+=("-dict=${dict[$t]}")
  if [ "$seconds" = 0 ] && [ $# -gt 0 ]; then
    # Reproduce: run the given inputs once each.
    "$bin_dir/${t}_fuzzer" "${flags[@]}" "$@" || status=$?
    continue
  fi
  jobs=${FUZZ_JOBS:-1}
  echo "fuzz: $t for ${seconds}s x $jobs job(s), log $dir/log" >&2
  if [ "$jobs" -gt 1 ]; then
    flags+=("-jobs=$jobs" "-workers=$jobs")
  fi
  (cd "$dir" && "$bin_dir/${t}_fuzzer" "${flags[@]}" "-max_total_time=$seconds" "$@" \
      corpus > log 2>&1) || { status=1; echo "fuzz: $t FAILED (see $dir/log, $dir/artifacts)" >&2; }
  grep -h -E "^#[0-9]+.*(DONE|pulse|NEW)|stat::|SUMMARY|FUZZ_CHECK" "$dir"/log "$dir"/fuzz-*.log 2>/dev/null |
    grep -E "DONE|stat::|SUMMARY|FUZZ_CHECK" | tail -12 >&2 || true
done
exit $status

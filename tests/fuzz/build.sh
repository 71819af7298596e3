#!/usr/bin/env bash
# Builds the libFuzzer + ASan/UBSan fuzz targets (tests/fuzz/BUILD.bazel) with clang, in a Bazel
# output base of their own so the gcc build's cache and server are left alone, and prints the
# directory that holds the binaries. Usage: tests/fuzz/build.sh [TARGET...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/../.."
output_base=${EVALUATECODE_FUZZ_OUTPUT_BASE:-$HOME/.cache/evaluatecode-fuzz/$(pwd | md5sum | cut -c1-12)}
mkdir -p "$output_base"
targets=()
for t in "${@:-all}"; do
  if [ "$t" = all ]; then
    targets+=(//tests/fuzz:all)
  else
    targets+=("//tests/fuzz:$t")
  fi
done
bazel --output_base="$output_base" build --config=fuzz "${targets[@]}" >&2
bazel --output_base="$output_base" info --config=fuzz bazel-bin 2>/dev/null | sed 's|$|/tests/fuzz|'

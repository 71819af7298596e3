#!/usr/bin/env bash
# Runs one fuzz target for a bounded time over a scratch copy of its committed corpus.
# Usage: smoke_test.sh BINARY CORPUS_DIR SECONDS MAX_LEN
# BINARY is either kind (tests/fuzz/BUILD.bazel): the replay driver of the normal build, or the
# libFuzzer + ASan/UBSan binary of --config=fuzz; both take the same flags. Exits non-zero on a crash,
# a sanitizer report or a broken property, leaving the input in $TEST_UNDECLARED_OUTPUTS_DIR.
set -euo pipefail
binary=$1 corpus=$2 seconds=$3 max_len=$4
scratch=$(mktemp -d "${TEST_TMPDIR:-/tmp}/fuzz-corpus.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
cp -r "$corpus"/. "$scratch"/
artifacts=${TEST_UNDECLARED_OUTPUTS_DIR:-$scratch}
mkdir -p "$artifacts"
# Only the end of the output reaches the test log (that is where a crash report is): a target that
# logs per input would otherwise write gigabytes in a minute.
"$binary" "-max_total_time=$seconds" "-max_len=$max_len" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 "-artifact_prefix=$artifacts/" "$scratch" 2>&1 | tail -c 1000000

#!/usr/bin/env bash
# Runs `bench/run --quick` on this test's runfiles (nothing built, nothing written outside
# TEST_TMPDIR) and checks that every workload answered right and the table came out.
set -euo pipefail

runfiles="$TEST_SRCDIR/evaluatecode"
# The Node peer needs the workspace's node_modules (tools/setup): found through a runfile's link.
workspace=$(dirname "$(dirname "$(readlink -f "$runfiles/bench/suite.py")")")
[ -d "$workspace/node_modules/@grpc/grpc-js" ] ||
  { echo "@grpc/grpc-js not found under $workspace/node_modules: run tools/setup"; exit 1; }

cd "$runfiles"
out="$TEST_TMPDIR/bench"
table=$(BENCH_BIN_DIR="$runfiles" BENCH_SRC_DIR="$runfiles" BENCH_OUT_DIR="$out" \
  BENCH_NODE_MODULES="$workspace/node_modules" bench/run --quick)
echo "$table"

failures=0
expect() {  # expect NAME PYTHON-CONDITION (on `r`, the results JSON)
  if python3 -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" \
      "$out/quick-results.json"; then
    echo "ok: $1"
  else
    echo "FAIL: $1"; failures=$((failures + 1))
  fi
}
for run in echo_c16 light_c16 light_c1 peer_echo_c16 peer_light_c16 heavy_c16 peer_heavy_c16 \
    compile_first_c1 compile_first_c2 compile_cached_c1 light_40_tenants io_c16 io_c1000 \
    light_in_process_c16 light_pinned_c16 light_pinned_c1; do
  expect "$run answered and every answer was checked" \
    "r['runs']['$run']['ok'] > 0 and 'RESULT_MISMATCH' not in r['runs']['$run']['errors_by_code']"
done
expect "h2load cross-check ran" "r['h2load'] and r['h2load']['succeeded'] > 0"
expect "RSS was sampled" "r['memory']['idle']['server_rss_mib'] > 0 and r['memory']['idle']['workers'] > 0"
expect "micro-benchmarks were folded in" "r['micro_us']['cache'].get('BM_ScriptCacheHit/0', 0) > 0"
grep -q '| W1 CPU-light' <<<"$table" || { echo "FAIL: no targets table"; failures=$((failures + 1)); }
[ "$failures" -eq 0 ]

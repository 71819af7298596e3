#!/usr/bin/env bash
# evalctl as script authors use it: every example runs with its fixtures and decides as expected;
# `evalctl run` prints what the server answers for the same script and input (compared with
# `evalctl call` against the real server); `check` reports positions; `types` declares connectors.
set -euo pipefail

runfiles="$TEST_SRCDIR/evaluatecode"
evalctl="$runfiles/tools/evalctl/evalctl"
examples="$runfiles/examples"
failures=0
expect() {  # expect NAME ACTUAL EXPECTED
  if [ "$2" = "$3" ]; then echo "ok: $1"; else echo "FAIL: $1: got '$2', want '$3'"; failures=$((failures + 1)); fi
}
outcome() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("decision",{}).get("outcome") or d.get("code"))'; }

while read -r script input fixtures want; do
  args=(run "$examples/$script" --input "$examples/inputs/$input")
  [ "$fixtures" != "-" ] && args+=(--fixtures "$examples/fixtures/$fixtures")
  got=$("$evalctl" "${args[@]}" | outcome || true)
  expect "$script on $input" "$got" "$want"
done <<'CASES'
document-selfie-decision.js clean-approve.json - APPROVE
document-selfie-decision.js selfie-mismatch.json - REVIEW
document-selfie-decision.js watchlist-hit.json - DECLINE
sift-score-decision.ts watchlist-hit.json sift-high.json DECLINE
sift-score-decision.ts clean-approve.json sift-low.json APPROVE
vendor-http-lookup.js clean-approve.json acme-person.json APPROVE
vendor-http-lookup.js watchlist-hit.json acme-person.json REVIEW
async-checks.ts selfie-mismatch.json sift-high.json DECLINE
CASES

# A vendor call with no recorded answer fails precisely.
got=$("$evalctl" run "$examples/sift-score-decision.ts" --input "$examples/inputs/watchlist-hit.json" \
  --fixtures "$examples/fixtures/sift-low.json" |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["code"], d["details"]["reason"])' || true)
expect "an unanswered connector call is an error" "$got" "FAILED_PRECONDITION REPLAY_MISSING_RECORDING"

# run == call: the same script and input through the real server.
log="$TEST_TMPDIR/server.log"
source "$runfiles/tests/testing/start_server.sh"
start_server "$log"
normalize() {  # drops what differs by nature between two evaluations: id, timings, log times
  python3 -c '
import json, sys
d = json.load(sys.stdin)
body = d.get("details", d)
for key in ("decisionId", "usage", "evaluationTime", "randomSeed"):
    body.pop(key, None)
for entry in body.get("logs", []):
    entry.pop("time", None)
print(json.dumps(d, sort_keys=True))'
}
for input in clean-approve selfie-mismatch watchlist-hit; do
  local_out=$("$evalctl" run "$examples/document-selfie-decision.js" --input "$examples/inputs/$input.json" | normalize)
  server_out=$("$evalctl" call "$examples/document-selfie-decision.js" --input "$examples/inputs/$input.json" \
    --server "127.0.0.1:$port" | normalize)
  expect "run equals the server's answer on $input" "$local_out" "$server_out"
done
printf 'console.log("before");\nthrow new TypeError("bad input");\n' >"$TEST_TMPDIR/throws.js"
local_out=$("$evalctl" run "$TEST_TMPDIR/throws.js" | normalize || true)
server_out=$("$evalctl" call "$TEST_TMPDIR/throws.js" --server "127.0.0.1:$port" | normalize || true)
expect "run equals the server's answer on an error" "$local_out" "$server_out"

# replay and backtest over the decision records the server just wrote (to stdout, by default).
grep -h '"schema":"evaluatecode.decision_record.v1"' "$log" | grep -F '"code_sha256"' |
  grep -v 'bad input' >"$TEST_TMPDIR/records.jsonl" || true
expect "the server wrote a decision record per call" "$(wc -l <"$TEST_TMPDIR/records.jsonl" | tr -d ' ')" "3"
head -1 "$TEST_TMPDIR/records.jsonl" >"$TEST_TMPDIR/record.json"
set +e
"$evalctl" replay "$TEST_TMPDIR/record.json" --code "$examples/document-selfie-decision.js" >/dev/null 2>"$TEST_TMPDIR/replay.err"
code=$?
set -e
expect "replaying a decision record with its code reproduces it" "$code $(cat "$TEST_TMPDIR/replay.err")" \
  "0 evalctl: replay matches the recorded result and decision"
sed "s/decision: reasons.length > 0 ? 'review' : 'approve'/decision: reasons.length > 0 ? 'decline' : 'approve'/" \
  "$examples/document-selfie-decision.js" >"$TEST_TMPDIR/stricter.js"
summary=$("$evalctl" backtest --code "$TEST_TMPDIR/stricter.js" --records "$TEST_TMPDIR/records.jsonl" \
  --server "127.0.0.1:$port" --diffs "$TEST_TMPDIR/diffs.jsonl")
echo "$summary"
expect "backtest counts every record" "$(head -1 <<<"$summary")" "records 3, changed 1"
grep -qE '^REVIEW +-> DECLINE +1$' <<<"$summary" && ok=yes || ok=no
expect "backtest shows the review -> decline flip" "$ok" "yes"
expect "backtest writes the changed record" "$(wc -l <"$TEST_TMPDIR/diffs.jsonl" | tr -d ' ')" "1"

# check: diagnostics at the author's position, exit 1.
printf 'interface A { x: number }\nconst a: A = { x: (1 + };\n' >"$TEST_TMPDIR/bad.ts"
set +e
out=$("$evalctl" check "$TEST_TMPDIR/bad.ts")
code=$?
set -e
expect "check exits 1 on a syntax error" "$code" "1"
expect "check reports line:column" "$(python3 -c 'import json,sys; d=json.load(sys.stdin)["diagnostics"][0]; print(d["line"], d["column"])' <<<"$out")" "2 24"

# types: a declaration file with the connectors of the config.
printf 'connectors:\n  sift:\n    type: sift\n    auth: {secret_file: /nonexistent}\n' >"$TEST_TMPDIR/config.yaml"
types=$("$evalctl" types --config "$TEST_TMPDIR/config.yaml")
grep -q 'score(params: { user_id: string; abuse_types?: string\[\];' <<<"$types" && ok=yes || ok=no
expect "types declares connectors.sift.score with typed params" "$ok" "yes"
grep -q 'declare const input: any;' <<<"$types" && ok=yes || ok=no
expect "types declares input" "$ok" "yes"

# check: a type error is a warning at the author's position and the script is valid (exit 0); the
# TypeScript examples type check cleanly against the connectors of the config.
printf 'const limit: number = "0.8";\nreturn { decision: "review", limit };\n' >"$TEST_TMPDIR/typed.ts"
set +e
out=$("$evalctl" check --config "$TEST_TMPDIR/config.yaml" "$TEST_TMPDIR/typed.ts")
code=$?
set -e
expect "check exits 0 on a type error" "$code" "0"
expect "check reports the type error as a warning at line:column" \
  "$(python3 -c 'import json,sys; d=json.load(sys.stdin)["diagnostics"][0]; print(d["severity"], d["line"], d["column"], d["message"])' <<<"$out")" \
  "WARNING 1 7 TS2322: Type 'string' is not assignable to type 'number'."
for script in "$examples"/*.ts; do
  out=$("$evalctl" check --config "$TEST_TMPDIR/config.yaml" "$script")
  expect "$(basename "$script") type checks cleanly" \
    "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["valid"], len(d.get("diagnostics", [])))' <<<"$out")" "True 0"
done

[ "$failures" -eq 0 ]

#!/usr/bin/env bash
# What an engineer with grpcurl sees, shown with `buf curl` (grpcurl is not packaged for Debian):
# reflection lists and describes the services, EvaluateCode answers, health says SERVING, and an
# error's ErrorInfo reason is readable.
set -euo pipefail

runfiles="$TEST_SRCDIR/evaluatecode"
workspace=$(dirname "$(dirname "$(readlink -f "$runfiles/deploy/config.example.yaml")")")
buf="$workspace/node_modules/.bin/buf"
[ -x "$buf" ] || { echo "buf not found at $buf: run tools/setup"; exit 1; }

source "$runfiles/tests/testing/start_server.sh"
start_server "$TEST_TMPDIR/server.log" --config "$runfiles/deploy/config.example.yaml"
url="http://127.0.0.1:$port"
curl_grpc() { "$buf" curl --protocol grpc --http2-prior-knowledge "$@"; }

failures=0
expect() {  # expect NAME PATTERN TEXT
  if grep -qE -- "$2" <<<"$3"; then echo "ok: $1"; else echo "FAIL: $1"; echo "$3"; failures=$((failures + 1)); fi
}

services=$(curl_grpc --list-services "$url")
expect "lists evaluate.v1.EvaluateService" '^evaluate\.v1\.EvaluateService$' "$services"
expect "lists grpc.health.v1.Health" '^grpc\.health\.v1\.Health$' "$services"
methods=$(curl_grpc --list-methods "$url")
for method in EvaluateCode CompileCode ListConnectors; do
  expect "describes EvaluateService/$method" "^evaluate\.v1\.EvaluateService/$method$" "$methods"
done

out=$(curl_grpc -d '{"code":"return {decision: input.score > 0.8 ? \"decline\" : \"approve\", reasons: [\"score \" + input.score]};","input":{"score":0.93},"labels":{"tenant":"t1"}}' \
  "$url/evaluate.v1.EvaluateService/EvaluateCode")
expect "EvaluateCode types the decision" '"outcome": "DECLINE"' "$out"
expect "EvaluateCode returns the reasons" '"score 0.93"' "$out"
expect "EvaluateCode returns a decision id" '"decisionId": "[0-9a-f-]{36}"' "$out"

out=$(curl_grpc -d '{}' "$url/grpc.health.v1.Health/Check")
expect "health is SERVING" '"status": "SERVING"' "$out"

out=$(curl_grpc -d '{"code":"while(true){}","limits":{"timeoutMs":200}}' \
  "$url/evaluate.v1.EvaluateService/EvaluateCode" 2>&1 || true)
expect "a timeout is deadline_exceeded" '"code": "deadline_exceeded"' "$out"
expect "the reason leads the message" 'SCRIPT_TIMEOUT: ' "$out"
info=$(grep -A1 '"google.rpc.ErrorInfo"' <<<"$out" | grep -o '"value": "[^"]*"' | cut -d'"' -f4)
decoded=$(python3 -c 'import base64,sys; s=sys.argv[1]; sys.stdout.buffer.write(base64.b64decode(s+"="*(-len(s)%4)))' "$info" |
  protoc --decode_raw)
expect "ErrorInfo carries the reason" '1: "SCRIPT_TIMEOUT"' "$decoded"

kill -TERM $server
wait $server
echo "server exited $?"
[ "$failures" -eq 0 ]

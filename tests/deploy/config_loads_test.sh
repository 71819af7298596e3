#!/usr/bin/env bash
# The config.yaml inside the rendered ConfigMap (base and example overlay) is one the server binary
# accepts: it starts with it, logs "listening", and exits 0 on SIGTERM. The listen address is
# overridden to a free loopback port (the file's 0.0.0.0:50051 is for the pod).
set -euo pipefail
source "$TEST_SRCDIR/evaluatecode/tests/deploy/deploy_test_lib.sh"
require_kubectl
require_node_modules
server_binary="$runfiles/service/evaluate_server"

for dir in base overlays/example; do
  name=${dir//\//_}
  rendered="$TEST_TMPDIR/$name.yaml"
  config="$TEST_TMPDIR/$name.config.yaml"
  log="$TEST_TMPDIR/$name.server.log"
  render "$dir" "$rendered"
  node "$validator" "$rendered" --extract-config "$config" >/dev/null || true  # checks: other test
  [ -s "$config" ] || { fail "$dir: no config.yaml in the rendered ConfigMap"; continue; }

  "$server_binary" --config "$config" --listen 127.0.0.1:0 --metrics_listen 127.0.0.1:0 >"$log" 2>&1 &
  server=$!
  listening=""
  for _ in $(seq 200); do
    grep -q '"type":"listening"' "$log" && { listening=yes; break; }
    kill -0 "$server" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$listening" ]; then
    fail "$dir: the server did not start with the rendered config:"; cat "$log"
    kill -KILL "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true
    continue
  fi
  ok "$dir: the server starts with the rendered config ($(grep -o '"port":[0-9]*' "$log" | head -1))"
  kill -TERM "$server"
  status=0
  wait "$server" || status=$?
  if [ "$status" = 0 ]; then ok "$dir: SIGTERM ends it with exit 0"; else fail "$dir: exit $status after SIGTERM"; cat "$log"; fi
done

[ "$failures" -eq 0 ] && echo "all checks passed" || { echo "$failures check(s) failed"; exit 1; }

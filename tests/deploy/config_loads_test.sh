#!/usr/bin/env bash
# The config.yaml inside the rendered ConfigMap (base and example overlay) is one the server binary
# accepts: it starts with it, logs "listening", answers the kubelet's plaintext health checks on its
# health port, requires a client certificate on its main port, and exits 0 on SIGTERM.
# Changed for the test: the listen and health addresses become free loopback ports (the file's
# 0.0.0.0 ones are for the pod), and the TLS files are the test PKI's (tests/testing/
# make_test_certs.sh) under the TLS Secret's names, in place of the Secret mount.
set -euo pipefail
source "$TEST_SRCDIR/evaluatecode/tests/deploy/deploy_test_lib.sh"
require_kubectl
require_node_modules
[ -d "$NODE_PATH/@grpc/grpc-js" ] || { echo "@grpc/grpc-js not in $NODE_PATH: run tools/setup"; exit 1; }
server_binary="$runfiles/service/evaluate_server"
health_check="$runfiles/tests/deploy/health_check.js"
certs="$runfiles/tests/testing"

tls="$TEST_TMPDIR/tls"
mkdir -p "$tls"
cp "$certs/server.pem" "$tls/tls.crt"
cp "$certs/server.key" "$tls/tls.key"
cp "$certs/ca.pem" "$tls/ca.crt"

for dir in base overlays/example; do
  name=${dir//\//_}
  rendered="$TEST_TMPDIR/$name.yaml"
  pod_config="$TEST_TMPDIR/$name.pod.config.yaml"
  config="$TEST_TMPDIR/$name.config.yaml"
  log="$TEST_TMPDIR/$name.server.log"
  render "$dir" "$rendered"
  node "$validator" "$rendered" --extract-config "$pod_config" >/dev/null || true  # checks: other test
  [ -s "$pod_config" ] || { fail "$dir: no config.yaml in the rendered ConfigMap"; continue; }
  sed -E -e "s#^( *(cert_file|key_file|client_ca_file):).*/#\1 $tls/#" \
    -e 's#^( *health_listen:).*#\1 127.0.0.1:0#' "$pod_config" >"$config"

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
  port=$(grep -o '"port":[0-9]*' "$log" | head -1 | cut -d: -f2)
  health_port=$(grep -o '"health_port":[0-9]*' "$log" | head -1 | cut -d: -f2 || true)
  ok "$dir: the server starts with the rendered config (port $port, health port ${health_port:-none})"

  # What the probes ask (deployment.yaml): "" and the service readiness checks.
  output=""
  if [ -n "$health_port" ] && output=$(node "$health_check" "127.0.0.1:$health_port" "" evaluate.v1.EvaluateService); then
    ok "$dir: the health port answers plaintext checks: $(tr '\n' ' ' <<<"$output")"
  else
    fail "$dir: no plaintext health answers on the health port '$health_port': $output"
  fi
  if output=$(node "$health_check" "127.0.0.1:$port" --tls "$certs/ca.pem" "$certs/client.pem" "$certs/client.key" ""); then
    ok "$dir: the main port answers a client with a certificate from the CA: $output"
  else
    fail "$dir: the main port refuses a client with a certificate from the CA: $output"
  fi
  # The handshake fails: the client sees UNAVAILABLE.
  output=$(node "$health_check" "127.0.0.1:$port" --tls "$certs/ca.pem" "" "" "") || true
  if grep -q 'error UNAVAILABLE' <<<"$output"; then
    ok "$dir: the main port refuses a client without a certificate: $output"
  else
    fail "$dir: the main port does not refuse a client without a certificate: $output"
  fi

  kill -TERM "$server"
  status=0
  wait "$server" || status=$?
  if [ "$status" = 0 ]; then ok "$dir: SIGTERM ends it with exit 0"; else fail "$dir: exit $status after SIGTERM"; cat "$log"; fi
done

[ "$failures" -eq 0 ] && echo "all checks passed" || { echo "$failures check(s) failed"; exit 1; }

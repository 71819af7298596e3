# Sourced by shell tests: start_server LOG ARGS… starts the evaluate_server of the test's runfiles
# with ARGS on a free loopback port (metrics too), kills it when the test exits, and sets `server`
# (its pid) and `port` once its JSON "listening" line is in LOG; the test fails if it never comes.
start_server() {
  local log=$1
  shift
  "$TEST_SRCDIR/evaluatecode/service/evaluate_server" --listen 127.0.0.1:0 \
    --metrics_listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
  server=$!
  trap 'kill -KILL $server 2>/dev/null || true' EXIT
  port=""
  for _ in $(seq 400); do
    port=$(grep -o '"port":[0-9]*' "$log" | head -1 | cut -d: -f2 || true)
    [ -n "$port" ] && return 0
    sleep 0.05
  done
  echo "server did not start:"
  cat "$log"
  exit 1
}

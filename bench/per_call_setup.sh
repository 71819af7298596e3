# Sourced by bench/callgrind_per_call and bench/switches_per_call: the server's config and the
# load generator's command for one workload, and for W3 the fake vendor it calls.
#
# per_call_setup WORKLOAD PORT LOAD_MODE
#   WORKLOAD   evaluate (W1), echo (the floor) or io (W3: one Sift call per evaluation to
#              //bench:fake_sift, which answers after 50 ms, a distinct user per call)
#   LOAD_MODE  the load generator's --concurrency=N or --rate=N
# Needs $bin (the -c opt bazel-bin) and $dir (a scratch directory). Writes $dir/config.yaml, sets
# the array `load` and, for io, `vendor_pid` (the caller stops it).
per_call_setup() {
  local workload=$1 port=$2 mode=$3
  load=("$bin/bench/loadgen" "--target=127.0.0.1:$port" "$mode")
  vendor_pid=
  case $workload in
    evaluate | echo)
      printf 'evaluator:\n  threads: 64\n  workers: 2\n  queue_capacity: 2048\n' > "$dir/config.yaml"
      load+=("--rpc=$workload" --code_file=bench/workloads/light/script.js
             --input_file=bench/workloads/light/input.json)
      ;;
    io)
      echo "bench-sift-key-0123456789" > "$dir/vendor.key"
      "$bin/bench/fake_sift" --api_key_file="$dir/vendor.key" --latency=50ms --max_lifetime=5m \
        > "$dir/vendor.log" 2>&1 &
      vendor_pid=$!
      for _ in $(seq 50); do grep -q listening "$dir/vendor.log" && break; sleep 0.1; done
      local vendor_port
      vendor_port=$(grep -o '"port":[0-9]*' "$dir/vendor.log" | head -1 | cut -d: -f2)
      sed -e "s|@VENDOR_PORT@|$vendor_port|" -e "s|@KEY_FILE@|$dir/vendor.key|" \
        bench/workloads/server-config.yaml > "$dir/config.yaml"
      load+=(--rpc=evaluate --code_file=bench/workloads/io/script.js
             --input_file=bench/workloads/io/input.json --connectors=sift --timeout_ms=10000
             --deadline=15s)
      ;;
    *)
      echo "workload: evaluate, echo or io" >&2
      exit 2
      ;;
  esac
}

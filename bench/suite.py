#!/usr/bin/env python3
"""The load part of bench/run: starts the fake Sift vendor, the server and the Node peer on
127.0.0.1, runs every reference workload through bench/loadgen (and h2load), samples RSS, and
writes one results JSON. Every process it starts is stopped by it, and every run is bounded.

  bench/suite.py --bin_dir DIR --src_dir DIR --out results.json [--quick]

bin_dir holds service/evaluate_server, bench/loadgen, bench/fake_sift (a bazel-bin or runfiles
tree); src_dir holds bench/workloads, bench/peers and proto (the workspace or runfiles tree).
Exits 1 when any workload answered wrongly or not at all.
"""
import argparse
import datetime
import fcntl
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time


def log(message):
    print(f"suite: {message}", file=sys.stderr, flush=True)


class Process:
    """A child process whose stdout is read by a thread: the first `listening` JSON line gives the
    port; other lines are kept (up to a bound) or dropped. Stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name, argv, env=None, keep_lines=200):
        self.name = name
        self.port = None
        self.lines = []
        self._ready = threading.Event()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        self._keep = keep_lines
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            if len(self.lines) < self._keep and '"decision_id"' not in line:
                self.lines.append(line)
            if '"listening"' in line:
                match = re.search(r'"port":\s*(\d+)', line)
                if match:
                    self.port = int(match.group(1))
                    break
        self._ready.set()
        # Then drained and dropped, every 10 ms through a 1 MiB pipe: the server writes one
        # decision record per evaluation to stdout, and a reader woken for each write (≈ 20 µs of
        # CPU per W1 call; splitting the lines cost more) took that from the two cores the measured
        # server shares. 10 ms of records at W1's rate is ≈ 200 KB, so the server's writes never
        # wait for this reader.
        try:
            fcntl.fcntl(self.proc.stdout.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
        except OSError:
            pass
        while self.proc.stdout.read1(1 << 20):
            time.sleep(0.01)

    def wait_listening(self, timeout=60):
        self._ready.wait(timeout)
        if self.port is None:
            self.stop()
            raise RuntimeError(f"{self.name} did not start:\n" + "\n".join(self.lines[-30:]))
        return self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    out.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return out


def memory(pid):
    workers = children(pid)
    return {"server_rss_mib": rss_kib(pid) / 1024.0,
            "workers": len(workers),
            "workers_rss_mib": sum(rss_kib(w) for w in workers) / 1024.0}


class Sampler:
    """Peak RSS of the server and of its workers while a run goes on (every 100 ms)."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = {"server_rss_mib": 0.0, "workers_rss_mib": 0.0, "workers": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.1):
            m = memory(self.pid)
            for key in self.peak:
                self.peak[key] = max(self.peak[key], m[key])

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.peak


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin_dir", required=True)
    parser.add_argument("--src_dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--node", default=shutil.which("node") or "node")
    parser.add_argument("--node_modules", default="")
    args = parser.parse_args()

    b = lambda p: os.path.join(args.bin_dir, p)
    s = lambda p: os.path.join(args.src_dir, p)
    quick = args.quick
    # --quick: 0.3 s per run, unless a single call can take about that long on a loaded machine.
    dur = (lambda full, short=0.3: f"{short}s") if quick else (lambda full, short=0.3: f"{full}s")
    warm = "0.1s" if quick else "1s"
    expected = json.load(open(s("bench/workloads/expected.json")))
    tmp = tempfile.mkdtemp(prefix="evaluatecode-bench-")
    started = []
    results = {"runs": {}, "memory": {}, "h2load": None,
               "loadavg_start": open("/proc/loadavg").read().split()[:3]}
    ok = True

    def loadgen(name, target_port, rpc, *, workload=None, concurrency=16, duration=10, rate=0,
                extra=(), expect=None, allow_errors=False, warmup=None, quick_duration=0.3):
        nonlocal ok
        argv = [b("bench/loadgen"), f"--target=127.0.0.1:{target_port}", f"--rpc={rpc}",
                f"--name={name}", f"--duration={dur(duration, quick_duration)}", f"--warmup={warmup or warm}"]
        argv += [f"--rate={rate}"] if rate else [f"--concurrency={concurrency}"]
        if workload:
            script = "script.ts" if workload == "compile" else "script.js"
            argv.append(f"--code_file={s(f'bench/workloads/{workload}/{script}')}")
            if os.path.exists(s(f"bench/workloads/{workload}/input.json")):
                argv.append(f"--input_file={s(f'bench/workloads/{workload}/input.json')}")
        if expect:
            argv += [f"--expect_outcome={expect['outcome']}",
                     f"--expect_reasons_json={json.dumps(expect['reasons'])}"]
        argv += list(extra)
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=900)
        sys.stderr.write(done.stderr)
        try:
            report = json.loads(done.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            report = {"ok": 0, "errors": -1, "errors_by_code": {"LOADGEN_FAILED": done.returncode}}
        results["runs"][name] = report
        bad = report.get("errors_by_code", {}).get("RESULT_MISMATCH", 0) or report["ok"] == 0
        if not allow_errors and report.get("errors", 0):
            bad = True
        if bad:
            log(f"FAILED: {name}: {report.get('errors_by_code')} {report.get('error_examples')}")
            ok = False
        return report

    try:
        # The vendor for workload 3, then the server whose config points at it.
        key_file = os.path.join(tmp, "sift_api_key")
        with open(key_file, "w") as f:
            f.write("bench-sift-key-0123456789\n")
        vendor = Process("fake_sift", [b("bench/fake_sift"), f"--api_key_file={key_file}",
                                       "--latency=50ms", "--max_lifetime=15m"])
        started.append(vendor)
        vendor_port = vendor.wait_listening()
        config = os.path.join(tmp, "bench-config.yaml")
        with open(s("bench/workloads/server-config.yaml")) as f:
            template = f.read()
        with open(config, "w") as f:
            f.write(template.replace("@VENDOR_PORT@", str(vendor_port))
                    .replace("@KEY_FILE@", key_file))
        server = Process("evaluate_server", [b("service/evaluate_server"), "--config", config,
                                             "--listen", "127.0.0.1:0",
                                             "--metrics_listen", "127.0.0.1:0"])
        started.append(server)
        port = server.wait_listening()
        time.sleep(0.5)
        results["memory"]["idle"] = memory(server.proc.pid)
        log(f"server on {port} (pid {server.proc.pid}), vendor on {vendor_port}; idle "
            f"{results['memory']['idle']}")

        env = dict(os.environ)
        if args.node_modules:
            env["NODE_PATH"] = args.node_modules
        peer = Process("node_peer", [args.node, s("bench/peers/node_peer.js"), "--port=0",
                                     "--processes=2", "--max_lifetime_s=900",
                                     f"--proto={s('proto/evaluate/v1/evaluate.proto')}"], env=env)
        started.append(peer)
        peer_port = peer.wait_listening()

        # Workload 1 against the floor and the peer, same run, same load generator.
        loadgen("echo_c16", port, "echo")
        sampler = Sampler(server.proc.pid)
        loadgen("light_c16", port, "evaluate", workload="light", expect=expected["light"])
        results["memory"]["light_c16_peak"] = sampler.stop()
        loadgen("echo_c1", port, "echo", concurrency=1, duration=5)
        loadgen("light_c1", port, "evaluate", workload="light", concurrency=1, duration=5,
                expect=expected["light"])
        loadgen("peer_echo_c16", peer_port, "echo")
        loadgen("peer_light_c16", peer_port, "evaluate", workload="light", expect=expected["light"])

        # Workload 1 once more on a server with another config; stopped at once, so that it takes
        # no memory or CPU from the runs below.
        def light_on_variant(variant, concurrencies):
            other = Process(f"evaluate_server_{variant}", [
                b("service/evaluate_server"), "--config",
                s(f"bench/workloads/server-config-{variant.replace('_', '-')}.yaml"),
                "--listen", "127.0.0.1:0", "--metrics_listen", "127.0.0.1:0"])
            started.append(other)
            other_port = other.wait_listening()
            for concurrency in concurrencies:
                loadgen(f"light_{variant}_c{concurrency}", other_port, "evaluate",
                        workload="light", concurrency=concurrency,
                        duration=10 if concurrency > 1 else 5, expect=expected["light"])
            other.stop()

        # Scripts in the server's own process (the development mode): what the worker boundary
        # costs at load. Workers pinned to CPUs (`pin_workers`): what keeping each hand-off on
        # one CPU buys.
        light_on_variant("in_process", [16])
        light_on_variant("pinned", [16, 1])

        # h2load: raw RPS of workload 1 by an independent client (it does not read grpc-status;
        # loadgen's runs check every answer).
        h2load = shutil.which("h2load")
        if h2load:
            body = os.path.join(tmp, "light-request.bin")
            subprocess.run([b("bench/loadgen"), "--rpc=evaluate",
                            f"--code_file={s('bench/workloads/light/script.js')}",
                            f"--input_file={s('bench/workloads/light/input.json')}",
                            f"--write_body={body}"], check=True)
            h2 = [h2load, "-c", "2", "-m", "8", "-d", body, "-H", "content-type: application/grpc",
                  "-H", "te: trailers"]
            h2 += ["-n", "300"] if quick else ["-D", "10", "--warm-up-time", "1"]
            h2.append(f"http://127.0.0.1:{port}/evaluate.v1.EvaluateService/EvaluateCode")
            done = subprocess.run(h2, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  timeout=120)
            rps = re.search(r"finished in [^,]+, ([\d.]+) req/s", done.stdout)
            codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx",
                              done.stdout)
            succeeded = re.search(r"requests: .* (\d+) succeeded, (\d+) failed", done.stdout)
            results["h2load"] = {
                "argv": " ".join(h2[1:]), "rps": float(rps.group(1)) if rps else 0.0,
                "status_2xx": int(codes.group(1)) if codes else 0,
                "succeeded": int(succeeded.group(1)) if succeeded else 0,
                "failed": int(succeeded.group(2)) if succeeded else -1}
            log(f"h2load: {results['h2load']}")
            if not results["h2load"]["succeeded"] or results["h2load"]["failed"]:
                log("FAILED: h2load\n" + done.stdout[-2000:])
                ok = False
        else:
            log("h2load not installed (apt nghttp2-client): cross-check skipped")

        # Workload 2, us and the peer.
        loadgen("heavy_c16", port, "evaluate", workload="heavy", expect=expected["heavy"])
        loadgen("peer_heavy_c16", peer_port, "evaluate", workload="heavy",
                expect=expected["heavy"])

        # Warm heaps: 40 tenants at concurrency 2, so each worker prepares one heap per tenant.
        before = memory(server.proc.pid)
        loadgen("light_40_tenants", port, "evaluate", workload="light", concurrency=2,
                duration=5, expect=expected["light"], extra=["--tenants=40"])
        after = memory(server.proc.pid)
        workers = max(1, after["workers"])
        results["memory"]["warm_heaps"] = {
            "before": before, "after": after, "tenants": 40,
            "rss_per_warm_heap_kib": (after["workers_rss_mib"] - before["workers_rss_mib"]) * 1024
                                     / (39 * workers)}

        # Workload 3: evaluations that wait 50 ms on the vendor.
        io = ["--connectors=sift", "--timeout_ms=10000", "--deadline=15s"]
        loadgen("io_c16", port, "evaluate", workload="io", expect=expected["io"], extra=io)
        loadgen("io_r1500", port, "evaluate", workload="io", rate=1500, expect=expected["io"],
                extra=io, allow_errors=True)
        loadgen("io_r2000", port, "evaluate", workload="io", rate=2000, expect=expected["io"],
                extra=io, allow_errors=True)
        sampler = Sampler(server.proc.pid)
        loadgen("io_c1000", port, "evaluate", workload="io", concurrency=1000,
                expect=expected["io"], extra=io, allow_errors=True)
        results["memory"]["io_c1000_peak"] = sampler.stop()
        results["memory"]["after_io"] = memory(server.proc.pid)

        # Workload 4 (last: compiling TypeScript grows the workers' RSS, which would hide what the
        # warm heaps and W3 cost): a first-sight TypeScript compile per call — to runnable form, as
        # EvaluateCode compiles; CompileCode's type check is measured on its own below — then the
        # cached lookup by RPC. Each worker loads TypeScript (≈ 1 s) at its first compile, and the
        # built-ins' declarations (≈ 2 s) at its first type check: the warm-ups cover both.
        first = ["--expect_cache_hit=false", "--skip_type_check"]
        loadgen("compile_first_c2", port, "compile", workload="compile", concurrency=2,
                duration=10, extra=first, warmup="3s", quick_duration=1)
        loadgen("compile_first_c1", port, "compile", workload="compile", concurrency=1,
                duration=10, extra=first, warmup="1s", quick_duration=1)
        loadgen("compile_checked_c1", port, "compile", workload="compile", concurrency=1,
                duration=10, extra=["--expect_cache_hit=false"], warmup=None if quick else "6s",
                quick_duration=6)
        loadgen("compile_cached_c1", port, "compile", workload="light", concurrency=1,
                duration=5, extra=["--expect_cache_hit=true"])

        results["memory"]["end"] = memory(server.proc.pid)
    finally:
        for process in reversed(started):
            process.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    results["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    results["date"] = datetime.date.today().isoformat()
    results["quick"] = quick
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = re.search(r"model name\s*:\s*(.*)", f.read()).group(1)
    except (OSError, AttributeError):
        pass
    results["machine"] = {"host": platform.node(), "cpus": os.cpu_count(), "cpu": cpu,
                          "kernel": platform.release()}
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
        f.write("\n")
    log(f"wrote {args.out}" + ("" if ok else " (with FAILURES)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

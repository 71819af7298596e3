#!/usr/bin/env python3
"""Turns bench/run's result files into the Markdown table of issue 8's targets (figure, ratio,
met or not, date, machine), prints it, and with --update rewrites the part of BENCHMARKS.md
between its `bench:targets` markers. Also folds the micro-benchmarks into results.json.

  bench/report.py --results results.json --sandbox sandbox.json --cache cache.json [--update FILE]
"""
import argparse
import json
import math
import re
import sys

BEGIN = "<!-- bench:targets:begin (bench/run rewrites this part) -->"
END = "<!-- bench:targets:end -->"


def micro(path):
    """Google Benchmark JSON → {name[/label]: µs}."""
    try:
        data = json.load(open(path))
    except (OSError, ValueError):
        return {}, {}
    out = {}
    for b in data.get("benchmarks", []):
        scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b.get("time_unit", "ns")]
        out[b["name"]] = b["real_time"] * scale
    return out, data.get("context", {})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", required=True)
    parser.add_argument("--sandbox", required=True)
    parser.add_argument("--cache", required=True)
    parser.add_argument("--update", default="")
    args = parser.parse_args()

    results = json.load(open(args.results))
    sandbox, _ = micro(args.sandbox)
    cache, _ = micro(args.cache)
    results["micro_us"] = {"sandbox": sandbox, "cache": cache}
    with open(args.results, "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
        f.write("\n")

    runs = results["runs"]
    nan = float("nan")
    run = lambda name: runs.get(name, {"rps": nan, "ok": 0, "errors": 0, "errors_by_code": {},
                                       "latency_ms": {k: nan for k in
                                                      ("p50", "p90", "p99", "p99.9")}})
    rps = lambda name: run(name)["rps"]
    lat = lambda name, p: run(name)["latency_ms"][p]
    ratio = lambda a, b: a / b if b else nan
    yes = lambda cond: "**met**" if cond else "**not met**"
    mem = results.get("memory", {})

    light, echo, peer = run("light_c16"), run("echo_c16"), run("peer_light_c16")
    io = run("io_c1000")
    io_peak = mem.get("io_c1000_peak", {})
    io_rss = io_peak.get("server_rss_mib", nan) + io_peak.get("workers_rss_mib", nan)
    warm = sandbox.get("BM_Engine/1", nan)
    fresh = sandbox.get("BM_Engine/0", nan)
    bare = sandbox.get("BM_BareHeapCreateDestroy", nan)
    workers_us = sandbox.get("BM_Sandbox/1", nan)
    in_process_us = sandbox.get("BM_Sandbox/0", nan)
    hit = cache.get("BM_ScriptCacheHit/0", nan)
    hit_big = cache.get("BM_ScriptCacheHit/32768", nan)
    first = run("compile_first_c1")
    idle = mem.get("idle", {})
    heaps = mem.get("warm_heaps", {})
    h2 = results.get("h2load") or {}
    machine = results.get("machine", {})
    errors = lambda name: ", ".join(f"{k} {v}" for k, v in run(name)["errors_by_code"].items()) or "0"

    rows = [
        ("W1 CPU-light: ≥ 3,000 RPS at concurrency 16, p99 ≤ 2 ms",
         f"{rps('light_c16'):,.0f} RPS, p50 {lat('light_c16', 'p50'):.2f} / p99 "
         f"{lat('light_c16', 'p99'):.2f} ms, errors {errors('light_c16')}",
         f"{ratio(rps('light_c16'), 3000):.2f} × 3,000 RPS; p99 {ratio(lat('light_c16', 'p99'), 2):.1f} × 2 ms",
         yes(rps("light_c16") >= 3000 and lat("light_c16", "p99") <= 2)),
        ("W1: ≥ 0.6 × the Echo floor (same server, same run)",
         f"Echo {rps('echo_c16'):,.0f} RPS (p99 {lat('echo_c16', 'p99'):.2f} ms)",
         f"{ratio(rps('light_c16'), rps('echo_c16')):.3f} × Echo",
         yes(ratio(rps("light_c16"), rps("echo_c16")) >= 0.6)),
        ("W1: ≥ 3 × the Node peer's RPS (same run)",
         f"peer {rps('peer_light_c16'):,.0f} RPS (p99 {lat('peer_light_c16', 'p99'):.1f} ms; "
         f"peer Echo {rps('peer_echo_c16'):,.0f})",
         f"{ratio(rps('light_c16'), rps('peer_light_c16')):.2f} × peer",
         yes(ratio(rps("light_c16"), rps("peer_light_c16")) >= 3)),
        ("Isolation: ≤ 100 µs engine time per evaluation, ≤ 1/4 of a fresh heap",
         f"warm heap {warm:.1f} µs; fresh prepared heap {fresh:.0f} µs; bare heap {bare:.0f} µs",
         f"{ratio(warm, fresh):.4f} × fresh prepared, {ratio(warm, bare):.3f} × bare",
         yes(warm <= 100 and warm <= fresh / 4)),
        # 1,000 in flight at p99 ≤ 80 ms would be 12,500 RPS (Little's law), so the target is
        # measured as two runs: the rate offered at a fixed 2,000 RPS (open loop) with its p99, and
        # 1,000 evaluations kept in flight (closed loop) answered without errors within the RSS.
        ("W3 I/O-bound: ≥ 1,000 in flight, ≥ 2,000 RPS, p99 ≤ 80 ms, RSS ≤ 512 MB",
         f"2,000 RPS offered: {rps('io_r2000'):,.0f} RPS served, p99 {lat('io_r2000', 'p99'):,.0f} ms, "
         f"errors {errors('io_r2000')}; 1,000 in flight: {rps('io_c1000'):,.0f} RPS, "
         f"p99 {lat('io_c1000', 'p99'):,.0f} ms, errors {errors('io_c1000')}; peak RSS "
         f"{io_rss:.0f} MiB (server + workers); at 16 in flight {rps('io_c16'):,.0f} RPS, "
         f"p50 {lat('io_c16', 'p50'):.0f} ms",
         f"{ratio(rps('io_r2000'), 2000):.3f} × 2,000 RPS; p99 "
         f"{ratio(lat('io_r2000', 'p99'), 80):.2f} × 80 ms",
         yes(rps("io_r2000") >= 0.99 * 2000 and lat("io_r2000", "p99") <= 80
             and run("io_r2000")["errors"] == 0 and io["errors"] == 0 and io_rss <= 512)),
        ("W4: first TypeScript compile ≤ 100 ms",
         f"CompileCode of a fresh script (skip_type_check), 1 in flight: p50 {lat('compile_first_c1', 'p50'):.1f} ms, "
         f"p99 {lat('compile_first_c1', 'p99'):.1f} ms ({rps('compile_first_c2'):.1f} compiles/s at 2)",
         f"{ratio(lat('compile_first_c1', 'p50'), 100):.2f} × 100 ms",
         yes(lat("compile_first_c1", "p50") <= 100)),
        ("W4: cached compile lookup ≤ 5 µs",
         f"ScriptCache hit {hit:.2f} µs (1.6 KB source; {hit_big:.1f} µs at 34 KB); "
         f"CompileCode RPC on a cached script p50 {lat('compile_cached_c1', 'p50') * 1000:.0f} µs",
         f"{ratio(hit, 5):.2f} × 5 µs",
         yes(hit <= 5)),
        ("Memory: idle server RSS, RSS per warm heap (reported)",
         f"idle: server {idle.get('server_rss_mib', nan):.1f} MiB + {idle.get('workers', 0)} "
         f"workers {idle.get('workers_rss_mib', nan):.1f} MiB; per warm heap "
         f"{heaps.get('rss_per_warm_heap_kib', nan):,.0f} KiB",
         "—", "reported"),
    ]
    other = [
        ("W4 with CompileCode's type check (TypeScript checker in the worker)",
         f"p50 {lat('compile_checked_c1', 'p50'):.1f} ms, p99 {lat('compile_checked_c1', 'p99'):.1f} ms, "
         f"1 in flight, errors {errors('compile_checked_c1')}",
         f"+{lat('compile_checked_c1', 'p50') - lat('compile_first_c1', 'p50'):.0f} ms for the check"),
        ("W1 latency at 1 in flight (vs Echo)",
         f"p50 {lat('light_c1', 'p50') * 1000:.0f} µs vs Echo {lat('echo_c1', 'p50') * 1000:.0f} µs",
         f"+{(lat('light_c1', 'p50') - lat('echo_c1', 'p50')) * 1000:.0f} µs per evaluation"),
        ("W1 raw RPS by h2load (cross-check; does not read grpc-status)",
         f"{h2.get('rps', nan):,.0f} RPS ({h2.get('argv', 'not run').split(' -d ')[0]}, "
         f"{h2.get('succeeded', 0):,} succeeded, {h2.get('failed', 0)} failed)",
         f"{ratio(h2.get('rps', nan), rps('light_c16')):.2f} × loadgen"),
        ("W2 CPU-heavy (200 items) vs the Node peer",
         f"{rps('heavy_c16'):,.1f} RPS (p50 {lat('heavy_c16', 'p50'):.0f} ms) vs peer "
         f"{rps('peer_heavy_c16'):,.1f} RPS (p50 {lat('peer_heavy_c16', 'p50'):.0f} ms)",
         f"{ratio(rps('heavy_c16'), rps('peer_heavy_c16')):.2f} × peer"),
        ("W3 at 1,500 RPS offered (open loop): the p99 below saturation",
         f"{rps('io_r1500'):,.0f} RPS served, p50 {lat('io_r1500', 'p50'):.0f} / p99 "
         f"{lat('io_r1500', 'p99'):.0f} ms, errors {errors('io_r1500')}",
         f"p99 {ratio(lat('io_r1500', 'p99'), 80):.2f} × 80 ms"),
        ("W1 at concurrency 16 with `isolation: in_process` (no worker processes; development mode)",
         f"{rps('light_in_process_c16'):,.0f} RPS, p50 {lat('light_in_process_c16', 'p50'):.2f} / "
         f"p99 {lat('light_in_process_c16', 'p99'):.2f} ms, errors {errors('light_in_process_c16')}",
         f"workers {ratio(rps('light_c16'), rps('light_in_process_c16')):.2f} × in process; in process "
         f"{ratio(rps('light_in_process_c16'), rps('echo_c16')):.3f} × Echo"),
        ("W1 with `pin_workers: true` (each worker and its driver kept on one CPU)",
         f"16 in flight: {rps('light_pinned_c16'):,.0f} RPS, p50 {lat('light_pinned_c16', 'p50'):.2f} / "
         f"p99 {lat('light_pinned_c16', 'p99'):.2f} ms; 1 in flight: p50 "
         f"{lat('light_pinned_c1', 'p50') * 1000:.0f} µs; errors {errors('light_pinned_c16')} / "
         f"{errors('light_pinned_c1')}",
         f"{ratio(rps('light_pinned_c16'), rps('light_c16')):.2f} × unpinned RPS; p50 at 1 in flight "
         f"{ratio(lat('light_pinned_c1', 'p50'), lat('light_c1', 'p50')):.2f} × unpinned"),
        ("Worker boundary (sandbox_bench, 1 worker)",
         f"{workers_us:.0f} µs through a worker vs {in_process_us:.0f} µs in process",
         f"+{workers_us - in_process_us:.0f} µs IPC"),
        ("Server + workers RSS under W1 load (peak)",
         f"server {mem.get('light_c16_peak', {}).get('server_rss_mib', nan):.1f} MiB, workers "
         f"{mem.get('light_c16_peak', {}).get('workers_rss_mib', nan):.1f} MiB", "—"),
    ]

    lines = [f"Run {results.get('date')} on {machine.get('host')} ({machine.get('cpus')} × "
             f"{machine.get('cpu')}, Linux {machine.get('kernel')}; load average "
             f"{' '.join(results.get('loadavg_start', []))} at the start, "
             f"{' '.join(results.get('loadavg_end', []))} at the end)"
             f"{' — QUICK SMOKE, not figures' if results.get('quick') else ''}. "
             f"Load generator: `bench/loadgen`, 2 connections, 1 s warm-up, 10 s measured "
             f"(5 s at concurrency 1); the server runs the bench config (1,024 evaluations in flight, "
             f"2 workers, 256 connections per vendor host) and shares the 2 vCPUs with the load "
             f"generator, as the floor and the peer do.",
             "",
             "| Target | Measured | Ratio | Status |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines += ["", "| Also measured | Figure | Ratio |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in other]
    table = "\n".join(lines)
    print(table)

    if args.update:
        text = open(args.update).read()
        block = f"{BEGIN}\n{table}\n{END}"
        if BEGIN in text and END in text:
            text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text,
                          flags=re.S)
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        with open(args.update, "w") as f:
            f.write(text)
        print(f"report: updated {args.update}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""The benchmark report: the Markdown tables, the targets, and bench/RESULTS.md with machine and versions."""
import datetime
import os
import platform
import subprocess
import sys

from catalog import BY_NAME
from targets import GWCORE

MiB = 2 ** 20


def scenario_table(rows: list) -> str:
    lines = ["| scenario | target | req/s | MiB/s | p50 ms | p99 ms | CPU µs/req | req/s vs nginx | CPU/req vs nginx |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['scenario']} | skipped: {r['skipped']} | | | | | | | |")
            continue
        lines.append(f"| {_label(r)} | {r['target']} | {r['rps']:.0f} | {r['bytes_per_s'] / MiB:.1f} | "
                     f"{r['p50']:.2f} | {r['p99']:.2f} | {r['cpu_us']:.1f} | {r['rps_ratio']:.2f}x | "
                     f"{r['cpu_ratio']:.2f}x |")
    return "\n".join(lines)


def _label(row: dict) -> str:
    """A scenario run with --include-unlanded measures plain proxying: say so wherever it is named."""
    return row["scenario"] if row.get("landed", True) else f"{row['scenario']} (not landed)"


def reload_table(result: dict) -> str:
    newest = f"{result['newest_ok']}/{result['newest_asked']}" if result["newest_asked"] else "-"
    return "\n".join([
        "| reload | requests | req/s | errors | SIGHUPs sent | reloads taken | refused | worker apply failures"
        " | worker deaths | newest route answered |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| gwcore-{result['workers']}w, {result['seconds']:.0f}s | {result['requests']} | {result['rps']:.0f} | "
        f"{result['errors']} | {result['sent']} | {result['took']} | {result['refused']} | "
        f"{result['worker_failures']} | {result['worker_deaths']} | {newest} |"])


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def targets(rows: list, reload_result, cores: int) -> str:
    """The issue's targets against this run's figures: reported here, never asserted."""
    lines = []
    measured = [r for r in rows if "skipped" not in r]
    for r in measured:
        target = BY_NAME[r["scenario"]].cpu_target
        if target and r["target"] == "gwcore-1w":
            lines.append(f"* {_label(r)}: CPU per request {r['cpu_ratio']:.2f}x nginx (target ≤ {target}x): "
                         f"{_verdict(r['cpu_ratio'] <= target)}")
    by = {(r["scenario"], r["target"]): r for r in measured}
    scaling = [(_label(r), r["rps"] / by[(r["scenario"], "gwcore-1w")]["rps"]) for r in measured
               if r["target"] == "gwcore-2w" and (r["scenario"], "gwcore-1w") in by]
    if scaling:
        figures = ", ".join(f"{name} {ratio:.2f}x" for name, ratio in scaling)
        if cores >= 4:
            verdict = _verdict(all(ratio >= 1.8 for _, ratio in scaling))
        else:  # wrk, the origin and the proxy share the machine: 2 workers get 2 cores of their own from 4 up
            verdict = f"not applicable here: {cores} cores shared with wrk and the origin"
        lines.append(f"* 2 workers vs 1, throughput (target ≥ 1.8x where cores allow): {figures}: {verdict}")
    if reload_result:
        lines.append(f"* reload: {reload_result['errors']} errors in {reload_result['requests']} requests over "
                     f"{reload_result['sent']} reloads (target 0): {_verdict(reload_result['errors'] == 0)}")
    return "\n".join(lines)


def notes(rows: list) -> str:
    seen = []
    for r in rows:
        scenario = BY_NAME.get(r["scenario"])
        if scenario and scenario.nginx_note and "skipped" not in r and scenario.name not in seen:
            seen.append(scenario.name)
    return "\n".join(f"* {name}: nginx does {BY_NAME[name].nginx_note}" for name in seen)


def full_report(rows: list, reload_result, cores: int) -> str:
    parts = [scenario_table(rows)]
    if reload_result:
        parts.append(reload_table(reload_result))
    for title, text in (("Targets (reported, never asserted)", targets(rows, reload_result, cores)),
                        ("nginx's side", notes(rows))):
        if text:
            parts.append(f"{title}:\n\n{text}")
    return "\n\n".join(parts)


# ---------------------------------------------------------------- machine and versions

def _first_line(argv: list) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True)
    except OSError:
        return f"{argv[0]}: not found"
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[0].strip() if lines else "?"


def versions(redis_used: bool) -> list:
    found = [_first_line([GWCORE, "version"]),
             _first_line(["nginx", "-v"]),
             # `wrk -v` prints its version then the usage text
             _first_line(["wrk", "-v"]).split(" Copyright")[0],
             f"python {platform.python_version()}"]
    if redis_used:
        found.append(_first_line(["redis-server", "--version"]))
    return found


def cpu_model() -> str:
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def machine() -> str:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores, {cpu_model()}; Linux {platform.release()}; "
            f"load average at the start {load}")


def write_results(path: str, report: str, args, started: datetime.datetime, elapsed: float, host: str,
                  redis_used: bool) -> None:
    pinned = f"proxies on CPU {args.proxy_cpus}, origin and wrk on CPU {args.load_cpus}" if args.pin else "no"
    text = f"""# Benchmark results

Written by `make bench` (`python bench/run.py{' ' + ' '.join(sys.argv[1:]) if sys.argv[1:] else ''}`) on \
{started:%Y-%m-%d %H:%M} UTC; the run took {elapsed:.0f} s. Do not edit: the next `make bench` rewrites it.

* machine: {host}
* versions: {'; '.join(versions(redis_used))}
* method: wrk -t1 -c{args.connections} -d{args.duration}s per target; targets interleaved (A B C A B C …), \
{args.rounds} rounds, medians. CPU µs/req = utime+stime of the proxy's own processes (nginx master and worker; \
gwcore supervisor and workers) read from /proc, divided by the requests wrk completed. Ratios are gwcore / nginx \
(1 worker, upstream keep-alive) on the same origin in the same run. Pinned with taskset: {pinned}.
* every run fails on any error response or socket error (each target's warm-up counts every non-2xx).

{report}
"""
    with open(path, "w") as f:
        f.write(text)

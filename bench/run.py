"""Side-by-side benchmark: gwcore and nginx proxying the same nginx origin, reported as ratios.

    python bench/run.py [--quick] [--scenario NAME ...] [--duration S] [--rounds N] [--pin]

Per scenario: nginx (1 worker) and gwcore with 1 and 2 workers, each on its own port, are run
with wrk in turn (A B C A B C ...) over several rounds and the medians reported. CPU per request
is utime+stime of the proxy's own processes (read from /proc) divided by the requests wrk
completed: the steadiest figure on a small shared machine. Any error response or socket error
stops the run. `make bench` also writes bench/RESULTS.md (a full run only; `--results FILE` for any
other); `--quick` (`make bench-quick`) only prints.
"""
import argparse
import datetime
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time

import probes
import wrkrun
from catalog import BY_NAME, NOT_LANDED, SCENARIOS
from reload import run_reload
from report import full_report, machine, write_results
from targets import HERE, WORK, start_gwcore, start_nginx_proxy, start_origin, start_redis, stop_all, wait_ready
from tlscert import make_tls_material
from tokens import make_jwt_material

ROOT = os.path.dirname(HERE)
RELOAD = "reload"


def ensure_tools(args, redis_needed: bool) -> None:
    """Install what is missing the project's way (`make bench-deps`), once, then insist."""
    wanted = ["nginx", "wrk"] + (["redis-server"] if redis_needed else []) + (["taskset"] if args.pin else [])
    if any(shutil.which(tool) is None for tool in wanted):
        print("installing the benchmark tools: make bench-deps", flush=True)
        subprocess.run(["make", "-C", ROOT, "bench-deps"], check=True)
    missing = [tool for tool in wanted if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"still missing after `make bench-deps`: {', '.join(missing)}")


def measure(target, url: str, headers, args) -> dict:
    before = target.cpu_seconds()
    result = wrkrun.run(url, args.duration, args.connections, headers, cpus=args.load_cpus, what=target.name)
    result["cpu_us"] = (target.cpu_seconds() - before) * 1e6 / result["requests"]
    return result


def check_targets(scenario, targets, headers, redis) -> None:
    """Each target answers 200; gwcore does the scenario's work if it has landed (else we say so)."""
    for t in targets:
        problem = probes.plain_answer(t.port, scenario, headers)
        if problem:
            t.fail(f"{scenario.name}: {problem}")
        is_nginx = t.name.startswith("nginx")
        if is_nginx and not scenario.nginx_refuses:
            continue
        missing = probes.missing_behaviour(t.port, scenario, headers, redis.port if redis and not is_nginx else None)
        if missing and (is_nginx or scenario.landed):
            t.fail(f"{scenario.name}: does not do what the scenario measures: {'; '.join(missing)}")
        if not is_nginx and not scenario.landed:
            verdict = ("; ".join(missing) + ": not landed, as bench/catalog.py says") if missing else \
                "looks landed: delete its line from NOT_LANDED in bench/catalog.py"
            print(f"  {t.name}: {verdict}", flush=True)


def url_of(target, scenario) -> str:
    """What wrk asks: the TLS listener for a tls scenario (probes keep to the plain one)."""
    if scenario.tls:
        return f"https://127.0.0.1:{target.tls_port}{scenario.path}"
    return f"http://127.0.0.1:{target.port}{scenario.path}"


def run_scenario(scenario, origin, env: dict, args, redis) -> list:
    headers = scenario.request_headers(env)
    config = os.path.join(HERE, "scenarios", scenario.config)
    targets = [start_nginx_proxy(scenario, origin.port, {**env, "WORK": WORK}, args.proxy_cpus)]
    try:
        for workers in args.workers:
            targets.append(start_gwcore(f"gwcore-{workers}w", config, workers, env, args.proxy_cpus, wait=False,
                                        tls=scenario.tls))
        for t in targets[1:]:
            wait_ready(t)
        for t in targets:  # warm up pools and caches, counting every non-2xx on the way
            url = url_of(t, scenario)
            wrkrun.run(url, args.warmup, args.connections, headers, strict=True, cpus=args.load_cpus,
                       what=f"{scenario.name} {t.name} warm-up")
        check_targets(scenario, targets, headers, redis if scenario.needs_redis else None)
        samples = {t.name: [] for t in targets}
        for _ in range(args.rounds):
            for t in targets:
                samples[t.name].append(measure(t, url_of(t, scenario), headers, args))
    finally:
        stop_all(targets)
    rows = []
    for t in targets:
        runs = samples[t.name]
        row = {key: statistics.median(r[key] for r in runs) for key in ("rps", "p50", "p99", "cpu_us", "bytes_per_s")}
        row.update(scenario=scenario.name, target=t.name, landed=scenario.landed)
        base = rows[0] if rows else row
        row["rps_ratio"] = row["rps"] / base["rps"]
        row["cpu_ratio"] = row["cpu_us"] / base["cpu_us"] if base["cpu_us"] else float("nan")
        rows.append(row)
    return rows


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs, one round, no RESULTS.md")
    parser.add_argument("--scenario", action="append", choices=[s.name for s in SCENARIOS] + [RELOAD],
                        help="repeatable; default: all of them")
    parser.add_argument("--duration", type=int, help="seconds per wrk run (default 10; quick 3, or 2 when more"
                                                     " than 3 scenarios run)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3, quick 1)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of strict warm-up per target")
    parser.add_argument("--reload-duration", type=int, help="seconds of the reload run (default 20, quick 6)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, action="append", help="gwcore worker counts (default 1 and 2)")
    parser.add_argument("--pin", action="store_true", help="pin with taskset: proxies on --proxy-cpus, the origin,"
                                                           " redis and wrk on --load-cpus")
    parser.add_argument("--proxy-cpus", help="taskset list for the proxies (default: the first half of the CPUs)")
    parser.add_argument("--load-cpus", help="taskset list for origin, redis, wrk (default: the other half)")
    parser.add_argument("--include-unlanded", action="store_true",
                        help="also run scenarios bench/catalog.py lists as not landed, and say if they now work")
    parser.add_argument("--results", help="file to write the report to; default: bench/RESULTS.md for a full"
                                          " run (no --quick, no --scenario), else none")
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.reload_duration = args.reload_duration or (6 if args.quick else 20)
    # quick: one worker only (the 2-worker figures come with `make bench`; reload runs 2 anyway)
    args.workers = args.workers or ([1] if args.quick else [1, 2])
    cores = os.cpu_count() or 1
    if args.pin:
        if cores < 2:
            parser.error("--pin needs at least 2 CPUs")
        half = cores // 2
        args.proxy_cpus = args.proxy_cpus or ("0" if half == 1 else f"0-{half - 1}")
        args.load_cpus = args.load_cpus or (str(half) if half == cores - 1 else f"{half}-{cores - 1}")
    else:
        args.proxy_cpus = args.load_cpus = None
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    # SIGTERM (make interrupted, a CI timeout) unwinds like Ctrl-C, so nothing is left running
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started, t0 = datetime.datetime.now(datetime.timezone.utc), time.monotonic()
    host = machine()  # load average before we add any
    chosen = args.scenario or [s.name for s in SCENARIOS] + [RELOAD]
    runnable = [BY_NAME[n] for n in chosen if n != RELOAD and (BY_NAME[n].landed or args.include_unlanded)]
    redis_needed = any(s.needs_redis for s in runnable)
    if args.duration is None:
        # shorter quick runs once most scenarios have landed keep `make bench-quick`, install
        # included, under 2 minutes on a fresh machine
        args.duration = 10 if not args.quick else 3 if len(runnable) <= 3 else 2
    ensure_tools(args, redis_needed)
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    rows, reload_result, redis = [], None, None
    try:
        origin = start_origin(args.load_cpus)
        env = {"BENCH_ORIGIN": f"127.0.0.1:{origin.port}", "BENCH_SUBSCRIPTION_KEY": "bench-" + secrets.token_hex(16)}
        if any(s.name == "jwt" for s in runnable):
            env.update(make_jwt_material())
        if any(s.tls for s in runnable):
            env.update(make_tls_material(WORK))
        if redis_needed:
            redis = start_redis(args.load_cpus)
            env["BENCH_REDIS"] = f"127.0.0.1:{redis.port}"
        for name in chosen:
            if name == RELOAD:
                continue
            scenario = BY_NAME[name]
            if scenario not in runnable:
                print(f"{name}: skipped: {NOT_LANDED[name]}", flush=True)
                rows.append({"scenario": name, "skipped": NOT_LANDED[name]})
                continue
            print(f"{name}: {scenario.what}: {args.rounds} round(s) of {args.duration}s per target...", flush=True)
            rows += run_scenario(scenario, origin, env, args, redis)
        if RELOAD in chosen:
            print(f"reload: {args.reload_duration}s of wrk on gwcore with 2 workers, config changed and SIGHUP"
                  f" every second...", flush=True)
            reload_result = run_reload(env, args)
    finally:
        stop_all()
    report = full_report(rows, reload_result, os.cpu_count() or 1)
    print()
    print(report)
    if reload_result and reload_result["errors"]:
        print(f"\nRELOAD SAW ERRORS: {reload_result['detail']}\n{reload_result['out']}", flush=True)
    if args.results is None and not args.quick and not args.scenario:
        args.results = os.path.join(HERE, "RESULTS.md")   # only a full run rewrites the committed one
    if args.results:
        write_results(args.results, report, args, started, time.monotonic() - t0, host, redis_needed)
        print(f"\nwrote {os.path.relpath(args.results, ROOT)}")
    return 1 if reload_result and reload_result["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Limiter accuracy harness: admitted calls against the limit, for Redis shared by several gateways and for local state.

    python bench/accuracy.py [--gateways 3] [--workers 2] [--local-workers 3] [--limit 50] ...

Two runs, each on fresh processes: `redis` is G gateways x W workers sharing one redis-server
(a private one on a free port); `local` is one gateway with several workers on its shared-memory
table. In each, many keep-alive clients spread over the gateways call two limited APIs,
rate-limit-by-key and quota-by-key (`--limit` calls per key), in waves of fresh keys
(accuracy_load.py). Every 200 is an admitted call, every 429/403 a refused one. Per policy the
table sums over keys: over-admission = calls admitted beyond the limit, under-admission = calls
refused while the key was still under its limit. Exits 1 on any over-admission, 2 on answers
that make the count uncertain (5xx, socket errors) or a state backend that fell back to local
counters during the run. `make bench-accuracy` runs it; bench/README.md has the details.
"""
import argparse
import datetime
import os
import secrets
import shutil
import sys
import time

import orjson
import uvloop

from accuracy_load import hammer, key_for
from targets import HERE, WORK, Process, free_port, get, start_gwcore, start_redis, stop_all, wait_ready

POLICIES = {"rl": "rate-limit-by-key", "q": "quota-by-key"}
WINDOW = 300            # rate-limit renewal-period: longer than any run, so no key's window renews in it
QUOTA_PERIOD = 3600


def config_text(origin_port: int, state: str, limit: int, quota_start: str) -> str:
    """Both limited APIs count the x-key header; a third, open one warms the connections up."""
    key = "'@(context.request.headers.get(\"x-key\", \"none\"))'"
    return f"""\
gateway:
  access_log: "off"
  state: "{state}"
backends:
  origin: {{url: "http://127.0.0.1:{origin_port}/api"}}
apis:
  rl:
    path: rl
    backend: origin
    subscription_required: false
    policies:
      inbound:
        - rate-limit-by-key: {{calls: {limit}, renewal-period: {WINDOW}, counter-key: {key}}}
  q:
    path: q
    backend: origin
    subscription_required: false
    policies:
      inbound:
        - quota-by-key: {{calls: {limit}, renewal-period: {QUOTA_PERIOD}, counter-key: {key},
                         first-period-start: "{quota_start}"}}
  open:
    path: open
    backend: origin
    subscription_required: false
"""


def worker_states(port: int, workers: int, tries: int = 40) -> dict:
    """stateBackend of each worker of one gateway, by pid (each new connection may land on another worker)."""
    found = {}
    for _ in range(tries):
        if len(found) == workers:
            break
        status, _, body = get(port, "/internal/status", timeout=2.0)
        if status == 200:
            data = orjson.loads(body)
            found[data["worker"]] = data["stateBackend"]
    return found


def fallbacks_logged(process: Process) -> int:
    """How often a worker said its state backend became unreachable (serving on local counters)."""
    try:
        with open(process.log_path, errors="replace") as f:
            return sum("unreachable" in line for line in f)
    except OSError:
        return 0


def run_one(name: str, state: str, gateways: int, workers: int, origin_port: int, args) -> list:
    """Start the gateways, hammer them, stop them; one result dict per policy."""
    started_at = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
    config = os.path.join(WORK, f"accuracy-{name}.yaml")
    with open(config, "w") as f:
        f.write(config_text(origin_port, state, args.limit, started_at.strftime("%Y-%m-%dT%H:%M:%SZ")))
    started = [start_gwcore(f"accuracy-{name}-{g}", config, workers, {}, wait=False) for g in range(gateways)]
    try:
        for process in started:
            wait_ready(process)
            for _ in range(4 * workers):   # every worker's pools warm, its Redis connection proven
                get(process.port, "/open/warm")
        run = secrets.token_hex(4)
        tally, seconds = uvloop.run(hammer([p.port for p in started], list(POLICIES), run, args.connections,
                                           args.keys, args.waves, args.wave_seconds))
        states = [worker_states(p.port, workers) for p in started]
        fallbacks = sum(fallbacks_logged(p) for p in started)
    finally:
        stop_all(started)
    disconnected = sum(not s["connected"] for per_gateway in states for s in per_gateway.values())
    results = []
    for path, policy in POLICIES.items():
        admitted = refused = other = over = under = 0
        for wave in range(args.waves):
            for index in range(args.keys):
                counts = tally.by_key.get((path, key_for(run, wave, index)), {})
                ok = counts.get(200, 0)
                no = counts.get(429 if path == "rl" else 403, 0)
                admitted += ok
                refused += no
                other += sum(counts.values()) - ok - no
                over += max(0, ok - args.limit)
                # calls refused while fewer than the limit had got in: admissions the limiter owed
                under += min(no, max(0, args.limit - ok))
        results.append({
            "state": name, "shape": f"{gateways} x {workers}", "policy": policy,
            "keys": args.waves * args.keys, "limit": args.waves * args.keys * args.limit,
            "admitted": admitted, "over": over, "under": under, "refused": refused, "other": other,
            "failed": tally.failed[path], "requests": tally.requests(path), "seconds": seconds,
            "fallbacks": fallbacks + disconnected, "slowest": tally.slowest,
        })
    return results


def table(results: list) -> str:
    lines = ["| state | gateways x workers | policy | keys | limit (sum) | admitted | over-admitted | under-admitted"
             " | refused | other answers | state fallbacks | requests | seconds | requests/s | slowest ms |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['state']} | {r['shape']} | {r['policy']} | {r['keys']} | {r['limit']} | {r['admitted']}"
                     f" | {r['over']} | {r['under']} | {r['refused']} | {r['other'] + r['failed']}"
                     f" | {r['fallbacks']} | {r['requests']} | {r['seconds']:.1f}"
                     f" | {r['requests'] / r['seconds']:.0f} | {r['slowest'] * 1000:.0f} |")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateways", type=int, default=3, help="gateways sharing the Redis (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="workers per gateway on Redis (default 2)")
    parser.add_argument("--local-workers", type=int, default=3, help="workers of the one local gateway (default 3)")
    parser.add_argument("--limit", type=int, default=50, help="calls admitted per key (default 50)")
    parser.add_argument("--connections", type=int, default=64, help="client connections (default 64)")
    parser.add_argument("--keys", type=int, default=2, help="keys per limited API in each wave (default 2)")
    parser.add_argument("--waves", type=int, default=8, help="waves of fresh keys per run (default 8)")
    parser.add_argument("--wave-seconds", type=float, default=1.0, help="seconds per wave (default 1)")
    parser.add_argument("--only", choices=("redis", "local"), help="run one of the two")
    parser.add_argument("--redis-deadline", type=float, help="the Redis URL's ?deadline= (default: gwcore's)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if shutil.which("redis-server") is None and args.only != "local":
        raise SystemExit("redis-server is not installed: make bench-deps (or --only local)")
    os.makedirs(WORK, exist_ok=True)
    origin_port = free_port()
    origin = Process("accuracy-origin", [sys.executable, os.path.join(HERE, "tiny_origin.py"), str(origin_port)],
                     origin_port)
    results = []
    began = time.monotonic()
    try:
        origin.wait_port()
        if args.only != "local":
            redis = start_redis()
            url = f"redis://127.0.0.1:{redis.port}/0"
            if args.redis_deadline:
                url += f"?deadline={args.redis_deadline}"
            try:
                results += run_one("redis", url, args.gateways, args.workers, origin_port, args)
            finally:
                stop_all([redis])
        if args.only != "redis":
            results += run_one("local", "local", 1, args.local_workers, origin_port, args)
    finally:
        stop_all()
    print(table(results))
    print(f"\n{args.limit} calls per key; {args.connections} connections; {args.waves} waves of {args.keys} fresh"
          f" keys per API, {args.wave_seconds:g} s each; {time.monotonic() - began:.0f} s in all."
          f" Logs: {WORK}/accuracy-*.log")
    over = sum(r["over"] for r in results)
    uncertain = sum(r["other"] + r["failed"] + r["fallbacks"] for r in results)
    if over:
        print(f"FAIL: {over} calls admitted over the limit")
        return 1
    if uncertain:
        print("FAIL: answers other than 200/429/403, socket errors or state fallbacks make the count uncertain")
        return 2
    print("OK: no over-admission")
    return 0


if __name__ == "__main__":
    sys.exit(main())

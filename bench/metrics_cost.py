"""What metrics cost: gwcore `plain` with gateway.metrics on and off, CPU per request side by side.

    python bench/metrics_cost.py [--rounds N] [--duration S] [--workers N] [--pin]
    python bench/metrics_cost.py --in-process [--rounds N]

Both gateways run at once against one nginx origin and are measured in turn (on off on off
...), so load from elsewhere on the machine falls on both alike; medians are reported. The
metrics-on gateway is scraped once a second during its runs, as Prometheus would.
`--in-process` times the worker's Python path alone (bench/microbench.py's fake transports)
for two workers in one process, one counting and one not, in alternating batches of CPU time:
the steadiest figure when the machine is shared.
"""
import argparse
import os
import shutil
import statistics
import sys
import threading
import urllib.request

import wrkrun
from catalog import BY_NAME
from targets import HERE, WORK, free_port, start_gwcore, start_origin, stop_all

ADMIN_ENV = "GWCORE_GATEWAY__ADMIN__LISTEN"


def scraper(port: int, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read()
        except OSError:
            pass


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pin", action="store_true", help="gateways on CPU 0, origin and wrk on CPU 1")
    parser.add_argument("--in-process", action="store_true", help="no sockets: the Python path only")
    args = parser.parse_args(argv)
    if args.in_process:
        return in_process(args.rounds)
    proxy_cpus, load_cpus = ("0", "1") if args.pin else (None, None)
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    scenario = BY_NAME["plain"]
    try:
        origin = start_origin(load_cpus)
        env = {"BENCH_ORIGIN": f"127.0.0.1:{origin.port}"}
        config = os.path.join(HERE, "scenarios", scenario.config)
        admin_port = free_port()
        on = start_gwcore("metrics-on", config, args.workers, {**env, ADMIN_ENV: f"127.0.0.1:{admin_port}"},
                          proxy_cpus)
        off = start_gwcore("metrics-off", config, args.workers, {**env, "GWCORE_GATEWAY__METRICS": "false"},
                           proxy_cpus)
        samples = {"on": [], "off": []}
        for target in (on, off):  # warm the upstream pools
            wrkrun.run(f"http://127.0.0.1:{target.port}{scenario.path}", 1, args.connections, strict=True,
                       cpus=load_cpus, what=f"{target.name} warm-up")
        stop = threading.Event()
        threading.Thread(target=scraper, args=(admin_port, stop), daemon=True).start()
        for round_ in range(args.rounds):
            for key, target in (("on", on), ("off", off)) if round_ % 2 == 0 else (("off", off), ("on", on)):
                before = target.cpu_seconds()
                result = wrkrun.run(f"http://127.0.0.1:{target.port}{scenario.path}", args.duration,
                                    args.connections, strict=True, cpus=load_cpus, what=target.name)
                samples[key].append((target.cpu_seconds() - before) * 1e6 / result["requests"])
                print(f"round {round_ + 1} metrics {key:3}: {samples[key][-1]:.2f} us CPU/request,"
                      f" {result['rps']:.0f} req/s", flush=True)
        stop.set()
    finally:
        stop_all()
    on_us, off_us = statistics.median(samples["on"]), statistics.median(samples["off"])
    print(f"\nplain, {args.workers} worker(s), {args.rounds} rounds of {args.duration}s: metrics on {on_us:.2f} us"
          f" CPU/request, off {off_us:.2f} us: on costs {(on_us / off_us - 1) * 100:+.1f}%")
    return 0


def in_process(rounds: int, batch: int = 20000) -> int:
    import time

    import microbench
    setups = {}
    for key, value in (("on", "true"), ("off", "false")):
        os.environ["GWCORE_GATEWAY__METRICS"] = value   # read when the plan is loaded
        setups[key] = microbench.setup("plain")
    os.environ.pop("GWCORE_GATEWAY__METRICS")
    samples = {"on": [], "off": []}
    for key, (client, upstream) in setups.items():  # warm up, and check both answer
        for _ in range(2000):
            microbench.one(client, upstream)
        assert client.transport.last.startswith(b"HTTP/1.1 200 OK")
    assert setups["on"][0].worker.metrics is not None and setups["off"][0].worker.metrics is None
    for round_ in range(rounds * 4):
        for key in ("on", "off") if round_ % 2 == 0 else ("off", "on"):
            client, upstream = setups[key]
            started = time.process_time()
            for _ in range(batch):
                microbench.one(client, upstream)
            samples[key].append((time.process_time() - started) / batch * 1e6)
        setups["on"][0].worker.metrics.take()  # what the heartbeat does once a second
    on_us, off_us = statistics.median(samples["on"]), statistics.median(samples["off"])
    print(f"plain, in process, {len(samples['on'])} batches of {batch}: metrics on {on_us:.3f} us CPU/request,"
          f" off {off_us:.3f} us: on costs {on_us - off_us:+.3f} us ({(on_us / off_us - 1) * 100:+.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Side-by-side benchmark: gwcore and nginx proxying the same nginx origin, reported as ratios.

    python bench/run.py [--quick] [--duration S] [--rounds N] [--scenario NAME ...] [--pin]

Targets are interleaved (A B A B ...) over several rounds and medians reported. CPU per
request is utime+stime of the proxy's own processes (read from /proc) divided by the
requests wrk completed: the steadiest figure on a small shared machine.
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, ".work")
TICKS = os.sysconf("SC_CLK_TCK")
ORIGIN_BODY = '{"id":42,"name":"widget","price":9.99,"tags":["a","b"],"stock":true,"note":"benchmark origin"}'

# Scenario -> None when it can run, else why it is skipped. Update as features land.
SCENARIOS = {
    "plain": None,
    "keyed": "subscription and rate-limit behaviour not landed yet (issues 6, 7)",
    "keyed-redis": "redis state backend not landed yet (issue 7)",
    "jwt": "validate-jwt behaviour not landed yet (issue 6)",
    "cached": "cache-lookup/cache-store behaviour not landed yet (issue 7)",
    "large": None,
}
SCENARIO_PATH = {"large": "/bench/large"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port} after {timeout}s")


def descendants(pid: int) -> list:
    """pid and every process below it (nginx master + workers, gwcore supervisor + workers)."""
    out = [pid]
    try:
        children = open(f"/proc/{pid}/task/{pid}/children").read().split()
    except OSError:
        return out
    for child in children:
        out += descendants(int(child))
    return out


def cpu_seconds(pid: int) -> float:
    total = 0
    for p in descendants(pid):
        try:
            fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def pin(pid: int, cpus: str) -> None:
    for p in descendants(pid):
        subprocess.run(["taskset", "-pc", cpus, str(p)], capture_output=True)


class Process:
    def __init__(self, name: str, argv: list, port: int, env=None):
        self.name = name
        self.port = port
        log = open(os.path.join(WORK, f"{name}.log"), "w")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        wait_port(port)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT if self.name.startswith("nginx") else signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def nginx(name: str, port: int, body: str) -> Process:
    """nginx with one worker; `body` is the http{} server block's content."""
    prefix = os.path.join(WORK, name)
    os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""
worker_processes 1;
daemon off;
user root;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    keepalive_requests 1000000;
    {body}
}}
""")
    return Process(name, ["nginx", "-p", prefix, "-c", conf], port)


def start_origin() -> Process:
    port = free_port()
    large = os.path.join(WORK, "large.bin")
    with open(large, "wb") as f:
        f.write(os.urandom(1024 * 1024))
    return nginx("nginx-origin", port, f"""
    server {{
        listen 127.0.0.1:{port} reuseport;
        location /bench/large {{ alias {large}; default_type application/octet-stream; }}
        location / {{ default_type application/json; return 200 '{ORIGIN_BODY}'; }}
    }}""")


def start_nginx_proxy(origin_port: int) -> Process:
    port = free_port()
    conf = os.path.join(WORK, "nginx-proxy-location.conf")
    with open(conf, "w") as f:  # the same work gwcore does: keep-alive upstream, forwarded headers, request id
        f.write(f"""
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host 127.0.0.1:{origin_port};
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Request-Id $request_id;
            add_header X-Request-Id $request_id;
            proxy_buffering off;
""")
    return nginx("nginx-proxy", port, f"""
    upstream origin {{ server 127.0.0.1:{origin_port}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port} reuseport;
        location /inventory/v1/ {{ proxy_pass http://origin/api/; include {conf}; }}
        location /bench/ {{ proxy_pass http://origin/bench/; include {conf}; }}
    }}""")


def start_gwcore(scenario: str, origin_port: int, workers: int) -> Process:
    port = free_port()
    template = open(os.path.join(HERE, "scenarios", f"{scenario}.yaml")).read()
    config = os.path.join(WORK, f"gwcore-{scenario}-{workers}w.yaml")
    with open(config, "w") as f:
        f.write(template.replace("ORIGIN_PORT", str(origin_port)))
    gwcore = os.path.join(os.path.dirname(sys.executable), "gwcore")
    argv = [gwcore, "run", "--config", config, "--listen", f"127.0.0.1:{port}", "--workers", str(workers)]
    return Process(f"gwcore-{workers}w", argv, port)


def wrk(port: int, path: str, duration: float, connections: int, script: str = None) -> dict:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    if script:
        argv += ["-s", os.path.join(HERE, "wrk", script)]
    argv.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    result = {"out": out}
    result["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    result["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    result["bytes_per_s"] = _size(re.search(r"Transfer/sec:\s+([\d.]+\w+)", out).group(1))
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)", out, re.M)
        result[f"p{pct}"] = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if bad or errors:
        raise SystemExit(f"benchmark run failed on port {port}:\n{out}")
    return result


def _size(text: str) -> float:
    m = re.match(r"([\d.]+)(\w+)", text)
    return float(m.group(1)) * {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}[m.group(2)]


def measure(target: Process, path: str, args) -> dict:
    before = cpu_seconds(target.proc.pid)
    result = wrk(target.port, path, args.duration, args.connections)
    result["cpu_us"] = (cpu_seconds(target.proc.pid) - before) * 1e6 / max(result["requests"], 1)
    return result


def run_scenario(scenario: str, origin: Process, args) -> list:
    path = SCENARIO_PATH.get(scenario, "/inventory/v1/items/42")
    targets = [start_nginx_proxy(origin.port)]
    for workers in args.workers:
        targets.append(start_gwcore(scenario, origin.port, workers))
    if args.pin:
        pin(origin.proc.pid, "1")
        for t in targets:
            pin(t.proc.pid, "0")
    try:
        for t in targets:  # warm up keep-alive pools and caches
            wrk(t.port, path, 1, args.connections)
        samples = {t.name: [] for t in targets}
        for _ in range(args.rounds):
            for t in targets:
                samples[t.name].append(measure(t, path, args))
    finally:
        for t in targets:
            t.stop()
    rows = []
    base = None
    for t in targets:
        runs = samples[t.name]
        row = {key: statistics.median(r[key] for r in runs) for key in ("rps", "p50", "p99", "cpu_us", "bytes_per_s")}
        row["target"] = t.name
        row["scenario"] = scenario
        if base is None:
            base = row
        row["rps_ratio"] = row["rps"] / base["rps"]
        row["cpu_ratio"] = row["cpu_us"] / base["cpu_us"] if base["cpu_us"] else float("nan")
        rows.append(row)
    return rows


def table(rows: list) -> str:
    lines = ["| scenario | target | req/s | MiB/s | p50 ms | p99 ms | CPU µs/req | req/s vs nginx | CPU/req vs nginx |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['scenario']} | skipped: {r['skipped']} | | | | | | | |")
            continue
        lines.append(f"| {r['scenario']} | {r['target']} | {r['rps']:.0f} | {r['bytes_per_s'] / 2**20:.1f} | "
                     f"{r['p50']:.2f} | {r['p99']:.2f} | {r['cpu_us']:.1f} | {r['rps_ratio']:.2f}x | "
                     f"{r['cpu_ratio']:.2f}x |")
    return "\n".join(lines)


def versions() -> str:
    def first_line(argv):
        try:
            p = subprocess.run(argv, capture_output=True, text=True)
            return (p.stdout or p.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"
    gwcore = os.path.join(os.path.dirname(sys.executable), "gwcore")
    return "; ".join([first_line([gwcore, "version"]), first_line(["nginx", "-v"]), first_line(["wrk", "--version"])])


def cpu_model() -> str:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs, one round; prints the table only")
    parser.add_argument("--duration", type=float, help="seconds per wrk run (default 10, quick 4)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3, quick 1)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), help="repeatable")
    parser.add_argument("--workers", type=int, action="append", help="gwcore worker counts (default 1 and 2)")
    parser.add_argument("--pin", action="store_true", help="taskset: proxies on CPU 0, origin on CPU 1")
    args = parser.parse_args(argv)
    args.duration = args.duration or (4 if args.quick else 10)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.workers = args.workers or [1, 2]
    for tool in ("nginx", "wrk"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed: run `make bench-deps`")
    os.makedirs(WORK, exist_ok=True)
    if not supervisor_landed() and any(w > 1 for w in args.workers):
        print("gwcore with several workers: skipped: the supervisor has not landed yet (issue 5)", flush=True)
        args.workers = [w for w in args.workers if w == 1]
    origin = start_origin()
    rows = []
    try:
        for scenario in args.scenario or list(SCENARIOS):
            why = SCENARIOS[scenario]
            if why is not None:
                print(f"{scenario}: skipped: {why}", flush=True)
                rows.append({"scenario": scenario, "skipped": why})
                continue
            print(f"{scenario}: running ({args.rounds} round(s) of {args.duration:.0f}s per target)...", flush=True)
            rows += run_scenario(scenario, origin, args)
    finally:
        origin.stop()
    report = table(rows)
    print(report)
    if not args.quick:
        with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
            f.write(f"# Benchmark results\n\nWritten by `make bench` ({' '.join(sys.argv[1:]) or 'defaults'}) on "
                    f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC.\n\n"
                    f"* machine: {os.cpu_count()} cores, {cpu_model()}\n* versions: {versions()}\n"
                    f"* method: wrk -t1 -c{args.connections} -d{args.duration:.0f}s per target, targets interleaved, "
                    f"{args.rounds} rounds, medians; CPU µs/req = utime+stime of the proxy's processes / requests.\n"
                    f"* ratios are against nginx (1 worker, upstream keepalive) on the same origin in the same run.\n\n"
                    f"{report}\n")
    return 0


def supervisor_landed() -> bool:
    try:
        import gwcore.supervisor  # noqa: F401
        return True
    except ImportError:
        return False


if __name__ == "__main__":
    raise SystemExit(main())

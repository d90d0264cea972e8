"""The processes a benchmark runs: nginx origin, nginx proxy, gwcore, redis-server; and their CPU time."""
import http.client
import os
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, ".work")
TICKS = os.sysconf("SC_CLK_TCK")
ORIGIN_BODY = '{"id":42,"name":"widget","price":9.99,"tags":["a","b"],"stock":true,"note":"benchmark origin"}'
LARGE_BYTES = 1024 * 1024
STATUS_PATH = "/status-0123456789abcdef"
GWCORE = os.path.join(os.path.dirname(sys.executable), "gwcore")

_started = []   # every Process, so that stop_all() leaves nothing running whatever went wrong


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_prefix(cpus) -> list:
    """`taskset -c CPUS` before a command when pinning, so the process and all it forks stay there."""
    return ["taskset", "-c", cpus] if cpus else []


def get(port: int, path: str, headers=(), timeout: float = 5.0):
    """One GET; (status, headers as a lower-cased dict, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=dict(headers))
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


class Process:
    """A server started in its own session; its log is WORK/<name>.log."""

    def __init__(self, name: str, argv: list, port: int, env=None, cwd=None, stop_signal=signal.SIGTERM):
        self.name = name
        self.port = port
        self.stop_signal = stop_signal
        self.log_path = os.path.join(WORK, f"{name}.log")
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                         start_new_session=True)
        _started.append(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 15) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def fail(self, why: str):
        raise SystemExit(f"{self.name}: {why}\n--- last lines of {self.log_path}:\n{self.log_tail()}")

    def wait_port(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.fail(f"exited with code {self.proc.returncode} before listening on {self.port}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.fail(f"nothing listens on port {self.port} after {timeout:.0f}s")

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.pid)

    def request_stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.pid, self.stop_signal)

    def wait_stopped(self) -> None:
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        try:  # anything left in its session (a worker that outlived its supervisor)
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        if self in _started:
            _started.remove(self)

    def stop(self) -> None:
        stop_all([self])


def stop_all(processes=None) -> None:
    """Stop `processes` (default: every one started), all at once: each signalled, then each awaited."""
    processes = list(reversed(_started)) if processes is None else list(processes)
    for process in processes:
        process.request_stop()
    for process in processes:
        process.wait_stopped()


def tree_cpu_seconds(root: int) -> float:
    """utime+stime of `root` and every process below it, plus what their reaped children used
    (cutime+cstime), so a worker that exits and is replaced mid-run still counts."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited while we looked
            stats[int(entry)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    children = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, (0, 0))[1]
        todo += children.get(pid, [])
    return total / TICKS


# ---------------------------------------------------------------- nginx

def _nginx(name: str, port: int, server: str, http_extra: str = "", cpus=None) -> Process:
    """nginx, one worker, no access log; `server` and `http_extra` go inside http{}."""
    prefix = os.path.join(WORK, name)
    os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
    conf = os.path.join(prefix, "nginx.conf")
    user = "user root;" if os.geteuid() == 0 else ""  # as root nginx would switch to nobody, who cannot read WORK
    with open(conf, "w") as f:
        f.write(f"""
worker_processes 1;
daemon off;
{user}
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
    {http_extra}
    {server}
}}
""")
    # -e: nginx opens its compiled-in error log before reading the config; keep that in WORK too
    argv = ["nginx", "-p", prefix, "-c", conf, "-e", os.path.join(prefix, "logs", "error.log")]
    check = subprocess.run(argv + ["-t", "-q"], capture_output=True, text=True)
    if check.returncode:
        raise SystemExit(f"{name}: nginx refuses {conf}:\n{check.stderr}")
    # SIGQUIT: nginx's graceful stop (SIGTERM would be its fast one; either is fine after wrk is done)
    process = Process(name, cpu_prefix(cpus) + argv, port, stop_signal=signal.SIGQUIT)
    process.wait_port()
    return process


def start_origin(cpus=None) -> Process:
    """The fast origin: a ~100-byte JSON under /api/ (X-Origin-Id tells cache hits from misses), 1 MiB under /bench/."""
    os.makedirs(WORK, exist_ok=True)
    port = free_port()
    large = os.path.join(WORK, "large.bin")
    if not os.path.exists(large) or os.path.getsize(large) != LARGE_BYTES:
        with open(large, "wb") as f:
            f.write(os.urandom(LARGE_BYTES))
    return _nginx("nginx-origin", port, f"""
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        location /bench/large {{ alias {large}; default_type application/octet-stream; }}
        location /api/ {{
            default_type application/json;
            add_header X-Origin-Id $request_id;
            return 200 '{ORIGIN_BODY}';
        }}
    }}""", cpus=cpus)


def start_nginx_proxy(scenario, origin_port: int, env: dict, cpus=None) -> Process:
    """nginx as the peer reverse proxy: upstream keep-alive, and the headers gwcore sets itself."""
    port = free_port()
    tls_port = free_port() if scenario.tls else None
    http_extra, location_extra = scenario.nginx(env)
    # TLS as gwcore does it: session tickets on (nginx's default too), HTTP/1.1, TLS 1.2 and 1.3
    tls = f"""
        listen 127.0.0.1:{tls_port} ssl reuseport backlog=4096;
        ssl_certificate {env["BENCH_TLS_CERT"]};
        ssl_certificate_key {env["BENCH_TLS_KEY"]};
        ssl_protocols TLSv1.2 TLSv1.3;""" if scenario.tls else ""
    common = f"""
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host 127.0.0.1:{origin_port};
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Request-Id $request_id;
            add_header X-Request-Id $request_id;
            proxy_buffering {"on" if scenario.nginx_buffering else "off"};
            {location_extra}"""
    process = _nginx("nginx-proxy", port, f"""
    upstream origin {{ server 127.0.0.1:{origin_port}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;{tls}
        location /inventory/v1/ {{ proxy_pass http://origin/api/; {common} }}
        location /bench/ {{ proxy_pass http://origin/bench/; {common} }}
    }}""", http_extra=http_extra, cpus=cpus)
    process.tls_port = tls_port
    return process


# ---------------------------------------------------------------- gwcore and redis

def start_gwcore(name: str, config: str, workers: int, env: dict, cpus=None, wait: bool = True,
                 tls: bool = False) -> Process:
    """`gwcore run` on a free port; returns once every worker has said it is ready (wait=False:
    at once, and wait_ready() later, so that several gateways boot side by side). With `tls`, its
    TLS listener is on another free port (`.tls_port`)."""
    port = free_port()
    tls_port = free_port() if tls else None
    if tls:
        env = {**env, "GWCORE_GATEWAY__TLS__LISTEN": f"127.0.0.1:{tls_port}"}
    pidfile = os.path.join(WORK, f"{name}.pid")
    argv = cpu_prefix(cpus) + [GWCORE, "run", "--config", config, "--listen", f"127.0.0.1:{port}",
                               "--workers", str(workers), "--pidfile", pidfile]
    # cwd=WORK: started from the repository root, the worker's `python -m gwcore.workers.main`
    # imports the source tree's gwcore/ (which has no workers/) instead of the installed package.
    # an admin listener of its own (gateways run side by side; the default port would be shared)
    admin = {"GWCORE_GATEWAY__ADMIN__LISTEN": f"127.0.0.1:{free_port()}"}
    process = Process(name, argv, port, env={**os.environ, **admin, **env}, cwd=WORK, stop_signal=signal.SIGINT)
    process.pidfile = pidfile
    process.workers = workers
    process.tls_port = tls_port
    if wait:
        wait_ready(process)
    return process


def wait_ready(process: Process, timeout: float = 20.0) -> None:
    """The status endpoint answers 200 and the supervisor has logged that all workers are ready."""
    process.wait_port(timeout)
    ready_line = f"all {process.workers} worker(s) ready"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.proc.poll() is not None:
            process.fail(f"exited with code {process.proc.returncode} while starting")
        try:
            status = get(process.port, STATUS_PATH, timeout=1.0)[0]
        except OSError:
            status = None
        if status == 200 and ready_line in process.log_tail(200):
            return
        time.sleep(0.1)
    process.fail(f"not ready after {timeout:.0f}s (waited for {STATUS_PATH} to answer 200 and for "
                 f"'{ready_line}' in the log)")


def start_redis(cpus=None) -> Process:
    """A private redis-server on a free port, no persistence (never the machine's own on 6379)."""
    port = free_port()
    rundir = os.path.join(WORK, "redis")
    os.makedirs(rundir, exist_ok=True)
    argv = cpu_prefix(cpus) + ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", rundir, "--daemonize", "no"]
    process = Process("redis", argv, port)
    process.wait_port()
    return process


def redis_dbsize(port: int) -> int:
    """DBSIZE over a bare socket, to see that the gateway wrote its counters there."""
    with socket.create_connection(("127.0.0.1", port), 2.0) as s:
        s.sendall(b"*1\r\n$6\r\nDBSIZE\r\n")
        reply = s.recv(64)
    if not reply.startswith(b":"):
        raise SystemExit(f"redis on {port} answered DBSIZE with {reply!r}")
    return int(reply[1:].split(b"\r\n", 1)[0])

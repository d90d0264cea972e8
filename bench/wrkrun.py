"""Runs wrk with one of bench/wrk/*.lua and reads its figures; any error response or socket error fails."""
import os
import subprocess

from targets import HERE, cpu_prefix

WRK_DIR = os.path.join(HERE, "wrk")


class WrkFailed(SystemExit):
    """A run that saw an error: the benchmark stops here, loudly, with wrk's own output."""


def wrk_argv(url: str, duration: int, connections: int, headers=(), strict=False, cpus=None) -> list:
    script = os.path.join(WRK_DIR, "strict.lua" if strict else "summary.lua")
    argv = cpu_prefix(cpus) + ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "-s", script]
    for name, value in headers:
        argv += ["-H", f"{name}: {value}"]
    return argv + [url]


def parse(out: str) -> dict:
    """The `gwbench key=value` lines the scripts print, as numbers where they are numbers."""
    values = {}
    for line in out.splitlines():
        if line.startswith("gwbench "):
            key, _, value = line[len("gwbench "):].partition("=")
            values[key] = int(value) if value.isdigit() else value
    return values


def check(values: dict, out: str, what: str) -> dict:
    """Figures in the units the report uses; WrkFailed if anything but 2xx came back."""
    if "requests" not in values:
        raise WrkFailed(f"{what}: wrk printed no summary:\n{out}")
    errors = {k: values[k] for k in ("status_errors", "non2xx", "connect_errors", "read_errors",
                                     "write_errors", "timeouts") if values.get(k)}
    if errors or not values["requests"]:
        detail = ", ".join(f"{k} {v}" for k, v in errors.items()) or "no requests completed"
        first = f"\nfirst non-2xx: {values['first_non2xx']}" if "first_non2xx" in values else ""
        raise WrkFailed(f"{what}: FAILED: {detail} in {values['requests']} requests{first}\n{out}")
    seconds = values["duration_us"] / 1e6
    return {"requests": values["requests"], "seconds": seconds, "rps": values["requests"] / seconds,
            "bytes_per_s": values["bytes"] / seconds, "p50": values["p50_us"] / 1e3,
            "p99": values["p99_us"] / 1e3, "errors": 0}


def run(url: str, duration: int, connections: int, headers=(), strict=False, cpus=None, what: str = "") -> dict:
    argv = wrk_argv(url, duration, connections, headers, strict, cpus)
    done = subprocess.run(argv, capture_output=True, text=True)
    out = done.stdout + done.stderr
    if done.returncode:
        raise WrkFailed(f"{what}: wrk exited with code {done.returncode}: {' '.join(argv)}\n{out}")
    return check(parse(out), out, what or url)


def start(url: str, duration: int, connections: int, headers=(), cpus=None) -> subprocess.Popen:
    """A strict run in the background (the reload scenario signals the gateway meanwhile)."""
    argv = wrk_argv(url, duration, connections, headers, strict=True, cpus=cpus)
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def counts(out: str) -> dict:
    """Requests and every kind of error of a finished run, without failing (the reload report)."""
    values = parse(out)
    errors = sum(values.get(k, 0) for k in ("non2xx", "connect_errors", "read_errors", "write_errors", "timeouts"))
    seconds = values.get("duration_us", 0) / 1e6
    return {"requests": values.get("requests", 0), "errors": errors, "seconds": seconds,
            "rps": values.get("requests", 0) / seconds if seconds else 0.0, "detail": values}

"""`gwcore top`: a live terminal view of a running gateway, read from its admin listener each second.

Needs the optional extra gwcore[top] (rich); `gwcore top` says so when it is missing.
"""
import json
import time
import urllib.error
import urllib.request


def fetch(url: str, token: str = None, timeout: float = 2.0) -> dict:
    """The admin listener's /admin/stats as a dict."""
    request = urllib.request.Request(url.rstrip("/") + "/admin/stats")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.loads(answer.read())


def _seconds(value) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.1f}ms" if value < 1 else f"{value:.2f}s"


def _bytes(value) -> str:
    if value is None:
        return "-"
    return f"{value / 2**20:.0f}M"


def _ago(epoch) -> str:
    if not epoch:
        return "never"
    seconds = max(time.time() - epoch, 0)
    return f"{seconds:.0f}s ago" if seconds < 120 else f"{seconds / 60:.0f}m ago"


class Frame:
    """Turns successive stats into one renderable; error ratio and denials over the last interval."""

    def __init__(self):
        self.previous = None

    def render(self, stats: dict, source: str):
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        sup, totals, workers = stats["supervisor"], stats["totals"], stats["workers"]
        before = self.previous or {"requests": 0, "errors_5xx": 0, "ratelimit_denied": 0}
        self.previous = totals
        requests = totals["requests"] - before["requests"]
        errors = totals["errors_5xx"] - before["errors_5xx"]
        ratio = errors / requests if requests > 0 else 0.0
        reload = sup.get("last_reload")
        reload_text = "never" if not reload else \
            f"{'ok' if reload['ok'] else 'FAILED'} {_ago(reload['at'])} (generation {reload['generation']})"
        states = sorted({(w["state_backend"], w["state_up"]) for w in workers if w["state_backend"]})
        state_text = ", ".join(f"{kind} {'up' if up else 'DOWN'}" for kind, up in states) or "-"
        rate = sum(w["requests_per_second"] for w in workers)
        head = Text()
        head.append(f"gwcore {sup['version']}  supervisor {sup['pid']}  {source}  generation {sup['generation']}"
                    f"  workers {len([w for w in workers if w['state'] == 'ready'])}/{sup['workers_wanted']}"
                    + ("  STOPPING" if sup.get("stopping") else "") + "\n", style="bold")
        head.append(f"req/s {rate:.1f}  requests {totals['requests']}  5xx ratio {ratio:.2%}"
                    f"  p50 {_seconds(totals['p50_seconds'])}  p99 {_seconds(totals['p99_seconds'])}"
                    f"  rate-limit denials {totals['ratelimit_denied'] - before['ratelimit_denied']}"
                    f" (total {totals['ratelimit_denied']})\n")
        cache = totals.get("cache", {})
        head.append(f"state {state_text}  cache hit/miss {cache.get('hit', 0)}/{cache.get('miss', 0)}"
                    f"  last reload {reload_text}  restarts {sum(sup.get('restarts', {}).values())}"
                    + ("" if sup.get("metrics", True) else "  (metrics off: counts are zero)"))
        table = Table(expand=False, header_style="bold reverse")
        for column in ("PID", "SLOT", "STATE", "GEN", "UPTIME", "RSS", "REQ/S", "REQUESTS", "INFLIGHT", "CONNS",
                       "UP OPEN", "UP IDLE", "STATE LAT"):
            table.add_column(column, justify="left" if column == "STATE" else "right")
        for w in workers:
            latency = w.get("state_latency_ms")
            table.add_row(str(w["pid"]), str(w["slot"]), w["state"], str(w["generation"]),
                          f"{w['uptime_seconds']:.0f}s", _bytes(w["rss_bytes"]), f"{w['requests_per_second']:.1f}",
                          str(w["requests"]), str(w["in_flight"]), str(w["connections"]), str(w["upstream_open"]),
                          str(w["upstream_idle"]), "-" if latency is None else f"{latency:.2f}ms")
        return Group(head, table)


def run(url: str, token: str = None, once: bool = False, interval: float = 1.0) -> int:
    """Show the view until Ctrl-C; with `once`, print one frame and return (scripts, tests)."""
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    frame = Frame()
    console = Console()
    if once:
        try:
            console.print(frame.render(fetch(url, token), url))
        except (OSError, urllib.error.URLError, ValueError) as exc:
            console.print(f"cannot read {url}/admin/stats: {exc}", style="bold red", highlight=False)
            return 1
        return 0
    try:
        with Live(console=console, refresh_per_second=4, screen=False) as live:
            while True:
                try:
                    live.update(frame.render(fetch(url, token), url))
                except (OSError, urllib.error.URLError, ValueError) as exc:
                    live.update(Text(f"cannot read {url}/admin/stats: {exc} (retrying)", style="bold red"))
                time.sleep(interval)
    except KeyboardInterrupt:
        return 0

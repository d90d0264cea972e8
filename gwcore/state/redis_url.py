"""Reads a state URL: redis://, rediss://, redis+sentinel://host:port[,host:port]/service[/db], redis+cluster://host:port[,...]."""
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379


@dataclass(frozen=True)
class RedisTarget:
    """Where Redis is and how to talk to it; `deadline` (seconds) bounds every call."""

    kind: str                               # "single" | "sentinel" | "cluster"
    addresses: tuple                        # ((host, port), ...): the server, the sentinels or the seed nodes
    db: int = 0
    username: str = None
    password: str = None
    tls: bool = False
    tls_verify: bool = True
    tls_ca_file: str = None
    service: str = None                     # the Sentinel master name
    deadline: float = None

    @property
    def name(self) -> str:
        """For log lines and /internal/status: addresses and service, never the password."""
        hosts = ",".join(f"{h}:{p}" for h, p in self.addresses)
        return f"{hosts}/{self.service}" if self.kind == "sentinel" else hosts


def parse_url(url: str) -> RedisTarget:
    """A RedisTarget, or ValueError naming what is wrong with the URL."""
    parts = urlsplit(url)
    kinds = {"redis": "single", "rediss": "single", "redis+sentinel": "sentinel", "redis+cluster": "cluster"}
    if parts.scheme not in kinds:
        raise ValueError(f"state URL {url!r}: the scheme is redis, rediss, redis+sentinel or redis+cluster")
    kind = kinds[parts.scheme]
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    default_port = DEFAULT_SENTINEL_PORT if kind == "sentinel" else DEFAULT_PORT
    addresses = tuple(_address(item, default_port, url) for item in hostlist.split(",") if item)
    if not addresses:
        raise ValueError(f"state URL {url!r} names no host")
    if kind == "single" and len(addresses) > 1:
        raise ValueError(f"state URL {url!r}: several hosts need redis+sentinel:// or redis+cluster://")
    path = [p for p in parts.path.split("/") if p]
    service = None
    if kind == "sentinel":
        if not path:
            raise ValueError(f"state URL {url!r}: redis+sentinel://host:port/service_name[/db] needs the service name")
        service = unquote(path.pop(0))
    db = 0
    if path:
        if kind == "cluster" or len(path) > 1 or not path[0].isdigit():
            raise ValueError(f"state URL {url!r}: the path is /db, a whole number (Cluster has only db 0)")
        db = int(path[0])
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    deadline = None
    if "deadline" in query:
        try:
            deadline = float(query.pop("deadline"))
        except ValueError:
            raise ValueError(f"state URL {url!r}: deadline is in seconds, e.g. ?deadline=0.05") from None
        if not 0 < deadline <= 10:
            raise ValueError(f"state URL {url!r}: deadline must be above 0 and at most 10 seconds")
    tls_verify = query.pop("ssl_cert_reqs", "required") != "none"
    tls_ca_file = query.pop("ssl_ca_certs", None)
    if query:
        raise ValueError(f"state URL {url!r}: unknown parameter {sorted(query)[0]!r}"
                         " (known: deadline, ssl_cert_reqs, ssl_ca_certs)")
    return RedisTarget(kind=kind, addresses=addresses, db=db, username=unquote(username) or None,
                       password=unquote(password) or None, tls=parts.scheme == "rediss", tls_verify=tls_verify,
                       tls_ca_file=tls_ca_file, service=service, deadline=deadline)


def _address(item: str, default_port: int, url: str):
    host, sep, port = item.rpartition(":") if not item.endswith("]") else (item, "", "")
    if not sep:
        host, port = item, str(default_port)
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"state URL {url!r}: {item!r} is not host:port")
    return host, int(port)

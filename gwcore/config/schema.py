"""The config file's shape as pydantic v2 models (snake_case keys; policies are parsed separately)."""
import re
from typing import Any, Literal, Optional, Union
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gwcore.config.durations import Duration

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]*$")
_BAD_HOST = re.compile(r"[\s{}<>\"'`|^\\%!$&()*+,;=]")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_host_port(value: str) -> str:
    host, sep, port = str(value).rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not HOST:PORT (e.g. 0.0.0.0:8080)")
    if host.startswith("[") != host.endswith("]") or (":" in host and not host.startswith("[")):
        raise ValueError(f"{value!r}: write an IPv6 host in brackets, e.g. [::]:8080")
    return str(value)


def check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http:// or https:// URL with a host")
    if parts.query or parts.fragment:
        raise ValueError("a backend URL takes no query or fragment")
    if _BAD_HOST.search(parts.hostname):
        raise ValueError(f"{value!r}: {parts.hostname!r} is not a host name")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{value!r} has an invalid port") from None
    if port == 0:
        raise ValueError(f"{value!r} has an invalid port (0)")
    if parts.username is not None or parts.password is not None:
        raise ValueError("a backend URL takes no user:password@; use an authentication policy")
    return value


class Limits(Model):
    max_header_bytes: int = Field(16384, ge=1024, le=1048576)
    max_header_count: int = Field(100, ge=8, le=10000)
    max_uri_bytes: int = Field(8192, ge=256, le=1048576)
    max_body_bytes: int = Field(10485760, ge=0)


class Timeouts(Model):
    header_read: Duration = 10.0
    keepalive_idle: Duration = 75.0
    body_read: Duration = 60.0
    graceful: Duration = 30.0


class TlsCertificate(Model):
    """One server certificate and the host names (SNI) it answers for."""

    hostnames: list[str] = []
    cert: str      # PEM file: the certificate, then its chain; relative paths from the config file's folder
    key: str       # PEM file: the private key (unencrypted)

    @field_validator("hostnames")
    @classmethod
    def _hostnames(cls, value: list):
        out = []
        for name in value:
            name = str(name).strip().lower().rstrip(".")
            bare = name[2:] if name.startswith("*.") else name
            if not bare or "*" in bare or _BAD_HOST.search(bare) or ":" in bare or "/" in bare:
                raise ValueError(f"{name!r} is not a host name (a wildcard stands only as the first label:"
                                 " *.example.com)")
            out.append(name)
        return out


class ClientCertificates(Model):
    """TLS client authentication on the listener."""

    mode: Literal["off", "optional", "require"] = "off"
    ca: Optional[str] = None    # PEM file of the CAs a client certificate must chain to
    crl: Optional[str] = None   # PEM file of revocation lists checked at the handshake (validate-revocation)

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value):
        return "off" if value is False else value   # YAML 1.1 reads a bare `off` as false

    @model_validator(mode="after")
    def _ca(self):
        if self.mode != "off" and not self.ca:
            raise ValueError(f"mode {self.mode} needs `ca`: the PEM file of the CAs client certificates must"
                             " chain to (a self-signed client certificate can be its own CA)")
        return self


class Tls(Model):
    """The TLS listener: gwcore terminates HTTPS itself."""

    listen: str = "0.0.0.0:8443"
    certificates: list[TlsCertificate] = Field(min_length=1)
    min_version: Literal["1.2", "1.3"] = "1.2"
    ciphers: Optional[str] = None        # OpenSSL cipher string (TLS 1.2); None: the ssl module's default
    client_certificates: ClientCertificates = ClientCertificates()

    _listen = field_validator("listen")(check_host_port)

    @field_validator("min_version", mode="before")
    @classmethod
    def _version(cls, value):
        return str(value) if isinstance(value, float) else value   # `min_version: 1.2` unquoted


class Admin(Model):
    """The supervisor's admin listener: /metrics, /healthz, /readyz, /admin/*."""

    listen: Optional[str] = "127.0.0.1:9901"   # HOST:PORT, or off / null for none
    token: Optional[str] = Field(None, min_length=16)  # required as Bearer on all but /healthz

    @field_validator("listen", mode="before")
    @classmethod
    def _listen(cls, value):
        if value is None or value is False or value == "off":  # YAML 1.1 reads a bare off as false
            return None
        return check_host_port(value)


class Tracing(Model):
    """OpenTelemetry (extra gwcore[otel], on when OTEL_EXPORTER_OTLP_ENDPOINT is set)."""

    sample_ratio: float = Field(1.0, ge=0.0, le=1.0)  # head sampling of new traces; parents decide theirs
    service_name: str = "gwcore"


class Gateway(Model):
    listen: str = "0.0.0.0:8080"
    tls: Optional[Tls] = None
    workers: Union[Literal["auto"], int] = "auto"
    state: str = "local"
    on_state_failure: Literal["open", "closed"] = "open"
    request_id_header: str = "x-request-id"
    access_log: str = "stdout"          # stdout | off | a file path
    limits: Limits = Limits()
    timeouts: Timeouts = Timeouts()
    heartbeat_timeout: Duration = 10.0  # a worker whose loop is silent this long is killed
    max_rss: Optional[int] = Field(None, ge=16 * 2**20)   # bytes; a worker above it is recycled
    max_requests: int = Field(0, ge=0)  # recycle a worker after this many requests (0: never)
    max_requests_jitter: int = Field(0, ge=0)
    metrics: bool = True                # per-request counters sent to the supervisor's /metrics
    admin: Admin = Admin()
    tracing: Tracing = Tracing()

    _listen = field_validator("listen")(check_host_port)

    @field_validator("workers", mode="plain")
    @classmethod
    def _workers(cls, value):
        # one plain check, so a wrong value gives one message (a Union would give one per member)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if value == "auto" or (type(value) is int and 1 <= value <= 1024):
            return value
        raise ValueError("workers is auto or a whole number from 1 to 1024")

    @field_validator("access_log", mode="before")
    @classmethod
    def _access_log(cls, value):
        if value is False:  # YAML 1.1 reads a bare `off` as false
            return "off"
        if not isinstance(value, str) or not value.strip():
            raise ValueError("access_log is stdout, off or a file path")
        return value

    @field_validator("state")
    @classmethod
    def _state(cls, value: str):
        if value != "local" and urlsplit(value).scheme not in ("redis", "rediss", "redis+sentinel", "redis+cluster"):
            raise ValueError("state is `local` or a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL")
        return value

    @field_validator("request_id_header")
    @classmethod
    def _header_name(cls, value: str):
        if not _TOKEN.match(value):
            raise ValueError(f"{value!r} is not a valid header name")
        return value.lower()


class Member(Model):
    url: str
    weight: int = Field(1, ge=1, le=1000)
    priority: int = Field(1, ge=1, le=100)   # 1 is served first; 2 only when every 1 is out, ...

    _url = field_validator("url")(check_http_url)


class HealthCheck(Model):
    """Active checks of every member, run once per host (the supervisor), verdicts shared by all workers."""

    path: str = "/"
    interval: Duration = 5.0
    timeout: Duration = 1.0
    healthy_threshold: int = Field(2, ge=1, le=100)
    unhealthy_threshold: int = Field(2, ge=1, le=100)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str):
        if not value.startswith("/") or any(c in value for c in " \r\n#"):
            raise ValueError("a health check path starts with / and has no spaces or #")
        return value

    @model_validator(mode="after")
    def _times(self):
        if self.interval < 0.1:
            raise ValueError("interval is at least 100ms")
        if not 0 < self.timeout <= self.interval:
            raise ValueError("timeout must be above 0 and at most interval")
        return self


def _status_range(value) -> tuple:
    text = str(value).strip()
    low, sep, high = text.partition("-")
    if not low.strip().isdigit() or (sep and not high.strip().isdigit()):
        raise ValueError(f"{value!r} is not a status code or a range like 500-599")
    low, high = int(low), int(high) if sep else int(low)
    if not 100 <= low <= high <= 599:
        raise ValueError(f"{value!r} is not a range of status codes from 100 to 599")
    return low, high


class FailureCondition(Model):
    """What counts as a failure of a member, and how many within `interval` trip its breaker."""

    count: int = Field(5, ge=1, le=100000)
    interval: Duration = 10.0
    status_code_ranges: list[str] = ["500-599"]
    error_reasons: list[Literal["timeout", "connection"]] = ["timeout", "connection"]

    @field_validator("status_code_ranges", mode="before")
    @classmethod
    def _ranges(cls, value):
        if not isinstance(value, list):
            raise ValueError("status_code_ranges is a list like [\"500-599\", \"429\"]")
        for item in value:
            _status_range(item)
        return [str(item).strip() for item in value]

    @property
    def ranges(self) -> tuple:
        return tuple(_status_range(item) for item in self.status_code_ranges)


class CircuitBreaker(Model):
    failure_condition: FailureCondition = FailureCondition()
    trip_duration: Duration = 30.0
    accept_retry_after: bool = False     # a failing answer's Retry-After sets how long the breaker stays open


class BackendTls(Model):
    """TLS to the members of an https backend."""

    verify: bool = True                  # the member's certificate must chain to a trusted CA and name the host
    ca: Optional[str] = None             # PEM file of CAs to trust instead of the system's
    client_cert: Optional[str] = None    # PEM file: the certificate gwcore presents (mutual TLS)
    client_key: Optional[str] = None     # PEM file: its private key
    sni: Optional[str] = None            # server name sent (and verified) instead of the URL's host

    @model_validator(mode="after")
    def _pair(self):
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("client_cert and client_key go together")
        if self.sni is not None and (not self.sni or _BAD_HOST.search(self.sni) or "/" in self.sni):
            raise ValueError(f"sni {self.sni!r} is not a host name")
        return self


class Backend(Model):
    url: Optional[str] = None
    members: Optional[list[Member]] = None
    load_balancing: Literal["round-robin", "least-requests"] = "round-robin"
    timeout: Duration = 300.0            # APIM's forward-request default
    connect_timeout: Duration = 5.0
    max_idle_connections: int = Field(64, ge=0, le=100000)
    idle_timeout: Duration = 60.0
    health_check: Optional[HealthCheck] = None
    circuit_breaker: Optional[CircuitBreaker] = None
    tls: Optional[BackendTls] = None

    _url = field_validator("url")(lambda v: v if v is None else check_http_url(v))

    @model_validator(mode="after")
    def _one_target(self):
        if (self.url is None) == (self.members is None):
            raise ValueError("a backend has either `url` or `members`, not both and not neither")
        if self.members is not None and not self.members:
            raise ValueError("members must list at least one member")
        return self


class Operation(Model):
    id: str
    method: str
    url_template: str
    # Example answers by status and content type, e.g. {200: {"application/json": {...}}}; what
    # mock-response returns (APIM takes them from the operation's representations).
    responses: dict[int, dict[str, Any]] = {}
    policies: Any = None

    @field_validator("method")
    @classmethod
    def _method(cls, value: str):
        if value != "*" and not _TOKEN.match(value):
            raise ValueError(f"{value!r} is not an HTTP method")
        return value.upper()

    @field_validator("url_template")
    @classmethod
    def _template(cls, value: str):
        if not value.startswith("/"):
            raise ValueError("a url_template starts with /")
        if "?" in value or "#" in value:
            raise ValueError("a url_template is a path only (no ? or #)")
        return value


class Api(Model):
    path: str
    backend: Optional[str] = None
    subscription_required: bool = True
    subscription_key_header: str = "Ocp-Apim-Subscription-Key"
    subscription_key_query: str = "subscription-key"
    version: Optional[str] = None
    version_scheme: Optional[Literal["path", "header", "query"]] = None
    version_header: str = "Api-Version"
    version_query: str = "api-version"
    revision: int = Field(1, ge=1)
    current: Optional[bool] = None
    operations: list[Operation] = []
    policies: Any = None

    @field_validator("path")
    @classmethod
    def _path(cls, value: str):
        value = value.strip("/")
        if any(c in value for c in "?#;%\\") or "//" in value or any(s in (".", "..") for s in value.split("/")):
            raise ValueError("an API path is plain segments like `inventory/v1` (no ?, #, ;, %, \\, . or ..)")
        return value

    @field_validator("subscription_key_header", "version_header")
    @classmethod
    def _key_header(cls, value: str):
        if not _TOKEN.match(value):
            raise ValueError(f"{value!r} is not a valid header name")
        return value

    @model_validator(mode="after")
    def _version(self):
        if (self.version is None) != (self.version_scheme is None):
            raise ValueError("`version` and `version_scheme` go together")
        if self.version is not None and not _NAME.match(self.version):
            raise ValueError(f"version {self.version!r} must be a plain name like v1")
        return self


class Product(Model):
    apis: list[str] = []
    subscription_required: bool = True
    policies: Any = None


class Subscription(Model):
    scope: str
    primary_key: str = Field(min_length=16)
    secondary_key: Optional[str] = Field(None, min_length=16)
    state: Literal["active", "suspended"] = "active"

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str):
        kind, _, name = value.partition(":")
        if value != "all" and not (kind in ("product", "api") and name):
            raise ValueError("scope is `all`, `product:NAME` or `api:NAME`")
        return value


class Config(Model):
    gateway: Gateway = Gateway()
    named_values: dict[str, Any] = {}
    backends: dict[str, Backend] = {}
    apis: dict[str, Api] = {}
    products: dict[str, Product] = {}
    subscriptions: dict[str, Subscription] = {}
    fragments: dict[str, Any] = {}
    policies: Any = None

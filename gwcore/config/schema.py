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
    priority: int = Field(1, ge=1, le=100)

    _url = field_validator("url")(check_http_url)


class Backend(Model):
    url: Optional[str] = None
    members: Optional[list[Member]] = None
    load_balancing: Literal["round-robin", "least-requests"] = "round-robin"
    timeout: Duration = 300.0            # APIM's forward-request default
    connect_timeout: Duration = 5.0
    max_idle_connections: int = Field(64, ge=0, le=100000)
    idle_timeout: Duration = 60.0

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

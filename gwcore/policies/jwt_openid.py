"""validate-jwt openid-config: one OpenID configuration's issuer and JWKS keys, kept fresh in the background.

One OpenIdKeys per URL per worker process (`keys_for(url)`), shared by every statement and every
config generation naming it. Nothing is fetched at load (the supervisor compiles configs too): the
first request that needs the keys starts a fetch of the discovery document and its jwks_uri on the
worker's loop; a loop timer repeats it after the JWKS answer's Cache-Control max-age (clamped to
1 min .. 1 day; 1 hour without one; sooner, with backoff, after a failure), until a whole interval
passes without a request needing the keys. A token with an unknown kid may ask for one refresh out
of turn, at most once a minute per URL, so made-up kids never turn into a fetch per request.
"""
import asyncio
import logging
import re
import time

import orjson

from gwcore.policies.jwt_keys import from_jwk
from gwcore.upstream.client import ClientError, fetch

log = logging.getLogger("gwcore.jwt")

FETCH_TIMEOUT = 5.0             # seconds for each document
MAX_DOCUMENT = 512 * 1024       # bytes; real JWKS documents are a few KiB
DEFAULT_REFRESH = 3600.0
MIN_REFRESH, MAX_REFRESH = 60.0, 86400.0
KID_REFRESH_INTERVAL = 60.0     # at most one unknown-kid refresh per URL per minute
RETRY_FIRST, RETRY_MAX = 5.0, 300.0
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*(\d+)", re.IGNORECASE)
_ACCEPT = (("Accept", "application/json"),)

_REGISTRY: dict = {}


def keys_for(url: str) -> "OpenIdKeys":
    """The shared OpenIdKeys of `url` in this process (created idle; nothing is fetched yet)."""
    source = _REGISTRY.get(url)
    if source is None:
        source = _REGISTRY[url] = OpenIdKeys(url)
    return source


class OpenIdKeys:
    """Issuer and signing keys of one OpenID configuration; `generation` counts key set changes."""

    def __init__(self, url: str):
        self.url = url
        self.keys = ()              # SigningKeys from the JWKS
        self.issuer = None          # the discovery document's issuer
        self.generation = 0         # +1 whenever keys or issuer change
        self.loaded = False         # a fetch has succeeded once
        self.error = None           # why the last fetch failed, for operators and refusals
        self.fetches = 0            # fetch attempts so far
        self._fingerprint = None
        self._loop = None
        self._active = False        # refreshing on schedule (a fetch under way or a timer set)
        self._timer = None          # the loop timer of the next scheduled refresh
        self._fetching = None       # the fetch under way (a Task), shared by everyone waiting for it
        self._used = False          # asked for since the last scheduled refresh
        self._kid_refresh_at = -KID_REFRESH_INTERVAL
        self._failures = 0

    # ---- per request (cheap)

    def use(self) -> None:
        """Note a request that relies on these keys; an idle source starts refreshing (at once)."""
        self._used = True
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # first use, or a new event loop: what ran on the old one is gone
            self._loop, self._active, self._timer, self._fetching = loop, False, None, None
        if not self._active:
            self._active = True
            self._refresh()  # under way at once, so this very request can wait for it

    def pending(self):
        """The fetch under way, if any (an asyncio future)."""
        return self._fetching

    def refresh_for_unknown_kid(self):
        """A future for a refresh because a token named a kid we do not know; None when one already
        ran within the last minute (the rate limit). A fetch already under way is joined."""
        if self._fetching is not None:
            return self._fetching
        now = time.monotonic()
        if now - self._kid_refresh_at < KID_REFRESH_INTERVAL:
            return None
        self._kid_refresh_at = now
        return self._refresh()

    # ---- background: a timer between fetches, not a sleeping task, so a stopping worker leaves nothing behind

    def _refresh(self):
        if self._fetching is None:
            self._fetching = self._loop.create_task(self._fetch())
            self._fetching.add_done_callback(self._fetched)
        return self._fetching

    def _fetched(self, task) -> None:
        if self._fetching is not task:
            return  # from a previous event loop
        self._fetching = None
        if task.cancelled() or not self._active:
            return
        if self._timer is not None:  # a refresh out of turn restarts the schedule
            self._timer.cancel()
        self._timer = self._loop.call_later(task.result(), self._scheduled)

    def _scheduled(self) -> None:
        self._timer = None
        if not self._used:
            self._active = False  # nobody needed the keys for a whole interval: the next use restarts
            return
        self._used = False
        self._refresh()

    async def _fetch(self) -> float:
        """One refresh of the discovery document and the JWKS; the seconds until the next one."""
        self.fetches += 1
        try:
            discovery, _ = await _get_json(self.url)
            jwks_uri = discovery.get("jwks_uri")
            if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("http://", "https://")):
                raise ValueError("the OpenID configuration has no http(s) jwks_uri")
            issuer = discovery.get("issuer")
            jwks, answer = await _get_json(jwks_uri)
            keys, fingerprint = _signing_keys(jwks, jwks_uri)
        except (ClientError, ValueError) as exc:
            return self._failed(str(exc))
        except Exception as exc:  # noqa: BLE001 - a bad document must never stop the refresher
            log.exception("validate-jwt: refreshing %s failed unexpectedly", self.url)
            return self._failed(f"{type(exc).__name__}: {exc}")
        fingerprint = (fingerprint, issuer if isinstance(issuer, str) else None)
        if fingerprint != self._fingerprint:
            self._fingerprint = fingerprint
            self.keys, self.issuer = keys, fingerprint[1]
            self.generation += 1
            log.info("validate-jwt: %d signing keys from %s (kids: %s)", len(keys), self.url,
                     ", ".join(str(k.kid) for k in keys))
        self.loaded, self.error, self._failures = True, None, 0
        return _refresh_delay(answer.header("cache-control"))

    def _failed(self, why: str) -> float:
        self.error = why
        self._failures += 1
        log.warning("validate-jwt: cannot load signing keys from %s: %s%s", self.url, why,
                    " (keeping the keys loaded before)" if self.loaded else "")
        return min(RETRY_FIRST * 2 ** (self._failures - 1), RETRY_MAX)


async def _get_json(url: str) -> tuple:
    answer = await fetch("GET", url, headers=_ACCEPT, timeout=FETCH_TIMEOUT, max_bytes=MAX_DOCUMENT)
    if answer.status != 200:
        raise ValueError(f"GET {url} answered {answer.status} {answer.reason}".rstrip())
    try:
        document = orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        raise ValueError(f"GET {url} did not answer JSON") from None
    if not isinstance(document, dict):
        raise ValueError(f"GET {url} did not answer a JSON object")
    return document, answer


def _signing_keys(jwks: dict, where: str) -> tuple:
    """(SigningKeys, fingerprint) of a JWKS document; keys for encryption or of unknown types are skipped."""
    entries = jwks.get("keys")
    if not isinstance(entries, list):
        raise ValueError(f"{where} is not a JWKS document (no keys list)")
    keys, used = [], []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        try:
            keys.append(from_jwk(entry))
        except ValueError as exc:
            log.warning("validate-jwt: skipping key %s of %s: %s", entry.get("kid"), where, exc)
            continue
        used.append(orjson.dumps(entry, option=orjson.OPT_SORT_KEYS))
    if not keys:
        raise ValueError(f"{where} holds no usable signing key")
    return tuple(keys), tuple(sorted(used))


def _refresh_delay(cache_control) -> float:
    found = _MAX_AGE.search(cache_control or "")
    if found is None:
        return DEFAULT_REFRESH
    return min(max(float(found.group(1)), MIN_REFRESH), MAX_REFRESH)

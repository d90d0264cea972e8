"""In-process cost of one validate-jwt step on an RS256 token: answered from the verified-token cache, and not.

    python bench/jwt_validate.py [-n N] [--repeat R]

Compiles a real validate-jwt statement (PEM key, audience, issuer, a required claim) and calls its
step with a request context, timing CPU (process time, so other processes on a shared machine
count less) and reporting the best of R rounds. "uncached" empties the cache before each call,
so it pays header parsing, the RSA-2048 signature check and the JSON decode. PyJWT's own
jwt.decode of the same token is shown for scale.
"""
import argparse
import json
import os
import tempfile
import time
import timeit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gwcore.config import load_plan
from gwcore.pipeline.context import Context, Headers, Query, Request, Url


def build():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    statement = {"validate-jwt": {"header-name": "Authorization", "require-scheme": "Bearer",
                                  "issuer-signing-keys": [{"id": "k1", "pem": pem}],
                                  "audiences": ["api://bench"], "issuers": ["https://issuer.bench/"],
                                  "required-claims": [{"name": "scp", "separator": " ", "value": ["read"]}]}}
    config = {"backends": {"b": {"url": "http://127.0.0.1:9"}},
              "apis": {"a": {"path": "a", "backend": "b", "subscription_required": False,
                             "policies": {"inbound": [statement]}}}}
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "gateway.json")
        with open(path, "w") as f:
            json.dump(config, f)
        plan = load_plan(path)
    pipeline = plan.apis["a"].operations["*"].pipelines[None]
    now = int(time.time())
    token = jwt.encode({"iss": "https://issuer.bench/", "aud": "api://bench", "sub": "alice", "scp": "read write",
                        "iat": now, "exp": now + 3600}, key, algorithm="RS256", headers={"kid": "k1"})
    request = Request("GET", Url("http", "gw", "/a/x", Query(b"")),
                      Headers([(b"authorization", f"Bearer {token}".encode())]), "127.0.0.1", {})
    ctx = Context(None, request, None, None, None, None, "r", time.time(), "/x")
    return pipeline.program.sections[0][0], pipeline.inbound[0]._verifier, ctx, token, key.public_key()


def best(call, number: int, repeat: int) -> float:
    """Microseconds of CPU per call, best of `repeat` rounds of `number` calls."""
    timer = timeit.Timer(call, timer=time.process_time)
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20000, help="calls per round (cached); a tenth for the others")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    step, verifier, ctx, token, public = build()
    assert step(ctx) is None and ctx.jwt["sub"] == "alice"

    def uncached():
        verifier._cache.clear()
        step(ctx)

    cached_us = best(lambda: step(ctx), args.n, args.repeat)
    uncached_us = best(uncached, max(args.n // 10, 1), args.repeat)
    pyjwt_us = best(lambda: jwt.decode(token, public, algorithms=["RS256"], audience="api://bench",
                                       issuer="https://issuer.bench/"), max(args.n // 10, 1), args.repeat)
    print(f"validate-jwt RS256, cached:   {cached_us:7.2f} us/request")
    print(f"validate-jwt RS256, uncached: {uncached_us:7.2f} us/request")
    print(f"PyJWT jwt.decode (same token): {pyjwt_us:6.2f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

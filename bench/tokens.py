"""A fresh RSA key pair and an RS256 token for the jwt scenario (run alone, it prints shell exports).

    python bench/tokens.py    # export BENCH_JWT_N=... BENCH_JWT_E=... BENCH_TOKEN=...
"""
import base64
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

# Must match audiences and issuers in bench/scenarios/jwt.yaml.
AUDIENCE = "gwcore-bench"
ISSUER = "https://bench.gwcore.invalid/"


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def make_jwt_material(lifetime: float = 86400.0) -> dict:
    """Environment for gwcore (BENCH_JWT_N, BENCH_JWT_E) and the token wrk sends (BENCH_TOKEN)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = private.public_key().public_numbers()
    now = int(time.time())
    token = jwt.encode({"sub": "bench", "aud": AUDIENCE, "iss": ISSUER, "iat": now, "exp": now + int(lifetime)},
                       private, algorithm="RS256")
    return {"BENCH_JWT_N": _b64url_uint(numbers.n), "BENCH_JWT_E": _b64url_uint(numbers.e), "BENCH_TOKEN": token}


if __name__ == "__main__":
    for name, value in make_jwt_material().items():
        print(f"export {name}={value}")

"""Locust users for load testing gwcore by hand, one per bench scenario (see bench/README.md).

    locust -f bench/locustfile.py --headless -u 50 -r 50 -t 30s --host http://127.0.0.1:8080 Plain

Name one user class (Plain, Keyed, Jwt, Large); with none named locust would mix them all.
"""
import logging
import os

from locust import FastHttpUser, constant, task
from locust.exception import StopUser

ITEM = "/inventory/v1/items/42"
# The fallback bench/scenarios/keyed.yaml uses when BENCH_SUBSCRIPTION_KEY is not set.
DEFAULT_KEY = "bench-primary-key-0123456789abcdef"


class _Scenario(FastHttpUser):
    """One GET after another with no pause, as wrk does; anything but 2xx is a failure."""

    abstract = True
    wait_time = constant(0)
    path = ITEM

    def headers(self) -> dict:
        """The request headers; None stops the test (what is missing has been logged)."""
        return {}

    def on_start(self):
        self.request_headers = self.headers()
        if self.request_headers is None:
            self.environment.process_exit_code = 1
            self.environment.runner.quit()
            raise StopUser()

    @task
    def get(self):
        with self.client.get(self.path, headers=self.request_headers, catch_response=True) as response:
            if not 200 <= response.status_code < 300:
                response.failure(f"status {response.status_code}: {(response.text or '')[:120]}")


class Plain(_Scenario):
    """bench/scenarios/plain.yaml."""


class Keyed(_Scenario):
    """bench/scenarios/keyed.yaml and keyed-redis.yaml: the subscription key from BENCH_SUBSCRIPTION_KEY."""

    def headers(self) -> dict:
        return {"Ocp-Apim-Subscription-Key": os.environ.get("BENCH_SUBSCRIPTION_KEY", DEFAULT_KEY)}


class Jwt(_Scenario):
    """bench/scenarios/jwt.yaml: the token from BENCH_TOKEN (`python bench/tokens.py` makes one)."""

    def headers(self) -> dict:
        token = os.environ.get("BENCH_TOKEN")
        if not token:
            logging.error("set BENCH_TOKEN, and start gwcore with BENCH_JWT_N and BENCH_JWT_E: python bench/tokens.py")
            return None
        return {"Authorization": f"Bearer {token}"}


class Large(_Scenario):
    """bench/scenarios/large.yaml: 1 MiB bodies."""

    path = "/bench/large"

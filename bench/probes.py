"""Checks, before measuring, that a target really does the work its scenario is meant to measure."""
from targets import get, redis_dbsize


def plain_answer(port: int, scenario, headers) -> str:
    """'' when a GET with the scenario's headers answers 200, else what came back."""
    status, _, body = get(port, scenario.path, headers)
    return "" if status == 200 else f"GET {scenario.path} answered {status}: {body[:200]!r}"


def missing_behaviour(port: int, scenario, headers, redis_port=None) -> list:
    """What the target fails to do of what the scenario measures (empty: it does it all);
    with `redis_port`, its state must also have reached that redis-server."""
    missing = []
    for name in scenario.refused_without:
        without = [(k, v) for k, v in headers if k.lower() != name.lower()]
        status = get(port, scenario.path, without)[0]
        if status != 401:
            missing.append(f"a request without {name} was answered {status}, not 401")
    if scenario.cache_hit:
        # gwcore's response cache is per worker: each worker may fetch once, then every GET hits
        ids = [get(port, scenario.path, headers)[1].get("x-origin-id") for _ in range(8)]
        if None in ids or len(set(ids)) > 2:
            missing.append(f"repeated GETs reached the origin {len(set(ids))} times in 8 (X-Origin-Id"
                           " changed): no cache hit")
    if redis_port is not None and not redis_dbsize(redis_port):
        missing.append("no keys in the bench redis-server: the state did not go to Redis")
    return missing

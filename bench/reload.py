"""The reload scenario: wrk against gwcore's 2 workers while the config changes and SIGHUP comes every second."""
import copy
import json
import os
import signal
import time

import yaml

import wrkrun
from catalog import ITEM
from targets import HERE, WORK, get, start_gwcore

WORKERS = 2


def variant(base: dict, generation: int) -> str:
    """The plain config plus a route only this generation has, so every reload changes the route table."""
    data = copy.deepcopy(base)
    api = data["apis"]["inventory"]
    api["operations"] = api["operations"] + [
        {"id": f"reload-{generation}", "method": "GET", "url_template": f"/reload/{generation}"}]
    return f"# written by bench/reload.py, generation {generation}\n" + yaml.safe_dump(data, sort_keys=False)


def write_atomically(path: str, text: str) -> None:
    """The supervisor may read the file at any moment: it must never see half of one."""
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def run_reload(env: dict, args) -> dict:
    with open(os.path.join(HERE, "scenarios", "plain.yaml")) as f:
        base = yaml.safe_load(f)
    config = os.path.join(WORK, "reload.yaml")
    write_atomically(config, variant(base, 0))
    gw = start_gwcore(f"gwcore-reload-{WORKERS}w", config, WORKERS, env, args.proxy_cpus)
    url = f"http://127.0.0.1:{gw.port}{ITEM}"
    try:
        wrkrun.run(url, 1, args.connections, strict=True, cpus=args.load_cpus, what="reload: warm-up")
        with open(gw.pidfile) as f:
            supervisor = int(f.read())
        load = wrkrun.start(url, args.reload_duration, args.connections, cpus=args.load_cpus)
        started = time.monotonic()
        sent = 0
        while True:
            time.sleep(max(0.0, started + sent + 1 - time.monotonic()))
            # the last second is left quiet, so a reload never races wrk's own ending
            if load.poll() is not None or time.monotonic() - started > args.reload_duration - 1:
                break
            sent += 1
            write_atomically(config, variant(base, sent))
            os.kill(supervisor, signal.SIGHUP)
        out = load.communicate()[0]
        time.sleep(1.0)  # the last reload reaches both workers
        with open(gw.pidfile + ".state") as f:
            state = json.load(f)
        newest = [get(gw.port, f"/inventory/v1/reload/{sent}")[0] for _ in range(10)] if sent else []
        log = open(gw.log_path, errors="replace").read()
    finally:
        gw.stop()
    result = wrkrun.counts(out)
    result.update(out=out, sent=sent, took=state["reloads"]["ok"], refused=state["reloads"]["failed"],
                  generation=state["generation"], newest_ok=newest.count(200), newest_asked=len(newest),
                  worker_failures=log.count("could not apply generation"),
                  worker_deaths=log.count(") died with "), workers=WORKERS)
    return result

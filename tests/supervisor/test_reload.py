"""SIGHUP and `gwcore reload`: a valid config swaps in under load with no failed request; a bad one is refused."""
import json
import signal
import socket

from .conftest import config_text, free_port, get, serving_pid, wait_for, Load


def _status_of_every_worker(gw) -> dict:
    """worker pid -> its /internal/status, over enough new connections to reach each worker."""
    out = {}
    for _ in range(60):
        status, _, body = get(gw.port, "/internal/status")
        assert status == 200
        out[body["worker"]] = body
    return out


def test_reload_under_load_loses_nothing_and_the_last_config_serves(gw2):
    start = gw2.state()["generation"]
    before = _status_of_every_worker(gw2)
    with Load(gw2.port, clients=4) as load:
        assert load.wait_ok(50), load.failures
        for i in range(1, 9):
            gw2.write_config(backend_path=f"/g{i}", request_id_header=f"x-rid-{i}")
            result = gw2.reload()
            assert result.returncode == 0, result.stderr + gw2.log()
            assert f"generation {start + i} serving on 2 worker(s)" in result.stdout
            assert load.wait_ok(20), load.failures  # traffic keeps flowing between reloads
        # and two signals back to back, without waiting: one may arrive while the other applies
        gw2.write_config(backend_path="/g9", request_id_header="x-rid-9")
        gw2.signal(signal.SIGHUP)
        gw2.signal(signal.SIGHUP)
        final = wait_for(lambda: (s := gw2.state())["generation"] >= start + 9 and all(
            w["generation"] == s["generation"] for w in s["workers"] if w["state"] == "ready") and s, 20)
        assert final, gw2.state()
        assert load.wait_ok(200), load.failures
    assert load.failures == []
    assert load.ok > 400
    # the keep-alive clients kept their one connection through every reload
    assert load.connects[0] == load.connects[1] == load.connects[3] == 1, load.connects
    assert load.connects[2] > 100  # and the other opened one per request, throughout
    # the reloads took effect while the clients were sending, one backend path after another
    paths = {target.split("/")[1] for _, target, _ in load.seen}
    assert {f"g{i}" for i in range(1, 10)} <= paths, paths
    # and the last config is the one serving: its backend path and its request-id header name
    for _, target, names in load.seen[-100:]:
        assert target.startswith("/g9/load?"), target
        assert names == ["x-rid-9"], names
    after = _status_of_every_worker(gw2)
    assert set(after) == set(gw2.ready()) and len(after) == 2
    assert {b["configurationGeneration"] for b in after.values()} == {final["generation"]}
    assert len({b["lastConfigurationUpdate"] for b in after.values()}) == 1
    assert {b["lastConfigurationUpdate"] for b in after.values()} != {b["lastConfigurationUpdate"] for b in before.values()}


def test_bad_config_is_refused_and_the_old_one_keeps_serving(gw2):
    gw2.write_config(backend_path="/good", request_id_header="x-rid-good")
    assert gw2.reload().returncode == 0
    state = gw2.state()
    status_before = _status_of_every_worker(gw2)
    broken = json.loads(config_text(gw2.port, gw2.origin_port))
    broken["gateway"]["request_id_header"] = "not a header"
    broken["backends"]["origin"]["url"] = "ftp://nowhere/x"
    gw2.write_config(text=json.dumps(broken, indent=1))
    with Load(gw2.port, clients=3) as load:
        assert load.wait_ok(20), load.failures
        result = gw2.reload()
        assert load.wait_ok(50), load.failures
    assert result.returncode == 1
    # every problem, with its place in the file, and what is still serving
    assert "gateway.request_id_header: 'not a header' is not a valid header name" in result.stderr
    assert "backends.origin.url: 'ftp://nowhere/x' is not an http:// or https:// URL" in result.stderr
    assert f"refused (2 problem(s)); still serving generation {state['generation']}" in result.stderr
    log = gw2.log()
    assert "reload refused: " in log and "backends.origin.url" in log and "gateway.request_id_header" in log
    assert load.failures == []
    assert all(target.startswith("/good/") for _, target, _ in load.seen)
    after = gw2.state()
    assert after["generation"] == state["generation"]
    assert after["reloads"]["failed"] == state["reloads"]["failed"] + 1
    status_after = _status_of_every_worker(gw2)
    assert {b["configurationGeneration"] for b in status_after.values()} == {state["generation"]}
    assert {b["lastConfigurationUpdate"] for b in status_after.values()} == \
        {b["lastConfigurationUpdate"] for b in status_before.values()}
    gw2.write_config()
    assert gw2.reload().returncode == 0


def test_reload_changes_worker_count_and_listen_address(start_gateway):
    gw = start_gateway()
    gw.write_config(gateway={"workers": 2})
    result = gw.reload()
    assert result.returncode == 0, result.stderr
    assert "serving on 2 worker(s)" in result.stdout
    assert len(gw.pids_answering()) == 2

    new_port = free_port()
    gw.write_config(gateway={"workers": 2, "listen": f"127.0.0.1:{new_port}"})
    result = gw.reload()
    assert result.returncode == 0, result.stderr + gw.log()
    assert wait_for(lambda: serving_pid(new_port), 10)

    def old_port_closed():
        try:
            socket.create_connection(("127.0.0.1", gw.port), timeout=1).close()
        except ConnectionRefusedError:
            return True
        return False
    assert wait_for(old_port_closed, 15), "the old listen address is still open"
    assert wait_for(lambda: len(gw.ready()) == 2 and len(gw.worker_pids()) == 2, 15), gw.state()

    # an address someone else holds: refused as a whole, the current one keeps serving
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        gw.write_config(gateway={"workers": 2, "listen": f"127.0.0.1:{taken.getsockname()[1]}"})
        result = gw.reload()
    assert result.returncode == 1
    assert "cannot listen on" in result.stderr and "already in use" in result.stderr
    assert serving_pid(new_port)

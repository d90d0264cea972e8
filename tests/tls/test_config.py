"""TLS and pool settings at load: every mistake a located error naming the file and the place in it."""
import pytest

from gwcore.config import ConfigError, load_plan
from gwcore.config.errors import format_path

API = """
apis:
  a: {path: a, backend: b, subscription_required: false%s}
"""


def problems(write_config, text: str) -> list:
    with pytest.raises(ConfigError) as info:
        load_plan(write_config(text))
    return [(p.line, format_path(p.path), p.message) for p in info.value.problems]


def tls_config(pki, certificates: str, extra: str = "", policies: str = "") -> str:
    return f"""gateway:
  tls:
    listen: 127.0.0.1:8443
    certificates:
{certificates}
{extra}
backends:
  b: {{url: "http://127.0.0.1:9"}}
""" + API % policies


def test_a_valid_listener_loads(write_config, pki):
    plan = load_plan(write_config(tls_config(pki, f"      - {{cert: {pki.api.cert}, key: {pki.api.key}}}")))
    assert plan.tls.select("anything") is plan.tls.default


def test_relative_paths_are_from_the_config_folder(write_config, pki, tmp_path):
    for issued in (pki.api,):
        (tmp_path / "api.pem").write_bytes(issued.cert.read_bytes())
        (tmp_path / "api.key").write_bytes(issued.key.read_bytes())
    assert load_plan(write_config(tls_config(pki, "      - {cert: api.pem, key: api.key}"))).tls is not None


def test_missing_file(write_config, pki, tmp_path):
    found = problems(write_config, tls_config(pki, f"      - {{cert: nowhere.pem, key: {pki.api.key}}}"))
    assert found == [(5, "gateway.tls.certificates[0].cert",
                      f"cannot read {tmp_path}/nowhere.pem: No such file or directory")]


def test_key_of_another_certificate(write_config, pki):
    found = problems(write_config, tls_config(pki, f"      - {{cert: {pki.api.cert}, key: {pki.other.key}}}"))
    assert found == [(5, "gateway.tls.certificates[0].key",
                      f"the key in {pki.other.key} does not belong to the certificate in {pki.api.cert}")]


def test_not_pem(write_config, pki):
    found = problems(write_config, tls_config(pki, f"      - {{cert: {pki.api.key}, key: {pki.api.cert}}}"))
    assert [f[1] for f in found] == ["gateway.tls.certificates[0].cert", "gateway.tls.certificates[0].key"]
    assert "holds no PEM certificate" in found[0][2] and "holds no PEM private key" in found[1][2]


def test_bad_ciphers_and_hostnames(write_config, pki):
    certs = (f"      - {{cert: {pki.api.cert}, key: {pki.api.key}, hostnames: [a.test]}}\n"
             f"      - {{cert: {pki.other.cert}, key: {pki.other.key}}}\n"
             f"      - {{cert: {pki.other.cert}, key: {pki.other.key}, hostnames: [A.test]}}")
    found = problems(write_config, tls_config(pki, certs, "    ciphers: NOT-A-CIPHER"))
    assert ("gateway.tls.certificates[1].hostnames" in [f[1] for f in found])
    assert any(f[1] == "gateway.tls.certificates[2].hostnames" and "already served by certificates[0]" in f[2]
               for f in found)
    assert any(f[1] == "gateway.tls.ciphers" and "no cipher matches 'NOT-A-CIPHER'" in f[2] for f in found)


def test_client_certificates_need_a_ca(write_config, pki):
    found = problems(write_config, tls_config(pki, f"      - {{cert: {pki.api.cert}, key: {pki.api.key}}}",
                                              "    client_certificates: {mode: require}"))
    assert found[0][1] == "gateway.tls.client_certificates"
    assert found[0][2].startswith("mode require needs `ca`")


def test_validate_client_certificate_needs_client_certificates(write_config, pki):
    policy = ", policies: {inbound: [{validate-client-certificate: {validate-revocation: false}}]}"
    found = problems(write_config, tls_config(pki, f"      - {{cert: {pki.api.cert}, key: {pki.api.key}}}",
                                              policies=policy))
    assert found[0][1] == "apis.a.policies.inbound[0].validate-client-certificate"
    assert "needs client certificates on the TLS listener" in found[0][2]


def test_validate_revocation_needs_a_crl(write_config, pki):
    policy = ", policies: {inbound: [validate-client-certificate]}"
    found = problems(write_config, tls_config(pki, f"      - {{cert: {pki.api.cert}, key: {pki.api.key}}}",
                                              f"    client_certificates: {{mode: optional, ca: {pki.ca.cert}}}",
                                              policies=policy))
    assert "validate-revocation needs gateway.tls.client_certificates.crl" in found[0][2]


def test_backend_tls_files(write_config, pki):
    text = f"""backends:
  b:
    url: "https://127.0.0.1:9"
    tls: {{ca: missing-ca.pem, client_cert: {pki.alice.cert}, client_key: {pki.bob.key}}}
""" + API % ""
    found = problems(write_config, text)
    assert [f[1] for f in found] == ["backends.b.tls.ca", "backends.b.tls.client_key"]


@pytest.mark.parametrize("setting, message", [
    ("health_check: {interval: 1s, timeout: 2s}", "timeout must be above 0 and at most interval"),
    ("circuit_breaker: {failure_condition: {status_code_ranges: [5xx]}}", "'5xx' is not a status code"),
    ("circuit_breaker: {failure_condition: {error_reasons: [dns]}}", "Input should be 'timeout' or 'connection'"),
    ("tls: {client_cert: a.pem}", "client_cert and client_key go together"),
])
def test_pool_settings(write_config, setting, message):
    text = f"""backends:
  b:
    url: "http://127.0.0.1:9"
    {setting}
""" + API % ""
    found = problems(write_config, text)
    assert len(found) == 1 and found[0][0] == 4 and message in found[0][2], found

"""PEM files named in the config: resolved from the config's folder, checked with located errors."""
import os
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import serialization


def resolve(base_dir: str, name: str) -> str:
    """A file named in the config: relative names are taken from the config file's folder."""
    return name if os.path.isabs(name) else os.path.normpath(os.path.join(base_dir, name))


def read(path: str, where: tuple, problems: list):
    """The file's bytes, or None after reporting why it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        problems.append((where, f"cannot read {path}: {exc.strerror or exc}"))
        return None


def certificates(path: str, where: tuple, problems: list) -> list:
    """The PEM certificates in `path` (at least one), or [] after reporting the problem."""
    data = read(path, where, problems)
    if data is None:
        return []
    try:
        found = x509.load_pem_x509_certificates(data)
    except ValueError:
        found = []
    if not found:
        problems.append((where, f"{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"))
    return found


def private_key(path: str, where: tuple, problems: list) -> bool:
    """Whether `path` holds an unencrypted PEM private key (else the problem is reported)."""
    data = read(path, where, problems)
    if data is None:
        return False
    try:
        serialization.load_pem_private_key(data, password=None)
    except TypeError:
        problems.append((where, f"the key in {path} is encrypted; give gwcore an unencrypted key file"
                                " (readable by the gateway's user only)"))
        return False
    except (ValueError, Exception):  # noqa: BLE001 - cryptography raises several kinds for garbage
        problems.append((where, f"{path} holds no PEM private key (-----BEGIN PRIVATE KEY-----)"))
        return False
    return True


def load_pair(ctx: ssl.SSLContext, cert: str, key: str, where: tuple, problems: list) -> bool:
    """Load a certificate chain and its key into `ctx`; False after reporting (where + cert/key)."""
    ok = bool(certificates(cert, where + (_name(where, "cert"),), problems))
    ok = private_key(key, where + (_name(where, "key"),), problems) and ok
    if not ok:
        return False
    try:
        ctx.load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc) or "key values mismatch" in str(exc):
            problems.append((where + (_name(where, "key"),), f"the key in {key} does not belong to the certificate"
                                                              f" in {cert}"))
        else:
            problems.append((where + (_name(where, "cert"),), f"cannot use {cert} with {key}: {exc.reason or exc}"))
        return False
    return True


def _name(where: tuple, field: str) -> str:
    """`cert`/`key` on the listener, `client_cert`/`client_key` under a backend's tls."""
    return f"client_{field}" if where and where[-1] == "tls" and where[0] == "backends" else field


def load_verify(ctx: ssl.SSLContext, path: str, where: tuple, problems: list) -> list:
    """Trust the CA certificates in `path`; the certificates, or [] after reporting."""
    found = certificates(path, where, problems)
    if found:
        try:
            ctx.load_verify_locations(cafile=path)
        except ssl.SSLError as exc:
            problems.append((where, f"cannot use {path} as CA certificates: {exc.reason or exc}"))
            return []
    return found


def load_crl(ctx: ssl.SSLContext, path: str, where: tuple, problems: list) -> bool:
    """Check client certificates against the revocation lists in `path` at the handshake."""
    data = read(path, where, problems)
    if data is None:
        return False
    try:
        if not x509.load_pem_x509_crl(data):
            raise ValueError
        ctx.load_verify_locations(cafile=path)
    except (ValueError, ssl.SSLError):
        problems.append((where, f"{path} holds no PEM revocation list (-----BEGIN X509 CRL-----)"))
        return False
    ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return True

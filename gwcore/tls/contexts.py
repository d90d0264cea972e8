"""SSL contexts built once per config load: the listener's (one per certificate, chosen by SNI) and the backends'."""
import hashlib
import ssl

from gwcore.tls import files
from gwcore.tls.certificate import dn_key, thumbprint

VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
ALPN = ["http/1.1"]
WHERE = ("gateway", "tls")


class ServerTls:
    """The listener's contexts of one Plan. `select` gives the context for an SNI name: an exact
    host name first, then a wildcard (*.example.com covers one label), else the first certificate's.

    `handshake` names what a context switched by SNI cannot change for a handshake already begun
    (versions, ciphers, client certificate checks): a reload that changes it needs a new listening
    server, one that only changes certificates swaps the contexts new handshakes choose from.
    """

    def __init__(self, settings, base_dir: str, contexts: list, handshake: tuple, issuers: dict):
        self.settings = settings
        self.base_dir = base_dir
        self.handshake = handshake
        self.issuers = issuers            # client CAs: subject (dn_key) -> their thumbprints
        self.default = contexts[0][1]
        self.exact = {}
        self.wildcard = {}
        for names, ctx in contexts:
            for name in names:
                if name.startswith("*."):
                    self.wildcard.setdefault(name[2:], ctx)
                else:
                    self.exact.setdefault(name, ctx)

    @property
    def client_mode(self) -> str:
        return self.settings.client_certificates.mode

    def select(self, server_name):
        if server_name:
            name = server_name.lower().rstrip(".")
            found = self.exact.get(name)
            if found is not None:
                return found
            found = self.wildcard.get(name.partition(".")[2])
            if found is not None:
                return found
        return self.default

    def listener_context(self, on_sni) -> ssl.SSLContext:
        """The context a listening server starts every handshake with; `on_sni(ssl_object,
        server_name, context)` switches it to the chosen certificate's."""
        ctx = _server_context(self.settings, self.base_dir, self.settings.certificates[0], (), [])
        ctx.sni_callback = on_sni
        return ctx


def server_tls(settings, base_dir: str, problems: list):
    """The ServerTls of `gateway.tls`, or None when something is wrong (each problem reported)."""
    found = len(problems)
    seen = {}
    for index, entry in enumerate(settings.certificates):
        if index and not entry.hostnames:
            problems.append((WHERE + ("certificates", index, "hostnames"),
                             "only the first certificate (the default) may go without hostnames: list the"
                             " SNI names this one answers for"))
        for name in entry.hostnames:
            if name in seen:
                problems.append((WHERE + ("certificates", index, "hostnames"),
                                 f"{name} is already served by certificates[{seen[name]}]"))
            seen.setdefault(name, index)
    contexts = [(entry.hostnames, _server_context(settings, base_dir, entry, WHERE + ("certificates", index),
                                                  problems)) for index, entry in enumerate(settings.certificates)]
    issuers = {}
    client = settings.client_certificates
    digest = hashlib.sha256()
    for name in (client.ca, client.crl):
        if name:
            path = files.resolve(base_dir, name)
            digest.update(files.read(path, (), []) or b"")
            if name == client.ca:
                for cert in files.certificates(path, (), []):
                    issuers.setdefault(dn_key(cert.subject.rfc4514_string()), set()).add(thumbprint(cert))
    if len(problems) > found:
        return None
    handshake = (settings.min_version, settings.ciphers, client.mode, client.ca, client.crl, digest.digest())
    return ServerTls(settings, base_dir, contexts, handshake, issuers)


def _server_context(settings, base_dir: str, entry, where: tuple, problems: list) -> ssl.SSLContext:
    # Session tickets stay on (OpenSSL's default for TLS 1.2 and 1.3): resumption skips the
    # key exchange for clients that come back to the same worker.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = VERSIONS[settings.min_version]
    ctx.options |= ssl.OP_NO_RENEGOTIATION
    if settings.ciphers:
        try:
            ctx.set_ciphers(settings.ciphers)
        except ssl.SSLError:
            if where:  # said once, for the first certificate
                problems.append((WHERE + ("ciphers",), f"no cipher matches {settings.ciphers!r} (an OpenSSL"
                                                       " cipher string, e.g. ECDHE+AESGCM)"))
                where = ()
    ctx.set_alpn_protocols(ALPN)
    files.load_pair(ctx, files.resolve(base_dir, entry.cert), files.resolve(base_dir, entry.key), where, problems)
    client = settings.client_certificates
    if client.mode != "off":
        ctx.verify_mode = ssl.CERT_REQUIRED if client.mode == "require" else ssl.CERT_OPTIONAL
        report = problems if where and where[-1] == 0 else []   # file problems once, not per certificate
        files.load_verify(ctx, files.resolve(base_dir, client.ca), WHERE + ("client_certificates", "ca"), report)
        if client.crl:
            files.load_crl(ctx, files.resolve(base_dir, client.crl), WHERE + ("client_certificates", "crl"), report)
    return ctx


def backend_context(tls, base_dir: str, where: tuple, problems: list) -> ssl.SSLContext:
    """The client context for the https members of one backend (`tls`: its BackendTls or None)."""
    if tls is not None and tls.verify and tls.ca:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifying, with only the CAs named (not the system's)
        files.load_verify(ctx, files.resolve(base_dir, tls.ca), where + ("ca",), problems)
    elif tls is None or tls.verify:
        ctx = ssl.create_default_context()
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls is not None and tls.client_cert:
        files.load_pair(ctx, files.resolve(base_dir, tls.client_cert), files.resolve(base_dir, tls.client_key),
                        where, problems)
    ctx.set_alpn_protocols(ALPN)
    return ctx

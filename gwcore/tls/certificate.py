"""The client's TLS certificate as policies and expressions see it (`context.request.certificate`)."""
import hashlib

# cryptography is imported where a certificate is parsed: a worker that never reads one never loads it

# How distinguished names are spelled differ (.NET writes S= for the state, OpenSSL ST=); both mean one attribute.
_ALIASES = {"S": "ST", "E": "EMAILADDRESS", "1.2.840.113549.1.9.1": "EMAILADDRESS", "SN": "SERIALNUMBER"}


def thumbprint(cert) -> str:
    """SHA-1 of the DER certificate in upper-case hex, as APIM (and Windows) show it."""
    from cryptography.hazmat.primitives import hashes
    return cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - a name, as APIM's, not a check


def name_text(name) -> str:
    """`CN=client, O=Contoso, C=US`: the most specific part first, as APIM writes a subject."""
    return ", ".join(rdn.rfc4514_string() for rdn in reversed(name.rdns))


def dn_key(text: str) -> tuple:
    """A distinguished name compared as APIM users write it: in any order, any spacing, names and
    values without regard to case (`C=US, O="Contoso, Inc.", CN=x` == `CN=x,O=Contoso\\, Inc.,C=US`)."""
    parts, current, quoted, escaped = [], [], False, False
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch in ",;+" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    out = []
    for part in parts:
        kind, _, value = part.partition("=")
        kind = kind.strip().upper()
        if kind or value.strip():
            out.append((_ALIASES.get(kind, kind), value.strip().casefold()))
    return tuple(sorted(out))


class ClientCertificate:
    """The certificate a client presented in its TLS handshake, parsed only when something reads it.

    Fields as APIM's context.Request.Certificate has them: subject, issuer, thumbprint (SHA-1,
    upper-case hex), serial_number (hex), not_before and not_after (UTC datetimes); and for the
    identities of validate-client-certificate, common_name and dns_names.
    """

    __slots__ = ("_der", "_cert")

    def __init__(self, der: bytes):
        self._der = der
        self._cert = None

    def _parsed(self):
        if self._cert is None:
            from cryptography import x509
            self._cert = x509.load_der_x509_certificate(self._der)
        return self._cert

    @property
    def subject(self) -> str:
        return name_text(self._parsed().subject)

    @property
    def issuer(self) -> str:
        return name_text(self._parsed().issuer)

    @property
    def thumbprint(self) -> str:
        return hashlib.sha1(self._der).hexdigest().upper()

    @property
    def serial_number(self) -> str:
        return format(self._parsed().serial_number, "X")

    @property
    def not_before(self):
        return self._parsed().not_valid_before_utc

    @property
    def not_after(self):
        return self._parsed().not_valid_after_utc

    @property
    def common_name(self) -> str:
        from cryptography.x509.oid import NameOID
        found = self._parsed().subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(found[0].value) if found else ""

    @property
    def dns_names(self) -> list:
        from cryptography import x509
        try:
            extension = self._parsed().extensions.get_extension_for_class(x509.SubjectAlternativeName)
        except x509.ExtensionNotFound:
            return []
        return extension.value.get_values_for_type(x509.DNSName)

    def __repr__(self) -> str:
        return f"ClientCertificate({self.subject!r}, thumbprint={self.thumbprint})"


def peer_certificate(transport):
    """The client certificate of a TLS connection, or None (plain connection, or none presented)."""
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return ClientCertificate(der) if der else None

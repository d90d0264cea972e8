"""Certificates the tests make with `cryptography`: a CA, server certificates for host names, client certificates."""
import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DAY = datetime.timedelta(days=1)


def _name(cn: str, org: str = "gwcore tests") -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class Issued:
    """A certificate and its key, written as PEM files `<stem>.pem` and `<stem>.key`."""

    def __init__(self, directory: Path, stem: str, cert, key):
        self.cert_obj, self.key_obj = cert, key
        self.cert = directory / f"{stem}.pem"
        self.key = directory / f"{stem}.key"
        self.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        self.key.chmod(0o600)

    @property
    def thumbprint(self) -> str:
        return self.cert_obj.fingerprint(hashes.SHA1()).hex().upper()

    @property
    def der(self) -> bytes:
        return self.cert_obj.public_bytes(serialization.Encoding.DER)


class CA(Issued):
    """A self-signed certificate authority that issues server and client certificates."""

    def __init__(self, directory: Path, stem: str = "ca", cn: str = "gwcore test CA"):
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - DAY).not_valid_after(now + 30 * DAY)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
                .sign(key, hashes.SHA256()))
        self.directory = directory
        super().__init__(directory, stem, cert, key)

    def issue(self, stem: str, cn: str, hostnames=(), client: bool = False, not_before=None, not_after=None,
              org: str = "gwcore tests") -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (x509.CertificateBuilder().subject_name(_name(cn, org)).issuer_name(self.cert_obj.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(not_before or now - DAY).not_valid_after(not_after or now + 30 * DAY)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH if client
                                                         else ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
        names = []
        for host in hostnames:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return Issued(self.directory, stem, builder.sign(self.key_obj, hashes.SHA256()), key)

    def revocation_list(self, path: Path, revoked=()) -> Path:
        """A PEM CRL of this CA revoking the certificates `revoked` (Issued objects)."""
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (x509.CertificateRevocationListBuilder().issuer_name(self.cert_obj.subject)
                   .last_update(now - DAY).next_update(now + DAY))
        for issued in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(issued.cert_obj.serial_number)
                .revocation_date(now - DAY).build())
        path.write_bytes(builder.sign(self.key_obj, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
        return path

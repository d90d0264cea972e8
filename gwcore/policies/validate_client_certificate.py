"""validate-client-certificate: check the client's TLS certificate against rules and allowed identities."""
import hashlib
from datetime import datetime, timezone
from typing import Optional

from pydantic import Field, model_validator

from gwcore.pipeline.errors import PolicyError
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig, kebab
from gwcore.policies.fields import Element, Text, Thumbprint, is_expression, many
from gwcore.tls.certificate import dn_key


class Identity(Element):
    """Claims one acceptable certificate must match (all given attributes must match)."""

    thumbprint: Optional[Thumbprint] = Field(None, description="Certificate thumbprint (hex).")
    serial_number: Optional[Text] = Field(None, description="Certificate serial number.")
    common_name: Optional[Text] = Field(None, description="Common name (CN) of the subject.")
    subject: Optional[Text] = Field(None, description="Subject distinguished name, e.g. CN=client, O=Contoso.")
    dns_name: Optional[Text] = Field(None, description="A dnsName of the subject alternative names.")
    issuer_subject: Optional[Text] = Field(None, description="Issuer distinguished name.")
    issuer_thumbprint: Optional[Thumbprint] = Field(None, description="Issuer thumbprint (hex).")
    issuer_certificate_id: Optional[Text] = Field(None, description="Certificate id of the issuer's public key;"
                                                                    " excludes the other issuer attributes.")

    @model_validator(mode="after")
    def _claims(self):
        if all(getattr(self, name) is None for name in type(self).model_fields):
            names = ", ".join(kebab(n) for n in type(self).model_fields)
            raise ValueError(f"an identity needs at least one of {names}")
        if self.issuer_certificate_id is not None and (self.issuer_subject or self.issuer_thumbprint):
            raise ValueError("issuer-certificate-id excludes issuer-subject and issuer-thumbprint; keep one way to"
                             " name the issuer")
        return self


@policy("validate-client-certificate", sections=frozenset({"inbound"}))
class ValidateClientCertificate(PolicyConfig):
    """Requires a client certificate that passes the enabled checks and matches one of the identities; else 401
    `Invalid client certificate. Access denied.` Trust, and revocation (with gateway.tls.client_certificates.crl),
    are decided by the TLS handshake against gateway.tls.client_certificates; dates and identities here."""

    validate_revocation: bool = Field(True, description="Check the certificate against revocation lists.")
    validate_trust: bool = Field(True, description="The chain must lead to a trusted CA.")
    validate_not_before: bool = Field(True, description="Refuse certificates not valid yet.")
    validate_not_after: bool = Field(True, description="Refuse expired certificates.")
    ignore_error: bool = Field(False, description="On failure go on instead of running on-error.")
    identities: many(Identity, child="identity") = Field((), description="Acceptable identities: a list of"
                                                                         " claim sets; none listed: any"
                                                                         " certificate passing the checks.")

    def compile(self, c) -> list:
        """Trust (and revocation, with a CRL) is decided by the TLS handshake against
        gateway.tls.client_certificates; this step checks presence, dates and identities."""
        gateway = c.parts.gateway
        client = gateway.tls.client_certificates if gateway is not None and gateway.tls is not None else None
        if client is None or client.mode == "off":
            c.problem(self, "validate-client-certificate needs client certificates on the TLS listener: set"
                            " gateway.tls.client_certificates.mode to optional or require (with ca)")
            return []
        if self.validate_revocation and not client.crl:
            c.problem(self, "validate-revocation needs gateway.tls.client_certificates.crl (revocation lists"
                            " checked at the handshake; gwcore fetches none online): give crl, or set"
                            " validate-revocation: false")
            return []
        if not self.validate_trust:
            c.problem(self, "validate-trust: false cannot be honoured: the TLS handshake already refuses"
                            " certificates that do not chain to gateway.tls.client_certificates.ca; put the"
                            " certificates to accept (self-signed ones too) in that file, and remove validate-trust")
            return []
        issuers = c.parts.tls.issuers if c.parts.tls is not None else {}
        checks = []
        for index, identity in enumerate(self.identities):
            if is_expression(identity.thumbprint or "") or is_expression(identity.issuer_thumbprint or ""):
                c.problem(self, f"identities[{index}]: write thumbprints as hex; identities take no @(expression)")
                return []
            if identity.issuer_certificate_id is not None:
                c.problem(self, f"identities[{index}]: issuer-certificate-id names a certificate store gwcore does"
                                " not have; use issuer-subject or issuer-thumbprint")
                return []
            checks.append(_identity_check(identity, issuers))
        not_before, not_after, ignore = self.validate_not_before, self.validate_not_after, self.ignore_error

        def validate_client_certificate(ctx):
            cert = ctx.request.certificate
            if cert is None:
                why = "no client certificate was presented"
            else:
                now = datetime.now(timezone.utc)
                if not_before and now < cert.not_before:
                    why = f"the certificate is not valid before {cert.not_before.isoformat()}"
                elif not_after and now > cert.not_after:
                    why = f"the certificate expired at {cert.not_after.isoformat()}"
                elif checks and not any(check(cert) for check in checks):
                    why = f"the certificate ({cert.subject}, thumbprint {cert.thumbprint}) matches no identity"
                else:
                    return None
            if ignore:
                return None
            raise PolicyError(401, DENIED, "ClientCertificateNotValid", source="validate-client-certificate",
                              last_message=f"Client certificate validation failed: {why}.")

        return [validate_client_certificate]


DENIED = "Invalid client certificate. Access denied."


def _identity_check(identity, issuers: dict):
    """A function of a ClientCertificate: True when every claim the identity lists matches."""
    tests = []
    if identity.thumbprint is not None:
        wanted = identity.thumbprint.upper()
        tests.append(lambda cert: wanted in (cert.thumbprint, _sha256(cert)))
    if identity.serial_number is not None:
        serial = _serial(identity.serial_number)
        tests.append(lambda cert: _serial(cert.serial_number) == serial)
    if identity.common_name is not None:
        name = identity.common_name.casefold()
        tests.append(lambda cert: cert.common_name.casefold() == name)
    if identity.subject is not None:
        subject = dn_key(identity.subject)
        tests.append(lambda cert: dn_key(cert.subject) == subject)
    if identity.dns_name is not None:
        dns = identity.dns_name.lower()
        tests.append(lambda cert: dns in (n.lower() for n in cert.dns_names))
    if identity.issuer_subject is not None:
        issuer = dn_key(identity.issuer_subject)
        tests.append(lambda cert: dn_key(cert.issuer) == issuer)
    if identity.issuer_thumbprint is not None:
        wanted_issuer = identity.issuer_thumbprint.upper()
        tests.append(lambda cert: wanted_issuer in issuers.get(dn_key(cert.issuer), ()))
    return lambda cert: all(test(cert) for test in tests)


def _serial(text: str) -> str:
    return text.replace(":", "").replace(" ", "").upper().lstrip("0")


def _sha256(cert) -> str:
    return hashlib.sha256(cert._der).hexdigest().upper()

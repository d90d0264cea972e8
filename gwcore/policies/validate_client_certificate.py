"""validate-client-certificate: check the client's TLS certificate against rules and allowed identities."""
from typing import Optional

from pydantic import Field, model_validator

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig, kebab
from gwcore.policies.fields import Element, Text, Thumbprint, many


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
    """Requires a client certificate that passes the enabled checks and matches one of the identities."""

    validate_revocation: bool = Field(True, description="Check the certificate against revocation lists.")
    validate_trust: bool = Field(True, description="The chain must lead to a trusted CA.")
    validate_not_before: bool = Field(True, description="Refuse certificates not valid yet.")
    validate_not_after: bool = Field(True, description="Refuse expired certificates.")
    ignore_error: bool = Field(False, description="On failure go on instead of running on-error.")
    identities: many(Identity, child="identity") = Field((), description="Acceptable identities: a list of"
                                                                         " claim sets; none listed: any"
                                                                         " certificate passing the checks.")

"""The service provider side of SAML 2.0, one in-memory pysaml2 SP per firm.

pysaml2 verifies the response (signature against the IdP certificate from the uploaded
metadata, InResponseTo against the one request this browser started, audience, recipient,
validity window). Where it is known to be lax this module checks again:
- signature wrapping: the document must hold exactly one Assertion, a direct child of the
  Response, whose own enveloped signature references its own ID (no other element carries
  that ID), and it must be the assertion pysaml2 handed back;
- comments and processing instructions are refused anywhere: exclusive canonicalisation
  drops them, so ``a@firm.com<!---->.evil.com`` keeps a valid signature over a different text;
- an assertion without Conditions, audience or expiry, or without a bearer confirmation for
  our ACS, is refused (pysaml2 treats missing Conditions as valid);
- every signature in the document (the assertion's, and the Response's when it has one)
  must use an RSA or ECDSA signature over SHA-256 or stronger, and SHA-256 or stronger
  digests: pysaml2 verifies whatever algorithm the IdP chose, SHA-1 included.
pysaml2 and xmlsec1 block, so callers run these functions in a thread.
"""

import base64
import binascii
import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder

from defusedxml.ElementTree import DefusedXMLParser  # type: ignore[import-untyped]
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import SCM_BEARER
from saml2.sigver import get_xmlsec_binary
from saml2.time_util import str_to_time
from saml2.xmldsig import (
    DIGEST_SHA256,
    DIGEST_SHA384,
    DIGEST_SHA512,
    SIG_ECDSA_SHA256,
    SIG_ECDSA_SHA384,
    SIG_ECDSA_SHA512,
    SIG_RSA_SHA256,
    SIG_RSA_SHA384,
    SIG_RSA_SHA512,
)

from services.sso.errors import SsoRefused

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
DS = "http://www.w3.org/2000/09/xmldsig#"
CLOCK_SKEW = timedelta(seconds=60)
# Far above any real response (a few KB), low enough that parsing stays cheap.
MAX_RESPONSE_BYTES = 256 * 1024
# SHA-1 collisions are practical (SHAttered, 2017); SHA-224 is left out as no IdP needs it.
STRONG_SIGNATURES = frozenset(
    {
        SIG_RSA_SHA256,
        SIG_RSA_SHA384,
        SIG_RSA_SHA512,
        SIG_ECDSA_SHA256,
        SIG_ECDSA_SHA384,
        SIG_ECDSA_SHA512,
    }
)
STRONG_DIGESTS = frozenset({DIGEST_SHA256, DIGEST_SHA384, DIGEST_SHA512})
ALGSUPPORT = "urn:oasis:names:tc:SAML:metadata:algsupport"


@dataclass(frozen=True)
class ServiceProvider:
    """Everything pysaml2 needs for one firm, built from its row and the public URL."""

    entity_id: str
    acs_url: str
    idp_entity_id: str
    idp_metadata_xml: str

    @classmethod
    def for_firm(
        cls,
        public_url: str,
        firm_slug: str,
        *,
        idp_entity_id: str,
        idp_metadata_xml: str,
    ) -> "ServiceProvider":
        base = f"{public_url.rstrip('/')}/v1/sso/{firm_slug}"
        return cls(
            entity_id=f"{base}/metadata",
            acs_url=f"{base}/acs",
            idp_entity_id=idp_entity_id,
            idp_metadata_xml=idp_metadata_xml,
        )

    def config(self, *, unsolicited: bool = False) -> SPConfig:
        config = SPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "xmlsec_binary": get_xmlsec_binary(),
                "service": {
                    "sp": {
                        "endpoints": {
                            "assertion_consumer_service": [(self.acs_url, BINDING_HTTP_POST)]
                        },
                        "want_assertions_signed": True,
                        "want_response_signed": False,
                        "authn_requests_signed": False,
                        "allow_unsolicited": unsolicited,
                    }
                },
                "metadata": {"inline": [self.idp_metadata_xml]},
                "accepted_time_diff": int(CLOCK_SKEW.total_seconds()),
                # pysaml2 signs with SHA-1 by default; nothing of ours is signed today, so
                # this keeps anything signed later (requests, metadata) on SHA-256.
                "signing_algorithm": SIG_RSA_SHA256,
                "digest_algorithm": DIGEST_SHA256,
                "allow_unknown_attributes": True,
            }
        )
        return config


@dataclass(frozen=True)
class AuthnRedirect:
    request_id: str
    location: str


@dataclass(frozen=True)
class VerifiedAssertion:
    assertion_id: str
    expires_at: datetime
    name_id: str | None
    # Values by attribute Name and by FriendlyName, so either spelling can be mapped.
    attributes: dict[str, list[str]]


def sp_metadata(sp: ServiceProvider) -> str:
    """The SP's metadata, listing only the algorithms we accept: pysaml2 lists everything
    xmlsec1 knows (MD5 and SHA-1 included), and IdPs that read the algorithm-support
    extension choose from that list."""
    descriptor = entity_descriptor(sp.config())
    if descriptor.extensions is not None:
        descriptor.extensions.extension_elements = [
            element
            for element in descriptor.extensions.extension_elements
            if element.namespace != ALGSUPPORT
            or element.attributes.get("Algorithm") in STRONG_SIGNATURES | STRONG_DIGESTS
        ]
    return str(descriptor)


def authn_request(sp: ServiceProvider, relay_state: str) -> AuthnRedirect:
    client = Saml2Client(config=sp.config())
    request_id, info = client.prepare_for_authenticate(
        entityid=sp.idp_entity_id, relay_state=relay_state, binding=BINDING_HTTP_REDIRECT
    )
    return AuthnRedirect(request_id=request_id, location=dict(info["headers"])["Location"])


def verify_response(
    sp: ServiceProvider, saml_response: str, *, expected_request_id: str | None
) -> VerifiedAssertion:
    """Verify a base64 SAMLResponse; ``expected_request_id`` None means IdP-initiated."""
    root = _parse(_decode(saml_response))
    signed_id = _check_structure(root)
    _check_algorithms(root)
    unsolicited = expected_request_id is None
    client = Saml2Client(config=sp.config(unsolicited=unsolicited))
    outstanding = {} if expected_request_id is None else {expected_request_id: "/"}
    try:
        response = client.parse_authn_request_response(
            saml_response, BINDING_HTTP_POST, outstanding=outstanding
        )
    except Exception as exc:  # pysaml2 signals each failed check with its own type
        raise SsoRefused(f"pysaml2 refused the response: {type(exc).__name__}: {exc}") from exc
    if response is None or response.assertion is None:
        raise SsoRefused("pysaml2 returned no assertion")
    assertion = response.assertion
    if assertion.id != signed_id:
        raise SsoRefused("the assertion consumed is not the signed one")
    if unsolicited and response.in_response_to:
        raise SsoRefused("a solicited response arrived without this browser's RelayState")
    if not unsolicited and response.in_response_to != expected_request_id:
        raise SsoRefused("InResponseTo does not answer this browser's request")
    issuer = assertion.issuer.text.strip() if assertion.issuer is not None else ""
    if issuer != sp.idp_entity_id:
        raise SsoRefused(f"assertion issued by {issuer!r}, not the firm's IdP")
    expires_at = _check_conditions(sp, assertion, expected_request_id)
    return VerifiedAssertion(
        assertion_id=signed_id,
        expires_at=expires_at,
        name_id=_text(assertion.subject.name_id) if assertion.subject else None,
        attributes=_attributes(assertion),
    )


def _decode(saml_response: str) -> bytes:
    if len(saml_response) > MAX_RESPONSE_BYTES * 4 // 3 + 4:
        raise SsoRefused("SAMLResponse too large")
    try:
        return base64.b64decode(saml_response, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SsoRefused("SAMLResponse is not base64") from exc


def _parse(document: bytes) -> Element:
    builder = TreeBuilder(insert_comments=True, insert_pis=True)
    parser = DefusedXMLParser(target=builder, forbid_dtd=True)
    try:
        parser.feed(document)
        root: Element = parser.close()
    except Exception as exc:  # expat errors and defusedxml's refusals (DTD, entities)
        raise SsoRefused(f"SAMLResponse is not well-formed XML: {exc}") from exc
    return root


def _check_structure(root: Element) -> str:
    """The ID of the one assertion, once the document passes the wrapping checks."""
    if root.tag != f"{{{SAMLP}}}Response":
        raise SsoRefused(f"root element is {root.tag}, not a Response")
    everything = list(root.iter())
    if any(not isinstance(node.tag, str) for node in everything):
        raise SsoRefused("comment or processing instruction in the response")
    assertions = [node for node in everything if node.tag == f"{{{SAML}}}Assertion"]
    if len(assertions) != 1 or f"{{{SAML}}}EncryptedAssertion" in {n.tag for n in everything}:
        raise SsoRefused(f"{len(assertions)} assertions in the response, expected exactly 1")
    assertion = assertions[0]
    if assertion not in list(root):
        raise SsoRefused("the assertion is not a direct child of the Response")
    assertion_id = assertion.get("ID")
    if not assertion_id:
        raise SsoRefused("the assertion has no ID")
    if sum(1 for node in everything if assertion_id in {node.get("ID"), node.get("Id")}) != 1:
        raise SsoRefused("another element carries the assertion's ID")
    signatures = [node for node in assertion if node.tag == f"{{{DS}}}Signature"]
    if len(signatures) != 1:
        raise SsoRefused("the assertion carries no enveloped signature of its own")
    references = signatures[0].findall(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")
    if [ref.get("URI") for ref in references] != [f"#{assertion_id}"]:
        raise SsoRefused("the assertion's signature does not reference the assertion")
    return assertion_id


def _check_algorithms(root: Element) -> None:
    """Refuse any signature made or digested with less than SHA-256. The reason names the
    algorithm URI as the IdP sent it (repr, so a hostile value cannot forge log lines)."""
    for parent in root.iter():
        for signature in parent.findall(f"{{{DS}}}Signature"):
            where = f"{parent.tag.rsplit('}', 1)[-1]}'s signature"
            info = signature.find(f"{{{DS}}}SignedInfo")
            method = info.find(f"{{{DS}}}SignatureMethod") if info is not None else None
            algorithm = method.get("Algorithm") if method is not None else None
            if algorithm not in STRONG_SIGNATURES:
                raise SsoRefused(
                    f"the {where} uses {_shown(algorithm)}; "
                    "only RSA or ECDSA with SHA-256 or stronger is accepted"
                )
            references = info.findall(f"{{{DS}}}Reference") if info is not None else []
            for reference in references:
                digest = reference.find(f"{{{DS}}}DigestMethod")
                algorithm = digest.get("Algorithm") if digest is not None else None
                if algorithm not in STRONG_DIGESTS:
                    raise SsoRefused(
                        f"the {where} digests {_shown(reference.get('URI'))} with "
                        f"{_shown(algorithm)}; only SHA-256 or stronger is accepted"
                    )


def _shown(value: str | None) -> str:
    # Bounded: the value comes from whoever posted the response.
    return repr(value[:200]) if value is not None else "no algorithm"


def _check_conditions(sp: ServiceProvider, assertion: Any, request_id: str | None) -> datetime:
    """Audience, recipient and expiry must be present and ours; returns the expiry."""
    now = datetime.now(UTC)
    conditions = assertion.conditions
    if conditions is None or not conditions.not_on_or_after:
        raise SsoRefused("the assertion has no Conditions/NotOnOrAfter")
    audiences = {
        _text(audience)
        for restriction in conditions.audience_restriction
        for audience in restriction.audience
    }
    if sp.entity_id not in audiences:
        raise SsoRefused(f"audience {sorted(a for a in audiences if a)} is not this SP")
    expiries = [_instant(conditions.not_on_or_after)]
    if conditions.not_before and _instant(conditions.not_before) > now + CLOCK_SKEW:
        raise SsoRefused("the assertion is not valid yet")
    bearer = [
        confirmation.subject_confirmation_data
        for confirmation in (assertion.subject.subject_confirmation if assertion.subject else [])
        if confirmation.method == SCM_BEARER and confirmation.subject_confirmation_data
    ]
    if not bearer:
        raise SsoRefused("no bearer subject confirmation")
    for data in bearer:
        if data.recipient != sp.acs_url:
            raise SsoRefused(f"recipient {data.recipient!r} is not this ACS")
        if not data.not_on_or_after:
            raise SsoRefused("bearer confirmation without NotOnOrAfter")
        if data.in_response_to != request_id:
            raise SsoRefused("subject confirmation answers another request")
        expiries.append(_instant(data.not_on_or_after))
    expires_at = min(expiries)
    if expires_at + CLOCK_SKEW <= now:
        raise SsoRefused("the assertion has expired")
    return expires_at + CLOCK_SKEW


def _instant(value: str) -> datetime:
    try:
        return datetime.fromtimestamp(calendar.timegm(str_to_time(value)), UTC)
    except (ValueError, TypeError) as exc:
        raise SsoRefused(f"unreadable time {value!r}") from exc


def _text(element: Any) -> str | None:
    text = getattr(element, "text", None)
    return text.strip() if isinstance(text, str) else None


def _attributes(assertion: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for statement in assertion.attribute_statement:
        for attribute in statement.attribute:
            values = [v for v in (_text(value) for value in attribute.attribute_value) if v]
            for key in {attribute.name, attribute.friendly_name} - {None, ""}:
                found.setdefault(key, []).extend(values)
    return found

"""An identity provider for the SSO tests: a real pysaml2 IdP running in-process, with its
own RSA key and self-signed certificate generated at test time.

Besides honest responses it builds the malformed and hostile ones the SP must refuse:
responses are made unsigned by pysaml2, changed as a test needs, then signed with xmlsec1
(the IdP's key, or any other key) over exactly the bytes that are sent.
"""

import base64
import functools
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree as ET

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]
from saml2 import BINDING_HTTP_REDIRECT
from saml2.authn_context import PASSWORD, AuthnBroker, authn_context_class_ref
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.server import Server
from saml2.sigver import get_xmlsec_binary

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
DS = "http://www.w3.org/2000/09/xmldsig#"
ET.register_namespace("saml", SAML)
ET.register_namespace("samlp", SAMLP)
ET.register_namespace("ds", DS)


@dataclass(frozen=True)
class KeyPair:
    key_file: Path
    cert_file: Path

    @classmethod
    def generate(cls, directory: Path, name: str) -> "KeyPair":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .sign(key, hashes.SHA256())
        )
        key_file, cert_file = directory / f"{name}.key", directory / f"{name}.crt"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cls(key_file, cert_file)


@dataclass(frozen=True)
class AuthnRequestSeen:
    """What the IdP read from the SP's redirect."""

    request_id: str
    relay_state: str | None
    sp_entity_id: str
    acs_url: str


@dataclass
class User:
    email: str
    name: str = "Ada Lovelace"
    groups: list[str] = field(default_factory=list)
    # The NameID text; the email unless a test wants them to differ.
    name_id: str | None = None


def parse(xml: str) -> ET.Element:
    root: ET.Element = fromstring(xml)
    return root


def find(root: ET.Element, path: str) -> ET.Element:
    found = root.find(path, {"saml": SAML, "samlp": SAMLP, "ds": DS})
    assert found is not None, path
    return found


@dataclass(frozen=True)
class Algorithms:
    """The XML-DSig algorithm URIs a signature is made with."""

    signature: str
    digest: str


RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA256_ALGORITHMS = Algorithms(signature=RSA_SHA256, digest=SHA256)
# What pysaml2 and many older IdPs sign with unless told otherwise.
SHA1_ALGORITHMS = Algorithms(signature=RSA_SHA1, digest=SHA1)


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TestIdP:
    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.entity_id = f"https://{name}.idp.example.test/saml"
        self.sso_url = f"https://{name}.idp.example.test/sso"
        self.keys = KeyPair.generate(directory, name)
        self._sp_metadata: list[str] = []
        self._server: Server | None = None

    def _config(self) -> IdPConfig:
        conf: dict[str, object] = {
            "entityid": self.entity_id,
            "xmlsec_binary": get_xmlsec_binary(),
            "key_file": str(self.keys.key_file),
            "cert_file": str(self.keys.cert_file),
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [(self.sso_url, BINDING_HTTP_REDIRECT)]
                    },
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                    "policy": {"default": {"lifetime": {"minutes": 5}}},
                }
            },
            "allow_unknown_attributes": True,
        }
        if self._sp_metadata:
            conf["metadata"] = {"inline": self._sp_metadata}
        config = IdPConfig()
        config.load(conf)
        return config

    @property
    def metadata_xml(self) -> str:
        return str(entity_descriptor(self._config()))

    def trust(self, sp_metadata_xml: str) -> None:
        """Load an SP's metadata, as an IdP admin does when adding an application."""
        self._sp_metadata.append(sp_metadata_xml)
        self._server = None

    @property
    def server(self) -> Server:
        if self._server is None:
            self._server = Server(config=self._config())
        return self._server

    def read_request(self, location: str) -> AuthnRequestSeen:
        """Parse the AuthnRequest of an HTTP-Redirect URL the SP sent the browser to."""
        url = urlsplit(location)
        assert f"{url.scheme}://{url.netloc}{url.path}" == self.sso_url, location
        query = parse_qs(url.query)
        parsed = self.server.parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
        request = parsed.message
        return AuthnRequestSeen(
            request_id=request.id,
            relay_state=query.get("RelayState", [None])[0],
            sp_entity_id=request.issuer.text,
            acs_url=request.assertion_consumer_service_url,
        )

    def response_xml(
        self,
        user: User,
        *,
        in_response_to: str | None,
        sp_entity_id: str,
        acs_url: str,
    ) -> str:
        """An unsigned Response as pysaml2's IdP builds it."""
        identity = {"email": [user.email], "name": [user.name], "groups": user.groups}
        broker = AuthnBroker()
        broker.add(authn_context_class_ref(PASSWORD), "")
        authn = broker.get_authn_by_accr(PASSWORD)
        response = self.server.create_authn_response(
            identity=identity,
            in_response_to=in_response_to,
            destination=acs_url,
            sp_entity_id=sp_entity_id,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=user.name_id or user.email),
            authn=authn,
            sign_assertion=False,
            sign_response=False,
        )
        return str(response)

    def sign(
        self,
        xml: str,
        keys: KeyPair | None = None,
        algorithms: Algorithms = SHA256_ALGORITHMS,
        *,
        element: str = "saml:Assertion",
    ) -> str:
        """Sign ``element`` of ``xml`` (the single Assertion unless told otherwise) with an
        enveloped signature; signing the Response too means signing it second, so its
        digest covers the assertion's signature."""
        keys = keys or self.keys
        root = parse(xml)
        _add_signature_template(find(root, element), algorithms)
        return xmlsec_sign(ET.tostring(root, encoding="unicode"), keys, self.directory)

    def respond(
        self,
        seen: AuthnRequestSeen | None,
        user: User,
        *,
        sp_entity_id: str | None = None,
        acs_url: str | None = None,
        change: Callable[[ET.Element], None] | None = None,
        keys: KeyPair | None = None,
        signed: bool = True,
        algorithms: Algorithms = SHA256_ALGORITHMS,
        response_algorithms: Algorithms | None = None,
    ) -> str:
        """A base64 SAMLResponse answering ``seen`` (None: IdP-initiated). The assertion is
        signed with ``algorithms``; with ``response_algorithms`` the Response is signed too."""
        sp = sp_entity_id or (seen.sp_entity_id if seen else None)
        acs = acs_url or (seen.acs_url if seen else None)
        assert sp is not None and acs is not None
        xml = self.response_xml(
            user,
            in_response_to=seen.request_id if seen else None,
            sp_entity_id=sp,
            acs_url=acs,
        )
        if change is not None:
            root = parse(xml)
            change(root)
            xml = ET.tostring(root, encoding="unicode")
        if signed:
            xml = self.sign(xml, keys, algorithms)
        if response_algorithms is not None:
            xml = self.sign(xml, keys, response_algorithms, element=".")
        return encode(xml)


def encode(xml: str) -> str:
    return base64.b64encode(xml.encode()).decode()


def decode(saml_response: str) -> str:
    return base64.b64decode(saml_response).decode()


def _add_signature_template(signed: ET.Element, algorithms: Algorithms) -> None:
    signed_id = signed.get("ID")
    signature = ET.Element(f"{{{DS}}}Signature")
    info = ET.SubElement(signature, f"{{{DS}}}SignedInfo")
    ET.SubElement(
        info,
        f"{{{DS}}}CanonicalizationMethod",
        Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
    )
    ET.SubElement(
        info,
        f"{{{DS}}}SignatureMethod",
        Algorithm=algorithms.signature,
    )
    reference = ET.SubElement(info, f"{{{DS}}}Reference", URI=f"#{signed_id}")
    transforms = ET.SubElement(reference, f"{{{DS}}}Transforms")
    ET.SubElement(
        transforms,
        f"{{{DS}}}Transform",
        Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    )
    ET.SubElement(
        transforms, f"{{{DS}}}Transform", Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"
    )
    ET.SubElement(reference, f"{{{DS}}}DigestMethod", Algorithm=algorithms.digest)
    ET.SubElement(reference, f"{{{DS}}}DigestValue")
    ET.SubElement(signature, f"{{{DS}}}SignatureValue")
    key_info = ET.SubElement(signature, f"{{{DS}}}KeyInfo")
    ET.SubElement(ET.SubElement(key_info, f"{{{DS}}}X509Data"), f"{{{DS}}}X509Certificate")
    # The schema puts the signature right after the Issuer (of an Assertion or a Response).
    signed.insert(1, signature)


def xmlsec_sign(xml: str, keys: KeyPair, directory: Path) -> str:
    source = directory / f"unsigned-{uuid.uuid4().hex}.xml"
    source.write_text(xml)
    try:
        signed = subprocess.run(
            [
                get_xmlsec_binary(),
                "--sign",
                "--privkey-pem",
                f"{keys.key_file},{keys.cert_file}",
                "--id-attr:ID",
                f"{SAML}:Assertion",
                "--id-attr:ID",
                f"{SAMLP}:Response",
                "--output",
                "/dev/stdout",
                str(source),
            ],
            check=True,
            capture_output=True,
        )
    finally:
        source.unlink()
    return signed.stdout.decode()


def new_directory() -> Path:
    return Path(tempfile.mkdtemp(prefix="firmflow-saml-idp-"))


def remove_directory(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)


def set_attribute(root: ET.Element, path: str, attribute: str, value: str) -> None:
    """Set ``attribute`` of every element at ``path`` (a change before signing)."""
    for element in root.iterfind(path, {"saml": SAML, "samlp": SAMLP, "ds": DS}):
        element.set(attribute, value)


def shift_times(root: ET.Element, delta: timedelta) -> None:
    """Move every validity time of the response and its assertion by ``delta``."""
    for element in root.iter():
        for name in ("IssueInstant", "AuthnInstant", "NotBefore", "NotOnOrAfter"):
            value = element.get(name)
            if value is not None:
                moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
                element.set(name, instant(moment + delta))


@functools.cache
def sample_metadata() -> str:
    """Metadata of a throwaway IdP, for tests that need a valid configuration only."""
    directory = new_directory()
    try:
        return TestIdP(directory, "sample").metadata_xml
    finally:
        remove_directory(directory)

"""A real HTTP server on loopback that answers the DocuSign eSignature REST API v2.1 calls
firmflow makes, the way DocuSign does: bearer token, one account, envelopes created from
base64 documents with signers / certifiedDeliveries / carbonCopies and their tabs (checked
against each document's pages: a tab off its page is a 400 as at DocuSign), the lookup by a
text custom field, void, recipients' statuses, and the signed documents (the original with
a "signed" mark, so the bytes differ).

The test hooks play the recipients: ``view``, ``sign`` and ``decline`` move a recipient as
DocuSign would (a signer only in their routing order's turn) and return the Connect
deliveries DocuSign would send (JSON event model, ``X-DocuSign-Signature-1`` with each of
the account's HMAC keys): ``recipient-delivered``, ``recipient-completed`` (then
``envelope-completed`` when the last one signed), ``recipient-declined``, and
``envelope-voided`` for a void made in DocuSign. A test posts them to the app itself, in any
order and as often as it likes. With a JWT public key registered, ``POST /oauth/token``
answers DocuSign's JWT grant."""

import base64
import hashlib
import hmac
import io
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pypdf import PdfReader, PdfWriter

from providers.esignature_docusign_auth import GRANT_TYPE

_ENVELOPES = re.compile(r"^/restapi/v2\.1/accounts/(?P<account>[^/]+)/envelopes(?P<rest>/.*)?$")


@dataclass(frozen=True)
class Delivery:
    event: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"


def _json(status: int, body: Any) -> Answer:
    return Answer(status, json.dumps(body).encode())


def _error(status: int, code: str, message: str) -> Answer:
    return _json(status, {"errorCode": code, "message": message})


def signed_pdf(original: bytes, mark: str) -> bytes:
    """The original's pages with a mark in the document information: other bytes, the
    same pages."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(original)))
    writer.add_metadata({"/Producer": mark})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def connect_time(moment: datetime) -> str:
    """DocuSign's generatedDateTime: seven fractional digits and a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


@dataclass
class DocuSignApiServer:
    account_id: str
    access_token: str
    hmac_keys: list[str]
    port: int = 0
    envelopes: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    # Statuses answered (and not remembered) before any real answer, e.g. a transient 503.
    transient_failures: list[int] = field(default_factory=list)
    # The JWT grant's integration key and user, and the public key that checks assertions.
    integration_key: str = "7c2b8d7e-0000-4000-8000-00000000c0de"
    user_id: str = "b7a2c7d5-0000-4000-8000-000000000001"
    jwt_public_key: str | None = None
    grants: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        parts = urlsplit(target)
        with self._lock:
            self.requests.append((method, parts.path))
            if method == "POST" and parts.path == "/oauth/token":
                return self._grant(dict(parse_qsl(body.decode())))
            if headers.get("authorization") != f"Bearer {self.access_token}":
                return _error(401, "USER_AUTHENTICATION_FAILED", "The access token is invalid")
            if self.transient_failures:
                return _error(self.transient_failures.pop(0), "UNSPECIFIED_ERROR", "Try again")
            match = _ENVELOPES.match(parts.path)
            if match is None:
                return _error(404, "RESOURCE_NOT_FOUND", "Unknown resource")
            if match["account"] != self.account_id:
                return _error(400, "INVALID_ACCOUNT_ID", "Unknown account")
            rest = (match["rest"] or "").strip("/").split("/") if match["rest"] else []
            query = dict(parse_qsl(parts.query))
            return self._route(method, rest, query, body)

    def _grant(self, form: dict[str, str]) -> Answer:
        """DocuSign's JWT grant: the assertion checked with the registered public key."""
        refused = _json(400, {"error": "invalid_grant", "error_description": "no_valid_keys"})
        if form.get("grant_type") != GRANT_TYPE or self.jwt_public_key is None:
            return refused
        try:
            head, claims, signature = form["assertion"].split(".")
            key = serialization.load_pem_public_key(self.jwt_public_key.encode())
            assert isinstance(key, rsa.RSAPublicKey)
            key.verify(
                _unb64(signature), f"{head}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except (KeyError, ValueError, InvalidSignature):
            return refused
        payload = json.loads(_unb64(claims))
        now = datetime.now(UTC).timestamp()
        if (
            payload.get("iss") != self.integration_key
            or payload.get("sub") != self.user_id
            or payload.get("aud") != "127.0.0.1"
            or not payload.get("iat", now + 1) <= now < payload.get("exp", 0)
            or "signature" not in str(payload.get("scope")).split()
        ):
            return refused
        self.grants += 1
        return _json(
            200, {"access_token": self.access_token, "token_type": "Bearer", "expires_in": 3600}
        )

    def _route(self, method: str, rest: list[str], query: dict[str, str], body: bytes) -> Answer:
        if not rest:
            if method == "POST":
                return self._create(json.loads(body))
            if method == "GET":
                return self._search(query)
        envelope = self.envelopes.get(rest[0]) if rest else None
        if envelope is None:
            return _error(404, "ENVELOPE_DOES_NOT_EXIST", "The envelope does not exist")
        if len(rest) == 1 and method == "GET":
            return _json(200, self._summary(envelope))
        if len(rest) == 1 and method == "PUT":
            return self._void(envelope, json.loads(body))
        if rest[1:] == ["recipients"] and method == "GET":
            return _json(200, self._recipients(envelope))
        if len(rest) == 3 and rest[1] == "documents" and method == "GET":
            return self._document(envelope, rest[2])
        return _error(404, "RESOURCE_NOT_FOUND", "Unknown resource")

    def _create(self, request: dict[str, Any]) -> Answer:
        if request.get("status") != "sent":
            return _error(400, "INVALID_REQUEST_PARAMETER", "status must be sent")
        documents: dict[str, bytes] = {}
        for document in request.get("documents") or []:
            documents[document["documentId"]] = base64.b64decode(document["documentBase64"])
        if not documents:
            return _error(400, "ENVELOPE_IS_INCOMPLETE", "An envelope needs a document")
        sizes = {
            doc_id: [
                (float(p.mediabox.width), float(p.mediabox.height))
                for p in PdfReader(io.BytesIO(data)).pages
            ]
            for doc_id, data in documents.items()
        }
        recipients: list[dict[str, Any]] = []
        for group in ("signers", "certifiedDeliveries", "carbonCopies"):
            for recipient in request["recipients"].get(group) or []:
                problem = _tabs_problem(recipient.get("tabs") or {}, sizes)
                if problem is not None:
                    return _error(400, "INVALID_TAB", problem)
                recipients.append({**recipient, "group": group, "status": "sent"})
        envelope_id = str(uuid.uuid4())
        self.envelopes[envelope_id] = {
            "envelopeId": envelope_id,
            "status": "sent",
            "request": request,
            "documents": documents,
            "recipients": recipients,
            "customFields": {
                f["name"]: f["value"] for f in request["customFields"]["textCustomFields"]
            },
        }
        return _json(
            201,
            {
                "envelopeId": envelope_id,
                "status": "sent",
                "statusDateTime": connect_time(datetime.now(UTC)),
                "uri": f"/envelopes/{envelope_id}",
            },
        )

    def _search(self, query: dict[str, str]) -> Answer:
        if "from_date" not in query:
            return _error(400, "INVALID_REQUEST_PARAMETER", "from_date is required")
        name, _, value = query.get("custom_field", "").partition("=")
        found = [
            self._summary(e)
            for e in self.envelopes.values()
            if e["customFields"].get(name) == value
        ]
        return _json(200, {"envelopes": found, "resultSetSize": str(len(found))})

    def _summary(self, envelope: dict[str, Any]) -> dict[str, Any]:
        return {"envelopeId": envelope["envelopeId"], "status": envelope["status"]}

    def _void(self, envelope: dict[str, Any], change: dict[str, Any]) -> Answer:
        if change.get("status") != "voided" or not change.get("voidedReason"):
            return _error(400, "INVALID_REQUEST_PARAMETER", "voidedReason is required")
        if envelope["status"] in ("completed", "voided"):
            return _error(400, "ENVELOPE_CANNOT_VOID_INVALID_STATE", "Only open envelopes")
        envelope.update(status="voided", voidedReason=change["voidedReason"])
        return _json(200, {})

    def _recipients(self, envelope: dict[str, Any]) -> dict[str, Any]:
        listed: dict[str, Any] = {"signers": [], "certifiedDeliveries": [], "carbonCopies": []}
        for recipient in envelope["recipients"]:
            public = {k: v for k, v in recipient.items() if k not in ("group", "tabs")}
            listed[recipient["group"]].append(public)
        return listed

    def _document(self, envelope: dict[str, Any], document_id: str) -> Answer:
        data = envelope["documents"].get(document_id)
        if data is None:
            return _error(404, "DOCUMENT_DOES_NOT_EXIST", "No such document")
        mark = f"DocuSign {envelope['status']} {envelope['envelopeId']}"
        return Answer(200, signed_pdf(data, mark), "application/pdf")

    # --- The recipients' side (test hooks) -------------------------------------------

    def _recipient(self, envelope_id: str, recipient_id: str) -> dict[str, Any]:
        envelope = self.envelopes[envelope_id]
        return next(r for r in envelope["recipients"] if r["recipientId"] == recipient_id)

    def _delivery(
        self, event: str, envelope_id: str, recipient_id: str | None, at: datetime | None
    ) -> Delivery:
        data: dict[str, Any] = {
            "accountId": self.account_id,
            "userId": "b7a2c7d5-0000-4000-8000-000000000001",
            "envelopeId": envelope_id,
        }
        if recipient_id is not None:
            data["recipientId"] = recipient_id
        body = json.dumps(
            {
                "event": event,
                "apiVersion": "v2.1",
                "uri": f"/restapi/v2.1/accounts/{self.account_id}/envelopes/{envelope_id}",
                "retryCount": 0,
                "configurationId": 10001,
                "generatedDateTime": connect_time(at or datetime.now(UTC)),
                "data": data,
            }
        ).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        for index, key in enumerate(self.hmac_keys, start=1):
            digest = hmac.new(key.encode(), body, hashlib.sha256).digest()
            headers[f"X-DocuSign-Signature-{index}"] = base64.b64encode(digest).decode()
        return Delivery(event, headers, body)

    def view(self, envelope_id: str, recipient_id: str, *, at: datetime | None = None) -> Delivery:
        with self._lock:
            recipient = self._recipient(envelope_id, recipient_id)
            if recipient["status"] == "sent":
                recipient["status"] = "delivered"
            return self._delivery("recipient-delivered", envelope_id, recipient_id, at)

    def sign(
        self, envelope_id: str, recipient_id: str, *, at: datetime | None = None
    ) -> list[Delivery]:
        """The recipient signs (an approver acknowledges); their delivery, and the
        envelope's completion after the last one."""
        with self._lock:
            envelope = self.envelopes[envelope_id]
            recipient = self._recipient(envelope_id, recipient_id)
            order = int(recipient["routingOrder"])
            waiting = [
                r
                for r in envelope["recipients"]
                if r["group"] != "carbonCopies"
                and int(r["routingOrder"]) < order
                and r["status"] != "completed"
            ]
            if waiting or envelope["status"] != "sent":
                raise AssertionError("not this recipient's turn at DocuSign")
            recipient["status"] = "completed"
            deliveries = [self._delivery("recipient-completed", envelope_id, recipient_id, at)]
            if all(
                r["status"] == "completed"
                for r in envelope["recipients"]
                if r["group"] != "carbonCopies"
            ):
                envelope["status"] = "completed"
                deliveries.append(self._delivery("envelope-completed", envelope_id, None, at))
            return deliveries

    def decline(self, envelope_id: str, recipient_id: str, reason: str) -> Delivery:
        with self._lock:
            envelope = self.envelopes[envelope_id]
            recipient = self._recipient(envelope_id, recipient_id)
            recipient.update(status="declined", declinedReason=reason)
            envelope["status"] = "declined"
            return self._delivery("recipient-declined", envelope_id, recipient_id, None)

    def void_here(self, envelope_id: str) -> Delivery:
        """Someone voids the envelope in DocuSign's own web app."""
        with self._lock:
            self.envelopes[envelope_id].update(status="voided", voidedReason="Voided by sender")
            return self._delivery("envelope-voided", envelope_id, None, None)


def _tabs_problem(
    tabs: dict[str, list[dict[str, Any]]], sizes: dict[str, list[tuple[float, float]]]
) -> str | None:
    for kind, listed in tabs.items():
        for tab in listed:
            pages = sizes.get(tab["documentId"])
            if pages is None or not 1 <= int(tab["pageNumber"]) <= len(pages):
                return f"{kind}: no such document page"
            width, height = pages[int(tab["pageNumber"]) - 1]
            if not (0 <= int(tab["xPosition"]) <= width and 0 <= int(tab["yPosition"]) <= height):
                return f"{kind}: position off the page"
    return None


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _handler(server: DocuSignApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            answer = server.answer(self.command, self.path, headers, body)
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        do_GET = _serve
        do_POST = _serve
        do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def docusign_api_server(
    *, account_id: str, access_token: str, hmac_keys: list[str]
) -> Iterator[DocuSignApiServer]:
    state = DocuSignApiServer(account_id, access_token, hmac_keys)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()

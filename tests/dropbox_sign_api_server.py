"""A real HTTP server on loopback that answers the Dropbox Sign API v3 calls firmflow makes,
the way Dropbox Sign does: HTTP basic auth with the API key, ``signature_request/send`` as
multipart/form-data (files, signers in order, cc addresses, ``form_fields_per_document``
checked against each file's pages, metadata, ``expires_at``), the request's state,
``cancel`` (410 Gone once cancelled), and ``files?file_type=pdf``: every document in one PDF
followed by an audit trail page, as Dropbox Sign serves them.

The test hooks play the signers: ``view``, ``sign`` and ``decline`` move a signer (``sign``
only in their order's turn) and return the callbacks Dropbox Sign would send: multipart
with the event in the field ``json``, ``event_hash`` = hex HMAC-SHA256(API key,
event_time + event_type): ``signature_request_viewed``, ``signature_request_signed`` (then
``signature_request_all_signed`` after the last), ``signature_request_declined``; and
``cancel_here`` a ``signature_request_canceled``."""

import base64
import email.parser
import email.policy
import hashlib
import hmac
import io
import json
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pypdf import PdfReader, PdfWriter

from tests.docusign_api_server import Answer

_FIELD = re.compile(r"^(?P<name>\w+)\[(?P<index>\d+)\](?:\[(?P<member>\w+)\])?$")


@dataclass(frozen=True)
class Callback:
    event_type: str
    headers: dict[str, str]
    body: bytes


def _json(status: int, body: Any) -> Answer:
    return Answer(status, json.dumps(body).encode())


def _error(status: int, name: str, message: str) -> Answer:
    return _json(status, {"error": {"error_msg": message, "error_name": name}})


def parse_form(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    """(text fields, files) of a multipart/form-data body."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    texts: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        if part.get_filename() is not None:
            files[name] = payload
        else:
            texts[name] = payload.decode()
    return texts, files


def callback_body(payload: dict[str, Any]) -> tuple[str, bytes]:
    """(content type, body) of a callback carrying ``payload`` in the field json."""
    boundary = secrets.token_hex(12)
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="json"\r\n\r\n'
        f"{json.dumps(payload)}\r\n--{boundary}--\r\n"
    ).encode()
    return f"multipart/form-data; boundary={boundary}", body


def hash_of(api_key: str, event_time: str, event_type: str) -> str:
    return hmac.new(
        api_key.encode(), (event_time + event_type).encode(), hashlib.sha256
    ).hexdigest()


@dataclass
class DropboxSignApiServer:
    api_key: str
    port: int = 0
    requests_made: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    transient_failures: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        parts = urlsplit(target)
        with self._lock:
            self.calls.append((method, parts.path))
            token = base64.b64encode(f"{self.api_key}:".encode()).decode()
            if headers.get("authorization") != f"Basic {token}":
                return _error(401, "unauthorized", "Unauthorized api key")
            if self.transient_failures:
                return _error(self.transient_failures.pop(0), "server_error", "Try again")
            path = parts.path.removeprefix("/v3/signature_request")
            if method == "POST" and path == "/send":
                return self._send(headers.get("content-type", ""), body)
            if method == "POST" and path.startswith("/cancel/"):
                return self._cancel(path.removeprefix("/cancel/"))
            if method == "GET" and path.startswith("/files/"):
                query = dict(parse_qsl(parts.query))
                return self._files(path.removeprefix("/files/"), query.get("file_type"))
            if method == "GET" and path.startswith("/"):
                request = self.requests_made.get(path[1:])
                if request is None:
                    return _error(404, "not_found", "Not found")
                if request["canceled"]:
                    return _error(410, "deleted", "This resource has been deleted")
                return _json(200, {"signature_request": self._public(request)})
            return _error(404, "not_found", "Not found")

    def _send(self, content_type: str, body: bytes) -> Answer:
        texts, files = parse_form(content_type, body)
        documents = [files[f"files[{i}]"] for i in range(len(files))]
        if not documents:
            return _error(400, "bad_request", "Missing files")
        pages = [
            [
                (float(p.mediabox.width), float(p.mediabox.height))
                for p in PdfReader(io.BytesIO(d)).pages
            ]
            for d in documents
        ]
        signers: dict[int, dict[str, Any]] = {}
        for key, value in texts.items():
            match = _FIELD.match(key)
            if match and match["name"] == "signers" and match["member"]:
                signers.setdefault(int(match["index"]), {})[match["member"]] = value
        fields = json.loads(texts.get("form_fields_per_document", "[]"))
        for placed in fields:
            width, height = pages[placed["document_index"]][placed["page"] - 1]
            if (
                placed["signer"] not in signers
                or placed["x"] + placed["width"] > width
                or (placed["y"] + placed["height"] > height)
            ):
                return _error(400, "bad_request", "A form field is off its page or signer")
        request_id = secrets.token_hex(20)
        self.requests_made[request_id] = {
            "signature_request_id": request_id,
            "title": texts.get("title"),
            "message": texts.get("message"),
            "metadata": {
                k[len("metadata[") : -1]: v for k, v in texts.items() if k.startswith("metadata[")
            },
            "expires_at": int(texts["expires_at"]) if "expires_at" in texts else None,
            "test_mode": texts.get("test_mode") == "1",
            "cc_email_addresses": [v for k, v in texts.items() if k.startswith("cc_email")],
            "form_fields": fields,
            "files": documents,
            "canceled": False,
            "signatures": [
                {
                    "signature_id": secrets.token_hex(20),
                    "signer_email_address": signer["email_address"],
                    "signer_name": signer["name"],
                    "order": int(signer.get("order", index)),
                    "status_code": "awaiting_signature",
                    "signed_at": None,
                    "last_viewed_at": None,
                    "decline_reason": None,
                }
                for index, signer in sorted(signers.items())
            ],
        }
        return _json(200, {"signature_request": self._public(self.requests_made[request_id])})

    def _public(self, request: dict[str, Any]) -> dict[str, Any]:
        signatures = request["signatures"]
        return {
            **{k: v for k, v in request.items() if k not in ("files", "canceled", "form_fields")},
            "is_complete": all(s["status_code"] == "signed" for s in signatures),
            "is_declined": any(s["status_code"] == "declined" for s in signatures),
            "signatures": [dict(s) for s in signatures],
        }

    def _cancel(self, request_id: str) -> Answer:
        request = self.requests_made.get(request_id)
        if request is None:
            return _error(404, "not_found", "Not found")
        if request["canceled"]:
            return _error(410, "deleted", "This resource has been deleted")
        if self._public(request)["is_complete"]:
            return _error(400, "bad_request", "A complete request cannot be canceled")
        request["canceled"] = True
        return Answer(200, b"")

    def _files(self, request_id: str, file_type: str | None) -> Answer:
        request = self.requests_made.get(request_id)
        if request is None or file_type != "pdf":
            return _error(404, "not_found", "Not found")
        writer = PdfWriter()
        for data in request["files"]:
            for page in PdfReader(io.BytesIO(data)).pages:
                writer.add_page(page)
        # Dropbox Sign's audit trail page.
        writer.add_blank_page(width=612, height=792)
        writer.add_metadata({"/Producer": f"Dropbox Sign {request_id}"})
        out = io.BytesIO()
        writer.write(out)
        return Answer(200, out.getvalue(), "application/pdf")

    # --- The signers' side (test hooks) ----------------------------------------------

    def _signature(self, request_id: str, signature_id: str) -> dict[str, Any]:
        signatures = self.requests_made[request_id]["signatures"]
        return next(s for s in signatures if s["signature_id"] == signature_id)

    def _callback(
        self, event_type: str, request_id: str, signature_id: str | None, at: datetime | None
    ) -> Callback:
        event_time = str(int((at or datetime.now(UTC)).timestamp()))
        payload = {
            "event": {
                "event_time": event_time,
                "event_type": event_type,
                "event_hash": hash_of(self.api_key, event_time, event_type),
                "event_metadata": {
                    "related_signature_id": signature_id,
                    "reported_for_account_id": "63522885f9261e2b04eea043933ee7313eb674fd",
                    "reported_for_app_id": None,
                    "event_message": None,
                },
            },
            "signature_request": self._public(self.requests_made[request_id]),
        }
        content_type, body = callback_body(payload)
        return Callback(event_type, {"Content-Type": content_type}, body)

    def view(self, request_id: str, signature_id: str, *, at: datetime | None = None) -> Callback:
        with self._lock:
            self._signature(request_id, signature_id)["last_viewed_at"] = int(
                datetime.now(UTC).timestamp()
            )
            return self._callback("signature_request_viewed", request_id, signature_id, at)

    def sign(
        self, request_id: str, signature_id: str, *, at: datetime | None = None
    ) -> list[Callback]:
        with self._lock:
            signature = self._signature(request_id, signature_id)
            earlier = [
                s
                for s in self.requests_made[request_id]["signatures"]
                if s["order"] < signature["order"] and s["status_code"] != "signed"
            ]
            if earlier or self.requests_made[request_id]["canceled"]:
                raise AssertionError("not this signer's turn at Dropbox Sign")
            signature.update(status_code="signed", signed_at=int(datetime.now(UTC).timestamp()))
            callbacks = [self._callback("signature_request_signed", request_id, signature_id, at)]
            if self._public(self.requests_made[request_id])["is_complete"]:
                callbacks.append(
                    self._callback("signature_request_all_signed", request_id, None, at)
                )
            return callbacks

    def decline(self, request_id: str, signature_id: str, reason: str) -> Callback:
        with self._lock:
            self._signature(request_id, signature_id).update(
                status_code="declined", decline_reason=reason
            )
            return self._callback("signature_request_declined", request_id, signature_id, None)

    def cancel_here(self, request_id: str) -> Callback:
        """The sender cancels the request in Dropbox Sign's own web app."""
        with self._lock:
            callback = self._callback("signature_request_canceled", request_id, None, None)
            self.requests_made[request_id]["canceled"] = True
            return callback

    def callback_test(self) -> Callback:
        """Dropbox Sign's "callback_test", sent when the callback URL is saved."""
        event_time = str(int(datetime.now(UTC).timestamp()))
        payload = {
            "event": {
                "event_time": event_time,
                "event_type": "callback_test",
                "event_hash": hash_of(self.api_key, event_time, "callback_test"),
                "event_metadata": {},
            }
        }
        content_type, body = callback_body(payload)
        return Callback("callback_test", {"Content-Type": content_type}, body)


def _handler(server: DropboxSignApiServer) -> type[BaseHTTPRequestHandler]:
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

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def dropbox_sign_api_server(*, api_key: str) -> Iterator[DropboxSignApiServer]:
    state = DropboxSignApiServer(api_key)
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

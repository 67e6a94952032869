"""The action steps that act outside the database: ``http_request`` and ``send_email``.

``Actions`` reads the run and renders the params in one transaction, calls these, and
records the outcome in another. A crash in between repeats the effect on the next attempt,
so each carries a key derived from the step's idempotency key that is the same on every
attempt: the ``Idempotency-Key`` header, the email's ``Message-ID``. They return the
step's output; a failure is a ``StepInvalid`` or, when a later attempt may pass, a
``StepFailed``.
"""

from collections.abc import Callable
from typing import Any

import aiosmtplib
import httpx
from pydantic import EmailStr, TypeAdapter, ValidationError

from providers.email import EmailProvider, OutgoingEmail
from providers.http import (
    HttpClient,
    HttpError,
    HttpRefused,
    HttpRequest,
    HttpTooLarge,
)
from services.automations.step_errors import StepFailed, StepInvalid, validated
from workflows.automation.definition.params import HttpRequestParams, SendEmailParams
from workflows.automation.run.contracts import StepCall

HttpClientFactory = Callable[[list[str]], HttpClient]
# Statuses that say "try again later" rather than "this request is wrong".
_RETRYABLE_STATUSES = frozenset({408, 429})
_ADDRESS: TypeAdapter[str] = TypeAdapter(EmailStr)


def _succeeded(http_status: int, expected: list[int]) -> bool:
    return http_status in expected if expected else 200 <= http_status < 300


def message_id(call: StepCall, index: int) -> str:
    """The Message-ID of the email to the ``index``-th recipient of a step: the same on
    every attempt (":" is not allowed in a Message-ID, "." is)."""
    return f"{call.idempotency_key.replace(':', '.')}.{index}"


def _recipients(rendered: Any) -> list[Any]:
    """``to`` as rendered: an entry that yields a list stands for each of its items."""
    if not isinstance(rendered, list):
        return [rendered]
    out: list[Any] = []
    for entry in rendered:
        out.extend(entry if isinstance(entry, list) else [entry])
    return out


async def http_request(
    http_client: HttpClientFactory, allowlist: list[str], call: StepCall, rendered: dict[str, Any]
) -> dict[str, Any]:
    """The request the params describe, through a client bound to the firm's allow-list."""
    params = validated(HttpRequestParams, rendered)
    request = HttpRequest(
        method=params.method,
        url=params.url,
        headers=dict(params.headers),
        body=params.body,
        timeout=params.timeout,
        idempotency_key=call.idempotency_key,
    )
    try:
        result = await http_client(allowlist).request(request)
    except (HttpRefused, HttpTooLarge) as exc:
        raise StepInvalid(str(exc), input=rendered) from None
    except HttpError as exc:
        raise StepFailed(str(exc), input=rendered) from None
    if not _succeeded(result.status, params.expected_statuses):
        expected = ", ".join(map(str, params.expected_statuses)) or "2xx"
        host = httpx.URL(params.url).host
        error = (
            StepFailed
            if result.status >= 500 or result.status in _RETRYABLE_STATUSES
            else StepInvalid
        )
        raise error(f"{host} answered HTTP {result.status}; expected {expected}", input=rendered)
    return {"status": result.status, "headers": result.headers, "body": result.body}


async def send_email(
    email: EmailProvider, call: StepCall, rendered: dict[str, Any]
) -> dict[str, Any]:
    """One message per recipient, each with a Message-ID derived from the step's
    idempotency key and the recipient's position.

    SMTP has no idempotency: when the worker crashes after a message went out but
    before the step row commits, the next attempt sends it again, with the same
    Message-ID (which lets receiving systems drop the duplicate). Email is therefore
    at-least-once; every other action is exactly-once."""
    params = validated(SendEmailParams, {**rendered, "to": _recipients(rendered.get("to"))})
    addresses: list[str] = []
    for index, recipient in enumerate(params.to):
        try:
            addresses.append(_ADDRESS.validate_python(recipient))
        except ValidationError:
            raise StepInvalid(
                f"to/{index}: {recipient!r} is not a valid email address", input=rendered
            ) from None
    if "\n" in params.subject or "\r" in params.subject:
        raise StepInvalid("subject: must be a single line", input=rendered)
    ids = [message_id(call, index) for index in range(len(addresses))]
    for address, mid in zip(addresses, ids, strict=True):
        await _deliver(
            email,
            OutgoingEmail(message_id=mid, to=address, subject=params.subject, text=params.body),
            rendered,
        )
    return {"sent": addresses, "message_ids": ids}


async def _deliver(email: EmailProvider, message: OutgoingEmail, rendered: dict[str, Any]) -> None:
    try:
        await email.send(message)
    except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPResponseException) as exc:
        codes = (
            [refused.code for refused in exc.recipients]
            if isinstance(exc, aiosmtplib.SMTPRecipientsRefused)
            else [exc.code]
        )
        # 4xx is "try later" (greylisting, a full mailbox queue); 5xx will not change.
        error = StepInvalid if all(code >= 500 for code in codes) else StepFailed
        raise error(
            f"The mail server refused the message to {message.to} "
            f"(SMTP {', '.join(map(str, codes))})",
            input=rendered,
        ) from None
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise StepFailed(
            f"The mail server could not take the message to {message.to} ({type(exc).__name__})",
            input=rendered,
        ) from None

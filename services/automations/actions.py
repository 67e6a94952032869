"""Action steps of automation runs: render a step's params, perform its effect, record it.

The activities in ``activities/automation.py`` call ``Actions.run`` once per attempt of an
action step and ``finish_run`` at the end of a run (the contract is in
``workflows/automation/contracts.py``). Every attempt goes the same way:

1. In a tenant session of the run's firm: the run must exist there and be running; when
   the step row ``(run, step, visit)`` is already recorded as succeeded, its outcome is
   returned and nothing else happens, so a retried attempt repeats no effect.
2. The credentials the params name are resolved and the params rendered with them.
3. The effect. ``create_task``, ``update_client`` and ``emit_event`` change the database in
   the transaction that also inserts the step row and the workflow's ``pending`` records,
   so the effect and its record commit together or not at all: exactly once.
   ``http_request`` and ``send_email`` act outside the database, between a reading
   transaction and the recording one; a crash in between repeats the effect on the next
   attempt with the same idempotency key (the ``Idempotency-Key`` header, the email's
   ``Message-ID``).
4. The rendered input and the output are redacted of the secret values before they are
   stored or returned, and so is every error message.

Failures are ``StepInvalid`` (another attempt cannot fix it) or ``StepFailed`` (it may
pass on a later attempt); an exception of any other kind is logged, redacted, and becomes
a ``StepFailed`` with a generic message.
"""

import logging
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import aiosmtplib
import httpx
from pydantic import BaseModel, EmailStr, TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python
from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import outbox
from core.crypto import Cipher
from core.db import tenant_session
from core.errors import AppError
from core.outbox_dispatch import pop_outbox_ids
from core.principal import Principal
from models import AutomationRun, AutomationRunStep, Firm
from models.automation_run import RunStatus, StepStatus
from providers.email import EmailProvider, OutgoingEmail
from providers.http import (
    HttpClient,
    HttpError,
    HttpRefused,
    HttpRequest,
    HttpTooLarge,
)
from services import clients, tasks
from services.automations import admission, event_catalogue
from services.credentials import Redactor, UnknownCredentials, resolve_for_run
from services.expressions import (
    MAX_OUTPUT_BYTES,
    ExpressionError,
    check_output_size,
    render_params,
    secret_names_in_params,
)
from workflows.automation.contracts import (
    FinishRun,
    StepCall,
    StepOutcome,
    StepRecord,
    workflow_id,
)
from workflows.automation.definition import (
    EmitEventParams,
    HttpRequestParams,
    SendEmailParams,
    UpdateClientParams,
)

log = logging.getLogger("firmflow.automations")

HttpClientFactory = Callable[[list[str]], HttpClient]
# Statuses that say "try again later" rather than "this request is wrong".
_RETRYABLE_STATUSES = frozenset({408, 429})
_ADDRESS: TypeAdapter[str] = TypeAdapter(EmailStr)
_STEP_KEY = ["run_id", "step_id", "visit"]
_Params = TypeVar("_Params", bound=BaseModel)


class StepError(Exception):
    """A failed attempt. ``input`` is the rendered params when rendering got that far."""

    retryable: ClassVar[bool]

    def __init__(self, message: str, *, input: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.input = input


class StepInvalid(StepError):
    retryable = False


class StepFailed(StepError):
    retryable = True


class _Superseded(Exception):
    """Another attempt recorded the step first: this one's transaction must roll back."""


def _problems(exc: ValidationError, prefix: str = "") -> str:
    # Only locations and messages: pydantic's own text would quote the (secret) input.
    return "; ".join(
        f"{'/'.join(str(part) for part in (prefix, *err['loc']) if part != '')}: {err['msg']}"
        for err in exc.errors()
    )


def _validated(model: type[_Params], rendered: dict[str, Any]) -> _Params:
    try:
        return model.model_validate(rendered)
    except ValidationError as exc:
        raise StepInvalid(_problems(exc), input=rendered) from None


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


def _record_row(firm_id: uuid.UUID, run_id: uuid.UUID, record: StepRecord) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "firm_id": firm_id,
        "run_id": run_id,
        **record.model_dump(
            include={
                "step_id",
                "step_type",
                "visit",
                "position",
                "status",
                "attempt",
                "input",
                "output",
                "error",
                "started_at",
                "finished_at",
            }
        ),
    }


async def _insert_records(
    session: AsyncSession, firm_id: uuid.UUID, run_id: uuid.UUID, rows: list[dict[str, Any]]
) -> set[tuple[str, int]]:
    """Insert step rows, skipping those already recorded; returns the (step, visit) pairs
    this call inserted."""
    if not rows:
        return set()
    # Rows as parameters (executemany) rather than in VALUES: the statement compiles once
    # and is cached, where a VALUES list of a new length compiled afresh every time.
    result = await session.execute(
        insert(AutomationRunStep)
        .on_conflict_do_nothing(index_elements=_STEP_KEY)
        .returning(AutomationRunStep.step_id, AutomationRunStep.visit),
        rows,
    )
    return {(step_id, visit) for step_id, visit in result.all()}


async def write_records(
    session: AsyncSession, firm_id: uuid.UUID, run_id: uuid.UUID, records: Iterable[StepRecord]
) -> None:
    """The workflow's records of control steps and failed steps (already redacted); a
    record written by an earlier attempt is left as it is."""
    await _insert_records(
        session, firm_id, run_id, [_record_row(firm_id, run_id, r) for r in records]
    )


async def _recorded(session: AsyncSession, call: StepCall) -> StepOutcome | None:
    """The outcome of the step when an earlier attempt recorded it. Raises when the run is
    not one of this firm's running runs (row-level security hides other firms' runs)."""
    recorded, _ = await _run_state(session, call)
    return recorded


async def _run_state(session: AsyncSession, call: StepCall) -> tuple[StepOutcome | None, list[str]]:
    """``_recorded`` and the firm's HTTP allow-list, in one query: an HTTP step reads both
    before its request, and a round trip saved per step is measurable in runs per second."""
    step = AutomationRunStep
    row = (
        await session.execute(
            select(
                AutomationRun.status,
                step.status,
                step.input,
                step.output,
                step.attempt,
                Firm.http_allowlist,
            )
            .select_from(AutomationRun)
            .join(Firm, Firm.id == AutomationRun.firm_id)
            .outerjoin(
                step,
                and_(
                    step.run_id == AutomationRun.id,
                    step.step_id == call.step_id,
                    step.visit == call.visit,
                ),
            )
            .where(AutomationRun.id == call.run_id)
        )
    ).one_or_none()
    if row is None:
        raise StepInvalid("No automation run with this id in this firm")
    run_status, step_status, step_input, step_output, attempt, allowlist = row
    if step_status in (StepStatus.succeeded, StepStatus.reused):
        return StepOutcome(input=step_input, output=step_output, attempt=attempt), allowlist
    if step_status is not None:
        raise StepInvalid(f"Step {call.step_id} (visit {call.visit}) is already recorded as failed")
    if run_status != RunStatus.running:
        raise StepInvalid(f"The run is {run_status.value}; it runs no more steps")
    return None, list(allowlist)


@dataclass
class _Attempt:
    """One attempt of one step. ``secrets`` fills in once resolved, so whatever leaves the
    attempt (outcome, error, log line) is redacted with them."""

    call: StepCall
    attempt: int
    secrets: dict[str, str]

    @property
    def redactor(self) -> Redactor:
        return Redactor.of(self.secrets.values())

    @property
    def principal(self) -> Principal:
        # Audit events of the step name the run where a request id would be.
        return Principal.system(self.call.firm_id, request_id=workflow_id(self.call.run_id))

    def outcome(self, rendered: dict[str, Any], output: Any) -> StepOutcome:
        redactor = self.redactor
        redacted = redactor.redact(to_jsonable_python(output))
        try:
            check_output_size(redacted)
        except ExpressionError:
            raise StepInvalid(
                f"The step output exceeds {MAX_OUTPUT_BYTES // 1024} KB serialised",
                input=rendered,
            ) from None
        return StepOutcome(
            input=redactor.redact(to_jsonable_python(rendered)),
            output=redacted,
            attempt=self.attempt,
        )

    def row(self, outcome: StepOutcome) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "firm_id": self.call.firm_id,
            "run_id": self.call.run_id,
            "step_id": self.call.step_id,
            "step_type": self.call.step_type,
            "visit": self.call.visit,
            "position": self.call.position,
            "status": StepStatus.succeeded.value,
            "attempt": outcome.attempt,
            "input": outcome.input,
            "output": outcome.output,
            "error": None,
            "started_at": self.call.started_at,
            "finished_at": datetime.now(UTC),
        }

    async def record(self, session: AsyncSession, outcome: StepOutcome) -> bool:
        """Insert the step row and the pending records; False when an earlier attempt had
        recorded the step already."""
        call = self.call
        rows = [self.row(outcome)] + [
            _record_row(call.firm_id, call.run_id, r) for r in call.pending
        ]
        inserted = await _insert_records(session, call.firm_id, call.run_id, rows)
        return (call.step_id, call.visit) in inserted


# An effect inside the recording transaction: (session, attempt, rendered params) → output.
_DbEffect = Callable[[AsyncSession, _Attempt, dict[str, Any]], Awaitable[Any]]


class Actions:
    """Performs action steps. ``http_client`` builds the client for a firm's allow-list
    (tests pass one with their own TLS context); ``cipher`` decrypts credentials."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        cipher: Cipher,
        email: EmailProvider,
        http_client: HttpClientFactory = HttpClient,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._cipher = cipher
        self._email = email
        self._http_client = http_client
        self._db_effects: dict[str, _DbEffect] = {
            "create_task": self._create_task,
            "update_client": self._update_client,
            "emit_event": self._emit_event,
        }

    async def run(self, step_type: str, call: StepCall, *, attempt: int) -> StepOutcome:
        """One attempt of the action step ``call``, which must be of ``step_type``."""
        current = _Attempt(call=call, attempt=attempt, secrets={})
        try:
            if call.step_type != step_type:
                raise StepInvalid(
                    f"The {step_type} activity was called for a {call.step_type} step"
                )
            if step_type == "http_request":
                return await self._http_request(current)
            if step_type == "send_email":
                return await self._send_email(current)
            if step_type in self._db_effects:
                return await self._in_transaction(current, self._db_effects[step_type])
            raise StepInvalid(f"{step_type} is not an action step type")
        except StepError as exc:
            redactor = current.redactor
            raise type(exc)(
                redactor.redact_text(exc.message), input=redactor.redact(exc.input)
            ) from None
        except Exception as exc:
            log.error(
                "automation run %s step %s (visit %d, attempt %d) failed unexpectedly: %s",
                call.run_id,
                call.step_id,
                call.visit,
                attempt,
                current.redactor.redact_text("".join(traceback.format_exception(exc))),
            )
            raise StepFailed("The step failed unexpectedly; it will be retried") from None

    async def _render(self, session: AsyncSession, current: _Attempt) -> dict[str, Any]:
        call = current.call
        try:
            names = secret_names_in_params(call.params)
            if names:
                current.secrets.update(
                    await resolve_for_run(session, call.firm_id, names, cipher=self._cipher)
                )
            rendered = render_params(call.params, {**call.context, "secrets": current.secrets})
        except UnknownCredentials as exc:
            raise StepInvalid(exc.detail) from None
        except ExpressionError as exc:
            raise StepInvalid(exc.message) from None
        assert isinstance(rendered, dict)
        return rendered

    async def _in_transaction(self, current: _Attempt, effect: _DbEffect) -> StepOutcome:
        call = current.call
        try:
            async with tenant_session(call.firm_id, self._sessionmaker) as session:
                recorded = await _recorded(session, call)
                if recorded is not None:
                    return recorded
                rendered = await self._render(session, current)
                output = await effect(session, current, rendered)
                outcome = current.outcome(rendered, output)
                if not await current.record(session, outcome):
                    raise _Superseded
                return outcome
        except _Superseded:
            return await self._recorded_after_conflict(call)

    async def _recorded_after_conflict(self, call: StepCall) -> StepOutcome:
        async with tenant_session(call.firm_id, self._sessionmaker) as session:
            recorded = await _recorded(session, call)
        if recorded is None:
            raise StepFailed("The step's record could not be read back")
        return recorded

    async def _prepare(
        self, current: _Attempt, *, allowlist: bool = False
    ) -> tuple[StepOutcome | None, dict[str, Any], list[str]]:
        """The reading transaction before an effect outside the database: the recorded
        outcome if any, else the rendered params (and the firm's HTTP allow-list)."""
        call = current.call
        async with tenant_session(call.firm_id, self._sessionmaker) as session:
            recorded, entries = await _run_state(session, call)
            if recorded is not None:
                return recorded, {}, []
            rendered = await self._render(session, current)
        return None, rendered, entries if allowlist else []

    async def _recorded_outcome(self, current: _Attempt, outcome: StepOutcome) -> StepOutcome:
        call = current.call
        async with tenant_session(call.firm_id, self._sessionmaker) as session:
            if await current.record(session, outcome):
                return outcome
        return await self._recorded_after_conflict(call)

    async def _http_request(self, current: _Attempt) -> StepOutcome:
        recorded, rendered, allowlist = await self._prepare(current, allowlist=True)
        if recorded is not None:
            return recorded
        params = _validated(HttpRequestParams, rendered)
        request = HttpRequest(
            method=params.method,
            url=params.url,
            headers=dict(params.headers),
            body=params.body,
            timeout=params.timeout,
            idempotency_key=current.call.idempotency_key,
        )
        try:
            result = await self._http_client(allowlist).request(request)
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
            raise error(
                f"{host} answered HTTP {result.status}; expected {expected}", input=rendered
            )
        output = {"status": result.status, "headers": result.headers, "body": result.body}
        return await self._recorded_outcome(current, current.outcome(rendered, output))

    async def _send_email(self, current: _Attempt) -> StepOutcome:
        """One message per recipient, each with a Message-ID derived from the step's
        idempotency key and the recipient's position.

        SMTP has no idempotency: when the worker crashes after a message went out but
        before the step row commits, the next attempt sends it again, with the same
        Message-ID (which lets receiving systems drop the duplicate). Email is therefore
        at-least-once; every other action is exactly-once."""
        recorded, rendered, _ = await self._prepare(current)
        if recorded is not None:
            return recorded
        params = _validated(SendEmailParams, {**rendered, "to": _recipients(rendered.get("to"))})
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
        ids = [message_id(current.call, index) for index in range(len(addresses))]
        for address, mid in zip(addresses, ids, strict=True):
            await self._deliver(
                OutgoingEmail(message_id=mid, to=address, subject=params.subject, text=params.body),
                rendered,
            )
        output = {"sent": addresses, "message_ids": ids}
        return await self._recorded_outcome(current, current.outcome(rendered, output))

    async def _deliver(self, message: OutgoingEmail, rendered: dict[str, Any]) -> None:
        try:
            await self._email.send(message)
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
                f"The mail server could not take the message to {message.to} "
                f"({type(exc).__name__})",
                input=rendered,
            ) from None

    async def _create_task(
        self, session: AsyncSession, current: _Attempt, rendered: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            fields = tasks.validate_task_fields(rendered)
            task = await tasks.create_task(session, current.principal, fields=fields)
        except AppError as exc:
            raise StepInvalid(exc.detail, input=rendered) from None
        return {"id": str(task.id), **tasks.summarize(task)}

    async def _update_client(
        self, session: AsyncSession, current: _Attempt, rendered: dict[str, Any]
    ) -> dict[str, Any]:
        params = _validated(UpdateClientParams, rendered)
        try:
            client_id = uuid.UUID(str(params.client_id))
        except ValueError:
            raise StepInvalid("client_id: is not a valid client id", input=rendered) from None
        try:
            patch = clients.ClientPatch.model_validate(params.fields)
        except ValidationError as exc:
            raise StepInvalid(_problems(exc, "fields"), input=rendered) from None
        try:
            client = await clients.update_client(session, current.principal, client_id, patch=patch)
        except AppError as exc:
            raise StepInvalid(exc.detail, input=rendered) from None
        return {"id": str(client.id), **clients.summarize(client)}

    async def _emit_event(
        self, session: AsyncSession, current: _Attempt, rendered: dict[str, Any]
    ) -> dict[str, Any]:
        if rendered.get("key") is not None:
            # "{{ trigger.number }}" renders to a number; a key is compared as text.
            rendered = {**rendered, "key": str(rendered["key"])}
        params = _validated(EmitEventParams, rendered)
        if event_catalogue.is_reserved(params.name):
            raise StepInvalid(
                f"name: {params.name} is emitted by firmflow itself; an automation may only "
                "emit custom events",
                input=rendered,
            )
        call = current.call
        depth = await session.scalar(
            select(AutomationRun.depth).where(AutomationRun.id == call.run_id)
        )
        # The payload is nested, so none of its keys can clash with the envelope's; the
        # run's depth lets the delivery cut a chain of automations that trigger each other.
        message = outbox.event(
            params.name,
            f"automation:{call.idempotency_key}",
            key=params.key,
            payload=params.payload,
            source={
                "run_id": str(call.run_id),
                "step_id": call.step_id,
                "visit": call.visit,
                "depth": depth or 0,
            },
        )
        await outbox.enqueue_message(session, call.firm_id, message)
        return {"event": params.name, "key": params.key, "payload": params.payload}


async def finish_run(
    sessionmaker: async_sessionmaker[AsyncSession], finish: FinishRun
) -> list[uuid.UUID]:
    """Write the remaining records and the run's final status, in one transaction. Only a
    run still running changes, so a repeated call (a retried local activity) changes
    nothing; records already written are kept as they are. Returns the outbox messages
    the transaction enqueued (the start of a queued run its end admitted)."""
    if finish.status == RunStatus.running:
        raise StepInvalid("A run cannot finish with the status running")
    async with tenant_session(finish.firm_id, sessionmaker) as session:
        found = await session.scalar(
            select(AutomationRun.id).where(AutomationRun.id == finish.run_id).with_for_update()
        )
        if found is None:
            raise StepInvalid("No automation run with this id in this firm")
        await write_records(session, finish.firm_id, finish.run_id, finish.pending)
        await session.execute(
            update(AutomationRun)
            .where(AutomationRun.id == finish.run_id, AutomationRun.status == RunStatus.running)
            .values(
                status=RunStatus(finish.status),
                error=finish.error,
                finished_at=func.clock_timestamp(),
            )
        )
        await admission.release(session, finish.run_id)
        enqueued = pop_outbox_ids(session)
    return enqueued

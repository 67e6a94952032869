"""The run's side of an approval: opening it (the row, the step records, the approvers'
emails) and closing it when the step's timeout passes or the run is canceled.

``open_approval`` is retried by Temporal, so it finds what an earlier attempt did: the row
is unique per (run, step, visit) and commits before any email goes out, so every attempt
sees the same approval id, and each email's Message-ID is derived from that id and the
approver's user id (a repeated send is the same message, which receivers drop). Email is
at-least-once, as for the ``send_email`` step.

Title and message are rendered in the sandbox over the run's context, which carries no
secrets (and validation refuses ``secrets`` in them): they are stored and emailed.
"""

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import aiosmtplib
from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFound
from core.principal import Principal
from core.roles import Role
from models import Approval, ApprovalStatus, User
from models.automation_run import RunStatus
from providers.email import EmailProvider, OutgoingEmail
from pure.expressions import ExpressionError, render
from pure.expressions.sandbox import text
from services import audit
from services.approvals import APPROVALS
from services.automations import approvals
from services.automations.repository import RUNS
from services.automations.run_records import write_records
from services.automations.step_errors import StepFailed, StepInvalid
from services.identity_repository import USERS
from workflows.automation.definition.params import ApprovalParams
from workflows.automation.run.contracts import (
    ApprovalClose,
    ApprovalOpen,
    ApprovalOpened,
    ApprovalResult,
    workflow_id,
)

log = logging.getLogger("firmflow.automations.approvals")

MAX_TITLE = 500
# The subject line of the approvers' email (the title may be long).
MAX_SUBJECT = 200


@dataclass(frozen=True)
class Notifier:
    email: EmailProvider
    # The base URL of the web app the approval links point into.
    public_url: str

    def link(self, approval_id: uuid.UUID) -> str:
        return f"{self.public_url.rstrip('/')}/approvals/{approval_id}"


def message_id(approval_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """The same on every attempt, different per approver."""
    return f"approval-{approval_id}-{user_id}"


def _principal(request: ApprovalOpen | ApprovalClose, run_id: uuid.UUID) -> Principal:
    # Audit events of the step name the run where a request id would be.
    return Principal.system(request.firm_id, request_id=workflow_id(run_id))


def _rendered(params: ApprovalParams, context: dict[str, Any]) -> tuple[str, str]:
    try:
        title = text(render(params.title, context))
        message = text(render(params.message, context))
    except ExpressionError as exc:
        raise StepInvalid(exc.message) from None
    # One line, bounded: it is an email subject and a list entry.
    return " ".join(title.split())[:MAX_TITLE], message


async def approvers(session: AsyncSession, approval: Approval) -> list[User]:
    """Who may vote: active users of the approval's firm, never client-role users, with
    one of its roles or named in it, without the run's initiator unless allowed. A named
    id of another firm's user matches nothing (the query is scoped to the firm)."""
    stmt = USERS.select(approval.firm_id).where(
        User.is_active,
        User.role != Role.client,
        or_(
            User.role.in_([Role(role) for role in approval.approver_roles]),
            User.id.in_(approval.approver_user_ids),
        ),
    )
    if approval.initiator_id is not None and not approval.allow_initiator:
        stmt = stmt.where(User.id != approval.initiator_id)
    return list(await session.scalars(stmt.order_by(User.created_at, User.id)))


async def _existing(session: AsyncSession, request: ApprovalOpen) -> Approval | None:
    approval: Approval | None = await session.scalar(
        APPROVALS.select(request.firm_id).where(
            Approval.run_id == request.run_id,
            Approval.step_id == request.step_id,
            Approval.visit == request.visit,
        )
    )
    return approval


async def create_approval(session: AsyncSession, request: ApprovalOpen) -> Approval:
    """The approval row with the pending step records and its audit event; an earlier
    attempt's row when there is one."""
    found = await _existing(session, request)
    if found is not None:
        return found
    run = await RUNS.get(session, request.firm_id, request.run_id)
    if run is None:
        raise StepInvalid("No automation run with this id in this firm")
    if run.status != RunStatus.running:
        raise StepInvalid(f"The run is {run.status.value}; it opens no approval")
    try:
        params = ApprovalParams.model_validate(request.params)
    except ValidationError:
        raise StepInvalid("The approval step's params are not valid") from None
    title, message = _rendered(params, request.context)
    approval_id = uuid.uuid4()
    await session.execute(
        insert(Approval)
        .values(
            id=approval_id,
            firm_id=request.firm_id,
            run_id=request.run_id,
            automation_id=request.automation_id,
            step_id=request.step_id,
            visit=request.visit,
            status=ApprovalStatus.pending,
            title=title,
            message=message,
            approver_roles=list(params.approvers.roles),
            approver_user_ids=list(dict.fromkeys(params.approvers.users)),
            quorum=params.quorum,
            allow_initiator=params.allow_initiator,
            initiator_id=request.initiator_id,
            form={name: field.model_dump(mode="json") for name, field in params.form.items()},
            expires_at=request.expires_at,
        )
        .on_conflict_do_nothing(index_elements=["run_id", "step_id", "visit"])
    )
    approval = await _existing(session, request)
    assert approval is not None
    if approval.id != approval_id:
        # A concurrent attempt inserted it first and wrote its records and audit event.
        return approval
    await write_records(session, request.firm_id, request.run_id, request.pending)
    await audit.record(
        session,
        _principal(request, request.run_id),
        action="approval.opened",
        record_type="approval",
        record_id=approval.id,
        after={
            "run_id": str(request.run_id),
            "step_id": request.step_id,
            "visit": request.visit,
            "title": title,
            "quorum": params.quorum,
        },
    )
    return approval


def _email(notifier: Notifier, approval: Approval, user: User) -> OutgoingEmail:
    subject = f"Approval needed: {approval.title}"
    if len(subject) > MAX_SUBJECT:
        subject = subject[: MAX_SUBJECT - 1] + "…"
    needed = (
        "One approval decides"
        if approval.quorum == 1
        else f"{approval.quorum} approvals are needed"
    )
    lines = [f"Hello {user.name or user.email},", "", approval.title, ""]
    if approval.message:
        lines += [approval.message, ""]
    lines += [
        f"Approve or reject it here: {notifier.link(approval.id)}",
        "",
        f"{needed}; one rejection rejects.",
    ]
    if approval.expires_at is not None:
        lines.append(f"It expires at {approval.expires_at:%Y-%m-%d %H:%M} UTC.")
    return OutgoingEmail(
        message_id=message_id(approval.id, user.id),
        to=user.email,
        subject=subject,
        text="\n".join(lines) + "\n",
    )


async def _notify(notifier: Notifier, approval: Approval, users: list[User]) -> int:
    """Send each approver their email; how many the mail server took. A permanent refusal
    of one address (5xx) skips that approver; anything else is retried."""
    sent = 0
    for user in users:
        try:
            await notifier.email.send(_email(notifier, approval, user))
        except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPResponseException) as exc:
            codes = (
                [refused.code for refused in exc.recipients]
                if isinstance(exc, aiosmtplib.SMTPRecipientsRefused)
                else [exc.code]
            )
            if not all(code >= 500 for code in codes):
                raise StepFailed(
                    f"The mail server deferred the approval email (SMTP {codes[0]})"
                ) from None
            log.warning("approval %s: the mail server refused user %s", approval.id, user.id)
            continue
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise StepFailed(
                f"The mail server could not take the approval email ({type(exc).__name__})"
            ) from None
        sent += 1
    return sent


async def open_approval(
    session: AsyncSession, request: ApprovalOpen
) -> tuple[Approval, list[User]]:
    """The approval (an earlier attempt's when there is one) and who is still to be told:
    it must commit before ``notify`` sends anything, so every attempt mails the same id."""
    approval = await create_approval(session, request)
    pending = approval.status == ApprovalStatus.pending
    return approval, await approvers(session, approval) if pending else []


async def notify(notifier: Notifier, approval: Approval, users: list[User]) -> ApprovalOpened:
    notified = await _notify(notifier, approval, users)
    return ApprovalOpened(approval_id=approval.id, title=approval.title, notified=notified)


async def close_approval(session: AsyncSession, request: ApprovalClose) -> ApprovalResult:
    run_id = await session.scalar(
        select(Approval.run_id).where(
            APPROVALS.owned_by(request.firm_id), Approval.id == request.approval_id
        )
    )
    if run_id is None:
        raise StepInvalid("No approval with this id in this firm")
    principal = _principal(request, run_id)
    try:
        view = await approvals.close(session, principal, request.approval_id, request.reason)
    except NotFound:
        raise StepInvalid("No approval with this id in this firm") from None
    return approvals.result_of(view.approval, view.votes)

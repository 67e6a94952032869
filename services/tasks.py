"""Staff to-dos: creation (by people and by the ``create_task`` automation step), changes,
completion, deletion and the filtered, keyset-paginated list.

Every id a caller hands in (the task, its assignee, its client) must belong to the
principal's firm, or the answer is a 404; an assignee must also be an active member of
the firm's own staff (not a client-role user)."""

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, field_validator
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import BadRequest, Unprocessable, unprocessable
from core.not_null import NeverNull
from core.pagination import Page, PageParams, keyset, to_page
from core.principal import Principal
from core.roles import Role
from models import Task, TaskStatus
from pure import event_catalogue
from services import audit
from services.clients import CLIENTS
from services.firms import firm_today
from services.identity_repository import USERS
from services.outbox import writer as outbox
from services.patches import apply_patch
from services.repository import FirmScoped

MAX_DESCRIPTION = 10_000
TASKS = FirmScoped(Task, "task")

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION)]


class TaskFields(BaseModel):
    """A new task. ``due_date`` is a calendar date in the firm's time zone."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description | None = None
    assignee_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    due_date: date | None = None


class TaskPatch(BaseModel):
    """Only the fields present change; all but ``title`` may be set to null to clear them."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[Title | None, NeverNull] = None
    description: Description | None = None
    assignee_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    due_date: date | None = None

    @field_validator("title", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


def validate_task_fields(data: dict[str, Any]) -> TaskFields:
    """Validate a new task's raw fields (e.g. the rendered params of a ``create_task``
    step). Raises ``Unprocessable`` naming each bad field, with a JSON pointer per problem."""
    try:
        return TaskFields.model_validate(data)
    except ValidationError as exc:
        raise unprocessable(exc) from exc


def summarize(task: Task) -> dict[str, Any]:
    """The audit summary of a task: its fields as JSON-ready values."""
    return {
        "title": task.title,
        "description": task.description,
        "status": task.status,
        "assignee_id": str(task.assignee_id) if task.assignee_id else None,
        "client_id": str(task.client_id) if task.client_id else None,
        "due_date": task.due_date.isoformat() if task.due_date else None,
        "completed_at": task.completed_at.isoformat() if task.completed_at else None,
        "completed_by": str(task.completed_by) if task.completed_by else None,
    }


def _event(name: str, dedupe_key: str, task: Task, principal: Principal) -> outbox.NewMessage:
    fields = {field: value for field, value in summarize(task).items() if field != "description"}
    return outbox.event(
        name,
        dedupe_key,
        task_id=str(task.id),
        **fields,
        source=event_catalogue.run_source(principal.request_id),
    )


async def _check_assignee(
    session: AsyncSession, principal: Principal, assignee_id: uuid.UUID
) -> None:
    user = await USERS.get_or_404(session, principal, assignee_id, pointer="/assignee_id")
    if user.role == Role.client:
        raise Unprocessable(
            "Tasks are assigned to the firm's own people, not to client users",
            errors=[{"pointer": "/assignee_id", "detail": "user has the client role"}],
        )
    if not user.is_active:
        raise Unprocessable(
            "This user is deactivated; assign the task to an active user",
            errors=[{"pointer": "/assignee_id", "detail": "user is deactivated"}],
        )


async def _check_client(session: AsyncSession, principal: Principal, client_id: uuid.UUID) -> None:
    await CLIENTS.require(session, principal, client_id, pointer="/client_id")


async def create_task(session: AsyncSession, principal: Principal, *, fields: TaskFields) -> Task:
    """Create a task; ``principal`` may be ``Principal.system(firm_id)`` (an automation),
    in which case the task has no creator."""
    if fields.assignee_id is not None:
        await _check_assignee(session, principal, fields.assignee_id)
    if fields.client_id is not None:
        await _check_client(session, principal, fields.client_id)
    task = Task(
        firm_id=principal.firm_id,
        status=TaskStatus.open.value,
        created_by=principal.user_id,
        **fields.model_dump(),
    )
    session.add(task)
    await session.flush()
    await session.refresh(task, ["created_at", "updated_at"])
    await audit.record(
        session,
        principal,
        action="task.created",
        record_type="task",
        record_id=task.id,
        after=summarize(task),
    )
    await outbox.enqueue_message(
        session,
        principal.firm_id,
        _event("task.created", f"task.created:{task.id}", task, principal),
    )
    return task


async def get_task(
    session: AsyncSession, principal: Principal, task_id: uuid.UUID, *, lock: bool = False
) -> Task:
    return await TASKS.get_or_404(session, principal, task_id, lock=lock)


async def _changed(
    session: AsyncSession,
    principal: Principal,
    task: Task,
    action: str,
    before: dict[str, Any],
) -> Task:
    await session.flush()
    # updated_at is set by the database on flush; load it before the caller reads it.
    await session.refresh(task, ["updated_at"])
    await audit.record_changes(
        session,
        principal,
        action=action,
        record_type="task",
        record_id=task.id,
        before=before,
        after=summarize(task),
    )
    return task


async def update_task(
    session: AsyncSession, principal: Principal, task_id: uuid.UUID, *, patch: TaskPatch
) -> Task:
    task = await get_task(session, principal, task_id, lock=True)
    if patch.assignee_id is not None and patch.assignee_id != task.assignee_id:
        await _check_assignee(session, principal, patch.assignee_id)
    if patch.client_id is not None and patch.client_id != task.client_id:
        await _check_client(session, principal, patch.client_id)
    await apply_patch(session, principal, task, patch, record_type="task", summarize=summarize)
    return task


async def set_done(
    session: AsyncSession, principal: Principal, task_id: uuid.UUID, *, done: bool
) -> Task:
    """Complete or reopen; asking for the state the task is already in changes nothing
    (and records nothing), so a retried request is harmless."""
    task = await get_task(session, principal, task_id, lock=True)
    if (task.status == TaskStatus.done) == done:
        return task
    before = summarize(task)
    task.status = (TaskStatus.done if done else TaskStatus.open).value
    task.completed_at = datetime.now(UTC) if done else None
    task.completed_by = principal.user_id if done else None
    if done:
        # A task may be completed, reopened and completed again: each is its own event.
        dedupe_key = f"task.completed:{task.id}:{uuid.uuid4()}"
        await outbox.enqueue_message(
            session, principal.firm_id, _event("task.completed", dedupe_key, task, principal)
        )
    return await _changed(
        session, principal, task, "task.completed" if done else "task.reopened", before
    )


async def delete_task(session: AsyncSession, principal: Principal, task_id: uuid.UUID) -> None:
    task = await get_task(session, principal, task_id, lock=True)
    before = summarize(task)
    await session.delete(task)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="task.deleted",
        record_type="task",
        record_id=task_id,
        before=before,
    )


@dataclass(frozen=True)
class TaskFilters:
    """``assignee_id`` keeps the tasks of one user; ``unassigned`` those of nobody.
    ``due_after`` and ``due_before`` are inclusive dates; ``overdue`` keeps open tasks
    due before today in the firm's time zone (``today``, filled in by ``list_tasks``)."""

    status: TaskStatus | None = None
    assignee_id: uuid.UUID | None = None
    unassigned: bool = False
    client_id: uuid.UUID | None = None
    due_after: date | None = None
    due_before: date | None = None
    overdue: bool = False
    today: date | None = None

    def __post_init__(self) -> None:
        if self.due_after and self.due_before and self.due_after > self.due_before:
            raise BadRequest(
                "The due-date range is empty: due_after must not be after due_before",
                errors=[{"parameter": "due_after", "in": "query", "detail": "after due_before"}],
            )


def tasks_query(principal: Principal, filters: TaskFilters, page: PageParams) -> Select[Task]:
    stmt = TASKS.select(principal)
    if filters.status is not None:
        stmt = stmt.where(Task.status == filters.status.value)
    if filters.assignee_id is not None:
        stmt = stmt.where(Task.assignee_id == filters.assignee_id)
    if filters.unassigned:
        stmt = stmt.where(Task.assignee_id.is_(None))
    if filters.client_id is not None:
        stmt = stmt.where(Task.client_id == filters.client_id)
    if filters.due_after is not None:
        stmt = stmt.where(Task.due_date >= filters.due_after)
    if filters.due_before is not None:
        stmt = stmt.where(Task.due_date <= filters.due_before)
    if filters.overdue:
        if filters.today is None:
            raise ValueError("the overdue filter needs today's date in the firm's time zone")
        stmt = stmt.where(Task.status == TaskStatus.open.value, Task.due_date < filters.today)
    return keyset(stmt, Task.created_at, Task.id, page)


async def list_tasks(
    session: AsyncSession, principal: Principal, *, filters: TaskFilters, page: PageParams
) -> Page[Task]:
    """Newest first."""
    if filters.overdue and filters.today is None:
        filters = replace(filters, today=await firm_today(session, principal))
    rows = (await session.scalars(tasks_query(principal, filters, page))).all()
    return to_page(rows, page)

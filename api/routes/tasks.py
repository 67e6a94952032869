"""Staff to-dos of the caller's firm."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse

from api import idempotency
from api.deps import IdempotencyDep, PageDep, Requires, SessionDep
from api.openapi import errors
from api.schemas.common import Page, page_of
from api.schemas.tasks import TaskCreate, TaskRead, TaskUpdate
from core.errors import BadRequest, NotFound
from core.permissions import Permission
from core.principal import Principal
from models import TaskStatus
from services import tasks
from services.tasks import TaskFilters

router = APIRouter(prefix="/tasks")

Reader = Annotated[Principal, Requires(Permission.tasks_read)]
Writer = Annotated[Principal, Requires(Permission.tasks_write)]

ME = "me"
NOBODY = "none"


def _assignee(principal: Principal, raw: str | None) -> uuid.UUID | None:
    """``me`` is the caller; anything else (but ``none``) must be a user id."""
    if raw is None or raw == NOBODY:
        return None
    if raw == ME:
        if principal.user_id is None:
            raise BadRequest("assignee=me needs a signed-in user")
        return principal.user_id
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise BadRequest(
            "assignee must be a user id, 'me' or 'none'",
            errors=[
                {"parameter": "assignee", "in": "query", "detail": "not a UUID, 'me' or 'none'"}
            ],
        ) from exc


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=TaskRead, responses=errors(NotFound)
)
async def create_task(
    body: TaskCreate, principal: Writer, session: SessionDep, idem: IdempotencyDep
) -> JSONResponse:
    """Create an open task. Accepts an ``Idempotency-Key``."""

    async def create() -> TaskRead:
        task = await tasks.create_task(session, principal, fields=body)
        return TaskRead.model_validate(task)

    return await idempotency.run(
        session, principal, idem, payload=body, status_code=201, handler=create
    )


@router.get("", responses=errors(BadRequest))
async def list_tasks(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    status: TaskStatus | None = None,
    assignee: Annotated[
        str | None,
        Query(
            max_length=36,
            description="A user id, 'me' for the caller, or 'none' for unassigned tasks.",
        ),
    ] = None,
    client_id: uuid.UUID | None = None,
    due_after: Annotated[date | None, Query(description="Due on or after this date.")] = None,
    due_before: Annotated[date | None, Query(description="Due on or before this date.")] = None,
    overdue: Annotated[
        bool, Query(description="Only open tasks due before today in the firm's time zone.")
    ] = False,
) -> Page[TaskRead]:
    """Newest first, keyset-paginated."""
    filters = TaskFilters(
        status=status,
        assignee_id=_assignee(principal, assignee),
        unassigned=assignee == NOBODY,
        client_id=client_id,
        due_after=due_after,
        due_before=due_before,
        overdue=overdue,
    )
    result = await tasks.list_tasks(session, principal, filters=filters, page=page)
    return page_of([TaskRead.model_validate(t) for t in result.items], result)


@router.get("/{task_id}")
async def get_task(task_id: uuid.UUID, principal: Reader, session: SessionDep) -> TaskRead:
    return TaskRead.model_validate(await tasks.get_task(session, principal, task_id))


@router.patch("/{task_id}")
async def update_task(
    task_id: uuid.UUID, body: TaskUpdate, principal: Writer, session: SessionDep
) -> TaskRead:
    task = await tasks.update_task(session, principal, task_id, patch=body)
    return TaskRead.model_validate(task)


@router.post("/{task_id}/complete")
async def complete_task(task_id: uuid.UUID, principal: Writer, session: SessionDep) -> TaskRead:
    """Mark the task done; completing a done task is harmless."""
    task = await tasks.set_done(session, principal, task_id, done=True)
    return TaskRead.model_validate(task)


@router.post("/{task_id}/reopen")
async def reopen_task(task_id: uuid.UUID, principal: Writer, session: SessionDep) -> TaskRead:
    task = await tasks.set_done(session, principal, task_id, done=False)
    return TaskRead.model_validate(task)


@router.delete("/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_task(task_id: uuid.UUID, principal: Writer, session: SessionDep) -> Response:
    await tasks.delete_task(session, principal, task_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

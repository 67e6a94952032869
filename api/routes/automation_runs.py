"""Automation runs: start one by hand, list, inspect, cancel, send an event, retry and
resume.

Routes that talk to Temporal take the app's client *provider* rather than a connected
client: connecting happens inside the service, where an unreachable Temporal becomes no
live view (GET) or a 503 problem (cancel) instead of a failed dependency."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Query, status
from fastapi.responses import JSONResponse

from api import idempotency
from api.deps import (
    DeclaredBodyLimit,
    IdempotencyDep,
    PageDep,
    Requires,
    SessionDep,
    TemporalDep,
)
from api.idempotency import REPLAYED_HEADER
from api.openapi import errors
from api.schemas.approvals import ApprovalDetail
from api.schemas.automation_runs import (
    RunDetail,
    RunEventAccepted,
    RunEventSend,
    RunRead,
    RunRetry,
    RunStart,
    StepRead,
)
from api.schemas.common import Page, page_of
from core.errors import BadRequest, Conflict
from core.permissions import Permission
from core.principal import Principal
from models import AutomationRun, RunStatus
from services.automations import approvals, run_control, runs
from services.automations.runs import RunFilters, TemporalUnavailable
from services.idempotency import StoredResponse, claim, fingerprint, remember

router = APIRouter()

Reader = Annotated[Principal, Requires(Permission.automations_read)]
Runner = Annotated[Principal, Requires(Permission.automations_run)]

RUNS = "/automation-runs"
# Refused before it is parsed: room for the body's own wrapping ({"payload": …}) around the
# largest payload allowed; the service still measures the payload itself.
_BOUNDED = DeclaredBodyLimit(
    runs.MAX_PAYLOAD_BYTES + 1024,
    detail=f"A run's payload may take at most {runs.MAX_PAYLOAD_BYTES} bytes as JSON",
)


def _location(run_id: object) -> dict[str, str]:
    return {"Location": f"/v1{RUNS}/{run_id}"}


def _read(run: AutomationRun) -> RunRead:
    return RunRead.model_validate(run)


@router.post(
    "/automations/{automation_id}/runs",
    status_code=status.HTTP_201_CREATED,
    response_model=RunRead,
    dependencies=[_BOUNDED],
    responses={
        **errors(Conflict, TemporalUnavailable),
        200: {"model": RunRead, "description": "The run this Idempotency-Key started"},
    },
)
async def start_run(
    automation_id: uuid.UUID,
    principal: Runner,
    session: SessionDep,
    idem: IdempotencyDep,
    body: Annotated[RunStart | None, Body()] = None,
) -> JSONResponse:
    """Start a run of the automation's latest version (it must be active); 201 with the
    run and its Location. With an ``Idempotency-Key`` the same key returns the same run:
    your own repeat replays the first response, and anyone else's repeat answers 200 with
    the run that key started."""
    start = body or RunStart()
    request_hash = fingerprint(idem.path, start)
    if idem.key is not None:
        stored = await claim(
            session, principal, route=idem.route, key=idem.key, request_hash=request_hash
        )
        if stored is not None:
            return JSONResponse(
                stored.body,
                status_code=stored.status,
                headers={REPLAYED_HEADER: "true", **_location(stored.body["id"])},
            )
    run, created = await runs.start_manual(
        session, principal, automation_id, payload=start.payload, idempotency_key=idem.key
    )
    response = StoredResponse(
        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        body=_read(run).model_dump(mode="json"),
    )
    if idem.key is not None:
        await remember(session, principal, route=idem.route, key=idem.key, response=response)
    return JSONResponse(response.body, status_code=response.status, headers=_location(run.id))


@router.get(RUNS, responses=errors(BadRequest))
async def list_runs(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    automation_id: uuid.UUID | None = None,
    status: RunStatus | None = None,
    started_after: Annotated[
        datetime | None, Query(description="Runs started at or after this time (with offset).")
    ] = None,
    started_before: Annotated[
        datetime | None, Query(description="Runs started before this time (with offset).")
    ] = None,
) -> Page[RunRead]:
    """Newest first, keyset-paginated, without payloads."""
    filters = RunFilters(
        automation_id=automation_id,
        status=status,
        started_after=started_after,
        started_before=started_before,
    )
    result = await runs.list_runs(session, principal, filters=filters, page=page)
    return page_of([_read(run) for run in result.items], result)


@router.get(RUNS + "/{run_id}")
async def get_run(
    run_id: uuid.UUID, principal: Reader, session: SessionDep, temporal: TemporalDep
) -> RunDetail:
    run = await runs.get_run(session, principal, run_id)
    steps, more = await runs.run_steps(session, principal, run.id)
    live = await runs.live_view(temporal, run)
    views = await approvals.for_run(session, principal, run.id)
    return RunDetail.model_validate(
        {
            **_read(run).model_dump(exclude={"reason"}),
            "trigger_payload": run.trigger_payload,
            "steps": [StepRead.model_validate(step) for step in steps],
            "more_steps": more,
            "live": live,
            "waiting": live.waiting if live is not None else None,
            "approvals": [ApprovalDetail.of_view(view) for view in views],
        }
    )


@router.post(
    RUNS + "/{run_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    responses=errors(Conflict, TemporalUnavailable),
)
async def cancel_run(
    run_id: uuid.UUID, principal: Runner, session: SessionDep, temporal: TemporalDep
) -> RunRead:
    """Ask the run's workflow to stop; it records ``canceled`` itself shortly after (a
    queued run, or one whose workflow had not started yet, is ``canceled`` at once).
    ``canceled_by`` names you either way; the run's pending approvals are canceled. 409
    for a finished run."""
    return _read(await run_control.cancel_run(session, principal, temporal, run_id))


@router.post(
    RUNS + "/{run_id}/events/{name}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RunEventAccepted,
    dependencies=[_BOUNDED],
    responses=errors(Conflict),
)
# The short form, for callers outside firmflow (an e-signature provider's callback, say)
# that are handed a run id and nothing else.
@router.post(
    "/runs/{run_id}/events/{name}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RunEventAccepted,
    dependencies=[_BOUNDED],
    responses=errors(Conflict),
)
async def send_event(
    run_id: uuid.UUID,
    name: str,
    principal: Runner,
    session: SessionDep,
    idem: IdempotencyDep,
    body: Annotated[RunEventSend | None, Body()] = None,
) -> JSONResponse:
    """Send the custom event ``name`` to a running run whose version waits for it
    (``wait_for_event``); the run keeps it until a waiting step with a matching key takes
    it. 409 when the run is not running or never waits for ``name``. With an
    ``Idempotency-Key`` a repeat sends nothing new and answers the same ``event_id``."""
    event = body or RunEventSend()

    async def send() -> RunEventAccepted:
        event_id = f"api:{idem.key}" if idem.key is not None else f"api:{uuid.uuid4()}"
        sent = await run_control.send_event(
            session,
            principal,
            run_id,
            name,
            key=event.key,
            payload=event.payload,
            event_id=event_id,
        )
        return RunEventAccepted(event_id=sent)

    return await idempotency.run(
        session, principal, idem, payload=event, status_code=202, handler=send
    )


@router.post(
    RUNS + "/{run_id}/retry",
    status_code=status.HTTP_201_CREATED,
    response_model=RunRead,
    responses=errors(Conflict),
)
async def retry_run(
    run_id: uuid.UUID, body: RunRetry, principal: Runner, session: SessionDep, idem: IdempotencyDep
) -> JSONResponse:
    """A new run with the same payload on the ``original`` or the ``latest`` version; only
    for a finished run. Accepts an ``Idempotency-Key``."""

    async def retry() -> RunRead:
        return _read(await runs.retry_run(session, principal, run_id, version=body.version))

    response = await idempotency.run(
        session, principal, idem, payload=body, status_code=201, handler=retry
    )
    response.headers.update(_location(_created_id(response)))
    return response


@router.post(
    RUNS + "/{run_id}/resume",
    status_code=status.HTTP_201_CREATED,
    response_model=RunRead,
    responses=errors(Conflict),
)
async def resume_run(
    run_id: uuid.UUID, principal: Runner, session: SessionDep, idem: IdempotencyDep
) -> JSONResponse:
    """A new run of a failed run that reuses the outputs of the steps it completed and
    executes the failed step and what follows. Accepts an ``Idempotency-Key``."""

    async def resume() -> RunRead:
        return _read(await runs.resume_run(session, principal, run_id))

    response = await idempotency.run(
        session, principal, idem, payload=None, status_code=201, handler=resume
    )
    response.headers.update(_location(_created_id(response)))
    return response


def _created_id(response: JSONResponse) -> str:
    # The body of a fresh or replayed response alike: a RunRead.
    return str(RunRead.model_validate_json(bytes(response.body)).id)

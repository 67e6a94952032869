"""The action steps that change the database: ``create_task``, ``update_client`` and
``emit_event``.

Each runs inside the transaction that also records the step (``Actions._in_transaction``),
so the change and its record commit together or not at all: exactly once. They take the
session, the attempt and the rendered params, and return the step's output; a failure is
a ``StepInvalid`` naming what was wrong with the params.
"""

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import AppError
from models import AutomationRun
from pure import event_catalogue
from services import clients, tasks
from services.automations.run_records import Attempt
from services.automations.step_errors import StepInvalid, problems, validated
from services.outbox import writer as outbox
from workflows.automation.definition.params import EmitEventParams, UpdateClientParams


async def create_task(
    session: AsyncSession, current: Attempt, rendered: dict[str, Any]
) -> dict[str, Any]:
    try:
        fields = tasks.validate_task_fields(rendered)
        task = await tasks.create_task(session, current.principal, fields=fields)
    except AppError as exc:
        raise StepInvalid(exc.detail, input=rendered) from None
    return {"id": str(task.id), **tasks.summarize(task)}


async def update_client(
    session: AsyncSession, current: Attempt, rendered: dict[str, Any]
) -> dict[str, Any]:
    params = validated(UpdateClientParams, rendered)
    try:
        client_id = uuid.UUID(str(params.client_id))
    except ValueError:
        raise StepInvalid("client_id: is not a valid client id", input=rendered) from None
    try:
        patch = clients.ClientPatch.model_validate(params.fields)
    except ValidationError as exc:
        raise StepInvalid(problems(exc, "fields"), input=rendered) from None
    try:
        client = await clients.update_client(session, current.principal, client_id, patch=patch)
    except AppError as exc:
        raise StepInvalid(exc.detail, input=rendered) from None
    return {"id": str(client.id), **clients.summarize(client)}


async def emit_event(
    session: AsyncSession, current: Attempt, rendered: dict[str, Any]
) -> dict[str, Any]:
    if rendered.get("key") is not None:
        # "{{ trigger.number }}" renders to a number; a key is compared as text.
        rendered = {**rendered, "key": str(rendered["key"])}
    params = validated(EmitEventParams, rendered)
    if event_catalogue.is_reserved(params.name):
        raise StepInvalid(
            f"name: {params.name} is emitted by firmflow itself; an automation may only "
            "emit custom events",
            input=rendered,
        )
    call = current.call
    depth = await session.scalar(select(AutomationRun.depth).where(AutomationRun.id == call.run_id))
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

"""The credentials a definition reads must exist in the firm before it is published or
activated: a missing one would otherwise surface days later, when the step runs.

Checked after the definition itself is valid (services.automations.validation), so the
names come from parsed expressions. Each use of a missing name is one problem with the
JSON pointer of the param that reads it. Only the principal's firm counts: another firm's
credential of the same name is not this firm's.
"""

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Credential
from services.automations.validation import InvalidDefinition, Problem, secret_uses
from services.credentials import CREDENTIALS


class MissingCredentials(InvalidDefinition):
    title = "Missing credentials"
    slug = "missing-credentials"


def _problem(name: str, where: str) -> Problem:
    return {
        "pointer": where,
        "detail": f"This step reads secrets.{name}, but your firm has no credential named "
        f"{name!r}. Create a credential named {name!r} under Settings → Credentials, or "
        "change the step.",
    }


async def missing_credentials(
    session: AsyncSession, firm_id: uuid.UUID, definition: dict[str, Any]
) -> list[Problem]:
    """One problem per use of a credential name the firm does not have, in document
    order; empty when the firm has them all (one query, none when nothing is read)."""
    uses = secret_uses(definition)
    if not uses:
        return []
    existing = set(
        await session.scalars(
            select(Credential.name).where(
                CREDENTIALS.owned_by(firm_id),
                Credential.name.in_(sorted({name for _, name in uses})),
            )
        )
    )
    return [_problem(name, where) for where, name in uses if name not in existing]


async def require_credentials(
    session: AsyncSession, firm_id: uuid.UUID, definition: dict[str, Any]
) -> None:
    """Raises ``MissingCredentials`` (422, a pointer per use) unless the firm has every
    credential ``definition`` reads."""
    problems = await missing_credentials(session, firm_id, definition)
    if problems:
        raise MissingCredentials(problems)

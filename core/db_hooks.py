"""Work to run only once a session's transaction has committed (never for a rollback)."""

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

AfterCommit = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    session.info.setdefault("after_commit", []).append(callback)


def pop_after_commit(session: AsyncSession) -> list[AfterCommit]:
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    return callbacks

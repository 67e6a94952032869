"""The demo firm the first ``make dev`` creates, and how to log in to it."""

import secrets
from dataclasses import dataclass

from core.config import Settings

DEMO_SLUG = "demo"
DEMO_EMAIL = "owner@demo.example.com"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str | None  # None when it came from FIRMFLOW_DEMO_OWNER_PASSWORD


async def seed_demo_firm(runtime_url: str, settings: Settings) -> DemoLogin | None:
    """Create the demo firm and its owner on first start; None when they already exist."""
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
    from sqlalchemy.pool import NullPool

    from core.db import SystemPurpose, system_scope
    from core.errors import Conflict
    from models import Firm
    from services.firms import create_firm_with_owner

    given = settings.demo_owner_password
    password = given.get_secret_value() if given else secrets.token_urlsafe(18)
    engine = create_async_engine(runtime_url, poolclass=NullPool)
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            async with system_scope(session, SystemPurpose.demo_seed):
                existing = await session.scalar(select(Firm.id).where(Firm.slug == DEMO_SLUG))
            if existing is not None:
                return None
            await create_firm_with_owner(
                session,
                firm_name="Demo Firm",
                slug=DEMO_SLUG,
                owner_email=DEMO_EMAIL,
                owner_password=password,
                owner_name="Demo Owner",
            )
    except Conflict:
        return None  # another process seeded it between our check and our insert
    finally:
        await engine.dispose()
    return DemoLogin(email=DEMO_EMAIL, password=None if given else password)


def demo_instructions(api: str, demo: DemoLogin) -> list[str]:
    if demo.password is None:
        shown = "the value of FIRMFLOW_DEMO_OWNER_PASSWORD"
        from_env = '\\"$FIRMFLOW_DEMO_OWNER_PASSWORD\\"'
        body = f'"{{\\"email\\": \\"{demo.email}\\", \\"password\\": {from_env}}}"'
    else:
        shown = demo.password
        body = f"""'{{"email": "{demo.email}", "password": "{demo.password}"}}'"""
    return [
        "Demo firm created; this login is shown on the first start only:",
        f"  email     {demo.email}",
        f"  password  {shown}",
        f"  sign in at {api}/sign-in; from a script, log in with this, then send the token",
        "  as `Authorization: Bearer <token>`:",
        f"    curl -s -X POST {api}/v1/auth/login -H 'Content-Type: application/json' -d {body}",
    ]

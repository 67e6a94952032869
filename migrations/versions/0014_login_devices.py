"""auth_throttles.window_started_at and mfa_challenges.device_key, for the login throttle

A client address is now limited by volume (so many failures per fixed window) rather than
locked out after a few consecutive failures; the window needs its start. Existing rows start
their window at their last failure. Device cookies are signed, not stored: their failures
are counted in auth_throttles under "device:<nonce>" keys; a second-factor challenge keeps
the key of the device cookie that admitted its password step, so the second step is
throttled under the same key.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "auth_throttles",
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.execute("UPDATE auth_throttles SET window_started_at = last_failure_at")
    op.alter_column("auth_throttles", "window_started_at", nullable=False)
    op.add_column("mfa_challenges", sa.Column("device_key", sa.String(length=100), nullable=True))


def downgrade() -> None:
    op.drop_column("mfa_challenges", "device_key")
    op.drop_column("auth_throttles", "window_started_at")

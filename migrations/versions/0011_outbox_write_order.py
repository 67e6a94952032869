"""outbox messages keep the order they were written in within one transaction

``now()`` is the transaction's start time, so every message of one transaction had the same
``created_at`` and the relay, which dispatches by ``created_at``, sent them in any order
(``payment.received`` after ``invoice.paid``, ``task.completed`` before ``task.created``).
``clock_timestamp()`` is the time of the insert itself.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("outbox", "created_at", server_default=sa.text("clock_timestamp()"))


def downgrade() -> None:
    op.alter_column("outbox", "created_at", server_default=sa.text("now()"))

"""ix_audit_events_firm_id_action: the audit log filtered by action

The audit log screen filters by action (``user.role_changed``); this index reads a firm's
events of one action newest first instead of walking every event of the firm.

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_audit_events_firm_id_action",
        "audit_events",
        ["firm_id", "action", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_audit_events_firm_id_action", table_name="audit_events")

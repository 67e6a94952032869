"""automation_approvals: a document review's round and its auto-publish choice

A version may be reviewed more than once (rejected, then submitted again unchanged); each
review is its own process, so each needs its own workflow id. ``review_round`` numbers a
version's reviews from 1 (the id is ``document-review-<version id>`` for the first and
``…-<round>`` after it), and the unique constraint lets only one submission take a round.
``auto_publish`` is what the submitter chose: publish as soon as the quorum approves.

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("automation_approvals", sa.Column("review_round", sa.Integer(), nullable=True))
    op.add_column("automation_approvals", sa.Column("auto_publish", sa.Boolean(), nullable=True))
    op.create_unique_constraint(
        op.f("uq_automation_approvals_document_version_id_review_round"),
        "automation_approvals",
        ["document_version_id", "review_round"],
    )
    op.create_check_constraint(
        op.f("ck_automation_approvals_review_fields"),
        "automation_approvals",
        "(document_version_id IS NULL) = (review_round IS NULL) "
        "AND (document_version_id IS NULL) = (auto_publish IS NULL)",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_automation_approvals_review_fields"), "automation_approvals", type_="check"
    )
    op.drop_constraint(
        op.f("uq_automation_approvals_document_version_id_review_round"),
        "automation_approvals",
        type_="unique",
    )
    op.drop_column("automation_approvals", "auto_publish")
    op.drop_column("automation_approvals", "review_round")

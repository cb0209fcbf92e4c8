"""enrolment prerequisites (units validated, experience) and deposits in progress

Revision ID: 0009
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enrolments") as batch:
        batch.add_column(sa.Column("units_validated", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("experience", sa.String(length=16), nullable=True))
        batch.create_check_constraint("experience", "experience IN ('justified', 'in_progress', 'missing')")
    op.create_table(
        "deposits_in_progress",
        sa.Column("auditeur_id", sa.Integer(), nullable=False),
        sa.Column("report_version_id", sa.Integer(), nullable=True),
        sa.Column("annexes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["auditeur_id"], ["people.id"], name=op.f("fk_deposits_in_progress_auditeur_id_people"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["report_version_id"], ["draft_versions.id"],
            name=op.f("fk_deposits_in_progress_report_version_id_draft_versions"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("auditeur_id", name=op.f("pk_deposits_in_progress")),
    )


def downgrade() -> None:
    op.drop_table("deposits_in_progress")
    with op.batch_alter_table("enrolments") as batch:
        batch.drop_constraint("experience", type_="check")
        batch.drop_column("experience")
        batch.drop_column("units_validated")

"""coaching: the report coach's progress, experience self-check and feedback

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coaching_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("auditeur_id", sa.Integer(), nullable=False),
        sa.Column("report_type", sa.String(length=8), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("report_type IN ('ua', 'stage')", name=op.f("ck_coaching_progress_report_type")),
        sa.ForeignKeyConstraint(
            ["auditeur_id"], ["people.id"], name=op.f("fk_coaching_progress_auditeur_id_people"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"], ["enrolments.id"], name=op.f("fk_coaching_progress_enrolment_id_enrolments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_progress")),
        sa.UniqueConstraint("enrolment_id", name=op.f("uq_coaching_progress_enrolment_id")),
    )
    op.create_index(op.f("ix_coaching_progress_auditeur_id"), "coaching_progress", ["auditeur_id"], unique=False)
    op.create_table(
        "experience_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("confirm_with_tutor", sa.Boolean(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("outcome IS NULL OR outcome IN ('ua', 'stage')", name=op.f("ck_experience_checks_outcome")),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_experience_checks_person_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experience_checks")),
        sa.UniqueConstraint("person_id", name=op.f("uq_experience_checks_person_id")),
    )
    op.create_table(
        "coaching_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("progress_id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.String(length=32), nullable=False),
        sa.Column("engine", sa.String(length=8), nullable=False),
        sa.Column("llm_failure", sa.String(length=16), nullable=True),
        sa.Column("remarks", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("engine IN ('offline', 'llm')", name=op.f("ck_coaching_feedback_engine")),
        sa.ForeignKeyConstraint(
            ["progress_id"], ["coaching_progress.id"], name=op.f("fk_coaching_feedback_progress_id_coaching_progress"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_feedback")),
    )
    op.create_index(op.f("ix_coaching_feedback_progress_id"), "coaching_feedback", ["progress_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_coaching_feedback_progress_id"), table_name="coaching_feedback")
    op.drop_table("coaching_feedback")
    op.drop_table("experience_checks")
    op.drop_index(op.f("ix_coaching_progress_auditeur_id"), table_name="coaching_progress")
    op.drop_table("coaching_progress")

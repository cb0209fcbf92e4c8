"""one academic calendar: the broadcasts' enrolment periods move into academic_years

The enrolment opening and closing dates of each semester were stored twice: in ``academic_years``
(the accompaniment's calendar, with the semester dates) and in ``enrolment_periods`` (the
broadcasts' announcements). Each period moves into its year's row (a year without a row gets one
with the default semester dates: 1 September-31 January, 1 February-31 August), then
``enrolment_periods`` is dropped. The downgrade writes the periods back from ``academic_years``.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_years = sa.table(
    "academic_years",
    sa.column("year", sa.Integer), sa.column("updated_by_id", sa.Integer), sa.column("updated_at", sa.DateTime(timezone=True)),
    *(sa.column(f"s{n}_{part}", sa.Date) for n in (1, 2) for part in ("start", "end", "enrolment_opens", "enrolment_closes")),
)
_periods = sa.table(
    "enrolment_periods",
    sa.column("academic_year", sa.Integer), sa.column("semester", sa.Integer), sa.column("opens_on", sa.Date),
    sa.column("closes_on", sa.Date), sa.column("updated_by_id", sa.Integer), sa.column("updated_at", sa.DateTime(timezone=True)),
)


def _defaults(year: int) -> dict:
    # as bot.domain.accompaniment.default_academic_year (a migration does not import the code it outlives)
    return {
        "s1_start": date(year, 9, 1), "s1_end": date(year + 1, 1, 31),
        "s1_enrolment_opens": date(year, 10, 1), "s1_enrolment_closes": date(year, 10, 31),
        "s2_start": date(year + 1, 2, 1), "s2_end": date(year + 1, 8, 31),
        "s2_enrolment_opens": date(year + 1, 2, 1), "s2_enrolment_closes": date(year + 1, 3, 31),
    }


def upgrade() -> None:
    bind = op.get_bind()
    existing = {row.year for row in bind.execute(sa.select(_years.c.year))}
    for period in bind.execute(sa.select(_periods).order_by(_periods.c.academic_year, _periods.c.semester)).all():
        values = {
            f"s{period.semester}_enrolment_opens": period.opens_on,
            f"s{period.semester}_enrolment_closes": period.closes_on,
            "updated_by_id": period.updated_by_id, "updated_at": period.updated_at,
        }
        if period.academic_year in existing:
            bind.execute(sa.update(_years).where(_years.c.year == period.academic_year).values(**values))
        else:
            bind.execute(sa.insert(_years).values(year=period.academic_year, **{**_defaults(period.academic_year), **values}))
            existing.add(period.academic_year)
    op.drop_table("enrolment_periods")


def downgrade() -> None:
    op.create_table(
        "enrolment_periods",
        sa.Column("academic_year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("semester", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("semester IN (1, 2)", name=op.f("ck_enrolment_periods_semester")),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["people.id"], name=op.f("fk_enrolment_periods_updated_by_id_people"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("academic_year", "semester", name=op.f("pk_enrolment_periods")),
    )
    bind = op.get_bind()
    for row in bind.execute(sa.select(_years)).all():
        for n in (1, 2):
            bind.execute(sa.insert(_periods).values(
                academic_year=row.year, semester=n, opens_on=getattr(row, f"s{n}_enrolment_opens"),
                closes_on=getattr(row, f"s{n}_enrolment_closes"), updated_by_id=row.updated_by_id, updated_at=row.updated_at,
            ))

"""accompaniment: stage and history per enrolment, planning dates, submissions and corrections,
opinions with their grid, staff follow-up cases, academic calendar, certifiers' grids

Revision ID: 0006
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('academic_years',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('s1_start', sa.Date(), nullable=False),
    sa.Column('s1_end', sa.Date(), nullable=False),
    sa.Column('s1_enrolment_opens', sa.Date(), nullable=False),
    sa.Column('s1_enrolment_closes', sa.Date(), nullable=False),
    sa.Column('s2_start', sa.Date(), nullable=False),
    sa.Column('s2_end', sa.Date(), nullable=False),
    sa.Column('s2_enrolment_opens', sa.Date(), nullable=False),
    sa.Column('s2_enrolment_closes', sa.Date(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by_id'], ['people.id'], name=op.f('fk_academic_years_updated_by_id_people'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_academic_years'))
    )
    op.create_table('certification_grids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certification', sa.String(length=200), nullable=False),
    sa.Column('grid', sa.JSON(), nullable=False),
    sa.Column('loaded_by_id', sa.Integer(), nullable=True),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['loaded_by_id'], ['people.id'], name=op.f('fk_certification_grids_loaded_by_id_people'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certification_grids')),
    sa.UniqueConstraint('certification', name=op.f('uq_certification_grids_certification'))
    )
    op.create_table('accompaniments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=24), nullable=False),
    sa.Column('moved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('limit_date', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("stage IN ('enrolled', 'first_meeting_held', 'planned', 'submitted', 'corrected', 'revised', 'validated', 'not_validated')", name=op.f('ck_accompaniments_stage')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_accompaniments_enrolment_id_enrolments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accompaniments')),
    sa.UniqueConstraint('enrolment_id', name=op.f('uq_accompaniments_enrolment_id'))
    )
    op.create_table('accompaniment_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('accompaniment_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('party', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_stage', sa.String(length=24), nullable=False),
    sa.Column('to_stage', sa.String(length=24), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['accompaniment_id'], ['accompaniments.id'], name=op.f('fk_accompaniment_events_accompaniment_id_accompaniments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['actor_id'], ['people.id'], name=op.f('fk_accompaniment_events_actor_id_people'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accompaniment_events'))
    )
    with op.batch_alter_table('accompaniment_events', schema=None) as batch_op:
        batch_op.create_index('ix_accompaniment_events_accompaniment', ['accompaniment_id', 'id'], unique=False)

    op.create_table('follow_up_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('accompaniment_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=24), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('contact_note', sa.Text(), nullable=True),
    sa.Column('agreed', sa.Text(), nullable=True),
    sa.CheckConstraint("reason IN ('not_validated')", name=op.f('ck_follow_up_cases_reason')),
    sa.ForeignKeyConstraint(['accompaniment_id'], ['accompaniments.id'], name=op.f('fk_follow_up_cases_accompaniment_id_accompaniments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['closed_by_id'], ['people.id'], name=op.f('fk_follow_up_cases_closed_by_id_people'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up_cases'))
    )
    with op.batch_alter_table('follow_up_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_up_cases_accompaniment_id'), ['accompaniment_id'], unique=False)
        batch_op.create_index('ix_follow_up_cases_open', ['closed_at', 'opened_at'], unique=False)

    op.create_table('planning_dates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('accompaniment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('deadline', 'intermediate')", name=op.f('ck_planning_dates_kind')),
    sa.ForeignKeyConstraint(['accompaniment_id'], ['accompaniments.id'], name=op.f('fk_planning_dates_accompaniment_id_accompaniments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_planning_dates'))
    )
    with op.batch_alter_table('planning_dates', schema=None) as batch_op:
        batch_op.create_index('ix_planning_dates_accompaniment', ['accompaniment_id', 'day'], unique=False)

    op.create_table('report_submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('accompaniment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('draft_version_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('weeks', sa.Integer(), nullable=True),
    sa.Column('holidays', sa.JSON(), nullable=False),
    sa.Column('corrected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('correction_file_id', sa.String(length=255), nullable=True),
    sa.Column('correction_file_name', sa.String(length=255), nullable=True),
    sa.Column('correction_comments', sa.JSON(), nullable=False),
    sa.Column('correction_summary', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('submission', 'revision')", name=op.f('ck_report_submissions_kind')),
    sa.ForeignKeyConstraint(['accompaniment_id'], ['accompaniments.id'], name=op.f('fk_report_submissions_accompaniment_id_accompaniments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['draft_version_id'], ['draft_versions.id'], name=op.f('fk_report_submissions_draft_version_id_draft_versions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_submissions'))
    )
    with op.batch_alter_table('report_submissions', schema=None) as batch_op:
        batch_op.create_index('ix_report_submissions_accompaniment', ['accompaniment_id', 'id'], unique=False)
        batch_op.create_index('ix_report_submissions_due', ['corrected_at', 'due_on'], unique=False)

    op.create_table('opinions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('accompaniment_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=True),
    sa.Column('tutor_id', sa.Integer(), nullable=True),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('grid', sa.JSON(), nullable=False),
    sa.Column('assessments', sa.JSON(), nullable=False),
    sa.Column('comments', sa.JSON(), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("verdict IN ('validé', 'non validé')", name=op.f('ck_opinions_verdict')),
    sa.ForeignKeyConstraint(['accompaniment_id'], ['accompaniments.id'], name=op.f('fk_opinions_accompaniment_id_accompaniments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submission_id'], ['report_submissions.id'], name=op.f('fk_opinions_submission_id_report_submissions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tutor_id'], ['people.id'], name=op.f('fk_opinions_tutor_id_people'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opinions'))
    )
    with op.batch_alter_table('opinions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opinions_accompaniment_id'), ['accompaniment_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('opinions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opinions_accompaniment_id'))

    op.drop_table('opinions')
    with op.batch_alter_table('report_submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_report_submissions_due')
        batch_op.drop_index('ix_report_submissions_accompaniment')

    op.drop_table('report_submissions')
    with op.batch_alter_table('planning_dates', schema=None) as batch_op:
        batch_op.drop_index('ix_planning_dates_accompaniment')

    op.drop_table('planning_dates')
    with op.batch_alter_table('follow_up_cases', schema=None) as batch_op:
        batch_op.drop_index('ix_follow_up_cases_open')
        batch_op.drop_index(batch_op.f('ix_follow_up_cases_accompaniment_id'))

    op.drop_table('follow_up_cases')
    with op.batch_alter_table('accompaniment_events', schema=None) as batch_op:
        batch_op.drop_index('ix_accompaniment_events_accompaniment')

    op.drop_table('accompaniment_events')
    op.drop_table('accompaniments')
    op.drop_table('certification_grids')
    op.drop_table('academic_years')

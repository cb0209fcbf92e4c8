"""Benchmark: the tutor's /suivi and the staff follow-up view for 1,000 auditeurs.

Run from the project root:  python bench/bench_followup.py [--repeat 21] [--database-url URL]

A fresh SQLite file (or the PostgreSQL database given) gets 1,000 enrolled auditeurs spread over 20
tutors (one of them, the "busy" tutor, follows 200), with accompaniments at every stage: planning
dates, submissions with due dates (some overdue), open follow-up cases. Timed, from the service call
to the rendered French text: the busy tutor's /suivi, and the staff view (overdue corrections,
unfavourable opinions, stalled auditeurs). The median of ``--repeat`` runs is reported; the target
is 100 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time as clock
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.domain.accompaniment import Stage  # noqa: E402
from bot.domain.calendar import HolidayCalendar  # noqa: E402
from bot.domain.people import PersonView, Role  # noqa: E402
from bot.domain.report import default_catalogue  # noqa: E402
from bot.services.accompaniment import Accompaniments  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.models import (  # noqa: E402
    Accompaniment,
    Enrolment,
    FollowUpCase,
    Person,
    PlanningDate,
    ReportSubmission,
)
from bot.telegram.rendering import Renderer  # noqa: E402

AUDITEURS, TUTORS, BUSY = 1_000, 20, 200
NOW = datetime(2027, 3, 15, 9, tzinfo=UTC)
TARGET_MS = 100.0


def seed(db: Database, rng: random.Random) -> tuple[PersonView, PersonView]:
    stages = list(Stage)
    with db.transaction() as session:
        staff = Person(role="staff", display_name="Claire Martin", telegram_user_id=1)
        tutors = [Person(role="tutor", display_name=f"Tuteur {i:02d}", telegram_user_id=100 + i) for i in range(TUTORS)]
        session.add_all([staff, *tutors])
        session.flush()
        for i in range(AUDITEURS):
            tutor = tutors[0] if i < BUSY else tutors[1 + i % (TUTORS - 1)]
            auditeur = Person(role="auditeur", display_name=f"Auditeur {i:04d}", telegram_user_id=10_000 + i)
            session.add(auditeur)
            session.flush()
            enrolment = Enrolment(auditeur_id=auditeur.id, tutor_id=tutor.id, certification="Licence pro",
                                  report_type="ua", semester=rng.choice(("2026-S1", "2026-S2")))
            session.add(enrolment)
            session.flush()
            stage = rng.choice(stages)
            moved = NOW - timedelta(days=rng.randrange(120))
            acc = Accompaniment(enrolment_id=enrolment.id, stage=stage.value, moved_at=moved, limit_date=date(2027, 8, 31))
            session.add(acc)
            session.flush()
            if stage not in (Stage.ENROLLED, Stage.FIRST_MEETING_HELD):
                session.add(PlanningDate(accompaniment_id=acc.id, kind="deadline", day=date(2027, 2, 1) + timedelta(days=rng.randrange(90))))
                session.add(PlanningDate(accompaniment_id=acc.id, kind="intermediate", day=date(2027, 1, 15)))
            if stage in (Stage.SUBMITTED, Stage.CORRECTED, Stage.REVISED, Stage.VALIDATED, Stage.NOT_VALIDATED):
                received = date(2027, 1, 10) + timedelta(days=rng.randrange(60))
                session.add(ReportSubmission(
                    accompaniment_id=acc.id, kind="submission", submitted_at=moved, received_on=received,
                    due_on=received + timedelta(weeks=4), weeks=4,
                    corrected_at=None if stage is Stage.SUBMITTED else moved,
                ))
            if stage is Stage.NOT_VALIDATED and rng.random() < 0.7:
                session.add(FollowUpCase(accompaniment_id=acc.id, reason="not_validated", opened_at=moved))
        session.flush()
        as_view = lambda p: PersonView(id=p.id, role=Role(p.role), display_name=p.display_name, telegram_user_id=p.telegram_user_id)  # noqa: E731
        return as_view(tutors[0]), as_view(staff)


def timed(repeat: int, function) -> float:
    runs = []
    for _ in range(repeat):
        started = clock.perf_counter()
        function()
        runs.append((clock.perf_counter() - started) * 1000)
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Database(args.database_url or f"sqlite:///{folder}/bench.db")
        db.upgrade()
        tutor, staff = seed(db, random.Random(14))
        catalogue = default_catalogue()
        service = Accompaniments(db, HolidayCalendar(), catalogue.grid, clock=lambda: NOW, catalogue=catalogue)
        renderer = Renderer()
        today = NOW.date()

        def tutor_view():
            rows = service.follow_rows(tutor)
            return renderer.render("accompaniment/tutor_follow.html", rows=rows[:30], hidden=len(rows) - 30, today=today)

        def staff_view():
            view = service.staff_follow_up(staff)
            return renderer.render("accompaniment/staff_follow_up.html", view=view, limit=30, undelivered=[], today=today)

        tutor_ms, staff_ms = timed(args.repeat, tutor_view), timed(args.repeat, staff_view)
        view = service.staff_follow_up(staff)
        print(f"{AUDITEURS} auditeurs, {TUTORS} tutors ({BUSY} for the busy one), {args.repeat} runs, median:")
        print(f"  tutor /suivi ({len(service.follow_rows(tutor))} auditeurs): {tutor_ms:7.1f} ms")
        print(f"  staff follow-up ({len(view.overdue_corrections)} overdue, {len(view.open_cases)} cases, "
              f"{len(view.stalled)} stalled): {staff_ms:7.1f} ms")
        ok = tutor_ms < TARGET_MS and staff_ms < TARGET_MS
        print(f"  target {TARGET_MS:.0f} ms: {'met' if ok else 'MISSED'}")
        db.dispose()
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""`coachbot suivi`, `coachbot calendrier`, `coachbot grille`: the accompaniment from the command line
(which acts as staff: it runs on the server with database access)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from bot.config import load_settings
from bot.domain.accompaniment import AcademicYear, Refusal, SemesterDates
from bot.domain.permissions import COMMAND_LINE
from bot.services.accompaniment import grid_from_toml
from bot.services.container import Services
from bot.storage.db import Database
from bot.telegram.rendering import Renderer


def register(sub) -> list[str]:
    suivi = sub.add_parser("suivi", help="the cohort's accompaniments: stage, next due date, overdue (CSV with --csv)")
    suivi.add_argument("--csv", action="store_true", help="one CSV line per active enrolment, on standard output")
    cal = sub.add_parser("calendrier", help="set the academic year's semester dates (once a year; defaults otherwise)")
    cal.add_argument("--year", type=int, required=True, help="first year of the academic year: 2027 for 2027-2028")
    for number in (1, 2):
        cal.add_argument(f"--s{number}", required=True, metavar="START:END",
                         help=f"semester {number}: first and last day, e.g. 2027-09-01:2028-01-31")
        cal.add_argument(f"--s{number}-enrolment", required=True, metavar="OPENS:CLOSES",
                         help=f"enrolment window of semester {number}, e.g. 2027-10-01:2027-10-31")
    grid = sub.add_parser("grille", help="load a certifier's grid (TOML like prompts/report/grid.toml) for a certification")
    grid.add_argument("--certification", required=True)
    grid.add_argument("file", type=Path)
    return ["suivi", "calendrier", "grille"]


def _span(raw: str) -> tuple[date, date]:
    first, _, last = raw.partition(":")
    return date.fromisoformat(first), date.fromisoformat(last)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    db = Database(settings.database_url)
    db.upgrade()
    services = Services.build(settings, db)
    renderer = Renderer(timezone=settings.timezone)
    service = services.accompaniment
    try:
        if args.command == "suivi":
            if args.csv:
                sys.stdout.write(service.cohort_csv(COMMAND_LINE))
            else:
                print(renderer.render("cli/suivi.txt", rows=service.follow_rows(COMMAND_LINE)))
            return 0
        if args.command == "calendrier":
            try:
                semesters = []
                for number in (1, 2):
                    start, end = _span(getattr(args, f"s{number}"))
                    opens, closes = _span(getattr(args, f"s{number}_enrolment"))
                    semesters.append(SemesterDates(start, end, opens, closes))
            except ValueError:
                print(renderer.render("cli/input_problem.txt", code="calendar_dates", details={}), file=sys.stderr)
                return 2
            year = service.set_academic_year(COMMAND_LINE, AcademicYear(args.year, *semesters))
            print(renderer.render("cli/calendar_set.txt", year=year))
            return 0
        grid = grid_from_toml(args.file.read_text(encoding="utf-8"))
        service.load_grid(COMMAND_LINE, args.certification, grid)
        print(renderer.render("cli/grid_loaded.txt", grid=grid, certification=args.certification))
        return 0
    except Refusal as refusal:
        print(renderer.render("cli/accompaniment_refused.txt", code=refusal.code.value, details=refusal.details), file=sys.stderr)
        return 1
    finally:
        db.dispose()

"""`coachbot invite tutor` and `coachbot enrol`: create a person and a one-time invitation code."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.config import load_settings
from bot.domain.permissions import COMMAND_LINE
from bot.services.container import Services
from bot.services.onboarding import EnrolmentError
from bot.storage.db import Database
from bot.telegram.rendering import Renderer


def register(sub) -> list[str]:
    invite = sub.add_parser("invite", help="invite a tutor: prints a one-time code and the bot's deep link")
    invite.add_argument("role", choices=["tutor"], help="who is invited (auditeurs are invited by `enrol`)")
    invite.add_argument("--name", required=True)
    invite.add_argument("--email")
    enrol = sub.add_parser("enrol", help="enrol an auditeur with their tutor: prints a one-time code and deep link")
    enrol.add_argument("--name", required=True)
    enrol.add_argument("--tutor", required=True, help="the tutor's id or (part of) their name")
    enrol.add_argument("--report-type", required=True, choices=["ua", "stage"])
    enrol.add_argument("--semester", required=True, help="e.g. 2026-S1 (1st semester 2026-2027) or 2026-S2")
    enrol.add_argument("--certification", required=True, help="the certification prepared")
    enrol.add_argument("--email")
    # the offer's prerequisites (seed 003): staff record both; below them the enrolment is refused
    enrol.add_argument("--units-validated", required=True, type=int, metavar="N",
                       help="teaching units of the certification validated (at least 2)")
    enrol.add_argument("--experience", required=True, choices=["justified", "in_progress", "missing"],
                       help="the minimum professional experience: justified, being acquired, or missing")
    return ["invite", "enrol"]


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    db = Database(settings.database_url)
    db.upgrade()
    services = Services.build(settings, db)
    renderer = Renderer(timezone=settings.timezone)
    try:
        if args.command == "invite":
            issued = services.onboarding.invite_tutor(COMMAND_LINE, args.name, email=args.email)
        else:
            issued = services.onboarding.enrol_auditeur(
                COMMAND_LINE,
                name=args.name,
                tutor=args.tutor,
                report_type=args.report_type,
                semester=args.semester,
                certification=args.certification,
                email=args.email,
                units_validated=args.units_validated,
                experience=args.experience,
            )
    except EnrolmentError as error:
        print(renderer.render("cli/input_problem.txt", code=error.code, details=error.details), file=sys.stderr)
        return 1
    finally:
        db.dispose()
    username = settings.bot_username or _bot_username(settings)
    print(renderer.render("cli/invitation_issued.txt", issued=issued, enrolment=issued.enrolment, link=issued.deep_link(username)))
    return 0


def _bot_username(settings) -> str | None:
    """Ask Telegram (getMe) for the bot's username when it is not configured; None if unreachable."""
    if not settings.bot_token:
        return None
    from telegram import Bot

    async def _get() -> str | None:
        bot = Bot(settings.bot_token, base_url=settings.api_base_url, base_file_url=settings.api_file_url)
        try:
            async with bot:
                return bot.username
        except Exception:
            return None

    return asyncio.run(_get())

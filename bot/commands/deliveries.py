"""`coachbot outbox`: the state of the bot's deliveries and the dead letters, for staff at a terminal."""

from __future__ import annotations

import argparse

from bot.config import load_settings
from bot.domain.permissions import COMMAND_LINE
from bot.services.container import Services
from bot.storage.db import Database
from bot.telegram.rendering import Renderer


def register(sub) -> list[str]:
    outbox = sub.add_parser("outbox", help="deliveries: counts by state and the messages given up (dead letters)")
    outbox.add_argument("--limit", type=int, default=50, help="how many dead letters to list (newest first)")
    return ["outbox"]


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    db = Database(settings.database_url)
    db.upgrade()
    try:
        report = Services.build(settings, db).outbox.report(COMMAND_LINE, limit=args.limit)
    finally:
        db.dispose()
    renderer = Renderer(timezone=settings.timezone)
    print(renderer.render("cli/deliveries.txt", counts=report.counts, waiting=report.waiting, dead=report.dead))
    return 0

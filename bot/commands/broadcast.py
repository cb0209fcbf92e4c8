"""`coachbot broadcast`: the same broadcasts as /diffuser, from the command line.

    coachbot broadcast --audience semestre:2026-S1 --message-file annonce.html [--at "lundi 5 octobre 9h"]
                       [--document calendrier.pdf] [--dry-run]
    coachbot broadcast status ID     where a broadcast is: state, sent, blocked, failed, remaining
    coachbot broadcast report ID     the same with the recipients it could not reach

The message file is Telegram HTML (<b>, <i>, <a href="…">…). ``--dry-run`` prints the number of
recipients and the message as they will see it, and stores nothing. Otherwise the broadcast is
stored and its outbox rows written now (or at ``--at``, Paris time): the running bot delivers them.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from bot.config import load_settings
from bot.domain import broadcasts as rules
from bot.domain.broadcasts import Audience, BroadcastError
from bot.domain.permissions import COMMAND_LINE
from bot.emulator.html_check import parse_html
from bot.services.container import Services
from bot.storage.db import Database
from bot.telegram.rendering import Renderer, plain_text

MAX_DOCUMENT_BYTES = 50 * 1024 * 1024  # Telegram's upload limit for bots


def register(sub) -> list[str]:
    command = sub.add_parser("broadcast", help="send or schedule a message to an audience (as /diffuser does); "
                                                "'broadcast status ID' and 'broadcast report ID' follow one")
    command.add_argument("action", nargs="?", choices=("status", "report"),
                         help="follow a broadcast instead of sending one: its progress, or its report")
    command.add_argument("id", nargs="?", type=int, help="the broadcast number (with status or report)")
    command.add_argument("--audience",
                         help="auditeurs, tuteurs, tous, semestre:2026-S1, certification:<title>, etape:<stage> "
                              "(enrolled, first_meeting_held, planned, submitted, corrected, revised, validated, not_validated)")
    command.add_argument("--message-file", metavar="FILE", help="the message, Telegram HTML (UTF-8)")
    command.add_argument("--at", metavar="WHEN", help='when to send it, Paris time: "lundi 5 octobre 9h", "05/10 à 9h30", 2026-10-05T09:30')
    command.add_argument("--document", metavar="FILE", help="a document to send with the message as its caption")
    command.add_argument("--dry-run", action="store_true", help="print the recipients count and the message; store nothing")
    return ["broadcast"]


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    renderer = Renderer(timezone=settings.timezone)

    def problem(code: str, **details) -> int:
        text = renderer.render("broadcasts/problem.html", code=code, details=details)
        print(renderer.render("cli/broadcast_problem.txt", problem=plain_text(text)), file=sys.stderr)
        return 1

    if args.action is not None:
        if args.id is None:
            return problem("broadcast_id_missing", action=args.action)
        return _follow(args, settings, renderer, problem)
    if not args.audience or not args.message_file:
        return problem("arguments_missing")
    try:
        message = Path(args.message_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return problem("document_problem", reason=f"{args.message_file} : {type(error).__name__}")
    document_name = content = None
    if args.document:
        path = Path(args.document)
        try:
            content = path.read_bytes()
        except OSError as error:
            return problem("document_problem", reason=f"{path.name} : {type(error).__name__}")
        if not content or len(content) > MAX_DOCUMENT_BYTES:
            return problem("document_problem", reason=f"{path.name} : vide ou plus de 50 Mo")
        document_name = path.name
    db = Database(settings.database_url)
    db.upgrade()
    services = Services.build(settings, db)
    service = services.broadcasts
    try:
        audience = Audience.parse(args.audience)
        html = rules.validate_message(message, has_document=document_name is not None)
        when = _when(args.at, services.clock(), settings.timezone) if args.at else None
        count = service.count(COMMAND_LINE, audience)
        if args.dry_run:
            print(renderer.render("cli/broadcast_dry_run.txt", audience=audience.code, count=count, when=when,
                                  document=document_name, message=parse_html(html) if html else ""))
            return 0
        preview = service.compose(COMMAND_LINE, message_html=html, audience=audience, document_name=document_name,
                                  document_content=content)
        if when is None:
            view = service.send_now(COMMAND_LINE, preview.broadcast.id).broadcast
        else:
            view = service.schedule(COMMAND_LINE, preview.broadcast.id, when)
        print(renderer.render("cli/broadcast_queued.txt", broadcast=view, count=preview.count))
        return 0
    except BroadcastError as error:
        return problem(error.code, **error.details)
    finally:
        db.dispose()


def _follow(args: argparse.Namespace, settings, renderer: Renderer, problem) -> int:
    """``status ID`` and ``report ID``: what staff see on Telegram, as plain text."""
    db = Database(settings.database_url)
    db.upgrade()
    service = Services.build(settings, db).broadcasts
    try:
        if args.action == "status":
            progress = service.progress(COMMAND_LINE, args.id)
            print(renderer.render("cli/broadcast_status.txt", progress=progress, broadcast=progress.broadcast))
        else:
            report = service.report(COMMAND_LINE, args.id)
            print(renderer.render("cli/broadcast_report.txt", report=report, progress=report.progress,
                                  broadcast=report.progress.broadcast))
        return 0
    except BroadcastError as error:
        return problem(error.code, **error.details)
    finally:
        db.dispose()


def _when(text: str, now: datetime, timezone) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return rules.parse_when(text, now=now, timezone=timezone)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone)
    rules.check_schedule(moment, now=now)
    return moment.astimezone(now.tzinfo)

"""`coachbot personne export|erase|handover`: personal data for a person who asks by other means.

    coachbot personne export --telegram-id 123456 [--out DIR] [--dry-run]
    coachbot personne erase --name "Léa Bernard" [--dry-run]
    coachbot personne handover --name "Marc Dubois" --to "Nina Petit" [--dry-run]

The person is chosen by Telegram id or by exact name (case and spaces ignored); several people with
that name: nothing is done and their ids are listed (then use `--id`). `--dry-run` says what would be
exported or erased, and changes nothing. The command line acts as staff.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.config import load_settings
from bot.documents.personal_data import export_docx, export_json, export_text
from bot.domain.permissions import COMMAND_LINE
from bot.services.container import Services
from bot.services.personal_data import AlreadyErased, HandOverFirst
from bot.storage.db import Database
from bot.telegram.rendering import Renderer

EXIT_OK, EXIT_FAILURE = 0, 1


def _who(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--telegram-id", type=int, help="the person's Telegram user id")
    group.add_argument("--name", help="the person's name, exactly (case and spaces ignored)")
    group.add_argument("--id", type=int, help="the person's id in the database")
    parser.add_argument("--dry-run", action="store_true", help="say what would be done; change nothing")


def register(sub) -> list[str]:
    person = sub.add_parser("personne", help="personal data of one person: export, erase, hand a tutor's auditeurs over")
    actions = person.add_subparsers(dest="personne_action", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="write everything stored about the person (.docx and .json)")
    _who(export)
    export.add_argument("--out", default=".", help="directory for the two files (default: here)")
    erase = actions.add_parser("erase", help="erase the person's personal data (what the institution keeps stays)")
    _who(erase)
    handover = actions.add_parser("handover", help="give a tutor's active auditeurs to another tutor")
    _who(handover)
    handover.add_argument("--to", required=True, help="the new tutor: id or exact name")
    return ["personne"]


def _render(renderer: Renderer, template: str, **context) -> None:
    print(renderer.render(f"cli/{template}", **context))


def _find(services: Services, renderer: Renderer, *, telegram_id=None, name=None, person_id=None):
    if person_id is not None:
        person = services.directory.get(person_id)
        people = [person] if person is not None else []
    else:
        people = services.personal_data.find(COMMAND_LINE, telegram_id=telegram_id, name=name)
    if len(people) != 1:
        print(renderer.render("cli/personne_not_found.txt", people=people), file=sys.stderr)
        return None
    return people[0]


def _target(services, renderer, raw: str):
    return _find(services, renderer, person_id=int(raw)) if raw.isdecimal() else _find(services, renderer, name=raw)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    db = Database(settings.database_url)
    db.upgrade()
    services = Services.build(settings, db)
    renderer = Renderer(timezone=settings.timezone)
    try:
        person = _find(services, renderer, telegram_id=args.telegram_id, name=args.name, person_id=args.id)
        if person is None:
            return EXIT_FAILURE
        action = args.personne_action
        if action == "export":
            return _export(services, renderer, settings, person, Path(args.out), dry_run=args.dry_run)
        if action == "erase":
            return _erase(services, renderer, person, dry_run=args.dry_run)
        target = _target(services, renderer, args.to)
        if target is None:
            return EXIT_FAILURE
        return _hand_over(services, renderer, person, target, dry_run=args.dry_run)
    except AlreadyErased:
        _render(renderer, "personne_already_erased.txt")
        return EXIT_FAILURE
    finally:
        db.dispose()


def _export(services, renderer, settings, person, out: Path, *, dry_run: bool) -> int:
    data = services.personal_data.export(COMMAND_LINE, person.id)
    counts = {key: len(value) for key, value in data.items() if isinstance(value, list)}
    stamp = data["exported_at"][:10]
    paths = [out / f"donnees-{person.id}-{stamp}.docx", out / f"donnees-{person.id}-{stamp}.json"]
    if not dry_run:
        text = export_text(
            data, renderer, services.catalogue, services.coaching.experience_content,
            retention_months=settings.retention_months, cnam_contact=settings.cnam_contact,
        )
        out.mkdir(parents=True, exist_ok=True)
        paths[0].write_bytes(export_docx(text))
        paths[1].write_bytes(export_json(data))
    _render(renderer, "personne_exported.txt", person=person, counts=counts, paths=paths, dry_run=dry_run)
    return EXIT_OK


def _erase(services, renderer, person, *, dry_run: bool) -> int:
    preview = services.personal_data.preview_erasure(COMMAND_LINE, person.id)
    if preview.work.blocking:
        _render(renderer, "personne_hand_over_first.txt", person=person, work=preview.work)
        return EXIT_FAILURE
    if dry_run:
        _render(renderer, "personne_erase_preview.txt", person=person, preview=preview)
        return EXIT_OK
    try:
        done = services.personal_data.erase(COMMAND_LINE, person.id)
    except HandOverFirst as refused:
        _render(renderer, "personne_hand_over_first.txt", person=person, work=refused.work)
        return EXIT_FAILURE
    _render(renderer, "personne_erased.txt", person=person, done=done)
    return EXIT_OK


def _hand_over(services, renderer, person, target, *, dry_run: bool) -> int:
    auditeurs = services.directory.auditeurs_of(person.id)
    if dry_run:
        _render(renderer, "personne_handover.txt", person=person, target=target, count=len(auditeurs), dry_run=True)
        return EXIT_OK
    try:
        done = services.personal_data.hand_over(COMMAND_LINE, person.id, target.id)
    except HandOverFirst as refused:
        _render(renderer, "personne_hand_over_first.txt", person=person, work=refused.work)
        return EXIT_FAILURE
    except ValueError:
        _render(renderer, "personne_handover_refused.txt")
        return EXIT_FAILURE
    _render(renderer, "personne_handover.txt", person=person, target=target, count=done.auditeurs, dry_run=False)
    return EXIT_OK

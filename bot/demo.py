"""`coachbot demo`: the real bot against the built-in emulator, with a terminal chat.

A temporary SQLite database is seeded with one staff member, one tutor and one auditeur (each bound
to a simulated Telegram user), and a newcomer enrolled but not yet on Telegram. You type as the
auditeur, switch person with `:tuteur` / `:staff` / `:nouveau`, press buttons with `:1`, `:2`...,
send a document with `:doc FILE [caption]`, open the latest invitation link with `:lien`, move the
clock with `:date`; documents the bot sends are saved in a folder. `--script FILE` replays lines
without a terminal and prints the transcript.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from bot.config import Settings
from bot.domain.people import PersonView
from bot.domain.permissions import COMMAND_LINE
from bot.emulator.driver import BotDriver, Reply
from bot.emulator.server import BotApiEmulator, BotMessage, FloodLimits
from bot.services.container import Services
from bot.storage.db import Database
from bot.telegram.log_redaction import configure_logging
from bot.telegram.rendering import Renderer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoPerson:
    key: str  # what you type after ':' to become them
    telegram_id: int
    person: PersonView


@dataclass(frozen=True)
class DemoCast:
    staff: DemoPerson
    tutor: DemoPerson
    auditeur: DemoPerson
    newcomer: DemoPerson | None = None  # enrolled, not bound yet: joins with `:lien` (the demo only)
    newcomer_code: str | None = None

    def all(self) -> list[DemoPerson]:
        return [self.auditeur, self.tutor, self.staff, *([self.newcomer] if self.newcomer else [])]


STAFF_ID, TUTOR_ID, AUDITEUR_ID, NEWCOMER_ID = 1001, 2001, 3001, 4001
_START_LINK = re.compile(r"[?&]start=([A-Za-z0-9_-]+)")


def add_newcomer(services: Services, emulator: BotApiEmulator, cast: DemoCast) -> DemoCast:
    """Tom Petit, enrolled by staff with the demo's tutor, has a Telegram account and his invitation
    code, not yet used: `:nouveau` then `:lien` shows someone joining (the data notice, consent)."""
    emulator.add_user(NEWCOMER_ID, "Tom", "Petit", "tom_petit")
    issued = services.onboarding.enrol_auditeur(
        COMMAND_LINE,
        name="Tom Petit",
        tutor=cast.tutor.person.id,
        report_type="stage",
        semester="2026-S1",
        certification="Licence professionnelle Formation de formateurs",
        units_validated=2,
        experience="justified",
    )
    return replace(cast, newcomer=DemoPerson("nouveau", NEWCOMER_ID, issued.person), newcomer_code=issued.code)

def seed(
    services: Services, emulator: BotApiEmulator, seeders: Iterable[Callable[[Services, DemoCast], None]] | None = None
) -> DemoCast:
    """The demo's people, created through the same services (invite, enrol, redeem) as real ones, then
    what each feature needs (a tutor's availability, ...): the `demo_seeders` of `bot/routes.py`."""
    onboarding = services.onboarding
    emulator.add_user(STAFF_ID, "Claire", "Martin", "claire_cnam")
    emulator.add_user(TUTOR_ID, "Marc", "Dubois", "marc_tuteur")
    emulator.add_user(AUDITEUR_ID, "Léa", "Bernard", "lea_auditrice")
    from bot.services.directory import TelegramIdentity

    staff = services.directory.identify(TelegramIdentity(STAFF_ID, "Claire", "Martin"))
    tutor_invite = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois", email="marc.dubois@exemple.fr")
    tutor = onboarding.redeem(
        TUTOR_ID, onboarding.check_code(TUTOR_ID, tutor_invite.code).invitation_id, notice_version="demo"
    ).person
    enrolment = onboarding.enrol_auditeur(
        COMMAND_LINE,
        name="Léa Bernard",
        tutor=tutor.id,
        report_type="ua",
        semester="2026-S1",
        certification="Licence professionnelle Formation de formateurs",
        units_validated=3,
        experience="justified",
    )
    auditeur = onboarding.redeem(
        AUDITEUR_ID, onboarding.check_code(AUDITEUR_ID, enrolment.code).invitation_id, notice_version="demo"
    ).person
    cast = DemoCast(
        staff=DemoPerson("staff", STAFF_ID, staff),
        tutor=DemoPerson("tuteur", TUTOR_ID, tutor),
        auditeur=DemoPerson("auditeur", AUDITEUR_ID, auditeur),
    )
    if seeders is None:
        from bot.routes import build_routes

        seeders = build_routes().demo_seeders
    for seeder in seeders:
        seeder(services, cast)
    return cast


class DemoSession:
    def __init__(self, driver: BotDriver, cast: DemoCast, renderer: Renderer, files_dir: Path, out) -> None:
        self.driver = driver
        self.cast = cast
        self.renderer = renderer
        self.files_dir = files_dir
        self.out = out
        self.current = cast.auditeur

    def say(self, template: str, **context) -> None:
        print(self.renderer.render(f"demo/{template}", **context), file=self.out, flush=True)

    def _name_of(self, chat_id: int) -> str:
        for member in self.cast.all():
            if member.telegram_id == chat_id:
                return member.person.display_name
        return str(chat_id)

    def show(self, reply: Reply) -> None:
        for message in reply.messages:
            self._show_message(message)

    def _show_message(self, message: BotMessage) -> None:
        saved = None
        if message.document is not None:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            name = Path(message.document.file_name or f"document-{message.message_id}").name
            saved = self.files_dir / name
            saved.write_bytes(message.document.content)
        self.say(
            "bot_message.txt",
            to=self._name_of(message.chat_id),
            own=message.chat_id == self.current.telegram_id,
            text=message.plain_text if message.document is None else message.caption,
            buttons=message.button_labels,
            document=saved,
        )

    async def handle(self, line: str) -> bool:
        """One line typed by the user; False when the demo should end."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        if not line.startswith(":"):
            self.show(await self.driver.send(self.current.telegram_id, line))
            return True
        command, *rest = line[1:].split(maxsplit=1)
        argument = rest[0] if rest else ""
        command = command.lower()
        if command in {"quit", "q", "exit", "quitter"}:
            return False
        if command.isdecimal() or command in {"b", "bouton"}:
            typed = command if command.isdecimal() else argument
            number = int(typed) if typed.isdecimal() else 0  # "b x": no such button
            await self._press(number)
        elif command in {"doc", "pdf"}:
            await self._send_document(argument)
        elif command in {"aide", "help", "?"}:
            self.say("commands.txt")
        elif command in {"date", "jour"}:
            await self._move_clock(argument)
        elif command in {"lien", "link"}:
            await self._open_invitation()
        else:
            for member in self.cast.all():
                if command in {member.key, member.key.rstrip("s"), "tutor" if member.key == "tuteur" else ""}:
                    self.current = member
                    self.say("switched.txt", person=member.person, key=member.key)
                    return True
            self.say("unknown_command.txt", command=command)
        return True

    async def _press(self, number: int) -> None:
        message = next((m for m in reversed(self.driver.emulator.chat(self.current.telegram_id)) if m.buttons), None)
        if message is None or not 1 <= number <= len(message.buttons):
            self.say("no_such_button.txt", number=number, count=len(message.buttons) if message else 0)
            return
        self.show(await self.driver.press(self.current.telegram_id, message=message, index=number - 1))

    async def _move_clock(self, argument: str) -> None:
        """``:date 2027-01-05 09:30`` (Paris): the bot's clock jumps there; what comes due (reminders)
        is delivered and shown, whoever receives it."""
        from datetime import datetime

        from bot.domain.calendar import PARIS

        try:
            moment = datetime.strptime(argument.strip(), "%Y-%m-%d %H:%M" if ":" in argument else "%Y-%m-%d")
        except ValueError:
            self.say("bad_date.txt", value=argument)
            return
        moment = moment.replace(tzinfo=PARIS)
        since = self.driver.emulator.last_sequence()
        self.driver.services.clock = lambda: moment
        await self.driver.drain()
        self.say("clock_moved.txt", moment=moment)
        for message in self.driver.emulator.sent_since(since):
            self._show_message(message)

    async def _open_invitation(self) -> None:
        """``:lien``: the current person opens the latest invitation link the bot gave (to anyone in the
        demo), else the newcomer's: Telegram then sends the bot ``/start <code>``."""
        code = None
        for message in reversed(self.driver.emulator.sent_since(0)):
            found = _START_LINK.search(" ".join([message.text or "", message.caption or "",
                                                  *(b.get("url", "") for b in message.buttons)]))
            if found:
                code = found.group(1)
                break
        code = code or self.cast.newcomer_code
        if code is None:
            self.say("no_invitation.txt")
            return
        self.say("link_opened.txt", person=self.current.person, username=self.driver.emulator.bot.username, code=code)
        self.show(await self.driver.send(self.current.telegram_id, f"/start {code}"))

    async def _send_document(self, argument: str) -> None:
        """``:doc FILE [caption]``: the file, with the rest of the line as its caption (an annex title)."""
        try:
            words = shlex.split(argument) if argument else []
        except ValueError:
            words = []
        path = Path(words[0]).expanduser() if words else None
        if path is None or not path.is_file():
            self.say("no_such_file.txt", path=argument)
            return
        caption = " ".join(words[1:]) or None
        mime = "application/pdf" if path.suffix.lower() == ".pdf" else "application/octet-stream"
        self.show(await self.driver.send_document(
            self.current.telegram_id, path.read_bytes(), path.name, mime, caption=caption
        ))


async def _demo(settings: Settings, lines, files_dir: Path, interactive: bool) -> int:
    renderer = Renderer(timezone=settings.timezone)
    # The demo's Telegram is local: it lets a person see one screen after another without Telegram's
    # 1 message/s per chat (the bot still paces what it sends as it would in production).
    demo_limits = FloodLimits(per_chat_per_second=30, per_chat_burst=30)
    with tempfile.TemporaryDirectory(prefix="coachbot-demo-") as tmp, BotApiEmulator(flood_limits=demo_limits) as emulator:
        demo_settings = BotDriver.settings_for(
            emulator,
            settings.with_overrides(
                database_url=f"sqlite:///{Path(tmp) / 'demo.db'}",
                staff_telegram_ids=frozenset({STAFF_ID}),
                bot_username=emulator.bot.username,
                llm=settings.llm,
            ),
        )
        db = Database(demo_settings.database_url)
        db.upgrade()
        driver = BotDriver(emulator, demo_settings, db)
        await driver.start()
        try:
            cast = seed(driver.services, emulator, driver.application.bot_data["routes"].demo_seeders)
            cast = add_newcomer(driver.services, emulator, cast)
            session = DemoSession(driver, cast, renderer, files_dir, sys.stdout)
            session.say("intro.txt", cast=cast, files_dir=files_dir, interactive=interactive)
            async for line in lines:
                if not interactive:
                    session.say("echo.txt", person=session.current.person, line=line.rstrip("\n"))
                if not await session.handle(line):
                    break
        finally:
            await driver.stop()
    return 0


async def _terminal_lines(renderer: Renderer):
    prompt = renderer.render("demo/prompt.txt") + " "
    while True:
        try:
            yield await asyncio.to_thread(input, prompt)
        except EOFError:
            return


async def _script_lines(path: Path):
    for line in path.read_text(encoding="utf-8").splitlines():
        yield line


def run_demo(settings: Settings, *, script: str | None, files_dir: str) -> int:
    configure_logging("WARNING" if settings.log_level == "INFO" else settings.log_level, [])
    renderer = Renderer(timezone=settings.timezone)
    if script is not None:
        path = Path(script)
        if not path.is_file():
            print(renderer.render("demo/no_such_file.txt", path=script), file=sys.stderr)
            return 2
        return asyncio.run(_demo(settings, _script_lines(path), Path(files_dir), interactive=False))
    return asyncio.run(_demo(settings, _terminal_lines(renderer), Path(files_dir), interactive=True))

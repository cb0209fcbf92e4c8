"""Benchmark: a staff broadcast to 5,000 auditeurs through the emulator at Telegram's 30 messages/s.

Run from the project root:  python bench/bench_broadcast.py [--recipients 5000] [--database-url URL]

The real bot (long polling, outbox sender, default delivery settings: TELEGRAM_RATE_PER_SECOND=28)
runs against the emulator with Telegram's flood limits on (30 messages/s overall, bursts of 30,
about 1/s per chat; a message over the limit gets a 429). Once the bot has started (its command
lists published), one broadcast to every auditeur is confirmed; meanwhile another auditeur keeps
using the bot (``/aide`` every second, ``--chat-every``) and the time to each answer is measured.

Reported: the achieved delivery rate as a share of the emulator's limit (target >= 0.9), messages
lost (target 0) and duplicated, 429s answered by the emulator, and the p50/p95 time the bot takes
to answer the other person during the broadcast (target p95 < 1 s). The 429s are split: those for
the chatting person's own chat come from Telegram's limit of about one message per second per chat
(with ``--chat-every 0.5`` that person asks twice a second: after a burst of 10, every other answer
waits its second whatever the broadcast does; without a broadcast it is the same).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from bot.domain.people import PersonView, Role  # noqa: E402
from bot.emulator.driver import BotDriver  # noqa: E402
from bot.emulator.server import BotApiEmulator, FloodLimits  # noqa: E402
from bot.services import outbox  # noqa: E402
from bot.services.broadcasts import group_of  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.models import Enrolment, Person  # noqa: E402
from tests.conftest import base_settings  # noqa: E402

STAFF_TG, TUTOR_TG, USER_TG, FIRST_TG = 1001, 2001, 3001, 100_000
TEXT = "Inscriptions au 1er semestre 2026-2027 : du jeudi 1er octobre au samedi 31 octobre."
TARGETS = {"share": 0.9, "lost": 0, "p95": 1.0}


def seed(db: Database, emulator: BotApiEmulator, count: int) -> PersonView:
    with db.transaction() as session:
        staff = Person(role="staff", display_name="Claire Martin", telegram_user_id=STAFF_TG)
        tutor = Person(role="tutor", display_name="Marc Dubois", telegram_user_id=TUTOR_TG)
        user = Person(role="tutor", display_name="Léa Bernard", telegram_user_id=USER_TG)  # not in the audience
        session.add_all([staff, tutor, user])
        session.flush()
        session.execute(sa.insert(Person), [
            {"role": "auditeur", "display_name": f"Auditeur {i}", "telegram_user_id": FIRST_TG + i, "active": True}
            for i in range(count)
        ])
        ids = session.scalars(sa.select(Person.id).where(Person.role == "auditeur")).all()
        session.execute(sa.insert(Enrolment), [
            {"auditeur_id": pid, "tutor_id": tutor.id, "certification": "Titre RH", "report_type": "ua",
             "semester": "2026-S1", "status": "active"} for pid in ids
        ])
        staff_view = PersonView(staff.id, Role.STAFF, "Claire Martin", STAFF_TG)
    for telegram_id, first in ((STAFF_TG, "Claire"), (TUTOR_TG, "Marc"), (USER_TG, "Léa")):
        emulator.add_user(telegram_id, first, "Test")
    for i in range(count):
        emulator.add_user(FIRST_TG + i, "Auditeur", str(i))
    return staff_view


async def chat_meanwhile(emulator: BotApiEmulator, stop: asyncio.Event, latencies: list[float], every: float) -> None:
    """Another person uses the bot during the broadcast: /aide every ``every`` s, time to the answer."""
    while not stop.is_set():
        before = len(emulator.chat(USER_TG))
        started = time.monotonic()
        emulator.send_text(USER_TG, "/aide")
        while len(emulator.chat(USER_TG)) == before and time.monotonic() - started < 30:
            await asyncio.sleep(0.005)
        latencies.append(time.monotonic() - started)
        await asyncio.sleep(every)


async def run(count: int, database_url: str | None, rate: int | None = None, chat_every: float = 1.0) -> dict:
    logging.disable(logging.WARNING)
    url = database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    limits = FloodLimits()  # Telegram's: 30/s overall
    with BotApiEmulator(flood_limits=limits) as emulator:
        refused = [0, 0]  # all 429s, those for the chatting person's own chat
        check = emulator._check_flood

        def counting_check(chat_id):  # how many 429s the emulator answered
            try:
                check(chat_id)
            except Exception:
                refused[0] += 1
                refused[1] += chat_id == USER_TG
                raise

        emulator._check_flood = counting_check
        db = Database(url)
        db.upgrade()
        staff = seed(db, emulator, count)
        env = {"TELEGRAM_PER_CHAT_INTERVAL_MS": "1000", **({"TELEGRAM_RATE_PER_SECOND": str(rate)} if rate else {})}
        settings = BotDriver.settings_for(emulator, base_settings(**env)).with_overrides(
            database_url=url
        )
        driver = BotDriver(emulator, settings, db)
        await driver.start()
        startup = driver.application.bot_data.get("startup_task")
        if startup is not None:
            await startup  # command lists published to everyone first: the bench measures the broadcast
        service = driver.services.broadcasts
        stop, latencies = asyncio.Event(), []
        chatter = asyncio.create_task(chat_meanwhile(emulator, stop, latencies, chat_every))
        await asyncio.sleep(2)
        first_request = len(emulator.requests)
        started = time.monotonic()
        preview = await asyncio.to_thread(service.compose, staff, message_html=TEXT, audience="auditeurs")
        await asyncio.to_thread(service.send_now, staff, preview.broadcast.id)
        launched = time.monotonic()  # the rows are written: the rate is measured from here to the last send
        group = group_of(preview.broadcast.id)
        while True:
            with db.read() as session:
                progress = outbox.group_progress(session, group)
            if progress.pending == 0:
                break
            await asyncio.sleep(0.5)
        elapsed = time.monotonic() - started
        stop.set()
        await chatter
        await driver.stop()
        with emulator._lock:
            sends = [t for t, method in emulator.requests[first_request:] if method.lower() == "sendmessage" and t >= launched]
        copies = [sum(1 for m in emulator.chat(FIRST_TG + i) if m.plain_text == TEXT) for i in range(count)]
        db.dispose()
    broadcast_sends = sum(copies)
    span = (max(sends) - min(sends)) if len(sends) > 1 else elapsed
    rate = broadcast_sends / span
    latencies.sort()
    return {
        "recipients": count,
        "elapsed": elapsed,
        "rate": rate,
        "share": rate / limits.overall_per_second,
        "lost": copies.count(0),
        "duplicated": sum(1 for c in copies if c > 1),
        "sent": progress.sent,
        "failed": progress.failed,
        "answers": len(latencies),
        "429s": refused[0],
        "429s_chat": refused[1],
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": latencies[max(0, int(len(latencies) * 0.95) - 1)] if latencies else float("nan"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--chat-every", type=float, default=1.0,
                        help="seconds between the other person's messages (0.5: replies take the bot's whole headroom)")
    parser.add_argument("--rate", type=int, help="TELEGRAM_RATE_PER_SECOND for the bot (default: its default, 28)")
    parser.add_argument("--database-url", help="e.g. postgresql+psycopg://postgres@127.0.0.1/bench (default: SQLite)")
    args = parser.parse_args()
    r = asyncio.run(run(args.recipients, args.database_url, args.rate, args.chat_every))
    rows = [
        ("recipients", f"{r['recipients']}", ""),
        ("broadcast duration", f"{r['elapsed']:.1f} s", ""),
        ("achieved rate", f"{r['rate']:.1f} msg/s", "limit 30/s"),
        ("share of the limit", f"{r['share']:.2f}", f">= {TARGETS['share']}"),
        ("messages lost", f"{r['lost']}", f"= {TARGETS['lost']}"),
        ("duplicated", f"{r['duplicated']}", ""),
        ("failed (dead/unknown)", f"{r['failed']}", ""),
        ("429 answered by the emulator", f"{r['429s']}", ""),
        ("  of which to the chatting person", f"{r['429s_chat']}", "Telegram: about 1 message/s per chat"),
        ("answers to another person", f"{r['answers']}", ""),
        ("answer time p50", f"{r['p50'] * 1000:.0f} ms", ""),
        ("answer time p95", f"{r['p95'] * 1000:.0f} ms", f"< {TARGETS['p95'] * 1000:.0f} ms"),
    ]
    width = max(len(name) for name, _, _ in rows)
    print(f"{'measure'.ljust(width)}  {'value':>14}  target")
    for name, value, target in rows:
        print(f"{name.ljust(width)}  {value:>14}  {target}")
    ok = r["share"] >= TARGETS["share"] and r["lost"] == TARGETS["lost"] and r["p95"] < TARGETS["p95"]
    print("all targets met" if ok else "some targets missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

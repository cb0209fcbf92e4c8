"""Benchmark: the outbox and the paced sender.

Run from the project root:  python bench/bench_outbox.py [--quick] [--database-url URL]
(``bench/bench_delivery.py`` runs these measures too, in its one table.)

- One outbox pass (claim the due rows) with 100,000 future rows and 100 due, on SQLite and, with
  ``--database-url`` (or TEST_DATABASE_URL), on PostgreSQL: median of 21 passes.
- With the emulator's flood limits on (30 messages/s overall, 1/s per chat with bursts of 10):
  100 people send 6 messages each at once; replies per second as a share of the 30/s limit, and
  replies lost (each person must get an answer to each message).
- A 40-person burst: the longest wait from a message to its answer.
- 50 people press a slot button within 100 ms (flood limits on): the slowest button answer.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.domain.permissions import COMMAND_LINE  # noqa: E402
from bot.emulator.driver import BotDriver  # noqa: E402
from bot.emulator.server import BotApiEmulator  # noqa: E402
from bot.services.outbox import OutboxStore, RateSettings  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.models import OutboxMessage, Person  # noqa: E402

FLOOD_LIMIT = 30.0


@dataclass(frozen=True)
class Row:
    figure: str
    target: str
    measured: str
    ok: bool | None = None


# -- one outbox pass -------------------------------------------------------------------------------


def _fill(db: Database, future: int, due: int, now: datetime) -> None:
    with db.transaction() as session:
        session.execute(
            sa.insert(Person),
            [{"role": "auditeur", "display_name": f"P{i}", "telegram_user_id": 900_000 + i} for i in range(1_000)],
        )
        ids = list(session.scalars(sa.select(Person.id).order_by(Person.id)))
    base = dict(
        channel="telegram", kind="bench", text="x", params={}, priority=2, on_uncertain="drop", options={},
        state="pending", attempts=0, created_at=now,
    )
    rows = [
        {**base, "recipient_id": ids[i % len(ids)], "recipient_key": f"p{ids[i % len(ids)]}",
         "next_attempt_at": now + timedelta(days=1 + i % 300)}
        for i in range(future)
    ]
    rows += [
        {**base, "recipient_id": ids[i], "recipient_key": f"p{ids[i]}", "next_attempt_at": now - timedelta(minutes=1)}
        for i in range(due)
    ]
    for start in range(0, len(rows), 10_000):
        with db.transaction() as session:
            session.execute(sa.insert(OutboxMessage), rows[start : start + 10_000])


def outbox_pass(url: str, label: str, repeat: int) -> Row:
    db = Database(url)
    db.upgrade()
    now = datetime.now(UTC)
    _fill(db, 100_000, 100, now)
    with db.engine.connect() as connection:  # fresh statistics for the planner
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    store = OutboxStore(db, instance="bench", rate=RateSettings(per_second=10_000, burst=10_000, per_chat_interval=timedelta(0)))
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        claimed, _ = store.claim(limit=100)
        timings.append((time.perf_counter() - start) * 1000)
        assert len(claimed) == 100, len(claimed)
        with db.transaction() as session:  # put them back for the next pass
            session.execute(sa.update(OutboxMessage).where(OutboxMessage.state == "sending").values(state="pending", claimed_by=None))
    db.dispose()
    median = statistics.median(timings)
    return Row(f"outbox pass, 100,000 future + 100 due ({label})", "< 50 ms", f"{median:.1f} ms", median < 50)


def _postgres_database(admin_url: str) -> tuple[str, callable]:
    admin_url = admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"coachbot_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return url, drop


# -- replies under Telegram's flood limits ---------------------------------------------------------


def _bind(driver: BotDriver, users: list[int]) -> None:
    services, emulator = driver.services, driver.emulator
    onboarding = services.onboarding
    invite = onboarding.invite_tutor(COMMAND_LINE, "Tuteur Bench")
    emulator.add_user(899_999, "Tuteur", "Bench")
    tutor = onboarding.redeem(899_999, onboarding.check_code(899_999, invite.code).invitation_id, notice_version="b").person
    for user in users:
        emulator.add_user(user, f"U{user}", "Bench")
        enrolment = onboarding.enrol_auditeur(
            COMMAND_LINE, name=f"Auditeur {user}", tutor=tutor.id, report_type="ua", semester="2026-S1", certification="C"
        )
        onboarding.redeem(user, onboarding.check_code(user, enrolment.code).invitation_id, notice_version="b")


async def _replies(driver: BotDriver, users: list[int], per_user: int, since: int, timeout: float) -> dict[int, list[float]]:
    """Wait until each user has ``per_user`` answers (or the timeout); their arrival times."""
    emulator = driver.emulator
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = {u: emulator.sent_since(since, u) for u in users}
        if all(len(messages) >= per_user for messages in got.values()):
            break
        await asyncio.sleep(0.05)
    return {u: [m.sent_at for m in emulator.sent_since(since, u)] for u in users}


async def flood(quick: bool) -> list[Row]:
    people, per_person, burst = (30, 6, 40) if quick else (100, 6, 40)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp, BotApiEmulator() as emulator:
        url = f"sqlite:///{tmp}/bench.db"
        Database(url).upgrade()
        settings = load_settings({"TELEGRAM_BOT_USERNAME": emulator.bot.username, "LOG_LEVEL": "WARNING"})
        settings = BotDriver.settings_for(emulator, settings).with_overrides(database_url=url)
        driver = BotDriver(emulator, settings, Database(url))
        await driver.start()
        try:
            users = [800_000 + n for n in range(max(people, burst))]
            await asyncio.to_thread(_bind, driver, users)
            await driver.drain(timeout=120)
            for user in users:  # each person's command list is published on their first message
                await driver.send(user, "/aide", timeout=60)
            await asyncio.sleep(1.5)  # the emulator's buckets refill

            # 100 people x 6 messages, all at once
            flood_users = users[:people]
            since = emulator.last_sequence()
            started = time.monotonic()
            for _ in range(per_person):
                for user in flood_users:
                    emulator.send_text(user, "/aide")
            arrivals = await _replies(driver, flood_users, per_person, since, timeout=120)
            times = sorted(t for ts in arrivals.values() for t in ts)
            lost = people * per_person - sum(min(len(ts), per_person) for ts in arrivals.values())
            elapsed = (times[-1] - started) if times else float("inf")
            rate = len(times) / elapsed
            rows.append(Row(f"{people} people x {per_person} messages: replies/s vs the 30/s limit", ">= 0.90",
                            f"{rate / FLOOD_LIMIT:.2f} ({rate:.1f}/s)", rate / FLOOD_LIMIT >= 0.9))
            rows.append(Row("  replies lost", "0", str(lost), lost == 0))

            await asyncio.sleep(3)  # buckets refill
            burst_users = users[:burst]
            since = emulator.last_sequence()
            sent_at = time.monotonic()
            for user in burst_users:
                emulator.send_text(user, "/aide")
            arrivals = await _replies(driver, burst_users, 1, since, timeout=60)
            waits = [min(ts) - sent_at for ts in arrivals.values() if ts]
            worst = max(waits) if len(waits) == burst else float("inf")
            rows.append(Row(f"{burst}-person burst: longest wait for the answer", "<= 3 s", f"{worst:.2f} s", worst <= 3))
        finally:
            await driver.stop()
    return rows


async def button_burst() -> list[Row]:
    """The e2e burst (tests/e2e/test_delivery_burst.py), timed: press to answerCallbackQuery."""
    from tests.e2e.test_delivery_burst import NOW, PER_TUTOR, _cast

    with tempfile.TemporaryDirectory() as tmp, BotApiEmulator() as emulator:
        url = f"sqlite:///{tmp}/bench.db"
        Database(url).upgrade()
        settings = load_settings({"TELEGRAM_BOT_USERNAME": emulator.bot.username, "LOG_LEVEL": "WARNING"})
        driver = BotDriver(emulator, BotDriver.settings_for(emulator, settings).with_overrides(database_url=url), Database(url))
        await driver.start()
        try:
            driver.services.clock = lambda: NOW
            _, auditeurs = await asyncio.to_thread(_cast, driver)
            await driver.drain(timeout=120)
            pages = {a: (await driver.send(a, "/rdv", timeout=60)).last for a in auditeurs}
            chosen, confirmations = {}, {}
            for index, auditeur in enumerate(auditeurs):  # each taps a slot: its confirmation
                slots = [b for b in pages[auditeur].buttons if b["callback_data"].startswith("rdv:book")]
                chosen[auditeur] = slots[min(index % PER_TUTOR, 3)]["callback_data"]
                confirmations[auditeur] = (await driver.press_data(auditeur, chosen[auditeur], timeout=60)).last
            await asyncio.sleep(2)
            emulator.pressed_at.clear()
            for auditeur in auditeurs:  # then all confirm (the booking itself) within 100 ms
                emulator.press_data(auditeur, chosen[auditeur].replace("rdv:book:", "rdv:ok:", 1), confirmations[auditeur])
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and None in emulator.callback_latencies().values():
                await asyncio.sleep(0.05)
            latencies = [v if v is not None else float("inf") for v in emulator.callback_latencies().values()]
            await driver.drain(timeout=120)
        finally:
            await driver.stop()
    worst = max(latencies)
    p95 = sorted(latencies)[int(0.95 * (len(latencies) - 1))]
    return [Row("50 people press within 100 ms: slowest button answer", "<= 1 s", f"{worst:.2f} s (p95 {p95:.2f} s)", worst <= 1)]


async def measures(quick: bool, database_url: str | None) -> list[Row]:
    repeat = 7 if quick else 21
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(outbox_pass(f"sqlite:///{tmp}/outbox.db", "SQLite", repeat))
    if database_url:
        url, drop = _postgres_database(database_url)
        try:
            rows.append(outbox_pass(url, "PostgreSQL", repeat))
        finally:
            drop()
    rows += await flood(quick)
    rows += await button_burst()
    return rows


def print_table(rows: list[Row]) -> None:
    widths = [max(len(r.figure) for r in rows), max(len(r.target) for r in rows), max(len(r.measured) for r in rows)]
    print(f"{'figure':<{widths[0]}}  {'target':<{widths[1]}}  {'measured':<{widths[2]}}")
    for row in rows:
        mark = "" if row.ok is None else ("  ok" if row.ok else "  MISSED")
        print(f"{row.figure:<{widths[0]}}  {row.target:<{widths[1]}}  {row.measured:<{widths[2]}}{mark}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer people and passes")
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"), help="PostgreSQL admin URL")
    args = parser.parse_args()
    rows = asyncio.run(measures(args.quick, args.database_url))
    print_table(rows)
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())

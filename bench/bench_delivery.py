"""Benchmark: what coachbot costs per update, against a bare python-telegram-bot echo bot.

Run from the project root:  python bench/bench_delivery.py [--quick] [--database-url URL]

Both bots run as separate processes (`coachbot run`, and `bench/echo_bot.py`), long polling the
same loopback emulator (flood limits off), in one run, interleaved: each measure alternates the
two bots, so whatever else the machine does weighs on both alike. coachbot answers `/aide` to
bound auditeurs (identify the person, read their enrolment, render a template, send); the echo bot
sends the text back. Printed as one table: figure, target, measured.

- CPU per update: process CPU time (user + system, from /proc) over bursts, coachbot / echo.
- p95 latency at 20 updates/s: from the update being queued to the reply reaching the emulator,
  in alternating 2-second phases (each bot alone at 20/s, both under the same machine load).
- Resident memory of coachbot: idle after start-up, then after 10,000 updates (no growth wanted).
- Then the outbox measures of ``bench/bench_outbox.py`` (flood limits on): one outbox pass with
  100,000 future rows, 100 people x 6 messages, a 40-person burst, 50 button presses at once.

Rows are produced by the functions in ``MEASURES`` (each gets the running ``Bench`` and returns
rows); add a measure by appending a function.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.domain.permissions import COMMAND_LINE  # noqa: E402
from bot.emulator.server import BotApiEmulator, FloodLimits  # noqa: E402
from bot.services.onboarding import Onboarding  # noqa: E402
from bot.storage.db import Database  # noqa: E402

ECHO_TOKEN = "987654321:ECHO-bot-token-for-the-delivery-benchmark"
COACH_USERS = [600_000 + n for n in range(50)]
ECHO_USERS = [700_000 + n for n in range(50)]
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Row:
    figure: str
    target: str
    measured: str
    ok: bool | None = None  # None: informative, no target


@dataclass
class Bot:
    """One bot process under measure, and how its replies come back."""

    name: str
    token: str
    process: subprocess.Popen
    users: list[int]
    text: str
    pending: dict[int, deque] = field(default_factory=lambda: defaultdict(deque))  # user -> send times
    latencies: list[float] = field(default_factory=list)
    replies: int = 0
    lost: int = 0  # updates that never got their reply (the bare echo bot does not retry)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


class Bench:
    def __init__(self, emulator: BotApiEmulator, coach: Bot, echo: Bot, *, quick: bool) -> None:
        self.emulator = emulator
        self.coach = coach
        self.echo = echo
        self.quick = quick
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._by_user = {u: coach for u in coach.users} | {u: echo for u in echo.users}
        emulator.message_listeners.append(self._on_message)

    def _on_message(self, message) -> None:  # emulator thread
        now = time.perf_counter()
        bot = self._by_user.get(message.chat_id)
        if bot is None:
            return
        with self._changed:
            sent = bot.pending[message.chat_id]
            if sent:
                bot.latencies.append(now - sent.popleft())
            bot.replies += 1
            self._changed.notify_all()

    def send(self, bot: Bot, user_id: int) -> None:
        with self._lock:
            bot.pending[user_id].append(time.perf_counter())
        self.emulator.send_text(user_id, bot.text, bot_token=bot.token)

    async def wait_replies(self, bot: Bot, count: int, timeout: float = 60.0) -> None:
        """Until `count` replies in all; after `timeout` without progress, the rest count as lost."""
        deadline, seen = time.monotonic() + timeout, bot.replies
        while bot.replies < count:
            if bot.replies != seen:
                deadline, seen = time.monotonic() + timeout, bot.replies
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.005)
        with self._lock:
            missing = max(0, count - bot.replies)
            bot.lost += missing
            bot.replies += missing  # keep the running count aligned with what was sent
            bot.pending.clear()  # unmatched send times must not be paired with later replies

    async def burst(self, bot: Bot, count: int) -> float:
        """Send `count` updates (spread over the bot's users), wait for every reply; CPU seconds used."""
        start_cpu, expected = bot.cpu_seconds(), bot.replies + count
        for n in range(count):
            self.send(bot, bot.users[n % len(bot.users)])
            if n % len(bot.users) == len(bot.users) - 1:
                await asyncio.sleep(0)  # let replies flow
        await self.wait_replies(bot, expected)
        await asyncio.sleep(0.2)  # the last reply's bookkeeping (marking done, logging) is CPU too
        return bot.cpu_seconds() - start_cpu


# -- measures ------------------------------------------------------------------------------------------


async def cpu_per_update(bench: Bench) -> list[Row]:
    rounds, count = (3, 150) if bench.quick else (6, 300)
    used = {bench.coach.name: 0.0, bench.echo.name: 0.0}
    for _ in range(rounds):  # interleaved: coach, echo, coach, echo...
        for bot in (bench.coach, bench.echo):
            used[bot.name] += await bench.burst(bot, count)
    per_coach = used[bench.coach.name] / (rounds * count) * 1000
    per_echo = used[bench.echo.name] / (rounds * count) * 1000
    ratio = per_coach / per_echo
    return [
        Row("CPU per update, coachbot /aide (ms)", "-", f"{per_coach:.2f}"),
        Row("CPU per update, echo bot (ms)", "-", f"{per_echo:.2f}"),
        Row("CPU per update ratio", "<= 1.3", f"{ratio:.2f}", ratio <= 1.3),
    ]


async def p95_latency_at_20_per_second(bench: Bench) -> list[Row]:
    """20 updates/s, flood limits off, in alternating phases of 2 s (coach, echo, coach...): each
    bot alone at 20/s, both under the same machine load; each phase drained before the next."""
    phases = 3 if bench.quick else 10
    for bot in (bench.coach, bench.echo):
        bot.latencies.clear()
    for _ in range(phases):
        for bot in (bench.coach, bench.echo):
            expected = bot.replies + 40
            start = time.perf_counter()
            for tick in range(40):
                delay = start + tick * 0.05 - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                bench.send(bot, bot.users[tick % len(bot.users)])
            await bench.wait_replies(bot, expected)

    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20)[-1] * 1000

    coach, echo = p95(bench.coach.latencies), p95(bench.echo.latencies)
    ratio = coach / echo
    return [
        Row("p95 latency at 20 updates/s, coachbot (ms)", "-", f"{coach:.1f}"),
        Row("p95 latency at 20 updates/s, echo bot (ms)", "-", f"{echo:.1f}"),
        Row("p95 latency ratio", "<= 1.3", f"{ratio:.2f}", ratio <= 1.3),
    ]


async def memory_after_10000_updates(bench: Bench) -> list[Row]:
    total = 2_000 if bench.quick else 10_000
    await asyncio.sleep(1.0)
    idle = bench.coach.rss_mb()
    done = 0
    while done < total:
        count = min(500, total - done)
        await bench.burst(bench.coach, count)
        done += count
    await asyncio.sleep(1.0)
    after = bench.coach.rss_mb()
    growth = after - idle
    return [
        Row("resident memory idle (MB)", "-", f"{idle:.1f}"),
        Row(f"resident memory after {total:,} more updates (MB)", "no growth (< +5 MB)", f"{after:.1f} ({growth:+.1f})", growth < 5),
    ]


async def lost_replies(bench: Bench) -> list[Row]:
    return [Row("updates without a reply (coachbot / echo)", "0 / -", f"{bench.coach.lost} / {bench.echo.lost}",
                bench.coach.lost == 0)]


MEASURES: list[Callable[[Bench], object]] = [
    cpu_per_update, p95_latency_at_20_per_second, memory_after_10000_updates, lost_replies,
]


# -- set-up -------------------------------------------------------------------------------------------------


def _seed(database_url: str) -> None:
    """A tutor and the auditeurs, bound as if they had redeemed their codes."""
    db = Database(database_url)
    db.upgrade()
    onboarding = Onboarding(db, invitation_ttl=timedelta(days=14))
    tutor_code = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois").code
    onboarding.redeem(599_999, onboarding.check_code(599_999, tutor_code).invitation_id, notice_version="bench")
    for n, user_id in enumerate(COACH_USERS):
        issued = onboarding.enrol_auditeur(
            COMMAND_LINE, name=f"Auditeur {n}", tutor="Marc Dubois", report_type="ua", semester="2026-S1",
            certification="Licence professionnelle",
        )
        onboarding.redeem(user_id, onboarding.check_code(user_id, issued.code).invitation_id, notice_version="bench")
    db.dispose()


def _start(command: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


async def _ready(bench: Bench) -> None:
    """Both bots answer (first contact also publishes each person's command list: warm-up)."""
    for bot in (bench.coach, bench.echo):
        await bench.burst(bot, len(bot.users))
        await bench.burst(bot, len(bot.users))


async def run(args) -> list[Row]:
    emulator = BotApiEmulator(flood_limits=FloodLimits(enabled=False))
    emulator.add_bot(ECHO_TOKEN, "echo_bench_bot")
    with tempfile.TemporaryDirectory(prefix="coachbot-bench-") as tmp, emulator:
        tmp_path = Path(tmp)
        database_url = args.database_url or f"sqlite:///{tmp_path / 'bench.db'}"
        for user_id in COACH_USERS + ECHO_USERS + [599_999]:
            emulator.add_user(user_id, "Bench", str(user_id))
        await asyncio.to_thread(_seed, database_url)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_", "DATABASE_URL"))}
        coach_env = {
            **base, "TELEGRAM_BOT_TOKEN": emulator.token, "TELEGRAM_API_BASE_URL": emulator.base_url,
            "TELEGRAM_API_FILE_URL": emulator.base_file_url, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING",
            "REMINDER_INTERVAL_SECONDS": "3600", "PYTHONPATH": str(ROOT),
        }
        echo_env = {**base, "ECHO_TOKEN": ECHO_TOKEN, "ECHO_API_BASE_URL": emulator.base_url}
        coach = Bot("coachbot", emulator.token, _start([sys.executable, "-m", "bot", "run"], coach_env, tmp_path, tmp_path / "coach.log"),
                    COACH_USERS, "/aide")
        echo = Bot("echo", ECHO_TOKEN, _start([sys.executable, str(ROOT / "bench" / "echo_bot.py")], echo_env, tmp_path, tmp_path / "echo.log"),
                   ECHO_USERS, "bonjour")
        bench = Bench(emulator, coach, echo, quick=args.quick)
        rows: list[Row] = []
        try:
            await _ready(bench)
            for measure in MEASURES:
                if not args.only or args.only in measure.__name__:
                    rows += await measure(bench)
        finally:
            for bot in (coach, echo):
                bot.process.terminate()
                try:
                    bot.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    bot.process.kill()
        return rows


def print_table(rows: list[Row]) -> None:
    widths = [max(len(r.figure) for r in rows), max(len(r.target) for r in rows), max(len(r.measured) for r in rows)]
    header = ("figure", "target", "measured")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)) + "  ok")
    for row in rows:
        mark = "" if row.ok is None else ("yes" if row.ok else "NO")
        print("  ".join(v.ljust(w) for v, w in zip((row.figure, row.target, row.measured), widths)) + f"  {mark}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (a smoke test, noisier figures)")
    parser.add_argument("--database-url", help="coachbot's database (default: a temporary SQLite file)")
    parser.add_argument(
        "--postgresql-admin-url", default=os.environ.get("TEST_DATABASE_URL"),
        help="a PostgreSQL server where the outbox measures create (and drop) their own database",
    )
    parser.add_argument("--only", metavar="NAME", help="run only the measures whose function name contains NAME"
                        " (e.g. p95, cpu, memory; the outbox measures are then skipped)")
    args = parser.parse_args()
    rows = asyncio.run(run(args))
    if args.only:
        print_table(rows)
        return 0 if all(r.ok is not False for r in rows) else 1
    import bench_outbox  # the outbox and the paced sender, in the same table

    rows += [Row(r.figure, r.target, r.measured, r.ok) for r in asyncio.run(bench_outbox.measures(args.quick, args.postgresql_admin_url))]
    print_table(rows)
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

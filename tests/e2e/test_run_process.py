"""`coachbot run` as deployed: a separate process, long polling against the emulator, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


async def test_run_polls_answers_and_stops_cleanly_on_sigterm(emulator, tmp_path):
    emulator.add_user(1001, "Claire", "Martin")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_", "DATABASE_URL"))}
    env.update(
        TELEGRAM_BOT_TOKEN=emulator.token,
        TELEGRAM_API_BASE_URL=emulator.base_url,
        TELEGRAM_API_FILE_URL=emulator.base_file_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}",
        STAFF_TELEGRAM_IDS="1001",
        LOG_LEVEL="DEBUG",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        emulator.send_text(1001, "/menu")
        deadline = time.monotonic() + 60
        while not emulator.chat(1001) and time.monotonic() < deadline and process.poll() is None:
            await asyncio.sleep(0.1)
        assert emulator.chat(1001), "the bot did not answer"
        assert "Claire Martin" in emulator.chat(1001)[0].plain_text
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "starting in long-polling mode" in output
    assert emulator.token not in output  # DEBUG logs included
    assert "Traceback" not in output
    assert (tmp_path / "run.db").exists()

"""A demo script replayed as a person would run it: `coachbot demo --script FILE` in a fresh process
with a bare environment (no Telegram token: the demo), its documents saved in ``WORKDIR/files``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def demo_transcript(script: Path, workdir: Path, *, timeout: float = 180) -> str:
    env = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG", "SYSTEMROOT"}}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--script", str(script), "--files", str(workdir / "files")],
        cwd=workdir, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=timeout,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout

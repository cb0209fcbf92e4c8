"""Whole-process cost of ``coachbot review FILE`` against a bare ``python -c`` pypdf extraction.

Run: python bench/bench_review_cli.py [--runs N] [FILE ...]   (default: four corpus drafts, 4-20 pages)
Both commands are started as fresh processes, interleaved, N times each; the script prints per file
the wall time (minimum and median: the minimum is the least disturbed by other load on the machine)
and the CPU time (user + system, of the process and its children), and the ratio CLI / bare.
Target: <= 1.5x. (``hyperfine -N 'coachbot review FILE --type ua' 'python -c …'`` measures the same.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILES = ("37-descriptive-rl.pdf", "39-ua-8-rl.pdf", "43-stage-15-rl.pdf", "45-stage-20-rl.pdf")
BARE = "import sys, pypdf; [p.extract_text() for p in pypdf.PdfReader(sys.argv[1]).pages]"


def _timed(command: list[str]) -> tuple[float, float]:
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{command} failed with {status}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args()
    files = args.files or [ROOT / "bench" / "corpus" / "drafts" / name for name in DEFAULT_FILES]
    python = sys.executable
    coachbot = str(Path(python).parent / "coachbot")
    print(f"{'file':<28}{'command':<18}{'wall min':>10}{'median':>10}{'cpu min':>10}")
    for path in files:
        commands = {
            "bare pypdf": [python, "-c", BARE, str(path)],
            "coachbot review": [coachbot, "review", str(path), "--type", "stage" if "stage" in path.name else "ua"],
            "review --json": [coachbot, "review", str(path), "--type", "ua", "--json"],
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for name, command in commands.items():  # warm the file cache and the lemma cache
            _timed(command)
        for _ in range(args.runs):
            for name, command in commands.items():
                results[name].append(_timed(command))
        bare_wall = min(w for w, _ in results["bare pypdf"])
        bare_cpu = min(c for _, c in results["bare pypdf"])
        for name, samples in results.items():
            walls = [w for w, _ in samples]
            cpu = min(c for _, c in samples)
            ratio = f"  {min(walls) / bare_wall:.2f}x wall, {cpu / bare_cpu:.2f}x cpu" if name != "bare pypdf" else ""
            print(f"{path.name:<28}{name:<18}{1000 * min(walls):>8.0f}ms{1000 * statistics.median(walls):>8.0f}ms"
                  f"{1000 * cpu:>8.0f}ms{ratio}")


if __name__ == "__main__":
    main()

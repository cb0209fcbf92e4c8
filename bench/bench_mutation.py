"""Mutation testing of the rules (``bot/domain``) against the unit tests, with mutmut.

Run from the project root, after ``pip install -e '.[test,mutation]'``:

    python bench/bench_mutation.py [--paths bot/domain/] [--children 1] [--minutes 45] [--work DIR]

mutmut 3 mutates a copy of the project: the tracked files are copied to ``--work`` (a temporary
folder by default, so the work tree is never touched), the ``[tool.mutmut]`` configuration is added
to the copy's pyproject.toml, and ``mutmut run`` runs there, niced (it is CPU-heavy: keep
``--children`` low on a shared machine). Each mutant runs only the unit tests that cover the
mutated function (mutmut's own selection). Past ``--minutes`` the run is stopped and what was
measured is reported: killed, survived, not checked, and the surviving mutants by name (see one
with ``mutmut show NAME`` from the work folder).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """
[tool.mutmut]
paths_to_mutate = [{paths}]
also_copy = ["templates", "prompts", "tests"]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-n", "0"]  # mutmut runs pytest in its own process: no xdist
pytest_add_cli_args_test_selection = ["tests/unit/"]
"""


def copy_project(work: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, files):
        source = ROOT / name.decode()
        target = work / name.decode()
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def results(work: Path, mutmut: str) -> dict[str, list[str]]:
    out = subprocess.run([mutmut, "results", "--all", "true"], cwd=work, capture_output=True, text=True).stdout
    by_status: dict[str, list[str]] = collections.defaultdict(list)
    for line in out.splitlines():
        match = re.match(r"\s*(\S+): (.+)$", line)
        if match:
            by_status[match.group(2).strip()].append(match.group(1))
    return by_status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", nargs="+", default=["bot/domain/"])
    parser.add_argument("--children", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=45)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    mutmut = shutil.which("mutmut") or str(Path(sys.executable).with_name("mutmut"))
    work = args.work or Path(tempfile.mkdtemp(prefix="coachbot-mutation-"))
    if not (work / "pyproject.toml").exists():
        copy_project(work)
        with open(work / "pyproject.toml", "a", encoding="utf-8") as config:
            config.write(CONFIG.format(paths=", ".join(f'"{p}"' for p in args.paths)))
    env = {**os.environ, "PYTHONPATH": str(work)}
    run = subprocess.Popen(
        ["nice", "-n", "19", mutmut, "run", "--max-children", str(args.children)],
        cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + args.minutes * 60
    while run.poll() is None and time.monotonic() < deadline:
        time.sleep(5)
    if run.poll() is None:
        os.killpg(run.pid, signal.SIGTERM)
        run.wait(30)
    by_status = results(work, mutmut)
    killed = len(by_status.get("killed", [])) + len(by_status.get("timeout", []))
    survived = by_status.get("survived", [])
    checked = killed + len(survived)
    print(f"work folder: {work}")
    for status, names in sorted(by_status.items()):
        print(f"{status}: {len(names)}")
    if checked:
        print(f"score: {killed}/{checked} killed ({100 * killed / checked:.1f}%) of the mutants checked")
    for name in survived:
        print(f"  survived: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

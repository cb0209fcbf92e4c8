"""Mutation testing of the rules (``bot/domain``) against the unit tests, with mutmut.

Run from the project root, after ``pip install -e '.[test,mutation]'``:

    python bench/bench_mutation.py [--paths bot/domain/] [--tests tests/unit/] [--children 1] [--minutes 45]
                                   [--work DIR] [--mutants NAME ...]

The services are checked against the tests that exercise them on SQLite too, one module at a time:

    python bench/bench_mutation.py --paths bot/services/booking.py --tests tests/unit/ tests/storage/ \
        --work /tmp/mutation-booking

mutmut 3 mutates a copy of the project: the tracked files are copied to ``--work`` (a temporary
folder by default, so the work tree is never touched), the ``[tool.mutmut]`` configuration is added
to the copy's pyproject.toml, and ``mutmut run`` runs there, niced (it is CPU-heavy: keep
``--children`` low on a shared machine). Each mutant runs only the unit tests that cover the
mutated function (mutmut's own selection, among ``--tests``). A ``--work`` folder can be given
again: the tracked and new files are copied into it afresh (new tests are picked up, mutmut's results
are kept), and ``--mutants`` re-checks only the mutants named (e.g. the survivors). Past ``--minutes`` the run is stopped and what was
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
source_paths = ["bot/"]  # the whole package is copied, so the tests import every module from the copy
only_mutate = [{paths}]
also_copy = ["templates", "prompts", "tests"]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-n", "0"]  # mutmut runs pytest in its own process: no xdist
pytest_add_cli_args_test_selection = [{tests}]
"""


def copy_project(work: Path) -> None:
    """Copy the tracked files and the new ones not ignored (a test being written counts)."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
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
    parser.add_argument("--tests", nargs="+", default=["tests/unit/"], help="the tests mutmut may select from")
    parser.add_argument("--work", type=Path)
    parser.add_argument("--mutants", nargs="+", default=[], help="re-check only these mutants (in a --work folder)")
    args = parser.parse_args()
    mutmut = shutil.which("mutmut") or str(Path(sys.executable).with_name("mutmut"))
    work = args.work or Path(tempfile.mkdtemp(prefix="coachbot-mutation-"))
    globs = [p.rstrip("/") + "/*" if not p.endswith(".py") else p for p in args.paths]
    config = CONFIG.format(paths=", ".join(f'"{p}"' for p in globs), tests=", ".join(f'"{t}"' for t in args.tests))
    previous = (work / ".bench-mutation.toml").read_text(encoding="utf-8") if (work / ".bench-mutation.toml").exists() else None
    if previous is not None and previous != config:
        print(f"{work} was made for other --paths or --tests: give another --work folder", file=sys.stderr)
        return 2
    copy_project(work)  # afresh each time: mutmut compares the sources with its mutants and keeps its results
    with open(work / "pyproject.toml", "a", encoding="utf-8") as pyproject:
        pyproject.write(config)
    (work / ".bench-mutation.toml").write_text(config, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(work)}
    env.pop("TEST_DATABASE_URL", None)  # SQLite only: PostgreSQL would double the time on one shared server
    run = subprocess.Popen(
        ["nice", "-n", "19", mutmut, "run", "--max-children", str(args.children), *args.mutants],
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
        unreached = len(by_status.get("no tests", []))
        # a mutant no selected test even runs is a change nobody would notice: counted as alive here
        print(f"strict score: {killed}/{checked + unreached} killed ({100 * killed / (checked + unreached):.1f}%), "
              f"the {unreached} mutants no test reaches counted as survivors")
    for name in survived:
        print(f"  survived: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

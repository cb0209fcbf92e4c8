"""Benchmark of the PDF review: speed, isolation start-up cost, and the bomb's cost.

Run: /work/venv/bin/python bench/bench_pdf_review.py [--runs N]
Prints
- the review time of a 15-page text PDF (median of N runs; target < 300 ms) and its ratio to a
  bare pypdf ``extract_text()`` of every page of the same file;
- the start-up cost of a child process with fork, spawn and forkserver (first call and warm median);
- the decompression bomb through the isolated runner: wall time (target < 2 s) and peak memory
  (ru_maxrss) of this process and of the child (target < 300 MB each).
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pypdf import PdfReader  # noqa: E402

from bot.domain import pdf_sandbox  # noqa: E402
from bot.domain.pdf_review import review_pdf  # noqa: E402
from bot.domain.report import default_catalogue  # noqa: E402


def _median_ms(func, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _bare_extract(data: bytes) -> None:
    for page in PdfReader(io.BytesIO(data)).pages:
        page.extract_text()


def review_with_peak_memory(data: bytes, report_type_id: str) -> tuple[dict, float]:
    """Child-side: the review plus the child's own peak RSS in MB."""
    review = pdf_sandbox._review_in_child(data, report_type_id)
    return review, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _noop() -> int:
    return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    # Imported here, not at module level: forkserver children re-run a path-based __main__ module
    # (see pdf_sandbox), and reportlab would then cost every child ~100 ms.
    from tests import pdf_factory

    catalogue = default_catalogue()

    text = pdf_factory.text_pdf(15)
    stage = pdf_factory.good_draft("stage")
    review_pdf(text, catalogue.report_type("stage"), catalogue)  # warm caches (headings, pypdf lazy imports)
    review_ms = _median_ms(lambda: review_pdf(text, catalogue.report_type("stage"), catalogue), runs)
    bare_ms = _median_ms(lambda: _bare_extract(text), runs)
    stage_ms = _median_ms(lambda: review_pdf(stage, catalogue.report_type("stage"), catalogue), runs)
    stage_bare_ms = _median_ms(lambda: _bare_extract(stage), runs)
    print(f"review of a 15-page text PDF: {review_ms:.0f} ms median over {runs} runs (target < 300 ms)")
    print(f"  bare pypdf extract_text() of the same pages: {bare_ms:.0f} ms -> ratio {review_ms / bare_ms:.2f}")
    print(
        f"review of the good {len(PdfReader(io.BytesIO(stage)).pages)}-page stage draft (outline + headings): "
        f"{stage_ms:.0f} ms; bare extract {stage_bare_ms:.0f} ms -> ratio {stage_ms / stage_bare_ms:.2f}"
    )

    print("child start-up (trivial task, round trip):")
    for method in ("fork", "spawn", "forkserver"):
        first = _median_ms(lambda: pdf_sandbox.run_isolated(_noop, (), start_method=method), 1)
        warm = _median_ms(lambda: pdf_sandbox.run_isolated(_noop, (), start_method=method), 5)
        print(f"  {method:10s} first {first:6.1f} ms, then median {warm:6.1f} ms")
    isolated_ms = _median_ms(lambda: pdf_sandbox.review_pdf_isolated_sync(stage, "stage"), 5)
    print(f"isolated review (forkserver) of the stage draft: {isolated_ms:.0f} ms median")

    bomb = pdf_factory.decompression_bomb(4)
    started = time.perf_counter()
    result = pdf_sandbox.review_pdf_isolated_sync(bomb, "ua")
    bomb_s = time.perf_counter() - started
    outcome = pdf_sandbox.run_isolated(review_with_peak_memory, (bomb, "ua"))
    child_mb = outcome.value[1] if outcome.status == "ok" else float("nan")
    parent_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"decompression bomb ({len(bomb) / 1024:.0f} KiB file, inflates to 4 GiB): problem={result.problem} "
        f"in {bomb_s:.2f} s (target < 2 s)"
    )
    print(f"  peak memory: parent {parent_mb:.0f} MB, child {child_mb:.0f} MB (target < 300 MB)")


if __name__ == "__main__":
    main()

"""How well the PDF review reads real drafts: measured on the committed corpus (bench/corpus/drafts).

Run: python bench/bench_review_corpus.py [--split dev|held_out|all|report] [--runs N] [-v]
The default (``report``) prints the held-out third and then the whole corpus; ``dev`` is the set the
lexicon is tuned on (never tune on the held-out third).
Prints, per set:
- precision and recall of "part missing", per part and overall (target >= 0.95 each), and the
  complete drafts that got any part reported missing (target: none);
- the page-limit verdicts (over / under / ok) and body-page counts against the ground truth (all right);
- the annex references that point to no annex;
- the review time per page against a bare pypdf ``extract_text()`` of the same files (target <= 1.5x).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pypdf import PdfReader  # noqa: E402

from bot.domain.pdf_review import review_pdf  # noqa: E402
from bot.domain.report import SECTION_IDS, default_catalogue  # noqa: E402
from bot.domain.structure import default_structure_lexicon  # noqa: E402

CORPUS = ROOT / "bench" / "corpus" / "drafts"


def load_truth() -> list[dict]:
    with (CORPUS / "truth.toml").open("rb") as handle:
        return tomllib.load(handle)["drafts"]


def _ratio(a: int, b: int) -> float:
    return a / b if b else 1.0  # no case: nothing wrong (printed as n/a)


def _shown(a: int, b: int) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def measure(entries: list[dict], label: str, verbose: bool, runs: int) -> bool:
    catalogue = default_catalogue()
    lexicon = default_structure_lexicon()
    tp = {p: 0 for p in SECTION_IDS}
    fp = {p: 0 for p in SECTION_IDS}
    fn = {p: 0 for p in SECTION_IDS}
    complete_flagged: list[str] = []
    verdict_wrong: list[str] = []
    pages_wrong: list[str] = []
    refs_wrong: list[str] = []
    review_seconds = bare_seconds = 0.0
    total_pages = 0
    for entry in entries:
        data = (CORPUS / entry["file"]).read_bytes()
        report_type = catalogue.report_type(entry["report_type"])
        review = review_pdf(data, report_type, catalogue, lexicon=lexicon)
        truth_missing = set(entry["missing"])
        said_missing = set(review.sections_missing)
        for part in SECTION_IDS:
            if part in said_missing and part in truth_missing:
                tp[part] += 1
            elif part in said_missing:
                fp[part] += 1
            elif part in truth_missing:
                fn[part] += 1
        if not truth_missing and said_missing:
            complete_flagged.append(f"{entry['file']}: {sorted(said_missing)}")
        verdict = "over" if review.over_limit else "under" if review.under_limit else "ok"
        if verdict != entry["verdict"]:
            verdict_wrong.append(f"{entry['file']}: {verdict} (truth {entry['verdict']})")
        if review.body_pages != entry["body_pages"]:
            pages_wrong.append(f"{entry['file']}: {review.body_pages} body pages (truth {entry['body_pages']})")
        if sorted(review.annex_references_missing) != sorted(entry["annex_references_missing"]):
            refs_wrong.append(
                f"{entry['file']}: {list(review.annex_references_missing)} (truth {entry['annex_references_missing']})"
            )
        if verbose and (said_missing != truth_missing or review.sections_weak):
            print(f"  {entry['file']}: said missing {sorted(said_missing)} weak {list(review.sections_weak)}"
                  f" truth {sorted(truth_missing)}")
        times_review, times_bare = [], []
        for _ in range(runs):
            started = time.perf_counter()
            review_pdf(data, report_type, catalogue, lexicon=lexicon)
            times_review.append(time.perf_counter() - started)
            started = time.perf_counter()
            for page in PdfReader(io.BytesIO(data)).pages:
                page.extract_text()
            times_bare.append(time.perf_counter() - started)
        review_seconds += statistics.median(times_review)
        bare_seconds += statistics.median(times_bare)
        total_pages += review.pages

    print(f"\n== {label}: {len(entries)} drafts, {total_pages} pages")
    print(f"{'part':<14}{'precision':>10}{'recall':>8}   (missing: said & true / said / true)")
    ok = True
    all_tp, all_fp, all_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    for part in SECTION_IDS:
        precision, recall = _ratio(tp[part], tp[part] + fp[part]), _ratio(tp[part], tp[part] + fn[part])
        ok &= precision >= 0.95 and recall >= 0.95
        shown = f"{_shown(tp[part], tp[part] + fp[part]):>10}{_shown(tp[part], tp[part] + fn[part]):>8}"
        print(f"{part:<14}{shown}   ({tp[part]} / {tp[part] + fp[part]} / {tp[part] + fn[part]})")
    precision, recall = _ratio(all_tp, all_tp + all_fp), _ratio(all_tp, all_tp + all_fn)
    ok &= precision >= 0.95 and recall >= 0.95
    print(f"{'overall':<14}{precision:>10.2f}{recall:>8.2f}   ({all_tp} / {all_tp + all_fp} / {all_tp + all_fn})")
    complete = sum(1 for e in entries if not e["missing"])
    print(f"complete drafts with a part reported missing: {len(complete_flagged)} of {complete}")
    for line in complete_flagged:
        print("  ", line)
    print(f"page-limit verdicts right: {len(entries) - len(verdict_wrong)} of {len(entries)}")
    for line in verdict_wrong:
        print("  ", line)
    print(f"body pages right: {len(entries) - len(pages_wrong)} of {len(entries)}")
    for line in pages_wrong:
        print("  ", line)
    print(f"annex references to missing annexes right: {len(entries) - len(refs_wrong)} of {len(entries)}")
    for line in refs_wrong:
        print("  ", line)
    ratio = review_seconds / bare_seconds if bare_seconds else 0.0
    print(f"review {1000 * review_seconds / total_pages:.1f} ms/page, bare pypdf extraction "
          f"{1000 * bare_seconds / total_pages:.1f} ms/page: {ratio:.2f}x (target <= 1.5x)")
    ok &= not complete_flagged and not verdict_wrong and not pages_wrong and ratio <= 1.5
    return ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", choices=("dev", "held_out", "all", "report"), default="report")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    entries = load_truth()
    default_structure_lexicon()  # the lemma table is built or loaded once, outside the timings
    ok = True
    if args.split in ("dev", "held_out"):
        ok = measure([e for e in entries if e["split"] == args.split], args.split, args.verbose, args.runs)
    if args.split in ("report", "held_out") and args.split == "report":
        ok &= measure([e for e in entries if e["split"] == "held_out"], "held-out third", args.verbose, args.runs)
    if args.split in ("report", "all"):
        ok &= measure(entries, "whole corpus", args.verbose, args.runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

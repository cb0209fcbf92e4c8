"""``coachbot review FILE --type ua|stage [--json]``: review a PDF draft from the command line.

For tutors and staff. The review runs in one forked child with the bot's timeout and memory cap
(``pdf_sandbox.run_forked``: no forkserver in a one-shot, single-threaded process), and
``bot.cli`` dispatches here before importing anything else, so the whole command costs about what a
bare pypdf extraction of the file does (``bench/bench_review_cli.py``). ``--json`` adds the outline
understood and the evidence per part. Exit codes: 0 review done (even with findings), 1 the file has
a problem, 2 usage.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.domain.ids import REPORT_TYPE_IDS
from bot.paths import TEMPLATES_DIR

if TYPE_CHECKING:  # imported when used: the PDF child is forked before anything heavy is imported
    from jinja2 import Environment

    from bot.domain.pdf_review import PdfReview
    from bot.domain.report import Catalogue

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2
_TAG = re.compile(r"</?(?:b|i|code|pre|a)(?:\s[^>]*)?>")


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("review", help="review a PDF draft of a report (pages, sections, annexes)")
    parser.add_argument("file", metavar="FILE", type=Path, help="the PDF to review")
    parser.add_argument("--type", dest="report_type", choices=REPORT_TYPE_IDS, required=True, help="report type")
    parser.add_argument("--json", action="store_true", help="print the review as JSON")
    parser.set_defaults(handler=run)
    return parser


def template_environment(templates_dir: Path = TEMPLATES_DIR) -> Environment:
    from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, select_autoescape  # not for --json

    from bot.domain.lexicon import lemma_cache_dir
    from bot.telegram.rendering import add_french_helpers

    cache = lemma_cache_dir() / "templates"  # compiled templates: a one-shot process skips compiling
    try:
        cache.mkdir(parents=True, exist_ok=True)
        bytecode_cache = FileSystemBytecodeCache(str(cache))
    except OSError:
        bytecode_cache = None
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        keep_trailing_newline=False,
        bytecode_cache=bytecode_cache,
    )
    add_french_helpers(env)
    return env


def load_step_wording(templates_dir: Path = TEMPLATES_DIR) -> dict[str, str]:
    import tomllib  # here, not at the top: the PDF child is forked before, and it never needs it

    with (templates_dir / "review" / "next_steps.toml").open("rb") as handle:
        return tomllib.load(handle)["steps"]


def problem_context(review: PdfReview) -> dict[str, Any]:
    """Variables of the ``review/problem_<code>.html`` templates."""
    from bot.domain.pdf_review import MAX_PDF_BYTES

    return {
        "detected_format": review.detected_format,
        "size_mb": round(review.size_bytes / 1_000_000, 1) if review.size_bytes else None,
        "limit_mb": MAX_PDF_BYTES // (1024 * 1024),
    }


def render_text(review: PdfReview, catalogue: Catalogue, env: Environment | None = None) -> str:
    env = env or template_environment()
    problem_text = ""
    if review.problem:
        telegram_html = env.get_template(f"review/problem_{review.problem}.html").render(**problem_context(review))
        import html  # not at the top, like tomllib (see load_step_wording)

        problem_text = html.unescape(_TAG.sub("", telegram_html)).strip()
    return env.get_template("review/report.txt").render(
        review=review,
        report_type=catalogue.report_type(review.report_type),
        catalogue=catalogue,
        steps=load_step_wording(),
        problem_text=problem_text,
    )


def run(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        print(f"coachbot review: {path}: no such file", file=sys.stderr)
        return EXIT_USAGE
    data = path.read_bytes()
    from bot.domain.pdf_sandbox import extract_pdf_forked

    prepared: dict[str, Any] = {}

    def prepare() -> None:  # the parent's share, while the child parses the PDF (two cores, not one)
        from bot.domain.pdf_review import review_extracted
        from bot.domain.report import default_catalogue
        from bot.domain.structure import default_structure_lexicon

        prepared.update(catalogue=default_catalogue(), lexicon=default_structure_lexicon(), review=review_extracted)
        if not args.json:
            env = template_environment()
            env.get_template("review/report.txt")
            prepared["env"] = env

    extracted = extract_pdf_forked(data, while_waiting=prepare)
    catalogue = prepared["catalogue"]
    review = prepared["review"](
        extracted, data, catalogue.report_type(args.report_type), catalogue, lexicon=prepared["lexicon"]
    )
    if args.json:
        import json  # not at the top, like tomllib (see load_step_wording)

        print(json.dumps(review.to_json(), ensure_ascii=False, indent=2))
    else:
        print(render_text(review, catalogue, prepared.get("env")))
    return EXIT_PROBLEM if review.problem else EXIT_OK


def main(argv: list[str]) -> int:
    """``coachbot review …`` without the rest of the CLI (no configuration, database or bot imports)."""
    parser = argparse.ArgumentParser(prog="coachbot")
    register(parser.add_subparsers(dest="command"))
    return run(parser.parse_args(["review", *argv]))

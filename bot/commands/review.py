"""``coachbot review FILE --type ua|stage [--json]``: review a PDF draft from the command line.

For tutors and staff. The review runs in the same sandbox as the bot's (child process, timeout,
memory cap). Exit codes: 0 review done (even with findings), 1 the file has a problem, 2 usage.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.domain.pdf_review import MAX_PDF_BYTES, PdfReview
from bot.domain.pdf_sandbox import review_pdf_isolated_sync
from bot.domain.report import REPORT_TYPE_IDS, Catalogue, default_catalogue
from bot.telegram.rendering import add_french_helpers
from bot.paths import TEMPLATES_DIR

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
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        keep_trailing_newline=False,
    )
    add_french_helpers(env)
    return env


def load_step_wording(templates_dir: Path = TEMPLATES_DIR) -> dict[str, str]:
    with (templates_dir / "review" / "next_steps.toml").open("rb") as handle:
        return tomllib.load(handle)["steps"]


def problem_context(review: PdfReview) -> dict[str, Any]:
    """Variables of the ``review/problem_<code>.html`` templates."""
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
    catalogue = default_catalogue()
    data = path.read_bytes()
    review = review_pdf_isolated_sync(data, args.report_type)
    if args.json:
        print(json.dumps(review.to_json(), ensure_ascii=False, indent=2))
    else:
        print(render_text(review, catalogue))
    return EXIT_PROBLEM if review.problem else EXIT_OK

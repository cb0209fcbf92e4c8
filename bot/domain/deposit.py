"""Rules of the deposit being put together: which draft may be the report, what to warn about, and
the annex list (add, rename, remove, reorder). Pure Python: the deposits service stores the result.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.domain.annexes import MAX_ANNEXES, clean_title
from bot.domain.pdf_review import PdfReview


class DepositRuleError(Exception):
    """``annex_unknown`` (no annex at that position), ``too_many_annexes``, ``title_missing``,
    ``report_unreadable`` (a version the review could not read cannot be the report)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Annex:
    file_id: str
    title: str
    pages: int

    def to_json(self) -> dict:
        return {"file_id": self.file_id, "title": self.title, "pages": self.pages}

    @classmethod
    def from_json(cls, data: dict) -> Annex:
        return cls(str(data.get("file_id", "")), str(data.get("title") or ""), int(data.get("pages") or 0))


def report_warnings(review: PdfReview) -> tuple[str, ...]:
    """What to tell before a version becomes the report: ``over_limit`` (more body pages than the
    report type allows), ``missing_parts`` (expected parts the review did not find)."""
    if not review.ok:
        raise DepositRuleError("report_unreadable")
    warnings = []
    if review.over_limit:
        warnings.append("over_limit")
    if review.sections_missing:
        warnings.append("missing_parts")
    return tuple(warnings)


def _index(annexes: tuple[Annex, ...], number: int) -> int:
    if not isinstance(number, int) or not 1 <= number <= len(annexes):
        raise DepositRuleError("annex_unknown")
    return number - 1


def add_annex(annexes: tuple[Annex, ...], annex: Annex) -> tuple[Annex, ...]:
    if len(annexes) >= MAX_ANNEXES:
        raise DepositRuleError("too_many_annexes")
    return (*annexes, annex)


def rename_annex(annexes: tuple[Annex, ...], number: int, title: str) -> tuple[Annex, ...]:
    index = _index(annexes, number)
    cleaned = clean_title(title)
    if not cleaned:
        raise DepositRuleError("title_missing")
    return (*annexes[:index], replace(annexes[index], title=cleaned), *annexes[index + 1:])


def remove_annex(annexes: tuple[Annex, ...], number: int) -> tuple[Annex, ...]:
    index = _index(annexes, number)
    return (*annexes[:index], *annexes[index + 1:])


def move_annex(annexes: tuple[Annex, ...], number: int, offset: int) -> tuple[Annex, ...]:
    """Annex ``number`` moved ``offset`` places (-1: up, +1: down), kept within the list."""
    index = _index(annexes, number)
    target = min(max(index + offset, 0), len(annexes) - 1)
    items = list(annexes)
    items.insert(target, items.pop(index))
    return tuple(items)

"""French text from templates: Jinja2 for messages (Telegram HTML, autoescaped), TOML for short labels."""

from __future__ import annotations

import html
import re
import tomllib
from datetime import datetime
from functools import cached_property, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_eval_context, select_autoescape
from markupsafe import Markup, escape

from bot.paths import TEMPLATES_DIR

TELEGRAM_TEXT_LIMIT = 4096
TELEGRAM_CAPTION_LIMIT = 1024

class Renderer:
    """Renders `templates/**` with the project's filters; `label()` reads `templates/labels.toml`."""

    def __init__(self, templates_dir: Path = TEMPLATES_DIR, *, timezone: ZoneInfo | None = None) -> None:
        self.templates_dir = templates_dir
        self.timezone = timezone or ZoneInfo("Europe/Paris")
        self.env = Environment(
            loader=FileSystemLoader(str(templates_dir)),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters["fr_date"] = self.fr_date
        self.env.filters["fr_datetime"] = self.fr_datetime
        self.env.filters["fr_time"] = self.fr_time
        self.env.filters["fr_number"] = fr_number
        add_french_helpers(self.env, self._labels["elision"])
        self.env.globals["label"] = self.label

    def render(self, template: str, /, **context) -> str:
        return self.env.get_template(template).render(**context).strip()

    @cached_property
    def _labels(self) -> dict:
        with (self.templates_dir / "labels.toml").open("rb") as handle:
            return tomllib.load(handle)

    def label(self, key: str, **params) -> str:
        """A short label (button, command description) by dotted key, e.g. `buttons.accept`."""
        node = self._labels
        for part in key.split("."):
            node = node[part]
        return node.format(**params) if params else node

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.timezone)

    def fr_date(self, value, *, weekday: bool = True) -> str:
        names = self._labels["calendar"]
        day = value.astimezone(self.timezone).date() if isinstance(value, datetime) else value
        number = names["first_of_month"] if day.day == 1 else str(day.day)
        text = f"{number} {names['months'][day.month - 1]} {day.year}"
        return f"{names['weekdays'][day.weekday()]} {text}" if weekday else text

    def fr_time(self, value: datetime) -> str:
        local = value.astimezone(self.timezone)
        return f"{local.hour}h{local.minute:02d}" if local.minute else f"{local.hour}h"

    def fr_datetime(self, value: datetime) -> str:
        return self.label("calendar.date_at_time", date=self.fr_date(value), time=self.fr_time(value))


def add_french_helpers(env: Environment, elision: dict | None = None) -> None:
    """The French grammar helpers every template environment gets (see `templates/labels.toml`):

    `{{ n|nb('partie') }}` "1 partie" / "2 parties"; `plural(n, 'terminée')`; `{{ name|de }}`
    "de Marc" / "d’Élise" (also `|que`, `|le`); `elides(word)`; `{{ text|capfirst }}`.
    """
    rules = elision or _default_elision()
    env.filters["nb"] = count_noun
    for name, full, short in (("de", "de", "d\u2019"), ("que", "que", "qu\u2019"), ("le", "le", "l\u2019")):
        env.filters[name] = _elision_filter(full, short, rules)
    env.filters["capfirst"] = capfirst
    env.globals["plural"] = plural
    env.globals["elides"] = lambda word: elides(word, rules)


@lru_cache(maxsize=1)
def _default_elision() -> dict:
    with (TEMPLATES_DIR / "labels.toml").open("rb") as handle:
        return tomllib.load(handle)["elision"]


def count_noun(count, singular: str, plural_form: str | None = None) -> str:
    """"1 partie", "2 parties", "0 partie" (French: below 2 is singular), "1 234 mots"."""
    number = int(count)
    return f"{fr_number(number)} {plural(number, singular, plural_form)}"


def elides(word, rules: dict | None = None) -> bool:
    """Whether le/de/que before `word` become l’/d’/qu’ (a vowel, or an h that is not aspirated)."""
    rules = rules or _default_elision()
    text = plain_text(str(word)).lstrip(" «\"'(“\u00a0")
    if not text:
        return False
    first = text[0].lower()
    if first in rules["vowels"]:
        return True
    if first == "h":
        head = text.lower().split()[0]
        return not any(head.startswith(aspirated) for aspirated in rules["h_aspire"])
    return False


def _elision_filter(full: str, short: str, rules: dict):
    @pass_eval_context
    def elide(eval_ctx, word):
        prefix = short if elides(word, rules) else full + " "
        if eval_ctx.autoescape:  # HTML templates: the word is escaped, the result is safe
            return Markup(prefix) + escape(word)
        return prefix + str(word)  # plain text (.txt, .md): as is

    return elide


def plural(count, singular: str, plural_form: str | None = None) -> str:
    """The French form of a noun (or adjective) for `count`: singular below 2, else plural.

    Without an explicit plural, adds "s" to each word of `singular` that does not end in s, x or z
    ("partie terminée" -> "parties terminées"); pass the plural for anything irregular.
    """
    if abs(int(count)) < 2:
        return singular
    if plural_form is not None:
        return plural_form
    return " ".join(w if w[-1:] in "sxz" or not w[-1:].isalpha() else w + "s" for w in singular.split(" "))


def capfirst(text):
    """Upper-case the first letter only (Jinja's `capitalize` lower-cases the rest); skips tags."""
    value = str(text)
    match = re.search(r"(?:<[^>]*>|[^\w<])*(\w)", value)
    if not match or not match.group(1).isalpha():
        return text
    index = match.start(1)
    result = value[:index] + value[index].upper() + value[index + 1 :]
    return Markup(result) if isinstance(text, Markup) else result


def fr_number(value: float, digits: int = 0) -> str:
    text = f"{value:,.{digits}f}".replace(",", "\u202f").replace(".", ",")
    return text


_ENTITY_OR_TAG = re.compile(r"&[#a-zA-Z0-9]+;|<[^>]*>")
_TAG = re.compile(r"<(/?)([a-zA-Z]+)[^>]*>")


def _safe_cut(text: str, limit: int) -> int:
    """The largest cut position <= limit that does not fall inside an entity or a tag."""
    cut = limit
    for match in _ENTITY_OR_TAG.finditer(text, 0, limit + 16):
        if match.start() < cut < match.end():
            cut = match.start()
    return max(cut, 1)


def _open_tags(text: str) -> list[str]:
    """The HTML tags left open at the end of `text` (full opening tags, outermost first)."""
    stack: list[tuple[str, str]] = []
    for match in _TAG.finditer(text):
        closing, name = match.group(1), match.group(2).lower()
        if closing:
            for index in range(len(stack) - 1, -1, -1):
                if stack[index][0] == name:
                    del stack[index:]
                    break
        else:
            stack.append((name, match.group(0)))
    return [tag for _, tag in stack]


def split_message(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Split Telegram HTML into chunks of at most `limit` characters.

    Prefers paragraph breaks, then line breaks, then spaces; never cuts an entity or a tag, and
    closes/reopens tags left open across a cut so every chunk is valid HTML on its own.
    """
    chunks: list[str] = []
    rest = text.strip()
    reopen = ""
    budget = limit - 64  # room for re-opened and closing tags
    while rest:
        candidate = reopen + rest
        if len(candidate) <= limit:
            chunks.append(candidate)
            break
        window = candidate[: budget + 1]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            position = window.rfind(separator, len(reopen) + 1)
            if position > len(reopen) + budget // 3:
                cut = position
                break
        if cut == -1:
            cut = _safe_cut(candidate, budget)
        else:
            cut = _safe_cut(candidate, cut)
        head = candidate[:cut].rstrip()
        still_open = _open_tags(head)
        closing = "".join(f"</{_TAG.match(tag).group(2)}>" for tag in reversed(still_open))
        chunks.append(head + closing)
        reopen = "".join(still_open)
        rest = candidate[cut:].lstrip()
    return chunks


def plain_text(html_text: str) -> str:
    """Telegram HTML to plain text (the demo and logs print this)."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))

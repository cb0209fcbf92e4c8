"""Every template, rendered with singular, plural and vowel-initial values, reads as correct French.

Templates get a *probe* for every variable: a value that is at once a number (0, 1 or 2), a name
(vowel- or consonant-initial), a list of that many probes, a date and a mapping of probes. Branches
comparing with literals are not all taken; the e2e suite checks the real outputs with the same
patterns (every text the bot sends in an e2e test: `tests/e2e/conftest.py`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from jinja2 import Undefined

from bot.paths import TEMPLATES_DIR
from bot.telegram.rendering import Renderer, plain_text
from tests.french import forbidden_french

_NUMERIC = re.compile(
    r"count|pages|words|limit|minutes|total|number|index|size|done|started|answered|questions|delta|"
    r"before|after|_mb|days|position|version|length|used|left|target|^n$|^minutes$"
)
MOMENT = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)


class Probe:
    """A stand-in value for any template variable (see module docstring)."""

    def __init__(self, number: int, name: str, key: str = ""):
        self._n, self._name, self._key = number, name, key

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return Probe(self._n, self._name, attr)

    def __getitem__(self, key):
        return Probe(self._n, self._name)

    def __call__(self, *args, **kwargs):
        return Probe(self._n, self._name)

    def __iter__(self):
        return iter([Probe(self._n, self._name) for _ in range(self._n)])

    def __len__(self):
        return self._n

    def __bool__(self):
        return bool(self._n)

    def __str__(self):
        return str(self._n) if _NUMERIC.search(self._key) else self._name


    def __int__(self):
        return self._n

    __index__ = __int__

    def __float__(self):
        return float(self._n)

    def __eq__(self, other):
        return isinstance(other, (int, float)) and not isinstance(other, bool) and self._n == other

    def __hash__(self):
        return hash(self._n)

    def _num(self, other):
        return other._n if isinstance(other, Probe) else other

    def __lt__(self, other):
        return self._n < self._num(other) if not isinstance(other, (datetime, date)) else False

    def __le__(self, other):
        return self._n <= self._num(other) if not isinstance(other, (datetime, date)) else False

    def __gt__(self, other):
        return self._n > self._num(other) if not isinstance(other, (datetime, date)) else True

    def __ge__(self, other):
        return self._n >= self._num(other) if not isinstance(other, (datetime, date)) else True

    def __add__(self, other):
        return self._n + self._num(other) if not isinstance(other, str) else self._name + other

    __radd__ = __add__

    def __sub__(self, other):
        return self._n - self._num(other)

    def __rsub__(self, other):
        return self._num(other) - self._n

    def __mul__(self, other):
        return self._n * self._num(other)

    __rmul__ = __mul__

    def __floordiv__(self, other):
        return self._n // self._num(other)

    def __truediv__(self, other):
        return self._n / self._num(other)

    def __mod__(self, other):
        return self._n % self._num(other)

    def __neg__(self):
        return -self._n

    def __format__(self, spec):
        return format(self._n, spec) if spec else self._name

    def total_seconds(self):
        return self._n * 3600.0

    def weekday(self):
        return self._n

    def split(self, sep=None):
        return ["2026", "1"] if sep == "-S" else self._name.split(sep)

    @property
    def items(self):
        """Iterable (an attribute named "items") and callable (dict.items()) at once."""
        return _Items(self._n, self._name)

    def get(self, key, default=None):
        return Probe(self._n, self._name)

    def startswith(self, prefix):
        return self._name.startswith(prefix)

    def format(self, *args, **kwargs):
        return self._name

    def replace(self, old, new):
        return self._name.replace(old, new)

    def upper(self):
        return self._name.upper()

    def lower(self):
        return self._name.lower()


class _Items(list):
    def __init__(self, number: int, name: str):
        super().__init__(Probe(number, name, "items") for _ in range(number))
        self._pairs = [(name, Probe(number, name, "value")) for _ in range(number)]

    def __call__(self):
        return self._pairs


VARIANTS = {
    "zero-vowel": (0, "Élise Auger"),
    "one-vowel": (1, "Yves Arnaud"),
    "one-consonant": (1, "Marc Dubois"),
    "two-vowel": (2, "Hélène Ibert"),
    "two-consonant": (2, "Nadia Roux"),
}


# Pieces of a sentence or of a button, legitimately in lower case.
FRAGMENTS = {
    "booking/day_off_label.html", "booking/setting_value.html", "booking/short_when.html",
    "booking/slot_button.html", "booking/window_label.html", "staff/semester_button.html",
}


# Variables a template uses to pick another template: a real value.
OVERRIDES = {"depot/annex_refused.html": {"problem": "not_pdf", "detected_format": "word"}}


def _templates() -> list[str]:
    names = []
    for path in sorted(TEMPLATES_DIR.rglob("*")):
        if path.suffix in {".html", ".txt", ".j2"} and not path.name.startswith("_") and path.parent.name != "plan" or path.name == "plan.md.j2":
            names.append(path.relative_to(TEMPLATES_DIR).as_posix())
    return names


def _probe_renderer(number: int, name: str) -> Renderer:
    renderer = Renderer()
    real = dict(renderer.env.filters)

    def as_moment(value):
        return MOMENT + timedelta(days=number) if isinstance(value, Probe) else value

    for filter_name in ("fr_date", "fr_datetime", "fr_time"):
        renderer.env.filters[filter_name] = (lambda f: lambda v, *a, **k: f(as_moment(v), *a, **k))(real[filter_name])
    real_label = renderer.label

    def label(key, **params):
        try:
            return real_label(str(key), **params)
        except (KeyError, TypeError):
            return name

    renderer.env.globals["label"] = label
    renderer.env.filters["md"] = lambda v: str(v)

    class ProbeUndefined(Undefined):
        def __str__(self):
            return name

    renderer.env.undefined = ProbeUndefined
    return renderer


class _Context(dict):
    def __init__(self, number, name):
        super().__init__()
        self._probe = (number, name)

    def __missing__(self, key):
        return Probe(*self._probe)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("template", _templates())
def test_every_template_reads_as_french(template, variant):
    number, name = VARIANTS[variant]
    renderer = _probe_renderer(number, name)
    source = renderer.env.get_template(template)
    names = _undeclared(renderer, template)
    context = {key: Probe(number, name, key) for key in names}
    context["now"] = MOMENT
    context.update(OVERRIDES.get(template, {}))
    text = source.render(**context).strip()
    plain = template.endswith(".txt") or template.endswith(".j2")
    problems = forbidden_french(
        text if plain else plain_text(text), fragment=template in FRAGMENTS, aligned=plain
    )
    assert not problems, f"{template} [{variant}]: {problems}\n---\n{text}"


def _undeclared(renderer: Renderer, template: str) -> set[str]:
    from jinja2 import meta

    seen, todo, names = set(), [template], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        source = renderer.env.loader.get_source(renderer.env, current)[0]
        ast = renderer.env.parse(source)
        names |= meta.find_undeclared_variables(ast)
        todo.extend(t for t in meta.find_referenced_templates(ast) if t)
    return names - set(renderer.env.globals)


def _meeting(day: int, status: str = "booked") -> dict:
    start = datetime(2026, 12, day, 9, 0, tzinfo=UTC)
    person = {"display_name": "Marc Dubois", "email": None}
    return {
        "id": day, "start_utc": start, "end_utc": start + timedelta(minutes=30), "minutes": 30,
        "purpose": "follow_up", "status": status, "video_link": "https://visio.example/x",
        "tutor": person, "auditeur": {"display_name": "Léa Bernard"}, "topic": None,
    }


@pytest.mark.parametrize("template", ["booking/my_meetings.html", "booking/tutor_meetings.html"])
def test_meeting_lists_put_one_meeting_per_line(template):
    renderer = Renderer()
    budget = {"used": timedelta(minutes=60), "remaining": timedelta(minutes=60), "allowed_minutes": [30]}
    meetings = [_meeting(2), _meeting(3), _meeting(4, "held")]
    text = renderer.render(template, meetings=meetings, budget=budget, now=datetime(2026, 12, 1, tzinfo=UTC),
                           history=[], marked=[])
    bullets = [line for line in text.splitlines() if line.startswith("•")]
    assert len(bullets) == text.count("•") >= 2

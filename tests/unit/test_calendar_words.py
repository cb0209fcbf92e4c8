"""The French calendar words (prompts/input/calendar_words.toml) as the parsers receive them.

``calendar_words()`` is cached once per process: these tests call the loader itself, on the
project's file and on a small one written the way staff would extend it.
"""

from __future__ import annotations

from bot.domain.french_words import fold, load_calendar_words
from bot.paths import PROMPTS_DIR


def test_fold_writes_text_the_way_the_word_lists_are_written():
    assert fold("Décembre") == "decembre"
    assert fold("FÉVRIER") == "fevrier"
    assert fold("jusqu'au") == "jusqu au"
    assert fold("jusqu’au 2 janvier") == "jusqu au 2 janvier"
    assert fold("9h\u2013 11h") == "9h- 11h"  # en dash
    assert fold("9h\u2212 11h") == "9h- 11h"  # minus sign
    assert fold("9h\u2010 11h") == "9h- 11h"  # hyphen
    assert fold("14\u00a0h") == "14 h"
    assert fold("14\u202fh") == "14 h"
    assert fold("août") == "aout"


def test_the_project_words_monday_first_and_january_first():
    words = load_calendar_words(PROMPTS_DIR / "input" / "calendar_words.toml")
    assert words.weekdays["lundi"] == 0
    assert words.weekdays["vend"] == 4
    assert words.weekdays["dimanche"] == 6
    assert words.weekdays["mardis"] == 1  # "les mardis"
    assert words.months["janvier"] == 1
    assert words.months["aout"] == 8
    assert words.months["dec"] == 12
    assert words.times == {"midi": "12h"}
    modifiers = dict(words.time_modifiers)
    assert modifiers["de l apres-midi"] == "afternoon" and modifiers["et demie"] == "+30" and modifiers["du matin"] == "morning"
    assert len(words.time_modifiers[0][0]) >= len(words.time_modifiers[-1][0])  # longest first
    assert "vers" in words.moment_fillers and words.next_words == frozenset({"prochain", "prochaine"})
    assert words.next_week == ("la semaine prochaine", "semaine prochaine")
    assert "jusqu" in words.window_fillers and "chaque" in words.window_fillers
    assert "inclus" in words.period_fillers and "entre" not in words.period_fillers
    assert words.range_words == frozenset({"-", "au", "a", "→", ">"})


def test_a_list_written_with_accents_and_capitals_is_folded(tmp_path):
    path = tmp_path / "calendar_words.toml"
    path.write_text(
        """
weekdays = [["Lundi", "lun"], ["Mardi"], ["Mercredi"], ["Jeudi"], ["Vendredi"], ["Samedi"], ["Dimanche"]]
months = [["Janvier"], ["Février", "févr"], ["Mars"], ["Avril"], ["Mai"], ["Juin"], ["Juillet"], ["Août"],
          ["Septembre"], ["Octobre"], ["Novembre"], ["Décembre"]]

[times]
Midi = "12h"
"Minuit" = "0h"

[relative_days]
"Aujourd’hui" = 0
"Après‑demain" = 2

[fillers]
windows = ["De", "À"]
periods = ["Jusqu’"]
period_ranges = ["Au", "–"]
ranges = ["–", "Au"]
""",
        encoding="utf-8",
    )
    words = load_calendar_words(path)
    assert words.weekdays == {
        "lundi": 0, "lundis": 0, "lun": 0, "luns": 0, "mardi": 1, "mardis": 1, "mercredi": 2, "mercredis": 2,
        "jeudi": 3, "jeudis": 3, "vendredi": 4, "vendredis": 4, "samedi": 5, "samedis": 5,
        "dimanche": 6, "dimanches": 6,
    }
    assert words.months["fevrier"] == 2 and words.months["fevr"] == 2
    assert words.months["aout"] == 8 and words.months["decembre"] == 12
    assert len(words.months) == 13
    assert words.times == {"midi": "12h", "minuit": "0h"}
    assert words.window_fillers == frozenset({"de", "a"})
    assert words.period_fillers == frozenset({"jusqu "})
    assert words.period_ranges == frozenset({"au", "-"})
    assert words.relative_days == {"aujourd hui": 0, "apres-demain": 2}  # apostrophes and dashes folded
    assert words.range_words == frozenset({"-", "au"})


def test_a_list_without_times_has_none(tmp_path):
    path = tmp_path / "calendar_words.toml"
    path.write_text(
        'weekdays = [["lundi"]]\nmonths = [["janvier"]]\n[fillers]\nwindows = []\nperiods = []\nperiod_ranges = []\nranges = []\n',
        encoding="utf-8",
    )
    words = load_calendar_words(path)
    assert words.times == {} and words.relative_days == {}
    assert words.weekdays == {"lundi": 0, "lundis": 0} and words.months == {"janvier": 1}


def test_a_word_is_quoted_back_as_it_was_typed():
    from bot.domain.french_words import as_typed

    assert as_typed("conges", "21 Congés") == "Congés"
    assert as_typed("bientot", "le 24 ou bientôt") == "bientôt"
    assert as_typed("utc", "17h30 UTC") == "UTC"
    assert as_typed("fin", "la ﬁn") == "fin"  # a ligature changes the length: the folded word
    assert as_typed("mot", "autre chose") == "mot"

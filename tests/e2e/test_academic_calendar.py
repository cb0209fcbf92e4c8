"""Staff set the academic calendar and load a certifier's grid on Telegram (/suivi): validation
with French explanations, refusals for anyone else, and the one calendar feeding the enrolment
announcements of /diffuser."""

from __future__ import annotations

from datetime import date, datetime

from bot.domain.calendar import PARIS
from tests.e2e.conftest import STAFF_ID, TUTOR_ID

FICHE = b'''title = "Fiche navette"
[[criteria]]
id = "analyse"
label = "Analyse de la pratique"
description = "Le rapport analyse une pratique professionnelle."
[[criteria]]
id = "forme"
label = "Qualit\xc3\xa9 de l'\xc3\xa9crit"
'''


def pin(bot, moment: datetime) -> None:
    bot.services.clock = lambda: moment


async def test_staff_set_the_academic_year_on_telegram_and_the_announcements_follow(bot, cast):
    pin(bot, datetime(2026, 11, 2, 10, tzinfo=PARIS))
    refused = await bot.press_data(TUTOR_ID, "acc:cal")
    assert "Seule l'équipe du Cnam peut fixer le calendrier universitaire" in refused.text
    assert "Seule l'équipe du Cnam" in (await bot.press_data(TUTOR_ID, "acc:caly:2026")).text

    await bot.send(STAFF_ID, "/suivi")
    shown = await bot.press(STAFF_ID, "🗓 Calendrier universitaire")
    assert "2026-2027</b> (dates par défaut)" in shown.with_buttons().text
    assert "2e semestre : du 1er février 2027 au 31 août 2027, inscriptions du 1er février 2027 au 31 mars 2027" in shown.text
    ask = await bot.press(STAFF_ID, "✏️ Modifier 2026-2027")
    assert "01/09/2026 31/01/2027 01/10/2026 31/10/2026" in ask.text  # the current dates, to copy

    seven = await bot.send(STAFF_ID, "01/09/2026 31/01/2027 01/10/2026 31/10/2026 01/02/2027 31/08/2027 15/02/2027")
    assert "il faut 8 dates (JJ/MM/AAAA), j'en ai lu 7" in seven.text and "Rien n'a été modifié" in seven.text
    reversed_ = await bot.send(STAFF_ID, "01/09/2026 31/01/2027 31/10/2026 01/10/2026 01/02/2027 31/08/2027 15/02/2027 19/03/2027")
    assert "la clôture des inscriptions du 1er semestre est avant leur ouverture" in reversed_.text
    outside = await bot.send(STAFF_ID, "01/09/2026 31/01/2027 01/10/2026 31/10/2026 01/02/2027 31/08/2027 15/01/2027 19/03/2027")
    assert "les inscriptions du 2e semestre doivent ouvrir pendant ce semestre" in outside.text
    wrong_day = await bot.send(STAFF_ID, "31/02/2027")
    assert "pas compris cette date" in wrong_day.text and "31/02/2027" in wrong_day.text
    assert not bot.services.accompaniment.academic_calendar().is_custom(2026)  # nothing stored so far

    saved = await bot.send(STAFF_ID, "1er semestre 01/09/2026 31/01/2027, inscriptions 01/10/2026 31/10/2026\n"
                                     "2e semestre 01/02/2027 15/07/2027, inscriptions 15/02/2027 19/03/2027")
    assert "Calendrier 2026-2027 enregistré" in saved.text
    assert "2e semestre : du 1er février 2027 au 15 juillet 2027, inscriptions du 15 février 2027 au 19 mars 2027" in saved.text
    year = bot.services.accompaniment.academic_calendar().year(2026)
    assert (year.s2.end, year.s2.enrolment_opens, year.s2.enrolment_closes) == (date(2027, 7, 15), date(2027, 2, 15), date(2027, 3, 19))
    # Léa (enrolled 2026-S1) now has until the end of the 2nd semester as staff set it
    lea = bot.services.accompaniment.status(cast.auditeur.person)
    assert lea.limit_date == date(2027, 7, 15)

    # the enrolment announcements read the same calendar: nothing to type again in /diffuser
    await bot.send(STAFF_ID, "/diffuser")
    menu = await bot.press(STAFF_ID, "Annonces des inscriptions")
    assert "2e semestre : du lundi 15 février 2027 au vendredi 19 mars 2027" in menu.text
    planned = await bot.press(STAFF_ID, "Programmer les deux annonces", message=menu.with_buttons())
    assert "lundi 15 février 2027 à 9h" in planned.text


async def test_staff_load_a_certifiers_grid_on_telegram(bot, cast):
    refused = await bot.press_data(TUTOR_ID, "acc:grids")
    assert "Seule l'équipe du Cnam peut charger la grille d'un certificateur" in refused.text

    await bot.send(STAFF_ID, "/suivi")
    choose = await bot.press(STAFF_ID, "📐 Grille d'un certificateur")
    [button] = choose.with_buttons().buttons
    certification = button["text"]  # the cast's only certification, no grid loaded yet (no ✓)
    ask = await bot.press(STAFF_ID, button["text"])
    assert f"Envoyez le fichier de la grille pour {certification}" in ask.text
    text = await bot.send(STAFF_ID, "analyse, forme")
    assert "envoyez la grille comme fichier (.toml), pas comme texte" in text.text
    broken = await bot.send_document(STAFF_ID, b'title = "Fiche\n[[criteria]]', "fiche.toml", "text/plain")
    assert "le fichier n'est pas un fichier TOML lisible" in broken.text
    twice = await bot.send_document(STAFF_ID, b'[[criteria]]\nid = "a"\nlabel = "A"\n[[criteria]]\nid = "a"\nlabel = "B"\n',
                                    "fiche.toml", "text/plain")
    assert "deux critères ont le même identifiant" in twice.text
    assert bot.services.accompaniment.grid_for(None, certification).title != "Fiche navette"

    loaded = await bot.send_document(STAFF_ID, FICHE, "fiche-navette.toml", "text/plain")
    assert f"Grille « Fiche navette » chargée pour {certification} : 2 critères" in loaded.text
    assert "2. Qualité de l'écrit" in loaded.text
    grid = bot.services.accompaniment.grid_for(None, certification)
    assert [c.id for c in grid.criteria] == ["analyse", "forme"]
    again = await bot.press(STAFF_ID, "📐 Grille d'un certificateur", message=next(
        m for m in reversed(bot.emulator.chat(STAFF_ID)) if m.buttons and any("Calendrier" in b["text"] for b in m.buttons)))
    assert again.with_buttons().buttons[0]["text"] == f"{certification} ✓"

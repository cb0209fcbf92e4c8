from datetime import UTC, datetime

import pytest

from bot.emulator.html_check import EntityParseError, parse_html
from bot.telegram.rendering import Renderer, plain_text, split_message


def test_split_keeps_short_text_whole():
    assert split_message("<b>Bonjour</b>") == ["<b>Bonjour</b>"]


def test_split_prefers_paragraphs_and_stays_valid_html():
    paragraph = "<b>Titre</b>\n" + ("Une phrase d'exemple avec &amp; des entités. " * 20)
    text = "\n\n".join([paragraph] * 12)
    chunks = split_message(text)
    assert len(chunks) > 1
    assert all(len(c) <= 4096 for c in chunks)
    for chunk in chunks:
        parse_html(chunk)  # each chunk is valid Telegram HTML on its own
    squash = lambda s: "".join(s.split())  # noqa: E731 - cuts only drop whitespace
    assert squash("".join(plain_text(c) for c in chunks)) == squash(plain_text(text))


def test_split_reopens_a_tag_cut_in_the_middle_and_never_cuts_an_entity():
    text = "<i>" + ("mot&amp;mot " * 1000) + "</i>"
    chunks = split_message(text)
    assert len(chunks) >= 3
    for chunk in chunks:
        assert chunk.startswith("<i>") and chunk.endswith("</i>")
        parse_html(chunk)


def test_split_a_single_unbroken_word():
    chunks = split_message("x" * 9000)
    assert [len(c) for c in chunks][:2] == [4032, 4032] and "".join(chunks) == "x" * 9000


@pytest.mark.parametrize("bad", ["a < b", "<script>x</script>", "<b>open", "</b>", "&nbsp;"])
def test_emulator_rejects_what_telegram_rejects(bad):
    with pytest.raises(EntityParseError):
        parse_html(bad)


def test_templates_escape_user_values():
    renderer = Renderer()
    text = renderer.render("common/menu.html", person={"display_name": "<b>x</b> & co", "role": "auditeur"})
    assert "&lt;b&gt;x&lt;/b&gt; &amp; co" in text


def test_french_dates_in_paris_time():
    renderer = Renderer()
    summer = datetime(2026, 7, 1, 12, 30, tzinfo=UTC)
    winter = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert renderer.fr_datetime(summer) == "mercredi 1er juillet 2026 à 14h30"
    assert renderer.fr_datetime(winter) == "mardi 1er décembre 2026 à 13h"

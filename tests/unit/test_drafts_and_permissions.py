"""File names and annex titles from what people send, and who may see whose data."""

from __future__ import annotations

import pytest

from bot.domain.drafts import annex_title, deposit_file_name, safe_file_name
from bot.domain.people import PersonView, Role
from bot.domain.permissions import PermissionDenied, may_see_auditeur, require_role, require_staff


def test_a_file_name_is_its_base_name_on_one_line():
    assert safe_file_name("C:\\Users\\léa\\Mon rapport.pdf") == "Mon rapport.pdf"
    assert safe_file_name("../../etc/passwd") == "passwd"
    assert safe_file_name("  Rapport\n  final\tv2.pdf ") == "Rapport final v2.pdf"
    assert safe_file_name(None) == "document.pdf"
    assert safe_file_name("   ", "annexe.pdf") == "annexe.pdf"
    assert safe_file_name("a" * 300 + ".pdf") == "a" * 255


def test_an_annex_title_is_its_caption_else_its_file_name():
    assert annex_title("  Grille   d'évaluation ", "scan_001.pdf") == "Grille d'évaluation"
    assert annex_title("   ", "Programme_de__la_formation.pdf") == "Programme de la formation"
    assert annex_title(None, "dossiers/Attestation employeur.PDF") == "Attestation employeur"
    assert annex_title(None, None) == ""
    assert len(annex_title("x" * 300, None)) == 120


def test_the_deposit_file_name_is_ascii_lower_case_with_dashes():
    assert deposit_file_name("Léa Bernard") == "rapport-depot-lea-bernard.pdf"
    assert deposit_file_name("  François-Xavier  d'Aubigné ") == "rapport-depot-francois-xavier-d-aubigne.pdf"
    assert deposit_file_name("CHLOÉ Dupré") == "rapport-depot-chloe-dupre.pdf"
    assert deposit_file_name("李雷") == "rapport-depot-auditeur.pdf"
    assert deposit_file_name("") == "rapport-depot-auditeur.pdf"
    long_name = deposit_file_name("Marie " * 20)
    assert long_name.startswith("rapport-depot-marie-marie") and len(long_name) <= len("rapport-depot-.pdf") + 60
    assert not long_name.endswith("-.pdf")
    # punctuation first: the 60 characters are counted after it is dropped
    assert deposit_file_name("« " + "Marie " * 20) == deposit_file_name("Marie " * 20)


STAFF = PersonView(1, Role.STAFF, "Sam", 11)
TUTOR = PersonView(2, Role.TUTOR, "Claire", 22)
AUDITEUR = PersonView(3, Role.AUDITEUR, "Léa", 33)


def test_roles_are_required_and_a_refusal_names_who_and_what():
    assert require_role(TUTOR, "mark a meeting", Role.TUTOR, Role.STAFF) is TUTOR
    assert require_staff(STAFF, "broadcast") is STAFF
    with pytest.raises(PermissionDenied) as caught:
        require_staff(TUTOR, "broadcast")
    assert (caught.value.action, caught.value.actor) == ("broadcast", TUTOR)
    assert str(caught.value) == "person 2 (tutor) may not broadcast"
    with pytest.raises(PermissionDenied) as caught:
        require_role(None, "see the drafts", Role.AUDITEUR)
    assert str(caught.value) == "an unknown user may not see the drafts" and caught.value.actor is None


def test_who_sees_an_auditeurs_data():
    assert may_see_auditeur(STAFF, 3, None)
    assert may_see_auditeur(AUDITEUR, 3, 2) and not may_see_auditeur(AUDITEUR, 4, 2)
    assert may_see_auditeur(TUTOR, 3, 2) and not may_see_auditeur(TUTOR, 3, 9)
    assert not may_see_auditeur(TUTOR, 3, None)
    assert not may_see_auditeur(PersonView(3, Role.TUTOR, "Homonyme", 44), 3, None)  # same id, not their tutor

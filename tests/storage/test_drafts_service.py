"""The draft service, on SQLite and on PostgreSQL (TEST_DATABASE_URL): what each file sent stores and
returns, version numbering and comparison, what goes to the tutor's outbox and when it is not sent
twice, and who may see which versions."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bot.domain.pdf_review import PdfReview, compare_reviews
from bot.domain.people import PersonView, Role
from bot.domain.permissions import COMMAND_LINE, PermissionDenied
from bot.services.drafts import DraftError, Drafts
from bot.storage.models import AuditEvent, DraftVersion, Enrolment, OutboxMessage, Person
from tests.clock import Clock

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def review(tag: str, *, pages: int = 7, words: int = 3000, found=("introduction", "choix"), problem=None,
           over=False) -> PdfReview:
    data = tag.encode()
    digest = hashlib.sha256(data).hexdigest()
    if problem:
        return PdfReview(report_type="ua", sha256=digest, size_bytes=len(data), page_limit=8, problem=problem)
    return PdfReview(
        report_type="ua", sha256=digest, size_bytes=len(data) * 1000, page_limit=8, pages=pages + 2,
        body_pages=pages, over_limit=over, words=words, sections_found=tuple(found),
        sections_missing=("conclusion",), headings_source="outline", next_steps=("proofread",),
    )


def _person(session, role: str, name: str, telegram_id: int | None, **extra) -> PersonView:
    row = Person(role=role, display_name=name, telegram_user_id=telegram_id, **extra)
    session.add(row)
    session.flush()
    return PersonView(id=row.id, role=Role(role), display_name=name, telegram_user_id=telegram_id)


def _enrol(session, auditeur: PersonView, tutor: PersonView, status: str = "active") -> int:
    row = Enrolment(auditeur_id=auditeur.id, tutor_id=tutor.id, report_type="ua", semester="2026-S1",
                    certification="Licence", status=status)
    session.add(row)
    session.flush()
    return row.id


def refusal(actor: PersonView | None, action: str) -> str:
    """What a refusal says in the log: who was refused what."""
    who = f"person {actor.id} ({actor.role})" if actor else "an unknown user"
    return f"{who} may not {action}"


@pytest.fixture
def people(db):
    """Marc tutors Sami and Léa, Hugo tutors Noé; Nina's tutor Paul is not on Telegram yet; Eve's
    tutor Rose blocked the bot; Zoé has no active enrolment."""
    with db.transaction() as session:
        p = {
            "marc": _person(session, "tutor", "Marc Dubois", 2001),
            "hugo": _person(session, "tutor", "Hugo Roux", 2002),
            "paul": _person(session, "tutor", "Paul Henry", None),
            "rose": _person(session, "tutor", "Rose Blanc", 2004, blocked_bot_at=NOW),
            "sami": _person(session, "auditeur", "Sami Nour", 3001),
            "lea": _person(session, "auditeur", "Léa Bernard", 3002),
            "noe": _person(session, "auditeur", "Noé Vidal", 3003),
            "nina": _person(session, "auditeur", "Nina Faure", 3004),
            "eve": _person(session, "auditeur", "Eve Garnier", 3005),
            "zoe": _person(session, "auditeur", "Zoé Petit", 3006),
        }
        p["enrolment"] = _enrol(session, p["lea"], p["marc"])
        _enrol(session, p["sami"], p["marc"])
        _enrol(session, p["noe"], p["hugo"])
        _enrol(session, p["nina"], p["paul"])
        _enrol(session, p["eve"], p["rose"])
        _enrol(session, p["zoe"], p["marc"], status="closed")
    p["staff"] = COMMAND_LINE
    return p


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def drafts(db, clock):
    return Drafts(db, clock=clock)


def events(db, action: str) -> list[tuple]:
    with db.read() as session:
        return [
            (e.actor_id, e.subject_id, e.details)
            for e in session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        ]


def outbox(db) -> list[dict]:
    with db.read() as session:
        return [
            {"recipient_id": m.recipient_id, "kind": m.kind, "template": m.template, "params": m.params,
             "document": m.document, "subject": (m.subject_type, m.subject_id)}
            for m in session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))
        ]


# --- recording ------------------------------------------------------------------------------------


def test_a_first_file_is_version_one_with_everything_it_was_sent_with(db, drafts, people, clock):
    lea = people["lea"]
    sent = review("a", pages=6, words=2500)
    recorded = drafts.record(lea, review=sent, file_name="rapport.pdf", telegram_file_id="FILE-1")
    assert recorded.same_as is None and recorded.previous is None and recorded.comparison is None
    version = recorded.version
    assert (version.auditeur_id, version.enrolment_id, version.version) == (lea.id, people["enrolment"], 1)
    assert (version.sha256, version.size_bytes, version.pages, version.words) == (sent.sha256, 1000, 8, 2500)
    assert (version.file_name, version.telegram_file_id, version.problem) == ("rapport.pdf", "FILE-1", None)
    assert version.ok and version.review == sent and version.received_at == NOW
    assert drafts.version(lea, version.id) == version  # as stored
    assert events(db, "draft.received") == [(lea.id, lea.id, {"version": 1, "problem": None, "pages": 8})]


def test_a_long_file_name_is_cut_to_fit(drafts, people):
    recorded = drafts.record(people["lea"], review=review("a"), file_name="r" * 300 + ".pdf", telegram_file_id="F")
    assert recorded.version.file_name == "r" * 255


def test_versions_are_numbered_after_the_latest_and_compared_with_the_latest_readable(db, drafts, people, clock):
    lea = people["lea"]
    first = drafts.record(lea, review=review("a", pages=10, words=4000, found=("introduction",), over=True),
                          file_name="v1.pdf", telegram_file_id="F1").version
    clock.now = NOW.replace(hour=10)
    broken = drafts.record(lea, review=review("b", problem="encrypted"), file_name="x.pdf", telegram_file_id="F2")
    assert broken.version.version == 2 and not broken.version.ok and broken.version.problem == "encrypted"
    assert broken.version.received_at == NOW.replace(hour=10)
    assert broken.previous == first and broken.comparison is None  # an unreadable file is never compared
    third = drafts.record(lea, review=review("c", pages=7, words=3100), file_name="v3.pdf", telegram_file_id="F3")
    assert third.version.version == 3 and third.previous == first
    assert third.comparison == compare_reviews(first.review, review("c", pages=7, words=3100))
    assert (third.comparison.pages_delta, third.comparison.words_delta) == (-3, -900)
    assert third.comparison.sections_gained == ("choix",) and third.comparison.was_over_limit
    fourth = drafts.record(lea, review=review("d", pages=8), file_name="v4.pdf", telegram_file_id="F4")
    assert fourth.previous == third.version and fourth.comparison.pages_before == 7
    assert [e[2]["version"] for e in events(db, "draft.received")] == [1, 2, 3, 4]
    assert events(db, "draft.received")[1][2] == {"version": 2, "problem": "encrypted", "pages": 0}


def test_a_readable_file_after_only_unreadable_ones_has_nothing_to_compare_with(drafts, people):
    nina = people["nina"]
    drafts.record(people["lea"], review=review("a"), file_name="lea.pdf", telegram_file_id="L1")  # not Nina's
    broken = drafts.record(nina, review=review("b", problem="not_pdf"), file_name="x.docx", telegram_file_id="F1")
    assert broken.version.version == 1 and broken.previous is None
    recorded = drafts.record(nina, review=review("c"), file_name="v2.pdf", telegram_file_id="F2")
    assert recorded.version.version == 2 and recorded.previous is None and recorded.comparison is None


def test_the_same_file_as_the_latest_is_not_recorded_again(db, drafts, people):
    lea = people["lea"]
    assert drafts.same_as_latest(lea, review("a").sha256) is None  # nothing sent yet
    v1 = drafts.record(lea, review=review("a"), file_name="v1.pdf", telegram_file_id="F1").version
    assert drafts.same_as_latest(lea, review("a").sha256) == v1
    assert drafts.same_as_latest(people["sami"], review("a").sha256) is None  # another auditeur's latest
    again = drafts.record(lea, review=review("a"), file_name="again.pdf", telegram_file_id="F9")
    assert again.version is None and again.same_as == v1 and again.previous is None and again.comparison is None
    v2 = drafts.record(lea, review=review("b"), file_name="v2.pdf", telegram_file_id="F2").version
    assert drafts.same_as_latest(lea, review("a").sha256) is None and drafts.same_as_latest(lea, v2.sha256) == v2
    back = drafts.record(lea, review=review("a"), file_name="v1-bis.pdf", telegram_file_id="F3")  # not the latest
    assert back.version.version == 3 and back.previous == v2
    assert [v.file_name for v in drafts.versions(lea, lea.id)] == ["v1.pdf", "v2.pdf", "v1-bis.pdf"]
    assert len(events(db, "draft.received")) == 3


def test_only_an_enrolled_auditeur_records_drafts(db, drafts, people):
    with pytest.raises(DraftError) as error:
        drafts.record(people["zoe"], review=review("a"), file_name="a.pdf", telegram_file_id="F")
    assert error.value.code == "no_enrolment" and error.value.args == ("no_enrolment",)
    for actor in (people["marc"], COMMAND_LINE):
        with pytest.raises(PermissionDenied) as denied:
            drafts.record(actor, review=review("a"), file_name="a.pdf", telegram_file_id="F")
        assert str(denied.value) == refusal(actor, "send a draft")
        with pytest.raises(PermissionDenied) as denied:
            drafts.same_as_latest(actor, review("a").sha256)
        assert str(denied.value) == refusal(actor, "send a draft")
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(DraftVersion)) == 0
    assert events(db, "draft.received") == []


# --- to the tutor ---------------------------------------------------------------------------------


def test_a_version_goes_to_the_tutor_once_summary_then_file(db, drafts, people):
    lea, marc = people["lea"], people["marc"]
    v1 = drafts.record(lea, review=review("a"), file_name="v1.pdf", telegram_file_id="F1").version
    v2 = drafts.record(lea, review=review("b"), file_name="v2.pdf", telegram_file_id="F2").version
    assert outbox(db) == []  # recording sends nothing
    assert drafts.send_to_tutor(lea, v1.id) is True
    assert outbox(db) == [
        {"recipient_id": marc.id, "kind": "draft.to_tutor", "template": "drafts/tutor_new_draft.html",
         "params": {"version_id": v1.id}, "document": None, "subject": ("draft", v1.id)},
        {"recipient_id": marc.id, "kind": "draft.to_tutor.file", "template": None, "params": {"version_id": v1.id},
         "document": {"filename": "v1.pdf", "file_id": "F1", "caption_template": "drafts/tutor_caption.html",
                      "caption_params": {}, "caption_text": None, "builder": None, "builder_params": {}},
         "subject": ("draft", v1.id)},
    ]
    assert drafts.send_to_tutor(lea, v1.id) is False  # already sent: not twice
    assert len(outbox(db)) == 2
    assert drafts.send_to_tutor(lea, v2.id) is True  # another version is sent
    assert [(m["kind"], m["params"]) for m in outbox(db)[2:]] == [
        ("draft.to_tutor", {"version_id": v2.id}), ("draft.to_tutor.file", {"version_id": v2.id})
    ]
    assert events(db, "draft.sent_to_tutor") == [(lea.id, lea.id, {"version_id": v1.id}),
                                                 (lea.id, lea.id, {"version_id": v2.id})]


def test_one_auditeurs_sending_does_not_count_for_another(db, drafts, people):
    lea, sami = people["lea"], people["sami"]
    mine = drafts.record(lea, review=review("a"), file_name="a.pdf", telegram_file_id="F1").version
    theirs = drafts.record(sami, review=review("b"), file_name="b.pdf", telegram_file_id="F2").version
    assert drafts.send_to_tutor(lea, mine.id)
    assert drafts.send_to_tutor(sami, theirs.id)
    assert [m["params"]["version_id"] for m in outbox(db)] == [mine.id, mine.id, theirs.id, theirs.id]


def test_a_tutor_not_reachable_yet_still_gets_the_draft_queued(db, drafts, people):
    """The outbox records a message to someone off Telegram as undelivered, visible to staff; the
    auditeur is not told the version was already sent when it never was."""
    for key, tutor in (("nina", "paul"), ("eve", "rose")):
        auditeur = people[key]
        version = drafts.record(auditeur, review=review(key), file_name="v1.pdf", telegram_file_id="F1").version
        assert drafts.send_to_tutor(auditeur, version.id) is True
        assert [(m["recipient_id"], m["kind"]) for m in outbox(db) if m["params"]["version_id"] == version.id] == [
            (people[tutor].id, "draft.to_tutor"), (people[tutor].id, "draft.to_tutor.file")
        ]
        assert drafts.send_to_tutor(auditeur, version.id) is False


def test_what_may_not_be_sent_to_the_tutor(db, drafts, people):
    lea, sami = people["lea"], people["sami"]
    mine = drafts.record(lea, review=review("a"), file_name="a.pdf", telegram_file_id="F1").version
    broken = drafts.record(lea, review=review("b", problem="encrypted"), file_name="b.pdf",
                           telegram_file_id="F2").version
    for actor, version_id in ((sami, mine.id), (lea, broken.id), (lea, 999999)):
        with pytest.raises(PermissionDenied) as denied:
            drafts.send_to_tutor(actor, version_id)
        assert str(denied.value) == refusal(actor, "send this draft")
    for actor in (people["marc"], COMMAND_LINE):
        with pytest.raises(PermissionDenied) as denied:
            drafts.send_to_tutor(actor, mine.id)
        assert str(denied.value) == refusal(actor, "send a draft to their tutor")
    with db.transaction() as session:
        session.execute(sa.update(Enrolment).where(Enrolment.auditeur_id == lea.id).values(status="closed"))
    with pytest.raises(DraftError) as error:
        drafts.send_to_tutor(lea, mine.id)
    assert error.value.code == "no_enrolment"
    assert outbox(db) == [] and events(db, "draft.sent_to_tutor") == []


def test_what_the_tutor_is_shown_of_a_version(drafts, people):
    lea, sami = people["lea"], people["sami"]
    assert drafts.forward_values(999999) is None  # erased meanwhile
    for tag in ("s1", "s2"):  # another auditeur's versions never count
        drafts.record(sami, review=review(tag, pages=3), file_name=f"{tag}.pdf", telegram_file_id=tag)
    v1 = drafts.record(lea, review=review("a", pages=9), file_name="v1.pdf", telegram_file_id="F1").version
    drafts.record(lea, review=review("b", problem="encrypted"), file_name="x.pdf", telegram_file_id="F2")
    v3 = drafts.record(lea, review=review("c", pages=7), file_name="v3.pdf", telegram_file_id="F3").version
    v4 = drafts.record(lea, review=review("d", pages=5), file_name="v4.pdf", telegram_file_id="F4").version
    first = drafts.forward_values(v1.id)
    assert first == {"version": v1, "auditeur": lea, "comparison": None}
    third = drafts.forward_values(v3.id)
    assert third["version"] == v3 and third["auditeur"] == lea
    assert third["comparison"] == compare_reviews(v1.review, v3.review)  # the readable one before, not after
    assert third["comparison"].pages_delta == -2
    assert drafts.forward_values(v4.id)["comparison"] == compare_reviews(v3.review, v4.review)  # the latest before


# --- reading --------------------------------------------------------------------------------------


def test_who_sees_whose_versions(drafts, people):
    lea, sami, noe, marc, hugo = (people[k] for k in ("lea", "sami", "noe", "marc", "hugo"))
    v1 = drafts.record(lea, review=review("a"), file_name="a.pdf", telegram_file_id="F1").version
    v2 = drafts.record(lea, review=review("b", problem="encrypted"), file_name="b.pdf", telegram_file_id="F2").version
    drafts.record(noe, review=review("c"), file_name="c.pdf", telegram_file_id="F3")
    for actor in (lea, marc, COMMAND_LINE):
        assert drafts.versions(actor, lea.id) == [v1, v2]
        assert drafts.version(actor, v2.id) == v2
        assert drafts.latest_readable(actor, lea.id) == v1  # the encrypted file after it is not readable
    assert drafts.versions(sami, sami.id) == [] and drafts.latest_readable(sami, sami.id) is None
    for actor, auditeur_id in ((hugo, lea.id), (sami, lea.id), (marc, noe.id), (lea, sami.id)):
        with pytest.raises(PermissionDenied) as denied:
            drafts.versions(actor, auditeur_id)
        assert str(denied.value) == refusal(actor, "see these drafts")
        with pytest.raises(PermissionDenied):
            drafts.latest_readable(actor, auditeur_id)
    for actor, version_id in ((hugo, v1.id), (sami, v1.id), (COMMAND_LINE, 999999)):
        with pytest.raises(PermissionDenied):
            drafts.version(actor, version_id)
    with pytest.raises(PermissionDenied) as denied:
        drafts.version(COMMAND_LINE, 999999)
    assert str(denied.value) == refusal(COMMAND_LINE, "see a draft that does not exist")
    for auditeur_id in (marc.id, 999999):  # a tutor's id, or nobody's
        with pytest.raises(PermissionDenied) as denied:
            drafts.versions(COMMAND_LINE, auditeur_id)
        assert str(denied.value) == refusal(COMMAND_LINE, "see the drafts of someone who is not an auditeur")
        with pytest.raises(PermissionDenied):
            drafts.latest_readable(COMMAND_LINE, auditeur_id)


def test_versions_are_listed_oldest_first_whatever_the_ids(db, drafts, people):
    lea = people["lea"]
    drafts.record(lea, review=review("a"), file_name="a.pdf", telegram_file_id="F1")
    drafts.record(lea, review=review("b"), file_name="b.pdf", telegram_file_id="F2")
    with db.transaction() as session:  # ids and version numbers in opposite orders (an import, a renumbering)
        rows = session.scalars(sa.select(DraftVersion).order_by(DraftVersion.id)).all()
        rows[0].version, rows[1].version = 30, 20
        session.flush()
    assert [v.file_name for v in drafts.versions(lea, lea.id)] == ["b.pdf", "a.pdf"]
    assert drafts.latest_readable(lea, lea.id).file_name == "a.pdf"
    assert drafts.record(lea, review=review("c"), file_name="c.pdf", telegram_file_id="F3").version.version == 31


def test_an_auditeur_without_active_enrolment_is_seen_by_staff_and_themself_only(drafts, people):
    zoe = people["zoe"]  # enrolled with Marc once, closed since
    assert drafts.versions(zoe, zoe.id) == [] and drafts.versions(COMMAND_LINE, zoe.id) == []
    with pytest.raises(PermissionDenied):
        drafts.versions(people["marc"], zoe.id)


def test_the_auditeurs_a_tutor_or_staff_follow_with_their_version_counts(drafts, people):
    lea, sami, noe = people["lea"], people["sami"], people["noe"]
    for tag in ("a", "b", "c"):
        drafts.record(lea, review=review(tag), file_name=f"{tag}.pdf", telegram_file_id=tag)
    drafts.record(noe, review=review("n"), file_name="n.pdf", telegram_file_id="N")
    followed = drafts.followed_auditeurs(people["marc"])
    assert [(e.auditeur.id, e.tutor.id, n) for e, n in followed] == [
        (lea.id, people["marc"].id, 3), (sami.id, people["marc"].id, 0)
    ]  # by name: Léa before Sami; Zoé's closed enrolment is not followed
    assert [(e.auditeur.display_name, n) for e, n in drafts.followed_auditeurs(people["hugo"])] == [("Noé Vidal", 1)]
    assert drafts.followed_auditeurs(people["paul"])[0][1] == 0
    assert [(e.auditeur.display_name, n) for e, n in drafts.followed_auditeurs(COMMAND_LINE)] == [
        ("Eve Garnier", 0), ("Léa Bernard", 3), ("Nina Faure", 0), ("Noé Vidal", 1), ("Sami Nour", 0)
    ]
    for actor in (lea, None):
        with pytest.raises(PermissionDenied) as denied:
            drafts.followed_auditeurs(actor)
        assert str(denied.value) == refusal(actor, "list auditeurs' drafts")

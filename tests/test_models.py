import pytest
from pydantic import ValidationError
from winloss.pipeline.models import (
    CompetitorMention,
    Evidence,
    FlatFinding,
    MessageStatus,
    MessageUse,
    Objection,
    Role,
    Utterance,
    content_id,
    file_id,
    mmss,
    rep_replies,
)


def _evidence(**kw):
    base = dict(call_id="c1", utterance_index=3, start=61.2, end=64.0, role=Role.customer, quote="We use Quotient.")
    return Evidence(**{**base, **kw})


def test_call_ids_are_content_hashes(tmp_path):
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    a.write_bytes(b"same bytes")
    b.write_bytes(b"same bytes")
    assert file_id(a) == file_id(b) == content_id(b"same bytes")
    b.write_bytes(b"other bytes")
    assert file_id(a) != file_id(b)


def test_utterance_rejects_end_before_start():
    with pytest.raises(ValidationError, match="ends"):
        Utterance(index=0, start=5, end=4, text="hi")


def test_evidence_needs_a_quote():
    with pytest.raises(ValidationError):
        _evidence(quote="")


def test_finding_ids_are_stable_and_distinct():
    one = CompetitorMention(evidence=_evidence(), confidence=1, engine="offline", competitor="Quotient",
                            alias="Quotient")
    again = CompetitorMention(evidence=_evidence(), confidence=0.5, engine="offline", competitor="Quotient",
                              alias="quotient")
    other = CompetitorMention(evidence=_evidence(utterance_index=4), confidence=1, engine="offline",
                              competitor="Quotient", alias="Quotient")
    assert one.finding_id == again.finding_id
    assert one.finding_id != other.finding_id


def test_flat_export_row():
    use = MessageUse(evidence=_evidence(role=Role.rep, quote="Setup takes a few months."), confidence=0.812345,
                     engine="offline", message_id="live_in_two_weeks", status=MessageStatus.contradicted)
    flat = FlatFinding.of(use)
    assert flat.model_dump(mode="json") == {
        "call_id": "c1", "kind": "message", "label": "live_in_two_weeks", "status": "contradicted",
        "utterance_index": 3, "start": 61.2, "end": 64.0, "role": "rep", "quote": "Setup takes a few months.",
        "engine": "offline", "confidence": 0.8123, "answered": None, "accepted": None, "context": None}
    objection = Objection(evidence=_evidence(), confidence=0.7, engine="offline", category="price", answered=True,
                          accepted=False)
    assert FlatFinding.of(objection).model_dump(include={"answered", "accepted", "context"}) == {
        "answered": True, "accepted": False, "context": None}
    assert mmss(61.2) == "01:01" and mmss(3599.6) == "60:00"


def test_the_reps_reply_to_a_customer_turn_is_the_reps_next_turn():
    def said(*turns):
        return [Utterance(index=i, role=role, start=i, end=i, text=text) for i, (role, text) in enumerate(turns)]

    rep, customer = Role.rep, Role.customer
    call = said((rep, "Hi."), (customer, "That is a lot."), (customer, "Really a lot."), (rep, "It is new."),
                (rep, "And it ships today."), (customer, "Deal."))
    # the rep's whole next turn, for what the customer said before it; "" where the rep never spoke again
    assert rep_replies(call) == {1: "It is new. And it ships today.", 2: "It is new. And it ships today.", 5: ""}
    # with no rep turn (roles unknown) nobody knows which turn replies
    assert rep_replies(said((Role.unknown, "Hello."), (Role.unknown, "Hi."))) == {}

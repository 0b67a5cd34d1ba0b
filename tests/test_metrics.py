"""Call metrics on a constructed transcript, against values computed by hand."""

from __future__ import annotations

from winloss.pipeline.insight.metrics import compute
from winloss.pipeline.models import Role, Transcript, Utterance

R, C, U = Role.rep, Role.customer, Role.unknown


def _t(rows, duration=120.0):
    return Transcript(call_id="c", engine="test", duration=duration, utterances=[
        Utterance(index=i, role=role, start=s, end=e, text=text) for i, (role, s, e, text) in enumerate(rows)])


TRANSCRIPT = _t([
    (R, 0, 10, "Hi there, thanks for joining. How is your quarter going?"),  # 10 words, 1 question
    (C, 12, 20, "Busy. We are hiring two analysts."),  # 6 words
    (R, 21, 30, "Great. What do you use today? And who decides?"),  # 9 words, 2 questions
    (R, 31, 50, "We help teams forecast with less work every single week."),  # 10 words; rep run 21..50
    (U, 50, 52, "[noise]"),  # unknown role: ignored everywhere
    (C, 55, 70, "Spreadsheets. Can you show me the dashboard? Is it expensive?"),  # 10 words, 2 questions
    (C, 70, 80, "We have a small budget."),  # 5 words; customer run 55..80
    (R, 83, 90, "Sure, let me share my screen."),  # 6 words
])


def test_metrics_match_hand_computed_values():
    m = compute(TRANSCRIPT)
    rep_time, customer_time = 10 + 9 + 19 + 7, 8 + 15 + 10  # 45 s and 33 s
    assert m.duration_s == 120.0
    assert m.talk_ratio == round(rep_time / (rep_time + customer_time), 4) == 0.5769
    assert m.longest_monologue_rep == 29.0  # 21 -> 50, two utterances with no customer between
    assert m.longest_monologue_customer == 25.0  # 55 -> 80 (the unknown utterance does not break or join runs)
    assert m.rep_questions_per_hour == 90.0  # 3 questions in 2 minutes
    assert m.customer_questions == 2
    assert m.interactivity == 2.0  # R>C, C>R, R>C, C>R: 4 switches over 2 minutes
    assert m.patience == 2.0  # customer then rep: 20->21 (1 s) and 80->83 (3 s)
    assert m.pace_rep == round(35 / (45 / 60), 1) == 46.7
    assert m.pace_customer == round(21 / (33 / 60), 1) == 38.2


def test_a_call_without_roles_or_speech_has_empty_metrics():
    m = compute(_t([(U, 0, 5, "hello there")], duration=5))
    assert (m.talk_ratio, m.patience, m.pace_rep, m.longest_monologue_rep, m.interactivity) == (None, None, None, 0, 0)

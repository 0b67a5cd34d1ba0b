"""Conversation metrics of one call, from its role-labelled utterances. Definitions (docs/METRICS.md repeats them):

- talk_ratio: the rep's share of speaking time, rep / (rep + customer); utterances of unknown role are left out.
- longest_monologue_{rep,customer}: the longest run of consecutive utterances by one role, no other role
  speaking in between, from the start of its first utterance to the end of its last (seconds).
- rep_questions_per_hour: sentences by the rep ending in "?", per hour of call; customer_questions: the
  customer's count.
- interactivity: changes of speaker role between consecutive utterances, per minute of call.
- patience: mean pause (seconds, at least 0) between the end of a customer utterance and the start of the rep
  utterance that follows it directly; None when the rep never follows the customer.
- pace_{rep,customer}: words per minute of that role's own speaking time.

The call's length is the transcript's duration, or the end of its last utterance when that is later.
"""

from __future__ import annotations

from itertools import pairwise

from pydantic import BaseModel
from winloss.pipeline.models import Role, Transcript, Utterance


class CallMetrics(BaseModel):
    duration_s: float
    talk_ratio: float | None
    longest_monologue_rep: float
    longest_monologue_customer: float
    rep_questions_per_hour: float
    customer_questions: int
    interactivity: float
    patience: float | None
    pace_rep: float | None
    pace_customer: float | None


def questions(text: str) -> int:
    """Sentences ending in "?": every "?" ends one. Counting them is linear, where the pattern `[^.!?]*\\?` that
    said the same rescanned an unpunctuated utterance from every position (54 s on 100k characters)."""
    return text.count("?")


def _speaking(utts: list[Utterance], role: Role) -> float:
    return sum(u.end - u.start for u in utts if u.role is role)


def _words(utts: list[Utterance], role: Role) -> int:
    return sum(len(u.text.split()) for u in utts if u.role is role)


def _longest_run(utts: list[Utterance], role: Role) -> float:
    best, start = 0.0, None
    for u in utts:
        if u.role is role:
            start = u.start if start is None else start
            best = max(best, u.end - start)
        else:
            start = None
    return round(best, 2)


def compute(transcript: Transcript) -> CallMetrics:
    utts = [u for u in transcript.utterances if u.role in (Role.rep, Role.customer)]
    duration = max([transcript.duration] + [u.end for u in transcript.utterances])
    rep_time, customer_time = _speaking(utts, Role.rep), _speaking(utts, Role.customer)
    switches = sum(a.role is not b.role for a, b in pairwise(utts))
    pauses = [max(0.0, b.start - a.end) for a, b in pairwise(utts)
              if a.role is Role.customer and b.role is Role.rep]
    rep_q = sum(questions(u.text) for u in utts if u.role is Role.rep)

    def pace(words: int, seconds: float) -> float | None:
        return round(words / (seconds / 60), 1) if seconds > 0 else None

    return CallMetrics(
        duration_s=round(duration, 2),
        talk_ratio=round(rep_time / (rep_time + customer_time), 4) if rep_time + customer_time else None,
        longest_monologue_rep=_longest_run(utts, Role.rep),
        longest_monologue_customer=_longest_run(utts, Role.customer),
        rep_questions_per_hour=round(rep_q / (duration / 3600), 1) if duration else 0.0,
        customer_questions=sum(questions(u.text) for u in utts if u.role is Role.customer),
        interactivity=round(switches / (duration / 60), 2) if duration else 0.0,
        patience=round(sum(pauses) / len(pauses), 2) if pauses else None,
        pace_rep=pace(_words(utts, Role.rep), rep_time),
        pace_customer=pace(_words(utts, Role.customer), customer_time))

"""Active learning: sentences for a reviewer's verdict. Half are those the objection tracker is least sure about
(they teach it most), half are drawn at random (a fixed hash order), because a tracker whose precision is estimated
only on its hardest cases sets its threshold too high: on the dev set, uncertainty sampling alone lost a third of
recall at 200 reviews, which the mix kept (docs/ACCURACY.md)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from winloss.pipeline.extract.trackers import OfflineExtractor
from winloss.pipeline.models import Transcript, Utterance


@dataclass(frozen=True)
class Suggestion:
    call_id: str
    utterance: Utterance
    text: str  # the whole customer turn: the unit a reviewer answers for and the learner trains on
    category: str  # the closest category: what the reviewer is asked to confirm
    margin: float  # how far past the tracker's decision (> 0: it files the sentence as an objection)


def candidates(extractor: OfflineExtractor, transcripts: Iterable[Transcript],
               seen: set[tuple[str, int, str]] = frozenset()) -> list[Suggestion]:
    """Every customer turn nobody labelled yet (`seen`: call id, utterance index, text), as its sentence nearest the
    tracker's decision."""
    pool: dict[tuple[str, int], Suggestion] = {}
    for tr in transcripts:
        for j in extractor.objection_margins(tr):
            u = j.sentence.utterance
            key = (tr.call_id, u.index)
            if (tr.call_id, u.index, u.text) in seen:
                continue
            if key not in pool or abs(j.margin) < abs(pool[key].margin):
                pool[key] = Suggestion(tr.call_id, u, u.text, j.category, j.margin)
    return list(pool.values())


def least_sure(pool: list[Suggestion]) -> list[Suggestion]:
    return sorted(pool, key=lambda s: (abs(s.margin), s.call_id, s.utterance.index))


def drawn(pool: list[Suggestion], salt: str = "") -> list[Suggestion]:
    """A random draw that is the same on every run: a hash order of the turns; `salt` gives another one."""
    return sorted(pool, key=lambda s: hashlib.sha256(f"{salt}{s.call_id}:{s.text}".encode()).digest())


def suggestions(extractor: OfflineExtractor, transcripts: Iterable[Transcript], limit: int,
                seen: set[tuple[str, int, str]] = frozenset(), salt: str = "") -> list[Suggestion]:
    """`limit` customer sentences, one per utterance, alternating the one nearest the decision (uncertainty
    sampling) and one drawn at random (`drawn`), skipping sentences already labelled (`seen`: call id, utterance
    index, text)."""
    pool = candidates(extractor, transcripts, seen)
    out: dict[tuple[str, int], Suggestion] = {}
    for a, b in zip(least_sure(pool), drawn(pool, salt), strict=True):
        for s in (a, b):
            if len(out) < limit:
                out.setdefault((s.call_id, s.utterance.index), s)
        if len(out) >= limit:
            break
    return list(out.values())

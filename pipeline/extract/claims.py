"""What a claim commits to beyond its topic: its figures (time frames, percentages) and its polarity.

"Most teams are live in two weeks" and "setup takes a few months" are close in meaning to MiniLM but promise
different things. The offline engine uses these to judge a rep's sentence against a message:
- a figure that disagrees with the message's (a factor of `ratio` or more apart, with none that agrees: "live in
  two weeks, and the kickoff takes a day" agrees) makes a sentence about the message a contradiction;
- a figure that agrees ("within a couple of weeks") backs a paraphrase that MiniLM only half recognises;
- a negation or hedge ("not", "still working on") against a message that states something affirmatively.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {"day": 1.0, "week": 7.0, "month": 30.4, "quarter": 91.3, "year": 365.0}
_SMALL = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
          "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
          "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
# Vague amounts, at the value a listener would take them for.
_VAGUE = {"a couple of": 2, "couple of": 2, "a couple": 2, "a few": 3, "few": 3, "several": 4, "a": 1, "an": 1,
          "half a": 0.5, "half an": 0.5, "a half": 0.5, "one and a half": 1.5, "a hundred": 100, "one hundred": 100}

_NUMBER = (r"(?P<num>\d+(?:\.\d+)?"
           r"|(?:" + "|".join(_TENS) + r")(?:[\s-](?:" + "|".join(k for k in _SMALL if _SMALL[k] < 10) + r"))?"
           r"|" + "|".join(sorted(_SMALL, key=len, reverse=True)) +
           r"|" + "|".join(sorted(_VAGUE, key=len, reverse=True)) + r")")
_QUANTITY = re.compile(
    r"(?<![A-Za-z0-9])" + _NUMBER +
    r"(?:\s*|[\s-]+(?:more|extra|full|whole|calendar|business)[\s-]+|[\s-]+)"
    r"(?P<unit>days?|weeks?|months?|quarters?|years?|percent|per\s?cent|%)(?![A-Za-z])",
    re.IGNORECASE)
_HALF_UNIT = re.compile(r"(?<![A-Za-z])half\s+(?:a|an)\s+(?P<unit>day|week|month|quarter|year)(?![A-Za-z])",
                        re.IGNORECASE)


@dataclass(frozen=True)
class Quantity:
    """A figure a sentence states: a duration in days, or a percentage."""

    dimension: str  # "duration" | "percent"
    value: float
    text: str


def _number(word: str) -> float | None:
    word = re.sub(r"[\s-]+", " ", word.lower().strip())
    if re.fullmatch(r"\d+(?:\.\d+)?", word):
        return float(word)
    if word in _VAGUE:
        return float(_VAGUE[word])
    if word in _SMALL:
        return float(_SMALL[word])
    parts = word.split(" ")
    if parts[0] in _TENS:
        return float(_TENS[parts[0]] + (_SMALL.get(parts[1], 0) if len(parts) > 1 else 0))
    return None


def quantities(text: str) -> list[Quantity]:
    """The durations and percentages `text` states ("two weeks", "a couple of years", "30%", "half a year")."""
    found: list[tuple[int, Quantity]] = []
    taken: list[range] = []
    for m in _HALF_UNIT.finditer(text):
        days = 0.5 * _UNITS[m.group("unit").lower()]
        found.append((m.start(), Quantity("duration", days, m.group())))
        taken.append(range(m.start(), m.end()))
    for m in _QUANTITY.finditer(text):
        if any(m.start() in span for span in taken):
            continue
        value = _number(m.group("num"))
        if value is None:
            continue
        unit = m.group("unit").lower().rstrip("s")
        if unit == "%" or unit.startswith("per"):
            found.append((m.start(), Quantity("percent", value, m.group())))
        else:
            found.append((m.start(), Quantity("duration", value * _UNITS[unit], m.group())))
    return [q for _, q in sorted(found, key=lambda pair: pair[0])]


def disagreement(claim: list[Quantity], said: list[Quantity], ratio: float = 2.0) -> Quantity | None:
    """The first figure in `said` that disagrees with `claim`'s figure of the same kind, unless `said` also states
    one that agrees (within a factor of `ratio`). None when they agree or share no kind of figure."""
    for dimension in dict.fromkeys(q.dimension for q in said):
        ours = [q.value for q in claim if q.dimension == dimension]
        theirs = [q for q in said if q.dimension == dimension]
        if not ours:
            continue
        agrees = any(max(a, b.value) / max(min(a, b.value), 1e-9) < ratio for a in ours for b in theirs)
        if not agrees:
            return theirs[0]
    return None


def agreement(claim: list[Quantity], said: list[Quantity], ratio: float = 2.0) -> bool:
    """Does `said` state a figure of a kind the claim has, and agree with the claim on every such kind?"""
    shared = {q.dimension for q in said} & {q.dimension for q in claim}
    return bool(shared) and disagreement(claim, said, ratio) is None


_NEGATION = re.compile(
    r"(?<![A-Za-z'])(?:not|no|never|nothing|none|nobody|neither|nor|cannot|without|still working on|"
    r"(?:can|won|don|doesn|isn|aren|wasn|weren|haven|hasn|didn|couldn|wouldn|shouldn)'?t)(?![A-Za-z'])",
    re.IGNORECASE)


def negated(text: str) -> bool:
    """Does the text deny or hedge something ("not", "no", "never", "isn't", "still working on")?"""
    return _NEGATION.search(text) is not None


@dataclass(frozen=True)
class Claim:
    """What a playbook message commits to: the figures its wordings state, and whether any wording negates."""

    figures: list[Quantity]
    negated: bool

    @classmethod
    def of(cls, wordings: list[str]) -> Claim:
        return cls([q for w in wordings for q in quantities(w)], any(negated(w) for w in wordings))

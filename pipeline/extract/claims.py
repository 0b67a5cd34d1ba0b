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
# Cardinal number words are read by text2num ("twenty-five", "one hundred and twenty"); the regex only finds them.
_WORDS = ("zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
          "seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand")
# Vague amounts, at the value a listener would take them for. No number parser reads these (text2num,
# number-parser and numerizer were tried: "a couple of weeks" stays words or becomes "1 couple of weeks").
_VAGUE = {"a couple of": 2, "couple of": 2, "a couple": 2, "a few": 3, "few": 3, "several": 4, "a": 1, "an": 1,
          "half a": 0.5, "half an": 0.5, "a half": 0.5, "a hundred": 100}
_CARDINAL = rf"(?:{_WORDS})(?:(?:[\s-]+and)?[\s-]+(?:{_WORDS})){{0,4}}+"  # bounded, possessive: never quadratic
_NUMBER = (r"(?P<num>\d+(?:\.\d+)?|" + _CARDINAL + "|" + "|".join(sorted(_VAGUE, key=len, reverse=True)) + ")"
           r"(?P<plus_half>\s+and\s+a\s+half)?")  # "two and a half weeks"
_QUANTITY = re.compile(
    r"(?<![A-Za-z0-9])" + _NUMBER +
    r"(?:\s*|[\s-]+(?:more|extra|full|whole|calendar|business)[\s-]+|[\s-]+)"
    r"(?P<unit>days?|weeks?|months?|quarters?|years?|percent|per\s?cent|%)(?![A-Za-z])"
    r"(?P<half_more>\s+and\s+a\s+half(?![A-Za-z]))?",  # "a week and a half"
    re.IGNORECASE)
_HALF_UNIT = re.compile(r"(?<![A-Za-z])half\s+(?:a|an)\s+(?P<unit>day|week|month|quarter|year)(?![A-Za-z])",
                        re.IGNORECASE)


@dataclass(frozen=True)
class Quantity:
    """A figure a sentence states: a duration in days, or a percentage."""

    dimension: str  # "duration" | "percent"
    value: float
    text: str


def _number(words: str) -> float | None:
    """The value of a number as said: digits, a vague amount ("a couple of") or cardinal words (text2num)."""
    words = re.sub(r"[\s-]+", " ", words.lower().strip())
    if re.fullmatch(r"\d+(?:\.\d+)?", words):
        return float(words)
    if words in _VAGUE:
        return float(_VAGUE[words])
    from text_to_num import text2num

    try:
        return float(text2num(words, "en"))
    except ValueError:  # words that are no one number ("two three")
        return None


def quantities(text: str) -> list[Quantity]:
    """The durations and percentages `text` states ("two weeks", "a couple of years", "30%", "half a year",
    "two and a half weeks", "a week and a half")."""
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
        value += 0.5 if m.group("plus_half") or m.group("half_more") else 0.0
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

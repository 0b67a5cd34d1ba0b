"""PII redaction: emails, phone numbers, card and account numbers and configured names become placeholders.

Applied to every text that leaves the machine for an LLM, and (when `privacy.redact_stored` is on) to transcripts
before they are stored and indexed. Placeholders are fixed strings such as `[EMAIL]`, so a redacted quote can be
found again in the original text (`Redactor.locate`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from winloss.pipeline.models import Transcript

# Starts only where a run of address characters starts, and a local part is at most 64 characters (RFC 5321): an
# unbounded `[\w.+-]+` tried from every position of a long run without an `@` made redaction quadratic.
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]+(?:\.[\w-]+)+\b")
# IBANs: two letters, two check digits, then 11-30 letters/digits, optionally in groups of four.
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
# Card numbers: 13-19 digits, optionally grouped by spaces or dashes; kept only when the Luhn check passes.
CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
# Account numbers: digits (6-17) right after words that say so.
ACCOUNT = re.compile(r"(?i)\b(?:account|acct|routing|member|policy|customer)(?:\s+(?:number|no\.?|#))?[\s:#]*"
                     r"(\d[\d -]{4,20}\d)")
# Phone numbers: international or North American shapes, 7+ digits in all.
# Never a piece of a longer digit run (an order or invoice number is not a phone number).
PHONE = re.compile(r"(?<![\w+])(?<!\d[ .-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?|\d{2,4}[\s.-])"
                   r"\d{3,4}[\s.-]?\d{3,4}\b(?![ .-]?\d)")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_PLACEHOLDER = re.compile(r"\[(EMAIL|PHONE|CARD|ACCOUNT|NAME)\]")


@dataclass
class Redactor:
    """Replaces PII in text; counts what it replaced so a run can say how much it hid."""

    names: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        names = sorted({n.strip() for n in self.names if n.strip()}, key=len, reverse=True)
        self._names = re.compile(r"\b(?:" + "|".join(map(re.escape, names)) + r")\b", re.IGNORECASE) if names else None

    def _sub(self, pattern: re.Pattern, label: str, text: str, keep=lambda m: True, group: int = 0) -> str:
        def repl(m: re.Match) -> str:
            if not keep(m):
                return m.group(0)
            self.counts[label] += 1
            if group:
                return m.group(0)[: m.start(group) - m.start(0)] + f"[{label}]" + m.group(0)[m.end(group) - m.start(0):]
            return f"[{label}]"

        return pattern.sub(repl, text)

    def text(self, text: str) -> str:
        text = self._sub(EMAIL, "EMAIL", text)
        text = self._sub(IBAN, "ACCOUNT", text)
        text = self._sub(CARD, "CARD", text, keep=lambda m: luhn_ok(re.sub(r"\D", "", m.group(0))))
        text = self._sub(ACCOUNT, "ACCOUNT", text, group=1)
        text = self._sub(PHONE, "PHONE", text,
                         keep=lambda m: 7 <= len(re.sub(r"\D", "", m.group(0))) <= 15)
        if self._names:
            text = self._sub(self._names, "NAME", text)
        return text

    def locate(self, redacted_quote: str, original: str) -> str | None:
        """The span of `original` that a quote taken from its redacted version stands for, or None."""
        shapes = {"EMAIL": EMAIL.pattern, "PHONE": PHONE.pattern, "CARD": CARD.pattern,
                  "ACCOUNT": r"[A-Za-z0-9](?:[A-Za-z0-9 -]*[A-Za-z0-9])?",
                  "NAME": self._names.pattern if self._names else r"(?!)"}
        pattern, pos = "", 0
        for m in _PLACEHOLDER.finditer(redacted_quote):
            pattern += re.escape(redacted_quote[pos:m.start()]) + f"(?:{shapes[m.group(1)]})"
            pos = m.end()
        pattern += re.escape(redacted_quote[pos:])
        found = re.search(pattern, original, re.IGNORECASE)
        return found.group(0) if found else None

    def transcript(self, transcript: Transcript) -> Transcript:
        # speaker labels too: an imported transcript's are often the people's names
        utterances = [u.model_copy(update={"text": self.text(u.text), "speaker": self.text(u.speaker)})
                      for u in transcript.utterances]
        return transcript.model_copy(update={"utterances": utterances})



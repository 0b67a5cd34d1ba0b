"""Who is speaking: roles from stereo channels, or from speaker labels in imported transcripts."""

from __future__ import annotations

import re
from collections.abc import Iterable

from winloss.pipeline.models import Role

REP_LABELS = {"rep", "sales", "seller", "agent", "ae", "sdr"}
CUSTOMER_LABELS = {"customer", "prospect", "buyer", "client", "cust"}


def channel_roles(stereo_roles: tuple[str, str]) -> tuple[Role, Role]:
    """Role of the left and right channel, from the configured channel map (default rep left)."""
    return Role(stereo_roles[0]), Role(stereo_roles[1])


def label_roles(speakers: Iterable[str], rep_name: str | None = None,
                explicit: dict[str, Role] | None = None) -> dict[str, Role]:
    """Map transcript speaker labels to roles.

    Explicit mappings win; then REP/CUSTOMER-style labels; then the manifest's rep name. When exactly one
    speaker is known to be the rep and there is one other, the other is the customer. Otherwise: unknown,
    never a guess.
    """
    explicit = {k.lower(): v for k, v in (explicit or {}).items()}
    speakers = list(dict.fromkeys(speakers))
    roles: dict[str, Role] = {}
    for spk in speakers:
        key = spk.lower().strip()
        if key in explicit:
            roles[spk] = explicit[key]
        elif key in REP_LABELS or key.split()[0] in REP_LABELS:
            roles[spk] = Role.rep
        elif key in CUSTOMER_LABELS or key.split()[0] in CUSTOMER_LABELS:
            roles[spk] = Role.customer
        elif rep_name and key.split()[0] == rep_name.lower().split()[0]:
            roles[spk] = Role.rep
        else:
            roles[spk] = Role.unknown
    unknown = [s for s, r in roles.items() if r is Role.unknown]
    if len(speakers) == 2 and len(unknown) == 1:
        known = next(r for r in roles.values() if r is not Role.unknown)
        roles[unknown[0]] = Role.customer if known is Role.rep else Role.rep
    return roles


def parse_roles_column(value: str) -> dict[str, Role]:
    """The manifest's `roles` column: `Roger=rep;Virgil=customer`."""
    mapping: dict[str, Role] = {}
    for part in filter(None, (p.strip() for p in value.split(";"))):
        name, _, role = part.partition("=")
        mapping[name.strip()] = Role(role.strip().lower())
    return mapping


def infer_rep(texts_by_speaker: dict[str, list[str]], company_terms: list[str], rep_name: str | None = None,
              min_margin: float = 0.6) -> tuple[str | None, float]:
    """Which diarized speaker is the rep, and how sure: (speaker, confidence) or (None, confidence).

    Evidence, per speaker: introducing themselves by the rep's name ("this is Maya"), naming our company or
    product, and asking questions (discovery). Confidence is the winner's share of the evidence beyond the
    runner-up; below min_margin the answer is None and the roles stay unknown rather than a guess.
    """
    intro = re.compile(rf"\b(this is|my name is|i am|i'm)\s+{re.escape(rep_name.split()[0])}\b", re.I) if rep_name \
        else None
    terms = [t.lower() for t in company_terms if t]
    scores: dict[str, float] = {}
    for speaker, texts in texts_by_speaker.items():
        score = 0.0
        for text in texts:
            lowered = text.lower()
            score += 4.0 * bool(intro and intro.search(text))
            score += 1.5 * sum(term in lowered for term in terms)
            score += 1.0 * text.count("?")
        scores[speaker] = score
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    if not ranked or ranked[0][1] == 0:
        return None, 0.0
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    confidence = round((ranked[0][1] - runner_up) / ranked[0][1], 3)
    return (ranked[0][0] if confidence >= min_margin else None), confidence

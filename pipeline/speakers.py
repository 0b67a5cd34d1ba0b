"""Who is speaking: roles from stereo channels, or from speaker labels in imported transcripts."""

from __future__ import annotations

from collections.abc import Iterable

from .models import Role

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

"""Imported plain-text transcripts: `Speaker: text` lines, optionally prefixed by `[mm:ss]` or `[hh:mm:ss]`."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import BadInputError
from ..models import Role, Transcript, Utterance
from ..speakers import label_roles

TRANSCRIPT_SUFFIXES = {".txt"}
WORDS_PER_SECOND = 2.5  # speaking pace used to place lines that carry no timestamp
_LINE = re.compile(r"^\s*(?:\[(?P<ts>\d{1,2}(?::\d{2}){1,2})\]\s*)?(?P<spk>[^:\[\]]{1,40}?)\s*:\s*(?P<text>\S.*)$")


def _seconds(ts: str) -> float:
    total = 0.0
    for part in ts.split(":"):
        total = total * 60 + int(part)
    return total


def read_text_transcript(path: Path, call_id: str, rep_name: str | None = None,
                         roles: dict[str, Role] | None = None) -> Transcript:
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadInputError(path, "not a UTF-8 text transcript") from None
    rows: list[tuple[float | None, str, str]] = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        m = _LINE.match(line)
        if not m:
            raise BadInputError(path, f"line {n} is not `Speaker: text` (optionally `[mm:ss] Speaker: text`): "
                                      f"{line[:60]!r}")
        ts = _seconds(m["ts"]) if m["ts"] else None
        rows.append((ts, m["spk"].strip(), m["text"].strip()))
    if not rows:
        raise BadInputError(path, "no `Speaker: text` lines found")
    speaker_roles = label_roles((spk for _, spk, _ in rows), rep_name, roles)
    utterances, cursor = [], 0.0
    for i, (ts, spk, text) in enumerate(rows):
        start = ts if ts is not None else cursor
        spoken = len(text.split()) / WORDS_PER_SECOND
        next_ts = next((r[0] for r in rows[i + 1:] if r[0] is not None), None)
        end = start + spoken if next_ts is None or next_ts <= start else min(start + spoken, next_ts)
        utterances.append(Utterance(index=i, role=speaker_roles[spk], speaker=spk, start=round(start, 2),
                                    end=round(end, 2), text=text))
        cursor = end + 0.3
    return Transcript(call_id=call_id, utterances=utterances, duration=round(utterances[-1].end, 2),
                      engine="imported-text", channels=0)

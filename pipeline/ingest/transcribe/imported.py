"""Imported transcripts: `Speaker: text` lines, WebVTT (Zoom/Teams `<v Speaker>`), SRT, Gecko/Rev JSON.

Each parser yields turns (start, end, speaker, text); one builder maps speakers to roles and fills in the
times a format leaves out.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from winloss.pipeline.errors import BadInputError
from winloss.pipeline.ingest.speakers import label_roles
from winloss.pipeline.models import Role, Transcript, Utterance

WORDS_PER_SECOND = 2.5  # speaking pace used to place lines that carry no timestamp
UNKNOWN_SPEAKER = "unknown"
MAX_SECONDS = 24 * 3600  # no call lasts a day: a later time is a typo or another clock, and would pass for a call


@dataclass
class Turn:
    start: float | None
    end: float | None
    speaker: str
    text: str


class BadValue(ValueError):
    """A time that is no time in a call, or a number where a word belongs; the parser names the file and line."""


_CLOCK = re.compile(r"\d+(?::\d{1,2}){0,2}(?:[.,]\d+)?")


def _seconds(value: float, shown: object) -> float:
    if not math.isfinite(value) or not 0 <= value <= MAX_SECONDS:
        raise BadValue(f"time {shown} is outside a call (0 to {MAX_SECONDS // 3600} hours)")
    return value


def _clock(value: str) -> float:
    """`[hh:]mm:ss[.,mmm]`, or seconds, as seconds."""
    if not _CLOCK.fullmatch(value):
        raise BadValue(f"`{value}` is not a time ([hh:]mm:ss[.mmm] or seconds)")
    first, *rest = value.replace(",", ".").split(":")
    total = float(first)
    for part in rest:
        if float(part) >= 60:
            raise BadValue(f"`{value}` is not a time: {part} is not below 60")
        total = total * 60 + float(part)
    return _seconds(total, f"`{value}`")


# -- `Speaker: text` lines ------------------------------------------------------------------------------------
_LINE = re.compile(r"^\s*(?:\[(?P<ts>\d+(?::\d{2}){0,2}(?:\.\d+)?)(?:-(?P<te>\d[\d:.]*))?\]\s*)?"
                   r"(?P<spk>[^:\[\]]{1,40}?)\s*:\s*(?P<text>\S.*)$")


def _speaker_lines(path: Path, raw: str) -> list[Turn]:
    turns = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        m = _LINE.match(line)
        if not m:
            raise BadInputError(path, f"line {n} is not `Speaker: text` (optionally `[mm:ss] Speaker: text`): "
                                      f"{line[:60]!r}")
        try:
            start, end = (_clock(m[g]) if m[g] else None for g in ("ts", "te"))
        except BadValue as exc:
            raise BadInputError(path, f"line {n}: {exc}") from None
        turns.append(Turn(start, end, m["spk"].strip(), m["text"].strip()))
    if not turns:
        raise BadInputError(path, "no `Speaker: text` lines found")
    return turns


# -- WebVTT and SRT -------------------------------------------------------------------------------------------
_CUE_TIME = re.compile(r"^\s*(?P<a>[\d:.,]+)\s*-->\s*(?P<b>[\d:.,]+)")
# No `<` inside a tag: `[^>]+` scanned from every `<` to the end of a cue without `>` (quadratic in its length).
_VOICE = re.compile(r"<v(?:\.[^ <>]*)?\s+(?P<spk>[^<>]+)>(?P<text>.*?)(?:</v>|$)", re.S)
_TAG = re.compile(r"<[^<>]+>")
_PREFIX = re.compile(r"^(?P<spk>[^:\n]{1,40}?):\s+(?P<text>\S.*)$", re.S)


def _blocks(raw: str) -> Iterator[tuple[int, list[str]]]:
    """The blank-line-separated blocks of a subtitle file: (line number of each non-blank line, its text)."""
    block: list[tuple[int, str]] = []
    for n, line in enumerate(raw.splitlines(), 1):
        if line.strip():
            block.append((n, line))
        elif block:
            yield block
            block = []
    if block:
        yield block


def _unescape(text: str) -> str:
    """WebVTT text escapes `&`, `<` and `>` (`&amp;`, `&lt;`, `&gt;`) and may hold `&nbsp;` and bidi marks."""
    return html.unescape(text).replace("\u200e", "").replace("\u200f", "")


def _cues(path: Path, raw: str) -> list[Turn]:
    """WebVTT or SRT cues as turns; entities are undone for WebVTT only (SRT defines none: `AT&T` is text)."""
    plain = _unescape if path.suffix.lower() == ".vtt" else str
    turns = []
    for block in _blocks(raw):
        at = next((i for i, (_, line) in enumerate(block) if _CUE_TIME.match(line)), None)
        if at is None:
            continue  # header (WEBVTT), NOTE or STYLE block, or a stray index
        n, timing = block[at]
        m = _CUE_TIME.match(timing)
        try:
            start, end = _clock(m["a"]), _clock(m["b"])
        except BadValue as exc:
            raise BadInputError(path, f"line {n}: {exc}") from None
        body = "\n".join(line for _, line in block[at + 1:]).strip()
        if not body:
            continue
        if v := _VOICE.search(body):
            speaker, text = v["spk"].strip(), v["text"]
        elif p := _PREFIX.match(_TAG.sub("", body)):
            speaker, text = p["spk"].strip(), p["text"]
        else:
            speaker, text = UNKNOWN_SPEAKER, body
        text = " ".join(plain(_TAG.sub("", text)).split())  # tags first: `&lt;b&gt;` is text, not a tag
        if text:
            turns.append(Turn(start, end, " ".join(plain(speaker).split()), text))
    if not turns:
        raise BadInputError(path, "no timed cues (`00:00:01.000 --> 00:00:04.000` followed by text) found")
    return turns


# -- Gecko / Rev JSON -----------------------------------------------------------------------------------------
def _monologues(path: Path, raw: str) -> list[Turn]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadInputError(path, f"not valid JSON: {exc}") from None
    monologues = data.get("monologues") if isinstance(data, dict) else None
    if not isinstance(monologues, list):
        raise BadInputError(path, "JSON transcript needs a `monologues` list (Gecko or Rev format)")
    turns = []
    for i, mono in enumerate(monologues):
        try:
            if "terms" in mono:  # Gecko: speaker {id, name}, terms [{start, end, text, type}]
                spk = mono.get("speaker") or {}
                speaker = str(spk.get("name") or spk.get("id") or UNKNOWN_SPEAKER)
                items = [(t.get("start"), t.get("end"), _word(t["text"], f"term {j} text"),
                          t.get("type") == "PUNCTUATION") for j, t in enumerate(mono["terms"])]
            else:  # Rev: speaker (int), speaker_name, elements [{type text|punct, value, ts, end_ts}]
                speaker = str(mono.get("speaker_name") or f"Speaker {mono.get('speaker', '?')}")
                items = [(e.get("ts"), e.get("end_ts"), _word(e["value"], f"element {j} value").strip(),
                          e.get("type") == "punct") for j, e in enumerate(mono["elements"])]
                items = [item for item in items if item[2]]
            times = [_seconds(t, t) for s, e, _, _ in items for t in (s, e)
                     if isinstance(t, int | float) and not isinstance(t, bool)]
        except BadValue as exc:
            raise BadInputError(path, f"monologue {i}: {exc}") from None
        except (KeyError, TypeError, AttributeError) as exc:
            raise BadInputError(path, f"monologue {i}: unexpected shape ({type(exc).__name__}: {exc})") from None
        text = ""
        for _, _, word, punct in items:
            text += word if punct or not text else " " + word
        if text.strip():
            turns.append(Turn(min(times) if times else None, max(times) if times else None, speaker, text.strip()))
    return turns


def _word(value: object, where: str) -> str:
    if not isinstance(value, str):  # a number where a word belongs: say so, not "can only concatenate str"
        raise BadValue(f"{where} is {json.dumps(value)}, not a string")
    return value


PARSERS: dict[str, Callable[[Path, str], list[Turn]]] = {
    ".txt": _speaker_lines, ".vtt": _cues, ".srt": _cues, ".json": _monologues,
}
TRANSCRIPT_SUFFIXES = set(PARSERS)


def read_transcript(path: Path, call_id: str, rep_name: str | None = None,
                    roles: dict[str, Role] | None = None) -> Transcript:
    parser = PARSERS.get(path.suffix.lower())
    if parser is None:
        raise BadInputError(path, f"not a transcript format winloss reads ({', '.join(sorted(PARSERS))})")
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise BadInputError(path, "not a UTF-8 text file") from None
    turns = parser(path, raw)
    if not turns:
        raise BadInputError(path, "no speech turns found")
    speaker_roles = label_roles((t.speaker for t in turns if t.speaker != UNKNOWN_SPEAKER), rep_name, roles)
    utterances, cursor = [], 0.0
    for i, turn in enumerate(turns):
        start = turn.start if turn.start is not None else cursor
        spoken = len(turn.text.split()) / WORDS_PER_SECOND
        if turn.end is not None and turn.end >= start:
            end = turn.end
        else:
            next_start = next((t.start for t in turns[i + 1:] if t.start is not None), None)
            end = start + spoken if next_start is None or next_start <= start else min(start + spoken, next_start)
        utterances.append(Utterance(index=i, role=speaker_roles.get(turn.speaker, Role.unknown), speaker=turn.speaker,
                                    start=round(start, 2), end=round(end, 2), text=turn.text))
        cursor = end + 0.3
    return Transcript(call_id=call_id, utterances=utterances, duration=round(max(u.end for u in utterances), 2),
                      engine=f"imported-{path.suffix.lower().lstrip('.')}", channels=0)

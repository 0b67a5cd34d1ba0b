"""One call as a self-contained HTML page: the recording in a player, the summary's moments (each seeks the player
to its time), the metrics, and the transcript with roles and findings highlighted."""

from __future__ import annotations

import shutil
from pathlib import Path

from winloss.pipeline.insight.metrics import CallMetrics
from winloss.pipeline.insight.summary import TITLES, CallSummary, Moment
from winloss.pipeline.models import FlatFinding, Transcript, Utterance, mmss
from winloss.pipeline.render.links import MediaLinks
from winloss.pipeline.render.templating import render_template
from winloss.pipeline.storage.rows import CallRow

AUDIO_SUFFIXES = (".mp3", ".opus", ".ogg", ".wav", ".m4a", ".flac", ".webm")


def recording_of(path: Path) -> Path | None:
    """The call's audio: the file itself, or for an imported transcript a recording with the same stem beside it."""
    if path.suffix.lower() in AUDIO_SUFFIXES:
        return path if path.exists() else None
    return next((p for s in AUDIO_SUFFIXES if (p := path.with_suffix(s)).exists()), None)


def bundle(audio: Path, page: Path) -> Path:
    """A copy of the recording in `media/` beside the page, so the page's folder plays it wherever it is moved or
    unzipped; an up-to-date copy is kept."""
    target = page.parent / "media" / audio.name
    if audio.resolve() == target.resolve() or audio.resolve().is_relative_to(page.parent.resolve()):
        return audio
    if not target.exists() or target.stat().st_size != audio.stat().st_size:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(audio, target)
    return target


def _moment(m: Moment) -> dict:
    title = TITLES.get(m.kind, m.kind)
    what = f"{title}: {m.label}" if m.label not in (title, m.kind, "question", "meeting") else title
    return {"kind": m.kind, "start": m.start, "utterance": m.utterance_index, "at": mmss(m.start), "what": what,
            "detail": m.detail, "quote": m.quote, "role": m.role.value}


def _metrics(m: CallMetrics) -> list[tuple[str, str]]:
    return [("length", f"{m.duration_s / 60:.1f} min"),
            ("rep talk ratio", "–" if m.talk_ratio is None else f"{m.talk_ratio * 100:.0f}%"),
            ("longest monologue (rep / customer)",
             f"{m.longest_monologue_rep:.0f} s / {m.longest_monologue_customer:.0f} s"),
            ("rep questions per hour", f"{m.rep_questions_per_hour:.0f}"),
            ("customer questions", str(m.customer_questions)),
            ("speaker switches per minute", f"{m.interactivity:.1f}"),
            ("patience (mean pause before the rep answers)", "–" if m.patience is None else f"{m.patience:.1f} s"),
            ("pace (rep / customer, words per minute)", f"{m.pace_rep or '–'} / {m.pace_customer or '–'}")]


def _pieces(text: str, quotes: list[str]) -> list[tuple[str, bool]]:
    """The utterance as (text, marked) pieces: each finding's quote marked at its first unmarked occurrence."""
    pieces = [(text, False)]
    for quote in quotes:
        for i, (piece, marked) in enumerate(pieces):
            if quote and not marked and quote in piece:
                before, after = piece.split(quote, 1)
                pieces[i:i + 1] = [p for p in ((before, False), (quote, True), (after, False)) if p[0]]
                break
    return pieces


def _utterance(u: Utterance, found: list[FlatFinding]) -> dict:
    return {"index": u.index, "start": u.start, "end": u.end, "role": u.role.value, "at": mmss(u.start),
            "pieces": _pieces(u.text, [f.quote for f in found]),
            "tags": [f"{f.kind.value}: {f.label}" + (f"/{f.status}" if f.status else "") for f in found]}


def render(call: CallRow, transcript: Transcript, findings: list[FlatFinding], summary: CallSummary,
           audio: Path | None, links: MediaLinks | None = None) -> str:
    """The page; `links` says how it reaches the recording from where it is written (None: only served links)."""
    by_utt: dict[int, list[FlatFinding]] = {}
    for f in findings:
        by_utt.setdefault(f.utterance_index, []).append(f)
    title = f"Call {call.call_id[:8]} · {call.date or 'undated'} · rep {call.rep or '–'}"
    extra = [(name, [_moment(m) for m in items]) for name, items in
             (("Needs", summary.needs), ("Risks", summary.risks), ("Next steps", summary.next_steps)) if items]
    return render_template(
        "callpage.html.j2", title=title, call=call, audio=(links or MediaLinks()).href(audio) if audio else None,
        source=Path(call.path).name, moments=[_moment(m) for m in summary.moments],
        missed=summary.missed_messages, engine=summary.engine, extra=extra,
        tip=_moment(summary.coaching_tip) if summary.coaching_tip else None, metrics=_metrics(summary.metrics),
        utterances=[_utterance(u, by_utt.get(u.index, [])) for u in transcript.utterances])

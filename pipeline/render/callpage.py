"""One call as a self-contained HTML page: the recording in a player, the summary's moments (each seeks the player
to its time), the metrics, and the transcript with roles and findings highlighted."""

from __future__ import annotations

import html
from pathlib import Path

from winloss.pipeline.insight.metrics import CallMetrics
from winloss.pipeline.insight.summary import TITLES, CallSummary, Moment
from winloss.pipeline.models import FlatFinding, Transcript, mmss

AUDIO_SUFFIXES = (".mp3", ".opus", ".ogg", ".wav", ".m4a", ".flac", ".webm")
CSS = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem;color:#222}
audio{width:100%;position:sticky;top:0;background:#fff;z-index:1}
a.seek{font-variant-numeric:tabular-nums;color:#245;cursor:pointer}
.u{margin:.2rem 0;padding:.15rem .4rem;border-left:3px solid transparent}.u.rep{border-color:#4a7fb5}
.u.customer{border-color:#d08a2c}.u .who{font-weight:600;display:inline-block;width:6rem}
mark{background:#fde9a8}.tag{font-size:.75rem;color:#555;margin-left:.4rem}
.u.playing{background:#eef4fb}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}
"""
# Seek links carry data-t (seconds); with no recording they scroll to the utterance instead. No external code.
SCRIPT = """
const audio = document.querySelector('audio');
document.querySelectorAll('a.seek').forEach(a => a.addEventListener('click', ev => {
  const u = document.getElementById('u' + a.dataset.u);
  if (u) u.scrollIntoView({block: 'center'});
  if (!audio) return;
  ev.preventDefault();
  audio.currentTime = parseFloat(a.dataset.t);
  audio.play().catch(() => {});
}));
if (audio) audio.addEventListener('timeupdate', () => {
  document.querySelectorAll('.u').forEach(u => u.classList.toggle('playing',
    audio.currentTime >= +u.dataset.start && audio.currentTime < +u.dataset.end));
});
"""


def recording_of(path: Path) -> Path | None:
    """The call's audio: the file itself, or for an imported transcript a recording with the same stem beside it."""
    if path.suffix.lower() in AUDIO_SUFFIXES:
        return path if path.exists() else None
    return next((p for s in AUDIO_SUFFIXES if (p := path.with_suffix(s)).exists()), None)


def _e(value: object) -> str:
    return html.escape(str(value))


def seek(start: float, utterance: int, label: str | None = None) -> str:
    return (f"<a class='seek' href='#u{utterance}' data-t='{start:.2f}' data-u='{utterance}'>"
            f"{_e(label or mmss(start))}</a>")


def _moment_line(m: Moment) -> str:
    title = TITLES.get(m.kind, m.kind)
    what = f"{title}: {m.label}" if m.label not in (title, m.kind, "question", "meeting") else title
    detail = f" — {_e(m.detail)}" if m.detail else ""
    return (f"<li data-kind='{_e(m.kind)}'>{seek(m.start, m.utterance_index)} <b>{_e(what)}</b>{detail} "
            f"<q>{_e(m.quote)}</q> <span class='tag'>{_e(m.role.value)}</span></li>")


def _metrics_table(m: CallMetrics) -> str:
    rows = [("length", f"{m.duration_s / 60:.1f} min"),
            ("rep talk ratio", "–" if m.talk_ratio is None else f"{m.talk_ratio * 100:.0f}%"),
            ("longest monologue (rep / customer)",
             f"{m.longest_monologue_rep:.0f} s / {m.longest_monologue_customer:.0f} s"),
            ("rep questions per hour", f"{m.rep_questions_per_hour:.0f}"),
            ("customer questions", str(m.customer_questions)),
            ("speaker switches per minute", f"{m.interactivity:.1f}"),
            ("patience (mean pause before the rep answers)", "–" if m.patience is None else f"{m.patience:.1f} s"),
            ("pace (rep / customer, words per minute)", f"{m.pace_rep or '–'} / {m.pace_customer or '–'}")]
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows) + "</table>"


def render(call: dict, transcript: Transcript, findings: list[FlatFinding], summary: CallSummary,
           audio: Path | None) -> str:
    by_utt: dict[int, list[FlatFinding]] = {}
    for f in findings:
        by_utt.setdefault(f.utterance_index, []).append(f)
    title = f"Call {call['call_id'][:8]} · {call.get('date') or 'undated'} · rep {call.get('rep') or '–'}"
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
             f"<style>{CSS}</style></head><body>", f"<h1>{_e(title)}</h1>",
             f"<p>{_e(call.get('account') or '')} · deal {_e(call.get('deal_id') or '–')} "
             f"({_e(call.get('outcome') or 'no outcome')}) · <code>{_e(call['path'])}</code></p>"]
    if audio is not None:
        parts.append(f"<audio controls preload='metadata' src='{_e(audio.resolve().as_uri())}'></audio>")
    parts += ["<h2>Key moments</h2><ol class='moments'>", *(_moment_line(m) for m in summary.moments), "</ol>"]
    if summary.missed_messages:
        parts.append(f"<p>Messages never delivered: {_e(', '.join(summary.missed_messages))}</p>")
    if summary.engine != "offline":
        parts.append(f"<h2>Summary ({_e(summary.engine)})</h2>")
        for name, items in (("Needs", summary.needs), ("Risks", summary.risks), ("Next steps", summary.next_steps)):
            if items:
                parts.append(f"<h3>{name}</h3><ul>" + "".join(
                    f"<li>{seek(m.start, m.utterance_index)} {_e(m.detail)} <q>{_e(m.quote)}</q></li>"
                    for m in items) + "</ul>")
        if tip := summary.coaching_tip:
            parts.append(f"<h3>Coaching tip</h3><p>{seek(tip.start, tip.utterance_index)} {_e(tip.detail)} "
                         f"<q>{_e(tip.quote)}</q></p>")
    parts += ["<h2>Metrics</h2>", _metrics_table(summary.metrics), "<h2>Transcript</h2>"]
    for u in transcript.utterances:
        text = _e(u.text)
        tags = ""
        for f in by_utt.get(u.index, []):
            if f.quote and _e(f.quote) in text:
                text = text.replace(_e(f.quote), f"<mark>{_e(f.quote)}</mark>", 1)
            status = f"/{_e(f.status)}" if f.status else ""
            tags += f"<span class='tag'>{_e(f.kind.value)}: {_e(f.label)}{status}</span>"
        parts.append(f"<div class='u {_e(u.role.value)}' id='u{u.index}' data-start='{u.start:.2f}' "
                     f"data-end='{u.end:.2f}'>{seek(u.start, u.index)} <span class='who'>{_e(u.role.value)}</span>"
                     f"{text}{tags}</div>")
    parts.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(parts)

"""Render Insights as Markdown, self-contained HTML or JSON. Every row carries its quotes."""

from __future__ import annotations

import html

from .insights import Insights, Row
from .settings import Playbook

FORMATS = ("md", "html", "json")
TITLES = {"objection": "Objections", "competitor": "Competitors (customer-said)", "message": "Marketing messages"}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _row_title(row: Row, playbook: Playbook | None) -> str:
    if row.kind == "message":
        text = next((m.text for m in playbook.messages if m.id == row.label), "") if playbook else ""
        what = "contradicted" if row.variant == "contradicted" else "delivered or paraphrased"
        return f"{row.label} — {what}" + (f" (“{text}”)" if text else "")
    return row.label


def _verdict(row: Row, insights: Insights) -> str:
    if not row.claim:
        return f"no claim: {row.closed} closed deal(s), fewer than the minimum of {insights.min_sample}"
    base = insights.coverage.baseline_win_rate
    return f"win rate {_pct(row.win_rate)} against {_pct(base)} across all closed deals in the period"


def render_markdown(insights: Insights, playbook: Playbook | None = None) -> str:
    cov = insights.coverage
    period = f"{cov.since or 'start'} to {cov.until or 'today'}"
    out = [f"# Win/loss report: {period}", "",
           f"Generated {insights.generated_at:%Y-%m-%d %H:%M} UTC · {cov.calls} calls analysed · {cov.deals} deals "
           f"({cov.won} won, {cov.lost} lost, {cov.open} open) · overall win rate {_pct(cov.baseline_win_rate)}",
           f"Engines: transcription {', '.join(cov.transcribers) or '–'}; extraction "
           f"{', '.join(cov.extractors) or '–'}. Rows with fewer than {insights.min_sample} closed deals show "
           f"counts but make no claim.", ""]
    if cov.failed:
        out += [f"**{len(cov.failed)} file(s) failed in the last run:**", ""]
        out += [f"- `{f['path']}`: {f['problem']}" for f in cov.failed] + [""]
    for kind, rows in (("objection", insights.objections), ("competitor", insights.competitors),
                       ("message", insights.messages)):
        out += [f"## {TITLES[kind]}", ""]
        if not rows:
            out += ["Nothing found in this period.", ""]
            continue
        out += ["| | calls | deals | won | lost | open | win rate |", "|---|---:|---:|---:|---:|---:|---:|"]
        out += [f"| {_row_title(r, playbook)} | {r.calls} | {r.deals} | {r.won} | {r.lost} | {r.open} | "
                f"{_pct(r.win_rate) if r.claim else _pct(r.win_rate) + '*'} |" for r in rows]
        out += ["", "\\* below the minimum sample: no claim.", ""]
        for r in rows:
            out += [f"### {_row_title(r, playbook)}", "", f"{r.calls} call(s); {_verdict(r, insights)}.", ""]
            out += [f"> “{q.text}” — {q.speaker}, `{q.call_id[:8]}` ({q.call}) @ {q.at}, {q.date or 'undated'}, "
                    f"deal {q.outcome}" for q in r.quotes]
            out.append("")
    return "\n".join(out)


def render_html(insights: Insights, playbook: Playbook | None = None) -> str:
    """A self-contained page (no external assets) with the same tables and quotes as the Markdown."""
    cov = insights.coverage
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>winloss report</title><style>",
             "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem}"
             "blockquote{color:#333;border-left:3px solid #89a;margin:.3rem 0;padding-left:.6rem}"
             ".noclaim{color:#888}</style></head><body>",
             f"<h1>Win/loss report: {cov.since or 'start'} to {cov.until or 'today'}</h1>",
             f"<p>{cov.calls} calls · {cov.deals} deals ({cov.won} won, {cov.lost} lost, {cov.open} open) · "
             f"overall win rate {_pct(cov.baseline_win_rate)}</p>"]
    if cov.failed:
        parts.append("<p><b>Failed files:</b></p><ul>" + "".join(
            f"<li><code>{html.escape(f['path'])}</code>: {html.escape(f['problem'])}</li>" for f in cov.failed)
                     + "</ul>")
    for kind, rows in (("objection", insights.objections), ("competitor", insights.competitors),
                       ("message", insights.messages)):
        parts.append(f"<h2>{TITLES[kind]}</h2>")
        if not rows:
            parts.append("<p>Nothing found in this period.</p>")
            continue
        parts.append("<table><tr><th></th><th>calls</th><th>deals</th><th>won</th><th>lost</th><th>open</th>"
                     "<th>win rate</th></tr>")
        for r in rows:
            cls = "" if r.claim else " class='noclaim'"
            parts.append(f"<tr{cls}><td>{html.escape(_row_title(r, playbook))}</td><td>{r.calls}</td>"
                         f"<td>{r.deals}</td><td>{r.won}</td><td>{r.lost}</td><td>{r.open}</td>"
                         f"<td>{_pct(r.win_rate)}{'' if r.claim else '*'}</td></tr>")
        parts.append("</table>")
        for r in rows:
            parts.append(f"<h3>{html.escape(_row_title(r, playbook))}</h3><p>{html.escape(_verdict(r, insights))}</p>")
            parts += [f"<blockquote>“{html.escape(q.text)}” — {html.escape(q.speaker)}, "
                      f"<code>{q.call_id[:8]}</code> ({html.escape(q.call)}) @ {q.at}, deal {q.outcome}</blockquote>"
                      for q in r.quotes]
    parts.append("</body></html>")
    return "\n".join(parts)


def render(insights: Insights, fmt: str, playbook: Playbook | None = None) -> str:
    if fmt == "json":
        return insights.model_dump_json(indent=2)
    if fmt == "html":
        return render_html(insights, playbook)
    return render_markdown(insights, playbook)

"""Render Insights as Markdown, one self-contained HTML file (inline SVG charts, no scripts, nothing fetched) or
JSON. The three carry the same numbers; every row lists its best quotes."""

from __future__ import annotations

import contextlib
import html
import json
import re
from pathlib import Path

from winloss.pipeline.errors import WinlossError
from winloss.pipeline.insight.insights import Insights, Quote, Row
from winloss.pipeline.insight.narrative import Narrative, offline, p_text, pct
from winloss.pipeline.insight.stats import Contrast
from winloss.pipeline.playbook import Playbook

FORMATS = ("md", "html", "json")
TITLES = {"objection": "Objections", "competitor": "Competitors (customer-said)", "message": "Marketing messages"}
VARIANTS = {"used": "delivered or paraphrased", "contradicted": "contradicted", "missed": "never delivered"}


def _sections(insights: Insights) -> list[tuple[str, list[Row]]]:
    return [("objection", insights.objections), ("competitor", insights.competitors), ("message", insights.messages)]


# Data in Markdown must render as its own characters in any renderer, CommonMark or not. A `<` that could open a tag,
# comment or autolink and an `&` that could start an entity become entities (a backslash does not stop raw HTML in
# every renderer); `\ ` * [ ] |` are backslash-escaped, so no link, image, code span, emphasis or table cell opens
# from a quote, a name or a file name; a line break in data would end a table row or start a block. A `<` before a
# space ("p < 0.01") opens nothing and stays readable in the plain-text email the Markdown becomes.
_MD_HTML = re.compile(r"<(?=[A-Za-z/!?])|&(?=[#A-Za-z])")
_MD_PUNCT = re.compile(r"[\\`*\[\]|]")
_LINE_BREAK = re.compile(r"[\r\n]+")


def md(value: object) -> str:
    """Data as Markdown text that shows exactly that data."""
    text = _LINE_BREAK.sub(" ", str(value))
    text = _MD_HTML.sub(lambda m: "&lt;" if m.group() == "<" else "&amp;", text)
    return _MD_PUNCT.sub(r"\\\g<0>", text)


def md_code(value: object) -> str:
    """Data as a Markdown code span: fenced by more backticks than any run in it (code spans take no escapes)."""
    text = _LINE_BREAK.sub(" ", str(value))
    fence = "`" * (max(map(len, re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def row_title(row: Row, playbook: Playbook | None) -> str:
    if row.kind == "message":
        text = next((m.text for m in playbook.messages if m.id == row.label), "") if playbook else ""
        return f"{row.label} — {VARIANTS.get(row.variant, row.variant)}" + (f" (“{text}”)" if text else "")
    return row.label


def _interval(c: Contrast | None) -> str:
    return f"{pct(c.interval[0])}–{pct(c.interval[1])}" if c and c.interval else "–"


def _lift(c: Contrast | None) -> str:
    return f"{c.lift:.2f}" if c and c.lift is not None else "–"


def verdict(c: Contrast | None, min_sample: int) -> str:
    if c is None:
        return "–"
    if not c.claim:
        return f"no claim (fewer than {min_sample} closed deals on a side)"
    if c.direction == "no clear difference":
        return f"no clear difference ({p_text(c.p_value)})"
    return f"wins {'more' if c.direction == 'higher' else 'less'} often ({p_text(c.p_value)})"


def said_by(q: Quote) -> str:
    """Who said it, never to be mistaken for the rep when a customer did: "customer (Dana), on Tom's call"."""
    who = q.role.value if q.speaker.lower() in ("", q.role.value) else f"{q.role.value} ({q.speaker})"
    if q.role.value == "rep":
        return who if q.rep in (None, q.speaker) else f"{who}, on {q.rep}'s call"
    return f"{who}, on {q.rep}'s call" if q.rep else f"{who}, rep unknown"


def reviewed(row: Row) -> str:
    """The tracker's estimated precision from reviews, and the calls corrected for it; '–' for exact-match rows."""
    if row.kind == "competitor" or row.variant == "missed":
        return "–"
    if row.precision is None:
        return "not reviewed"
    return f"{row.precision:.2f} of {row.reviewed} reviewed · ≈{row.corrected_calls:g} calls"


def _change(row: Row) -> str:
    if row.previous_calls is None:
        return ""
    return "new" if row.new else f"{row.calls - row.previous_calls:+d} calls"


def _header(insights: Insights, narrative: Narrative | None) -> tuple[str, list[str], list[str]]:
    cov = insights.coverage
    title = f"Win/loss report: {cov.since or 'start'} to {cov.until or 'today'}"
    facts = [f"Generated {insights.generated_at:%Y-%m-%d %H:%M} UTC; {cov.calls} calls analysed over {cov.deals} "
             f"deals ({cov.won} won, {cov.lost} lost, {cov.open} open); overall win rate {pct(cov.baseline_win_rate)}.",
             f"Engines: transcription {', '.join(cov.transcribers) or '–'}; extraction "
             f"{', '.join(cov.extractors) or '–'}. Win rates count closed deals; intervals are 95% Wilson; p is "
             f"Fisher's exact test against deals without the row; a difference is claimed only at p < "
             f"{insights.alpha} with at least {insights.min_sample} closed deals on each side."]
    if insights.previous is not None:
        prev = insights.previous
        facts.append(f"Previous period {prev.since} to {prev.until}: {prev.calls} calls, {prev.deals} deals.")
    story = narrative.sentences if narrative else offline(insights)
    return title, facts, story


def render_markdown(insights: Insights, playbook: Playbook | None = None, narrative: Narrative | None = None) -> str:
    title, facts, story = _header(insights, narrative)
    cov = insights.coverage
    out = [f"# {title}", "", *map(md, facts), ""]
    if cov.failed:
        out += [f"**{len(cov.failed)} file(s) failed in the last run:**", ""]
        out += [f"- {md_code(f['path'])}: {md(f['problem'])}" for f in cov.failed] + [""]
    out += ["## Summary", "", md(" ".join(story)), ""]
    if narrative and narrative.dropped:
        out += [f"_{narrative.dropped} sentence(s) of the {md(narrative.engine)} narrative were dropped: they cited "
                f"numbers the statistics do not contain._", ""]
    for kind, rows in _sections(insights):
        out += [f"## {TITLES[kind]}", ""]
        if not rows:
            out += ["Nothing found in this period.", ""]
            continue
        out += ["| | calls | deals | won | lost | open | win rate (95% CI) | without | lift | verdict | change | "
                "precision (reviewed) |", "|---|---:|---:|---:|---:|---:|---|---:|---:|---|---|---|"]
        for r in rows:
            c = r.contrast
            out.append(f"| {md(row_title(r, playbook))} | {r.calls} | {r.deals} | {r.won} | {r.lost} | {r.open} | "
                       f"{pct(r.win_rate)} ({_interval(c)}) | {pct(c.win_rate_without) if c else '–'} | "
                       f"{_lift(c)} | {verdict(c, insights.min_sample)} | "
                       f"{_change(r)} | {reviewed(r)} |")
        out.append("")
        if kind == "objection":
            out += ["Answered (every instance in the deal) against not answered, closed deals:", "",
                    "| | answered won/lost | not answered won/lost | verdict |", "|---|---|---|---|"]
            out += [f"| {md(r.label)} | {r.handled.with_won}/{r.handled.with_lost} | {r.handled.without_won}/"
                    f"{r.handled.without_lost} | {verdict(r.handled, insights.min_sample)} |"
                    for r in rows if r.handled]
            out.append("")
        if kind == "competitor":
            out += ["Encounter rate (share of deals): " + "; ".join(
                f"{md(r.label)} {pct(r.encounter_rate)}" for r in rows) + ".", ""]
        for r in rows:
            if not r.quotes:
                continue
            out += [f"### {md(row_title(r, playbook))}", ""]
            out += [f"> “{md(q.text)}” — {md(said_by(q))}, {md_code(q.call_id[:8])} "
                    f"({md(q.call)}) @ {q.at}, {q.date or 'undated'}, deal {md(q.outcome)}" for q in r.quotes]
            out.append("")
    return "\n".join(out)


# ------------------------------------------------------------------------------------------------------ HTML
CSS = """
body{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
td:first-child,th:first-child{text-align:left}.noclaim{color:#888}
blockquote{border-left:3px solid #89a;margin:.3rem 0;padding-left:.6rem}
a.quote{color:#245;text-decoration:none}a.quote:hover{text-decoration:underline}
svg text{font:12px system-ui,sans-serif}figure{margin:1rem 0}figcaption{color:#555;font-size:.9rem}
"""
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]


def _esc(text: object) -> str:
    return html.escape(str(text))


def quote_href(q: Quote) -> str:
    """The call's own file, at the quote's second (media fragment): opens the recording where it was said."""
    if not q.path:
        return "#"
    return f"{Path(q.path).resolve().as_uri()}#t={int(q.start)}"


def rate_chart(rows: list[Row], baseline: float | None) -> str:
    """Horizontal win-rate bars with their 95% interval; rows below the minimum sample are drawn grey."""
    rows = [r for r in rows if r.contrast and r.contrast.interval]
    if not rows:
        return ""
    left, width, bar, gap = 260, 420, 14, 8
    height = len(rows) * (bar + gap) + 30
    x = lambda v: left + v * width  # noqa: E731
    parts = [f"<svg class='chart rates' role='img' width='{left + width + 60}' height='{height}' "
             f"xmlns='http://www.w3.org/2000/svg'>"]
    for i, r in enumerate(rows):
        y = 10 + i * (bar + gap)
        c = r.contrast
        colour = "#4a7fb5" if c.claim else "#bbb"
        lo, hi = c.interval
        label = row_title(r, None)
        parts += [f"<text x='{left - 8}' y='{y + bar - 3}' text-anchor='end'>{_esc(label[:38])}</text>",
                  f"<rect x='{left}' y='{y}' width='{(c.win_rate_with or 0) * width:.1f}' height='{bar}' "
                  f"fill='{colour}'><title>{_esc(label)}: {pct(c.win_rate_with)} "
                  f"({c.with_won} of {c.with_won + c.with_lost}), 95% CI {pct(lo)}–{pct(hi)}</title></rect>",
                  f"<line x1='{x(lo):.1f}' x2='{x(hi):.1f}' y1='{y + bar / 2}' y2='{y + bar / 2}' stroke='#222'/>",
                  f"<line x1='{x(lo):.1f}' x2='{x(lo):.1f}' y1='{y + 2}' y2='{y + bar - 2}' stroke='#222'/>",
                  f"<line x1='{x(hi):.1f}' x2='{x(hi):.1f}' y1='{y + 2}' y2='{y + bar - 2}' stroke='#222'/>",
                  f"<text x='{left + width + 6}' y='{y + bar - 3}'>{pct(c.win_rate_with)}</text>"]
    if baseline is not None:
        parts.append(f"<line x1='{x(baseline):.1f}' x2='{x(baseline):.1f}' y1='4' y2='{height - 20}' "
                     f"stroke='#c33' stroke-dasharray='4 3'/><text x='{x(baseline):.1f}' y='{height - 6}' "
                     f"text-anchor='middle' fill='#c33'>overall {pct(baseline)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def trend_chart(trend: list[dict]) -> str:
    """Calls per week for the most frequent objections and competitors, one line each."""
    weeks = sorted({t["week"] for t in trend})
    if len(weeks) < 2:
        return ""
    series: dict[tuple[str, str], dict[str, int]] = {}
    for t in trend:
        series.setdefault((t["kind"], t["label"]), {})[t["week"]] = t["calls"]
    top = max(t["calls"] for t in trend)
    left, width, height = 40, 560, 180
    x = lambda i: left + i * width / (len(weeks) - 1)  # noqa: E731
    y = lambda v: 10 + height - v * height / top  # noqa: E731
    parts = [f"<svg class='chart trend' role='img' width='{left + width + 190}' height='{height + 40}' "
             f"xmlns='http://www.w3.org/2000/svg'>",
             f"<line x1='{left}' x2='{left + width}' y1='{y(0)}' y2='{y(0)}' stroke='#999'/>",
             f"<text x='{left - 6}' y='{y(top) + 4}' text-anchor='end'>{top}</text>",
             f"<text x='{left - 6}' y='{y(0) + 4}' text-anchor='end'>0</text>"]
    parts += [f"<text x='{x(i):.1f}' y='{height + 32}' text-anchor='middle'>{_esc(w)}</text>"
              for i, w in enumerate(weeks) if len(weeks) <= 8 or i % 2 == 0]
    for n, ((kind, label), counts) in enumerate(sorted(series.items())):
        colour = COLOURS[n % len(COLOURS)]
        points = " ".join(f"{x(i):.1f},{y(counts.get(w, 0)):.1f}" for i, w in enumerate(weeks))
        parts += [f"<polyline fill='none' stroke='{colour}' stroke-width='2' points='{points}'>"
                  f"<title>{_esc(kind)} {_esc(label)}</title></polyline>",
                  f"<text x='{left + width + 10}' y='{20 + n * 16}' fill='{colour}'>{_esc(kind)}: {_esc(label)}</text>"]
    parts.append("</svg>")
    return "".join(parts)


def render_html(insights: Insights, playbook: Playbook | None = None, narrative: Narrative | None = None) -> str:
    title, facts, story = _header(insights, narrative)
    cov = insights.coverage
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{_esc(title)}</title>"
             f"<style>{CSS}</style></head><body>", f"<h1>{_esc(title)}</h1>"]
    parts += [f"<p class='coverage'>{_esc(f)}</p>" for f in facts]
    if cov.failed:
        parts.append(f"<p><b>{len(cov.failed)} file(s) failed in the last run:</b></p><ul>" + "".join(
            f"<li><code>{_esc(f['path'])}</code>: {_esc(f['problem'])}</li>" for f in cov.failed) + "</ul>")
    parts += ["<h2>Summary</h2>", f"<p class='narrative'>{_esc(' '.join(story))}</p>"]
    if trend := trend_chart(insights.trend):
        parts.append(f"<figure>{trend}<figcaption>Calls per week for the most frequent objections and "
                     f"competitors.</figcaption></figure>")
    for kind, rows in _sections(insights):
        parts.append(f"<h2>{TITLES[kind]}</h2>")
        if not rows:
            parts.append("<p>Nothing found in this period.</p>")
            continue
        if chart := rate_chart(rows, cov.baseline_win_rate):
            parts.append(f"<figure>{chart}<figcaption>Win rate of closed deals where it came up, with its 95% "
                         f"interval; the dashed line is the overall win rate; grey rows are below the minimum "
                         f"sample.</figcaption></figure>")
        parts.append("<table><tr><th></th><th>calls</th><th>deals</th><th>won</th><th>lost</th><th>open</th>"
                     "<th>win rate (95% CI)</th><th>without</th><th>lift</th><th>verdict</th><th>change</th>"
                     "<th>precision (reviewed)</th></tr>")
        for r in rows:
            c = r.contrast
            cls = "" if c and c.claim else " class='noclaim'"
            parts.append(f"<tr{cls}><td>{_esc(row_title(r, playbook))}</td><td>{r.calls}</td><td>{r.deals}</td>"
                         f"<td>{r.won}</td><td>{r.lost}</td><td>{r.open}</td>"
                         f"<td>{pct(r.win_rate)} ({_interval(c)})</td><td>{pct(c.win_rate_without) if c else '–'}</td>"
                         f"<td>{_lift(c)}</td>"
                         f"<td>{_esc(verdict(c, insights.min_sample))}</td><td>{_change(r)}</td>"
                         f"<td>{_esc(reviewed(r))}</td></tr>")
        parts.append("</table>")
        for r in rows:
            if not r.quotes:
                continue
            parts.append(f"<h3>{_esc(row_title(r, playbook))}</h3>")
            parts += [f"<blockquote>“{_esc(q.text)}” — {_esc(said_by(q))}, "
                      f"<a class='quote' href='{_esc(quote_href(q))}'>{_esc(q.call)} @ {q.at}</a>, "
                      f"{q.date or 'undated'}, deal {_esc(q.outcome)}</blockquote>" for q in r.quotes]
    parts.append("</body></html>")
    return "\n".join(parts)


def check_writable(path: Path, what: str = "report") -> None:
    """Refuse, before any work, a target that is a folder or lies under a file: a user's slip, not a failure."""
    if path.is_dir():
        raise WinlossError(f"{path} is a folder: give a file name for the {what}")
    blocker = next((p for p in path.parents if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise WinlossError(f"{path}: cannot write the {what} under {blocker}, which is a file")


def write_file(path: Path, text: str, what: str = "report") -> Path:
    """Write `text` to `path` whole or not at all: through a `.tmp` beside it that replaces the file in one step, so
    a reader never sees half a report and a failed write leaves neither a half-written file nor a stray `.tmp`."""
    check_writable(path, what)
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise WinlossError(f"{path}: cannot write the {what}: {exc.strerror or exc}") from None
    return path


def render(insights: Insights, fmt: str, playbook: Playbook | None = None, narrative: Narrative | None = None) -> str:
    if fmt == "json":  # the Insights fields at the top level, and the narrative the other formats show
        story = narrative or Narrative(sentences=offline(insights), engine="offline")
        return json.dumps({**insights.model_dump(mode="json"), "narrative": story.model_dump(mode="json")}, indent=2)
    if fmt == "html":
        return render_html(insights, playbook, narrative)
    return render_markdown(insights, playbook, narrative)

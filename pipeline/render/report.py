"""Render Insights as Markdown, one self-contained HTML file (inline SVG charts, no scripts, nothing fetched) or
JSON. The three carry the same numbers; every row lists its best quotes."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

from winloss.pipeline.errors import WinlossError
from winloss.pipeline.insight.insights import Insights, Quote, Row
from winloss.pipeline.insight.narrative import Narrative, offline, p_text, pct
from winloss.pipeline.insight.stats import Contrast
from winloss.pipeline.playbook import Playbook
from winloss.pipeline.render.callpage import recording_of
from winloss.pipeline.render.links import MediaLinks
from winloss.pipeline.render.templating import render_template

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
# The page itself is templates/report.html.j2 (autoescaped); here are the numbers it draws: chart geometry and
# the text of each cell, computed once so the template only places them.
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]
TREND_SERIES = 4  # more lines than this in one small chart cross into a tangle nobody reads
CHAR_W = 7.0  # px per character of the 12px chart font: spacing labels apart without a browser to measure them


def rate_chart(rows: list[Row], baseline: float | None) -> dict | None:
    """Horizontal win-rate bars with their 95% interval; rows below the minimum sample are drawn grey."""
    rows = [r for r in rows if r.contrast and r.contrast.interval]
    if not rows:
        return None
    left, width, bar, gap = 260, 420, 14, 8
    height = len(rows) * (bar + gap) + 30
    x = lambda v: round(left + v * width, 1)  # noqa: E731
    bars = []
    for i, r in enumerate(rows):
        c = r.contrast
        lo, hi = c.interval
        label = row_title(r, None)
        bars.append({"y": 10 + i * (bar + gap), "label": label, "short": label[:38],
                     "colour": "#4a7fb5" if c.claim else "#bbb", "width": round((c.win_rate_with or 0) * width, 1),
                     "rate": pct(c.win_rate_with), "won": c.with_won, "closed": c.with_won + c.with_lost,
                     "lo": pct(lo), "hi": pct(hi), "x_lo": x(lo), "x_hi": x(hi)})
    return {"left": left, "width": width, "bar": bar, "height": height, "bars": bars,
            "baseline": None if baseline is None else {"x": x(baseline), "text": f"overall {pct(baseline)}"}}


def trend_chart(trend: list[dict], series_max: int = TREND_SERIES) -> dict | None:
    """Calls per week for the few most frequent themes, one line each, named in a legend beside the chart; week
    labels thinned so no two overlap."""
    weeks = sorted({t["week"] for t in trend})
    if len(weeks) < 2:
        return None
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for t in trend:
        counts.setdefault((t["kind"], t["label"]), {})[t["week"]] = t["calls"]
    ranked = sorted(counts, key=lambda k: (-sum(counts[k].values()), k))[:series_max]
    top = max(max(counts[k].values()) for k in ranked)
    left, width, height = 40, 560, 180
    x = lambda i: round(left + i * width / (len(weeks) - 1), 1)  # noqa: E731
    y = lambda v: round(10 + height - v * height / top, 1)  # noqa: E731
    step = 1
    while step * width / (len(weeks) - 1) < CHAR_W * max(map(len, weeks)) + 8:
        step += 1
    series = [{"kind": kind, "label": label, "colour": COLOURS[n % len(COLOURS)],
               "total": sum(counts[(kind, label)].values()),
               "points": " ".join(f"{x(i)},{y(counts[(kind, label)].get(w, 0))}" for i, w in enumerate(weeks))}
              for n, (kind, label) in enumerate(ranked)]
    return {"left": left, "width": width, "height": height, "top": top, "y_top": y(top), "y_zero": y(0),
            "weeks": [{"x": x(i), "text": w} for i, w in enumerate(weeks) if i % step == 0],
            "series": series, "hidden": len(counts) - len(ranked)}


def _row_cells(r: Row, playbook: Playbook | None, min_sample: int) -> dict:
    c = r.contrast
    return {"title": row_title(r, playbook), "claim": bool(c and c.claim), "calls": r.calls, "deals": r.deals,
            "won": r.won, "lost": r.lost, "open": r.open, "rate": f"{pct(r.win_rate)} ({_interval(c)})",
            "without": pct(c.win_rate_without) if c else "–", "lift": _lift(c), "verdict": verdict(c, min_sample),
            "change": _change(r), "reviewed": reviewed(r)}


def _quote(q: Quote, links: MediaLinks) -> dict:
    """A quote's cells; its link opens the call's recording (the one beside an imported transcript when there is
    one, else the transcript) at the quote's second."""
    media = (recording_of(Path(q.path)) or q.path) if q.path else None
    return {"text": q.text, "said_by": said_by(q), "href": links.href(media, q.start), "call": q.call, "at": q.at,
            "date": q.date or "undated", "outcome": q.outcome}


def render_html(insights: Insights, playbook: Playbook | None = None, narrative: Narrative | None = None,
                links: MediaLinks | None = None) -> str:
    """The report as one HTML page; `links` says where its quotes link the calls (None: a page that travels alone,
    so only served links)."""
    title, facts, story = _header(insights, narrative)
    links = links or MediaLinks()
    sections = [{"title": TITLES[kind], "rows": [_row_cells(r, playbook, insights.min_sample) for r in rows],
                 "chart": rate_chart(rows, insights.coverage.baseline_win_rate),
                 "quoted": [{"title": row_title(r, playbook), "quotes": [_quote(q, links) for q in r.quotes]}
                            for r in rows if r.quotes]}
                for kind, rows in _sections(insights)]
    return render_template("report.html.j2", title=title, facts=facts, failed=insights.coverage.failed,
                           story=" ".join(story), trend=trend_chart(insights.trend), sections=sections)


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


def render(insights: Insights, fmt: str, playbook: Playbook | None = None, narrative: Narrative | None = None,
           links: MediaLinks | None = None) -> str:
    if fmt == "json":  # the Insights fields at the top level, and the narrative the other formats show
        story = narrative or Narrative(sentences=offline(insights), engine="offline")
        return json.dumps({**insights.model_dump(mode="json"), "narrative": story.model_dump(mode="json")}, indent=2)
    if fmt == "html":
        return render_html(insights, playbook, narrative, links)
    return render_markdown(insights, playbook, narrative)

"""The report's short narrative: offline from templates over the statistics; with an LLM from prompts/, keeping
only sentences whose every number is one of the statistics' own."""

from __future__ import annotations

import json
import re

from pydantic import BaseModel
from winloss.pipeline.insight.insights import MIN_REVIEWS, Insights, Row
from winloss.pipeline.insight.stats import Contrast
from winloss.pipeline.playbook import Playbook
from winloss.pipeline.providers.llm import LLMClient, Prompt

NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?%?")


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def name(row: Row) -> str:
    if row.kind == "competitor":
        return f"customers brought up {row.label}"
    if row.kind == "objection":
        return f"customers objected on {row.label.replace('_', ' ')}"
    return {"used": f"reps delivered {row.label}", "contradicted": f"reps contradicted {row.label}",
            "missed": f"reps never delivered {row.label}"}.get(row.variant, row.label)


def caveat(row: Row, insights: Insights) -> str | None:
    """Why a row's findings are a lead, not a fact: its tracker is unreviewed or below the precision target. None for
    competitor rows (exact names) and rows whose reviewed precision meets the target."""
    if row.kind == "competitor" or row.trusted(insights.target_precision):
        return None
    what = row.label.replace("_", " ")
    if row.precision is None:
        return f"Unconfirmed lead (the {what} tracker is not reviewed yet: `winloss review`)"
    if row.reviewed < MIN_REVIEWS:
        return f"Unconfirmed lead (only {row.reviewed} {what} finding(s) reviewed)"
    return (f"Unconfirmed lead (reviewers confirmed {row.precision:.0%} of {what} findings, below the "
            f"{insights.target_precision:.0%} target)")


def stated(sentence: str, row: Row, insights: Insights) -> str:
    """The sentence as fact when the row's tracker earned it, else introduced as a lead."""
    why = caveat(row, insights)
    return sentence if why is None else f"{why}: {sentence[0].lower()}{sentence[1:]}"


def p_text(p: float) -> str:
    return "p < 0.01" if p < 0.005 else f"p = {p:.2f}"


def contrast_sentence(subject: str, c: Contrast) -> str:
    lo, hi = c.interval or (0, 0)
    return (f"Deals where {subject} were won {c.with_won} of {c.with_won + c.with_lost} times ({pct(c.win_rate_with)}, "
            f"95% CI {pct(lo)}–{pct(hi)}) against {c.without_won} of {c.without_won + c.without_lost} "
            f"({pct(c.win_rate_without)}) otherwise; {p_text(c.p_value)}.")


def offline(insights: Insights) -> list[str]:
    """Sentences for what the statistics support at the configured alpha and minimum sample; nothing else."""
    cov = insights.coverage
    out = [f"{cov.calls} calls over {cov.deals} deals in the period ({cov.won} won, {cov.lost} lost, {cov.open} open)."]
    if insights.previous is not None:
        out.append(f"The previous period had {insights.previous.calls} calls.")
    rows = insights.competitors + insights.objections + insights.messages
    for row in sorted(rows, key=lambda r: r.contrast.p_value if r.contrast else 1):
        # "never delivered" mirrors "delivered": one sentence per message is enough
        if row.variant != "missed" and row.contrast and row.contrast.direction in ("higher", "lower"):
            out.append(stated(contrast_sentence(name(row), row.contrast), row, insights))
    for row in insights.objections:
        h = row.handled
        if h and h.direction in ("higher", "lower"):
            out.append(stated(f"When {row.label.replace('_', ' ')} objections were answered, deals were won "
                              f"{h.with_won} of {h.with_won + h.with_lost} times ({pct(h.win_rate_with)}) against "
                              f"{h.without_won} of {h.without_won + h.without_lost} ({pct(h.win_rate_without)}) when "
                              f"they were not; {p_text(h.p_value)}.", row, insights))
    for row in (r for r in insights.messages if r.variant == "contradicted"):
        out.append(stated(f"Reps contradicted {row.label} in {row.calls} call(s).", row, insights))
    new = [r.label for r in rows if r.new]
    if new and insights.previous is not None and insights.previous.calls:
        out.append(f"New this period: {', '.join(sorted(set(new)))}.")
    if len(out) == (2 if insights.previous is not None else 1):
        out.append(f"No difference in win rate reaches p < {insights.alpha} with at least {insights.min_sample} "
                   f"closed deals on each side; the tables show the counts.")
    return out


def allowed_numbers(insights: Insights) -> set[str]:
    """Every number the statistics contain, in the forms a sentence may write it."""
    data = json.loads(insights.model_dump_json(exclude={"objections": {"__all__": {"quotes"}},
                                                        "competitors": {"__all__": {"quotes"}},
                                                        "messages": {"__all__": {"quotes"}}}))
    out: set[str] = {"95"}  # "95% CI"

    def walk(value):
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, int):
            out.add(str(value))
        elif isinstance(value, float):
            out.update({f"{value:.2f}", f"{value:.4g}", f"{value * 100:.0f}%", f"{value * 100:.0f}"})
            if value.is_integer():
                out.add(str(int(value)))

    walk(data)
    return out


def check_numbers(text: str, allowed: set[str]) -> tuple[list[str], int]:
    """Sentences whose numbers all come from the statistics, and how many were dropped."""
    sentences = _sentences(text)
    kept = [s for s in sentences if _backed(s, allowed)]
    return kept, len(sentences) - len(kept)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.strip()]


def _backed(sentence: str, allowed: set[str]) -> bool:
    return all(n in allowed or n.rstrip("%") in allowed for n in NUMBER.findall(sentence))


def hedged(sentence: str, insights: Insights) -> str:
    """An LLM sentence that names a lead's label without saying it is one gets the caveat put in front of it."""
    if "lead" in sentence.lower() or "unconfirmed" in sentence.lower():
        return sentence
    for row in insights.objections + insights.messages:
        if (why := caveat(row, insights)) and (row.label in sentence or row.label.replace("_", " ") in sentence):
            return f"{why}: {sentence}"
    return sentence


class _Reply(BaseModel):
    narrative: str


class Narrative(BaseModel):
    sentences: list[str]
    engine: str
    dropped: int = 0


def llm(insights: Insights, client: LLMClient, playbook: Playbook) -> Narrative:
    statistics = "\n".join(offline(insights) + [
        f"- {name(r)}: {r.calls} calls, {r.deals} deals, won {r.won}, lost {r.lost}, open {r.open}"
        + (f"; {contrast_sentence(name(r), r.contrast)}" if r.contrast else "")
        + (f" [{why}: say so whenever you mention it]" if (why := caveat(r, insights)) else "")
        for r in insights.competitors + insights.objections + insights.messages])
    allowed = allowed_numbers(insights)

    def unbacked(reply: _Reply) -> list[str]:  # what check_numbers would drop goes back to the model first
        return [f"the sentence {s[:160]!r} states a number that is not in the statistics"
                for s in _sentences(reply.narrative) if not _backed(s, allowed)]

    reply = client.ask(Prompt.load("report_narrative"), _Reply, unbacked, company=playbook.company.name,
                       statistics=statistics,
                       alpha=str(insights.alpha), min_sample=str(insights.min_sample))
    kept, dropped = check_numbers(reply.narrative, allowed)
    kept = [hedged(sentence, insights) for sentence in kept]
    return Narrative(sentences=kept, engine=f"llm:{client.settings.model}", dropped=dropped)

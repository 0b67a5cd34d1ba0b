"""A call's summary for coaches: the key moments in order, each with its time and the words it rests on.

Offline: the call's findings (objections with how they were answered, customer-said competitors, messages
delivered, paraphrased or contradicted, and those never delivered) plus cue-phrase moments: customer questions,
the decision process, pricing, a pilot or trial, and next steps with a day and time ("let's meet Thursday at 2"),
dated by dateparser from the call's date.
With an LLM: prompts/summarize_call into a typed summary, every item citing an utterance whose words it quotes.
"""

from __future__ import annotations

import datetime as dt
import re

from pydantic import BaseModel, Field
from winloss.pipeline.insight.metrics import CallMetrics, compute, questions
from winloss.pipeline.models import FlatFinding, Role, Transcript, Utterance, mmss
from winloss.pipeline.playbook import Playbook
from winloss.pipeline.providers.llm import LLMClient, Prompt
from winloss.pipeline.redact import Redactor

DAY = r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|next week)"
NUMBER_WORDS = "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
TIME = (rf"(\b\d{{1,2}}(?::\d\d)?\s*(?:a\.?m\.?|p\.?m\.?)(?!\w)|\b(?:{NUMBER_WORDS})\s*(?:a\.?m\.?|p\.?m\.?)(?!\w)"
        rf"|\bat \d{{1,2}}(?::\d\d)?\b|\bnoon\b|\b(?:morning|afternoon|evening)\b)")
CUES = {
    "decision_process": re.compile(r"decision[- ]?maker|decision process|who (?:else )?(?:decides|signs|approves)|"
                                   r"sign[- ]off|management committee|buying committee|budget holder", re.I),
    "pricing": re.compile(r"\b(?:price|pricing|prices|cost|costs|subscription|fee|fees|discount|budget|per seat|"
                          r"per user|half off)\b|\$\d", re.I),
    "pilot": re.compile(r"\b(?:pilot|trial|proof of concept|poc)\b", re.I),
}
MEETING = re.compile(r"\b(?:meet|meeting|call|demo|get (?:everyone )?together|catch up|follow[- ]up|book|schedule)\b",
                     re.I)
TITLES = {"decision_process": "decision process", "pricing": "pricing discussion", "pilot": "pilot or trial",
          "customer_question": "customer question", "next_step": "next step"}


class Moment(BaseModel):
    start: float
    at: str
    kind: str  # objection, competitor, message, customer_question, decision_process, pricing, pilot, next_step
    label: str
    utterance_index: int
    role: Role
    quote: str
    detail: str = ""
    when: dt.datetime | dt.date | None = None  # a next step's date (and time, when one was said), from the call's


class CallSummary(BaseModel):
    call_id: str
    engine: str = "offline"
    moments: list[Moment]
    missed_messages: list[str] = Field([], description="playbook messages never delivered in the call")
    metrics: CallMetrics
    needs: list[Moment] = []  # the LLM summary's fields, each grounded in an utterance
    risks: list[Moment] = []
    next_steps: list[Moment] = []
    coaching_tip: Moment | None = None


def _moment(u: Utterance, kind: str, label: str, quote: str | None = None, detail: str = "") -> Moment:
    return Moment(start=u.start, at=mmss(u.start), kind=kind, label=label, utterance_index=u.index, role=u.role,
                  quote=quote or u.text, detail=detail)


def _finding_moments(findings: list[FlatFinding], utts: dict[int, Utterance]) -> list[Moment]:
    out = []
    for f in findings:
        u = utts.get(f.utterance_index)
        if u is None or (f.kind.value == "competitor" and f.role is Role.rep):
            continue
        if f.kind.value == "objection":
            detail = {True: "answered", False: "not answered", None: "not judged"}[f.answered]
            if f.accepted is not None:
                detail += ", customer " + ("accepted the answer" if f.accepted else "came back to it")
        elif f.kind.value == "competitor":
            detail = f.context.replace("_", " ") if f.context else ""
        else:
            detail = f.status or ""
        out.append(_moment(u, f.kind.value, f.label, f.quote, detail))
    return out


def _day_rank(text: str) -> int:
    """Weekdays are more specific than "tomorrow", which is more specific than "next week"."""
    return {"tomorrow": 1, "next week": 0}.get(text.lower(), 2)


def _time_rank(text: str) -> int:
    """A clock time with am/pm beats "at 2", which beats a part of the day."""
    return 2 if re.search(r"[ap]\.?m", text, re.I) else 1 if re.match(r"at ", text, re.I) else 0


def next_steps(utts: list[Utterance], window_s: float = 30.0, call_date: dt.date | None = None) -> list[Moment]:
    """A day and a time said within `window_s` in neighbouring utterances while a meeting is being arranged; the
    moment is where the most specific day is said, e.g. "next Thursday afternoon" + "How about two PM?". With the
    call's date, the moment carries the date (and time) it means, also shown in its detail."""
    out, used = [], set()
    for i, u in enumerate(utts):
        if u.index in used or not re.search(DAY, u.text, re.I):
            continue
        near = [v for v in utts[i: i + 4] if v.start - u.start <= window_s]
        if not any(MEETING.search(v.text) for v in utts[max(0, i - 2): i + 4]):
            continue
        days = [(_day_rank(m.group(1)), v, m.group(1)) for v in near for m in re.finditer(DAY, v.text, re.I)]
        times = [m.group(1).strip() for v in near for m in re.finditer(TIME, v.text, re.I)]
        if not times:
            continue
        _, where, day = max(days, key=lambda d: d[0])
        time = max(times, key=_time_rank)
        used.update(v.index for v in near)
        said = _normalise_when(f"{day.capitalize()} {time}")
        moment = _moment(where, "next_step", "meeting", detail=said)
        if (when := resolve_when(said, call_date)) is not None:
            shown = f"{when:%a %d %b %Y %H:%M}" if isinstance(when, dt.datetime) else f"{when:%a %d %b %Y}"
            moment = moment.model_copy(update={"when": when, "detail": f"{said} ({shown})"})
        out.append(moment)
    return out


def resolve_when(said: str, call_date: dt.date | None) -> dt.datetime | dt.date | None:
    """The date a next step's words mean, counted forward from the call's date: a datetime when a clock time was
    said ("Thursday 2 PM"), a date otherwise ("tomorrow morning"; "next week" is a week on); None without a date.

    "at 2" with no am/pm is taken as a business hour (1 to 7 is afternoon); dateparser alone read it as a day.
    """
    if call_date is None:
        return None
    from dateparser.date import DateDataParser

    text = re.sub(r"\bat (\d{1,2})\b(?!:)", lambda m: f"at {int(m[1]) + 12 * (1 <= int(m[1]) <= 7)}:00", said)
    parser = DateDataParser(languages=["en"], settings={
        "RELATIVE_BASE": dt.datetime.combine(call_date, dt.time()), "PREFER_DATES_FROM": "future",
        "RETURN_TIME_AS_PERIOD": True})
    found = parser.get_date_data(text)
    if found.date_obj is None:
        return None
    return found.date_obj if found.period == "time" else found.date_obj.date()


def _normalise_when(text: str) -> str:
    words = dict(zip(NUMBER_WORDS.split("|"), range(1, 13), strict=True))
    text = re.sub(rf"\b({NUMBER_WORDS})\b", lambda m: str(words[m.group(1).lower()]), text, flags=re.I)
    return re.sub(r"\s*([ap])\.?m\.?", lambda m: f" {m.group(1).upper()}M", text, flags=re.I)


def _cue_moments(utts: list[Utterance]) -> list[Moment]:
    out: list[Moment] = []
    last: dict[str, float] = {}
    for u in utts:
        if u.role is Role.customer and questions(u.text):
            out.append(_moment(u, "customer_question", "question"))
        for kind, pattern in CUES.items():
            if pattern.search(u.text):
                if u.start - last.get(kind, -1e9) > 60:  # one moment per minute of a topic
                    out.append(_moment(u, kind, TITLES[kind]))
                last[kind] = u.start
    return out


def offline(transcript: Transcript, findings: list[FlatFinding], playbook: Playbook,
            call_date: dt.date | None = None) -> CallSummary:
    utts = {u.index: u for u in transcript.utterances}
    moments = _finding_moments(findings, utts) + _cue_moments(transcript.utterances) + next_steps(
        transcript.utterances, call_date=call_date)
    moments.sort(key=lambda m: (m.start, m.kind))
    delivered = {f.label for f in findings if f.kind.value == "message" and f.status != "contradicted"}
    return CallSummary(call_id=transcript.call_id, moments=moments, metrics=compute(transcript),
                       missed_messages=[m.id for m in playbook.messages if m.id not in delivered])


# ------------------------------------------------------------------------------------------------------ LLM
class _Item(BaseModel):
    text: str
    utterance: int
    quote: str


class _SummaryReply(BaseModel):
    needs: list[_Item] = []
    risks: list[_Item] = []
    next_steps: list[_Item] = []
    coaching_tip: _Item | None = None


def _grounded(item: _Item, utts: dict[int, Utterance], kind: str) -> Moment | None:
    """The item, if its quote is in the utterance it cites (whitespace and case aside); else None."""
    u = utts.get(item.utterance)
    norm = lambda s: " ".join(s.lower().split())  # noqa: E731
    if u is None or not item.quote.strip() or norm(item.quote) not in norm(u.text):
        return None
    return _moment(u, kind, kind, item.quote, item.text)


def llm(transcript: Transcript, findings: list[FlatFinding], playbook: Playbook, client: LLMClient,
        redactor: Redactor | None = None, call_date: dt.date | None = None) -> tuple[CallSummary, int]:
    """The offline summary plus the LLM's needs, risks, next steps and coaching tip; returns it and how many
    items were dropped for citing words the call does not contain."""
    base = offline(transcript, findings, playbook, call_date)
    shown = redactor.transcript(transcript) if redactor else transcript
    lines = "\n".join(f"[{u.index}] {mmss(u.start)} {u.role.value.upper()}: {u.text}" for u in shown.utterances)
    utts = {u.index: u for u in shown.utterances}

    def ungrounded(reply: _SummaryReply) -> list[str]:  # grounding is the validator: these go back to the model
        items = [*reply.needs, *reply.risks, *reply.next_steps, *([reply.coaching_tip] if reply.coaching_tip else [])]
        return [f"the quote {item.quote[:120]!r} is not in utterance {item.utterance}" for item in items
                if _grounded(item, utts, "item") is None]

    reply = client.ask(Prompt.load("summarize_call"), _SummaryReply, ungrounded, company=playbook.company.name,
                       transcript=lines)
    dropped = 0

    def keep(items: list[_Item], kind: str) -> list[Moment]:
        nonlocal dropped
        out = [m for item in items if (m := _grounded(item, utts, kind))]
        dropped += len(items) - len(out)
        return out

    tip = keep([reply.coaching_tip], "coaching_tip") if reply.coaching_tip else []
    return base.model_copy(update={"engine": f"llm:{client.settings.model}", "needs": keep(reply.needs, "need"),
                                   "risks": keep(reply.risks, "risk"),
                                   "next_steps": keep(reply.next_steps, "next_step"),
                                   "coaching_tip": tip[0] if tip else None}), dropped

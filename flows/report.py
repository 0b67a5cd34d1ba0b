"""weekly_report: aggregate the store for a period, write the report file(s), and deliver them when asked.

`weekly_report` is what `winloss report` runs; `scheduled_report` is the deployment `winloss schedule` serves:
its parameters are plain strings (a config path and a data dir) so a Prefect server can store and trigger it.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel
from winloss.pipeline import deliver, insights, narrative, report
from winloss.pipeline.errors import WinlossError
from winloss.pipeline.settings import Playbook, Settings, load_playbook, load_settings
from winloss.pipeline.store import Store

from .refs import by_reference, deref

log = logging.getLogger(__name__)


class ReportRun(BaseModel):
    files: list[Path]
    summary: str = ""  # the title and the narrative: what a chat webhook shows
    deliveries: list[deliver.Delivery] = []
    narrative_engine: str = "offline"


class DeliveryFailed(WinlossError):
    pass


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The last seven days, today included."""
    today = today or dt.date.today()
    return today - dt.timedelta(days=6), today


def _narrative(settings: Settings, data: insights.Insights, playbook: Playbook) -> narrative.Narrative | None:
    """The LLM's narrative when one is enabled; on any LLM failure the offline one, with a warning."""
    if not settings.llm.enabled:
        return None
    from winloss.pipeline.llm import LLMClient, build_chat_model

    try:
        return narrative.llm(data, LLMClient(build_chat_model(settings.llm), settings.llm), playbook)
    except WinlossError as exc:
        log.warning("LLM narrative failed, the report uses the offline one: %s", exc)
        return None


def chat_text(text: str) -> str:
    """Data in a chat webhook's text: `<`, `>` and `&` are Slack's control characters (`<!channel>` pings everyone,
    `<url|label>` links), so they travel as the entities Slack documents."""
    return html.escape(text, quote=False)


@task(name="write-report", cache_policy=NO_CACHE, persist_result=False)  # see flows/analyze.py
def write_report(settings: Settings, since: dt.date | None, until: dt.date | None, formats: list[str],
                 out: Path | None = None) -> ReportRun:
    playbook = load_playbook(settings.playbook)
    store = Store(settings.database_url)
    data = insights.compute(store, since, until, settings.report.min_sample, settings.report.quotes_per_finding,
                            settings.report.alpha, [m.id for m in playbook.messages],
                            target_precision=settings.extraction.target_precision)
    story = _narrative(settings, data, playbook)
    files = []
    for fmt in formats:
        path = out if out is not None and len(formats) == 1 else (
            settings.data_dir / settings.report.out_dir / f"winloss-{since or 'start'}-{until or 'today'}.{fmt}")
        files.append(report.write_file(path, report.render(data, fmt, playbook, story)))
    sentences = story.sentences if story else narrative.offline(data)
    summary = (f"*Win/loss report {since or 'start'} to {until or 'today'}*\n{chat_text(' '.join(sentences))}\n"
               f"Files: {chat_text(', '.join(str(f) for f in files))}")
    return ReportRun(files=files, summary=summary, narrative_engine=story.engine if story else "offline")


@task(name="deliver-report", cache_policy=NO_CACHE, persist_result=False)
def deliver_report(settings: Settings, run: ReportRun, subject: str) -> ReportRun:
    deliveries = deliver.deliver(run.files, subject, run.summary, settings.report.delivery)
    return run.model_copy(update={"deliveries": deliveries})


def weekly_report(settings: Settings, since: dt.date | None = None, until: dt.date | None = None,
                  fmt: str | list[str] = "md", out: Path | None = None, send: bool = False) -> Path:
    """The report for a period (default: Markdown for the last 7 days), in one format or several computed once;
    returns the first file. `send` also delivers them."""
    if since is None and until is None:
        since, until = default_period()
    request = ReportRequest(settings=settings, since=since, until=until,
                            formats=[fmt] if isinstance(fmt, str) else list(fmt), out=out, send=send)
    with by_reference(request) as key:
        return weekly_report_flow(key)


class ReportRequest(BaseModel):
    """weekly_report's arguments, handed to its flow by reference: Prefect stores flow parameters in its database,
    and settings hold names to redact and perhaps a database password (flows/refs.py)."""

    settings: Settings
    since: dt.date | None
    until: dt.date | None
    formats: list[str]
    out: Path | None = None
    send: bool = False


@flow(name="weekly_report", validate_parameters=False, persist_result=False)
def weekly_report_flow(request: str) -> Path:
    req: ReportRequest = deref(request)
    run = write_report(req.settings, req.since, req.until, req.formats, req.out)
    if req.send:
        _check(deliver_report(req.settings, run, f"Win/loss report {req.since} to {req.until}"))
    return run.files[0]


@flow(name="scheduled_report", validate_parameters=True, persist_result=False)
def scheduled_report(config: str, data_dir: str | None = None, today: str | None = None) -> ReportRun:
    """The scheduled run: the last 7 days in the configured timezone, every configured format, delivered."""
    settings = load_settings(Path(config), data_dir=Path(data_dir) if data_dir else None)
    day = dt.date.fromisoformat(today) if today else dt.datetime.now(ZoneInfo(settings.report.timezone)).date()
    since, until = default_period(day)
    run = write_report(settings, since, until, list(settings.report.formats))
    return _check(deliver_report(settings, run, f"Win/loss report {since} to {until}"))


def _check(run: ReportRun) -> ReportRun:
    failed = [d for d in run.deliveries if not d.ok]
    for d in run.deliveries:
        log.info("delivery %s to %s: %s", d.channel, d.target, "ok" if d.ok else d.error)
    if failed:  # the run shows as failed in Prefect; the files stay where they were written
        raise DeliveryFailed("; ".join(f"{d.channel} to {d.target} failed after {d.attempts} attempt(s): {d.error}"
                                       for d in failed) + f". The report is kept at {', '.join(map(str, run.files))}")
    return run

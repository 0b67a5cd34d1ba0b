"""analyze_calls: map over calls — decode, transcribe, roles, extract, store and index — one outcome per file.

A bad file becomes a `failed` outcome naming the file and the problem; the other calls go on. A call whose
content and config are unchanged since it was stored is `unchanged` and costs no model time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from prefect import flow, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote
from winloss.pipeline.analyze import Engines, analyse_call, discover, extract_call, make_call
from winloss.pipeline.crm import ManifestRow, load_deals, load_manifest
from winloss.pipeline.errors import BadInputError, WinlossError
from winloss.pipeline.index import Index
from winloss.pipeline.models import CallOutcome
from winloss.pipeline.settings import Settings, load_playbook, load_settings, same_transcript
from winloss.pipeline.store import Store
from winloss.pipeline.transcribe import TRANSCRIPT_SUFFIXES

log = logging.getLogger(__name__)
Progress = Callable[[CallOutcome], None]


@dataclass
class RunContext:
    """What every per-call task shares in one run; the index opens only if some call needs writing."""

    settings: Settings
    engines: Engines
    store: Store
    fingerprint: str
    manifest: dict[Path, ManifestRow]
    on_progress: Progress | None = None
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    @cached_property
    def index(self) -> Index:
        return Index(self.settings, self.engines.embedder)


@task(name="analyze-call", cache_policy=NO_CACHE, task_run_name="analyze {path.name}")
def analyze_call_task(path: Path, ctx: RunContext) -> CallOutcome:
    started = time.perf_counter()
    try:
        outcome = _analyze(path, ctx, started)
    except WinlossError as exc:
        problem = exc.problem if isinstance(exc, BadInputError) else str(exc)
        outcome = CallOutcome(path=str(path), status="failed", problem=problem)
    except Exception as exc:  # one broken call must not sink the batch; the traceback goes to the log
        log.exception("unexpected error analysing %s", path)
        outcome = CallOutcome(path=str(path), status="failed", problem=f"internal error: {type(exc).__name__}: {exc}")
    if ctx.on_progress:
        ctx.on_progress(outcome)
    return outcome


def _analyze(path: Path, ctx: RunContext, started: float) -> CallOutcome:
    row = ctx.manifest.get(path)
    call = make_call(path, row)
    stored = ctx.store.fingerprint_of(call.call_id)
    if stored == ctx.fingerprint:
        ctx.store.update_call_metadata(call)
        return CallOutcome(path=str(path), status="unchanged", call_id=call.call_id)
    if same_transcript(stored, ctx.fingerprint):  # only the playbook or the labels changed: no transcription
        analysis = extract_call(call, ctx.store.transcript(call.call_id), ctx.engines)
    else:
        analysis = analyse_call(call, ctx.engines, row)
    outcome_of_deal = ctx.store.outcome_of(call.deal_id)
    with ctx.write_lock:  # SQLite and the local Chroma index take one writer at a time
        # Index first: the store's row (with its fingerprint) is what marks a call done, so a failure between
        # the two writes leaves the call to be analysed again rather than missing from the index for good.
        ctx.index.upsert_call(analysis, outcome_of_deal)
        ctx.store.save_analysis(analysis, ctx.fingerprint)
    return CallOutcome(path=str(path), status="analysed", call_id=call.call_id, findings=len(analysis.findings),
                       seconds=round(time.perf_counter() - started, 2), note=analysis.note)


@flow(name="analyze_calls", task_runner=ThreadPoolTaskRunner(max_workers=2), validate_parameters=False)
def analyze_calls(settings: Settings, paths: list[Path], manifest: Path | None = None, deals: Path | None = None,
                  on_progress: Progress | None = None) -> list[CallOutcome]:
    playbook = load_playbook(settings.playbook)
    store = Store(settings.database_url)
    if deals:
        store.upsert_deals(load_deals(deals))
    rows = load_manifest(manifest) if manifest else {}
    files = discover(paths) if paths else list(rows)
    engines = Engines(settings, playbook, transcripts=sum(p.suffix.lower() in TRANSCRIPT_SUFFIXES for p in files),
                      labels=store.labels())
    fingerprint = engines.fingerprint
    ctx = RunContext(settings=settings, engines=engines, store=store, fingerprint=fingerprint, manifest=rows,
                     on_progress=on_progress)
    run_id = store.start_run(engines.transcriber_name, settings.extraction.engine, fingerprint)
    # quote: Prefect would otherwise walk the whole context (settings, engines, manifest) for futures on every task
    try:
        futures = analyze_call_task.map(files, unmapped(quote(ctx)))
        outcomes = [f.result() for f in futures]
    finally:
        engines.close()
    store.finish_run(run_id, outcomes)
    return outcomes


@flow(name="analyze_drop_folder", validate_parameters=True)
def analyze_drop_folder(config: str, data_dir: str | None = None) -> dict[str, int]:
    """The scheduled pick-up: analyse what is new in report.drop_folder (unchanged files cost nothing).

    A calls.csv / deals.csv in the folder are read as its manifest and CRM export."""
    settings = load_settings(Path(config), data_dir=Path(data_dir) if data_dir else None)
    folder = Path(settings.report.drop_folder)
    if not folder.is_dir():
        raise WinlossError(f"report.drop_folder {folder} is not a folder: create it or set drop_folder = \"\"")
    manifest, deals = folder / "calls.csv", folder / "deals.csv"
    outcomes = analyze_calls(settings, [folder], manifest=manifest if manifest.exists() else None,
                             deals=deals if deals.exists() else None)
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    return counts

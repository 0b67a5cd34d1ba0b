"""analyze_calls: map over calls — decode, transcribe, roles, extract, store and index — one outcome per file.

A bad file becomes a `failed` outcome naming the file and the problem; the other calls go on. A call whose
content and config are unchanged since it was stored is `unchanged` and costs no model time. A call stored from
the same manifest or folder that the run no longer finds is `missing` (removed with `prune`).

The inputs are checked before anything is written, and the run holds the data dir's lock, so `reindex` or a
second `analyze` cannot pull the store or index from under it.

With a Prefect server (PREFECT_API_URL, in the environment or the Prefect profile) the run is the
`analyze_calls` flow, its calls mapped as tasks, and shows in the server's UI. Without one the same task
function runs in this process on a thread pool of the same size: Prefect 3 would otherwise start a throwaway
API server for each run, which cost 8-27 s, timed out on a loaded machine and outlived a killed parent
(docs/PERFORMANCE.md, "Orchestration").

With orchestration.dask_address the calls go to a Dask cluster's workers instead (flows/cluster.py), as Prefect
tasks on a DaskTaskRunner with a server, or submitted to the scheduler directly without one.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from prefect import flow, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote
from winloss.pipeline.analyze import Engines, analyse_call, extract_call
from winloss.pipeline.app import App
from winloss.pipeline.errors import BadInputError, WinlossError
from winloss.pipeline.fingerprint import same_transcript
from winloss.pipeline.ingest.identity import Planned, RunInputs, discover, gather, missing, plan, unknown_deals
from winloss.pipeline.ingest.transcribe import TRANSCRIPT_SUFFIXES
from winloss.pipeline.models import CallOutcome, Outcomes
from winloss.pipeline.playbook import Playbook, load_playbook
from winloss.pipeline.redact import Redactor
from winloss.pipeline.settings import Settings, load_settings
from winloss.pipeline.storage.index import Index
from winloss.pipeline.storage.lock import data_lock
from winloss.pipeline.storage.reindex import health, rekey
from winloss.pipeline.storage.store import Store

from . import cluster
from .refs import by_reference, deref

log = logging.getLogger(__name__)
Progress = Callable[[CallOutcome], None]
# Calls analysed at once, with a Prefect server or without: two suits the 2-core machine (the embedder's worker
# processes and the Whisper threads share the cores between them).
MAX_WORKERS = 2


@dataclass
class RunContext:
    """What every per-call task shares in one run; the index opens only if some call needs writing."""

    settings: Settings
    engines: Engines
    store: Store
    fingerprint: str
    on_progress: Progress | None = None
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    @cached_property
    def index(self) -> Index:
        return Index(self.settings, self.engines.embedder)

    @cached_property
    def redactor(self) -> Redactor | None:
        """Masks what failures quote from a transcript, when nothing unredacted may be stored."""
        privacy = self.settings.privacy
        return Redactor(privacy.names) if privacy.redact_stored else None

    def tell(self, outcome: CallOutcome) -> CallOutcome:
        if self.redactor and outcome.problem:  # a parse error quotes the failing line; the run log is stored
            outcome = outcome.model_copy(update={"problem": private_problem(outcome.problem, self.redactor)})
        if self.on_progress:
            self.on_progress(outcome)
        return outcome


_QUOTED_TAIL = re.compile(r"""(?<=: )(['"]).*\1$""")


def private_problem(problem: str, redactor: Redactor) -> str:
    """A failure as it may be stored and shown under privacy.redact_stored.

    Readers end a failure with the start of the offending line, cut at a fixed width (`...: 'REP hello...'`); a
    value cut in half (`zeb.q@example-`) no longer looks like an email or a card number, so no pattern can be
    trusted with it: the quoted line is withheld (the message keeps the line number), the rest is redacted."""
    return redactor.text(_QUOTED_TAIL.sub("(the line is withheld: privacy.redact_stored)", problem))


@dataclass
class AnalyzeRequest:
    """A run's arguments, handed to the flow by reference: Prefect stores flow parameters in its database, and
    settings hold names to redact and perhaps a database password."""

    settings: Settings
    inputs: RunInputs
    deals: Path | None = None
    on_progress: Progress | None = None
    on_total: Callable[[int], None] | None = None
    prune: bool = False
    playbook: Playbook | None = None  # loaded when the inputs were checked


# persist_result=False here and below: results hold quotes and failures; Prefect would write them to its
# storage under PREFECT_HOME whenever results persistence is switched on, whatever privacy.redact_stored says
@task(name="analyze-call", cache_policy=NO_CACHE, task_run_name="analyze {planned.name}", persist_result=False)
def analyze_call_task(planned: Planned, ctx: RunContext) -> CallOutcome:
    started = time.perf_counter()
    path = planned.call.path
    try:
        outcome = _analyze(planned, ctx, started)
    except WinlossError as exc:
        problem = exc.problem if isinstance(exc, BadInputError) else str(exc)
        outcome = CallOutcome(path=path, status="failed", call_id=planned.call.call_id, problem=problem)
    except Exception as exc:  # one broken call must not sink the batch; the traceback goes to the log
        log.exception("unexpected error analysing %s", path)
        outcome = CallOutcome(path=path, status="failed", call_id=planned.call.call_id,
                              problem=f"internal error: {type(exc).__name__}: {exc}")
    return ctx.tell(outcome)


def _analyze(planned: Planned, ctx: RunContext, started: float) -> CallOutcome:
    call = planned.call
    stored = ctx.store.analysed_as(call.call_id) if planned.known else None
    if stored == (call.content_hash, ctx.fingerprint):
        ctx.store.update_call_metadata(call)
        return CallOutcome(path=call.path, status="unchanged", call_id=call.call_id)
    if stored and stored[0] == call.content_hash and same_transcript(stored[1], ctx.fingerprint):
        # the same bytes, and only the playbook or the labels changed: new findings, no transcription
        analysis = extract_call(call, ctx.store.transcript(call.call_id), ctx.engines)
    else:
        analysis = analyse_call(call, ctx.engines, planned.row)
    outcome_of_deal = ctx.store.outcome_of(call.deal_id)
    with ctx.write_lock:  # SQLite and the local Chroma index take one writer at a time
        # Index first: the store's row (with its content hash and fingerprint) is what marks a call done, so a
        # failure between the two writes leaves the call to be analysed again rather than missing from the index.
        # Both replace what was stored for this call id: a changed file leaves no stale rows or vectors.
        ctx.index.upsert_call(analysis, outcome_of_deal)
        ctx.store.save_analysis(analysis, ctx.fingerprint)
    return CallOutcome(path=call.path, status="analysed", call_id=call.call_id, findings=len(analysis.findings),
                       seconds=round(time.perf_counter() - started, 2), note=analysis.note)


def analyze_calls(settings: Settings, paths: list[Path], manifest: Path | None = None, deals: Path | None = None,
                  on_progress: Progress | None = None, *, on_total: Callable[[int], None] | None = None,
                  allow_outside: bool = False, prune: bool = False, wait_s: float = 0) -> Outcomes:
    """Analyse files, folders or a manifest's rows. `allow_outside`: manifest rows may name files outside the
    manifest's folder; `prune`: forget the calls the run reports missing; `wait_s`: how long to wait for another
    writer of the data dir to finish before giving up (0: refuse at once).

    The inputs are checked and the data dir locked before the flow starts: a refused run is one error line,
    not a failed flow run with a traceback, and leaves nothing behind."""
    playbook = load_playbook(settings.playbook)  # a broken playbook is said before the lock, the store or a model
    redact = Redactor(settings.privacy.names).text if settings.privacy.redact_stored else None
    inputs = gather(list(paths), manifest, deals, allow_outside, redact)
    request = AnalyzeRequest(settings=settings, inputs=inputs, deals=deals, on_progress=on_progress,
                             on_total=on_total, prune=prune, playbook=playbook)
    address = settings.orchestration.dask_address
    if address:
        cluster.require_shared_storage(settings)
    with data_lock(settings.data_dir, "analyze", wait_s=wait_s), by_reference(request) as key:
        if prefect_api_url():
            run_flow = analyze_calls_flow.with_options(task_runner=cluster.dask_task_runner(address)) if address \
                else analyze_calls_flow
            return run_flow(key)
        return _run(deref(key), cluster.on_dask(address) if address else _in_process)


def prefect_api_url() -> str | None:
    """The Prefect server runs report to, when one is configured; None means no server is started."""
    from prefect.settings import get_current_settings

    return get_current_settings().api.url


@flow(name="analyze_calls", task_runner=ThreadPoolTaskRunner(max_workers=MAX_WORKERS), validate_parameters=False,
      persist_result=False)
def analyze_calls_flow(request: str) -> Outcomes:
    """The run behind analyze_calls; `request` is the key of its AnalyzeRequest (flows/refs.py). With
    orchestration.dask_address its task runner is a DaskTaskRunner (analyze_calls sets it) and the calls are the
    cluster's tasks (flows/cluster.py)."""
    req = deref(request)
    return _run(req, cluster.mapped_on_dask if req.settings.orchestration.dask_address else _mapped)


FanOut = Callable[[list[Planned], RunContext], list[CallOutcome]]


def _mapped(planned: list[Planned], ctx: RunContext) -> list[CallOutcome]:
    """Each call a Prefect task run, on the flow's thread pool."""
    # quote: Prefect would otherwise walk the whole context (settings, engines) for futures on every task
    return [f.result() for f in analyze_call_task.map(planned, unmapped(quote(ctx)))]


def _in_process(planned: list[Planned], ctx: RunContext) -> list[CallOutcome]:
    """The same task function on a pool of the same size, with no orchestrator: it catches each call's errors
    itself, so there is nothing for Prefect's state tracking to add here."""
    with ThreadPoolExecutor(MAX_WORKERS, thread_name_prefix="analyze") as pool:
        return list(pool.map(lambda p: analyze_call_task.fn(p, ctx), planned))


def _run(req: AnalyzeRequest, fan_out: FanOut) -> Outcomes:
    settings, inputs = req.settings, req.inputs
    app = App(settings, playbook=req.playbook)
    store = app.store
    store.upsert_deals(inputs.deals)
    warnings = [*inputs.warnings, *unknown_deals(inputs, store.deal_ids(), req.deals)]
    engines = app.engines(transcripts=sum(s.path.suffix.lower() in TRANSCRIPT_SUFFIXES for s in inputs.sources))
    ctx = RunContext(settings=settings, engines=engines, store=store, fingerprint=engines.fingerprint,
                     on_progress=req.on_progress)
    planned, problems = plan(inputs.sources, store, engines.objects)
    seen = {p.call.call_id for p in planned} | {o.call_id for o in problems if o.call_id}
    problems += missing(store, inputs.complete, seen)
    if req.on_total:
        req.on_total(len(planned) + len(problems))
    run_id = store.start_run(engines.transcriber_name, settings.extraction.engine, ctx.fingerprint)
    try:
        if store.index_stale():  # an upgraded store: the index must carry its new call ids before anything else
            rekey(store, ctx.index)
        problems = [ctx.tell(_advised(p, req.prune)) for p in problems]
        outcomes = fan_out(planned, ctx)
    finally:
        engines.close()
    result = Outcomes([*outcomes, *problems], warnings)
    if req.prune:
        _forget(ctx, [o.call_id for o in result if o.status == "missing" and o.call_id])
    result.warnings += _index_warning(ctx)
    store.finish_run(run_id, result, result.warnings)
    return result


def _advised(outcome: CallOutcome, prune: bool) -> CallOutcome:
    """A missing call's outcome says what became of its stored analysis, and what to do about it."""
    if outcome.status != "missing":
        return outcome
    then = ("its analysis is removed (--prune)" if prune else "its earlier analysis is still stored and counted; "
            "`winloss analyze --prune` with the same inputs removes it")
    return outcome.model_copy(update={"problem": f"{outcome.problem}; {then}"})


def _forget(ctx: RunContext, call_ids: list[str]) -> None:
    """Calls whose source is gone: out of the index and the store (their labels stay, with their sentences)."""
    for call_id in call_ids:
        ctx.index.delete_call(call_id)
        ctx.store.delete_call(call_id)


def _index_warning(ctx: RunContext) -> list[str]:
    """A run that leaves store and index disagreeing says so (a reindex killed earlier, a lost index)."""
    state = health(ctx.store, ctx.index)
    if state.ok:
        return []
    return ["the index does not match the store (" + "; ".join(
        f"{k}: {state.store[k]} stored, {state.index.get(k, 0)} indexed" for k in state.store)
        + "): run `winloss reindex`; `winloss doctor` shows the details"]


@flow(name="analyze_drop_folder", validate_parameters=True, persist_result=False)
def analyze_drop_folder(config: str, data_dir: str | None = None) -> dict[str, int]:
    """The scheduled pick-up: analyse what is new in report.drop_folder (unchanged files cost nothing).

    A calls.csv / deals.csv in the folder are read as its manifest and CRM export."""
    settings = load_settings(Path(config), data_dir=Path(data_dir) if data_dir else None)
    folder = Path(settings.report.drop_folder)
    if not folder.is_dir():
        raise WinlossError(f"report.drop_folder {folder} is not a folder: create it or set drop_folder = \"\"")
    if not discover([folder]):
        return {}  # nothing dropped yet: not an error for a schedule
    manifest, deals = folder / "calls.csv", folder / "deals.csv"
    # a schedule has no one to tell "busy, try again": it waits for a manual run to finish (an hour at most)
    outcomes = analyze_calls(settings, [folder], manifest=manifest if manifest.exists() else None,
                             deals=deals if deals.exists() else None, wait_s=3600)
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    return counts

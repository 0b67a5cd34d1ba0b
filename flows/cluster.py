"""Analysis fanned out on a Dask cluster (orchestration.dask_address): one call per task, on any worker.

The coordinating process (`winloss analyze`) still checks the inputs, holds the data dir's lock, plans the calls
and records the run; the workers decode, transcribe, extract and write. They write to the shared PostgreSQL
store and Chroma server, each call the way a local run writes it: the index first, then the store's row that marks
the call done. So a worker lost mid-call costs that call only: Dask runs it again on another worker (or the next
`winloss analyze` finds it not done), and the upserts by call id leave no duplicate rows or vectors.

With a Prefect server the calls are Prefect task runs on prefect-dask's DaskTaskRunner (they show in the UI);
without one the same function is submitted to a `distributed.Client` directly: Prefect would otherwise start a
throwaway API server for each run (flows/analyze.py), and Dask alone already retries a task whose worker died.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import uuid
from dataclasses import dataclass

from prefect import task, unmapped
from prefect.cache_policies import NO_CACHE
from winloss.pipeline.app import App
from winloss.pipeline.errors import ConfigError, WinlossError
from winloss.pipeline.ingest.identity import Planned
from winloss.pipeline.models import CallOutcome
from winloss.pipeline.playbook import Playbook
from winloss.pipeline.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerJob:
    """What a worker needs to analyse a run's calls: small and picklable. The reviewers' labels are not in it:
    each worker reads them from the shared store, and `fingerprint` proves it read the same ones."""

    settings: Settings
    playbook: Playbook
    fingerprint: str

    @property
    def key(self) -> str:
        """One worker cache entry per configuration: same analysis fingerprint and same store and index."""
        where = self.settings.model_dump_json(include={"storage", "transcription", "embeddings", "extraction",
                                                       "llm", "privacy"})
        return self.fingerprint + hashlib.sha256(where.encode()).hexdigest()[:16]


def require_shared_storage(settings: Settings) -> None:
    """Workers in many processes, perhaps on many machines, need one store and one index they can all reach;
    and this process needs the cluster's client libraries."""
    import importlib.util

    if not all(importlib.util.find_spec(m) for m in ("distributed", "prefect_dask")):
        raise ConfigError(f"orchestration.dask_address is set ({settings.orchestration.dask_address}) but Dask's "
                          f"client is not installed: pip install 'winloss[cluster]', or set dask_address = \"\"")
    missing = [name for name, value in (("storage.database_url", settings.storage.database_url),
                                        ("storage.chroma_url", settings.storage.chroma_url)) if not value]
    if missing or settings.database_url.startswith("sqlite"):
        raise ConfigError(
            f"orchestration.dask_address is set ({settings.orchestration.dask_address}), so calls are analysed by "
            f"the cluster's workers, which need a shared store and index: set storage.database_url to a PostgreSQL "
            f"URL and storage.chroma_url to a Chroma server (README, \"Running on a cluster\"), or set "
            f"dask_address = \"\" to analyse here")


# --- in each worker process ------------------------------------------------------------------------------------

# The worker cache: one RunContext (engines with their loaded models, store, index) per configuration, kept for
# the life of the worker process so that models load once per process, not once per call. Module state on
# purpose, and only ever read in Dask worker processes (through analyze_on_worker); a local run never touches it.
_WORKER_CONTEXTS: dict[str, object] = {}
_WORKER_LOCK = threading.Lock()


def _worker_threads() -> int:
    """The cores this worker process is given (`dask worker --nthreads`); 1 outside a worker."""
    try:
        from distributed import get_worker

        return max(1, get_worker().state.nthreads)
    except ValueError:  # not in a Dask worker (a test calling the function directly)
        return 1


def worker_context(job: WorkerJob):
    """This process's RunContext for `job`, built on the first call of a configuration and kept."""
    from .analyze import RunContext

    with _WORKER_LOCK:
        ctx = _WORKER_CONTEXTS.get(job.key)
        if ctx is not None:
            return ctx
        for old in _WORKER_CONTEXTS.values():  # a new configuration: the old models go
            old.engines.close()
        _WORKER_CONTEXTS.clear()
        threads = _worker_threads()
        import torch

        # A worker is the unit of parallelism: its models use the cores it was given, and it starts no embedding
        # processes of its own (Dask's worker processes are daemons, which may not have children). Dask's nanny
        # already holds BLAS to one thread; the tokenizers' thread pool is ours to size (set before it starts): left
        # at one thread per machine core, a lone worker borrowed the idle core and a pair spent 10-20% more CPU per
        # call than one alone: two workers did 1.51x one, against 1.66-1.72x (bench/scale.py, docs/PERFORMANCE.md).
        torch.set_num_threads(threads)
        if threads == 1:
            os.environ["TOKENIZERS_PARALLELISM"] = "false"
        else:
            os.environ.setdefault("RAYON_NUM_THREADS", str(threads))
        t = job.settings.transcription
        settings = job.settings.model_copy(update={
            "embeddings": job.settings.embeddings.model_copy(update={"processes": 0}),
            "transcription": t if t.cpu_threads else t.model_copy(update={"cpu_threads": threads})})
        app = App(settings, playbook=job.playbook)
        store, engines = app.store, app.engines()
        if engines.fingerprint != job.fingerprint:
            raise WinlossError(f"this worker's analysis fingerprint {engines.fingerprint} is not the run's "
                               f"{job.fingerprint}: the worker runs another winloss version, or the labels changed "
                               f"during the run; install the same winloss on every worker and run again")
        ctx = RunContext(settings=settings, engines=engines, store=store, fingerprint=job.fingerprint)
        _WORKER_CONTEXTS[job.key] = ctx
        return ctx


def analyze_on_worker(planned: Planned, job: WorkerJob) -> CallOutcome:
    """One call, analysed and written by the worker process this runs in."""
    from .analyze import analyze_call_task

    try:
        ctx = worker_context(job)
    except WinlossError as exc:
        return CallOutcome(path=planned.call.path, status="failed", call_id=planned.call.call_id, problem=str(exc))
    return analyze_call_task.fn(planned, ctx)


@task(name="analyze-call", cache_policy=NO_CACHE, task_run_name="analyze {planned.name}", persist_result=False)
def analyze_call_on_worker(planned: Planned, job: WorkerJob) -> CallOutcome:
    return analyze_on_worker(planned, job)


# --- in the coordinating process -------------------------------------------------------------------------------

def job_of(ctx) -> WorkerJob:
    return WorkerJob(settings=ctx.settings, playbook=ctx.engines.playbook, fingerprint=ctx.fingerprint)


def _lost(planned: Planned, exc: BaseException) -> CallOutcome:
    return CallOutcome(path=planned.call.path, status="failed", call_id=planned.call.call_id,
                       problem=f"lost on the cluster ({type(exc).__name__}: {exc}); it is not stored: run "
                               f"`winloss analyze` again to analyse it")


def _told(ctx, outcome: CallOutcome) -> CallOutcome:
    """A worker's outcome, told to the run's progress (the worker already redacted it)."""
    if ctx.on_progress:
        ctx.on_progress(outcome)
    return outcome


def on_dask(address: str):
    """A fan-out (flows/analyze.py's FanOut) that submits each call to the Dask scheduler at `address`."""

    def fan_out(planned: list[Planned], ctx) -> list[CallOutcome]:
        from distributed import Client, as_completed

        if not planned:
            return []
        job = job_of(ctx)
        try:
            client = Client(address, set_as_default=False, timeout="20s")
        except OSError as exc:
            raise WinlossError(f"orchestration.dask_address {address}: no Dask scheduler answers ({exc}); start "
                               f"one (`dask scheduler`) or set dask_address = \"\" to analyse here") from None
        with client:
            # a key of this run: a call submitted again (a re-run) is new work, not a result Dask may hand back
            run = uuid.uuid4().hex[:8]
            futures = {client.submit(analyze_on_worker, p, job, key=f"analyze-{p.call.call_id}-{run}"): p
                       for p in planned}
            done: dict[str, CallOutcome] = {}
            for future in as_completed(futures, loop=client.loop):  # this client's: there may be no default one
                p = futures[future]
                try:
                    outcome = future.result()
                except Exception as exc:  # the worker died more often than Dask allows (KilledWorker), or a bug
                    log.warning("call %s lost on the cluster: %s", p.call.path, exc)
                    outcome = _lost(p, exc)
                done[p.call.call_id] = _told(ctx, outcome)
        return [done[p.call.call_id] for p in planned]

    return fan_out


def mapped_on_dask(planned: list[Planned], ctx) -> list[CallOutcome]:
    """Each call a Prefect task run on the flow's DaskTaskRunner, told as it finishes."""
    from prefect.futures import as_completed

    # not quote()d as flows/analyze.py does for the local context: the annotation reaches a Dask worker as a bare
    # tuple; the job is small, Prefect's walk over it for futures costs little
    futures = analyze_call_on_worker.map(planned, unmapped(job_of(ctx)))
    by_future = {f.task_run_id: p for f, p in zip(futures, planned, strict=True)}
    done: dict[str, CallOutcome] = {}
    for future in as_completed(futures):
        p = by_future[future.task_run_id]
        try:
            outcome = future.result()
        except Exception as exc:
            log.warning("call %s lost on the cluster: %s", p.call.path, exc)
            outcome = _lost(p, exc)
        done[p.call.call_id] = _told(ctx, outcome)
    return [done[p.call.call_id] for p in planned]


def dask_task_runner(address: str):
    from prefect_dask import DaskTaskRunner

    return DaskTaskRunner(address=address)

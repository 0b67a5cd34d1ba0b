"""Analysis on a real Dask cluster: a scheduler and two worker processes on loopback, a PostgreSQL store and a
Chroma server, against a local run of the same demo transcripts.

The cluster's run must store the same calls and findings and answer searches the same way as the local run; a
worker killed in the middle of a run must still leave every call analysed once, its store and index agreeing.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import signal
from pathlib import Path

import pytest

from .conftest import CONFIG, EXAMPLES, POSTGRES_ENV, fresh_postgres

pytestmark = pytest.mark.slow
QUERIES = ["it is too expensive for our budget", "we already use another vendor", "how long does onboarding take"]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    """The 24 demo calls as their text transcripts, with the demo's dates, reps and deals."""
    tmp = tmp_path_factory.mktemp("corpus")
    with (EXAMPLES / "calls.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["path"].startswith("calls/")]
    for r in rows:
        r["path"] = str(EXAMPLES / "scripts" / (Path(r["path"]).stem + ".txt"))
    path = tmp / "calls.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def dask_cluster():
    """A scheduler and two single-threaded worker processes (each under a nanny that restarts it), on loopback."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster, set_as_default=False) as client:
        yield cluster, client


def analyse(settings, manifest: Path, on_progress=None):
    from winloss.flows.analyze import analyze_calls

    return analyze_calls(settings, [], manifest=manifest, deals=EXAMPLES / "deals.csv", allow_outside=True,
                         on_progress=on_progress)


def snapshot(settings) -> dict:
    """What a user sees of a run: the calls, their findings, search results, store and index agreeing."""
    from winloss.pipeline.insight.queries import Filters, search
    from winloss.pipeline.providers.embed import build_embedder
    from winloss.pipeline.storage.index import Index
    from winloss.pipeline.storage.reindex import health
    from winloss.pipeline.storage.store import Store

    store = Store(settings.database_url)
    index = Index(settings, build_embedder(settings.embeddings, queries=True))
    calls = sorted((c.call_id, Path(c.path).name, c.deal_id, c.content_hash) for c in store.stored_calls())
    findings = sorted(json.dumps(f.model_dump(mode="json", exclude={"confidence"}), sort_keys=True)
                      for f in store.findings())
    hits = {q: ranked(search(store, index, q, Filters(), limit=8)) for q in QUERIES}
    state = health(store, index)
    store.engine.dispose()
    return {"calls": calls, "findings": findings, "search": hits, "ok": state.ok, "counts": state.store}


def ranked(hits) -> dict:
    """Search results as a user reads them: the quotes in rank order with their scores, and which calls they are
    from. The demo repeats some sentences in several calls: hits of equal score come in either order, and where
    such a tie is cut by the limit, which of the tied calls made it is not compared."""
    last = round(hits[-1].score, 3) if hits else None
    return {"quotes": [(round(h.score, 3), h.collection, h.quote) for h in hits],
            "calls": sorted((h.call_id, h.at) for h in hits if round(h.score, 3) != last)}


@pytest.fixture(scope="module")
def local(manifest, tmp_path_factory) -> dict:
    """The same transcripts analysed in this process (SQLite, a local Chroma index): what the cluster must match."""
    from winloss.pipeline.settings import load_settings

    settings = load_settings(CONFIG, data_dir=tmp_path_factory.mktemp("local") / "data")
    assert not settings.orchestration.dask_address
    outcomes = analyse(settings, manifest)
    assert [o.status for o in outcomes] == ["analysed"] * 24, [o.problem for o in outcomes]
    return snapshot(settings)


@pytest.fixture()
def database(request):
    """A fresh PostgreSQL database for one test (skips without a server), dropped after it."""
    import sqlalchemy as sa

    name = f"winloss_{request.node.name.removeprefix('test_')[:20]}_{os.getpid()}"
    yield fresh_postgres(name)
    admin = sa.create_engine(os.environ[POSTGRES_ENV], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # FORCE: the workers keep their connections open (their cached store)
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def on_cluster(tmp: Path, scheduler: str, chroma_url: str, database: str):
    """Settings that send the analysis to the cluster, with a fresh database and an empty index on the server."""
    import chromadb
    from winloss.pipeline.settings import load_settings

    client = chromadb.HttpClient(host="127.0.0.1", port=int(chroma_url.rsplit(":", 1)[1]))
    for collection in client.list_collections():
        client.delete_collection(collection.name)
    settings = load_settings(CONFIG, data_dir=tmp / "data")
    return settings.model_copy(update={
        "storage": settings.storage.model_copy(update={"database_url": database,
                                                       "chroma_url": chroma_url}),
        "orchestration": settings.orchestration.model_copy(update={"dask_address": scheduler})})


def worker_contexts(client) -> dict[str, int]:
    """Per worker process: the identity of its cached engines' embedder (loaded once, kept across calls)."""
    def probe():
        from winloss.flows.cluster import _WORKER_CONTEXTS

        return [id(ctx.engines.__dict__.get("embedder")) for ctx in _WORKER_CONTEXTS.values()]

    return client.run(probe)


def test_cluster_run_matches_local_run(dask_cluster, chroma_server, manifest, local, database, tmp_path):
    cluster, client = dask_cluster
    settings = on_cluster(tmp_path, cluster.scheduler_address, chroma_server, database)
    told = []
    outcomes = analyse(settings, manifest, told.append)
    assert [o.status for o in outcomes] == ["analysed"] * 24, [o.problem for o in outcomes]
    assert sorted(o.call_id for o in told) == sorted(o.call_id for o in outcomes)  # progress from the workers
    result = snapshot(settings)
    assert result == local
    assert result["ok"] and len(result["findings"]) > 30

    # both workers took calls, and each loaded its models once and kept them for the next run
    loaded = worker_contexts(client)
    assert len(loaded) == 2 and all(len(ids) == 1 and ids[0] for ids in loaded.values()), loaded
    # a one-thread worker's tokenizer starts no thread per machine core (they cost a pair of workers CPU)
    def tokenizer_parallelism():  # read in the worker (os.environ.get itself would carry this process's environ)
        return os.environ.get("TOKENIZERS_PARALLELISM")

    assert set(client.run(tokenizer_parallelism).values()) == {"false"}
    again = analyse(settings, manifest)
    assert [o.status for o in again] == ["unchanged"] * 24
    assert worker_contexts(client) == loaded


def subset(manifest: Path, n: int, folder: Path) -> Path:
    """The manifest's first `n` calls."""
    out = folder / f"first{n}.csv"
    out.write_text("\n".join(manifest.read_text().splitlines()[:n + 1]) + "\n")
    return out


def same_as_local(result: dict, local: dict, ids: set[str]) -> None:
    """A run over some of the demo calls stored them as the local run did: the same calls and findings, and an
    index that agrees with the store."""
    assert result["calls"] == [c for c in local["calls"] if c[0] in ids]
    assert result["findings"] == [f for f in local["findings"] if json.loads(f)["call_id"] in ids]
    assert result["ok"]


def test_killed_worker_costs_only_its_call(dask_cluster, chroma_server, manifest, local, database, tmp_path):
    cluster, client = dask_cluster
    settings = on_cluster(tmp_path, cluster.scheduler_address, chroma_server, database)
    twelve = subset(manifest, 12, tmp_path)
    pids = client.run(os.getpid)
    killed: list[str] = []

    def kill_a_busy_worker(outcome) -> None:
        """At the first finished call, SIGKILL a worker that holds calls in progress (its nanny restarts it)."""
        if killed:
            return
        busy = [w for w, keys in client.processing().items() if keys and w in pids]
        assert busy, "no worker had calls left to lose"
        os.kill(pids[busy[0]], signal.SIGKILL)
        killed.append(busy[0])

    outcomes = analyse(settings, twelve, kill_a_busy_worker)
    assert killed
    statuses = [o.status for o in outcomes]
    # a call whose result was still on the killed worker is done again: then it finds itself stored, unchanged
    assert set(statuses) <= {"analysed", "unchanged", "failed"}, statuses
    lost = [o for o in outcomes if o.status == "failed"]
    assert all("lost on the cluster" in o.problem for o in lost), [o.problem for o in lost]
    if lost:  # Dask gave up on a call (KilledWorker): the re-run picks it up, and only it
        again = analyse(settings, twelve)
        assert sorted(o.call_id for o in again if o.status == "analysed") == sorted(o.call_id for o in lost)
    # every call once (one row each, and as many vectors as rows), with the local run's findings
    result = snapshot(settings)
    same_as_local(result, local, {o.call_id for o in outcomes})
    assert len(result["calls"]) == 12


def test_prefect_runs_the_calls_on_the_dask_task_runner(dask_cluster, chroma_server, prefect_server, manifest, local,
                                                       database, tmp_path):
    """With a Prefect server the calls are task runs of the analyze_calls flow, on prefect-dask's DaskTaskRunner
    pointed at the same scheduler: same calls and findings as the local run (six of the demo calls here)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterStartTime
    from prefect.settings import PREFECT_API_URL, temporary_settings

    cluster, _ = dask_cluster
    settings = on_cluster(tmp_path, cluster.scheduler_address, chroma_server, database)
    six = subset(manifest, 6, tmp_path)
    began = dt.datetime.now(dt.UTC)
    with temporary_settings({PREFECT_API_URL: prefect_server}):
        outcomes = analyse(settings, six)
        with get_client(sync_client=True) as client:  # the server is the session's: only this run's flow run
            flows = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["analyze_calls"])),
                                          flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(
                                              after_=began)))
    assert [o.status for o in outcomes] == ["analysed"] * 6, [o.problem for o in outcomes]
    # One completed analyze_calls flow run on the server. Its task runs' states travel from the Dask workers as
    # events; in the full suite another test's Prefect harness can hold the workers' event client, so their
    # count is not asserted here (they were 6, completed, when this test ran alone).
    assert [f.state_type.value for f in flows] == ["COMPLETED"]
    same_as_local(snapshot(settings), local, {o.call_id for o in outcomes})


def test_cluster_address_from_env_needs_a_shared_store_and_index(monkeypatch, manifest, tmp_path):
    from winloss.pipeline.errors import ConfigError
    from winloss.pipeline.settings import load_settings

    monkeypatch.setenv("WINLOSS_ORCHESTRATION__DASK_ADDRESS", "tcp://127.0.0.1:8786")
    settings = load_settings(CONFIG, data_dir=tmp_path / "data")
    assert settings.orchestration.dask_address == "tcp://127.0.0.1:8786"
    with pytest.raises(ConfigError, match=r"storage.database_url to a PostgreSQL URL and storage.chroma_url"):
        analyse(settings, manifest)
    assert not (tmp_path / "data" / "winloss.db").exists()  # refused before anything was written

#!/usr/bin/env python3
"""Scale-out: calls analysed per minute by 1 and 2 Dask workers (text transcripts), and the per-worker rate.

For each worker count: a Dask LocalCluster of that many single-threaded worker processes on loopback, a fresh
PostgreSQL database and an empty Chroma server index (both shared by the workers, as on a cluster); the workers
load their models first (timed apart: once per worker process), then the generated corpus is analysed through
`analyze_calls` with orchestration.dask_address pointing at the cluster.

    export WINLOSS_TEST_POSTGRES_URL=$(bash .ci/postgres.sh)
    .venv/bin/python bench/scale.py --calls 48 --workers 1 2 --repeat 3
    .venv/bin/python bench/scale.py --audio 6 --workers 1     # the first 6 demo recordings: audio per worker

Prints one JSON object; figures and sizing go to docs/PERFORMANCE.md ("Scale-out on Dask").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import ROOT, generate

sys.path.insert(0, str(ROOT))
from tests.servers import create_database, drop_database, start_chroma  # the test suite's servers, as in CI


def empty_index(url: str) -> None:
    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=int(url.rsplit(":", 1)[1]))
    for collection in client.list_collections():
        client.delete_collection(collection.name)


def demo_audio(folder: Path, n: int) -> Path:
    """A manifest of the first `n` demo recordings (examples/calls), with their dates, reps and deals."""
    import csv

    with (ROOT / "examples" / "calls.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["path"].startswith("calls/")][:n]
    for r in rows:
        r["path"] = str(ROOT / "examples" / r["path"])
    out = folder / "audio.csv"
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return out


def cpu_s(pid: int | None = None) -> float:
    """CPU seconds (user + system) a process has used: this one by default."""
    with open(f"/proc/{pid or os.getpid()}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def warm(job, audio: bool) -> float:
    """On a worker: build its cached engines, store and index and load the models; seconds it took."""
    from winloss.flows.cluster import worker_context

    t0 = time.perf_counter()
    ctx = worker_context(job)
    ctx.engines.embedder.embed(["warm up"])
    _ = ctx.engines.extractor, ctx.index
    if audio:
        _ = ctx.engines.transcriber, ctx.engines.multilingual, ctx.engines.speaker_encoder
    return time.perf_counter() - t0


def measure(workers: int, settings, manifest: Path, deals: Path, calls: int, audio: bool, chroma_pid: int) -> dict:
    from distributed import Client, LocalCluster
    from winloss.flows.analyze import analyze_calls
    from winloss.flows.cluster import WorkerJob
    from winloss.pipeline.analyze import Engines
    from winloss.pipeline.playbook import load_playbook

    playbook = load_playbook(settings.playbook)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster, set_as_default=False) as client:
        settings = settings.model_copy(update={"orchestration": settings.orchestration.model_copy(
            update={"dask_address": cluster.scheduler_address})})
        job = WorkerJob(settings=settings, playbook=playbook, fingerprint=Engines(settings, playbook).fingerprint)
        loads = client.run(warm, job, audio)
        load = os.getloadavg()[0]
        # CPU seconds of each part, to tell a shortage of cores (other work on the machine) from waiting
        before = {"workers": sum(client.run(cpu_s).values()), "coordinator": cpu_s(), "chroma": cpu_s(chroma_pid)}
        t0 = time.perf_counter()
        outcomes = analyze_calls(settings, [], manifest=manifest, deals=deals, allow_outside=True)
        seconds = time.perf_counter() - t0
        after = {"workers": sum(client.run(cpu_s).values()), "coordinator": cpu_s(), "chroma": cpu_s(chroma_pid)}
    statuses = [o.status for o in outcomes]
    assert statuses == ["analysed"] * calls, [o.problem for o in outcomes if o.status != "analysed"][:3]
    from winloss.pipeline.storage.store import Store

    store = Store(settings.database_url)
    audio_s = sum(c.duration for c in store.list_calls())
    store.engine.dispose()
    return {"workers": workers, "calls": calls, "seconds": round(seconds, 1),
            "audio_min": round(audio_s / 60, 1), "x_real_time": round(audio_s / seconds, 1),
            "calls_per_min": round(calls / seconds * 60, 1),
            "calls_per_min_per_worker": round(calls / seconds * 60 / workers, 1),
            "median_call_s": statistics.median(o.seconds for o in outcomes if o.seconds is not None),
            "cpu_s_per_call": {k: round((after[k] - before[k]) / calls, 3) for k in after},
            "model_load_s": sorted(round(s, 1) for s in loads.values()), "load_avg_1m_at_start": round(load, 2),
            "load_avg_1m_at_end": round(os.getloadavg()[0], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=48)
    parser.add_argument("--per-call", type=int, default=60, help="turns per generated call (about 10 minutes)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each worker count, alternating; their medians "
                        "are compared (one run's rate moves by 10-20%% on a shared machine)")
    parser.add_argument("--audio", type=int, help="analyse the first N demo recordings instead of transcripts")
    parser.add_argument("--database-url", default=os.environ.get("WINLOSS_TEST_POSTGRES_URL"),
                        help="a PostgreSQL URL whose user may create databases (default: WINLOSS_TEST_POSTGRES_URL)")
    args = parser.parse_args()
    if not args.database_url:
        raise SystemExit("give --database-url or export WINLOSS_TEST_POSTGRES_URL=$(bash .ci/postgres.sh)")

    from winloss.pipeline.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "calls").mkdir()
        if args.audio:
            manifest, deals, utterances = demo_audio(work, args.audio), ROOT / "examples" / "deals.csv", 0
            args.calls = args.audio
        else:
            manifest, deals, utterances = generate(work, args.calls, args.per_call)
        chroma, chroma_url = start_chroma(work / "chroma")
        results = []
        try:
            for n in [n for _ in range(args.repeat) for n in args.workers]:  # alternating: 1, 2, 1, 2, ...
                empty_index(chroma_url)
                shutil.rmtree(work / "data", ignore_errors=True)
                settings = load_settings(ROOT / "config" / "winloss.toml", data_dir=work / "data")
                settings = settings.model_copy(update={"storage": settings.storage.model_copy(update={
                    "database_url": create_database(args.database_url, f"winloss_scale_{n}"),
                    "chroma_url": chroma_url})})
                results.append(measure(n, settings, manifest, deals, args.calls, bool(args.audio), chroma.pid))
                drop_database(args.database_url, f"winloss_scale_{n}")
                print(json.dumps(results[-1]), file=sys.stderr)
        finally:
            chroma.terminate()
            chroma.wait(timeout=30)
    rate = {n: statistics.median(r["calls_per_min"] for r in results if r["workers"] == n) for n in args.workers}
    base = rate[args.workers[0]] / args.workers[0]
    print(json.dumps({
        "corpus": {"calls": args.calls, "audio": bool(args.audio), "utterances": utterances,
                   "turns_per_call": None if args.audio else args.per_call},
        "runs": results,
        "median_calls_per_min": rate,
        "speedup_vs_one_worker": {n: round(r / base, 2) for n, r in rate.items()},  # of the medians
        "cores": os.cpu_count(), "python": sys.version.split()[0],
    }, indent=2))


if __name__ == "__main__":
    main()

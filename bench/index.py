#!/usr/bin/env python3
"""Scale of the store and the index: ingest throughput and search latency on a generated corpus.

Generates N text transcripts (REP/CUSTOMER lines with [mm:ss] stamps) by sampling turns from the 24 demo
scripts with fresh names, analyses them with the offline engine through the real flow (store + Chroma index),
then times `search` warm (the same call the CLI makes, process start excluded) with and without filters.

    .venv/bin/python bench/index.py --calls 1000             # about 60k utterances
    .venv/bin/python bench/index.py --utterances 100000      # as many calls as it takes

Prints one JSON object; figures go to docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import QUERIES, REPS, ROOT, generate


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--calls", type=int, default=1000)
    size.add_argument("--utterances", type=int)
    parser.add_argument("--per-call", type=int, default=60)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="data dir to keep (default: a temp dir, removed)")
    args = parser.parse_args()
    calls = -(-args.utterances // args.per_call) if args.utterances else args.calls

    from winloss.flows.analyze import analyze_calls
    from winloss.pipeline.insight.queries import Filters, search
    from winloss.pipeline.providers.embed import build_embedder
    from winloss.pipeline.settings import load_settings
    from winloss.pipeline.storage.index import Index
    from winloss.pipeline.storage.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "calls").mkdir()
        manifest, deals, utterances = generate(work, calls, args.per_call)
        settings = load_settings(ROOT / "config" / "winloss.toml", data_dir=args.keep or work / "data")
        start = time.perf_counter()
        outcomes = analyze_calls(settings, [], manifest=manifest, deals=deals)
        ingest_s = time.perf_counter() - start
        ingest_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        failed = [o for o in outcomes if o.status == "failed"]

        store = Store(settings.database_url)
        index = Index(settings, build_embedder(settings.embeddings))
        stored = store.counts()
        search(store, index, "warm up", Filters(), 10)  # first query loads nothing new; this just warms caches
        timings: dict[str, list[float]] = {"plain": [], "filtered": []}
        for i in range(args.searches):
            query = QUERIES[i % len(QUERIES)]
            for name, filters in (("plain", Filters()), ("filtered", Filters(kind="objection", outcome="lost",
                                                                             rep=REPS[i % len(REPS)]))):
                t0 = time.perf_counter()
                hits = search(store, index, query, filters, 10)
                timings[name].append((time.perf_counter() - t0) * 1000)
                assert hits or name == "filtered", f"no hits for {query!r}"
        result = {
            "calls": calls, "utterances_generated": utterances, "utterances_stored": stored["utterances"],
            "findings": stored["findings"], "failed": len(failed),
            "ingest_s": round(ingest_s, 1), "ingest_utterances_per_s": round(utterances / ingest_s, 1),
            "ingest_peak_rss_mb": round(ingest_rss),
            # the embedding worker processes (embeddings.processes), each its own model and torch
            "embedding_worker_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
            **{f"search_{name}_ms": {"p50": round(percentile(v, 50), 1), "p95": round(percentile(v, 95), 1),
                                     "n": len(v)} for name, v in timings.items()},
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "python": sys.version.split()[0],
        }
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

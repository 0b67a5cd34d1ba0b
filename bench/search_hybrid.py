#!/usr/bin/env python3
"""Where hybrid search spends its time, on an existing data dir: the whole `search` (index + full text + merge)
against the index's query alone and the full-text query alone, interleaved, warm.

    .venv/bin/python bench/index.py --calls 1000 --keep /tmp/bench1000
    .venv/bin/python bench/search_hybrid.py --data-dir /tmp/bench1000

Prints one JSON object; figures go to docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ["HubSpot", "too expensive", '"too expensive"', "we already use Quotient", "integration project", "price"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "winloss.toml")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from winloss.pipeline.insight.queries import Filters, search
    from winloss.pipeline.providers.embed import build_embedder
    from winloss.pipeline.settings import load_settings
    from winloss.pipeline.storage import fulltext
    from winloss.pipeline.storage.index import Index
    from winloss.pipeline.storage.store import Store

    settings = load_settings(args.config, data_dir=args.data_dir)
    store, index = Store(settings.database_url), Index(settings, build_embedder(settings.embeddings))
    search(store, index, "warm up", Filters())
    sides = {"hybrid": lambda q: search(store, index, q, Filters(), 10, tuning=settings.search),
             "index_only": lambda q: index.search(q.replace('"', ""), limit=10),
             "fulltext_only": lambda q: fulltext.exact(store.engine, fulltext.TextQuery.parse(q), "findings", 30)}
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.rounds):
        for query in QUERIES:
            for name, run in sides.items():
                start = time.perf_counter()
                run(query)
                times[name].append((time.perf_counter() - start) * 1000)
    print(json.dumps({"utterances": store.counts()["utterances"], "queries": len(QUERIES) * args.rounds,
                      **{f"{name}_ms_median": round(statistics.median(v), 1) for name, v in times.items()}},
                     indent=2))


if __name__ == "__main__":
    main()

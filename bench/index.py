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
import csv
import json
import random
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINE = re.compile(r"^\[\d\d:\d\d\]\s+(REP|CUSTOMER):\s+(.*)$")
NAMES = ["Dana", "Priya", "Omar", "Lena", "Tomas", "Grace", "Wei", "Sofia", "Noah", "Aisha", "Jonas", "Mira"]
REPS = ["Maya", "Jordan", "Sam", "Alex", "Riley", "Chris"]
# One of these goes into every sentence at a random place: real calls do not repeat each other's sentences, so the
# generated ones must not either, or the embedding cache would flatter the figures.
FILLERS = ["really", "honestly", "basically", "actually", "probably", "definitely", "currently", "generally",
           "frankly", "clearly", "mostly", "roughly", "certainly", "truly", "simply", "already", "still", "just",
           "quite", "rather", "fairly", "pretty", "usually", "often", "sometimes", "typically", "likely", "maybe",
           "perhaps", "surely", "obviously", "literally", "seriously", "essentially", "naturally", "normally",
           "personally", "practically", "realistically", "specifically"]
QUERIES = ["too expensive for our budget", "we already use Quotient", "security review and SOC 2",
           "integration with Salesforce", "how long does onboarding take", "we need to talk to the CFO",
           "your forecast accuracy is better", "not the right time, next quarter", "switching from spreadsheets",
           "pilot with one team first"]


def turns() -> dict[str, list[str]]:
    pool: dict[str, list[str]] = {"REP": [], "CUSTOMER": []}
    for script in sorted((ROOT / "examples" / "scripts").glob("*.txt")):
        for line in script.read_text().splitlines():
            if m := LINE.match(line):
                pool[m.group(1)].append(m.group(2))
    return pool


def vary(text: str, rng: random.Random) -> str:
    out = []
    for sentence in re.split(r"(?<=[.?!])\s+", text):
        words = sentence.split()
        words.insert(rng.randrange(1, len(words)) if len(words) > 1 else 0, rng.choice(FILLERS))
        out.append(" ".join(words))
    return " ".join(out)


def generate(folder: Path, calls: int, per_call: int, seed: int = 7) -> tuple[Path, Path, int]:
    """`calls` transcripts of about `per_call` alternating turns, a manifest and a deals file."""
    rng = random.Random(seed)
    pool = turns()
    total = 0
    with (folder / "calls.csv").open("w", newline="") as mf, (folder / "deals.csv").open("w", newline="") as df:
        manifest, deals = csv.writer(mf), csv.writer(df)
        manifest.writerow(["path", "date", "rep", "account", "deal_id", "channels", "rep_channel"])
        deals.writerow(["deal_id", "outcome", "amount", "close_date", "stage", "rep"])
        for i in range(calls):
            rep, customer = rng.choice(REPS), rng.choice(NAMES)
            n = max(4, int(rng.gauss(per_call, per_call / 6)))
            t, lines = 0, []
            for k in range(n):
                role = "REP" if k % 2 == 0 else "CUSTOMER"
                text = vary(rng.choice(pool[role]).replace("Maya", rep).replace("Dana", customer), rng)
                lines.append(f"[{t // 60:02d}:{t % 60:02d}] {role}: {text}")
                t += 2 + len(text.split()) // 3
            path = folder / "calls" / f"gen_{i:05d}.txt"
            path.write_text("\n".join(lines) + "\n")
            total += n
            deal = f"G-{i // 2:05d}"  # two calls per deal, as real deals have
            manifest.writerow([f"calls/{path.name}", f"2026-{9 + i % 3:02d}-{1 + i % 28:02d}", rep,
                               f"Account {i // 2}", deal, 1, ""])
            if i % 2 == 0:
                deals.writerow([deal, rng.choice(["won", "lost", "lost", "open"]), 30000, "2026-11-30", "", rep])
    return folder / "calls.csv", folder / "deals.csv", total


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
    from winloss.pipeline.embed import build_embedder
    from winloss.pipeline.index import Index
    from winloss.pipeline.queries import Filters, search
    from winloss.pipeline.settings import load_settings
    from winloss.pipeline.store import Store

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
            **{f"search_{name}_ms": {"p50": round(percentile(v, 50), 1), "p95": round(percentile(v, 95), 1),
                                     "n": len(v)} for name, v in timings.items()},
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "python": sys.version.split()[0],
        }
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

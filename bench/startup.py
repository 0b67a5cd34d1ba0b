#!/usr/bin/env python3
"""Cold start of each command: a fresh process per run, the median of several runs, as one Markdown table.

Needs an analysed data dir (the demo transcripts are enough: `winloss analyze --manifest examples/...`):

    .venv/bin/python bench/startup.py --data-dir /tmp/demo/data --runs 5
    .venv/bin/python bench/startup.py --data-dir /tmp/demo/data --only search ask

Every run is a new `winloss` process, so imports, settings and model loads count: what a user waits for.
Figures go to docs/PERFORMANCE.md with the machine and the command.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WINLOSS = Path(sys.executable).with_name("winloss")

# (name, arguments after the root options); `report` covers the demo's whole period
COMMANDS = [
    ("--help", ["--help"]),
    ("calls", ["calls"]),
    ("reps", ["reps"]),
    ("insights", ["insights", "competitors"]),
    ("search", ["search", "pricing is too high"]),
    ("ask", ["ask", "why do we lose to Quotient?"]),
    ("report", ["report", "--since", "2026-09-01", "--until", "2026-12-31", "--out", "{tmp}/report.md"]),
    ("doctor", ["doctor"]),
]


def once(argv: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1",
                                                                     "TRANSFORMERS_OFFLINE": "1"})
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 3):  # doctor exits 3 when it finds something to fix: still a timed run
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "winloss.toml")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", nargs="*", help="command names to time (default: all)")
    args = parser.parse_args()
    tmp = args.data_dir.resolve()
    base = [str(WINLOSS), "--config", str(args.config), "--data-dir", str(args.data_dir)]
    print("| command | median | min | max | runs |\n|---|---:|---:|---:|---:|")
    for name, rest in COMMANDS:
        if args.only and name not in args.only:
            continue
        times = [once(base + [a.format(tmp=tmp) for a in rest]) for _ in range(args.runs)]
        print(f"| `winloss {' '.join(rest[:2]) if name != 'report' else 'report'}` | "
              f"{statistics.median(times):.2f} s | {min(times):.2f} s | {max(times):.2f} s | {len(times)} |",
              flush=True)


if __name__ == "__main__":
    main()

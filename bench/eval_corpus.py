#!/usr/bin/env python3
"""Accuracy of the stored analysis of the demo corpus (after real ASR) against examples/labels.jsonl.

Run after `make demo`:  .venv/bin/python bench/eval_corpus.py [--data-dir .winloss]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from winloss.pipeline.evaluate import role_accuracy, score
from winloss.pipeline.settings import load_settings
from winloss.pipeline.store import Store

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--config", type=Path, default=ROOT / "config" / "winloss.toml")
    args = ap.parse_args()
    settings = load_settings(args.config, data_dir=args.data_dir)
    store = Store(settings.database_url)
    print(f"store: {settings.database_url}")
    print("| finding | TP | FP | FN | precision | recall | F1 |\n|---|---:|---:|---:|---:|---:|---:|")
    for s in score(store, ROOT / "examples" / "labels.jsonl").values():
        print(f"| {s.kind} | {s.tp} | {s.fp} | {s.fn} | {s.precision:.2f} | {s.recall:.2f} | {s.f1:.2f} |")
    cust = score(store, ROOT / "examples" / "labels.jsonl", customer_only_competitors=True)["competitor"]
    print(f"| competitor (customer-said) | {cust.tp} | {cust.fp} | {cust.fn} | {cust.precision:.2f} | "
          f"{cust.recall:.2f} | {cust.f1:.2f} |")
    roles = role_accuracy(store, ROOT / "examples" / "scripts")
    print(f"\nrole accuracy (utterances whose role matches the script): stereo {roles['stereo']:.1%}, "
          f"mono {roles['mono']:.1%} (diarized)")


if __name__ == "__main__":
    main()

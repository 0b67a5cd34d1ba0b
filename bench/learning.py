"""Learning curve of objection detection: a simulated reviewer answers the tracker's suggestions, the tracker learns,
and detection is scored on calls nobody reviewed.

    .venv/bin/python bench/learning.py ../shared/data/dev/cb_dev --playbook bench/playbooks/marketplace.toml

FOLDER holds calls/*.txt (REP:/CUSTOMER: lines), calls.csv, deals.csv and gold.jsonl (one row per line: call, line,
role, text, objection, and optionally resistance, the annotators' category). Calls are split in two by call: the
reviewer only sees the first half, scores come from the second. Suggestions come in rounds of 25 (a review session),
picked by the same code as `winloss review --suggest`, and the tracker retrains after each round, as `winloss learn`
does. Prints one line per number of reviews: `reviews P R F1` (means over the seeds), category agreement and the F1
of the worst and best split, then the every-line baseline.
Scoring is per customer line: a line is detected when the engine files an objection on any of its sentences.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from winloss.pipeline.extract.learning import train
from winloss.pipeline.extract.suggest import suggestions
from winloss.pipeline.extract.trackers import OfflineExtractor
from winloss.pipeline.ingest.transcribe import read_transcript
from winloss.pipeline.models import ANY_LABEL, CustomerTurn, FindingKind, Label, Role, rep_replies
from winloss.pipeline.playbook import load_playbook
from winloss.pipeline.providers.embed import build_embedder
from winloss.pipeline.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
ROUND = 25
# Our playbook's categories for the annotators' resistance strategies, fixed before any score was seen.
CATEGORY_MAP = {"Hesitance": "price", "Self Assertion": "alternatives", "Counter Argumentation": "alternatives",
                "Source Derogation": "condition", "Self Pity": "budget", "Personal Choice": "fit"}


def load(folder: Path):
    gold = {}
    for line in (folder / "gold.jsonl").read_text().splitlines():
        row = json.loads(line)
        gold[(Path(row["call"]).stem, int(row["line"]))] = row
    transcripts = {p.stem: read_transcript(p, p.stem) for p in sorted((folder / "calls").glob("*.txt"))}
    return transcripts, gold


def category_of(row: dict) -> str | None:
    return CATEGORY_MAP.get((row.get("resistance") or "").split("-")[0])


def review(batch, gold) -> list[Label]:
    """A reviewer who answers from the gold labels: yes (in the gold category, where it maps), or not an objection."""
    out = []
    for s in batch:
        row = gold[(s.call_id, s.utterance.index)]
        label = (category_of(row) or s.category) if row["objection"] else ANY_LABEL
        out.append(Label(call_id=s.call_id, utterance_index=s.utterance.index, text=s.text,
                         kind=FindingKind.objection, label=label, verdict=bool(row["objection"]), source="suggest"))
    return out


def score(extractor: OfflineExtractor, test, gold) -> tuple[float, float, float, float]:
    """(P, R, F1, category agreement on true positives) over the customer lines of the test calls."""
    tp = fp = fn = agree = 0
    for tr in test:
        found = {o.evidence.utterance_index: o.category for o in extractor.extract(tr).objections}
        for u in tr.utterances:
            if u.role is not Role.customer:
                continue
            row = gold[(tr.call_id, u.index)]
            hit, truth = u.index in found, bool(row["objection"])
            tp, fp, fn = tp + (hit and truth), fp + (hit and not truth), fn + (truth and not hit)
            agree += hit and truth and found[u.index] == category_of(row)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0), (agree / tp if tp else 0.0)


def split(transcripts: dict, seed: int) -> tuple[list, list]:
    """(reviewed calls, scored calls): half the calls each, drawn by `seed`."""
    rng = np.random.default_rng(seed)
    ids = sorted(transcripts)
    reviewed = set(rng.choice(ids, size=len(ids) // 2, replace=False))
    return [transcripts[i] for i in ids if i in reviewed], [transcripts[i] for i in ids if i not in reviewed]


def review_until(n: int, labels: list[Label], learned, pool, gold, playbook, settings, embedder, seed: int,
                 pick=suggestions):
    """(labels, learned trackers) once the simulated reviewer has answered `n` suggestions, in rounds of ROUND with
    retraining after each, as `winloss review --suggest` then `winloss learn` would. `pick`: what they are shown
    (suggest.suggestions' signature)."""
    while len(labels) < n:
        extractor = OfflineExtractor(playbook, settings.extraction, embedder, learned)
        seen = {(lb.call_id, lb.utterance_index, lb.text) for lb in labels}
        # each seed its own reviewer's random draw, as each seed has its own split
        labels = labels + review(pick(extractor, pool, min(ROUND, n - len(labels)), seen, salt=f"{seed}:"), gold)
        learned = train(labels, playbook, embedder, settings.extraction, reviewed_turns(pool, labels))
    return labels, learned


def reviewed_turns(pool, labels: list[Label]) -> list[CustomerTurn]:
    """The turns of the calls that hold labels that are not the rep's, with the rep's replies, as
    `Store.reviewed_turns` gives them to `winloss learn`."""
    reviewed = {lb.call_id for lb in labels}
    return [turn for tr in sorted(pool, key=lambda t: t.call_id) if tr.call_id in reviewed for turn in turns_of(tr)]


def turns_of(transcript) -> list[CustomerTurn]:
    """A transcript's turns that are not the rep's (those the tracker judges), with the rep's reply to each."""
    replies = rep_replies(transcript.utterances)
    return [CustomerTurn(transcript.call_id, u.index, u.text, replies.get(u.index))
            for u in transcript.utterances if u.role is not Role.rep]


def best_recall(scores: np.ndarray, truth: np.ndarray, precision: float = 0.8) -> float:
    """The highest recall any threshold reaches at `precision`: what a ranking allows, whatever sets the threshold."""
    order = np.argsort(-scores)
    hits = np.cumsum(truth[order])
    reached = hits / np.arange(1, len(scores) + 1) >= precision
    return float(hits[reached].max() / truth.sum()) if reached.any() else 0.0


def delivered(scores: np.ndarray, threshold: float, truth: np.ndarray) -> tuple[float, float, float]:
    """(P, R, F1) of the turns scored above `threshold`, as the tracker decides."""
    chosen = scores > threshold
    p = float(truth[chosen].mean()) if chosen.any() else 0.0
    r = float(truth[chosen].sum() / truth.sum())
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def curve(transcripts, gold, playbook, settings, embedder, steps: list[int], seed: int) -> dict[int, tuple]:
    pool, test = split(transcripts, seed)
    labels: list[Label] = []
    out = {}
    learned = None
    for n in steps:
        labels, learned = review_until(n, labels, learned, pool, gold, playbook, settings, embedder, seed)
        out[n] = score(OfflineExtractor(playbook, settings.extraction, embedder, learned), test, gold)
    return out


def options(doc: str) -> argparse.ArgumentParser:
    """What every bench over a labelled folder takes: the folder, its domain's playbook and config, the splits."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--playbook", type=Path, default=ROOT / "bench" / "playbooks" / "marketplace.toml")
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "winloss.toml")
    parser.add_argument("--seeds", type=int, default=20, help="splits, each with its own reviewer's random draw")
    return parser


def setting_up(args: argparse.Namespace):
    """(settings, playbook, embedder, transcripts, gold) for the folder of `options`."""
    settings = load_settings(args.config)
    embedder = build_embedder(settings.embeddings.model_copy(update={"cache_size": 100_000}))
    return settings, load_playbook(args.playbook), embedder, *load(args.folder)


def main() -> None:
    parser = options(__doc__)
    parser.add_argument("--steps", default="0,25,50,100,200,400")
    args = parser.parse_args()
    settings, playbook, embedder, transcripts, gold = setting_up(args)
    steps = [int(s) for s in args.steps.split(",")]
    runs = [curve(transcripts, gold, playbook, settings, embedder, steps, seed) for seed in range(args.seeds)]
    print(f"# {args.folder} · playbook {args.playbook.name} · {len(transcripts)} calls, half reviewed, half scored "
          f"· {args.seeds} seeds · target precision {settings.extraction.target_precision}")
    print("reviews P R F1 category_agreement F1_lowest_split F1_highest_split")
    for n in steps:
        p, r, f1, agree = np.mean([run[n] for run in runs], axis=0)
        spread = [run[n][2] for run in runs]
        print(f"{n} {p:.2f} {r:.2f} {f1:.2f} {agree:.2f} {min(spread):.2f} {max(spread):.2f}")
    truth = [bool(row["objection"]) for row in gold.values() if row["role"] == "customer"]
    base = sum(truth) / len(truth)
    print(f"every-line baseline: P {base:.2f} R 1.00 F1 {2 * base / (1 + base):.2f}")


if __name__ == "__main__":
    main()

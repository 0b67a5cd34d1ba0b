"""Score stored findings against ground-truth labels (examples/labels.jsonl), matching by call and time.

After real ASR, utterance indices differ from script lines, so a finding matches a label of the same kind and
label in the same call when its utterance overlaps the labelled line in time.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from pydantic import BaseModel

from .models import FlatFinding
from .store import Store


class Score(BaseModel):
    kind: str
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _overlaps(a0: float, a1: float, b0: float, b1: float, slack: float = 0.5) -> bool:
    return a0 < b1 + slack and b0 < a1 + slack


def load_labels(path: Path) -> dict[str, list[dict]]:
    by_call: dict[str, list[dict]] = defaultdict(list)
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            by_call[row["call"]].append(row)
    return by_call


def score(store: Store, labels: Path, customer_only_competitors: bool = False) -> dict[str, Score]:
    """Precision/recall per finding kind (plus `contradiction`) over the calls that have labels."""
    gold = load_labels(labels)
    stems = {Path(c["path"]).stem: c["call_id"] for c in store.list_calls()}
    counts = {k: [0, 0, 0] for k in ("objection", "competitor", "message", "contradiction")}
    for stem, rows in gold.items():
        if stem not in stems:
            continue
        found: list[FlatFinding] = store.findings(stems[stem])
        for kind in ("objection", "competitor", "message", "contradiction"):
            want = [r for r in rows if (r["kind"] == kind or (kind == "contradiction" and r.get("status") ==
                                                               "contradicted"))]
            got = [f for f in found if (f.kind.value == kind or (kind == "contradiction" and f.status ==
                                                                 "contradicted"))]
            if kind == "competitor" and customer_only_competitors:
                want = [r for r in want if r["role"] == "customer"]
                got = [f for f in got if f.role.value != "rep"]
            matched: set[int] = set()
            tp = 0
            for f in got:
                hit = next((i for i, r in enumerate(want) if i not in matched and r["label"] == f.label
                            and _overlaps(f.start, f.end, r["start"], r["end"])), None)
                if hit is not None:
                    matched.add(hit)
                    tp += 1
            counts[kind][0] += tp
            counts[kind][1] += len(got) - tp
            counts[kind][2] += len(want) - len(matched)
    return {k: Score(kind=k, tp=v[0], fp=v[1], fn=v[2]) for k, v in counts.items()}


def role_accuracy(store: Store, scripts: Path) -> dict[str, float]:
    """Share of utterances whose role matches the script line they start in, for stereo and mono calls."""
    import re

    line = re.compile(r"\[(\d+):(\d\d)\] (REP|CUSTOMER): ")
    totals = {"stereo": [0, 0], "mono": [0, 0]}
    for c in store.list_calls():
        script = scripts / f"{Path(c['path']).stem}.txt"
        if not script.exists():
            continue
        starts = [(int(m[1]) * 60 + int(m[2]), m[3].lower()) for m in map(line.match, script.read_text().splitlines())
                  if m]
        group = totals["stereo" if c["channels"] == 2 else "mono"]
        for u in store.transcript(c["call_id"]).utterances:
            expected = max((s for s in starts if s[0] <= u.start + 0.5), default=starts[0])[1]
            group[0] += u.role.value == expected
            group[1] += 1
    return {k: round(v[0] / v[1], 4) if v[1] else 0.0 for k, v in totals.items()}

"""The generated corpus the benchmarks share: REP/CUSTOMER turns sampled from the 24 demo scripts, every
sentence varied so that no two calls repeat each other's text."""

from __future__ import annotations

import csv
import random
import re
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


def dialogue(rng: random.Random, pool: dict[str, list[str]], rep: str, customer: str, turns_: int | None = None,
             minutes: float | None = None) -> list[str]:
    """Alternating `[mm:ss] ROLE: text` lines: `turns_` of them, or as many as fill `minutes`."""
    t, lines = 0, []
    while (turns_ is not None and len(lines) < turns_) or (minutes is not None and t < minutes * 60):
        role = "REP" if len(lines) % 2 == 0 else "CUSTOMER"
        text = vary(rng.choice(pool[role]).replace("Maya", rep).replace("Dana", customer), rng)
        lines.append(f"[{t // 60:02d}:{t % 60:02d}] {role}: {text}")
        t += 2 + len(text.split()) // 3  # about 150 words a minute
    return lines


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
            lines = dialogue(rng, pool, rep, customer, turns_=n)
            path = folder / "calls" / f"gen_{i:05d}.txt"
            path.write_text("\n".join(lines) + "\n")
            total += n
            deal = f"G-{i // 2:05d}"  # two calls per deal, as real deals have
            manifest.writerow([f"calls/{path.name}", f"2026-{9 + i % 3:02d}-{1 + i % 28:02d}", rep,
                               f"Account {i // 2}", deal, 1, ""])
            if i % 2 == 0:
                deals.writerow([deal, rng.choice(["won", "lost", "lost", "open"]), 30000, "2026-11-30", "", rep])
    return folder / "calls.csv", folder / "deals.csv", total



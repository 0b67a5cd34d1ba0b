"""`winloss export`: findings, calls and deals joined to what a spreadsheet needs, as JSON lines or CSV.

CSV is opened by spreadsheets, which run a cell that starts with `=`, `+`, `-`, `@` (or a tab or carriage return
before one) as a formula: a quote such as "=HYPERLINK(...)" said on a call, or a rep's name typed into the CRM,
must stay text. Such cells get a leading `'` (OWASP's advice for CSV injection).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable

from winloss.pipeline.errors import WinlossError

TABLES = ("findings", "calls", "deals")
FORMATS = ("jsonl", "csv")

# The columns of each table, in order; findings' JSON lines also carry every field of FlatFinding.
COLUMNS = {
    "findings": ["date", "rep", "account", "deal_id", "outcome", "call_id", "start", "end", "role", "kind", "label",
                 "status", "quote", "confidence", "utterance_index", "engine", "answered", "accepted", "context"],
    "calls": ["call_id", "path", "date", "rep", "account", "deal_id", "outcome", "duration", "findings"],
    "deals": ["deal_id", "outcome", "amount", "close_date", "stage", "rep", "calls"],
}
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def rows(store, table: str) -> list[dict]:
    if table == "findings":
        found = store.export_finding_rows()
    elif table == "calls":
        found = store.list_calls()
    elif table == "deals":
        found = store.deal_rows()
    else:
        raise WinlossError(f"cannot export {table!r}: choose one of {', '.join(TABLES)}")
    return [{k: r.get(k) for k in COLUMNS[table]} for r in found]


def guard(value: object) -> object:
    """A CSV cell that a spreadsheet would run as a formula, made text. Numbers stay numbers (-3.5 is data)."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


def render(items: Iterable[dict], table: str, fmt: str) -> str:
    if fmt == "jsonl":
        return "".join(json.dumps({k: _plain(v) for k, v in r.items()}, ensure_ascii=False) + "\n" for r in items)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=COLUMNS[table], lineterminator="\n")
        writer.writeheader()
        for r in items:
            writer.writerow({k: guard(_plain(v)) if v is not None else "" for k, v in r.items()})
        return buf.getvalue()
    raise WinlossError(f"cannot write {fmt!r}: choose one of {', '.join(FORMATS)}")

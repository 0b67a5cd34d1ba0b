"""`winloss export`: findings, calls and deals joined to what a spreadsheet or BI tool needs, as JSON lines, CSV
or Parquet (typed columns; needs pyarrow, the `parquet` extra).

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
from enum import Enum
from pathlib import Path

from winloss.pipeline.errors import WinlossError

TABLES = ("findings", "calls", "deals")
FORMATS = ("jsonl", "csv", "parquet")

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
    return [{k: _cell(getattr(r, k)) for k in COLUMNS[table]} for r in found]


def _cell(value: object) -> object:
    """A typed row's value as the plain one the writers take: an enum as its string (dates stay dates)."""
    return value.value if isinstance(value, Enum) else value


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
    if fmt == "parquet":
        raise WinlossError("Parquet is binary: give --out FILE.parquet")
    raise WinlossError(f"cannot write {fmt!r}: choose one of {', '.join(FORMATS)}")


# Parquet columns by type, so a column that happens to be all empty is still typed for the BI tool reading it.
_DATES = {"date", "close_date"}
_FLOATS = {"start", "end", "confidence", "duration", "amount"}
_INTS = {"utterance_index", "findings", "calls"}
_BOOLS = {"answered", "accepted"}


def _schema(table: str):
    import pyarrow as pa

    def kind(name: str):
        if name in _DATES:
            return pa.date32()
        if name in _FLOATS:
            return pa.float64()
        if name in _INTS:
            return pa.int64()
        return pa.bool_() if name in _BOOLS else pa.string()

    return pa.schema([(name, kind(name)) for name in COLUMNS[table]])


def write_parquet(items: list[dict], table: str, path: Path) -> Path:
    """The rows as one Parquet file, written whole (through a `.tmp` beside it) or not at all."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise WinlossError("Parquet export needs pyarrow: pip install 'winloss[parquet]' (or pyarrow), or choose "
                           "--format csv or jsonl") from None
    from winloss.pipeline.render.report import check_writable

    check_writable(path, f"{table} export")
    columns = {name: [r.get(name) for r in items] for name in COLUMNS[table]}
    data = pa.Table.from_pydict(columns, schema=_schema(table))
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(data, tmp)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WinlossError(f"{path}: cannot write the {table} export: {exc.strerror or exc}") from None
    return path

"""CRM exports (Salesforce, HubSpot, or any CSV described by a TOML mapping) read as deals, and applied to the store
and index without analysing a call again: outcomes, amounts, stages and close dates change, quotes do not.

A mapping names, per deal field, the columns that may hold it (the first present is used) and how the outcome is
told: by IsWon/IsClosed columns (Salesforce), by an outcome column (won, lost, open), or by the stage (won and lost
stage values; any other stage is open). Bad rows are errors naming file, row and column, as in pipeline/ingest/crm.py.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from pathlib import Path

from pydantic import BaseModel, ValidationError
from winloss.pipeline.errors import BadInputError
from winloss.pipeline.ingest.crm import Deals, _pick, _rows, load_deals
from winloss.pipeline.models import Deal, Outcome

_TRUE, _FALSE = {"true", "1", "yes", "y", "t"}, {"false", "0", "no", "n", "f", ""}
_DATE_FORMATS = ("%m/%d/%Y", "%m/%d/%Y %H:%M", "%Y/%m/%d")


class Mapping(BaseModel):
    """Which columns of a CRM export hold each deal field, and which stage values mean won or lost."""

    name: str
    deal_id: list[str]
    outcome: list[str] = []
    is_won: list[str] = []
    is_closed: list[str] = []
    stage: list[str] = []
    amount: list[str] = []
    close_date: list[str] = []
    rep: list[str] = []
    won_stages: list[str] = []
    lost_stages: list[str] = []


BUILT_IN = {
    # Salesforce Opportunity export (Data Loader, report export)
    "salesforce": Mapping(name="salesforce", deal_id=["Id", "Opportunity ID"], is_won=["IsWon", "Won"],
                          is_closed=["IsClosed", "Closed"], stage=["StageName", "Stage"], amount=["Amount"],
                          close_date=["CloseDate", "Close Date"], rep=["Owner.Name", "Opportunity Owner"],
                          won_stages=["Closed Won"], lost_stages=["Closed Lost"]),
    # HubSpot deals export; internal stage ids (closedwon) or their default labels
    "hubspot": Mapping(name="hubspot", deal_id=["Deal ID", "Record ID"], stage=["Deal Stage"], amount=["Amount"],
                       close_date=["Close Date"], rep=["Deal owner", "Deal Owner"],
                       won_stages=["closedwon", "Closed Won"], lost_stages=["closedlost", "Closed Lost"]),
}


def read_export(path: Path, mapping: str = "winloss") -> Deals:
    """A CRM export read with the named mapping: `winloss` is deals.csv, read exactly as `analyze --deals` reads it
    (pipeline/ingest/crm.py), `salesforce`, `hubspot`, or a TOML mapping file."""
    return load_deals(path) if mapping == "winloss" else read_crm(path, load_mapping(mapping))


def load_mapping(spec: str) -> Mapping:
    """A built-in mapping by name, or a TOML file: `[columns]` field = "Column" (or a list), `[stages]` won, lost."""
    if spec in BUILT_IN:
        return BUILT_IN[spec]
    path = Path(spec)
    if not path.suffix == ".toml":
        raise BadInputError(spec, f"not a mapping: use winloss, {', '.join(BUILT_IN)} or a .toml file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInputError(path, "file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInputError(path, f"not a TOML file ({exc})") from None
    columns, stages = data.get("columns", {}), data.get("stages", {})
    unknown = set(columns) - (set(Mapping.model_fields) - {"name", "won_stages", "lost_stages"})
    if unknown:
        raise BadInputError(path, f"[columns] has unknown field(s) {', '.join(sorted(unknown))}")
    if "deal_id" not in columns:
        raise BadInputError(path, "[columns] must name the deal_id column")
    as_list = {k: [v] if isinstance(v, str) else v for k, v in columns.items()}
    try:
        return Mapping(name=str(path), **as_list, won_stages=_listed(stages.get("won", [])),
                       lost_stages=_listed(stages.get("lost", [])))
    except ValidationError as exc:
        e = exc.errors()[0]
        raise BadInputError(path, f"{'.'.join(map(str, e['loc']))}: {e['msg']}") from None


def _listed(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def read_crm(path: Path, mapping: Mapping) -> Deals:
    """The deals of a CRM export, one per deal id (a repeated id is a warning naming the row used)."""
    rows = _rows(path, set())
    header = list(rows[0]) if rows else []
    cols = {field: next((c for c in getattr(mapping, field) if c in header), None)
            for field in ("deal_id", "outcome", "is_won", "is_closed", "stage", "amount", "close_date", "rep")}
    if rows and cols["deal_id"] is None:
        raise BadInputError(path, f"no deal id column ({' or '.join(mapping.deal_id)}) for mapping {mapping.name}; "
                                  f"found {', '.join(header)}")
    if rows and not (cols["outcome"] or cols["is_won"] or cols["stage"]):
        raise BadInputError(path, f"no column tells the outcome for mapping {mapping.name} (any of "
                                  f"{', '.join(mapping.outcome + mapping.is_won + mapping.stage)}); "
                                  f"found {', '.join(header)}")
    won = {s.strip().lower() for s in mapping.won_stages}
    lost = {s.strip().lower() for s in mapping.lost_stages}
    found: dict[str, tuple[int, Deal]] = {}
    warnings: list[str] = []
    for line, row in enumerate(rows, start=2):
        deal = _deal(path, line, row, cols, won, lost)
        deal_id = deal.deal_id
        found[deal_id] = (_pick(path, f"deal {deal_id}", found[deal_id], (line, deal), warnings)
                          if deal_id in found else (line, deal))
    return Deals(path=path, deals=[d for _, d in found.values()], warnings=warnings)


def _deal(path: Path, line: int, row: dict[str, str], cols: dict[str, str | None], won: set[str],
          lost: set[str]) -> Deal:
    """One row of a CRM export as a deal; BadInputError naming row and column."""
    def cell(field: str) -> str:
        return (row.get(cols[field]) or "").strip() if cols[field] else ""

    def bad(field: str, problem: str) -> BadInputError:
        return BadInputError(path, f"row {line}, column {cols[field]}: {problem} (got {cell(field)!r})")

    deal_id = cell("deal_id")
    if not deal_id:
        raise bad("deal_id", "empty; each row is one deal")
    stage = cell("stage") or None
    if cols["is_won"]:
        is_won = _bool(cell("is_won"))
        if is_won is None:
            raise bad("is_won", "not true or false")
        is_closed = _bool(cell("is_closed")) if cols["is_closed"] else None
        if cols["is_closed"] and is_closed is None:
            raise bad("is_closed", "not true or false")
        if is_closed is None:  # no IsClosed column: the stage says whether a lost deal is closed
            is_closed = is_won or (stage or "").lower() in lost
        outcome = Outcome.won if is_won else Outcome.lost if is_closed else Outcome.open
    elif cols["outcome"]:
        try:
            outcome = Outcome(cell("outcome").lower())
        except ValueError:
            raise bad("outcome", "must be won, lost or open") from None
    else:
        key = (stage or "").lower()
        outcome = Outcome.won if key in won else Outcome.lost if key in lost else Outcome.open
    amount = None
    if cell("amount"):
        try:
            amount = float(cell("amount").lstrip("$€£ ").replace(",", ""))
        except ValueError:
            raise bad("amount", "not a number") from None
        if not math.isfinite(amount) or amount < 0:
            raise bad("amount", "must be a finite number, not negative")
    close_date = None
    if cell("close_date"):
        close_date = _date(cell("close_date"))
        if close_date is None:
            raise bad("close_date", "not a date (YYYY-MM-DD or MM/DD/YYYY)")
    return Deal(deal_id=deal_id, outcome=outcome, amount=amount, close_date=close_date, stage=stage,
                rep=cell("rep") or None)


def _bool(value: str) -> bool | None:
    v = value.strip().lower()
    return True if v in _TRUE else False if v in _FALSE else None


def _date(value: str) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(value).date()  # 2026-11-20, or with a time (HubSpot: 2026-11-20 10:00)
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


class ImportResult(BaseModel):
    """What `deals import` changed: deals new, updated and unchanged, and the calls whose outcome moved."""

    file: str
    deals: int
    new: list[str] = []
    updated: list[str] = []
    unchanged: int = 0
    outcome_changed: dict[str, str] = {}  # deal id -> new outcome
    calls_updated: int = 0
    warnings: list[str] = []


def apply_deals(store, index, deals: Deals) -> ImportResult:
    """Store the deals (a field the export leaves blank keeps its stored value) and give the calls of each deal whose
    outcome changed their new outcome in the index. Callers hold the data dir's lock."""
    before = store.deals_by_id()
    result = ImportResult(file=str(deals.path), deals=len(deals.deals), warnings=deals.warnings)
    changed: list[Deal] = []
    for deal in deals.deals:
        old = before.get(deal.deal_id)
        if old is not None:
            kept = {k: v for k, v in old.model_dump().items() if getattr(deal, k) is None and v is not None}
            deal = deal.model_copy(update=kept)
        if old == deal:
            result.unchanged += 1
            continue
        changed.append(deal)
        (result.updated if old else result.new).append(deal.deal_id)
        if old is None or old.outcome != deal.outcome:
            result.outcome_changed[deal.deal_id] = deal.outcome.value
    store.upsert_deals(changed)
    by_call = store.calls_of_deals(set(result.outcome_changed))
    if index is not None and by_call:
        index.set_outcomes({cid: result.outcome_changed[did] for cid, did in by_call.items()})
    result.calls_updated = len(by_call)
    return result

"""The CRM export (deals.csv) and the call manifest (calls.csv), read with errors that name file, row and column.

Checked at the door, before anything is stored: a row without a file, a file outside the manifest's folder, an
amount that is negative or not a number are errors; a repeated row is a warning that says which row is used.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from winloss.pipeline.errors import BadInputError
from winloss.pipeline.ingest.objects import ObjectURL, is_object_url
from winloss.pipeline.ingest.speakers import parse_roles_column
from winloss.pipeline.models import Deal, Role


class ManifestRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: ObjectURL | Path = Field(union_mode="left_to_right")  # a file, or an object (s3://bucket/key)
    date: dt.date | None = None
    rep: str | None = None
    account: str | None = None
    deal_id: str | None = None
    roles: dict[str, Role] = {}
    line: int | None = None  # the row's line in its manifest, for messages

    @field_validator("date", "rep", "account", "deal_id", mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value


class Manifest(BaseModel):
    """A manifest's rows (one per file and deal) and what was odd about it."""

    path: Path
    rows: list[ManifestRow]
    warnings: list[str] = []

    def rows_for(self, file: Path) -> list[ManifestRow]:
        return [r for r in self.rows if r.path == file]


class Deals(BaseModel):
    """A deals file's deals (one per deal id) and what was odd about it."""

    path: Path
    deals: list[Deal]
    warnings: list[str] = []


def _rows(path: Path, required: set[str]) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = required - set(reader.fieldnames or [])
            if missing:
                raise BadInputError(path, f"missing column(s) {', '.join(sorted(missing))}; "
                                          f"found {', '.join(reader.fieldnames or []) or 'none'}")
            return list(reader)
    except FileNotFoundError:
        raise BadInputError(path, "file not found") from None
    except IsADirectoryError:
        raise BadInputError(path, "a folder, not a CSV file") from None
    except UnicodeDecodeError:
        raise BadInputError(path, "not a UTF-8 CSV file") from None


def _row_error(path: Path, line: int, err: ValidationError) -> BadInputError:
    e = err.errors()[0]
    return BadInputError(path, f"row {line}, column {'.'.join(map(str, e['loc']))}: {e['msg']} "
                               f"(got {e.get('input')!r})")


def _blank(value) -> bool:
    return value in (None, "", {})


def _pick(path: Path, what: str, kept: tuple[int, BaseModel], new: tuple[int, BaseModel],
          warnings: list[str]) -> tuple[int, BaseModel]:
    """Of two rows for the same thing, the one with more columns filled (the first on a tie), never blindly the
    last, and a warning that names both rows and the one used: an empty repeat must not wipe a full row, and a
    conflict needs a person to fix the file."""
    (first, a), (second, b) = kept, new
    da, db = a.model_dump(exclude={"line"}), b.model_dump(exclude={"line"})
    filled_a, filled_b = (sum(not _blank(v) for v in d.values()) for d in (da, db))
    differs = sorted(k for k in da if not _blank(da[k]) and not _blank(db[k]) and da[k] != db[k])
    used = new if filled_b > filled_a else kept
    why = (f"they differ in {', '.join(differs)}" if differs else "the same facts" if da == db
           else f"row {used[0]} has more columns filled")
    warnings.append(f"{path}: rows {first} and {second} both give {what} ({why}); row {used[0]} is used")
    return used


def load_deals(path: Path) -> Deals:
    """Deals by id. Amounts must be finite and not negative; a repeated deal id is a warning naming the row used."""
    found: dict[str, tuple[int, Deal]] = {}
    warnings: list[str] = []
    for line, row in enumerate(_rows(path, {"deal_id", "outcome"}), start=2):
        clean = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k}
        clean = {k: v for k, v in clean.items() if v not in ("", None)}
        if "outcome" in clean:
            clean["outcome"] = clean["outcome"].lower()
        try:
            deal = Deal.model_validate({k: clean.get(k) for k in Deal.model_fields if k in clean})
        except ValidationError as exc:
            raise _row_error(path, line, exc) from None
        key = deal.deal_id
        found[key] = _pick(path, f"deal {key}", found[key], (line, deal), warnings) if key in found else (line, deal)
    return Deals(path=path, deals=[d for _, d in found.values()], warnings=warnings)


def _manifest_file(path: Path, line: int, raw: str, allow_outside: bool) -> Path | ObjectURL:
    """The file a manifest row names, resolved (links followed) against the manifest's folder; or the object in
    storage it names (s3://bucket/key: pipeline/ingest/objects.py).

    A manifest is often someone else's file: a row must not reach beyond its folder (`../../.ssh/id_rsa`, an
    absolute path, a link that points out) and have that file read, stored and indexed, unless the user says so."""
    if not raw:
        raise BadInputError(path, f"row {line}, column path: empty; each row names the file of one call")
    if is_object_url(raw):
        try:
            return ObjectURL._validate(raw)
        except ValueError as exc:
            raise BadInputError(path, f"row {line}, column path: {raw}: {exc}") from None
    folder = path.parent.resolve()
    given = Path(raw).expanduser()
    file = (given if given.is_absolute() else folder / given).resolve()
    if not allow_outside and not file.is_relative_to(folder):
        written = os.path.normpath(given if given.is_absolute() else folder / given)
        how = f" (it resolves to {file})" if written != str(file) else ""
        raise BadInputError(path, f"row {line}, column path: {raw}{how} is outside {folder}, the manifest's folder; "
                                  f"move the file there or pass --allow-outside to analyse files elsewhere")
    return file


def load_manifest(path: Path, allow_outside: bool = False) -> Manifest:
    """One row per (file, deal); relative paths are relative to the manifest's folder."""
    found: dict[tuple[Path, str | None], tuple[int, ManifestRow]] = {}
    warnings: list[str] = []
    for line, row in enumerate(_rows(path, {"path"}), start=2):
        file = _manifest_file(path, line, (row.get("path") or "").strip(), allow_outside)
        try:
            roles = parse_roles_column(row.get("roles") or "")
            item = ManifestRow(path=file, date=row.get("date"), rep=row.get("rep"), account=row.get("account"),
                               deal_id=row.get("deal_id"), roles=roles, line=line)
        except ValidationError as exc:
            raise _row_error(path, line, exc) from None
        except ValueError as exc:
            raise BadInputError(path, f"row {line}, column roles: {exc}") from None
        key = (file, item.deal_id)
        what = f"{file.name} with deal {item.deal_id or '(none)'}"
        found[key] = _pick(path, what, found[key], (line, item), warnings) if key in found else (line, item)
    return Manifest(path=path, rows=[r for _, r in found.values()], warnings=warnings)

"""The CRM export (deals.csv) and the call manifest (calls.csv), read with errors that name file, row and column."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .errors import BadInputError
from .models import Deal, Role
from .speakers import parse_roles_column


class ManifestRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: Path
    date: dt.date | None = None
    rep: str | None = None
    account: str | None = None
    deal_id: str | None = None
    roles: dict[str, Role] = {}

    @field_validator("date", "rep", "account", "deal_id", mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        return None if isinstance(value, str) and not value.strip() else value


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
    except UnicodeDecodeError:
        raise BadInputError(path, "not a UTF-8 CSV file") from None


def _row_error(path: Path, line: int, err: ValidationError) -> BadInputError:
    e = err.errors()[0]
    return BadInputError(path, f"row {line}, column {'.'.join(map(str, e['loc']))}: {e['msg']} "
                               f"(got {e.get('input')!r})")


def load_deals(path: Path) -> list[Deal]:
    out = []
    for line, row in enumerate(_rows(path, {"deal_id", "outcome"}), start=2):
        clean = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k}
        clean = {k: v for k, v in clean.items() if v not in ("", None)}
        if "outcome" in clean:
            clean["outcome"] = clean["outcome"].lower()
        try:
            out.append(Deal.model_validate({k: clean.get(k) for k in Deal.model_fields if k in clean}))
        except ValidationError as exc:
            raise _row_error(path, line, exc) from None
    return out


def load_manifest(path: Path) -> dict[Path, ManifestRow]:
    """Rows keyed by resolved file path; relative paths are relative to the manifest's folder."""
    out: dict[Path, ManifestRow] = {}
    for line, row in enumerate(_rows(path, {"path"}), start=2):
        file = Path(row["path"].strip())
        file = (path.parent / file).resolve() if not file.is_absolute() else file
        try:
            roles = parse_roles_column(row.get("roles") or "")
            out[file] = ManifestRow(path=file, date=row.get("date"), rep=row.get("rep"),
                                    account=row.get("account"), deal_id=row.get("deal_id"), roles=roles)
        except (ValidationError, ValueError) as exc:
            if isinstance(exc, ValidationError):
                raise _row_error(path, line, exc) from None
            raise BadInputError(path, f"row {line}, column roles: {exc}") from None
    return out

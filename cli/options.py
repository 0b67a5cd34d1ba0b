"""Option values several commands parse alike: dates and periods."""

from __future__ import annotations

import datetime as dt

import typer
from winloss.pipeline.errors import WinlossError


def parse_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD") from None


def period(since: dt.date | None, until: dt.date | None) -> tuple[dt.date | None, dt.date | None]:
    """--since and --until, refused when the period ends before it starts: it could only answer "nothing"."""
    if since and until and since > until:
        raise WinlossError(f"--since {since} is after --until {until}: the period is empty; swap them")
    return since, until

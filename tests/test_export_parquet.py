"""`winloss export --format parquet`: the same rows as the JSON lines, in typed columns a BI tool reads as they are,
written whole; refused with a way out when it cannot be written."""

from __future__ import annotations

import datetime as dt
import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner
from winloss.cli.app import app
from winloss.pipeline.errors import WinlossError
from winloss.pipeline.storage.export import COLUMNS, write_parquet

from .conftest import CONFIG


def _cli(settings, *args: str):
    return CliRunner().invoke(app, ["--config", str(CONFIG), "--data-dir", str(settings.data_dir), *args])


@pytest.mark.parametrize("table", ["findings", "calls", "deals"])
def test_parquet_holds_the_jsonl_rows_in_typed_columns(script_corpus, tmp_path, table):
    out = tmp_path / f"{table}.parquet"
    done = _cli(script_corpus, "export", table, "--format", "parquet", "--out", str(out))
    assert done.exit_code == 0, done.output
    data = pq.read_table(out)
    assert data.column_names == COLUMNS[table] and not list(tmp_path.glob("*.tmp"))
    lines = [json.loads(line) for line in _cli(script_corpus, "export", table).stdout.splitlines()]
    rows = [{k: v.isoformat() if isinstance(v, dt.date) else v for k, v in r.items()} for r in data.to_pylist()]
    assert rows == lines and len(rows) > 0
    types = dict(zip(data.schema.names, data.schema.types, strict=True))
    if table == "findings":
        assert types["date"] == pa.date32() and types["start"] == pa.float64() and types["answered"] == pa.bool_()
        assert types["utterance_index"] == pa.int64() and types["quote"] == pa.string()
    if table == "deals":
        assert types["amount"] == pa.float64() and types["close_date"] == pa.date32()


def test_parquet_needs_a_file_and_says_so(script_corpus):
    result = _cli(script_corpus, "export", "calls", "--format", "parquet")
    assert result.exit_code == 1 and "Parquet is binary: give --out FILE.parquet" in result.output


def test_without_pyarrow_the_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # what an install without the extra sees on import
    with pytest.raises(WinlossError, match=r"pip install 'winloss\[parquet\]'"):
        write_parquet([], "deals", tmp_path / "d.parquet")
    assert not (tmp_path / "d.parquet").exists()


def test_an_empty_table_keeps_its_column_types(tmp_path):
    data = pq.read_table(write_parquet([], "deals", tmp_path / "d.parquet"))
    assert data.num_rows == 0 and data.schema.field("close_date").type == pa.date32()

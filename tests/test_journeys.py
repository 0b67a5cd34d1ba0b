"""Marketing's and coaches' journeys through the CLI: CRM imports, exports, call filters, CLI conventions.

Four demo scripts (calls 01-04: Maya won twice, Tom lost to Quotient, Priya won) analysed into a fresh data dir.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner
from winloss.cli.app import app

from .conftest import CONFIG, EXAMPLES

DEALS = "deal_id,outcome,amount,close_date,stage,rep\n" \
        "D-1001,won,30000,2026-10-26,Closed Won,Maya\n" \
        "D-1002,won,36000,2026-10-29,Closed Won,Maya\n" \
        "D-1003,lost,30000,2026-12-07,Closed Lost,Tom\n" \
        "D-1004,open,,,Negotiation,Priya\n"


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("journeys")
    with (EXAMPLES / "calls.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["path"] in {f"calls/call_0{i}.opus" for i in range(1, 5)}]
    for r in rows:
        r["path"] = str(EXAMPLES / "scripts" / (Path(r["path"]).stem + ".txt"))
    (tmp / "calls.csv").write_text("path,date,rep,account,deal_id\n" + "".join(
        f"{r['path']},{r['date']},{r['rep']},{r['account']},{r['deal_id']}\n" for r in rows))
    (tmp / "deals.csv").write_text(DEALS)
    done = winloss(tmp / "data", "analyze", "--manifest", str(tmp / "calls.csv"), "--deals", str(tmp / "deals.csv"),
                   "--allow-outside", "--json")
    assert done.exit_code == 0, done.output
    assert [f["status"] for f in json.loads(done.stdout)["files"]] == ["analysed"] * 4
    return tmp / "data"


def winloss(data: Path, *args: str):
    return CliRunner().invoke(app, ["--config", str(CONFIG), "--data-dir", str(data), *args])


def outcomes(data: Path) -> dict[str, str | None]:
    return {c["deal_id"]: c["outcome"] for c in json.loads(winloss(data, "calls", "--json").stdout)}


def indexed_outcomes(data: Path) -> set[tuple[str, str]]:
    """(deal id, outcome) as the index's metadata carries them, in both collections."""
    from winloss.pipeline.providers.embed import build_embedder
    from winloss.pipeline.settings import load_settings
    from winloss.pipeline.storage.index import Index

    settings = load_settings(CONFIG, data_dir=data)
    index = Index(settings, build_embedder(settings.embeddings, queries=True))
    return {(m["deal_id"], m["outcome"]) for col in index.collections.values()
            for m in col.get(include=["metadatas"])["metadatas"]}


def test_salesforce_import_changes_outcomes_in_store_index_and_search(data, tmp_path):
    export = tmp_path / "opportunities.csv"
    export.write_text("Id,Name,StageName,Amount,CloseDate,IsWon,IsClosed\n"
                      "D-1003,Northwind,Closed Won,\"$42,000.00\",2026-12-01,true,true\n"  # lost -> won
                      "D-1004,Summit,Closed Lost,24000,2026-12-05,false,true\n"  # open -> lost
                      "D-1001,Harbor,Closed Won,30000,2026-10-26,true,true\n"  # unchanged
                      "D-2000,Elsewhere,Prospecting,,,false,false\n")  # a deal with no call yet: open
    before = outcomes(data)
    assert before["D-1003"] == "lost" and before["D-1004"] == "open"
    done = winloss(data, "deals", "import", str(export), "--mapping", "salesforce", "--json")
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert result["outcome_changed"] == {"D-1003": "won", "D-1004": "lost", "D-2000": "open"}
    assert result["unchanged"] == 1 and result["calls_updated"] == 2
    assert outcomes(data) == {**before, "D-1003": "won", "D-1004": "lost"}
    indexed = indexed_outcomes(data)
    assert ("D-1003", "won") in indexed and ("D-1004", "lost") in indexed
    assert not {("D-1003", "lost"), ("D-1004", "open")} & indexed
    # the amount, close date and stage came along; the rep the export did not give was kept
    deals = {d["deal_id"]: d for d in map(json.loads, winloss(data, "export", "deals").stdout.splitlines())}
    assert deals["D-1003"] | {"calls": 0} == {"deal_id": "D-1003", "outcome": "won", "amount": 42000.0,
                                              "close_date": "2026-12-01", "stage": "Closed Won", "rep": "Tom",
                                              "calls": 0}
    assert deals["D-1003"]["calls"] == 1 and deals["D-2000"]["calls"] == 0
    # Tom's Quotient call now answers a search for won deals, and no longer one for lost deals
    won = json.loads(winloss(data, "search", "Quotient", "--outcome", "won", "--json", "--limit", "50").stdout)
    lost = json.loads(winloss(data, "search", "Quotient", "--outcome", "lost", "--json", "--limit", "50").stdout)
    assert "D-1003" in {h["deal_id"] for h in won} and "D-1003" not in {h["deal_id"] for h in lost}
    # the deals.csv through analyze --deals alone (no paths) puts the outcomes back, nothing analysed again
    back = winloss(data, "analyze", "--deals", str(data.parent / "deals.csv"), "--json")
    assert back.exit_code == 0, back.output
    assert json.loads(back.stdout)["deals"]["outcome_changed"] == {"D-1003": "lost", "D-1004": "open"}
    assert outcomes(data) == before
    assert ("D-1003", "lost") in indexed_outcomes(data)


def test_hubspot_and_toml_mappings_and_bad_rows_named(data, tmp_path):
    hub = tmp_path / "hubspot.csv"
    hub.write_text("Record ID,Deal Name,Deal Stage,Amount,Close Date\nD-1002,Kestrel,closedlost,36000,"
                   "2026-10-29 10:00\n")
    done = winloss(data, "deals", "import", str(hub), "--mapping", "hubspot", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["outcome_changed"] == {"D-1002": "lost"}
    assert outcomes(data)["D-1002"] == "lost"
    mapping = tmp_path / "pipedrive.toml"
    mapping.write_text('[columns]\ndeal_id = "Deal"\nstage = "Status"\namount = "Value"\n'
                       '[stages]\nwon = ["Won"]\nlost = ["Lost"]\n')
    mine = tmp_path / "pipedrive.csv"
    mine.write_text("Deal,Status,Value\nD-1002,Won,36000\n")
    done = winloss(data, "deals", "import", str(mine), "--mapping", str(mapping))
    assert done.exit_code == 0, done.output
    assert outcomes(data)["D-1002"] == "won"
    mine.write_text("Deal,Status,Value\nD-1002,Won,36000\nD-1001,Won,lots\n")
    bad = winloss(data, "deals", "import", str(mine), "--mapping", str(mapping))
    assert bad.exit_code == 1
    assert f"{mine}: row 3, column Value: not a number (got 'lots')" in " ".join(bad.output.split())
    sf = tmp_path / "sf.csv"
    sf.write_text("Id,StageName,IsWon,IsClosed\nD-1001,Closed Won,maybe,true\n")
    bad = winloss(data, "deals", "import", str(sf), "--mapping", "salesforce")
    assert bad.exit_code == 1 and "row 2, column IsWon: not true or false" in " ".join(bad.output.split())
    assert outcomes(data)["D-1001"] == "won"  # a bad file changes nothing


def test_exports_join_calls_and_guard_csv_cells(data, tmp_path):
    found = [json.loads(line) for line in winloss(data, "export", "findings", "--format", "jsonl").stdout.splitlines()]
    assert found and all({"date", "rep", "account", "deal_id", "outcome", "start", "role", "kind", "label", "quote",
                          "confidence", "call_id", "utterance_index", "engine", "end"} <= set(f) for f in found)
    quotient = [f for f in found if f["kind"] == "competitor" and f["label"] == "Quotient"]
    assert quotient and {f["account"] for f in quotient} >= {"Northwind Foods"}
    out = tmp_path / "calls.csv"
    done = winloss(data, "export", "calls", "--format", "csv", "--out", str(out))
    assert done.exit_code == 0, done.output
    calls = list(csv.DictReader(out.open()))
    assert len(calls) == 4 and list(calls[0]) == ["call_id", "path", "date", "rep", "account", "deal_id", "outcome",
                                                  "duration", "findings"]
    assert {c["account"] for c in calls} == {"Harbor Logistics", "Kestrel Health", "Northwind Foods",
                                             "Summit Robotics"}
    # a CRM that holds formulas: the cells come out as text
    crm = tmp_path / "evil.csv"
    crm.write_text('deal_id,outcome,stage,rep\nD-1001,won,"=HYPERLINK(""http://x"")",@SUM(A1)\n'
                   "D-1002,won,+1,-x\n")
    assert winloss(data, "deals", "import", str(crm)).exit_code == 0
    text = winloss(data, "export", "deals", "--format", "csv", "--out", "-").stdout
    deals = {d["deal_id"]: d for d in csv.DictReader(io.StringIO(text))}
    assert deals["D-1001"]["stage"] == "'=HYPERLINK(\"http://x\")" and deals["D-1001"]["rep"] == "'@SUM(A1)"
    assert deals["D-1002"]["stage"] == "'+1" and deals["D-1002"]["rep"] == "'-x"
    assert deals["D-1002"]["amount"] == "36000.0"  # numbers are data, not guarded
    assert winloss(data, "deals", "import", str(data.parent / "deals.csv")).exit_code == 0


def test_calls_filters(data):
    def ids(*args: str) -> list[str]:
        done = winloss(data, "calls", "--json", *args)
        assert done.exit_code == 0, done.output
        return sorted(c["deal_id"] for c in json.loads(done.stdout))

    assert ids() == ["D-1001", "D-1002", "D-1003", "D-1004"]
    assert ids("--rep", "maya") == ["D-1001", "D-1002"]
    assert ids("--outcome", "won") == ["D-1001", "D-1002"]
    assert ids("--since", "2026-10-08", "--until", "2026-10-09") == ["D-1002", "D-1003"]
    assert ids("--competitor", "Quotient") == ["D-1003"]
    assert ids("--rep", "Maya", "--outcome", "lost") == []
    assert winloss(data, "calls", "--since", "2026-11-01", "--until", "2026-10-01").exit_code == 1


def test_version_json_and_stdout_out(data):
    from importlib.metadata import version

    shown = winloss(data, "--version")
    assert shown.exit_code == 0 and shown.stdout.strip() == f"winloss {version('winloss')}"
    report = winloss(data, "report", "--since", "2026-10-01", "--until", "2026-10-31", "--format", "json",
                     "--out", "-")
    assert report.exit_code == 0, report.output
    assert json.loads(report.stdout)["coverage"]["calls"] == 4
    assert not Path("-").exists()
    written = winloss(data, "report", "--since", "2026-10-01", "--until", "2026-10-31", "--json")
    assert written.exit_code == 0, written.output
    files = json.loads(written.stdout)["files"]
    assert len(files) == 1 and Path(files[0]).read_text().startswith("#")
    again = winloss(data, "analyze", "--manifest", str(data.parent / "calls.csv"), "--allow-outside", "--json")
    assert again.exit_code == 0, again.output
    assert [f["status"] for f in json.loads(again.stdout)["files"]] == ["unchanged"] * 4


def test_deals_apply_and_export_queries_on_both_databases(database_url, tmp_path):
    from winloss.pipeline.ingest.deals_import import apply_deals, read_export
    from winloss.pipeline.storage import export
    from winloss.pipeline.storage.store import Store

    from .test_store import _analysis

    store = Store(database_url)
    store.save_analysis(_analysis(3), "fp")  # call abc123 of deal D-1, rep Maya
    crm = tmp_path / "deals.csv"
    crm.write_text("deal_id,outcome,amount,rep\nD-1,lost,100,Maya\nD-2,open,,\n")
    first = apply_deals(store, None, read_export(crm))
    assert first.new == ["D-1", "D-2"] and first.calls_updated == 1
    crm.write_text("deal_id,outcome\nD-1,won\n")
    second = apply_deals(store, None, read_export(crm))
    assert second.updated == ["D-1"] and second.outcome_changed == {"D-1": "won"}
    assert {d["deal_id"]: (d["outcome"], d["amount"], d["rep"], d["calls"]) for d in export.rows(store, "deals")} \
        == {"D-1": ("won", 100.0, "Maya", 1), "D-2": ("open", None, None, 0)}
    [finding] = export.rows(store, "findings")
    assert (finding["deal_id"], finding["outcome"], finding["rep"], finding["label"]) == ("D-1", "won", "Maya",
                                                                                         "Pipewise")


def test_deals_csv_import_is_read_as_analyze_reads_it(data, tmp_path):
    crm = tmp_path / "deals.csv"
    crm.write_text("deal_id,stage\nD-1001,Closed Lost\n")
    bad = winloss(data, "deals", "import", str(crm))
    assert bad.exit_code == 1 and "missing column(s) outcome" in " ".join(bad.output.split())
    crm.write_text("deal_id,outcome\nD-1001,maybe\n")
    bad = winloss(data, "analyze", "--deals", str(crm))
    assert bad.exit_code == 1 and "row 2, column outcome" in " ".join(bad.output.split())
    bad = winloss(data, "deals", "import", str(crm), "--mapping", "zoho")
    assert bad.exit_code == 1 and "not a mapping" in bad.output
    assert outcomes(data)["D-1001"] == "won"

"""The whole loop on real audio: three demo calls (stereo and mono) plus Gong's recorded call and two bad files,
through the real Prefect flows, SQLite and Chroma on a temp dir; then the report, the CLI and a re-run."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re

import pytest
from typer.testing import CliRunner
from winloss.cli.app import app
from winloss.flows.analyze import analyze_calls
from winloss.pipeline.app import App
from winloss.pipeline.evaluation.findings import role_accuracy
from winloss.pipeline.models import Role
from winloss.pipeline.providers.embed import build_embedder
from winloss.pipeline.render.weekly import weekly_report
from winloss.pipeline.settings import load_settings
from winloss.pipeline.storage.index import Index
from winloss.pipeline.storage.store import Store

from .conftest import CONFIG

SUBSET = ["calls/call_02.opus", "calls/call_03.opus", "calls/call_08.opus", "gong/demo.mp3"]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory, examples, prefect_harness):
    tmp = tmp_path_factory.mktemp("e2e")
    inbox = tmp / "inbox"
    inbox.mkdir()
    (inbox / "zero.wav").write_bytes(b"")
    (inbox / "report.mp3").write_text("this is a text file, not audio\n" * 50)
    with (examples / "calls.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["path"] in SUBSET]
    for r in rows:
        r["path"] = str(examples / r["path"])
    rows += [{"path": str(inbox / "zero.wav")}, {"path": str(inbox / "report.mp3")}]
    manifest = tmp / "calls.csv"
    with manifest.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    settings = load_settings(CONFIG, data_dir=tmp / "data")
    outcomes = analyze_calls(settings, [], manifest=manifest, deals=examples / "deals.csv", allow_outside=True)
    return {"settings": settings, "outcomes": outcomes, "manifest": manifest, "examples": examples, "tmp": tmp}


def _by_name(outcomes):
    return {o.path.rsplit("/", 1)[-1]: o for o in outcomes}


def test_batch_goes_past_bad_files_and_names_them(run):
    outcomes = _by_name(run["outcomes"])
    assert {n for n, o in outcomes.items() if o.status == "analysed"} == {"call_02.opus", "call_03.opus",
                                                                            "call_08.opus", "demo.mp3"}
    assert outcomes["zero.wav"].status == "failed" and "empty file" in outcomes["zero.wav"].problem
    assert outcomes["report.mp3"].status == "failed"
    assert "not a readable audio" in outcomes["report.mp3"].problem
    last = Store(run["settings"].database_url).last_run()
    assert last.analysed == 4 and last.failed == 2
    assert {p.path.rsplit("/", 1)[-1] for p in last.failures} == {"zero.wav", "report.mp3"}


def test_roles_follow_the_script(run, examples):
    """Stereo roles come from the channels, mono roles from diarization (the speakers issue's targets)."""
    accuracy = role_accuracy(Store(run["settings"].database_url), examples / "scripts")
    assert accuracy["stereo"] >= 0.95 and accuracy["mono"] >= 0.85, accuracy
    mono = Store(run["settings"].database_url).transcript(_by_name(run["outcomes"])["call_03.opus"].call_id)
    assert {u.role for u in mono.utterances} == {Role.rep, Role.customer} and mono.role_confidence >= 0.6


def test_findings_are_grounded_and_carry_call_and_time(run):
    store = Store(run["settings"].database_url)
    found = store.findings()
    assert {f.kind.value for f in found} == {"objection", "competitor", "message"}
    for f in found:
        assert f.quote in store.transcript(f.call_id).utterances[f.utterance_index].text
    labels = {(f.kind.value, f.label) for f in found}
    assert ("objection", "price") in labels
    assert ("competitor", "Quotient") in labels  # heard by Whisper as "Quotian" in call 08
    contradicted = [f for f in found if f.status == "contradicted"]
    assert any(f.label == "live_in_two_weeks" for f in contradicted)  # planted in call 03


def test_gong_call_is_transcribed_whole(run):
    store = Store(run["settings"].database_url)
    tr = store.transcript(_by_name(run["outcomes"])["demo.mp3"].call_id)
    assert tr.duration == pytest.approx(568.9, abs=1)
    text = " ".join(u.text for u in tr.utterances).lower()
    assert "thursday" in text and "decision" in text and "pilot" in text


def test_report_names_categories_with_outcomes_and_quotes(run):
    path = weekly_report(App(run["settings"]), since=dt.date(2026, 10, 1), until=dt.date(2026, 11, 30), fmt="md")
    text = path.read_text()
    assert "## Objections" in text and "## Competitors" in text and "## Marketing messages" in text
    assert re.search(r"\| price \| \d+ \| \d+ \| \d+ \| \d+ \| \d+ \|", text)
    # every quote line carries a call id and a timestamp
    quotes = [line for line in text.splitlines() if line.startswith("> ")]
    assert quotes and all(re.search(r"`[0-9a-f]{8}` \(.+\) @ \d\d:\d\d", q) for q in quotes)
    assert "2 file(s) failed in the last run" in text
    data = json.loads(weekly_report(App(run["settings"]), since=dt.date(2026, 10, 1), until=dt.date(2026, 11, 30),
                                    fmt="json").read_text())
    assert data["coverage"]["calls"] == 4 and data["coverage"]["won"] == 2


def test_cli_export_search_calls_and_show(run):
    cli = CliRunner()
    base = ["--config", str(CONFIG), "--data-dir", str(run["settings"].data_dir)]
    exported = cli.invoke(app, [*base, "export", "findings", "--format", "jsonl"])
    assert exported.exit_code == 0, exported.output
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    assert lines and all({"call_id", "kind", "label", "utterance_index", "start", "end", "role", "quote", "engine",
                          "confidence"} <= set(x) for x in lines)
    hits = cli.invoke(app, [*base, "search", "the price is too high", "--kind", "objection", "--json"])
    assert hits.exit_code == 0, hits.output
    rows = json.loads(hits.stdout)
    assert rows and all(r["kind"] == "objection" for r in rows) and rows[0]["label"] == "price"
    listed = json.loads(cli.invoke(app, [*base, "calls", "--json"]).stdout)
    assert len(listed) == 4
    shown = cli.invoke(app, [*base, "call", "show", listed[0]["call_id"][:6]])
    assert shown.exit_code == 0 and listed[0]["call_id"] in shown.output
    missing = cli.invoke(app, [*base, "call", "show", "ffffffff"])
    assert missing.exit_code == 1 and "no call" in missing.stderr


def test_rerun_adds_no_rows_or_vectors(run):
    settings = run["settings"]
    store = Store(settings.database_url)
    before_rows = store.counts()

    before_vectors = Index(settings, build_embedder(settings.embeddings)).counts()
    again = analyze_calls(settings, [], manifest=run["manifest"], deals=run["examples"] / "deals.csv",
                          allow_outside=True)
    assert sorted(o.status for o in again) == ["failed"] * 2 + ["unchanged"] * 4
    assert store.counts() == before_rows
    assert Index(settings, build_embedder(settings.embeddings)).counts() == before_vectors


def test_an_index_failure_leaves_the_call_to_be_analysed_again(run, tmp_path, monkeypatch):
    """If the index write fails, the store must not mark the call done: the next run picks it up again."""
    fresh = load_settings(CONFIG, data_dir=tmp_path / "data")
    script = run["examples"] / "scripts" / "call_05.txt"

    def broken(self, analysis, outcome):
        raise RuntimeError("index unavailable")

    monkeypatch.setattr(Index, "upsert_call", broken)
    [failed] = analyze_calls(fresh, [script])
    assert failed.status == "failed" and "index unavailable" in failed.problem
    assert Store(fresh.database_url).counts()["calls"] == 0
    monkeypatch.undo()
    [again] = analyze_calls(fresh, [script])
    assert again.status == "analysed"
    assert Index(fresh, build_embedder(fresh.embeddings)).counts()["utterances"] == Store(
        fresh.database_url).counts()["utterances"] > 0

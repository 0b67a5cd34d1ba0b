"""Nothing lost, nothing double-counted: call identity, inputs checked at the door, and the index moving with the
store. Through the CLI on text transcripts (the demo scripts), real SQLite, Chroma and Prefect on temp dirs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner
from winloss.cli.app import app
from winloss.pipeline.models import FindingKind, Label, finding_key
from winloss.pipeline.providers.embed import build_embedder
from winloss.pipeline.settings import load_settings
from winloss.pipeline.storage.index import FINDINGS, UTTERANCES, Index
from winloss.pipeline.storage.lock import data_lock
from winloss.pipeline.storage.store import Store, meta, utterances
from winloss.pipeline.storage.store import calls as calls_table
from winloss.pipeline.storage.store import findings as findings_table

from .conftest import CONFIG, EXAMPLES

SCRIPTS = EXAMPLES / "scripts"
DEALS = EXAMPLES / "deals.csv"  # D-1001 won, D-1003 lost
OBJECTION = "[05:00] CUSTOMER: Honestly the price is far too expensive for our budget this year.\n"


def winloss(data: Path, *args: str):
    return CliRunner().invoke(app, ["--config", str(CONFIG), "--data-dir", str(data), *map(str, args)])


def calls(data: Path) -> dict[str, dict]:
    """`winloss calls --json`, by file name."""
    listed = winloss(data, "calls", "--json")
    assert listed.exit_code == 0, listed.output
    return {Path(c["path"]).name: c for c in json.loads(listed.stdout)}


def snapshot(data: Path) -> tuple:
    """What a refused input must leave as it was: row counts, calls and their facts, deals, runs."""
    store = Store(load_settings(CONFIG, data_dir=data).database_url)
    with store.engine.connect() as conn:
        deals = conn.exec_driver_sql("SELECT * FROM deals ORDER BY deal_id").all()
        runs = conn.exec_driver_sql("SELECT count(*) FROM runs").scalar()
    return store.counts(), store.list_calls(), deals, runs


def folder(tmp: Path, files: dict[str, str]) -> Path:
    """A folder of transcripts: {file name: demo script it copies}."""
    out = tmp / "calls"
    out.mkdir(parents=True, exist_ok=True)
    for name, script in files.items():
        shutil.copy(SCRIPTS / f"{script}.txt", out / name)
    return out


def manifest(where: Path, rows: list[str], header: str = "path,date,rep,account,deal_id") -> Path:
    path = where / "calls.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


# -- 1. call identity ----------------------------------------------------------------------------------------


def test_an_edited_transcript_replaces_its_analysis_under_the_same_call(tmp_path, prefect_harness):
    data, calls_dir = tmp_path / "data", folder(tmp_path, {"a.txt": "call_01", "b.txt": "call_03"})
    rows = manifest(calls_dir, ["a.txt,2026-10-05,Maya,Harbor,D-1001", "b.txt,2026-10-09,Tom,Northwind,D-1003"])
    first = winloss(data, "analyze", "--manifest", rows, "--deals", DEALS)
    assert first.exit_code == 0 and "2 analysed" in first.output, first.output
    before = calls(data)
    with (calls_dir / "b.txt").open("a") as fh:
        fh.write(OBJECTION)
    second = winloss(data, "analyze", "--manifest", rows)
    assert second.exit_code == 0 and "1 analysed, 1 unchanged" in second.output, second.output
    after = calls(data)
    assert {n: c["call_id"] for n, c in after.items()} == {n: c["call_id"] for n, c in before.items()}
    assert after["b.txt"]["findings"] > before["b.txt"]["findings"]  # the new objection, counted once
    assert after["b.txt"]["outcome"] == "lost" and len(after["b.txt"]["call_id"]) == 16
    # no stale rows or vectors of the earlier version: the index holds exactly what the store holds
    assert winloss(data, "doctor").exit_code == 0
    hits = json.loads(winloss(data, "search", "far too expensive for our budget", "--json").stdout)
    assert hits[0]["call_id"] == after["b.txt"]["call_id"]
    assert "2 unchanged" in winloss(data, "analyze", "--manifest", rows).output


def test_identical_bytes_under_two_rows_are_two_calls_with_their_own_deals(tmp_path, prefect_harness):
    data, calls_dir = tmp_path / "data", folder(tmp_path, {"won.txt": "call_01", "lost.txt": "call_01"})
    rows = manifest(calls_dir, ["won.txt,2026-10-05,Maya,Harbor,D-1001", "lost.txt,2026-10-09,Tom,Northwind,D-1003"])
    result = winloss(data, "analyze", "--manifest", rows, "--deals", DEALS)
    assert result.exit_code == 0 and "2 analysed" in result.output, result.output
    listed = calls(data)
    assert listed["won.txt"]["call_id"] != listed["lost.txt"]["call_id"]
    assert (listed["won.txt"]["outcome"], listed["lost.txt"]["outcome"]) == ("won", "lost")
    assert listed["won.txt"]["findings"] == listed["lost.txt"]["findings"] > 0


def test_a_call_gone_from_its_manifest_is_reported_then_pruned(tmp_path, prefect_harness):
    data, calls_dir = tmp_path / "data", folder(tmp_path, {"a.txt": "call_01", "b.txt": "call_03", "c.txt": "call_05"})
    rows = ["a.txt,2026-10-05,Maya,Harbor,D-1001", "b.txt,2026-10-09,Tom,Northwind,D-1003",
            "c.txt,2026-10-12,Priya,Summit,D-1004"]
    assert winloss(data, "analyze", "--manifest", manifest(calls_dir, rows)).exit_code == 0
    ids = {n: c["call_id"] for n, c in calls(data).items()}
    (calls_dir / "c.txt").unlink()  # its row stays: the file is gone
    shorter = manifest(calls_dir, [rows[0], rows[2]])  # b's row is gone
    reported = winloss(data, "analyze", "--manifest", shorter)
    assert reported.exit_code == 0, reported.output
    assert "1 unchanged, 0 failed, 2 missing" in reported.output
    lines = [line.strip() for line in reported.output.splitlines()]
    gone_row = next(line for line in lines if line.startswith("missing") and "b.txt" in line)
    assert ids["b.txt"] in gone_row and f"not found in {shorter.resolve()} any more" in gone_row
    assert "still stored and counted" in gone_row and "--prune" in gone_row
    gone_file = next(line for line in lines if line.startswith("missing") and "c.txt" in line)
    assert "file not found" in gone_file
    assert set(calls(data)) == {"a.txt", "b.txt", "c.txt"}  # reported, not dropped behind the user's back
    pruned = winloss(data, "analyze", "--manifest", shorter, "--prune")
    assert pruned.exit_code == 0 and pruned.output.count("removed (--prune)") == 2, pruned.output
    assert set(calls(data)) == {"a.txt"}
    assert winloss(data, "doctor").exit_code == 0  # their vectors went with their rows


def test_a_moved_file_keeps_its_call_and_deal_and_a_copy_is_a_new_call(tmp_path, prefect_harness):
    data, calls_dir = tmp_path / "data", folder(tmp_path, {"a.txt": "call_01"})
    assert winloss(data, "analyze", "--manifest", manifest(calls_dir, ["a.txt,2026-10-05,Maya,Harbor,D-1001"]),
                   "--deals", DEALS).exit_code == 0
    [first] = calls(data).values()
    moved = tmp_path / "archive" / "renamed.txt"
    moved.parent.mkdir()
    (calls_dir / "a.txt").rename(moved)
    again = winloss(data, "analyze", moved)
    assert again.exit_code == 0 and "1 unchanged" in again.output, again.output
    [kept] = calls(data).values()
    assert (kept["call_id"], kept["deal_id"], kept["outcome"]) == (first["call_id"], "D-1001", "won")
    assert kept["path"] == str(moved.resolve())
    shutil.copy(moved, tmp_path / "archive" / "copy.txt")
    copied = winloss(data, "analyze", tmp_path / "archive" / "copy.txt")
    assert "1 analysed" in copied.output
    assert calls(data)["copy.txt"]["call_id"] != kept["call_id"]


def test_a_corrected_deal_keeps_the_call_and_its_labels(tmp_path, prefect_harness):
    data, calls_dir = tmp_path / "data", folder(tmp_path, {"a.txt": "call_01"})
    assert winloss(data, "analyze", "--manifest", manifest(calls_dir, ["a.txt,2026-10-05,Maya,Harbor,D-1001"]),
                   "--deals", DEALS).exit_code == 0
    [first] = calls(data).values()
    store = Store(load_settings(CONFIG, data_dir=data).database_url)
    store.save_labels([Label(call_id=first["call_id"], utterance_index=3, text="Sounds good.",
                             kind=FindingKind.objection, label="*", verdict=False)])
    assert winloss(data, "learn").exit_code == 0  # the new label's findings, so that only the deal differs below
    fixed = winloss(data, "analyze", "--manifest", manifest(calls_dir, ["a.txt,2026-10-05,Maya,Harbor,D-1003"]))
    assert fixed.exit_code == 0 and "1 unchanged" in fixed.output and "missing" not in fixed.output, fixed.output
    [kept] = calls(data).values()
    assert (kept["call_id"], kept["deal_id"], kept["outcome"]) == (first["call_id"], "D-1003", "lost")
    assert [lb.call_id for lb in store.labels()] == [first["call_id"]]


# -- 2. inputs checked at the door ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stored(tmp_path_factory, prefect_harness):
    """A data dir with one analysed call; every refused input below must leave it as it is."""
    tmp = tmp_path_factory.mktemp("door")
    calls_dir = folder(tmp, {"a.txt": "call_01"})
    data = tmp / "data"
    result = winloss(data, "analyze", "--manifest", manifest(calls_dir, ["a.txt,2026-10-05,Maya,Harbor,D-1001"]),
                     "--deals", DEALS)
    assert result.exit_code == 0, result.output
    return data, calls_dir


def refused(data: Path, *args) -> str:
    """Run `winloss analyze ARGS`, expect exit 1 and an untouched store; returns the error message."""
    before = snapshot(data)
    result = winloss(data, "analyze", *args)
    assert result.exit_code == 1, result.output
    assert snapshot(data) == before
    return " ".join(result.stderr.split())


def test_an_empty_path_cell_is_an_error_naming_file_row_and_column(stored, tmp_path):
    data, _ = stored
    rows = manifest(tmp_path, ["x.txt,2026-10-05,Maya,Harbor,D-1001", ",2026-10-05,Maya,Harbor,D-1003"])
    assert refused(data, "--manifest", rows) == f"error: {rows}: row 3, column path: empty; each row names the " \
                                                f"file of one call"


def test_manifest_paths_outside_its_folder_are_refused_unless_allowed(stored, tmp_path, prefect_harness):
    data, calls_dir = stored
    inside = tmp_path / "m"
    inside.mkdir()
    (inside / "link.txt").symlink_to(calls_dir / "a.txt")
    for row, shown in [("../calls/a.txt", "../calls/a.txt"), (str(calls_dir / "a.txt"), str(calls_dir / "a.txt")),
                       ("link.txt", "link.txt")]:
        rows = manifest(inside, [f"{row},2026-10-05,Maya,Harbor,D-1001"])
        message = refused(data, "--manifest", rows)
        assert f"{rows}: row 2, column path: {shown}" in message and f"is outside {inside.resolve()}" in message
        assert "--allow-outside" in message
    assert "(it resolves to " in message  # the link says where it points
    allowed = winloss(data, "analyze", "--manifest", rows, "--allow-outside")
    assert allowed.exit_code == 0 and "1 unchanged" in allowed.output, allowed.output


def test_repeated_manifest_and_deal_rows_are_warnings_that_say_which_row_is_used(stored, tmp_path):
    data, calls_dir = stored
    rows = manifest(calls_dir, ["a.txt,2026-10-05,Maya,Harbor,D-1001", "a.txt,,,,D-1001", "a.txt,2026-10-05,Maya,"
                                "Harbor,D-2002"])
    deals = tmp_path / "deals.csv"
    deals.write_text("deal_id,outcome,amount,close_date,stage,rep\nD-1001,won,30000,2026-10-26,Closed Won,Maya\n"
                     "D-1001,won,,,,\nD-5,lost,100,,,\nD-5,won,100,,,\n")
    result = winloss(data, "analyze", "--manifest", rows, "--deals", deals)
    out = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert (f"warning {rows}: rows 2 and 3 both give a.txt with deal D-1001 (row 2 has more columns filled); "
            f"row 2 is used") in out
    assert f"warning {deals}: rows 2 and 3 both give deal D-1001 (row 2 has more columns filled); row 2 is used" in out
    assert f"warning {deals}: rows 4 and 5 both give deal D-5 (they differ in outcome); row 4 is used" in out
    assert "1 manifest row(s) name a deal not in" in out and "D-2002 (row 4)" in out
    store = Store(load_settings(CONFIG, data_dir=data).database_url)
    assert store.outcome_of("D-5").value == "lost"
    with store.engine.connect() as conn:  # the empty repeat did not wipe the full row
        assert conn.exec_driver_sql("SELECT amount, stage FROM deals WHERE deal_id = 'D-1001'").one() == (
            30000, "Closed Won")


@pytest.mark.parametrize("amount, problem", [("-500", "greater than or equal to 0"), ("inf", "finite number"),
                                             ("nan", "finite number")])
def test_a_negative_or_non_finite_amount_is_an_error_naming_row_and_column(stored, tmp_path, amount, problem):
    data, calls_dir = stored
    deals = tmp_path / "deals.csv"
    deals.write_text(f"deal_id,outcome,amount\nD-1,won,100\nD-2,lost,{amount}\n")
    message = refused(data, "--manifest", calls_dir / "calls.csv", "--deals", deals)
    assert message.startswith(f"error: {deals}: row 3, column amount:") and problem in message


def test_an_empty_folder_is_a_clear_error(stored, tmp_path):
    data, _ = stored
    empty = tmp_path / "nothing here"
    empty.mkdir()
    (empty / "notes.md").write_text("not a call")
    assert refused(data, empty).startswith(f"error: {empty}: no audio or transcript files in this folder")


# -- 4. the index moves with the store ------------------------------------------------------------------


@pytest.fixture()
def indexed(tmp_path, prefect_harness):
    """Three analysed calls; returns (data dir, manifest)."""
    calls_dir = folder(tmp_path, {"a.txt": "call_01", "b.txt": "call_03", "c.txt": "call_08"})
    rows = manifest(calls_dir, ["a.txt,2026-10-05,Maya,Harbor,D-1001", "b.txt,2026-10-09,Tom,Northwind,D-1003",
                                "c.txt,2026-10-20,Tom,Acme,D-1008"])
    data = tmp_path / "data"
    result = winloss(data, "analyze", "--manifest", rows, "--deals", DEALS)
    assert result.exit_code == 0 and "3 analysed" in result.output, result.output
    return data, rows


def _open(data: Path) -> tuple[Store, Index]:
    settings = load_settings(CONFIG, data_dir=data)
    return Store(settings.database_url), Index(settings, build_embedder(settings.embeddings))


def test_doctor_reports_a_mismatch_and_reindex_mends_it(indexed):
    data, _ = indexed
    assert winloss(data, "doctor").exit_code == 0
    store, index = _open(data)
    index.delete_call(store.list_calls()[0].call_id)  # vectors lost behind the store's back
    expected = store.vector_counts()
    sick = winloss(data, "doctor")
    assert sick.exit_code == 1
    assert f"findings: {expected['findings']} in the store, {index.counts()['findings']} in the index  <- differs" \
        in sick.output
    assert "run `winloss reindex`" in sick.output
    assert winloss(data, "reindex").exit_code == 0
    assert winloss(data, "doctor").exit_code == 0


def _search(data: Path) -> list:
    result = winloss(data, "search", "the price is too high", "--json")
    assert result.exit_code == 0, result.output
    return [(h["call_id"], h["quote"]) for h in json.loads(result.stdout)]


def test_a_reindex_killed_midway_leaves_the_old_index_answering(indexed):
    data, _ = indexed
    answers = _search(data)
    assert answers
    # The real `winloss reindex`, killed with SIGKILL after it has re-embedded one of the three calls.
    killer = textwrap.dedent(f"""
        import os, signal, sys
        from winloss.pipeline.storage.index import Index
        replace = Index.replace_call
        def replace_then_die(self, *args, **kwargs):
            replace(self, *args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)
        Index.replace_call = replace_then_die
        from winloss.cli.app import app
        sys.argv = ["winloss", "--config", {str(CONFIG)!r}, "--data-dir", {str(data)!r}, "reindex"]
        app()
    """)
    died = subprocess.run([sys.executable, "-c", killer], capture_output=True, text=True, timeout=300)
    assert died.returncode == -signal.SIGKILL, died.stderr
    assert _search(data) == answers  # the complete old index still answers
    check = winloss(data, "doctor")
    assert check.exit_code == 0 and "an interrupted reindex left generation(s) 1 behind" in check.output
    again = winloss(data, "reindex")  # the kernel released the dead process's lock
    assert again.exit_code == 0, again.output
    healed = winloss(data, "doctor")
    assert healed.exit_code == 0 and "interrupted" not in healed.output


def test_analyze_and_reindex_exclude_each_other(indexed):
    data, rows = indexed
    before = snapshot(data)
    with data_lock(data, "reindex"):  # as if a reindex were running
        busy = winloss(data, "analyze", "--manifest", rows)
        assert busy.exit_code == 1
        message = " ".join(busy.stderr.split())
        assert f"{data}: `winloss reindex` (pid " in message
        assert "is writing the store and index; `winloss analyze` must wait for it to finish" in message
        other = winloss(data, "reindex")
        assert other.exit_code == 1 and "`winloss reindex` must wait" in " ".join(other.stderr.split())
    assert snapshot(data) == before
    # a holder killed outright leaves nothing held
    holder = (f"import os, signal, pathlib\nfrom winloss.pipeline.storage.lock import data_lock\n"
              f"with data_lock(pathlib.Path({str(data)!r}), 'analyze'):\n    os.kill(os.getpid(), signal.SIGKILL)\n")
    assert subprocess.run([sys.executable, "-c", holder], timeout=60).returncode == -signal.SIGKILL
    assert "3 unchanged" in winloss(data, "analyze", "--manifest", rows).output


def _back_to_schema_4(data: Path) -> None:
    """Make a data dir what winloss wrote before schema 5: call ids were content hashes, in store and index."""
    store, index = _open(data)
    for call in store.stored_calls():
        old = call.content_hash
        with store.engine.begin() as conn:
            _rekey(conn, call.call_id, old)
        old_ids = {finding_key(call.call_id, f.kind, f.label, f.utterance_index, f.engine): fid
                   for fid, f in store.finding_records(old)}
        for name in (UTTERANCES, FINDINGS):
            col = index.collections[name]
            got = col.get(where={"call_id": call.call_id}, include=["embeddings", "documents", "metadatas"])
            col.delete(ids=got["ids"])
            col.add(ids=[old_ids[i] if name == FINDINGS else f"{old}:{i.rsplit(':', 1)[1]}" for i in got["ids"]],
                    embeddings=list(got["embeddings"]), documents=got["documents"],
                    metadatas=[{**m, "call_id": old} for m in got["metadatas"]])
    with store.engine.begin() as conn:
        for table, column in [("calls", "content_hash"), ("calls", "origin"), ("runs", "missing"),
                              ("runs", "warnings")]:
            conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        conn.execute(sa.text("DROP TABLE alembic_version"))  # winloss before Alembic kept the number in meta
        conn.execute(sa.insert(meta).values(key="schema_version", value="4"))


def _rekey(conn, old: str, new: str) -> None:
    """Move one call's rows to another id, finding ids following, as schema 5 did the other way round."""
    row = dict(conn.execute(sa.select(calls_table).where(calls_table.c.call_id == old)).mappings().one())
    conn.execute(sa.insert(calls_table).values({**row, "call_id": new}))
    conn.execute(sa.update(utterances).where(utterances.c.call_id == old).values(call_id=new))
    for f in conn.execute(sa.select(findings_table).where(findings_table.c.call_id == old)).mappings().all():
        conn.execute(sa.update(findings_table).where(findings_table.c.finding_id == f["finding_id"]).values(
            call_id=new, finding_id=finding_key(new, f["kind"], f["label"], f["utterance_index"], f["engine"])))
    conn.execute(sa.delete(calls_table).where(calls_table.c.call_id == old))


def test_an_upgraded_data_dir_does_no_work_again_and_answers_with_the_new_ids(indexed):
    data, rows = indexed
    ids = {n: c["call_id"] for n, c in calls(data).items()}
    answers = _search(data)
    _back_to_schema_4(data)
    rerun = winloss(data, "analyze", "--manifest", rows)
    assert rerun.exit_code == 0 and "3 unchanged" in rerun.output and "warning" not in rerun.output, rerun.output
    assert {n: c["call_id"] for n, c in calls(data).items()} == ids
    assert winloss(data, "doctor").exit_code == 0
    assert _search(data) == answers  # the vectors were re-keyed, not lost


# -- 3. nothing unredacted at rest --------------------------------------------------------------------------

NAME, EMAIL, CARD, SECRET = "Zebulon Quartermaine", "zeb.q@quartermaine-holdings.example", "4111 1111 1111 1111", \
    "PLANTEDSECRET42"
PLANTED = [NAME, NAME.split()[1], EMAIL, CARD, CARD.replace(" ", ""), SECRET]

DRIVER = """
import json, sys
from typer.testing import CliRunner
from winloss.cli.app import app
results = [CliRunner().invoke(app, args) for args in json.loads(sys.argv[1])]
print(json.dumps([{"code": r.exit_code, "output": r.output} for r in results]))
"""


def test_with_redact_stored_nothing_planted_reaches_disk(tmp_path):
    """A full run (analyze, then the report sent to a webhook) with privacy.redact_stored; then every file under
    the data dir, the report folder and Prefect's home is searched for the planted PII and secret; with no
    Prefect server configured, no command may start one and give Prefect a database to keep them in."""
    calls_dir = folder(tmp_path, {"pii.txt": "call_01"})
    with (calls_dir / "pii.txt").open("a") as fh:
        fh.write(f"[02:40] CUSTOMER: Write to {EMAIL} and charge card {CARD}, ask for {NAME}.\n"
                 f"[02:50] {NAME}: That is me, {NAME.lower()}.\n")
    (calls_dir / "bad.txt").write_text(f"REP: Hello.\n{CARD} {NAME} {EMAIL}\n")  # no `Speaker:`: fails there
    rows = manifest(calls_dir, [f"pii.txt,2026-10-05,Maya,{NAME} Holdings,D-1001",
                                f"bad.txt,2026-10-06,Maya,{EMAIL},D-1003"])
    data, reports, home = tmp_path / "data", tmp_path / "reports", tmp_path / "prefect-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "WINLOSS_"))}
    env.update(PREFECT_HOME=str(home), PREFECT_LOGGING_LEVEL="INFO", WINLOSS_PRIVACY__REDACT_STORED="true",
               WINLOSS_PRIVACY__NAMES=json.dumps([NAME]),
               WINLOSS_WEBHOOK_URL=f"hooks.example.invalid/services/T0/B0/{SECRET}")  # no scheme
    base = ["--config", str(CONFIG), "--data-dir", str(data)]
    commands = [[*base, "analyze", "--manifest", str(rows), "--deals", str(DEALS)],
                [*base, "report", "--since", "2026-10-01", "--until", "2026-10-31", "--format", "html", "--out",
                 str(reports / "report.html"), "--send"]]
    run = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(commands)], env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    analysed, reported = json.loads(run.stdout.splitlines()[-1])
    assert analysed["code"] == 3 and "1 analysed, 0 unchanged, 1 failed" in analysed["output"]
    assert "bad.txt: line 2 is not `Speaker: text`" in analysed["output"]
    assert "(the line is withheld: privacy.redact_stored)" in analysed["output"]
    assert reported["code"] == 1 and "WINLOSS_WEBHOOK_URL is not an http(s) URL" in reported["output"]
    store = Store(load_settings(CONFIG, data_dir=data).database_url)
    [call] = store.list_calls()
    assert call.account == "[NAME] Holdings"
    said = [u.text for u in store.transcript(call.call_id).utterances][-2:]
    assert said == ["Write to [EMAIL] and charge card [CARD], ask for [NAME].", "That is me, [NAME]."]
    assert "bad.txt</code>: line 2 is not" in (reports / "report.html").read_text()  # the failed file
    found = []
    assert data.exists() and reports.exists()
    for root in (data, reports, home):  # without a Prefect server, Prefect's home may hold nothing, or not exist
        for path in (p for p in root.rglob("*") if p.is_file()):
            blob = path.read_bytes().lower()
            found += [(str(path), s) for s in PLANTED if s.lower().encode() in blob]
    assert found == []
    # no PREFECT_API_URL: neither command started a Prefect server, so Prefect kept no database to leak into
    assert not home.exists() or not any(home.rglob("*.db"))
    assert run.stdout.count(SECRET) == run.stderr.count(SECRET) == 0  # nor printed

"""`winloss analyze` without a Prefect server: real processes started at once or killed outright, then the store.

Runs with no PREFECT_API_URL, as a user's shell would: the batch runs in-process, and nothing it starts (the
embedder's workers, a Prefect server if one ever came back) may outlive it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import CONFIG, EXAMPLES

WINLOSS = Path(sys.executable).with_name("winloss")
SCRIPTS = [f"call_{i:02d}.txt" for i in range(1, 9)]


def corpus(tmp: Path) -> Path:
    """A manifest of eight demo transcripts, with the demo's dates, reps and deals; returns the manifest."""
    folder = tmp / "calls"
    folder.mkdir()
    rows = {Path(r["path"]).stem: r for r in csv.DictReader((EXAMPLES / "calls.csv").open())}
    with (folder / "calls.csv").open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["path", "date", "rep", "account", "deal_id"])
        for name in SCRIPTS:
            shutil.copy(EXAMPLES / "scripts" / name, folder / name)
            row = rows[Path(name).stem]
            out.writerow([name, row["date"], row["rep"], row["account"], row["deal_id"]])
    shutil.copy(EXAMPLES / "deals.csv", folder / "deals.csv")
    return folder / "calls.csv"


def env() -> dict[str, str]:
    """A user's shell: no Prefect server configured."""
    return {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}


def start(data: Path, *args: str) -> subprocess.Popen:
    # a session of its own: every process the run starts can be found by its session id after it is gone
    return subprocess.Popen([str(WINLOSS), "--config", str(CONFIG), "--data-dir", str(data), *args], env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def run(data: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(WINLOSS), "--config", str(CONFIG), "--data-dir", str(data), *args], env=env(),
                          capture_output=True, text=True, timeout=600)


def analyze(data: Path, manifest: Path, *extra: str) -> list[str]:
    return ["analyze", "--manifest", str(manifest), "--deals", str(manifest.with_name("deals.csv")), *extra]


def session(sid: int) -> list[str]:
    """The processes still alive in session `sid` (zombies aside), as `pid command`: whatever a run started,
    Prefect's server included (a plain Popen child), unless it left the session on purpose."""
    ps = subprocess.run(["ps", "-eo", "pid=,sid=,stat=,args="], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if int(line.split()[1]) == sid and "Z" not in line.split()[2]]


def state(data: Path) -> dict:
    """Row and vector counts per collection (`doctor --json`), and the calls stored."""
    doctor = run(data, "doctor", "--json")
    calls = json.loads(run(data, "calls", "--json").stdout)
    return {**json.loads(doctor.stdout), "calls": sorted((Path(c["path"]).name, c["findings"]) for c in calls)}


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, dict]:
    """One clean run: what every other run must end with."""
    tmp = tmp_path_factory.mktemp("clean")
    manifest = corpus(tmp)
    done = run(tmp / "data", *analyze(tmp / "data", manifest))
    assert done.returncode == 0, done.stderr
    return manifest, state(tmp / "data")


def test_three_runs_at_once_leave_one_consistent_store_and_no_server(tmp_path, clean):
    manifest, expected = clean
    data = tmp_path / "data"
    runs = [start(data, *analyze(data, manifest, "--wait", "300")) for _ in range(3)]
    results = [(p.wait(timeout=600), p.communicate()) for p in runs]
    for code, (out, err) in results:
        assert code == 0, err
        assert "database is locked" not in out + err and "Traceback" not in err
    outs = [out for _, (out, _) in results]
    # one run did the work; the two that waited for its lock found every call stored and unchanged
    assert sum("8 analysed" in o for o in outs) == 1 and sum("8 unchanged" in o for o in outs) == 2, outs
    assert state(data) == expected
    # Prefect's ephemeral server was a child in the same session (plain Popen): none is left, nor anything else
    assert all(not session(p.pid) for p in runs)


def test_a_second_run_without_wait_is_refused_in_one_line(tmp_path, clean):
    manifest, _ = clean
    data = tmp_path / "data"
    first = start(data, *analyze(data, manifest))
    lock = data / "winloss.lock"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (lock.exists() and lock.read_text()):
        time.sleep(0.1)
    second = run(data, *analyze(data, manifest))
    first.wait(timeout=600)
    assert second.returncode == 1
    assert "is writing the store and index" in second.stderr and "--wait" in second.stderr
    assert len(second.stderr.strip().splitlines()) <= 3 and "Traceback" not in second.stderr  # one wrapped line


def test_a_killed_run_leaves_no_process_and_a_rerun_ends_as_a_clean_run(tmp_path, clean):
    manifest, expected = clean
    data = tmp_path / "data"
    victim = start(data, *analyze(data, manifest))
    db = data / "winloss.db"
    deadline = time.monotonic() + 180
    # kill once the run is writing: some calls stored, not all
    while time.monotonic() < deadline and victim.poll() is None:
        if db.exists() and _stored(db) >= 2:
            break
        time.sleep(0.2)
    assert victim.poll() is None, "the run ended before it could be killed"
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    time.sleep(3)  # the embedder's workers see their pipe close and exit
    assert not session(victim.pid), session(victim.pid)
    again = run(data, *analyze(data, manifest))
    assert again.returncode == 0, again.stderr
    assert state(data) == expected


def _stored(db: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM calls WHERE analysed_at IS NOT NULL").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_broken_input_is_one_line_before_any_work_and_debug_shows_the_traceback(tmp_path, clean):
    manifest, _ = clean
    config = tmp_path / "winloss.toml"
    config.write_text('playbook = "missing-playbook.toml"\n')
    data = tmp_path / "data"
    argv = [str(WINLOSS), "--config", str(config), "--data-dir", str(data), *analyze(data, manifest)]
    started = time.perf_counter()
    done = subprocess.run(argv, env=env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and time.perf_counter() - started < 15  # no model, no server: seconds at most
    assert "missing-playbook.toml: file not found" in done.stderr and "Traceback" not in done.stderr
    assert not data.exists()  # refused before the lock or the store touched the data dir
    debug = subprocess.run([argv[0], "--debug", *argv[1:]], env=env(), capture_output=True, text=True, timeout=120)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "ConfigError" in debug.stderr
    bad_deals = tmp_path / "deals.csv"
    bad_deals.write_text("deal_id,outcome\nD-1,maybe\n")
    deals = run(data, "analyze", "--manifest", str(manifest), "--deals", str(bad_deals))
    assert deals.returncode == 1 and "Traceback" not in deals.stderr
    assert f"{bad_deals}: row 2, column outcome" in " ".join(deals.stderr.split())

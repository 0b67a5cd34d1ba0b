"""A new user's first run and the conventions every command keeps: `init`, config discovery and `config show`,
`schedule` without a server, `--json` on every command that prints data, one error handler, help with examples and
readable option types, the same percentages in every view."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner
from winloss.cli.app import app
from winloss.cli.demo import demo_corpus
from winloss.pipeline.errors import WinlossError

from .conftest import CONFIG, EXAMPLES, ROOT

DEALS = "deal_id,outcome,amount,close_date,stage,rep\nD-1001,won,30000,2026-10-26,Closed Won,Maya\n" \
        "D-1002,won,36000,2026-10-29,Closed Won,Maya\nD-1003,lost,30000,2026-12-07,Closed Lost,Tom\n"


@pytest.fixture()
def home(tmp_path, monkeypatch) -> Path:
    """An empty working folder, with the user config and data dirs (platformdirs, XDG on Linux) under tmp."""
    for var in ("WINLOSS_CONFIG", "WINLOSS_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, list(args), env=env, prog_name="winloss")


def shown(*args: str) -> dict:
    result = invoke(*args, "config", "show", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_init_writes_a_commented_config_and_playbook_that_winloss_then_finds(home, tmp_path):
    result = invoke("init")
    assert result.exit_code == 0, result.output
    config, playbook = home / "winloss.toml", home / "playbook.toml"
    text = config.read_text()
    assert text.startswith("# winloss configuration") and "data_dir" not in tomllib.loads(text)
    assert "# data_dir =" in text  # shown, commented out: the data goes to the user data dir
    assert playbook.read_text() == (ROOT / "config" / "playbook.toml").read_text()
    found = shown()
    assert (found["config_file"], found["found_by"]) == ("winloss.toml", "./winloss.toml")
    settings = found["settings"]
    assert settings["data_dir"] == {"value": str(tmp_path / "xdg-data" / "winloss"),
                                    "source": "user data dir (platformdirs)"}
    assert settings["playbook"]["value"] == "playbook.toml"
    again = invoke("init")
    assert again.exit_code == 1 and "already there" in again.stderr and "--force" in again.stderr
    config.write_text("# mine\n")
    assert invoke("init", "--force").exit_code == 0 and config.read_text() == text


def test_init_into_a_folder_with_json(home):
    result = invoke("init", "team/config", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["files"] == ["team/config/winloss.toml", "team/config/playbook.toml"]
    assert shown("--config", "team/config/winloss.toml")["settings"]["playbook"]["value"] == \
        "team/config/playbook.toml"


def test_config_discovery_order(home, tmp_path, monkeypatch):
    def origin() -> tuple[str, str]:
        found = shown()
        return found["found_by"], found["config_file"]

    packaged = origin()
    assert packaged == ("packaged defaults", str(ROOT / "config" / "winloss.toml"))
    user = tmp_path / "xdg-config" / "winloss" / "winloss.toml"
    user.parent.mkdir(parents=True)
    user.write_text("[report]\nmin_sample = 6\n")
    assert origin() == ("user config dir", str(user))
    (home / "config").mkdir()
    (home / "config" / "winloss.toml").write_text("[report]\nmin_sample = 7\n")
    assert origin() == ("./config/winloss.toml", "config/winloss.toml")
    (home / "winloss.toml").write_text("[report]\nmin_sample = 8\n")
    assert origin() == ("./winloss.toml", "winloss.toml")
    other = tmp_path / "elsewhere.toml"
    other.write_text("[report]\nmin_sample = 9\n")
    monkeypatch.setenv("WINLOSS_CONFIG", str(other))
    assert origin() == ("WINLOSS_CONFIG", str(other))
    flag = shown("--config", "config/winloss.toml")
    assert (flag["found_by"], flag["settings"]["report.min_sample"]["value"]) == ("--config", 7)
    assert shown()["settings"]["report.min_sample"]["value"] == 9


def test_config_show_names_the_source_of_each_value(home, tmp_path):
    (home / "winloss.toml").write_text('[report]\nmin_sample = 8\n[llm]\nmodel = "local-model"\n')
    env = {"WINLOSS_EXTRACTION__OBJECTION_THRESHOLD": "0.5"}
    result = invoke("--data-dir", str(tmp_path / "d"), "config", "show", "--json", env=env)
    assert result.exit_code == 0, result.output
    settings = json.loads(result.stdout)["settings"]
    assert settings["report.min_sample"] == {"value": 8, "source": "winloss.toml (./winloss.toml)"}
    assert settings["llm.model"]["source"] == "winloss.toml (./winloss.toml)"
    assert settings["extraction.objection_threshold"] == {"value": 0.5,
                                                          "source": "env WINLOSS_EXTRACTION__OBJECTION_THRESHOLD"}
    assert settings["data_dir"] == {"value": str(tmp_path / "d"), "source": "--data-dir"}
    assert settings["report.alpha"] == {"value": 0.1, "source": "default"}
    table = invoke("config", "show", env=env)
    assert table.exit_code == 0 and "found by ./winloss.toml" in table.stdout
    assert "report.min_sample" in table.stdout and "default" in table.stdout


def test_the_checkout_config_keeps_its_data_in_dot_winloss(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("WINLOSS_CONFIG", raising=False)
    monkeypatch.delenv("WINLOSS_DATA_DIR", raising=False)
    found = shown()
    assert found["found_by"] == "./config/winloss.toml"
    assert found["settings"]["data_dir"] == {"value": ".winloss",
                                             "source": "config/winloss.toml (./config/winloss.toml)"}


def test_schedule_refuses_without_a_prefect_server_and_says_how_to_start_one(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": ""}
    done = subprocess.run([sys.executable, "-c", "from winloss.cli.app import main; main()", "--config", str(CONFIG),
                           "--data-dir", str(tmp_path / "data"), "schedule"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1, done.stderr
    message = " ".join(done.stderr.split())
    assert message.startswith("error: `winloss schedule` needs a Prefect server")
    assert "prefect server start" in message and "export PREFECT_API_URL=http://127.0.0.1:4200/api" in message
    assert "--local" in message and "served" not in done.stdout


def test_schedule_local_serves_against_a_temporary_server(tmp_path):
    import signal
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": ""}
    log = tmp_path / "schedule.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "winloss"), "--config", str(CONFIG), "--data-dir",
                                 str(tmp_path / "data"), "schedule", "--local"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while "being served" not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(1)
        text = log.read_text()
        assert "being served" in text and "scheduled_report/winloss-weekly" in text, text[-3000:]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # its group: winloss and the temporary Prefect server it started
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a loaded machine: the server's shutdown is not what is tested here
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def _commands(command, path=()):
    for name, sub in getattr(command, "commands", {}).items():
        if getattr(sub, "commands", None):
            yield from _commands(sub, (*path, name))
        else:
            yield (*path, name)


COMMANDS = sorted(_commands(get_command(app)))


def test_every_command_is_listed_here():
    assert {" ".join(c) for c in COMMANDS} >= {"init", "config show", "demo", "analyze", "calls", "call show",
                                               "export findings", "models", "schedule", "reindex", "reps"}


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_has_an_example_and_readable_types(command):
    result = invoke(*command, "--help", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert re.search(r"Example: \S*\s*(winloss|prefect) ", text), text
    assert not re.search(r"<(bool|str|int|float|path|list\[\w+\])>|\{\w+\}", text), text
    assert f"Usage: winloss {' '.join(command)} [OPTIONS]" in text


def test_root_help_offers_completion_and_an_example():
    text = invoke("--help", env={"COLUMNS": "200"}).stdout
    assert "--install-completion" in text and "--show-completion" in text and "Example: winloss init" in text


def test_shell_completion_completes_command_names():
    env = {**os.environ, "_WINLOSS_COMPLETE": "complete_bash", "COMP_WORDS": "winloss cal", "COMP_CWORD": "1"}
    done = subprocess.run([str(Path(sys.executable).parent / "winloss")], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["calls", "call"]


def test_one_handler_turns_a_winloss_error_into_one_line_and_exit_1(tmp_path):
    result = invoke("--config", str(CONFIG), "--data-dir", str(tmp_path), "calls", "--since", "2026-12-01",
                    "--until", "2026-11-01")
    assert result.exit_code == 1
    assert result.stderr.strip() == ("error: --since 2026-12-01 is after --until 2026-11-01: the period is empty; "
                                     "swap them")
    debug = invoke("--config", str(CONFIG), "--data-dir", str(tmp_path), "--debug", "calls", "--since", "2026-12-01",
                   "--until", "2026-11-01", env={"WINLOSS_DEBUG": "1"})
    assert isinstance(debug.exception, WinlossError)


def test_commands_are_module_level_and_leave_winloss_errors_to_the_one_handler():
    sources = {p.name: p.read_text() for p in (ROOT / "cli").glob("*.py")}
    assert [name for name, text in sources.items() if "except WinlossError" in text] == ["conventions.py"]
    assert [name for name, text in sources.items() if re.search(r"^[ \t]+@\w+\.command", text, re.M)] == []


def test_the_demo_runs_the_text_transcripts_where_the_audio_is_not_installed(tmp_path):
    wheel_like = tmp_path / "examples"
    (wheel_like / "scripts").mkdir(parents=True)
    for name in ("calls.csv", "deals.csv"):
        (wheel_like / name).write_bytes((EXAMPLES / name).read_bytes())
    for script in (EXAMPLES / "scripts").glob("*.txt"):
        (wheel_like / "scripts" / script.name).write_bytes(script.read_bytes())
    manifest, deals, outside = demo_corpus(wheel_like, tmp_path / "data")
    assert (manifest, deals, outside) == (tmp_path / "data" / "demo" / "calls.csv", wheel_like / "deals.csv", True)
    with manifest.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 24 and all(Path(r["path"]).is_file() and r["path"].endswith(".txt") for r in rows)
    assert (rows[0]["date"], rows[0]["rep"], rows[0]["deal_id"]) == ("2026-10-05", "Maya", "D-1001")
    assert demo_corpus(EXAMPLES, tmp_path / "unused") == (EXAMPLES / "calls.csv", EXAMPLES / "deals.csv", False)
    (wheel_like / "scripts" / "call_07.txt").unlink()
    with pytest.raises(WinlossError, match=r"call_07\.txt: a demo transcript is missing"):
        demo_corpus(wheel_like, tmp_path / "data")


# --- --json on every command that prints data, on a small store --------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """Calls 01-03 as text transcripts with their deals, analysed into a fresh data dir."""
    tmp = tmp_path_factory.mktemp("conventions")
    with (EXAMPLES / "calls.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["path"] in {f"calls/call_0{i}.opus" for i in (1, 2, 3)}]
    (tmp / "calls.csv").write_text("path,date,rep,account,deal_id\n" + "".join(
        f"{EXAMPLES / 'scripts' / (Path(r['path']).stem + '.txt')},{r['date']},{r['rep']},{r['account']},"
        f"{r['deal_id']}\n" for r in rows))
    (tmp / "deals.csv").write_text(DEALS)
    done = winloss(tmp / "data", "analyze", "--manifest", str(tmp / "calls.csv"), "--deals", str(tmp / "deals.csv"),
                   "--allow-outside", "--json")
    assert done.exit_code == 0, done.output
    return tmp / "data"


def winloss(data: Path, *args: str):
    return CliRunner().invoke(app, ["--config", str(CONFIG), "--data-dir", str(data), *args])


def as_json(data: Path, *args: str):
    result = winloss(data, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_every_data_command_prints_json(store, tmp_path):
    calls = as_json(store, "calls")
    assert {c["deal_id"] for c in calls} == {"D-1001", "D-1002", "D-1003"}
    call = as_json(store, "call", "show", calls[0]["call_id"][:8])
    assert call["call"]["call_id"] == calls[0]["call_id"] and call["transcript"]["utterances"]
    assert as_json(store, "search", "too expensive", "--scope", "utterances", "--limit", "2")[0]["quote"]
    assert as_json(store, "ask", "why do we lose to Quotient?", "--offline")["question"]
    assert {r["label"] for r in as_json(store, "insights", "competitors")} >= {"Quotient"}
    assert {c["rep"] for c in as_json(store, "reps")["reps"]} == {"Maya", "Tom"}
    assert as_json(store, "trackers")["trackers"][0]["mode"] == "zero-shot"
    assert as_json(store, "doctor")["ok"] is True
    assert as_json(store, "models")[0]["role"] == "transcription"
    assert as_json(store, "reindex")["calls"] == 3
    (tmp_path / "deals.csv").write_text(DEALS.replace("D-1003,lost", "D-1003,won"))
    imported = as_json(store, "deals", "import", str(tmp_path / "deals.csv"))
    assert imported["outcome_changed"] == {"D-1003": "won"}
    (tmp_path / "labels.jsonl").write_text(json.dumps({"call_id": calls[0]["call_id"], "utterance": 1,
                                                       "kind": "objection", "label": "*", "verdict": False}) + "\n")
    assert as_json(store, "labels", "import", str(tmp_path / "labels.jsonl"))["imported"] == 1
    assert as_json(store, "report", "--since", "2026-10-01", "--until", "2026-10-31",
                   "--out", str(tmp_path / "r.md"))["files"] == [str(tmp_path / "r.md")]


def test_talk_ratio_is_a_percent_in_the_terminal_as_in_html(store, tmp_path):
    call_id = as_json(store, "calls")[0]["call_id"]
    ratio = as_json(store, "call", "show", call_id)["summary"]["metrics"]["talk_ratio"]
    terminal = winloss(store, "call", "show", call_id, "--html", str(tmp_path / "call.html"))
    assert terminal.exit_code == 0, terminal.output
    assert f"talk ratio {ratio:.0%} ·" in terminal.stdout
    assert f"{ratio:.0%}" in (tmp_path / "call.html").read_text()
    card = as_json(store, "reps")["reps"][0]
    reps = winloss(store, "reps")
    assert reps.exit_code == 0 and f"{card['metrics']['talk_ratio']:.0%}" in reps.stdout, reps.stdout


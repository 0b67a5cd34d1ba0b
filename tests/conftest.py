"""Fixtures are paths to real files and real components on temp dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent.parent / "examples" / "eval"
EXAMPLES = ROOT / "examples"
CONFIG = ROOT / "config" / "winloss.toml"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def examples() -> Path:
    return EXAMPLES


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture()
def settings(tmp_path):
    from winloss.pipeline.settings import load_settings

    return load_settings(CONFIG, data_dir=tmp_path / "data")


@pytest.fixture(scope="session")
def playbook():
    from winloss.pipeline.settings import load_playbook, load_settings

    return load_playbook(load_settings(CONFIG).playbook)


@pytest.fixture(scope="session")
def engines(playbook):
    """One set of real providers (Whisper tiny.en, MiniLM) shared by the tests that need models."""
    from winloss.pipeline.analyze import Engines
    from winloss.pipeline.settings import load_settings

    return Engines(load_settings(CONFIG), playbook)


@pytest.fixture(scope="session")
def script_corpus(tmp_path_factory, prefect_harness):
    """The 24 demo calls as their text scripts (no ASR), analysed into a fresh data dir with manifest and deals.

    Fast enough for every test that needs a realistic store: search, insights, reports, scorecards.
    """
    import csv

    from winloss.flows.analyze import analyze_calls
    from winloss.pipeline.settings import load_settings

    tmp = tmp_path_factory.mktemp("scripts")
    with (EXAMPLES / "calls.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["path"].startswith("calls/")]
    for r in rows:
        r["path"] = str(EXAMPLES / "scripts" / (Path(r["path"]).stem + ".txt"))
    manifest = tmp / "calls.csv"
    with manifest.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    settings = load_settings(CONFIG, data_dir=tmp / "data")
    outcomes = analyze_calls(settings, [], manifest=manifest, deals=EXAMPLES / "deals.csv")
    assert [o.status for o in outcomes] == ["analysed"] * 24, [o.problem for o in outcomes]
    return settings

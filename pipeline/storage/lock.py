"""One writer at a time per data dir: `analyze` and `reindex` hold an OS lock on `<data dir>/winloss.lock`.

flock(2) locks belong to the open file, so the kernel drops the lock when its holder exits, however it exits
(SIGKILL included): a crashed run never leaves the data dir locked. The file's text only says who holds it.
The lock is local to one machine: with a shared PostgreSQL store and a Chroma server, run the writers on one host.

A second writer is refused at once by default: someone who starts `analyze` twice by mistake learns it now, not
after a silent wait. Schedules (the drop-folder flow) and scripts pass `wait_s` (`analyze --wait`) to queue behind
the holder instead; the waiter then finds the holder's calls stored and unchanged, so nothing is done twice.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from winloss.pipeline.errors import WinlossError

LOCK_FILE = "winloss.lock"


class BusyError(WinlossError):
    """Another process is writing the same store and index."""


@contextmanager
def data_lock(data_dir: Path, command: str, wait_s: float = 0) -> Iterator[None]:
    """Hold the data dir's writer lock for `command`, waiting up to `wait_s` seconds for another holder to let go;
    then BusyError naming the holder."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE
    with path.open("a+", encoding="utf-8") as fh:
        if not _acquire(fh, wait_s):
            fh.seek(0)
            holder = fh.read().strip() or "another winloss process"
            waited = f" (waited {wait_s:g} s)" if wait_s else " (or pass --wait SECONDS)"
            raise BusyError(f"{data_dir}: {holder} is writing the store and index; `winloss {command}` must wait "
                            f"for it to finish{waited}; the lock is {path}, released when that process ends")
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"`winloss {command}` (pid {os.getpid()}, since {dt.datetime.now():%Y-%m-%d %H:%M:%S})")
            fh.flush()
            yield
        finally:
            fh.truncate(0)
            fcntl.flock(fh, fcntl.LOCK_UN)


def _acquire(fh, wait_s: float) -> bool:
    """Take the lock, polling until `wait_s` has passed (flock has no timeout of its own)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)

"""Flow arguments by reference: a flow takes a key, the caller keeps the objects.

Prefect writes every flow parameter into its database (under PREFECT_HOME, or a server's). Settings carry the
names `privacy.redact_stored` masks and perhaps a database password, so a flow gets a key into this process's
registry instead; the entry lives only while the call runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from winloss.pipeline.errors import WinlossError

_REQUESTS: dict[str, Any] = {}


@contextmanager
def by_reference(request: Any) -> Iterator[str]:
    key = uuid.uuid4().hex
    _REQUESTS[key] = request
    try:
        yield key
    finally:
        del _REQUESTS[key]


def deref(key: str) -> Any:
    try:
        return _REQUESTS[key]
    except KeyError:
        raise WinlossError(f"flow request {key} is not held by this process: call the flow through its Python "
                           f"function (analyze_calls, weekly_report), not by parameters") from None

"""Named pause points where fault-injection tests stop a process at the worst moment.

A test sets SPARK_FAULT_PAUSE_AT to a point's name; the first process to reach that point
creates `<var_dir>/pause-<name>` (holding its pid) and waits until the test writes
`release` into it, so the test can kill it there, or cut its database, then let it go.
Every later process finds the file and passes: a point pauses once per test. Unset
(always, outside those tests) a point costs one comparison.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

_armed: tuple[str, Path] | None = None
RELEASE = "release"
#: a paused process gives up waiting after this long, so a broken test cannot wedge a worker
MAX_PAUSE_S = 120.0


def arm(point: str | None, var_dir: Path) -> None:
    """Pause at point (None: nowhere), with the marker file under var_dir."""
    global _armed
    _armed = (point, var_dir) if point else None


def marker(point: str, var_dir: Path) -> Path:
    """The file a process paused at point holds."""
    return var_dir / f"pause-{point}"


def pause_point(point: str) -> None:
    """Stop here if a test asked for this point and no process has stopped here before."""
    if _armed is None or _armed[0] != point:
        return
    path = marker(point, _armed[1])
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as f:
        f.write(str(os.getpid()))
    log.warning("paused at %s (pid %d) until %s says release", point, os.getpid(), path)
    deadline = time.monotonic() + MAX_PAUSE_S
    while path.read_text() != RELEASE and time.monotonic() < deadline:
        time.sleep(0.05)
    log.warning("released from %s", point)

"""Job logs, such as a build's Unity log: the storage port (its adapter, on Redis and the blob
port, is spark.storage.live_logs)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol


@dataclass(frozen=True)
class LogPage:
    """Lines read from a log; next_offset is the raw line to read from next."""

    lines: tuple[str, ...]
    #: a raw line number even when filtered, so a follower resumes where this page ended
    next_offset: int
    #: complete lines in the log now; fewer than a follower's offset means a new attempt began
    total_lines: int


class LogWriter(Protocol):
    """Appends lines to one job's log, each visible to readers promptly."""

    def write(self, line: str) -> None:
        """Append one line."""
        ...

    def close(self) -> None:
        """Flush and release the log."""
        ...

    def __enter__(self) -> LogWriter: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class LogStorage(Protocol):
    """Where job logs are written while the job runs and read by followers meanwhile."""

    def open_writer(self, job_id: uuid.UUID, attempt: int = 1) -> LogWriter:
        """A writer on a fresh log for the job, whose first line names the attempt."""
        ...

    def read(
        self,
        job_id: uuid.UUID,
        offset_lines: int = 0,
        keep: Callable[[str], bool] | None = None,
        limit: int | None = None,
    ) -> LogPage | None:
        """Lines from raw line offset_lines on; only those keep accepts when it is given."""
        ...

    def remove(self, job_id: uuid.UUID) -> None:
        """Delete the job's log (retention); nothing if it has none."""
        ...

"""Job logs, such as a build's Unity log: a storage port, and its local adapter."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Protocol


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


class LocalLogWriter:
    """Writes one log file, flushing every line so followers see it at once."""

    def __init__(self, path: Path, attempt: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # "w": a new attempt (a retry after a lost worker) starts the log afresh.
        self._file: IO[str] = path.open("w", encoding="utf-8", errors="replace")
        # The build's reader thread writes while the main thread may add its own lines.
        self._lock = threading.Lock()
        self.write(f"[spark] attempt {attempt}")

    def write(self, line: str) -> None:
        """Append one line; embedded line breaks become separate lines."""
        text = line.rstrip("\r\n").replace("\r\n", "\n").replace("\r", "\n")
        with self._lock:
            self._file.write(text + "\n")
            self._file.flush()

    def close(self) -> None:
        """Flush and close the file."""
        with self._lock:
            self._file.close()

    def __enter__(self) -> LocalLogWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class LocalLogStore:
    """The local adapter: `<root>/logs/<job id>.log`, root being SPARK_VAR_DIR."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, job_id: uuid.UUID) -> Path:
        """The file holding the job's log."""
        return self.root / "logs" / f"{job_id}.log"

    def remove(self, job_id: uuid.UUID) -> None:
        """Delete the job's log file, if there is one."""
        self.path(job_id).unlink(missing_ok=True)

    def open_writer(self, job_id: uuid.UUID, attempt: int = 1) -> LocalLogWriter:
        """A writer on a fresh log for the job, whose first line names the attempt."""
        return LocalLogWriter(self.path(job_id), attempt)

    def read(
        self,
        job_id: uuid.UUID,
        offset_lines: int = 0,
        keep: Callable[[str], bool] | None = None,
        limit: int | None = None,
    ) -> LogPage | None:
        """Lines from raw line offset_lines on; only those keep accepts when it is given."""
        try:
            stream = self.path(job_id).open("rb")
        except FileNotFoundError:
            return None
        start = max(0, offset_lines)
        lines: list[str] = []
        next_offset = start
        total = 0
        with stream:
            for raw in stream:
                # A line still being written has no newline yet: it is read next time.
                if not raw.endswith(b"\n"):
                    break
                total += 1
                if total <= start or (limit is not None and len(lines) >= limit):
                    continue
                line = raw.decode("utf-8", errors="replace").rstrip("\n")
                next_offset = total
                if keep is None or keep(line):
                    lines.append(line)
        return LogPage(tuple(lines), next_offset, total)

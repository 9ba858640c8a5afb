"""One log format for every SPARK process: JSON lines (plain text on a terminal), every record
scrubbed of keys, tokens and e-mail addresses, and the request, job and user it concerns
attached from context."""

from __future__ import annotations

import json
import logging
import sys
import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, Literal, TextIO

from pythonjsonlogger.json import JsonFormatter

from spark.config import Settings
from spark.security.scrub import scrub, scrub_text

LogFormat = Literal["auto", "json", "text"]

#: the request being served (X-Request-ID), or that submitted the job being run
REQUEST_ID: ContextVar[str | None] = ContextVar("spark_request_id", default=None)
#: the job being submitted, read or run
JOB_ID: ContextVar[str | None] = ContextVar("spark_job_id", default=None)
#: the user the request or job acts for
USER: ContextVar[str | None] = ContextVar("spark_user", default=None)
_CONTEXT = (("request_id", REQUEST_ID), ("job_id", JOB_ID), ("user", USER))

#: what a LogRecord carries of its own; anything else on it came as `extra` and is scrubbed
_OWN = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__)
_STANDARD = _OWN | {"message", "asctime", "taskName", "request_id", "job_id", "user"}

#: how much of a job's params a debug line shows
SUMMARY_CHARS = 300

_TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def bind(*, job_id: uuid.UUID | str | None, request_id: str | None, user: str | None) -> None:
    """Say which job (submitted by which request, for which user) the following lines are
    about, until the next bind or clear."""
    JOB_ID.set(str(job_id) if job_id is not None else None)
    REQUEST_ID.set(request_id)
    USER.set(user)


def clear() -> None:
    """Forget the request, job and user: what follows is about none of them."""
    bind(job_id=None, request_id=None, user=None)


class ContextFilter(logging.Filter):
    """Adds the context fields to each record and scrubs its message, extras and arguments.

    It sits on the handler, not a logger, so records propagated from every logger (uvicorn's,
    Celery's, libraries') pass through it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Always True: the record is kept, enriched and scrubbed."""
        for name, var in _CONTEXT:
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        try:
            if isinstance(record.msg, dict):
                record.msg = scrub(record.msg)
            else:
                # Formatted first: an argument may be what carries the address or the key.
                record.msg = scrub_text(record.getMessage())
                record.args = None
        except Exception:
            # A malformed record (arguments that do not fit) is reported by the handler's emit.
            pass
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if extras:
            record.__dict__.update(scrub(extras))
        return True


class JsonLines(JsonFormatter):
    """One JSON object a line: ts, level, logger, message, the known context fields, extras and
    exc_info (scrubbed like messages: an exception's text may quote what it failed on)."""

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="ts",
            # uvicorn's copy of each message with terminal colours in it
            reserved_attrs=[*_STANDARD, "color_message"],
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        """The standard fields first, then the context fields that are known."""
        super().add_fields(log_data, record, message_dict)
        ts = log_data.pop("ts")
        ordered = {"ts": ts.isoformat(timespec="milliseconds"), **log_data}
        log_data.clear()
        log_data.update(ordered)
        for name, _ in _CONTEXT:
            value = getattr(record, name, None)
            if value is not None:
                log_data[name] = value

    def formatException(self, ei: Any) -> str:
        """The traceback, scrubbed."""
        return scrub_text(logging.Formatter.formatException(self, ei))

    def formatStack(self, stack_info: str) -> str:
        """The stack, scrubbed."""
        return scrub_text(logging.Formatter.formatStack(self, stack_info))


class HumanText(logging.Formatter):
    """A line a person reads: time, level, logger, message, then the known context."""

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        """The line, with `[request_id=… job_id=… user=…]` when any is known."""
        line = super().format(record)
        known = [f"{n}={getattr(record, n)}" for n, _ in _CONTEXT if getattr(record, n, None)]
        if not known:
            return line
        head, sep, rest = line.partition("\n")
        return f"{head} [{' '.join(known)}]{sep}{rest}"

    def formatException(self, ei: Any) -> str:
        """The traceback, scrubbed."""
        return scrub_text(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        """The stack, scrubbed."""
        return scrub_text(super().formatStack(stack_info))


def summary(params: Mapping[str, Any], limit: int = SUMMARY_CHARS) -> str:
    """params as compact JSON, cut at limit characters (a patch or code may be 200 KB)."""
    text = json.dumps(params, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[:limit] + "…"


def resolved_format(log_format: LogFormat, stream: TextIO) -> Literal["json", "text"]:
    """json or text: "auto" is text on a terminal, JSON otherwise (a file, a pipe, a collector)."""
    if log_format != "auto":
        return log_format
    isatty = getattr(stream, "isatty", None)
    return "text" if isatty is not None and isatty() else "json"


def configure_process(
    settings: Settings, level: str | int | None = None
) -> Literal["json", "text"]:
    """configure() as settings say (level, when given, overrides theirs: a command's flag)."""
    return configure(level if level is not None else settings.log_level, settings.log_format)


def configure(
    level: str | int = "INFO", log_format: LogFormat = "auto", stream: TextIO | None = None
) -> Literal["json", "text"]:
    """Send every log record of this process to stream (stderr) in the one format.

    Idempotent: a second call (a forked child, a factory run per server process) replaces the
    handler rather than adding one, so no line is written twice. Returns "json" or "text".
    """
    # The real stderr: Celery may have replaced sys.stderr by a proxy that logs what is
    # written to it, which would loop back here.
    out = stream if stream is not None else (sys.__stderr__ or sys.stderr)
    handler = logging.StreamHandler(out)
    handler.set_name("spark")
    chosen = resolved_format(log_format, out)
    handler.setFormatter(JsonLines() if chosen == "json" else HumanText())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "spark"]:
        root.removeHandler(old)
    root.addHandler(handler)
    # Warnings (Celery's about running as root, libraries' deprecations) as log lines too,
    # rather than bare text on stderr between them.
    logging.captureWarnings(True)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    return chosen

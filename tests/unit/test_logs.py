"""The one log format: JSON lines with the known context, text on a terminal, and no key,
token or e-mail address in any line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from spark import logs

KEY = "spk_0123456789abcdef_Zq3vN8xYp2LmK7wR4tHs9cBd6FgJ1aE5"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Logging configured into a buffer as JSON at DEBUG; the context is empty after."""
    out = io.StringIO()
    logs.configure("DEBUG", "json", out)
    yield out
    logs.clear()
    for handler in [h for h in logging.getLogger().handlers if h.get_name() == "spark"]:
        logging.getLogger().removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_has_ts_level_logger_message_and_the_known_context(
    stream: io.StringIO,
) -> None:
    """Each record is one JSON object; request_id, job_id and user appear once bound."""
    logs.bind(job_id="j-1", request_id="r-123", user="alice")
    logging.getLogger("spark.test").info("job %s started", "j-1")
    [line] = lines(stream)
    assert line["level"] == "INFO" and line["logger"] == "spark.test"
    assert line["message"] == "job j-1 started"
    assert line["ts"].endswith("+00:00")
    assert (line["request_id"], line["job_id"], line["user"]) == ("r-123", "j-1", "alice")


def test_unknown_context_fields_are_left_out(stream: io.StringIO) -> None:
    """A line about no request or job carries no empty request_id or job_id fields."""
    logs.clear()
    logging.getLogger("spark.test").warning("nothing in particular")
    [line] = lines(stream)
    assert not {"request_id", "job_id", "user"} & line.keys()


def test_keys_tokens_and_addresses_are_scrubbed_from_every_part_of_a_record(
    stream: io.StringIO,
) -> None:
    """Message arguments, extra fields, a dict message and a traceback are all scrubbed."""
    log = logging.getLogger("spark.test")
    log.info("prompt %r", f"mail alice@example.com with {KEY}", extra={"auth": f"Bearer {JWT}"})
    log.info({"prompt": "bob@example.org", "api_key": "anything"})
    try:
        raise ValueError(f"refused {KEY} for carol@example.net")
    except ValueError:
        log.exception("failed")
    text = stream.getvalue()
    for secret in (KEY, JWT, "alice@example.com", "bob@example.org", "carol@example.net"):
        assert secret not in text
    first, second, third = lines(stream)
    assert "[email]" in first["message"] and "[api_key]" in first["message"]
    assert first["auth"] == "Bearer [jwt]"
    assert second["prompt"] == "[email]" and second["api_key"] == "[redacted]"
    assert "ValueError: refused [api_key] for [email]" in third["exc_info"]


def test_text_on_a_terminal_and_json_elsewhere() -> None:
    """ "auto" writes for a person on a TTY and for a collector on a file or pipe."""
    assert logs.resolved_format("auto", Terminal()) == "text"
    assert logs.resolved_format("auto", io.StringIO()) == "json"
    assert logs.resolved_format("json", Terminal()) == "json"
    assert logs.resolved_format("text", io.StringIO()) == "text"


def test_text_lines_end_with_the_known_context() -> None:
    """On a terminal a line reads as text, the request and job in brackets at its end."""
    out = Terminal()
    assert logs.configure("INFO", "auto", out) == "text"
    try:
        logs.bind(job_id="j-1", request_id="r-123", user=None)
        logging.getLogger("spark.test").info("hello alice@example.com")
    finally:
        logs.clear()
        for handler in [h for h in logging.getLogger().handlers if h.get_name() == "spark"]:
            logging.getLogger().removeHandler(handler)
    line = out.getvalue().strip()
    assert line.endswith("INFO    spark.test: hello [email] [request_id=r-123 job_id=j-1]")


def test_configuring_again_replaces_the_handler(stream: io.StringIO) -> None:
    """A second configure (a forked child, a server process) never writes a line twice."""
    again = io.StringIO()
    logs.configure("INFO", "json", again)
    logging.getLogger("spark.test").info("once")
    assert stream.getvalue() == ""
    assert len(lines(again)) == 1


def test_a_params_summary_is_compact_and_bounded() -> None:
    """A job's params in a debug line are short JSON, cut off rather than 200 KB long."""
    assert logs.summary({"a": 1}) == '{"a":1}'
    long = logs.summary({"code": "x" * 10_000})
    assert len(long) == logs.SUMMARY_CHARS + 1 and long.endswith("…")

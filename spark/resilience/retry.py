"""The retry policy every external call shares: 3 attempts, exponential backoff with jitter,
1 s first, x2, 10 s cap, and a server's Retry-After honoured when it asks for longer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

log = logging.getLogger(__name__)
T = TypeVar("T")

ATTEMPTS = 3
FIRST_WAIT_S, MAX_WAIT_S = 1.0, 10.0
#: a Retry-After beyond this is not waited for inside a job; the call fails as transient
MAX_RETRY_AFTER_S = 120.0


def retry_after_s(exc: BaseException | None) -> float | None:
    """The Retry-After a server sent with this error, in seconds, if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    raw = headers.get("retry-after") if headers is not None else None
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


_backoff = wait_exponential_jitter(initial=FIRST_WAIT_S, max=MAX_WAIT_S, exp_base=2, jitter=0.5)


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome is not None else None
    asked = retry_after_s(exc)
    backoff = float(_backoff(state))
    return min(max(backoff, asked or 0.0), MAX_RETRY_AFTER_S)


def call_with_retry(
    fn: Callable[[], T], is_transient: Callable[[BaseException], bool], what: str
) -> T:
    """Call fn, retrying transient failures by the shared policy; the last error propagates."""

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "%s failed (%s); retrying in %.1fs",
            what,
            exc,
            state.next_action.sleep if state.next_action else 0,
        )

    retrying = Retrying(
        stop=stop_after_attempt(ATTEMPTS),
        wait=_wait,
        retry=retry_if_exception(is_transient),
        reraise=True,
        before_sleep=before_sleep,
    )
    return retrying(fn)

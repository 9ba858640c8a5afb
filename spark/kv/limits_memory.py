"""The in-process limit store (embedded default): one API process, one event loop."""

from __future__ import annotations

import time
from collections import deque
from datetime import UTC, datetime

from spark.security.limits import Decision, Reason, decide

DAY_S = 86_400


class MemoryLimitStore:
    """Sliding-window logs in deques and one counter per user for today.

    `hit` never awaits, so its check and its count happen in one step of the event loop.
    """

    def __init__(self, window_s: float = 60.0) -> None:
        self._window_s = window_s
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self._day = ""
        self._today: dict[str, int] = {}

    async def hit(self, user: str, family: str, per_minute: int, per_day: int) -> Decision:
        now, wall = time.monotonic(), time.time()
        today = self._counts_for(wall, now)
        window = self._windows.setdefault((user, family), deque())
        while window and window[0] <= now - self._window_s:
            window.popleft()
        outcome: Reason = "ok"
        if today.get(user, 0) >= per_day:
            outcome = "quota_exceeded"
        elif len(window) >= per_minute:
            outcome = "rate_limited"
        else:
            window.append(now)
            today[user] = today.get(user, 0) + 1
        return decide(
            family=family,
            per_minute=per_minute,
            per_day=per_day,
            outcome=outcome,
            in_window=len(window),
            oldest_leaves_s=(window[0] + self._window_s - now) if window else 0.0,
            requests_today=today.get(user, 0),
            to_midnight_s=DAY_S - wall % DAY_S,
        )

    async def requests_today(self, user: str) -> int:
        return self._counts_for(time.time(), time.monotonic()).get(user, 0)

    async def close(self) -> None:
        """Nothing to release: the counts live as long as the process."""

    def _counts_for(self, wall: float, now: float) -> dict[str, int]:
        # A new UTC day starts every counter at zero; it is also when idle windows are
        # dropped, so users who stopped calling do not hold memory for the process's life.
        day = datetime.fromtimestamp(wall, UTC).date().isoformat()
        if day != self._day:
            self._day, self._today = day, {}
            live = now - self._window_s
            self._windows = {k: w for k, w in self._windows.items() if w and w[-1] > live}
        return self._today

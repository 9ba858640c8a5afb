"""The read replica's standing (whether reads use it right now) and how far behind it is."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import text

log = logging.getLogger(__name__)

#: after a failed read the replica is left alone this long: a dead one must not stall polls
REPLICA_BACKOFF_S = 5.0
#: libpq's connect_timeout (whole seconds, 2 at least) for replica connections
REPLICA_CONNECT_TIMEOUT_S = 2
#: how long a read waits for a pooled replica connection before it goes to the primary
REPLICA_CHECKOUT_TIMEOUT_S = 1.0

#: Seconds the standby's replay is behind. An idle primary writes nothing, so the last
#: replayed commit may be old while nothing is pending: with every received byte replayed
#: the lag is 0. A server that is not in recovery (no standby at all) has none either.
LAG = text(
    "SELECT CASE"
    " WHEN NOT pg_is_in_recovery() THEN 0"
    " WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0"
    " ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)"
    " END"
)


class ReplicaStanding:
    """Whether reads may go to the replica now; a failure sends them to the primary for a while."""

    def __init__(self, backoff_s: float = REPLICA_BACKOFF_S) -> None:
        self._backoff_s = backoff_s
        self._until = 0.0
        self._lock = threading.Lock()

    def usable(self) -> bool:
        """False for backoff_s after the last failure."""
        return time.monotonic() >= self._until

    def failed(self, exc: BaseException) -> None:
        """The replica did not answer: read from the primary for the next backoff_s."""
        with self._lock:
            first = self.usable()
            self._until = time.monotonic() + self._backoff_s
        if first:
            log.warning(
                "read replica unavailable, reading from the primary for %.0f s: %s",
                self._backoff_s,
                exc,
            )

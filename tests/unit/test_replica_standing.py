"""A replica that failed is left alone for a while, then tried again."""

from __future__ import annotations

import time

from spark.db.replica import ReplicaStanding


def test_a_replica_is_usable_until_it_fails() -> None:
    """Nothing failed yet: reads may use the replica."""
    assert ReplicaStanding().usable()


def test_a_failed_replica_is_skipped_for_the_backoff_then_tried_again() -> None:
    """After a failure reads go to the primary for backoff_s, not one retry per request."""
    standing = ReplicaStanding(backoff_s=0.2)
    standing.failed(ConnectionRefusedError("refused"))
    assert not standing.usable()
    time.sleep(0.25)
    assert standing.usable()

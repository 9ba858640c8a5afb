"""Queued farm jobs whose target no live builder declares: they say so while they wait.

A build's message waits in its target's queue (`builds.<Target>`) until a builder declaring
the target consumes it; nothing fails it for waiting. What changes is what the job says:
`waiting for a builder for <Target>`, set at submission and kept true by this step, run by
the scheduler every heartbeat, which also clears it once such a builder appears.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from spark.db import jobs as job_queries
from spark.db.executor import Database
from spark.domain.farm import WAITING_PREFIX, Farm
from spark.domain.targets import BuildTarget
from spark.kinds import per_target_kinds

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Waiting:
    """What one pass of the step found and did."""

    #: the targets queued jobs wait for that no live builder declares, in BuildTarget order
    targets: tuple[BuildTarget, ...]
    marked: int = 0
    cleared: int = 0


def waiting_targets(db: Database, farm: Farm) -> tuple[BuildTarget, ...]:
    """The targets queued farm jobs are for that no live builder declares."""
    with db.read() as tx:
        queued = job_queries.queued_targets(tx, sorted(per_target_kinds()))
    return tuple(farm.without_builder(t for t in BuildTarget if t.value in queued))


def mark_waiting_builds(db: Database, farm: Farm) -> Waiting:
    """Make every queued farm job say whether it waits for a builder of its target."""
    missing = [t.value for t in farm.without_builder()]
    with db.transaction() as tx:
        marked, cleared = job_queries.mark_waiting(
            tx, sorted(per_target_kinds()), missing, WAITING_PREFIX
        )
    if marked or cleared:
        log.info("queued builds: %d now wait for a builder, %d have one again", marked, cleared)
    return Waiting(waiting_targets(db, farm), marked, cleared)

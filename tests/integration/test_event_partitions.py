"""spark_events is partitioned by month on Postgres, with partitions made ahead of time."""

from __future__ import annotations

from sqlalchemy import text

from spark.db import events as event_queries
from spark.db.executor import Database


def test_partitions_for_this_and_the_next_two_months_exist_after_preparing(db: Database) -> None:
    """The scheduler's partition task leaves no month of the near future without a partition."""
    months = event_queries.prepare_partitions(db, months_ahead=2)
    assert len(months) == 3
    with db.transaction() as tx:
        names = set(
            [
                r[0]
                for r in tx.all(
                    text(
                        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'spark_events'"
                    )
                )
            ]
        )
    assert {f"spark_events_{m:%Y_%m}" for m in months} <= names
    # preparing again is harmless
    assert event_queries.prepare_partitions(db, months_ahead=2) == months

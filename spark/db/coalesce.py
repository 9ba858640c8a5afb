"""Row lookups by key made in the same turn of the event loop, answered by one query.

Thirty-two clients polling at once would otherwise take thirty-two pooled connections and
thirty-two round trips; gathered, they cost one `WHERE key = ANY(...)`. A lone lookup waits
for nothing (spark/batching.py: TurnBatcher).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from sqlalchemy.sql import Executable

from spark.batching import TurnBatcher

if TYPE_CHECKING:
    from spark.db.aio import AsyncDatabase


class Coalescer:
    """Answers by-key lookups of one statement (taking the array `keys`) in batches."""

    def __init__(self, adb: AsyncDatabase, many: Executable, column: str, replica: bool) -> None:
        self._adb, self._many, self._column, self._replica = adb, many, column, replica
        self._batcher: TurnBatcher[Hashable, Any] = TurnBatcher(self._answer)

    async def get(self, key: Hashable) -> Any:
        """The row whose column is key, or None."""
        return await self._batcher.call(key)

    async def _answer(self, keys: list[Hashable]) -> list[Any]:
        unique = list(dict.fromkeys(keys))
        rows = await self._adb.all(self._many, {"keys": unique}, replica=self._replica)
        found = {getattr(row, self._column): row for row in rows}
        return [found.get(key) for key in keys]

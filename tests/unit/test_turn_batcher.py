"""TurnBatcher: calls made in one turn of the event loop are answered by one call."""

from __future__ import annotations

import asyncio

import pytest

from spark.batching import TurnBatcher


def test_calls_in_one_loop_turn_share_one_answer_and_each_gets_its_own_result() -> None:
    batches: list[list[int]] = []

    async def answer(items: list[int]) -> list[int]:
        batches.append(items)
        return [i * 10 for i in items]

    async def main() -> list[int]:
        batcher = TurnBatcher(answer)
        return list(await asyncio.gather(*(batcher.call(i) for i in range(5))))

    assert asyncio.run(main()) == [0, 10, 20, 30, 40]
    assert batches == [[0, 1, 2, 3, 4]]


def test_a_full_batch_goes_out_and_the_rest_form_the_next() -> None:
    batches: list[list[int]] = []

    async def answer(items: list[int]) -> list[int]:
        batches.append(items)
        return items

    async def main() -> None:
        batcher = TurnBatcher(answer, max_batch=3)
        await asyncio.gather(*(batcher.call(i) for i in range(7)))

    asyncio.run(main())
    assert batches == [[0, 1, 2], [3, 4, 5], [6]]


def test_a_failed_answer_fails_every_call_of_its_batch_and_not_the_next() -> None:
    async def answer(items: list[int]) -> list[int]:
        if 0 in items:
            raise RuntimeError("database away")
        return items

    async def main() -> int:
        batcher = TurnBatcher(answer)
        failed = await asyncio.gather(batcher.call(0), batcher.call(1), return_exceptions=True)
        assert all(isinstance(f, RuntimeError) for f in failed)
        return await batcher.call(2)

    assert asyncio.run(main()) == 2


def test_a_lone_call_is_answered_without_waiting_for_company() -> None:
    async def answer(items: list[int]) -> list[int]:
        return items

    async def main() -> int:
        return await asyncio.wait_for(TurnBatcher(answer).call(7), timeout=0.05)

    assert asyncio.run(main()) == 7


@pytest.mark.parametrize("count", [1, 40])
def test_batches_in_flight_at_once_all_settle(count: int) -> None:
    async def answer(items: list[int]) -> list[int]:
        await asyncio.sleep(0.01)
        return items

    async def main() -> list[int]:
        batcher = TurnBatcher(answer, max_batch=4)
        return list(await asyncio.gather(*(batcher.call(i) for i in range(count))))

    assert asyncio.run(main()) == list(range(count))

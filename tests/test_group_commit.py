"""GroupCommit: concurrent writes share transactions; a lone write is not delayed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from app.services.group_commit import GroupCommit


class Recorder:
    def __init__(self, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.fail_on = fail_on

    async def write(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        await asyncio.sleep(0.01)  # the transaction takes a moment
        if self.fail_on in items:
            raise RuntimeError("conflict")
        return [item * 10 for item in items]


async def test_a_lone_write_is_its_own_batch() -> None:
    recorder = Recorder()
    commit = GroupCommit(recorder.write)
    assert await commit.submit(1) == 10
    assert recorder.batches == [[1]]


async def test_writes_arriving_during_a_batch_share_the_next_one() -> None:
    recorder = Recorder()
    commit = GroupCommit(recorder.write, max_batch=4)
    first = asyncio.create_task(commit.submit(0))
    await asyncio.sleep(0)  # the first write is under way...
    results = await asyncio.gather(*(commit.submit(n) for n in range(1, 10)))  # ...these queue
    assert await first == 0 and results == [n * 10 for n in range(1, 10)]
    assert recorder.batches == [[0], [1, 2, 3, 4], [5, 6, 7, 8], [9]]
    assert commit.batches == 4


async def test_a_failed_batch_fails_its_own_writes_only() -> None:
    recorder = Recorder(fail_on=2)
    commit = GroupCommit(recorder.write)
    first = asyncio.create_task(commit.submit(0))
    await asyncio.sleep(0)
    results = await asyncio.gather(*(commit.submit(n) for n in range(1, 4)), return_exceptions=True)
    assert await first == 0
    assert all(isinstance(r, RuntimeError) for r in results)
    assert await commit.submit(5) == 50  # the writer carries on


async def test_a_cancelled_waiter_is_left_out_of_the_batch() -> None:
    recorder = Recorder()
    commit = GroupCommit(recorder.write)
    first = asyncio.create_task(commit.submit(1))
    await asyncio.sleep(0)
    doomed = asyncio.create_task(commit.submit(2))
    kept = asyncio.create_task(commit.submit(3))
    await asyncio.sleep(0)
    doomed.cancel()
    assert await first == 10 and await kept == 30
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert recorder.batches == [[1], [3]]

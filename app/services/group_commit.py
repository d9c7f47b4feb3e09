"""Group commit: writes that arrive while a transaction is being written share the next one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """Coalesces concurrent single-item writes into batches, one transaction per batch.

    No timer and no added latency: a lone write goes straight to the database, and whatever
    arrives while it is being written is written together next. Under a burst the per-write cost
    (a pooled connection, a transaction, a commit, the ORM's flush) is paid once per batch rather
    than once per item. `write` gets the batch and returns one result per item, in order; if it
    raises, every item of that batch gets the exception.
    """

    def __init__(
        self,
        write: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]],
        *,
        max_batch: int = 64,
    ) -> None:
        self._write = write
        self._max_batch = max_batch
        self._queue: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # for tests and the benchmark

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="group commit")
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            live = [(item, future) for item, future in batch if not future.cancelled()]
            if not live:
                continue
            self.batches += 1
            try:
                results = await self._write([item for item, _ in live])
            except asyncio.CancelledError:
                for _, future in [*live, *self._queue]:
                    future.cancel()
                self._queue.clear()
                raise
            except Exception as exc:  # noqa: BLE001 - handed to every waiter of the batch
                for _, future in live:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(live, results, strict=True):
                if not future.done():
                    future.set_result(result)

"""A bounded buffer of items waiting to be written in batches off the request and media paths.

Chat lines and recommendation events both arrive faster than one write each is worth, and both
must never grow memory without bound: when the database falls behind, the oldest unsaved items
are dropped (and counted) rather than kept.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Generic, TypeVar

T = TypeVar("T")


class BoundedBatch(Generic[T]):
    def __init__(self, max_items: int) -> None:
        self._items: deque[T] = deque(maxlen=max_items)
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: T) -> None:
        if len(self._items) == self._items.maxlen:
            self.dropped += 1
        self._items.append(item)

    def take(self) -> list[T]:
        """Everything pending, oldest first; the buffer is empty afterwards."""
        batch = list(self._items)
        self._items.clear()
        return batch

    def requeue(self, batch: Iterable[T]) -> None:
        """Put back a batch whose write failed, before what arrived meanwhile; the newest are kept."""
        items = [*batch, *self._items]
        keep = items[-(self._items.maxlen or len(items)):]
        self.dropped += len(items) - len(keep)
        self._items.clear()
        self._items.extend(keep)

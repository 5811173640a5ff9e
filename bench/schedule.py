"""The order cases are timed in: interleaved repeats, ABBA.

Every case of a config is verified first; then each pass times one block of every case, the
passes alternating forwards and backwards (A B C, C B A, A B C ...), so that a drift of the
machine's speed during the config's minutes moves every case alike rather than the last ones most.
"""

from __future__ import annotations

from typing import Iterator, Sequence, TypeVar

T = TypeVar("T")


def interleaved(items: Sequence[T], passes: int) -> Iterator[tuple[int, Sequence[T]]]:
    """(pass index, the items in that pass's order) for ``passes`` passes: even passes forwards,
    odd ones backwards."""
    for index in range(passes):
        yield index, (items if index % 2 == 0 else items[::-1])

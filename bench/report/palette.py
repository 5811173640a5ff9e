"""One colour per backend, for every figure and table: the one its registration gives
(``Backend.colour``), else one picked by a hash of its name, so that a backend keeps its colour
across figures and reports. The order of backends everywhere is ``registry.order_key``."""

from __future__ import annotations

import zlib

from implementations.registry import described

EXTRA = ("#d62728", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#393b79", "#637939")


def colour(backend: str) -> str:
    found = described(backend)
    if found is not None and found.colour:
        return found.colour
    return EXTRA[zlib.crc32(backend.encode()) % len(EXTRA)]


"""One number formatter for every reader: seconds with a unit, multipliers with a sign of scale; and
long lists of case names cut short alike."""

from __future__ import annotations

import math


def seconds(value: float) -> str:
    """A time with a unit a reader can take in: 1.23 s, 45.6 ms, 789 µs, 12.3 ns; 1,234 s past 1000."""
    if not math.isfinite(value):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f} s"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if abs(value) >= scale or unit == "ns":
            return f"{value / scale:.3g} {unit}"
    return f"{value:.3g} s"


def number(value: float, digits: int = 3) -> str:
    """A rate or count: ``digits`` significant digits, whole numbers with thousands separators from
    1000 (4.41, 952, 1,829, 737,000; with 2 digits 4.4, 950)."""
    if not math.isfinite(value):
        return "-"
    text = f"{value:,.{digits}g}"
    if abs(value) >= min(1000, 10 ** digits) or "e" in text:  # no exponent: whole numbers keep every digit
        return f"{value:,.0f}"  # (99.7 at two digits rounds to 1e+02 with g)
    return text


def times(value: float, sign: str = "×") -> str:
    """A multiplier: a number (three significant digits, thousands separators from 1000) and its sign."""
    return number(value) + (sign if math.isfinite(value) else "")


def first_names(names: list[str], shown: int = 5) -> str:
    """The first ``shown`` names, comma-separated, and ", ..." where there are more."""
    return ", ".join(names[:shown]) + (", ..." if len(names) > shown else "")

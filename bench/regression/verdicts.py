"""The verdict of one judged quantity, typed, and the check's exit codes.

Every rule returns :class:`Verdict` records; what a verdict means is its :class:`Outcome`, never
its text, so that readers (the exit code, the summary line) test the outcome, not a string prefix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

EXIT_OK, EXIT_REGRESSION, EXIT_USAGE, EXIT_NO_VERDICT = 0, 1, 2, 3


class Outcome(Enum):
    """What a verdict says; the value is its text, ``{}`` taking the verdict's ``detail``."""

    OK = "ok"
    FASTER = "faster"
    REGRESSION = "REGRESSION"
    LOST = "REGRESSION: ran on the known-good side, {}"  # a case that no longer runs here
    SLOWER_NOT_SIGNIFICANT = "slower, not significant ({})"
    NOT_GATED = "not gated: {}"
    CONTENDED = "contended: {}; not judged"
    TOO_FEW_PAIRS = "not judged: {}"
    MACHINE_WIDE = "machine-wide: {}; not judged"

    @property
    def regression(self) -> bool:
        return self in (Outcome.REGRESSION, Outcome.LOST)

    @property
    def unjudged(self) -> bool:
        """Gated, but the measurements could not say (the machine, not the code)."""
        return self in (Outcome.CONTENDED, Outcome.TOO_FEW_PAIRS, Outcome.MACHINE_WIDE)


@dataclass
class Verdict:
    """One quantity judged: a case, a backend, a speedup of the ladder or the harness.

    ``change`` is current / baseline (a factor; NaN when nothing could be compared), ``threshold``
    the factor it had to stay within (inf: none). ``pairs``: usable pairs (paired rule);
    ``p_value``: of the one-sided rank test (stored-baseline rule); ``baseline`` and ``current``:
    the case's seconds per step (stored-baseline rule, cases only).
    """

    name: str
    kind: str  # case, backend, speedup or harness
    change: float
    threshold: float
    gated: bool
    outcome: Outcome = Outcome.OK
    detail: str = ""
    pairs: int = 0
    p_value: float = math.nan
    baseline: float = math.nan
    current: float = math.nan

    @property
    def regression(self) -> bool:
        return self.outcome.regression

    @property
    def unjudged(self) -> bool:
        return self.outcome.unjudged

    @property
    def verdict(self) -> str:
        """The verdict as the table prints it."""
        return self.outcome.value.format(self.detail)

    def set(self, outcome: Outcome, detail: str = "") -> Verdict:
        self.outcome, self.detail = outcome, detail
        return self

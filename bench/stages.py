"""Where the time goes inside one training step: the parts of a step, timed between the marks
its backend reports (``implementations.hooks.stage_done``).

A part's time is the wall time from the previous mark (or the step's start) to its own; the last
part, ``update``, runs from the last mark to the step's end. The marks cost a clock read each,
so the parts of a step sum to that step's time. A backend that reports other marks than the
architecture's ``stage_parts`` (or none) gets no breakdown rather than a wrong one.
"""

from __future__ import annotations

import time
from contextlib import ExitStack, contextmanager, nullcontext

from implementations import hooks


class StageClock:
    """Collects the marks of the steps run through :meth:`wrap` (the last step's marks win)."""

    def __init__(self, parts: list[str]):
        self.parts = parts
        self._start = self._end = None
        self._marks: list[tuple[str, float]] = []

    def heard(self, part: str) -> None:
        self._marks.append((part, time.perf_counter()))

    def wrap(self, step):
        """``step`` with the clock read before and after it (and the previous step's marks dropped)."""
        def timed_step():
            self._marks.clear()
            self._start = time.perf_counter()
            result = step()
            self._end = time.perf_counter()
            return result
        return timed_step

    def seconds(self) -> dict[str, float] | None:
        """Seconds of every part of the last step, in order; None unless its marks were exactly the
        parts before ``update``, in order."""
        if self._start is None or self._end is None or [p for p, _ in self._marks] != self.parts[:-1]:
            return None
        times = [self._start, *(t for _, t in self._marks), self._end]
        return {part: b - a for part, a, b in zip(self.parts, times, times[1:])}


@contextmanager
def reporting(trainer, clock: StageClock):
    """Inside, ``trainer``'s steps report their marks to ``clock``; yields whether they can.

    A trainer that needs hooks installed to report (the torch trainer) offers ``reporting_stages()``,
    a context that raises ValueError where it cannot (a compiled step): then nothing is heard and
    ``clock.seconds()`` stays None. The hand-written backends report through the architecture's
    composition and need nothing.
    """
    with ExitStack() as inside:
        try:
            inside.enter_context((getattr(trainer, "reporting_stages", None) or nullcontext)())
            can = True
        except ValueError:
            can = False
        if can:
            inside.enter_context(hooks.listening_to_stages(clock.heard))
        yield can


def time_parts(trainer, step, parts: list[str], steps: int = 2) -> dict[str, float] | None:
    """The parts of the fastest of ``steps`` instrumented calls of ``step`` (the least disturbed
    one); None when ``trainer`` does not report these parts."""
    clock = StageClock(parts)
    best = None
    with reporting(trainer, clock) as can:
        if not can:
            return None
        timed = clock.wrap(step)
        for _ in range(steps):
            timed()
            seconds = clock.seconds()
            if seconds is None:
                return None
            if best is None or sum(seconds.values()) < sum(best.values()):
                best = seconds
    return best

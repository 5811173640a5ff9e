"""What a run shows while it runs, on stderr: one bar for the run (seconds of expected work), and a
second bar per layer during a minutes-long pure-Python ResNet step."""

from __future__ import annotations

import sys
from contextlib import contextmanager

from tqdm import tqdm

from implementations import architecture, hooks
from implementations.registry import LOOP_BASELINE, role_of


class RunBar:
    """The run's bar: ``total`` seconds of expected work; ``tick(label, cost)`` moves it."""

    def __init__(self, total: float, enabled: bool):
        self._bar = tqdm(total=round(total, 1), unit="s", disable=not enabled, file=sys.stderr, dynamic_ncols=True,
                         bar_format="{desc} |{bar}| {percentage:3.0f}% [{elapsed}<{remaining}]")

    def label(self, text: str) -> None:
        self._bar.set_description_str(text)

    def tick(self, label: str, cost: float) -> None:
        self._bar.set_description_str(label)
        self._bar.update(round(cost, 1))

    def write(self, line: str) -> None:
        """A line above the bar (a failed case, a reference's cost)."""
        self._bar.write(line)

    def close(self) -> None:
        self._bar.close()


@contextmanager
def layer_progress(case, enabled: bool):
    """A second bar that advances per layer during a minutes-long pure-Python step.

    The architecture reports every finished convolution (forward and backward) through
    ``implementations.hooks``; the listener costs nothing measurable against a convolution that
    takes seconds.
    """
    arch = architecture(case.config.model)
    if not enabled or role_of(case.backend) != LOOP_BASELINE or not hasattr(arch, "conv_shapes"):
        yield
        return
    events = 2 * len(arch.conv_shapes(case.config.spec, case.config.resolution))
    bar = tqdm(total=events, desc="  layers", unit="layer", leave=False, file=sys.stderr, dynamic_ncols=True)

    def layer_done(name: str) -> None:
        bar.set_postfix_str(name, refresh=False)
        bar.update(1)

    try:
        with hooks.listening_to_layers(layer_done):
            yield
    finally:
        bar.close()

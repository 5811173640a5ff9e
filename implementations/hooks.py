"""Events a training step reports while it runs, for the harness to listen to.

Two kinds, each named after what has just finished:

* ``layer_done("layer1.0.conv1 forward")`` after every convolution-and-batch-norm pair of a
  composed ResNet step: the harness's per-layer progress bar for a minutes-long loops step;
* ``stage_done("layer1 forward")`` at every stage boundary of a ResNet step (the architecture's
  ``stage_parts``): the marks from which the harness times where the time goes inside one step.

The hand-written backends report through the architecture's composition
(``architectures.resnet.forward_backward``); the torch trainer through module and gradient hooks
that it installs only inside ``TorchTrainer.reporting_stages()``. With nobody listening an event
costs one global lookup and a comparison, so the composition reports in timed steps too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Listener = Callable[[str], None]

# kind of event -> who listens now (None: nobody)
_listeners: dict[str, Listener | None] = {"layer": None, "stage": None}


def layer_done(name: str) -> None:
    """The layer ``name`` (``"<conv> forward"`` or ``"<conv> backward"``) has finished."""
    listener = _listeners["layer"]
    if listener is not None:
        listener(name)


def stage_done(part: str) -> None:
    """The part ``part`` of the step (``"<stage> forward"`` or ``"<stage> backward"``) has finished."""
    listener = _listeners["stage"]
    if listener is not None:
        listener(part)


def stages_heard() -> bool:
    """Whether someone listens to ``stage_done`` now (a trainer installs its hooks only then)."""
    return _listeners["stage"] is not None


@contextmanager
def _listening(kind: str, listener: Listener) -> Iterator[None]:
    previous, _listeners[kind] = _listeners[kind], listener
    try:
        yield
    finally:
        _listeners[kind] = previous


def listening_to_layers(listener: Listener):
    """``listener(name)`` hears every ``layer_done`` inside the block; the previous listener after."""
    return _listening("layer", listener)


def listening_to_stages(listener: Listener):
    """``listener(part)`` hears every ``stage_done`` inside the block; the previous listener after."""
    return _listening("stage", listener)

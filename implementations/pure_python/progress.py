"""A per-layer progress hook for the loops backend.

A ResNet-50 training step at 224x224 takes many minutes in pure Python, so the harness shows a
progress bar that advances as each layer finishes. The hook is module-level (one per process), so
layers and architecture code need no extra arguments:

    from implementations.pure_python import progress

    # harness, before the step; the callback gets the finished layer's name
    bar = tqdm(total=layer_count)
    previous = progress.set_layer_callback(lambda name: bar.update(1))
    try:
        trainer.step(batch)
    finally:
        progress.set_layer_callback(previous)

    # architecture composition, after each layer's forward or backward
    progress.layer_done("layer1.0.conv1 forward")

With no callback set, ``layer_done`` costs one global lookup and a comparison. Nothing calls
``layer_done`` yet: the ResNet-50 composition is the place to call it.
"""

from __future__ import annotations

from collections.abc import Callable

LayerCallback = Callable[[str], None]

_layer_callback: LayerCallback | None = None


def set_layer_callback(callback: LayerCallback | None) -> LayerCallback | None:
    """Call ``callback(name)`` on every ``layer_done(name)`` from now on (None: stop).

    Returns the callback it replaces, so a caller can restore it when done.
    """
    global _layer_callback
    previous = _layer_callback
    _layer_callback = callback
    return previous


def layer_done(name: str) -> None:
    """Report that the layer ``name`` (a forward or a backward) has finished."""
    callback = _layer_callback
    if callback is not None:
        callback(name)

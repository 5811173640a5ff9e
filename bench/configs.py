"""The named model configurations: which model, built from which spec, at which batch size.

``get_config`` also makes the unnamed ones: ``mlp-width-N`` (the width sweep's MLP at any width)
and ``NAME@B`` (a named config at batch size B).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from implementations import BACKENDS, architecture
from implementations.architectures import mlp, resnet
from implementations.architectures.limits import StepLimits
from implementations.registry import LOOP_BASELINE, role_of

from .errors import UsageError

# The built-in loop baseline (``Backend.role``), whose steps of minutes are timed once (below).
LOOPS = tuple(b for b in BACKENDS if role_of(b) == LOOP_BASELINE)
WIDTH_SWEEP = tuple(2**k for k in range(5, 12))  # 32 .. 2048


@dataclass(frozen=True)
class ModelConfig:
    """A named model configuration: which model, built from which spec, at which batch size."""

    name: str
    model: str
    spec: Any
    batch_size: int
    resolution: int | None = None  # pixels of an image's side (image models); None for the MLP
    # backends this config is not run on (a profile's choice); every other backend asked for, a
    # plug-in's included, runs
    without: tuple[str, ...] = ()
    # backend roles (``implementations.registry.ROLES``) this config is not run on, whatever their name
    without_roles: tuple[str, ...] = ()
    # backends whose step takes a minute or more: timed once and verified from that very step (one step)
    verify_timed_round: tuple[str, ...] = ()
    # backends this config runs at one thread only, where they would also run at all cores
    one_thread: tuple[str, ...] = ()
    # N of the width sweep's mlp-width-N (recorded per row as sweep_width); None outside the sweep
    sweep_width: int | None = None

    @property
    def key(self) -> str:
        """Name and batch size: what tells two configurations apart."""
        return f"{self.name}@{self.batch_size}"

    @property
    def limits(self) -> StepLimits:
        """What a step of this size can be measured as, as its model describes it (``step_limits``
        in its architecture module): whether the loop baseline runs, and in which dtypes."""
        size = {"resolution": self.resolution} if self.resolution else {}
        return architecture(self.model).step_limits(self.spec, self.batch_size, **size)


def _mlp(name: str, sizes: tuple[int, ...], batch: int, verify_timed_round: tuple[str, ...] = ()) -> ModelConfig:
    return ModelConfig(name, "mlp", mlp.MLPSpec(sizes), batch, verify_timed_round=verify_timed_round)


def _resnet50(name: str, resolution: int, batch: int) -> ModelConfig:
    # A pure-Python ResNet-50 step takes seconds at 32x32 and many minutes at 224x224: time it
    # once and verify that very step, rather than run it twice.
    return ModelConfig(name, "resnet50", resnet.RESNET50, batch, resolution, verify_timed_round=LOOPS)


_NAMED = {
    "mlp-tiny": lambda: _mlp("mlp-tiny", (4, 3, 2), 5),  # the 4-3-2 example of the first seed article
    "mlp-mnist": lambda: _mlp("mlp-mnist", (784, 128, 10), 32),  # the second article's 784->128 layer
    # A pure-Python mlp-wide step takes most of a minute: verifying it over two separate steps
    # would triple its cost, so its timed step is the one verified (the loops update and momentum
    # are verified over two steps on every other MLP config; the code is the same).
    "mlp-wide": lambda: _mlp("mlp-wide", (1024, 1024, 1024, 10), 128, verify_timed_round=LOOPS),
    # Batch 4, not 2: at 32 px layer4 is 1x1, so with 2 images its batch norms normalize 2 values
    # per channel, and the step is numerically degenerate (docs/deviations.md).
    "resnet50-32": lambda: _resnet50("resnet50-32", 32, 4),
    "resnet50-224": lambda: _resnet50("resnet50-224", 224, 1),
}
_WIDTH = re.compile(r"^mlp-width-(-?\d+)$")


def config_names() -> list[str]:
    return [*_NAMED, *(f"mlp-width-{n}" for n in WIDTH_SWEEP)]


def get_config(name: str) -> ModelConfig:
    """The configuration called ``name``; UsageError naming the accepted names otherwise.

    ``NAME@B`` is NAME at batch size B (``resnet50-224@8``): the recorded config stays NAME, and
    ``batch_size`` tells the cases apart. What a step of that size can be measured as is its
    model's to say (``ModelConfig.limits``).
    """
    if "@" in name:
        base, _, batch = name.partition("@")
        if not batch.isdigit() or int(batch) < 1:
            raise UsageError(f"{name}: the batch size after @ must be a positive integer")
        return replace(get_config(base), batch_size=int(batch))
    if name in _NAMED:
        return _NAMED[name]()
    match = _WIDTH.match(name)
    if match:
        width = int(match.group(1))
        if width < 1:
            raise UsageError(f"{name}: a width must be a positive integer (the sweep uses {WIDTH_SWEEP[0]}..{WIDTH_SWEEP[-1]})")
        return replace(_mlp(name, (width, width, 10), 32), sweep_width=width)
    from implementations import MODELS  # noqa: PLC0415

    raise UsageError(f"unknown model or config {name!r}; models: {', '.join(MODELS)}; configs: "
                     f"{', '.join(config_names())} (mlp-width-N for any N >= 1, NAME@B for batch size B)")

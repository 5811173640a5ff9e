"""What one ResNet training step needs in host memory, and the sizes whose cost (in memory and in
time) limits what is measured."""

from __future__ import annotations

from ..limits import NO_LIMITS, StepLimits
from .spec import ResNetSpec
from .verification import VERIFICATION

# Peak resident memory of a training step per 224-px image, all included: a vectorized float32
# step 250 MB (the whole default run peaked at 7.7 GB in resnet50-224@32), a pure-Python one 1 GB.
_STEP_BYTES_PER_IMAGE = {"vectorized": 250e6, "loops": 1.0e9}
# The float64 reference's step runs before the case's, not beside it: the peak is the larger of the
# two. Its cost per 224-px image, measured with /usr/bin/time at batch 1, 4 and 16 (the marginal
# resident memory per image): torch float64 168 MB over the whole batch, numpy float64 (the oracle)
# 290 MB over at most VERIFICATION.oracle_max_samples of them.
_REFERENCE_BYTES_PER_IMAGE = 175e6
_ORACLE_BYTES_PER_IMAGE = 300e6


def host_bytes(spec: ResNetSpec, batch_size: int, value_bytes: int, *, loops: bool, on_gpu: bool = False,
               resolution: int = 224) -> int:
    """A generous estimate of the host memory one training step needs, in bytes: the larger of the
    case's own step (none on the host for a GPU step) and the float64 reference's, scaled by pixels
    and ``value_bytes`` per value (8 float64, 4 float32), plus the weights' copies. Python ints."""
    pixels = (resolution / 224) ** 2
    own = 0 if on_gpu else _STEP_BYTES_PER_IMAGE["loops" if loops else "vectorized"] * pixels * batch_size * value_bytes / 4
    oracle_images = min(batch_size, VERIFICATION.oracle_max_samples or batch_size)
    reference = pixels * max(_REFERENCE_BYTES_PER_IMAGE * batch_size, _ORACLE_BYTES_PER_IMAGE * oracle_images)
    return int(max(own, reference) + 25_600_000 * (4 * value_bytes + 16))


def step_limits(spec: ResNetSpec, batch_size: int, resolution: int = 224) -> StepLimits:
    """ResNet-50 at 224 px beyond one image is a throughput measurement of the vectorized backends
    in float32: a pure-Python step takes 11-12 minutes an image, so a batch would take hours, and
    float64 activations of a batch of 32 (``host_bytes``) would not fit in a 2-core CI machine's
    memory beside NumPy's buffers. One image, or 32 px, is measured on every backend in every dtype.

    Degenerate: fewer than ``MIN_NORMALIZED`` values per channel in layer4's batch norms (its maps
    are resolution / 32 a side). At 32 px and 2 images they normalize 2 values, each to +-1: a
    change of 1e-14 in the weights moved the momentum after two steps by 120% (measured in float64,
    resnet50-32 split over 2 processes), so no bound can judge the step."""
    side = -(-resolution // 32)
    values = batch_size * side * side
    degenerate = (f"{batch_size} image(s) at {resolution} px leave layer4's batch norms {values} value(s) per "
                  f"channel (under {MIN_NORMALIZED}): the step is numerically degenerate") if values < MIN_NORMALIZED else ""
    if resolution >= 224 and batch_size > 1:
        return StepLimits(loop_baseline=False, dtypes=("float32",), degenerate=degenerate)
    return StepLimits(degenerate=degenerate) if degenerate else NO_LIMITS


MIN_NORMALIZED = 4  # values per channel a batch norm needs for a step verification can judge

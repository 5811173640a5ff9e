"""How a model's training step is verified against float64: what its description says, and
``bench/verify.py`` reads (the harness holds no table keyed by a model's name).

Why the low-precision bounds are loose: the gradients at initialization are ill-conditioned.
float32 gradients differ from float64 by up to 3e-7 (MLP) and 1e-5 to 2e-4 (ResNet-50, 224 and 32
px) against float32's unit roundoff 6e-8: amplifications of ~5 and ~200-4000. The tf32 (unit
roundoff 2^-11 on the operands of cuDNN convolutions) and bfloat16 (2^-8, autocast) errors are as
large as that predicts (each model's measurements beside its ``VERIFICATION``). Every bound stays
below 1 so that a zero or missing gradient (error 1) or a sign flip (2) fails; a subtle fault in a
low-precision ResNet step does not (that is float32's job, torch-cuda float64 and the CPU
backends'). Tighter bounds hold the kinds of tensor that low precision barely moves (the loss, the
batch-norm running statistics, the fully connected layers' gradients), where one number sized from
the worst convolution gradient let a loss 50% off pass; they are about 4x the largest error of the
committed H100 study, so that the GPU faults the suite plants (the loss 10% off, one batch-norm
statistic 5% off) fail, and tests/test_verification_gate.py holds them to the study.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


def _unchanged(params: dict) -> dict:
    return params


@dataclass(frozen=True)
class VerificationSpec:
    """``tolerances``: precision (float64, float32, tf32, bfloat16) -> the largest accepted relative
    error ||x - ref|| / ||ref|| of any tensor. ``kind_tolerances``: precision -> tighter bounds for
    kinds of tensor (``bench.verify.tensor_kind``) that low precision barely moves. ``one_step``:
    precisions verified over one step, not two. ``floored``: precisions whose per-tensor bounds are
    floored by a float32 implementation's own error (``bench.verify.Verifier.bounds``).
    ``oracle_max_samples``: how many samples of a batch the confirming float64 implementation runs
    on (None: all). ``tf32_convolutions``: the model's convolutions may run in TF32 under cuDNN, so
    ``tf32_cudnn`` makes a float32 case ``tf32``. ``initial_params``: the weights verification (and
    so timing) starts from, given the model's initialization."""

    tolerances: dict[str, float]
    kind_tolerances: dict[str, dict[str, float]] = field(default_factory=dict)
    one_step: frozenset[str] = frozenset()
    floored: frozenset[str] = frozenset()
    oracle_max_samples: int | None = None
    tf32_convolutions: bool = False
    initial_params: Callable[[dict], dict] = _unchanged

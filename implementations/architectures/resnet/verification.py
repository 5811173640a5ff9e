"""How ResNet's training step is verified against float64 (``bench/verify.py`` reads it): the
damped weights it starts from and the bounds per precision and kind of tensor."""

from __future__ import annotations

from ..verification import VerificationSpec

# The last batch-norm scale of every residual branch at verification (and so timing) starts: 0.1,
# not torchvision's 1. At torchvision's initialization ResNet-50's training step is chaotic: the
# gradients explode through 16 un-damped residual branches, numpy and torch float64 (correct to
# 1e-16 per operation) differ by 2e-8 after two steps at resnet50-32, finite differences of the loss
# do not converge (errors 0.02-2 for steps of 1e-7 to 1e-4), and torch's own float32 misses its
# float64 by 3-4% on every gradient, so that no float32 bound could see a 1% fault. With the
# branches damped (as torchvision's zero_init_residual, Goyal et al. 2017, but not zero, so that
# every gradient is checked) the two float64 codes agree to 4e-10 after two steps and torch float32
# to 1e-5 (224 px) and 2.2e-4 (32 px). The damped figures: ``python -m bench verify --models
# resnet50-32 resnet50-224``; the undamped ones came from one-off scripts (docs/deviations.md).
# The step's cost does not depend on these values.
RESIDUAL_SCALE = 0.1


def _damped(params: dict) -> dict:
    return {name: value * RESIDUAL_SCALE if name.endswith(".bn3.weight") else value for name, value in params.items()}


# Bounds (implementations/architectures/verification.py says why the low precisions' are loose).
# Measured on an H100 (studies/gpu_verification_errors.py; every tensor of 4, 3, 2 and 1 seeds at
# resnet50-224 batch 1, 8, 32 and 256: results/gpu-errors/nvidia-h100-80gb-hbm3.csv.gz), relative to
# float64: tf32 largest 0.130 (batch 1; 0.110, 0.096, 0.090 at 8, 32, 256), median tensor 0.070;
# bfloat16 largest 0.473 (batch 1; 0.356, 0.373, 0.370 at 8, 32, 256), median tensor 0.24
# (torch-cuda-compile's, from bench run: up to 0.44 at batch 1). The bounds are about 2x the
# largest: tf32 0.25, bfloat16 0.75. By kind (largest over the study, bounds about 4x): tf32 loss
# 1.33e-5, running statistics 4.13e-4, fc gradients 4.38e-4; bfloat16 loss 1.49e-4, running
# statistics 6.08e-3, fc gradients 6.01e-3.
# Float32 and lower are verified over one step. The second step starts from weights that already
# differ from float64's by float32's rounding, and ResNet-50's step (lr 0.1) amplifies that: torch's
# own float32 momentum buffers after two steps miss float64's by up to 7% at resnet50-32, against
# 1.4e-4 on the first step's gradients (measured here). The update code is the same for every dtype
# (numpy's ``sgd_momentum_update``, torch.optim.SGD), and the float64 cases check it over two steps.
# Float32 bounds are floored per tensor (bench/verify.py, FLOOR_FACTOR: ill-conditioned gradients).
# What verification's confirming float64 implementation (numpy) can be run on: at most this many
# images of a batch. Its im2col buffers take about 290 MB per 224-px image (torch float64's whole
# step 168 MB; measured with /usr/bin/time at batch 1, 4 and 16), so at batch 256 it alone would
# need about 75 GB beside the reference's 45 GB. Beyond it the oracle is confirmed on the batch's
# first oracle_max_samples images (bench/verify.py, oracle_slice); the whole batch's statistics
# are checked apart, by finite differences. The memory estimate reads it too (host_bytes).
VERIFICATION = VerificationSpec(
    tolerances={"float64": 1e-8, "float32": 1e-3, "tf32": 0.25, "bfloat16": 0.75},
    kind_tolerances={"tf32": {"loss": 6e-5, "running statistic": 2e-3, "fc gradient": 2e-3},
                     "bfloat16": {"loss": 6e-4, "running statistic": 2.5e-2, "fc gradient": 2.5e-2}},
    one_step=frozenset({"float32", "tf32", "bfloat16"}),
    floored=frozenset({"float32"}),
    oracle_max_samples=32,
    tf32_convolutions=True,
    initial_params=_damped,
)

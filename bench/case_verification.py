"""Verifying one case: the one function ``bench run`` and ``bench verify`` both call.

A case's steps (``verify.case_steps``: two, or one where a precision or a step of minutes allows
only one) are run from the reference's weights and batch and checked against the float64
reference (``verify.Verifier.check``); a case that passes also says which tensors it could not
check at 1% (blind spots) and the shapes its parameters had.
"""

from __future__ import annotations

from dataclasses import dataclass

from implementations import get_backend

from . import verify


def precision_fields(backend: str, model: str, dtype: str, on_gpu: bool) -> dict:
    """``precision``, the TF32/cuDNN flags a case of ``backend`` runs under (null off the GPU), and
    the tolerance they imply: the results' columns of those names."""
    described = get_backend(backend)
    flags = {"tf32_matmul": None, "tf32_cudnn": None, "cudnn_benchmark": None}
    if on_gpu:
        flags.update(described.run_flags(dtype))
    precision = verify.precision(model, dtype, described.amp_dtype, flags["tf32_matmul"], flags["tf32_cudnn"])
    return dict(flags, precision=precision, tolerance=verify.tolerance(model, dtype, precision))


@dataclass(frozen=True)
class CaseVerdict:
    """A case that passed: its largest relative error and the bound it met, what its steps gave,
    the tensors whose bound reached 1% (a 1% fault there would pass), its parameters' shapes."""

    result: verify.StepResult
    error: float
    bound: float
    blind_spots: tuple[str, ...]
    parameter_shapes: str


def verify_case(verifier: verify.Verifier, backend: str, dtype: str, precision: str, trainer, batch,
                result: verify.StepResult | None = None) -> CaseVerdict:
    """Verify ``trainer`` (a case of ``backend`` in ``dtype``, built from the reference's weights)
    on ``batch`` (the reference's, prepared by the trainer). ``result``: the steps already run (the
    runner times them; a step of minutes is verified from its timed round); None runs them here.
    Raises ``verify.VerificationError`` where the case misses its bound."""
    if result is None:
        result = verify.run_steps(trainer, batch, verify.case_steps(verifier.config, backend, precision))
    error, bound = verifier.check(backend, dtype, precision, result)
    blind = verifier.blind_spots(backend, dtype, precision)  # its floor measured by check
    return CaseVerdict(result, error, bound, tuple(blind), verify.parameter_shapes(result))

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


def run_case(verifier: verify.Verifier, backend: str, precision: str, trainer, batch) -> verify.StepResult:
    """The case's verification steps (``verify.case_steps``) on ``trainer`` from ``batch`` (the
    reference's, prepared by the trainer)."""
    return verify.run_steps(trainer, batch, verify.case_steps(verifier.config, backend, precision))


def verify_case(verifier: verify.Verifier, backend: str, dtype: str, precision: str,
                result: verify.StepResult) -> CaseVerdict:
    """Check ``result`` (a case of ``backend`` in ``dtype``: ``run_case``'s, or a slow step's timed
    round) against the reference. Raises ``verify.VerificationError`` where it misses its bound."""
    error, bound = verifier.check(backend, dtype, precision, result)
    blind = verifier.blind_spots(backend, dtype, precision)  # its floor measured by check
    return CaseVerdict(result, error, bound, tuple(blind), verify.parameter_shapes(result))

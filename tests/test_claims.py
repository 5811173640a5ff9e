"""The claims' verdicts can come out every way: intervals against a claimed range, and the shape
claims against the shapes the backends held (synthetic results, so that each branch is shown)."""

from __future__ import annotations

import pytest

from bench.measurement import measurements, read_parameter_shapes
from bench.report.claims import FAILS, HOLDS, TRANSPOSED, UNMEASURED, UNSURE, interval_verdict, shape_verdict
from bench.results import to_frame
from tests.test_report import base_row


@pytest.mark.parametrize("low, high, verdict", [
    (45.0, 90.0, HOLDS),  # wholly inside 40-100x
    (40.0, 100.0, HOLDS),  # the ends count as inside
    (30.0, 50.0, UNSURE),  # straddles 40x
    (20.0, 300.0, UNSURE),  # wider than the range on both sides
    (90.0, 120.0, UNSURE),  # straddles 100x
    (10.0, 39.0, FAILS),  # wholly below
    (101.0, 500.0, FAILS),  # wholly above
])
def test_a_speedup_claim_holds_only_when_the_whole_interval_lies_inside(low, high, verdict):
    assert interval_verdict(low, high, (40.0, 100.0))[0] == verdict


def _cases(config: str, held: dict[str, str]):
    """One verified case per backend of ``config``, each holding the parameters ``held[backend]``."""
    rows = [base_row("lab-a") | dict(config=config, backend=backend, run_id=f"run-{backend}", parameter_shapes=shapes)
            for backend, shapes in held.items()]
    return measurements(to_frame(rows))


TORCH_LAYOUT = "fc1.weight 3x4; fc1.bias 3; fc2.weight 2x3; fc2.bias 2"


def test_shape_claims_are_decided_by_the_shapes_the_backends_held():
    stated = [(4, 3), (3, 2)]
    as_stated = "fc1.weight 4x3; fc1.bias 3; fc2.weight 3x2; fc2.bias 2"
    assert shape_verdict(_cases("mlp-tiny", {"numpy": as_stated, "loops": as_stated}), "mlp-tiny", stated)[1] == HOLDS
    lines, verdict = shape_verdict(_cases("mlp-tiny", {"numpy": TORCH_LAYOUT, "loops": as_stated}), "mlp-tiny", stated)
    assert verdict == TRANSPOSED and "numpy held 3x4, 2x3" in lines[0]
    # a wrongly sized weight in one backend, or one matrix too few, fails the claim and names it
    wrong = "fc1.weight 3x5; fc1.bias 3; fc2.weight 2x3; fc2.bias 2"
    lines, verdict = shape_verdict(_cases("mlp-tiny", {"numpy": TORCH_LAYOUT, "numba": wrong}), "mlp-tiny", stated)
    assert verdict == FAILS and lines[0].endswith("numba held another size")
    assert shape_verdict(_cases("mlp-tiny", {"numpy": "fc1.weight 3x4; fc1.bias 3"}), "mlp-tiny", stated)[1] == FAILS
    # results without recorded shapes (older files) decide nothing
    assert shape_verdict(_cases("mlp-tiny", {"numpy": ""}), "mlp-tiny", stated)[1] == UNMEASURED


def test_parameter_shapes_read_back():
    assert read_parameter_shapes(TORCH_LAYOUT + "; step ") == {
        "fc1.weight": (3, 4), "fc1.bias": (3,), "fc2.weight": (2, 3), "fc2.bias": (2,), "step": ()}


def test_every_case_of_a_backend_counts_not_its_first():
    """One numpy case held the right shapes, a later numpy case a wrongly sized one: the claim fails."""
    wrong = "fc1.weight 3x5; fc1.bias 3; fc2.weight 2x3; fc2.bias 2"
    rows = [base_row("lab-a") | dict(config="mlp-tiny", backend="numpy", dtype=dtype, run_id=f"run-{dtype}",
                                     parameter_shapes=shapes)
            for dtype, shapes in (("float32", TORCH_LAYOUT), ("float64", wrong))]
    lines, verdict = shape_verdict(measurements(to_frame(rows)), "mlp-tiny", [(4, 3), (3, 2)])
    assert verdict == FAILS and "numpy held 3x4, 2x3 or 3x5, 2x3" in lines[0]

"""Per-tensor errors of the GPU rungs against the float64 reference, over seeds and batch sizes:
the measurements the tf32 and bfloat16 bounds in ``bench/verify.py`` are sized from.

On the GPU machine, from the repository root::

    python3 -m studies.gpu_verification_errors --out results/gpu-errors/<gpu-name>.csv

Each (config, seed) gets its own torch float64 reference on the CPU (``verify.compute_reference``;
the oracle that confirms it runs in ``bench run``, on seed 0) and each GPU rung runs the steps
``bench run`` verifies it over, from the same weights and batch. One CSV row per tensor: its
relative error and, for an update, the allowance float32 storage of the weights alone implies.
The printed summary gives the largest error per config and rung, excluding updates (whose bound is
raised by that allowance), and per (model, precision) over every seed and batch.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from bench import verify
from bench.case_verification import precision_fields
from bench.configs import get_config
from bench.suite import Case
from implementations import make_trainer

# (config, seeds): ResNet-50 at 224 px at one image, a small batch and the 32 of the gpu profile
# (batch-norm statistics over more images are better conditioned); the MLPs of the gpu profile.
PLAN = (("resnet50-224@1", (0, 1, 2, 3)), ("resnet50-224@8", (0, 1, 2)), ("resnet50-224@32", (0, 1)),
        ("resnet50-224@256", (0,)),
        ("mlp-mnist", (0, 1, 2)), ("mlp-wide", (0, 1, 2)), ("mlp-width-2048", (0, 1)))
RUNGS = ("torch-cuda", "torch-cuda-amp")


def errors_of(config_name: str, seed: int, backends=RUNGS) -> list[dict]:
    """One row per (rung, tensor) for ``config_name``'s weights and batch drawn with ``seed``."""
    config = get_config(config_name)
    start = time.perf_counter()
    reference = verify.compute_reference(config, seed)
    reference_seconds = time.perf_counter() - start
    rows = []
    for backend in backends:
        case = Case(config, backend, "float32", 1)
        precision = precision_fields(case.backend, case.config.model, case.dtype, on_gpu=True)["precision"]
        steps = verify.case_steps(config, backend, precision)
        trainer = make_trainer(backend, config.model, config.spec, reference.params, "float32")
        result = verify.run_steps(trainer, trainer.prepare_batch(reference.x, reference.y), steps)
        allowance = verify.rounding_allowance(reference, steps, "float32")
        for tensor, error in verify.step_errors(result, reference).items():
            rows.append({"config": config_name, "model": config.model, "batch_size": config.batch_size,
                         "seed": seed, "backend": backend, "precision": precision, "steps": steps,
                         "tensor": tensor, "error": error, "allowance": allowance.get(tensor, 0.0),
                         "tolerance": verify.tolerance(config.model, "float32", precision),
                         "reference_seconds": reference_seconds})
    return rows


def summarize(frame: pd.DataFrame) -> str:
    """The largest non-update error per config and rung (worst tensor named), then per precision."""
    kept = frame[~frame["tensor"].str.endswith(verify.UPDATE)]
    lines = [f"{'config':<18} {'rung':<15} {'precision':<9} {'seeds':>5} {'median':>9} {'max':>9}  worst tensor"]
    for (config, backend), group in kept.groupby(["config", "backend"], sort=False):
        worst = group.loc[group["error"].idxmax()]
        lines.append(f"{config:<18} {backend:<15} {worst['precision']:<9} {group['seed'].nunique():>5} "
                     f"{group['error'].median():>9.2e} {worst['error']:>9.2e}  {worst['tensor']} (seed {worst['seed']})")
    lines.append("")
    for (model, precision), group in kept.groupby(["model", "precision"], sort=False):
        worst = group.loc[group["error"].idxmax()]
        lines.append(f"{model} {precision}: largest error {worst['error']:.3g} ({worst['config']}, seed "
                     f"{worst['seed']}, {worst['tensor']}); bound now {worst['tolerance']:g}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studies.gpu_verification_errors", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="CSV to write (one row per rung and tensor)")
    parser.add_argument("--configs", nargs="*", help="configs of the plan to run (default: all)")
    args = parser.parse_args(argv)
    import torch  # noqa: PLC0415

    if not torch.cuda.is_available():
        print("no CUDA GPU on this machine: the study measures the GPU rungs", file=sys.stderr)
        return 2
    rows: list[dict] = []
    for config_name, seeds in PLAN:
        if args.configs and config_name not in args.configs:
            continue
        for seed in seeds:
            rows += errors_of(config_name, seed)
            # written after every (config, seed): a study cut short keeps what it measured
            frame = pd.DataFrame(rows).assign(gpu=torch.cuda.get_device_name(), torch=torch.__version__)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            frame.to_csv(args.out, index=False)
            print(f"{config_name} seed {seed}: done ({rows[-1]['reference_seconds']:.1f} s reference)", flush=True)
    print(summarize(pd.DataFrame(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

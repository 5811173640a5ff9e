"""Mutation testing: each fault in ``MUTATIONS`` is planted in the code of a temporary copy of HEAD
and the check that must catch it is run there; a fault the check lets through is a verdict that
cannot fail.

    python -m studies.mutations [NAME ...] [--list]

A fault is appended to the module that holds the function it breaks (a wrapper under the
function's own name, so that every caller, the package's re-export included, runs it): one per
layer kind per hand-written backend (a backward 1% off), the loss 1% off, the update without
momentum, torch's float32 step, and the claims' rules. The check is ``bench verify`` on the
smallest config that has the layer (exit 1 expected) or the claims' tests (pytest's exit 1). The
loops backend's ResNet layers are left to the tests marked ``loops_resnet`` (its ResNet step takes
minutes); numba's pooling layers to tests/test_numba_backend.py. Prints one line per fault and
exits 0 only when every one was caught.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass

from .copies import committed_copy

# What the appended wrapper does to a backend's value: numpy arrays are scaled in their own dtype,
# the loops backend's tensors through NumPy (its boundary conversions, never timed here).
_SCALE = '''

def _planted_scale(value, factor):
    import numpy as _np
    if isinstance(value, _np.ndarray):
        return value * value.dtype.type(factor)
    if isinstance(value, float):
        return value * factor
    from implementations.pure_python.tensor import from_numpy, to_numpy
    return from_numpy(to_numpy(value) * factor)
'''


def _wrap(function: str, body: str) -> str:
    """Code that replaces ``function`` in its module by a wrapper running ``body`` (which sees the
    original as ``original`` and the call's ``args``/``kwargs``)."""
    return (f"{_SCALE}\n_planted_{function} = {function}\n\n\ndef {function}(*args, **kwargs):  # planted\n"
            f"    original = _planted_{function}\n{body}\n")


def _output_off(function: str, index: int | None, factor: float = 1.01) -> str:
    """``function``'s output ``index`` (None: its only output) ``factor`` times too large."""
    if index is None:
        return _wrap(function, f"    return _planted_scale(original(*args, **kwargs), {factor!r})")
    return _wrap(function, f"    out = list(original(*args, **kwargs))\n"
                           f"    out[{index}] = _planted_scale(out[{index}], {factor!r})\n    return tuple(out)")


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str  # the module the fault is appended to
    code: str
    check: tuple[str, ...]  # the command that must catch it (run with the copy's python -m)


def _verify(model: str, backend: str) -> tuple[str, ...]:
    # the default profile: every backend runs at mlp-mnist there (quick runs numba on two configs)
    return ("bench", "verify", "--profile", "default", "--models", model, "--backends", backend)


_PACKAGES = {"loops": "pure_python", "numba": "compiled_loops", "numpy": "numpy_vectorized"}
_CLAIMS_TESTS = ("pytest", "-q", "-p", "no:cacheprovider", "tests/test_claims.py")


def _mutations() -> list[Mutation]:
    out = []
    for backend, package in _PACKAGES.items():
        layers = f"implementations/{package}/layers"
        mlp = [("linear backward: dW 1% off", "dense", "linear_backward", 1),
               ("relu backward 1% off", "dense", "relu_backward", None),
               ("loss 1% off", "dense", "softmax_cross_entropy", 0)]
        out += [Mutation(f"{backend}: {what}", f"{layers}/{module}.py", _output_off(function, index),
                         _verify("mlp-mnist", backend)) for what, module, function, index in mlp]
        out.append(Mutation(f"{backend}: update without momentum", f"{layers}/dense.py",
                            _wrap("sgd_momentum_update", "    args = list(args)\n    if len(args) > 4:\n"
                                  "        args[4] = 0.0\n    else:\n        kwargs['momentum'] = 0.0\n"
                                  "    return original(*args, **kwargs)"),
                            _verify("mlp-mnist", backend)))
        if backend == "loops":
            continue  # its ResNet step takes minutes: tests/test_verification_gate.py, -m loops_resnet
        resnet = [("convolution backward: dW 1% off", "conv", "conv2d_backward", 1),
                  ("batch-norm backward: dgamma 1% off", "norm", "batchnorm_backward", 1)]
        if backend == "numpy":
            resnet += [("max-pool backward 1% off", "pool", "maxpool2d_backward", None),
                       ("average-pool backward 1% off", "pool", "global_avgpool_backward", None)]
        out += [Mutation(f"{backend}: {what}", f"{layers}/{module}.py", _output_off(function, index),
                         _verify("resnet50-32", backend)) for what, module, function, index in resnet]
    torch_trainer = "implementations/torch_autograd/trainer.py"
    out.append(Mutation(
        "torch-cpu: float32 loss 1.5x (float64, the reference, untouched)", torch_trainer,
        "\n\n_planted_forward_backward = TorchTrainer._forward_backward\n\n\n"
        "def _forward_backward(self, batch):  # planted\n    loss = _planted_forward_backward(self, batch)\n"
        "    return loss * 1.5 if self._torch_dtype == torch.float32 else loss\n\n\n"
        "TorchTrainer._forward_backward = _forward_backward\n",
        _verify("resnet50-32", "torch-cpu")))
    out.append(Mutation(
        "torch-cpu: float32 batch-norm gradient 1% off", torch_trainer,
        "\n\n_planted_forward_backward = TorchTrainer._forward_backward\n\n\n"
        "def _forward_backward(self, batch):  # planted\n    loss = _planted_forward_backward(self, batch)\n"
        "    if self._torch_dtype == torch.float32:\n"
        "        dict(self.module.named_parameters())['layer4.2.bn3.weight'].grad.mul_(1.01)\n    return loss\n\n\n"
        "TorchTrainer._forward_backward = _forward_backward\n",
        _verify("resnet50-32", "torch-cpu")))
    claims = "bench/report/claims.py"
    out.append(Mutation("claims: an interval that overlaps the range holds", claims,
                        _wrap("interval_verdict", "    low, high = args[:2]\n    claimed = args[2] if len(args) > 2 "
                              "else CLAIMED\n    if high >= claimed[0] and low <= claimed[1]:\n"
                              "        return HOLDS, 'overlapping'\n    return original(*args, **kwargs)"),
                        _CLAIMS_TESTS))
    out.append(Mutation("claims: shapes decided without looking at them", claims,
                        _wrap("shape_verdict", "    lines, verdict = original(*args, **kwargs)\n"
                              "    return lines, (HOLDS if verdict != UNMEASURED else verdict)"),
                        _CLAIMS_TESTS))
    return out


MUTATIONS = _mutations()


def run(mutation: Mutation) -> tuple[bool, str, float]:
    """(caught, the check's last line, seconds) for one fault planted in a fresh copy."""
    start = time.perf_counter()
    with committed_copy("vecbench-mutation-") as tree:
        target = tree / mutation.path
        target.write_text(target.read_text() + mutation.code)
        done = subprocess.run([sys.executable, "-m", *mutation.check], cwd=tree, capture_output=True, text=True)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    said = next((line for line in lines if "MISMATCH" in line or "not confirmed" in line), lines[-1] if lines else "")
    # caught: the check failed as a check does (exit 1), not by crashing on the planted code
    return done.returncode == 1, " ".join(said.split())[:160], time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studies.mutations", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="faults to plant (a name's start is enough; default: all)")
    parser.add_argument("--list", action="store_true", help="list the faults and their checks, plant nothing")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.names or any(m.name.startswith(n) for n in args.names)]
    if not chosen:
        print(f"no fault named {', '.join(args.names)}; --list shows them", file=sys.stderr)
        return 2
    if args.list:
        for m in chosen:
            print(f"{m.name:<62} {m.path}: python -m {' '.join(m.check)}")
        return 0
    missed = 0
    for m in chosen:
        caught, said, seconds = run(m)
        missed += not caught
        print(f"{'caught' if caught else 'MISSED':<7} {m.name:<62} {seconds:5.0f} s  {said}", flush=True)
    print(f"{len(chosen) - missed} of {len(chosen)} planted faults caught")
    return 0 if missed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

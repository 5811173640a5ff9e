"""Time the loops layers on ResNet-50 shapes at 224x224, batch 1: nanoseconds per multiply-add.

    python -m implementations.pure_python.layer_timings [--repeat 3] [case ...]

For each convolution case it prints the forward, weight-gradient (``need_dx=False``) and
input-gradient (full backward minus weight gradient) times divided by the layer's multiply-adds,
each the minimum over ``--repeat`` runs. Times are the process's CPU time, not wall time: on a
shared machine a wall clock also counts the time other processes held the core; the minimum is the
run least disturbed by their cache traffic. A development tool: the harness in ``bench/`` does the
reported timings.
"""

from __future__ import annotations

import argparse
import random
import time
from array import array
from math import prod

from .layers import conv2d_backward, conv2d_forward
from .tensor import FlatTensor

# name -> (x shape, w shape, stride, padding), all from ResNet-50 v1.5 at 224x224
CONV_CASES = {
    "conv1 7x7/2 3->64 @224": ((1, 3, 224, 224), (64, 3, 7, 7), 2, 3),
    "layer1 3x3 64->64 @56": ((1, 64, 56, 56), (64, 64, 3, 3), 1, 1),
    "layer1 1x1 256->64 @56": ((1, 256, 56, 56), (64, 256, 1, 1), 1, 0),
    "layer2.0 3x3/2 128->128 @56": ((1, 128, 56, 56), (128, 128, 3, 3), 2, 1),
    "layer2.0 downsample 1x1/2 256->512 @56": ((1, 256, 56, 56), (512, 256, 1, 1), 2, 0),
    "layer4 3x3 512->512 @7": ((1, 512, 7, 7), (512, 512, 3, 3), 1, 1),
    "layer4 1x1 2048->512 @7": ((1, 2048, 7, 7), (512, 2048, 1, 1), 1, 0),
}


def _random_tensor(shape: tuple[int, ...], rng: random.Random) -> FlatTensor:
    return FlatTensor(array("d", [rng.gauss(0.0, 1.0) for _ in range(prod(shape))]), shape)


def time_conv(x_shape, w_shape, stride: int, padding: int, repeat: int) -> dict[str, float]:
    """Best CPU seconds over ``repeat`` runs of the forward, the weight gradient and the input gradient,
    and the layer's multiply-adds under ``"macs"``."""
    rng = random.Random(0)
    x = _random_tensor(x_shape, rng)
    w = _random_tensor(w_shape, rng)
    best = {"forward": float("inf"), "dw": float("inf"), "backward": float("inf")}
    dout = None
    for _ in range(repeat):
        start = time.process_time()
        out, cache = conv2d_forward(x, w, stride, padding)
        best["forward"] = min(best["forward"], time.process_time() - start)
        if dout is None:
            dout = _random_tensor(out.shape, rng)
        start = time.process_time()
        conv2d_backward(dout, cache, need_dx=False)
        best["dw"] = min(best["dw"], time.process_time() - start)
        start = time.process_time()
        conv2d_backward(dout, cache, need_dx=True)
        best["backward"] = min(best["backward"], time.process_time() - start)
    best["dx"] = best["backward"] - best["dw"]
    best["macs"] = prod(out.shape) * prod(w_shape[1:])
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("cases", nargs="*", help=f"subset of: {', '.join(CONV_CASES)}")
    args = parser.parse_args(argv)
    for name in args.cases or CONV_CASES:
        x_shape, w_shape, stride, padding = CONV_CASES[name]
        best = time_conv(x_shape, w_shape, stride, padding, args.repeat)
        per_mac = {key: best[key] / best["macs"] * 1e9 for key in ("forward", "dw", "dx")}
        print(f"{name:40s} {best['macs'] / 1e6:7.1f}M MACs  ns/MAC: forward {per_mac['forward']:5.1f}"
              f"  dW {per_mac['dw']:5.1f}  dX {per_mac['dx']:5.1f}   (forward {best['forward']:.2f} s)", flush=True)


if __name__ == "__main__":
    main()

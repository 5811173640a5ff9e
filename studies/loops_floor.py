"""Is ``loops`` at least as fast as the textbook code (tests/textbook_*.py)? Timed interleaved.

    python -m studies.loops_floor [--repeats 15] [--shapes NAME ...] [--out results/floor/<machine>.parquet]

For each MLP shape, one process times a ``loops`` step and a textbook step from the same weights
and batch, and for a ResNet-50 layer (the 3x3 convolution of layer1.0 in ``resnet50-32`` at batch
4: 64 channels, 8x8) its forward and backward, in alternating blocks (A B A B ...), so that a
drift of the shared machine falls on both alike; a block is as many calls as last about 0.2 s,
with GC off as in the harness's blocks (``bench.timing.collector_paused``: the ladder's loops times
are taken that way, so its floor is too; the ``gc`` column says so, and files from before it have
no such column: GC was on). The ratio per pair of neighbouring blocks (textbook time / loops time)
is recorded with both times and their CPU times, one row per pair, and summarized as the median
ratio with a bootstrap 95% interval over pairs. Above 1: loops is
faster. Not part of ``bench run``: the textbook is test code, and this is a study of the baseline.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.floor import ratio_intervals
from bench.machine import describe_machine
from bench.timing import collector_paused
from implementations import make_trainer
from implementations.architectures import mlp
from implementations.layer_shapes import conv_output_size
from implementations.pure_python import layers as loops_layers
from implementations.pure_python.tensor import from_numpy
from tests import textbook_conv
from tests.textbook_mlp import TextbookMLP

# (name, sizes, batch): the seed articles' 4-3-2 network, the 784-128-10 layer at the batch the
# issue found loops slower at (4) and at mlp-mnist's (32); a ResNet-50 layer: (name, (images,
# channels in, size, filters, kernel, stride, padding), batch)
SHAPES = (("mlp-tiny", (4, 3, 2), 5), ("mlp-mnist@4", (784, 128, 10), 4), ("mlp-mnist", (784, 128, 10), 32))
LAYERS = (("resnet50-32 layer1.0.conv2", (4, 64, 8, 64, 3, 1, 1), 4),)
BLOCK_SECONDS = 0.2


def _conv_steps(shape, _batch):
    images, channels, size, filters, kernel, stride, padding = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((images, channels, size, size))
    w = rng.standard_normal((filters, channels, kernel, kernel)) * (2 / (channels * kernel * kernel)) ** 0.5
    out_size = conv_output_size(size, kernel, stride, padding)
    dout = rng.standard_normal((images, filters, out_size, out_size))
    x_native, w_native, dout_native = from_numpy(x), from_numpy(w), from_numpy(dout)
    x_lists, w_lists, dout_lists = x.tolist(), w.tolist(), dout.tolist()

    def loops():
        _, cache = loops_layers.conv2d_forward(x_native, w_native, stride, padding)
        loops_layers.conv2d_backward(dout_native, cache)

    def textbook():
        textbook_conv.conv2d_forward(x_lists, w_lists, stride, padding)
        textbook_conv.conv2d_backward(dout_lists, x_lists, w_lists, stride, padding)

    return loops, textbook


def _steps(sizes, batch):
    spec = mlp.MLPSpec(sizes)
    params = mlp.init_params(spec, 0)
    x, y = mlp.make_batch(spec, batch, 1)
    loops = make_trainer("loops", "mlp", spec, params, "float64")
    native = loops.prepare_batch(x, y)
    names = spec.layer_names
    textbook = TextbookMLP([params[f"{n}.weight"].tolist() for n in names],
                           [params[f"{n}.bias"].tolist() for n in names])
    rows, labels = x.tolist(), y.tolist()
    return (lambda: loops.step(native)), (lambda: textbook.step(rows, labels))


def _block(step, calls: int) -> tuple[float, float]:
    """Seconds and CPU seconds per call over ``calls`` calls, GC off."""
    with collector_paused():
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(calls):
            step()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall / calls, cpu / calls


def study(repeats: int, shapes: tuple[str, ...] = ()) -> pd.DataFrame:
    """``repeats`` block pairs of each of ``shapes`` (names from SHAPES and LAYERS; all when empty).

    One shape with more pairs narrows its interval: at mlp-tiny a pair lasts 0.4 s, and 15 of them
    on a busy machine left a 95% interval of 0.85-1.10."""
    out = []
    machine = describe_machine()
    for (name, sizes, batch), build in [*((shape, _steps) for shape in SHAPES),
                                        *((layer, _conv_steps) for layer in LAYERS)]:
        if shapes and name not in shapes:
            continue
        loops, textbook = build(sizes, batch)
        calls = {}
        for side, step in (("loops", loops), ("textbook", textbook)):
            step()  # warm
            one, _ = _block(step, 1)
            calls[side] = max(1, round(BLOCK_SECONDS / one))
        for pair in range(repeats):
            order = (("loops", loops), ("textbook", textbook)) if pair % 2 == 0 else (("textbook", textbook), ("loops", loops))
            got = {side: _block(step, calls[side]) for side, step in order}
            out.append(dict(shape=name, sizes="-".join(map(str, sizes)), batch=batch, pair=pair,
                            loops_seconds=got["loops"][0], loops_cpu_seconds=got["loops"][1],
                            textbook_seconds=got["textbook"][0], textbook_cpu_seconds=got["textbook"][1],
                            ratio=got["textbook"][0] / got["loops"][0], gc="off", cpu=machine["cpu"],
                            cores=machine["cores"], git_commit=machine["git_commit"]))
    return pd.DataFrame(out)


def summary(frame: pd.DataFrame) -> list[str]:
    """Each shape's median ratio and its interval (``bench.floor``, as docs/loops-floor.md gives them)."""
    lines, intervals = [], ratio_intervals(frame)
    for name, rows in frame.groupby("shape", sort=False):
        median, low, high = intervals[name]
        lines.append(f"{name} (batch {rows['batch'].iloc[0]}): textbook / loops = {median:.2f} "
                     f"[{low:.2f}, {high:.2f}] over {len(rows)} pairs; loops {np.median(rows['loops_seconds']) * 1e6:,.0f} µs, "
                     f"textbook {np.median(rows['textbook_seconds']) * 1e6:,.0f} µs")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--shapes", nargs="+", default=(), choices=[name for name, _, _ in (*SHAPES, *LAYERS)],
                        help="only these shapes (default: all)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    frame = study(args.repeats, tuple(args.shapes))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(args.out, index=False)
    print("\n".join(summary(frame)))


if __name__ == "__main__":
    main()

"""The loops floor study's files (``results/floor/``), summarized as the studies print them and as
docs/loops-floor.md shows them (``python -m bench docs``).

* ``studies/loops_floor.py`` times a ``loops`` step and the textbook's in alternating blocks, one row
  per pair of blocks (both times, their CPU times, and ``ratio``: textbook time / loops time); a
  shape's summary is the median ratio with a bootstrap 95% interval over its pairs;
* ``studies/loops_footprint.py`` counts each side's instructions and first-level cache misses per
  step under cachegrind, one row per side and run; a count's summary is its median over the runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import UsageError
from .formatting import seconds

RESAMPLES, SEED = 4000, 0  # of the ratio's bootstrap interval
FOOTPRINT = {"instructions": "instructions", "i1_misses": "instruction-cache misses",
             "d1_read_misses": "data-cache read misses", "d1_write_misses": "data-cache write misses"}
_FLOOR_COLUMNS = ("shape", "sizes", "batch", "loops_seconds", "loops_cpu_seconds", "textbook_seconds",
                  "textbook_cpu_seconds", "ratio")


def read(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """A floor study's file, with one clear line where it is missing or not one."""
    if not path.is_file():
        raise UsageError(f"{path}: no such floor study file")
    frame = pd.read_parquet(path)
    missing = [c for c in columns if c not in frame.columns]
    if missing or frame.empty:
        raise UsageError(f"{path}: not a floor study file (no rows, or no {', '.join(missing)})")
    return frame


def ratio_intervals(frame: pd.DataFrame, resamples: int = RESAMPLES, seed: int = SEED) -> dict[str, tuple[float, float, float]]:
    """Each shape's median ratio and its bootstrap 95% interval, the draws taken from one stream
    seeded once per file, shape after shape in file order, as the study prints them."""
    rng = np.random.default_rng(seed)
    out = {}
    for shape, rows in frame.groupby("shape", sort=False):
        ratios = rows["ratio"].to_numpy()
        draws = np.median(rng.choice(ratios, size=(resamples, ratios.size)), axis=1)
        low, high = np.quantile(draws, [0.025, 0.975])
        out[shape] = float(np.median(ratios)), float(low), float(high)
    return out


def _ratio(interval: tuple[float, float, float]) -> str:
    median, low, high = interval
    said = "loops faster" if low > 1 else "the textbook faster" if high < 1 else "a tie"
    return f"{median:.2f} [{low:.2f}, {high:.2f}]: {said}"


def what(shape: str, sizes: str, batch: int) -> str:
    """A shape as a reader names it: an MLP step by its config and sizes, a layer by where it sits."""
    if " " in shape:  # a ResNet-50 layer: (images, channels in, size, filters, kernel, stride, padding)
        model, layer = shape.split(" ", 1)
        _, channels, size, filters, kernel, _, _ = sizes.split("-")
        into = channels if channels == filters else f"{channels} to {filters}"
        return (f"a ResNet-50 layer: `{model}`'s {layer} ({kernel}x{kernel}, {into} channels, {size}x{size}), "
                f"forward and backward ({batch})")
    return f"`{shape.split('@')[0]}` {sizes} step ({batch})"


def _times(rows: pd.DataFrame) -> list[str]:
    return [seconds(rows["loops_seconds"].median()), seconds(rows["textbook_seconds"].median())]


def floor_table(path: Path) -> tuple[list[str], list[list[str]], str]:
    """Each shape of one run: loops' and the textbook's median times and their ratio, in file order;
    and a note of the CPU time over wall time of both sides' blocks."""
    frame = read(path, _FLOOR_COLUMNS)
    intervals = ratio_intervals(frame)
    rows = [[what(shape, group["sizes"].iloc[0], int(group["batch"].iloc[0])), *_times(group), _ratio(intervals[shape])]
            for shape, group in frame.groupby("shape", sort=False)]
    kept = pd.concat([frame["loops_cpu_seconds"] / frame["loops_seconds"],
                      frame["textbook_cpu_seconds"] / frame["textbook_seconds"]], keys=["loops", "textbook"])
    shapes = frame["shape"].to_numpy()
    medians = kept.groupby([kept.index.get_level_values(0), np.concatenate([shapes, shapes])]).median()
    pairs = frame.groupby("shape", sort=False).size()
    note = (f"{'-'.join(map(str, sorted(set(pairs))))} block pairs a shape; CPU time over wall time "
            f"{medians.min():.2f}-{medians.max():.2f} at each side's median of each shape, {kept.min():.2f} or more "
            "in every block.")
    return ["what (batch)", "loops", "textbook", "textbook / loops"], rows, note


def floor_runs_table(folder: Path) -> tuple[list[str], list[list[str]]]:
    """One row per file of ``folder`` (in name order, so in time order) and shape: its pairs, the
    median times and their ratio. The shape is a column only where the files hold more than one."""
    paths = sorted(folder.glob("*.parquet"))
    if not paths:
        raise UsageError(f"{folder}: no floor study files (.parquet)")
    frames = {path.name: read(path, _FLOOR_COLUMNS) for path in paths}
    several = len({shape for f in frames.values() for shape in f["shape"]}) > 1
    rows = []
    for name, frame in frames.items():
        intervals = ratio_intervals(frame)
        for shape, group in frame.groupby("shape", sort=False):
            shown = [what(shape, group["sizes"].iloc[0], int(group["batch"].iloc[0]))] if several else []
            rows.append([f"`{name}`", *shown, str(len(group)), *_times(group), _ratio(intervals[shape])])
    return ["file", *(["what (batch)"] if several else []), "pairs", "loops", "textbook", "textbook / loops"], rows


def footprint_medians(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """side -> count -> its median over the runs."""
    return {side: {column: float(rows[column].median()) for column in FOOTPRINT} for side, rows in frame.groupby("side")}


def footprint_table(path: Path) -> tuple[list[str], list[list[str]], str]:
    """Per step: each count of loops and the textbook, and loops over the textbook; a note of how
    closely the runs agree and of loops' extra first-level misses."""
    frame = read(path, ("side", "repeat", *FOOTPRINT))
    medians = footprint_medians(frame)
    if set(medians) != {"loops", "textbook"}:
        raise UsageError(f"{path}: not a footprint file of both sides (it has: {', '.join(sorted(medians))})")
    loops, textbook = medians["loops"], medians["textbook"]
    rows = [[label, f"{loops[c]:,.0f}", f"{textbook[c]:,.0f}", f"{loops[c] / textbook[c]:.2f}"]
            for c, label in FOOTPRINT.items()]
    spread = frame.groupby("side")[list(FOOTPRINT)].agg(lambda s: (s.max() - s.min()) / s.median()).max()
    misses = [c for c in FOOTPRINT if c != "instructions"]
    extra = sum(loops[c] - textbook[c] for c in misses)
    note = (f"Median of {frame['repeat'].nunique()} runs a side, which agree within {spread['instructions'] * 100:.1g}% "
            f"in instructions and {spread[misses].max() * 100:.1g}% in misses; loops misses {extra:,.0f} more "
            "first-level lines a step than the textbook.")
    return ["per step at mlp-tiny", "loops", "textbook", "loops / textbook"], rows, note

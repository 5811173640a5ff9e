"""The table printed at the end of a run: median seconds per step and the speedup over loops."""

from __future__ import annotations

import pandas as pd

HARNESS_MODELS = ("peak", "noop")


def speedup_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per timed case: median s/step and ``loops / X`` (medians) within its config.

    ``loops / X`` is empty where the config has no successful loops case.
    """
    ok = frame[(frame["status"] == "ok") & ~frame["model"].isin(HARNESS_MODELS)]
    if ok.empty:
        return pd.DataFrame(columns=["config", "backend", "dtype", "threads", "rounds", "median_s", "loops_over_x"])
    keys = ["config", "backend", "dtype", "threads"]
    medians = ok.groupby(keys, sort=False)["seconds"].agg(rounds="count", median_s="median").reset_index()
    loops = medians[medians["backend"] == "loops"].set_index("config")["median_s"]
    medians["loops_over_x"] = medians["config"].map(loops) / medians["median_s"]
    return medians


def format_speedups(frame: pd.DataFrame) -> str:
    table = speedup_table(frame)
    if table.empty:
        return "no successful case to summarize"
    shown = table.assign(
        median_s=table["median_s"].map(lambda s: f"{s:.3g}"),
        loops_over_x=table["loops_over_x"].map(lambda r: "" if pd.isna(r) else f"{r:,.1f}x"),
    ).rename(columns={"median_s": "median s/step", "loops_over_x": "loops / X"})
    return shown.to_string(index=False)


def format_harness(frame: pd.DataFrame) -> str:
    """Harness overhead (noop) and the machine's peak GEMM rate, one line each."""
    lines = []
    ok = frame[frame["status"] == "ok"]
    noop = ok[ok["model"] == "noop"]["seconds"]
    if len(noop):
        lines.append(f"harness overhead (no-op case): {noop.median() * 1e9:.0f} ns per call (median of {len(noop)} rounds)")
    peaks = ok[ok["model"] == "peak"]
    for (config, backend, threads), group in peaks.groupby(["config", "backend", "threads"]):
        rate = (group["flops"] / group["seconds"]).median() / 1e9
        lines.append(f"peak {backend} {config} {threads}t: {rate:,.1f} GFLOP/s")
    return "\n".join(lines)

"""Do vecbench's timer and pytest-benchmark's give the same time for the same case? Both timed in
one job, alternately.

    python -m studies.timer_difference [--pairs 5] [--models mlp-mnist] [--backends numpy]
        [--out results/timers/<machine kind>/<time>.json]

Each pair runs ``python -m bench run --profile quick`` and ``python -m pytest benchmarks/
--benchmark-only`` on the same selection, each in a process of its own, the order alternating from
pair to pair (AB, BA, ...) so that a drift of the shared machine falls on both alike. For each case
and run it records vecbench's median over its uncontended rounds (with how many rounds it left out
as contended, and the rounds' CPU share) and pytest-benchmark's median, minimum, mean and rounds,
and the machine's load average around each run. ``summary`` gives, per case, the median over pairs
of pytest-benchmark's median over vecbench's, with the lowest and highest pair: a study of the
timers, not part of ``bench run``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


from bench.machine import describe_machine
from bench.measurement import measurements
from bench.results import read_file
from bench.timer_study import TOOLS, summary



def _vecbench(models: list[str], backends: list[str], workdir: Path) -> dict[str, dict]:
    out = workdir / "vecbench.parquet"
    out.unlink(missing_ok=True)
    subprocess.run([sys.executable, "-m", "bench", "run", "--profile", "quick", "--models", *models,
                    "--backends", *backends, "--out", str(out), "--no-progress"], check=True, stdout=subprocess.DEVNULL)
    return {m.key.label: {"median": m.time, "rounds": m.rounds, "contended_share": m.contended_share,
                      "cpu_share": m.cpu_share} for m in measurements(read_file(out)) if m.ok}


def _pytest_benchmark(models: list[str], backends: list[str], workdir: Path) -> dict[str, dict]:
    out = workdir / "pytest-benchmark.json"
    out.unlink(missing_ok=True)
    subprocess.run([sys.executable, "-m", "pytest", "benchmarks/", "--benchmark-only", "-q", "-p", "no:cacheprovider",
                    "--vecbench-profile", "quick", "--vecbench-models", ",".join(models),
                    "--vecbench-backends", ",".join(backends), f"--benchmark-json={out}"],
                   check=True, stdout=subprocess.DEVNULL)
    return {b["param"]: {key: b["stats"][key] for key in ("median", "min", "mean", "rounds")}
            for b in json.loads(out.read_text())["benchmarks"]}


RUN = {"vecbench": _vecbench, "pytest-benchmark": _pytest_benchmark}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studies.timer_difference")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--models", nargs="+", default=["mlp-mnist"])
    parser.add_argument("--backends", nargs="+", default=["numpy"])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    machine = describe_machine()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    # the machine kind as the other study folders name it (amd-epyc-2core): the CPU's first two words
    kind = "-".join(machine["cpu"].replace("(R)", "").split()[:2]).lower()
    out = args.out or Path("results/timers") / f"{kind}-{machine['cores']}core" / f"{stamp}.json"
    study = {"machine": machine, "started": stamp, "pairs": args.pairs, "models": args.models,
             "backends": args.backends, "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        for pair in range(args.pairs):
            for tool in (TOOLS if pair % 2 == 0 else TOOLS[::-1]):
                before = os.getloadavg()[0]
                start = time.time()
                cases = RUN[tool](args.models, args.backends, Path(tmp))
                study["runs"].append({"pair": pair, "tool": tool, "seconds": time.time() - start,
                                      "load_before": before, "load_after": os.getloadavg()[0], "cases": cases})
                print(f"pair {pair} {tool}: {len(cases)} cases, load {before:.2f}", flush=True)
    study["summary"] = summary(study)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(study, indent=1, default=float) + "\n")
    for case, s in study["summary"].items():
        print(f"{case}: pytest-benchmark / vecbench median {s['median']:.3f} ({s['low']:.3f}-{s['high']:.3f}, "
              f"{s['pairs']} pairs)")
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

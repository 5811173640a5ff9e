"""Power of CI's regression check: a fault planted in the code of a temporary copy of HEAD, judged by
the very command CI runs (``bench check --against HEAD``) against HEAD unchanged, in one job.

    python -m studies.check_power FAULT [FAULT ...] [--pairs 5] [--out results/ab/<machine>]

Each fault is a small edit of the copy's source (never a harness hook), so the slowed code is the
code that runs: the whole step of one backend made FACTOR times as long by spinning (wall and CPU
time) or by sleeping (an off-CPU wait: wall time only), a fixed cost added to every hand-written
step, or the timing loop itself made slower. Each check's pairs stay in
``OUT/power-<fault>-<time>/`` and its printout beside them (``check.txt``); the exit code says
whether it was caught (1).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from .copies import ROOT, committed_copy

_HANDWRITTEN_STEP = '''    def step(self, batch) -> float:
        # The forward-backward is called here'''
_TORCH_STEP = '''    def step(self, batch) -> torch.Tensor:
        """One step; synchronizes CUDA before returning so that a timer around it sees the work.'''


def _slowed(signature: str, clauses: list[tuple[str, str]]) -> str:
    """A ``step`` that runs the original (renamed ``_planted_step``) and then, under the first
    ``(condition, how)`` clause whose condition holds, makes the call ``how``: ``spin:F`` (F times as
    long, busy), ``sleep:F`` (F times as long, asleep) or ``add:S`` (S seconds more, busy)."""
    header = signature.splitlines()[0]
    lines = [header, f"        # planted by studies/check_power.py: {clauses}",
             "        start = time.perf_counter()", "        result = self._planted_step(batch)"]
    for index, (condition, how) in enumerate(clauses):
        kind, value = how.split(":")
        extra = (f"{float(value)!r}" if kind == "add"
                 else f"(time.perf_counter() - start) * {float(value) - 1!r}")
        lines.append(f"        {'if' if index == 0 else 'elif'} {condition}:")
        lines.append(f"            extra = {extra}")
        if kind == "sleep":
            lines.append("            time.sleep(max(0.0, extra))")
        else:
            lines += ["            until = time.perf_counter() + extra",
                      "            while time.perf_counter() < until:", "                pass"]
    lines += ["        return result", "", ""]
    return "\n".join(lines) + signature.replace("def step(", "def _planted_step(", 1)


def _handwritten(*clauses: tuple[str, str]) -> tuple[str, str, str]:
    return ("implementations/trainer.py", _HANDWRITTEN_STEP, _slowed(_HANDWRITTEN_STEP, list(clauses)))


_TORCH_CPU_1_3 = ("implementations/torch_autograd/trainer.py", _TORCH_STEP,
                  _slowed(_TORCH_STEP, [("self.device.type == 'cpu'", "spin:1.3")]))

# fault -> the edits that plant it: (file, text to find, its replacement), each file edited once
FAULTS = {
    **{f"{backend}-1.3x": [_handwritten((f"self.backend == {backend!r}", "spin:1.3"))]
       for backend in ("loops", "numba", "numpy")},
    "torch-cpu-1.3x": [_TORCH_CPU_1_3],
    "numpy-offcpu-1.5x": [_handwritten(("self.backend == 'numpy'", "sleep:1.5"))],
    # Every backend slowed its own way in one copy (each backend's verdict reads its own cases, so
    # one check of 5 pairs shows all four): loops and numba 1.3x busy, numpy 1.5x asleep (an off-CPU
    # wait that must read as a regression, not as contention), torch-cpu 1.3x busy.
    "each-backend": [_handwritten(("self.backend in ('loops', 'numba')", "spin:1.3"),
                                  ("self.backend == 'numpy'", "sleep:1.5")), _TORCH_CPU_1_3],
    "handwritten-1.3x": [_handwritten(("True", "spin:1.3"))],
    "handwritten-plus-50us": [_handwritten(("True", "add:50e-6"))],
}


def plant(tree: Path, fault: str) -> None:
    for path, find, replace in FAULTS[fault]:
        source = (tree / path).read_text()
        if source.count(find) != 1:
            raise SystemExit(f"{fault}: the text to replace is not in {path} exactly once; "
                             "update studies/check_power.py")
        source = source.replace(find, replace, 1)
        if "\nimport time\n" not in source:  # at module level, so that the unslowed backends pay no import
            source = source.replace("\nimport math\n", "\nimport math\nimport time\n", 1)
        (tree / path).write_text(source)
    # the copy's rows say that they time a planted fault (the results' ``planted`` column)
    (tree / "PLANTED").write_text(f"{fault}\n")


def run(fault: str, pairs: int, out: Path) -> int:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    keep = (out / f"power-{fault}-{stamp}").resolve()
    with committed_copy("vecbench-power-") as tree:
        plant(tree, fault)
        done = subprocess.run([sys.executable, "-m", "bench", "check", "--against", "HEAD", "--pairs", str(pairs),
                               "--keep", str(keep), "--thresholds", str((ROOT / "results/ab").resolve())],
                              cwd=tree, capture_output=True, text=True)
    keep.mkdir(parents=True, exist_ok=True)
    (keep / "check.txt").write_text(f"# fault {fault}: {', '.join(edit[0] for edit in FAULTS[fault])}\n# exit {done.returncode}\n"
                                    + done.stdout + done.stderr)
    print(f"{fault}: exit {done.returncode} ({'caught' if done.returncode == 1 else 'NOT caught'}); {keep}")
    print(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr.strip())
    return done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studies.check_power", description=__doc__.split("\n\n")[0])
    parser.add_argument("faults", nargs="+", choices=sorted(FAULTS), metavar="FAULT",
                        help=f"one of: {', '.join(sorted(FAULTS))}")
    parser.add_argument("--pairs", type=int, default=5, help="pairs per check (CI's: 5)")
    parser.add_argument("--out", default="results/ab/amd-epyc-2core", help="where each check's pairs are kept")
    args = parser.parse_args(argv)
    codes = [run(fault, args.pairs, Path(args.out)) for fault in args.faults]
    return 0 if all(code == 1 for code in codes) else 1


if __name__ == "__main__":
    sys.exit(main())

"""The results file: one parquet row per timed round. This schema is a public interface.

Bump ``SCHEMA_VERSION`` and update the README whenever a column is added, removed or changes
meaning. Readers accept any file whose version is at most theirs and which has every column its
version requires; columns added by a later version are filled with nulls.

Version 2 added the GPU rungs' columns (``ADDED_IN_V2``): TF32 and cuDNN settings, the precision
verification used, warm-up steps, compile time, and bytes moved by the copy peak.

Version 3 added repeated, interleaved measurement (``ADDED_IN_V3``): the repeat a round belongs
to, the process's CPU time beside the wall time, what the rest of the machine did during the
round's block, and whether the round was contended. ``warmup_steps`` now counts the untimed calls
before every block, on every backend.

Adding the numba backend changed no column: ``backend`` takes one more name, and
``compile_seconds``, until then torch.compile's only, also records numba's compile time.

Version 4 added ``part`` (``ADDED_IN_V4``): what of the step a row times. ``step`` (the whole
training step) is what every row of older files timed; a ResNet case also gets one row per part of
one instrumented step (``stem forward`` .. ``stem backward``, ``update``; timing_mode
``instrumented``), the per-stage breakdown. Only ``step`` rows are rounds of a measurement.

Version 5 added ``capture_seconds`` (``ADDED_IN_V5``): what making the ``torch-cuda-graphs`` rung's
CUDA graph cost, kept out of ``seconds`` as ``compile_seconds`` is; ``backend`` takes that rung's
name. Rows of older files read it as NaN.

Version 6 added ``planted`` (``ADDED_IN_V6``): the name of a fault planted on purpose in the code
that ran (``studies/check_power.py`` plants one in a temporary copy, to show that CI's check catches
it), so that the slowed rounds of a power study can never be read as vecbench's speed. Empty in
every real run, and in rows of older files. It also added ``parameter_shapes``, the shape of every
trainable parameter as the backend held it (what the articles' shape claims are decided by), and
``blind_spots``: the tensors whose verification bound reached 1% (a 1% fault in them would have
passed), so that the report can say so.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import UsageError

SCHEMA_VERSION = 6

# column -> (pandas dtype, meaning). The README's schema table is generated from the same words.
COLUMNS: dict[str, tuple[str, str]] = {
    "schema_version": ("int64", "version of this schema"),
    "run_id": ("string", "one id per `bench run` invocation"),
    "timestamp": ("datetime64[us, UTC]", "when the case started (UTC)"),
    "profile": ("string", "quick, default, full, or custom"),
    "model": ("string", "mlp, resnet50, or the harness's own: peak (machine peak GEMM or copy), noop (harness overhead)"),
    "config": ("string", "named configuration, e.g. mlp-mnist, resnet50-224, gemm-float32-2048, gemm-tf32-8192, "
                         "copy-1024MiB"),
    "backend": ("string", "loops, numba, numpy, torch-cpu, torch-cuda, torch-cuda-amp, torch-cuda-compile, "
                          "torch-cuda-graphs, or a plug-in's name (noop: none)"),
    "dtype": ("string", "float32 or float64 (the master weights' dtype); peaks also bfloat16"),
    "threads": ("int64", "threads the case ran with (BLAS via threadpoolctl, torch.set_num_threads, numba.set_num_threads)"),
    "batch_size": ("int64", "samples per training step"),
    "resolution": ("Int64", "image side in pixels for image models, null otherwise"),
    "round": ("Int64", "index of the timed round within its case and run, 0-based; null for failed or skipped cases"),
    "iterations": ("Int64", "calls per round; `seconds` is the round's time divided by this"),
    "seconds": ("float64", "seconds per training step in this round (NaN unless status is ok)"),
    "flops": ("int64", "analytic FLOPs of one training step, one per multiply and one per add"),
    "macs": ("int64", "multiply-adds in the step's matrix products and convolutions"),
    "timing_mode": ("string", "calibrated (iterations per round picked so a round lasts min_time), pedantic (one "
                              "call per round, for steps over 0.25 s) or instrumented (a part of one step, timed "
                              "between the marks its backend reported)"),
    "verification": ("string", "before (checked before timing), timed-round (checked from the timed round), none"),
    "verified_max_rel_error": ("float64", "largest ||x - ref|| / ||ref|| over the loss and every gradient vs torch float64"),
    "tolerance": ("float64", "the bound verified_max_rel_error had to meet"),
    "loss": ("float64", "loss of the step that was verified"),
    "status": ("string", "ok, failed (verification or run error: never timed) or skipped (e.g. no GPU)"),
    "error": ("string", "why a case failed or was skipped; empty when ok"),
    "hostname": ("string", "machine name"),
    "cpu": ("string", "CPU brand string"),
    "cores": ("int64", "logical CPU cores"),
    "gpu": ("string", "GPU name, empty when none"),
    "python": ("string", "Python version"),
    "numpy": ("string", "NumPy version"),
    "torch": ("string", "PyTorch version"),
    "blas": ("string", "BLAS libraries NumPy and torch load (threadpoolctl)"),
    "platform": ("string", "operating system and architecture"),
    "git_commit": ("string", "commit of vecbench that ran, with -dirty if modified"),
    # -- added in schema_version 2 (null in rows of version-1 files) --
    "precision": ("string", "what verification's tolerance was chosen for: float64, float32, tf32 (float32 with TF32 "
                            "products on the GPU) or bfloat16 (autocast); empty where not verified"),
    "tf32_matmul": ("boolean", "float32 matmuls may use TF32 (torch.backends.cuda.matmul.allow_tf32 or "
                               "float32 matmul precision not highest); null off the GPU"),
    "tf32_cudnn": ("boolean", "cuDNN convolutions may use TF32 (torch.backends.cudnn.allow_tf32); null off the GPU"),
    "cudnn_benchmark": ("boolean", "cuDNN autotuned its algorithms (torch.backends.cudnn.benchmark); null off the GPU"),
    "warmup_steps": ("Int64", "untimed calls just before this round's block (its warm-up); GPU rungs: plus 5 steps "
                              "after verification (version 2: GPU rungs only, 0 otherwise)"),
    "compile_seconds": ("float64", "seconds of compiling, kept out of `seconds`: the first call through torch.compile "
                                   "(compiling plus one step), or numba's kernels for the case's dtype when its "
                                   "trainer was built (compiling them, or loading them from numba's disk cache; near "
                                   "0 once an earlier case of the run has); NaN unless compiled"),
    "bytes": ("Int64", "bytes read plus bytes written per call (the copy peak); 0 otherwise"),
    # -- added in schema_version 3 (null in rows of older files) --
    "repeat": ("Int64", "the block this round belongs to, 0-based: a case is timed in several blocks (repeats), "
                        "interleaved with its config's other cases; null for failed or skipped cases"),
    "cpu_seconds": ("float64", "CPU time of the process per call in this round, every thread (NaN unless ok)"),
    "run_wait": ("float64", "seconds the process's threads waited for a CPU while ready to run, per second of this "
                            "round's block (scheduler run_delay; NaN: unknown)"),
    "steal": ("float64", "fraction of the machine's CPU time taken by the hypervisor during this round's block "
                         "(NaN: unknown)"),
    "contended": ("boolean", "the round did not have the machine to itself (bench/contention.py's rule); readers "
                             "leave it out of every statistic"),
    # -- added in schema_version 4 (filled with "step" in rows of older files) --
    "part": ("string", "what `seconds` times: step (the whole training step: every round of a measurement), or a "
                       "part of one instrumented ResNet step: '<stage> forward', '<stage> backward' (stages stem, "
                       "layer1..layer4, head) or update"),
    # -- added in schema_version 5 (NaN in rows of older files) --
    "capture_seconds": ("float64", "seconds of making a CUDA graph of the whole step, kept out of `seconds`: the "
                                   "warm-up steps before capture (less the first compiled call, `compile_seconds`), "
                                   "saving and restoring the weights and momentum they changed, and the capture "
                                   "(torch-cuda-graphs; off the GPU the warm-up and restore alone); NaN otherwise"),
    # -- added in schema_version 6 (empty in rows of older files) --
    "planted": ("string", "the fault planted on purpose in the code that ran (a power study's slowed copy: the "
                          "tree's PLANTED file, written by studies/check_power.py; or the runner's test hook "
                          "VECBENCH_TEST_SLOWDOWN); these rows measure deliberately broken code. Empty in every real "
                          "run"),
    "parameter_shapes": ("string", "every trainable parameter as the backend held it after verification: 'name RxC' "
                                   "joined by '; ' (e.g. 'fc1.weight 3x4; fc1.bias 3'); empty where not verified"),
    "blind_spots": ("string", "tensors whose verification bound reached 1% or more (a float32 floor, or a low "
                              "precision's tolerance), so that a 1% fault in them would pass (bench/verify.py, "
                              "Verifier.blind_spots), comma-separated; empty where none or not verified"),
}
ADDED_IN_V2 = ("precision", "tf32_matmul", "tf32_cudnn", "cudnn_benchmark", "warmup_steps", "compile_seconds", "bytes")
ADDED_IN_V3 = ("repeat", "cpu_seconds", "run_wait", "steal", "contended")
ADDED_IN_V4 = ("part",)
ADDED_IN_V5 = ("capture_seconds",)
ADDED_IN_V6 = ("planted", "parameter_shapes", "blind_spots")
_ADDED = {2: ADDED_IN_V2, 3: ADDED_IN_V3, 4: ADDED_IN_V4, 5: ADDED_IN_V5, 6: ADDED_IN_V6}
# the columns a file of each version must have: all but those a later version added
REQUIRED_BY_VERSION = {
    version: tuple(c for c in COLUMNS if not any(c in _ADDED[later] for later in _ADDED if later > version))
    for version in range(1, SCHEMA_VERSION + 1)
}
WHOLE_STEP = "step"  # the ``part`` of a round that times the whole training step
REQUIRED = REQUIRED_BY_VERSION[SCHEMA_VERSION]

STATUSES = ("ok", "failed", "skipped")
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def empty_frame() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, (dtype, _) in COLUMNS.items()})


def _with_schema_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every column of the schema (absent ones null), in the schema's dtypes."""
    for name, (dtype, _) in COLUMNS.items():
        if name not in frame.columns:
            frame[name] = pd.Series([None] * len(frame), index=frame.index, dtype="object")
        if dtype.startswith("datetime64"):
            frame[name] = pd.to_datetime(frame[name], utc=True).astype(dtype)
        elif dtype == "float64":
            frame[name] = pd.to_numeric(frame[name]).astype(dtype)
        else:
            frame[name] = frame[name].astype(dtype)
    return frame


def to_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows as a DataFrame with the schema's dtypes, in schema order.

    Every row needs every version-1 column; the columns added later are null where a row leaves
    them out (failed and skipped cases, peaks that are not a training step).
    """
    missing = [c for c in REQUIRED_BY_VERSION[1] if any(c not in row for row in rows)]
    if missing:
        raise ValueError(f"result rows lack columns {sorted(set(missing))}")
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return _with_schema_dtypes(frame)[list(COLUMNS)]


def read_file(path: Path) -> pd.DataFrame:
    """One results file, validated. UsageError with one line when it is unusable."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise UsageError(f"{path}: not a readable parquet file ({exc.__class__.__name__}: {exc})") from None
    names = set(table.column_names)
    if "schema_version" not in names:
        raise UsageError(f"{path}: not a vecbench results file (no schema_version column)")
    frame = table.to_pandas()
    try:
        versions = set(int(v) for v in frame["schema_version"].dropna().unique())
    except (ValueError, TypeError):
        raise UsageError(f"{path}: schema_version holds something other than integers") from None
    newer = sorted(v for v in versions if v > SCHEMA_VERSION)
    if newer:
        raise UsageError(
            f"{path}: written with schema_version {newer[-1]}, newer than this vecbench reads "
            f"(up to {SCHEMA_VERSION}); update vecbench"
        )
    required = REQUIRED_BY_VERSION[max(versions, default=SCHEMA_VERSION)]
    missing = [c for c in required if c not in names]
    if missing:
        raise UsageError(f"{path}: results file lacks required column(s) {', '.join(missing)}")
    # an older file: the columns later versions added are filled with nulls, dtypes as the schema's;
    # every row of a file before version 4 timed the whole step
    if "part" not in names:
        frame["part"] = WHOLE_STEP
    for name in ADDED_IN_V6:
        if name not in names:
            frame[name] = ""
    try:
        frame = _with_schema_dtypes(frame)
    except (ValueError, TypeError, OverflowError, pa.ArrowException) as exc:
        raise UsageError(f"{path}: a column holds values of the wrong type ({exc.__class__.__name__}: "
                         f"{' '.join(str(exc).split())[:120]})") from None
    bad_status = set(frame["status"].dropna().unique()) - set(STATUSES)
    if bad_status:
        raise UsageError(f"{path}: unknown status value(s) {sorted(bad_status)}; accepted: {', '.join(STATUSES)}")
    return frame


def collect_files(paths: list[str | Path]) -> list[Path]:
    """Parquet files named directly or found (recursively) in the folders named."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.parquet") if p.is_file())
            if not found:
                raise UsageError(f"{path}: folder holds no .parquet results files")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    return files


def read_results(paths: list[str | Path]) -> pd.DataFrame:
    """Every row of every results file named (files or folders), with a ``source_file`` column."""
    frames = []
    for path in collect_files(paths):
        frame = read_file(path)
        if frame.empty:
            raise UsageError(f"{path}: holds no rows (a results file with the right columns and nothing in them)")
        frame["source_file"] = str(path)
        frames.append(frame)
    if not frames:
        raise UsageError("no results files given")
    return pd.concat(frames, ignore_index=True)


class ResultsWriter:
    """Appends rows to one parquet file; any number of writers, in any number of processes, may share it.

    Every append takes an exclusive lock (``filelock``: a ``.<name>.lock`` file beside the results,
    released by the operating system when its holder dies, SIGKILL included), reads what is on disk
    now (other writers' rows with it), adds its own rows, writes a temporary file in the same folder
    and replaces the target with ``os.replace``. So no writer's rows are lost, a reader never sees
    a half-written file, and a run stopped at any moment leaves every finished append behind. An
    existing file is validated first: a run never truncates or overwrites foreign data.
    """

    LOCK_TIMEOUT = 300.0  # seconds a writer waits for another's append before giving up

    def __init__(self, path: str | Path):
        from filelock import FileLock  # noqa: PLC0415  (installed with torch; imported only by writers)

        self.path = Path(path)
        if self.path.exists() and self.path.is_dir():
            raise UsageError(f"{self.path}: is a folder; --out takes a .parquet file path")
        if self.path.suffix != ".parquet":
            raise UsageError(f"{self.path}: --out must end in .parquet")
        self._check_writable()
        self._lock = FileLock(str(self.path.parent / f".{self.path.name}.lock"), timeout=self.LOCK_TIMEOUT)
        with self._locked():
            if self.path.exists():
                read_file(self.path)  # refuse a corrupt, foreign or newer file before anything runs

    def _check_writable(self) -> None:
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".vecbench-probe-"):
                pass
        except OSError as exc:
            raise UsageError(f"{self.path}: cannot write results there ({exc.strerror or exc})") from None

    @contextmanager
    def _locked(self):
        from filelock import Timeout  # noqa: PLC0415

        try:
            self._lock.acquire()
        except Timeout:
            raise UsageError(f"{self.path}: another writer has held its lock for {self.LOCK_TIMEOUT:.0f} s; is a run "
                             "stuck?") from None
        try:
            yield
        finally:
            self._lock.release()

    def append(self, rows: list[dict]) -> None:
        if not rows:
            return
        new = to_frame(rows)
        with self._locked():
            current = read_file(self.path) if self.path.exists() else empty_frame()
            frame = pd.concat([f for f in (current, new) if len(f)], ignore_index=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
            os.close(fd)
            try:
                frame.to_parquet(tmp, index=False)
                os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it private; a results file is for everyone to read
                os.replace(tmp, self.path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)

    def frame(self) -> pd.DataFrame:
        """The whole file as it is now (every writer's rows)."""
        with self._locked():
            return read_file(self.path) if self.path.exists() else empty_frame()

"""The results file: reading and writing parquet files of rows of the schema (``bench.schema``).

Readers accept any file whose version is at most theirs and which has every column its version
requires; columns added by a later version are filled with nulls.
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
from .schema import (ADDED_IN_V6, COLUMNS, REQUIRED, REQUIRED_BY_VERSION, SCHEMA_VERSION, STATUSES,  # noqa: F401
                     WHOLE_STEP, Round)

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


def to_frame(rows: list[Round | dict]) -> pd.DataFrame:
    """Rows (``Round`` records, or dicts of columns) as a DataFrame with the schema's dtypes, in
    schema order.

    Every row needs every version-1 column; the columns added later are null where a dict leaves
    them out. A key that is not a column is an error (pandas would drop it, and the column it
    misspells would go null unseen).
    """
    rows = [row.as_row() if isinstance(row, Round) else row for row in rows]
    unknown = sorted({key for row in rows for key in row} - set(COLUMNS))
    if unknown:
        raise ValueError(f"result rows have fields that are not columns of the schema: {', '.join(unknown)}")
    missing = [c for c in REQUIRED_BY_VERSION[1] if any(c not in row for row in rows)]
    if missing:
        raise ValueError(f"result rows lack columns {sorted(set(missing))}")
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return _with_schema_dtypes(frame)[list(COLUMNS)]


def _legacy_sweep_width(config) -> int | None:
    """N of ``mlp-width-N`` for a row written before version 7 recorded it; None for other configs."""
    tail = str(config).removeprefix("mlp-width-")
    return int(tail) if str(config).startswith("mlp-width-") and tail.isdigit() else None


def newest_in(folder: Path, suffix: str, what: str) -> Path:
    """The newest ``*suffix`` file of a study's folder (a machine kind's: its files are named by their
    start, UTC, so their names sort by time); UsageError naming ``what`` when there is none."""
    found = sorted(folder.glob(f"*{suffix}"))
    if not found:
        raise UsageError(f"no {what} in {folder}")
    return found[-1]


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
    if "sweep_width" not in names:  # before version 7 the sweep's width was only in the name
        frame["sweep_width"] = frame["config"].map(_legacy_sweep_width)
    for name in ("world_size", "nodes"):  # before version 8 every step ran in one process
        if name not in names:
            frame[name] = 1
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

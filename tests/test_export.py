"""bench export: results as pytest-benchmark JSON (read by pytest-benchmark compare) and CSV."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.cli import main
from tests.test_report import MACHINES, Results, fill

pytest_benchmark = pytest.importorskip("pytest_benchmark")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    results = Results()
    fill(results)
    folder = tmp_path_factory.mktemp("results")
    for host in MACHINES:
        results.write(folder / f"{host}.parquet", [row for row in results.rows if row["hostname"] == host])
    out = tmp_path_factory.mktemp("export")
    assert main(["export", str(folder), "--out", str(out)]) == 0
    return results, out


def test_one_json_per_machine_and_every_ok_case_once(exported):
    results, out = exported
    files = sorted(p.name for p in out.glob("*.json"))
    assert files == ["test-cpu-a-4-cores.json", "test-gpu-test-cpu-b-8-cores.json"]
    names = {json.loads((out / f).read_text())["machine_info"]["node"]: f for f in files}
    assert set(names) == set(MACHINES)
    for host, name in names.items():
        document = json.loads((out / name).read_text())
        expected = {(config, batch, backend, dtype, threads) for (machine, config, backend, dtype, threads, batch)
                    in results.seconds if machine == host}
        got = {(b["group"].split("@")[0], int(b["group"].split("@")[1]), *b["extra_info"]["case"]) for b in
               document["benchmarks"]}
        assert got == expected


def test_the_stats_agree_with_pytest_benchmarks_own_on_the_same_rounds(exported):
    """min, max, mean, stddev, median, rounds, total and ops computed by pytest-benchmark's own Stats
    from the exported data equal the exported ones, and the data are the fixture's rounds."""
    from pytest_benchmark.stats import Stats

    results, out = exported
    document = json.loads((out / "test-cpu-a-4-cores.json").read_text())
    bench = next(b for b in document["benchmarks"] if b["group"] == "mlp-mnist@32"
                 and b["extra_info"]["case"] == ["numpy", "float32", 4])
    assert bench["stats"]["data"] == sorted(results.seconds[("lab-a", "mlp-mnist", "numpy", "float32", 4, 32)])
    theirs = Stats()
    for value in bench["stats"]["data"]:
        theirs.update(value)
    for field in ("min", "max", "mean", "stddev", "median", "rounds", "total", "ops"):
        assert bench["stats"][field] == pytest.approx(getattr(theirs, field), rel=1e-12), field


def test_pytest_benchmark_compare_reads_the_export(exported):
    _, out = exported
    compare = Path(sys.executable).with_name("pytest-benchmark")
    done = subprocess.run([str(compare), "compare", str(out / "test-cpu-a-4-cores.json"), "--columns=median,rounds",
                           "--group-by=group"], capture_output=True, text=True, cwd=out, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "benchmark 'mlp-mnist@32'" in done.stdout and "numpy float32 4 threads" in done.stdout


def test_the_csv_has_a_row_per_case_with_its_median(exported):
    results, out = exported
    with (out / "cases.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(results.seconds)
    row = next(r for r in rows if r["group"] == "mlp-mnist@32" and r["name"] == "numpy float32 4 threads")
    assert float(row["median"]) == np.median(results.seconds[("lab-a", "mlp-mnist", "numpy", "float32", 4, 32)])


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    not_results = tmp_path / "notes.parquet"
    not_results.write_text("not parquet")
    assert main(["export", str(not_results), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a readable parquet file" in err

"""Backends as plug-ins: a package installed beside vecbench adds a backend through the
``vecbench.backends`` entry point, and the harness verifies and times it like any other."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench.results import read_results

ROOT = Path(__file__).resolve().parents[1]

# A tiny third-party backend: the numpy layers under another name, and a copy whose loss is 1% off.
PLUGIN = '''
from importlib import import_module

from implementations import architecture
from implementations.registry import Backend
from implementations.trainer import HandwrittenTrainer

KIT = import_module("implementations.numpy_vectorized.backend")


class OnePercentOff:
    def __init__(self, trainer):
        self.trainer = trainer

    def __getattr__(self, name):
        return getattr(self.trainer, name)

    def last_loss_and_grads(self):
        loss, grads = self.trainer.last_loss_and_grads()
        return loss * 1.01, grads


def build(model, spec, params, dtype, sgd, device=None):
    return HandwrittenTrainer(KIT, architecture(model), spec, params, dtype, sgd)


def build_wrong(*args, **kwargs):
    return OnePercentOff(build(*args, **kwargs))


BACKEND = Backend("tiny-plugin", "cpu", ("float64",), build)
WRONG = Backend("tiny-plugin-wrong", "cpu", ("float64",), build_wrong)
'''
ENTRY_POINTS = """
[vecbench.backends]
tiny-plugin = vb_tiny_plugin:BACKEND
tiny-plugin-wrong = vb_tiny_plugin:WRONG
broken-plugin = vb_tiny_plugin:DOES_NOT_EXIST
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A folder on PYTHONPATH holding the plug-in package and its installed metadata, as pip leaves it."""
    root = tmp_path_factory.mktemp("site")
    (root / "vb_tiny_plugin.py").write_text(PLUGIN)
    info = root / "vb_tiny_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vb-tiny-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(ENTRY_POINTS))
    return root


def bench(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def test_a_plugin_backend_is_listed_and_a_broken_one_is_named(site):
    done = bench(site, "list")
    assert done.returncode == 0
    line = next(l for l in done.stdout.splitlines() if l.startswith("backends:"))
    assert line.endswith("torch-cuda-graphs, tiny-plugin, tiny-plugin-wrong")
    assert "backend plug-in 'broken-plugin' left out: AttributeError" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_plugin_backend_is_verified_and_timed(site, tmp_path):
    out = tmp_path / "r.parquet"
    done = bench(site, "run", "--profile", "quick", "--models", "mlp-tiny", "--backends", "tiny-plugin",
                 "tiny-plugin-wrong", "--out", str(out), "--no-progress")
    assert done.returncode == 1, done.stderr  # the wrong one failed verification
    frame = read_results([out])
    right = frame[frame["backend"] == "tiny-plugin"]
    assert set(right["status"]) == {"ok"} and len(right) >= 3 and (right["seconds"] > 0).all()
    assert (right["verification"] == "before").all()
    assert (right["verified_max_rel_error"] <= right["tolerance"]).all()
    wrong = frame[frame["backend"] == "tiny-plugin-wrong"]
    assert len(wrong) >= 1 and set(wrong["status"]) == {"failed"}  # one row per thread count, never timed
    assert all(e.startswith("loss differs from torch float64") for e in wrong["error"])
    assert wrong["seconds"].isna().all()

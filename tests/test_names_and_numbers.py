"""The one number formatter and the names every reader prints for machines and cases."""

from __future__ import annotations

import math

import pytest

from bench.formatting import first_names, number, seconds, times
from bench.keys import CaseKey, MachineKey


@pytest.mark.parametrize("value, text", [
    (4.412, "4.41"), (96.34, "96.3"), (952.4, "952"), (1829.4, "1,829"), (760429.0, "760,429"), (0.00718, "0.00718"),
])
def test_a_number_has_three_significant_digits_and_whole_thousands(value, text):
    assert number(value) == text


def test_a_multiplier_is_a_number_with_its_sign():
    assert times(1228.4) == "1,228×" and times(0.626) == "0.626×"
    assert times(math.nan) == "-" and number(math.inf) == "-"


@pytest.mark.parametrize("value, text", [(2e-7, "200 ns"), (8.94e-5, "89.4 µs"), (0.0478, "47.8 ms"), (653.0, "653 s"),
                                         (1234.0, "1,234 s")])
def test_a_time_has_a_unit_a_reader_takes_in(value, text):
    assert seconds(value) == text


def test_a_long_list_of_names_shows_five_and_says_there_are_more():
    names = [f"case{k}" for k in range(7)]
    assert first_names(names[:5]) == "case0, case1, case2, case3, case4"
    assert first_names(names) == "case0, case1, case2, case3, case4, ..."
    assert first_names(names, shown=2) == "case0, case1, ..." and first_names([]) == ""


def test_a_machine_is_named_by_its_cpu_and_a_gpu_machine_by_its_gpu_first():
    assert MachineKey("AMD EPYC", 2).label == "AMD EPYC, 2 cores"
    assert MachineKey("Intel(R) Xeon(R) Processor", 2).label == "Intel Xeon, 2 cores"
    gpu = MachineKey("Intel(R) Xeon(R) Processor", 16, "NVIDIA H100 80GB HBM3")
    assert gpu.label == "NVIDIA H100 80GB HBM3 (Intel Xeon, 16 cores)"


def test_a_gpu_case_is_not_told_apart_by_the_hosts_threads():
    cpu = CaseKey("mlp", "mlp-mnist", "numpy", "float32", 2, 32)
    gpu = CaseKey("mlp", "mlp-mnist", "torch-cuda-amp", "float32", 16, 32)
    assert cpu.short == "numpy float32 2 threads"
    assert gpu.short == "torch-cuda-amp float32"

"""Smoke test of bench/: every benchmark runs at tiny size (--quick) and returns the table it promises.

No timing is asserted: on a shared machine absolute times are noise, and at tiny sizes so are the
ratios. The benchmarks read real MNIST, so this skips where there is none.
"""

import importlib
import math

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

EXPECTED_COLUMNS = {
    "throughput": ["device", "model", "configuration", "batch", "steps", "images/s", "images/s min–max",
                   "speed-up"],
    "time_to_accuracy": ["device", "model", "precision", "target", "eval every", "runs reaching it",
                         "seconds to target", "seconds min–max", "step", "epoch", "test accuracy there",
                         "final test accuracy"],
    "pairs_build": ["approach", "pairs", "pairs timed", "seconds", "seconds min–max", "set MB", "peak MB",
                    "time vs labkit", "memory vs labkit"],
    "eval_overhead": ["device", "lab", "model", "train items", "test items", "steps", "setting", "eval every",
                      "evaluations", "train seconds", "seconds min–max", "vs end only"],
    "notebooks": ["notebook", "code cells", "seconds", "status"],
    "precision": ["device", "model", "batch", "steps timed", "fp32 ms", "bf16 ms", "bf16 / fp32", "auto picks",
                  "faster"],
    "step_test_cost": ["device", "lab", "model", "precision", "train items", "test items", "steps timed",
                       "train step ms", "step test ms", "step test / train step", "whole set ms",
                       "whole set / train step", "fit step ms"],
}


@pytest.fixture(scope="module")
def runner(real_mnist_root):
    return importlib.import_module("bench.__main__")


@pytest.fixture(scope="module")
def results(runner):
    """Every benchmark once, quick, shared by the tests below."""
    return runner.run_all(list(runner.BENCHMARKS), quick=True)


@pytest.mark.parametrize("name", list(EXPECTED_COLUMNS))
def test_quick_run_returns_its_table_of_finite_positive_numbers(results, name):
    table, reading = results[name]
    assert isinstance(table, pd.DataFrame) and len(table) > 0
    assert list(table.columns) == EXPECTED_COLUMNS[name]
    numeric = table.select_dtypes("number")
    assert not numeric.empty
    for column in numeric:
        values = numeric[column].tolist()
        assert all(math.isfinite(v) and v > 0 for v in values), f"{name}: {column} = {values}"
    assert isinstance(reading, str) and reading.strip()


def test_throughput_measures_both_labkit_configurations(results):
    table, _ = results["throughput"]
    for _, rows in table.groupby(["device", "model"]):
        kinds = rows["configuration"].tolist()
        assert kinds[0].startswith("conventional") and rows["speed-up"].iloc[0] == 1
        assert any("same settings" in k for k in kinds) and any("default recipe" in k for k in kinds)


def test_notebook_run_succeeds(results):
    assert (results["notebooks"][0]["status"] == "ok").all()


def test_report_has_the_machine_and_one_section_per_benchmark(runner, results, tmp_path):
    from bench.common import machine

    path = tmp_path / "results.md"
    runner.write_atomically(path, runner.report(machine(), runner.sections_for(results), 1.0))
    text = path.read_text()
    for key in ("date", "cpu", "cores", "torch", "device"):
        assert f"| {key} |" in text
    for number, title in enumerate(runner.BENCHMARKS.values(), 1):
        assert f"## {number}. {title}" in text
    assert text.count("**Reading:**") == len(EXPECTED_COLUMNS)
    assert [p.name for p in tmp_path.iterdir()] == ["results.md"]  # no temporary file left behind


def test_timing_and_markdown_table():
    from bench.common import Timing, markdown_table

    timing = Timing((3.0, 1.0, 2.0))
    assert (timing.median, timing.low, timing.high) == (2.0, 1.0, 3.0)
    assert timing.spread() == "1–3" and timing.spread(6, rate=True) == "2–6"
    table = markdown_table(pd.DataFrame({"name": ["a|b"], "images/s": [12345.6], "ratio": [3.14159]}))
    assert table.splitlines() == ["| name | images/s | ratio |", "| --- | ---: | ---: |", "| a\\|b | 12,346 | 3.142 |"]


def test_precision_reports_the_cpu_and_the_auto_choice(results):
    from labkit.env import cpu_capability, cpu_model, precision_name, resolve_bf16

    table, reading = results["precision"]
    assert set(table["auto picks"]) <= {"fp32", "bf16"} and set(table["faster"]) <= {"fp32", "bf16"}
    assert table["auto picks"].iloc[0] == precision_name(resolve_bf16("auto", "cpu"))
    assert cpu_model() in reading and cpu_capability() in reading and "auto picks" in reading


def test_step_test_cost_has_both_labs_the_ratios_and_the_cpu(results):
    from labkit.env import cpu_capability, cpu_model, precision_name, resolve_bf16

    table, reading = results["step_test_cost"]
    cpu = table[table["device"].str.startswith("cpu")]
    assert set(cpu["lab"]) == {"A: digits", "B: pairs"} and set(cpu["model"]) >= {"plain_cnn", "siamese"}
    assert (cpu["precision"] == precision_name(resolve_bf16("auto", "cpu"))).all()
    for row in table.to_dict("records"):
        assert row["step test / train step"] == pytest.approx(row["step test ms"] / row["train step ms"])
        assert row["whole set / train step"] == pytest.approx(row["whole set ms"] / row["train step ms"])
    assert cpu_model() in reading and cpu_capability() in reading

"""Smoke test of bench/: every benchmark runs at tiny size (--quick) and returns the table it promises; the report's
blocks and the simulated AVX2 re-execution.

No timing is asserted: on a shared machine absolute times are noise, and at tiny sizes so are the
ratios. The benchmarks read real MNIST, so those tests skip where there is none.
"""

import importlib
import json
import math
import os
import subprocess
import sys

import nbformat
import pandas as pd
import pytest

pytestmark = pytest.mark.slow

EXPECTED_COLUMNS = {
    "throughput": ["device", "model", "configuration", "batch", "steps", "images/s", "images/s min–max",
                   "speed-up"],
    "time_to_accuracy": ["device", "model", "recipe", "precision", "target", "eval every", "runs reaching it",
                         "seconds to target", "seconds min–max", "step", "epoch", "test accuracy there",
                         "final test accuracy"],
    "precision": ["device", "model", "batch", "steps timed", "fp32 ms", "bf16 ms", "bf16 / fp32", "auto picks",
                  "faster"],
    "notebooks": ["profile", "precision asked", "notebook", "code cells", "seconds", "runs' precision",
                  "train seconds", "requirements", "status"],
}


@pytest.fixture(scope="module")
def runner():
    return importlib.import_module("bench.__main__")


@pytest.fixture(scope="module")
def results(runner, real_mnist_root):
    """Every benchmark once, quick, shared by the tests below."""
    return runner.run_all(list(runner.BENCHMARKS), quick=True)


def test_the_benchmarks_are_the_four_a_user_cares_about(runner):
    assert list(runner.BENCHMARKS) == list(EXPECTED_COLUMNS)


@pytest.mark.parametrize("name", list(EXPECTED_COLUMNS))
def test_quick_run_returns_its_table_of_finite_positive_numbers(results, name):
    table, reading = results[name]
    assert isinstance(table, pd.DataFrame) and len(table) > 0
    assert list(table.columns) == EXPECTED_COLUMNS[name]
    numeric = table.select_dtypes("number")
    assert not numeric.empty
    for column in numeric:
        values = numeric[column].tolist()
        if column == "train seconds" and name == "notebooks":  # the one-cell notebook trains nothing
            continue
        assert all(math.isfinite(v) and v > 0 for v in values), f"{name}: {column} = {values}"
    assert isinstance(reading, str) and reading.strip()


def test_throughput_measures_both_labkit_configurations(results):
    table, _ = results["throughput"]
    for _, rows in table.groupby(["device", "model"]):
        kinds = rows["configuration"].tolist()
        assert kinds[0].startswith("conventional") and rows["speed-up"].iloc[0] == 1
        assert any("same settings" in k for k in kinds) and any("default recipe" in k for k in kinds)
        assert any("other precision" in k for k in kinds)  # the precision "auto" did not pick, beside it


def test_notebook_run_succeeds(results):
    assert (results["notebooks"][0]["status"] == "ok").all()


def test_precision_reports_the_cpu_and_the_auto_choice(results):
    from labkit.env import auto_precision, cpu_capability, cpu_model

    table, reading = results["precision"]
    assert set(table["auto picks"]) <= {"fp32", "bf16"} and set(table["faster"]) <= {"fp32", "bf16"}
    assert table["auto picks"].iloc[0] == auto_precision("cpu")
    assert cpu_model() in reading and cpu_capability() in reading and "auto picks" in reading
    assert "bf16 flags" in reading and "oneDNN bf16" in reading


def test_fit_step_is_timed_inside_fit_in_the_precision_asked(real_mnist_root):
    import torch

    from bench.precision import fit_step_ms

    for precision in ("fp32", "bf16"):
        assert fit_step_ms("siamese", torch.device("cpu"), precision, warmup=1, timed=2) > 0


def test_report_is_one_block_with_the_machine_and_one_section_per_benchmark(runner, results, tmp_path):
    from bench.common import machine, write_block

    path = tmp_path / "results.md"
    sections = runner.sections_for(results, "this CPU, today", {})
    write_block(path, runner.block_key(), runner.report(machine(), sections, 1.0), runner.HEADER)
    text = path.read_text()
    assert text.startswith("# labkit benchmarks\n") and "<!-- block native: begin -->" in text
    for key in ("date", "cpu", "cpu capability", "precision auto picks on the cpu", "cores", "torch", "device"):
        assert f"| {key} |" in text
    for number, title in enumerate(runner.BENCHMARKS.values(), 1):
        assert f"### {number}. {title}" in text
    assert text.count("**Reading:**") == len(EXPECTED_COLUMNS)
    assert [p.name for p in tmp_path.iterdir()] == ["results.md"]  # no temporary file left behind


def test_a_run_of_some_benchmarks_keeps_the_sections_an_earlier_run_measured(runner, tmp_path):
    from bench.common import write_block

    path = tmp_path / "results.md"
    first = runner.sections_for({}, "", {})  # nothing measured: every section says how to run it
    first[0] = "### 1. Training throughput, lab A — old CPU, 2026-01-01\n\nmeasured rows\n"
    write_block(path, "native", "## Native\n\n" + "\n".join(first), "# Header\n")
    kept = runner.earlier_sections(path, "native")
    assert list(kept) == [1] and "measured rows" in kept[1]  # sections that were "Not run" are not kept
    again = runner.sections_for({}, "new CPU, today", kept)
    assert again[0].startswith("### 1. Training throughput, lab A — old CPU, 2026-01-01")
    assert all("Not run in this report" in text for text in again[1:])


def test_a_block_replaces_only_itself(tmp_path):
    from bench.common import write_block

    path = tmp_path / "results.md"
    write_block(path, "native", "## Native\n\nfirst", "# Header\n")
    write_block(path, "simulated-avx2", "## Simulated AVX2\n\nrows", "# Header\n")
    write_block(path, "native", "## Native\n\nsecond", "# Header\n")
    text = path.read_text()
    assert text.startswith("# Header\n") and "first" not in text and text.count("second") == 1
    assert text.index("second") < text.index("Simulated AVX2") and text.count("rows") == 1
    assert text.count("<!-- block native: begin -->") == 1 and text.endswith("<!-- block simulated-avx2: end -->\n")


def test_timing_and_markdown_table():
    from bench.common import Timing, markdown_table

    timing = Timing((3.0, 1.0, 2.0))
    assert (timing.median, timing.low, timing.high) == (2.0, 1.0, 3.0)
    assert timing.spread() == "1–3" and timing.spread(6, rate=True) == "2–6"
    table = markdown_table(pd.DataFrame({"name": ["a|b"], "images/s": [12345.6], "ratio": [3.14159]}))
    assert table.splitlines() == ["| name | images/s | ratio |", "| --- | ---: | ---: |", "| a\\|b | 12,346 | 3.142 |"]


def test_time_to_accuracy_reads_each_device_against_its_own_goal_with_its_fastest_fp32_recipe():
    from bench.time_to_accuracy import COLUMNS, CONVENTIONAL, reading

    def row(device, recipe, precision, seconds, reached="3/3"):
        return dict(zip(COLUMNS, [device, "plain_cnn", recipe, precision, 0.99, 100, reached, seconds, "", 1500, 4,
                                  0.991, 0.9925]))

    cpu, gpu, other = "cpu (2 threads)", "cuda (NVIDIA H200)", "mps"
    text = reading(pd.DataFrame([
        row(cpu, "01's recipe", "fp32", 32.5), row(cpu, "2 epochs, batch 256", "fp32", 9.5),
        row(cpu, "01's recipe", "bf16", 8.0),  # faster, but the goal is stated in fp32
        row(cpu, CONVENTIONAL, "fp32", 95.0),
        row(gpu, "01's recipe", "fp32", 3.6), row(gpu, "2 epochs, batch 512", "fp32", float("nan"), "2/3"),
        row(gpu, CONVENTIONAL, "fp32", 20.0),
        row(other, "01's recipe", "fp32", 2.0), row(other, CONVENTIONAL, "fp32", float("nan"), "0/3"),
    ])).splitlines()
    assert text[0].startswith("Goal ≤ 10 s") and ": met, fastest fp32 recipe 2 epochs, batch 256" in text[0]
    assert "10.0x faster than the conventional loop (95.0 s)" in text[0] and "bf16: 8.0 s" in text[0]
    assert text[1].startswith("Goal ≤ 1 s") and "not met, fastest fp32 recipe 01's recipe" in text[1]
    assert "2 epochs, batch 512, fp32: not reached in every run (2/3" in text[1]
    assert text[2].startswith("No goal for this device") and "measured" in text[2] and "x faster" not in text[2]


def test_time_to_accuracy_takes_the_first_evaluation_at_the_target():
    from bench.time_to_accuracy import first_hit

    hit = first_hit([1.0, 2.0, 3.0], [100, 200, 300], [1, 1, 2], [0.98, 0.991, 0.995], 0.99, final=0.993)
    assert hit == {"seconds": 2.0, "step": 200, "epoch": 1, "accuracy": 0.991, "final": 0.993}
    missed = first_hit([1.0, 2.0], [100, 200], [1, 1], [0.98, 0.989], 0.99, final=0.989)
    assert math.isnan(missed["seconds"]) and math.isnan(missed["step"]) and missed["final"] == 0.989


# ---------------------------------------------------------------- the notebook suite's parts


def notebook_with_parameters(path, source: str):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["parameters"]
    notebook = nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_code_cell("x = 1")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)
    return path


def test_notebook_suite_forces_a_precision_only_through_the_notebook_parameter(tmp_path):
    from bench.notebooks import prepared

    old = notebook_with_parameters(tmp_path / "01_cnn.ipynb", 'SEED = 0\nPROFILE = "full"\nBF16 = "auto"')
    with pytest.raises(SystemExit, match="no PRECISION parameter"):
        prepared(old, "quick", "fp32", tmp_path / "out")
    new = notebook_with_parameters(tmp_path / "02_lenet5.ipynb", 'SEED = 0\nPROFILE = "full"\nPRECISION = "auto"')
    copy = prepared(new, "quick", "fp32", tmp_path / "out")
    injected = "\n".join(cell.source for cell in nbformat.read(copy, as_version=4).cells)
    assert "PRECISION = \"fp32\"" in injected and "PROFILE = \"quick\"" in injected
    assert "PRECISION" not in "\n".join(c.source for c in nbformat.read(
        prepared(new, "quick", "auto", tmp_path / "auto"), as_version=4).cells[1:])  # auto: the notebook's own


def test_notebook_suite_reads_what_the_runs_trained_in(tmp_path):
    from bench.notebooks import outcome, reading

    (tmp_path / "01_cnn").mkdir()
    (tmp_path / "01_cnn" / "metrics.json").write_text(json.dumps({
        "runs": {"a": {"precision": "fp32", "train_seconds": 2.0}, "b": {"precision": "fp32", "train_seconds": 3.0}},
        "checks": [{"status": "PASS"}, {"status": "n/a"}]}))
    assert outcome(tmp_path, "01_cnn") == {"runs' precision": "fp32", "train seconds": 5.0,
                                           "requirements": "1 of 2 PASS"}
    assert outcome(tmp_path, "00_setup")["runs' precision"] == "none"
    table = pd.DataFrame([{"profile": "quick", "precision asked": "auto", "notebook": "01_cnn.ipynb", "seconds": 60.0,
                           "runs' precision": "fp32", "status": "ok"},
                          {"profile": "quick", "precision asked": "auto", "notebook": "00.ipynb", "seconds": 60.0,
                           "runs' precision": "none", "status": "ok"}])
    assert "quick profile, precision auto (trained in fp32): 2 of 2 notebooks executed without error, 2.0 min " \
        "in all; budget 3 min for the book: met" in reading(table)
    full = table.assign(profile="full", seconds=[600.0, 60.0])
    assert "budget 8 min per notebook: over it: 01_cnn.ipynb 10.0 min" in reading(full)
    assert "budget 3 min for the book: not met" in reading(table.assign(seconds=[120.0, 61.0]))


def test_the_committed_notebooks_are_timed_by_their_own_cell_timestamps(tmp_path):
    from bench.notebooks import cell_seconds, committed_reading

    def timed(name, start, reply):
        cells = [nbformat.v4.new_markdown_cell("# title"),
                 nbformat.v4.new_code_cell("1", metadata={"execution": {"iopub.execute_input": start,
                                                                        "shell.execute_reply": start}}),
                 nbformat.v4.new_code_cell("2", metadata={"execution": {"iopub.execute_input": start,
                                                                        "shell.execute_reply": reply}})]
        nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path / name)

    timed("01_a.ipynb", "2026-12-04T20:41:30.5Z", "2026-12-04T20:43:10.5Z")
    timed("02_b.ipynb", "2026-12-04T20:00:00Z", "2026-12-04T20:09:00Z")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("3")]), tmp_path / "03_c.ipynb")
    assert cell_seconds(tmp_path / "01_a.ipynb") == 100.0 and cell_seconds(tmp_path / "03_c.ipynb") is None
    assert committed_reading(tmp_path) == (
        "The committed notebooks, by their own cell timestamps (first cell's start to last cell's reply): "
        "01_a 100 s, 02_b 540 s; no timestamps: 03_c; budget 8 min per notebook: over it: 02_b.")
    (tmp_path / "02_b.ipynb").unlink()
    assert committed_reading(tmp_path).endswith("budget 8 min per notebook: met (longest 1.7 min).")


# ---------------------------------------------------------------- the simulated AVX2 CPU


def test_simulate_re_executes_itself_without_simulate_under_the_lowered_isa(runner, monkeypatch):
    calls = []
    monkeypatch.setattr(runner.subprocess, "run",
                        lambda command, env: calls.append((command, env)) or subprocess.CompletedProcess(command, 0))
    monkeypatch.delenv("LABKIT_BENCH_SIMULATED", raising=False)
    assert runner.main(["--only", "precision", "--simulate", "avx2", "--quick"]) == 0
    (command, env), = calls
    assert command == [sys.executable, "-m", "bench", "--only", "precision", "--quick"]
    assert env["ATEN_CPU_CAPABILITY"] == "avx2" and env["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    assert env["LABKIT_BENCH_SIMULATED"] == "avx2" and env["LABKIT_DEVICE"] == "cpu"
    assert runner.without_simulate(["--simulate=avx2", "--notebooks"]) == ["--notebooks"]


def test_a_simulated_process_that_does_not_run_avx2_stops_with_a_clear_error(runner, monkeypatch):
    import bench.common

    monkeypatch.setenv("LABKIT_BENCH_SIMULATED", "avx2")
    monkeypatch.setattr(bench.common, "cpu_capability", lambda: "AVX512")
    with pytest.raises(SystemExit, match="reports CPU capability 'AVX512'.*not 'AVX2'"):
        bench.common.check_simulation()
    monkeypatch.setattr(bench.common, "cpu_capability", lambda: "AVX2")
    bench.common.check_simulation()
    assert runner.block_key() == "simulated-avx2" and "simulated AVX2" in bench.common.device_label(
        __import__("torch").device("cpu"))
    assert runner.chosen(runner.parser().parse_args([])) == ["time_to_accuracy", "precision", "notebooks"]
    monkeypatch.delenv("LABKIT_BENCH_SIMULATED")
    assert runner.block_key() == "native" and runner.chosen(runner.parser().parse_args([])) == [
        "throughput", "time_to_accuracy", "precision"]


def test_simulated_avx2_dry_run_writes_its_block_beside_the_native_one(real_mnist_root, tmp_path):
    import torch

    if torch.backends.cpu.get_cpu_capability() not in ("AVX2", "AVX512", "AMX"):
        pytest.skip("this CPU cannot run AVX2 kernels")
    output = tmp_path / "results.md"
    output.write_text("# labkit benchmarks\n\n<!-- block native: begin -->\n\nnative rows\n\n"
                      "<!-- block native: end -->\n")
    environment = {key: value for key, value in os.environ.items() if key != "LABKIT_BENCH_SIMULATED"}
    done = subprocess.run([sys.executable, "-m", "bench", "--simulate", "avx2", "--quick", "--only", "precision",
                           "--output", str(output)], capture_output=True, text=True, env=environment, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    text = output.read_text()
    assert "native rows" in text and text.index("native rows") < text.index("<!-- block simulated-avx2: begin -->")
    assert "## Simulated AVX2:" in text and "cpu (" in text and "simulated AVX2)" in text
    assert "torch capability AVX2" in text and "| cpu capability | AVX2 |" in text
    assert "| precision auto picks on the cpu | fp32 |" in text  # AVX2 kernels: no native bf16, whatever the flags

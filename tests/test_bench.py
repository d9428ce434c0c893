"""Smoke test of bench/: every benchmark runs at tiny size (--quick) and returns the table it promises.

No timing is asserted: on a shared machine absolute times are noise, and at tiny sizes so are the
ratios. The benchmarks read real MNIST, so this skips where there is none.
"""

import importlib
import json
import math

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

EXPECTED_COLUMNS = {
    "throughput": ["device", "model", "configuration", "batch", "steps", "images/s", "images/s min–max",
                   "speed-up"],
    "time_to_accuracy": ["device", "model", "recipe", "precision", "target", "eval every", "runs reaching it",
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
        assert any("other precision" in k for k in kinds)  # the precision "auto" did not pick, beside it


def test_notebook_run_succeeds(results):
    assert (results["notebooks"][0]["status"] == "ok").all()


def test_report_has_the_machine_and_one_section_per_benchmark(runner, results, tmp_path):
    from bench.common import machine
    from labkit.records import write_atomically

    path = tmp_path / "results.md"
    report = runner.report(machine(), runner.sections_for(results), 1.0)
    write_atomically(path, lambda tmp: tmp.write_text(report))  # as main writes it
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
    assert "labkit's rule" in reading and ("picks one test batch" in reading or "picks whole test set" in reading)


def test_time_to_accuracy_reads_each_device_against_its_own_goal_with_its_fastest_float32_recipe():
    from bench.time_to_accuracy import COLUMNS, CONVENTIONAL, reading

    def row(device, recipe, precision, seconds, reached="3/3"):
        return dict(zip(COLUMNS, [device, "plain_cnn", recipe, precision, 0.99, 100, reached, seconds, "", 1500, 4,
                                  0.991, 0.9925]))

    cpu, gpu, other = "cpu (2 threads)", "cuda (NVIDIA H200)", "mps"
    text = reading(pd.DataFrame([
        row(cpu, "01's recipe", "float32", 32.5), row(cpu, "2 epochs, batch 256", "float32", 9.5),
        row(cpu, "01's recipe", "bf16 autocast", 8.0),  # faster, but the goal is stated in float32
        row(cpu, CONVENTIONAL, "float32", 95.0),
        row(gpu, "01's recipe", "float32", 3.6), row(gpu, "2 epochs, batch 512", "float32", float("nan"), "2/3"),
        row(gpu, CONVENTIONAL, "float32", 20.0),
        row(other, "01's recipe", "float32", 2.0), row(other, CONVENTIONAL, "float32", float("nan"), "0/3"),
    ])).splitlines()
    assert text[0].startswith("Goal ≤ 10 s") and ": met, fastest float32 recipe 2 epochs, batch 256" in text[0]
    assert "10.0x faster than the conventional loop (95.0 s)" in text[0] and "bf16 autocast: 8.0 s" in text[0]
    assert text[1].startswith("Goal ≤ 1 s") and "not met, fastest float32 recipe 01's recipe" in text[1]
    assert "2 epochs, batch 512, float32: not reached in every run (2/3" in text[1]
    assert text[2].startswith("No goal for this device") and "measured" in text[2] and "x faster" not in text[2]


def test_time_to_accuracy_takes_the_first_evaluation_at_the_target():
    from bench.time_to_accuracy import first_hit

    hit = first_hit([1.0, 2.0, 3.0], [100, 200, 300], [1, 1, 2], [0.98, 0.991, 0.995], 0.99, final=0.993)
    assert hit == {"seconds": 2.0, "step": 200, "epoch": 1, "accuracy": 0.991, "final": 0.993}
    missed = first_hit([1.0, 2.0], [100, 200], [1, 1], [0.98, 0.989], 0.99, final=0.989)
    assert math.isnan(missed["seconds"]) and math.isnan(missed["step"]) and missed["final"] == 0.989


def test_compile_break_even_is_the_compile_time_over_the_saving_per_step():
    from bench.compile_payback import break_even

    assert break_even(30.0, eager_ms=20.0, compiled_ms=10.0) == pytest.approx(3000)  # 30 s / 10 ms
    assert break_even(30.0, eager_ms=10.0, compiled_ms=10.0) == math.inf  # no saving: never pays back
    assert break_even(30.0, eager_ms=10.0, compiled_ms=12.0) == math.inf


def test_recipe_choice_takes_the_best_mean_then_the_shorter_then_the_lower_rate():
    from bench.recipe_choice import STUDIES, chosen

    def row(accuracy, epochs, lr):
        return {"validation accuracy (mean)": accuracy, "epochs": epochs, "lr": lr}

    assert chosen([row(0.990, 5, 3e-3), row(0.991, 6, 4e-3)])["epochs"] == 6  # best mean wins
    assert chosen([row(0.9950000001, 6, 4e-3), row(0.995, 5, 4e-3)])["epochs"] == 5  # a tie: the shorter
    assert chosen([row(0.995, 5, 4e-3), row(0.995, 5, 2e-3)])["lr"] == 2e-3  # then the lower rate
    assert set(STUDIES) == {"01_cnn", "02_lenet5", "03_resnet", "04_pairs"} and STUDIES["04_pairs"].pairs


def test_seed_spread_table_has_every_seed_the_mean_and_the_range():
    from bench.seed_spread import spread_table

    table = spread_table({("01_cnn", "plain_cnn_rotation"): {0: 0.9937, 1: 0.9932, 2: 0.9937},
                          ("05_pair_data_study", "siamese_sorted_pairs"): {0: 0.5, 1: 0.5}}).splitlines()
    assert table[0] == ("| notebook | run | seed 0 | seed 1 | seed 2 | mean | range | target | "
                        "seeds clearing it by 0.05 pt |")
    assert table[2] == ("| 01_cnn | plain_cnn_rotation | 0.9937 | 0.9932 | 0.9937 | 0.9935 | 0.9932-0.9937 | "
                        "0.9930 | 2 of 3 |")  # 0.9932 passes 0.993 by 2 images, not by the margin of 5
    assert table[3] == ("| 05_pair_data_study | siamese_sorted_pairs | 0.5000 | 0.5000 |  | 0.5000 | 0.5000-0.5000 | "
                        "none |  |")


def test_seed_spread_appends_its_section_to_the_results(tmp_path):
    from bench.seed_spread import append_to_results, spread_table

    table = spread_table({("03_resnet", "resnet"): {0: 0.9962, 2: 0.9958}})
    lines = table.splitlines()
    assert lines[0].startswith("| notebook | run | seed 0 | seed 2 | mean |")  # only the seeds that ran
    assert lines[2] == "| 03_resnet | resnet | 0.9962 | 0.9958 | 0.9960 | 0.9958-0.9962 | 0.9960 | 0 of 2 |"
    results = tmp_path / "results.md"
    results.write_text("# Benchmarks\n")
    append_to_results(table, results)
    assert results.read_text().startswith("# Benchmarks\n\n## Seed spread\n") and table in results.read_text()


def test_float32_targets_reads_every_accuracy_requirement_against_its_margin():
    from bench.float32_targets import accuracy_rows, check_summary, reading, tables

    def metrics(resnet, precision):
        return {"runs": {name: {"test_accuracy": value, "precision": precision} for name, value in
                         {"resnet": resnet, "resnet_baseline": 0.99}.items()},
                "checks": [{"id": "resnet_accuracy", "status": "PASS" if resnet >= 0.996 else "FAIL"},
                           {"id": "variations_compared", "status": "PASS"}], "wall_seconds": 900.0}

    committed, float32 = metrics(0.9965, "bf16"), metrics(0.9962, "fp32")  # passes 0.996, but by 2 images
    rows = accuracy_rows("03_resnet", float32, committed)
    assert [(r["run"], r["committed"], r["float32"], r["target"], r["clears by margin"]) for r in rows] == [
        ("resnet", 0.9965, 0.9962, 0.996, False)]
    summary = check_summary("03_resnet", float32)
    assert summary["requirements passed"] == "2 of 2" and summary["failed"] == "none"
    text = tables(rows, [summary])
    assert "| 03_resnet | resnet | 0.9965 (bf16) | 0.9962 | 0.9960 | NO |" in text
    short = "not every target cleared by the margin in float32: resnet 0.9962 (target 0.9960)"
    assert short in reading(rows, [summary])
    failing = check_summary("03_resnet", metrics(0.9950, "fp32"))
    assert failing["failed"] == "resnet_accuracy" and "03_resnet: resnet_accuracy" in reading([], [failing])


def test_seed_spread_uses_a_committed_run_only_from_this_machine_kind_and_code(tmp_path):
    import json

    from bench.seed_spread import committed_accuracies
    from labkit.env import machine
    from labkit.records import code_hash

    def write(notebook, cpu, code):
        folder = tmp_path / notebook
        folder.mkdir()
        runs = {"plain_cnn": {"test_accuracy": 0.9927}, "plain_cnn_rotation": {"test_accuracy": 0.9937},
                "resnet": {"test_accuracy": 0.9965}}
        (folder / "metrics.json").write_text(json.dumps({"seed": 0, "runs": runs, "labkit_code_hash": code,
                                                         "machine": {**machine(), "cpu": cpu}}))

    write("01_cnn", machine()["cpu"], code_hash())
    write("03_resnet", "another CPU", code_hash())
    assert committed_accuracies(("01_cnn", "03_resnet"), tmp_path) == {
        ("01_cnn", "plain_cnn"): {0: 0.9927}, ("01_cnn", "plain_cnn_rotation"): {0: 0.9937}}
    (tmp_path / "01_cnn" / "metrics.json").unlink()
    (tmp_path / "01_cnn").rmdir()
    write("01_cnn", machine()["cpu"], "an older code hash")
    assert committed_accuracies(("01_cnn",), tmp_path) == {}


def test_downsampling_reads_the_best_stride_2_candidate_against_full_resolution():
    from bench.downsampling import CANDIDATES, reading, summarise

    def scores(validation, test):
        return [{"validation": v, "test": t, "seconds": 1.0, "precision": "fp32"} for v, t in zip(validation, test)]

    table = pd.DataFrame([summarise(CANDIDATES[0], "cpu", scores([0.995, 0.994], [0.996, 0.995])),
                          summarise(CANDIDATES[1], "cpu", scores([0.990, 0.991], [0.992, 0.993])),
                          summarise(CANDIDATES[2], "cpu", scores([0.993, 0.994], [0.994, 0.995]))])
    assert table["validation (mean)"].round(4).tolist() == [0.9945, 0.9905, 0.9935]
    text = reading(table)
    assert "best stride-2 candidate (8 epochs, lr 0.004, fp32) stays below" in text
    assert "mean 0.9935 against 0.9945" in text and "lowest seed 0.9940 against 0.9950" in text
    table.loc[2, "validation (mean)"] = 0.9950
    assert "reaches the full-resolution recipe" in reading(table)


def test_downsampling_times_both_networks_in_both_precisions(real_mnist_root):
    import torch

    from bench.downsampling import step_times

    table = step_times(torch.device("cpu"), timed=1, warmup=1)
    assert table[["stem stride", "precision"]].values.tolist() == [[1, "fp32"], [1, "bf16"], [2, "fp32"],
                                                                   [2, "bf16"]]
    assert (table["step ms"] > 0).all() and table["vs full resolution"].iloc[:2].tolist() == [1.0, 1.0]


def test_training_overhead_is_what_lies_beyond_the_steps_at_their_median(tmp_path):
    from bench.training_overhead import reading, run_overhead, table

    # ten steps of 0.1 s, one of which also measured the whole sets for 0.5 s
    seconds = [0.1 * step + (0.5 if step >= 5 else 0.0) for step in range(1, 11)]
    row = run_overhead(pd.DataFrame({"seconds": seconds}))
    assert row["steps"] == 10 and row["median step ms"] == pytest.approx(100)
    assert row["overhead seconds"] == pytest.approx(0.5) and row["overhead share"] == pytest.approx(0.5 / 1.5)
    (tmp_path / "01_cnn").mkdir()
    pd.DataFrame({"step": range(1, 11), "seconds": seconds}).to_csv(tmp_path / "01_cnn" / "history_plain.csv")
    frame = table(tmp_path)
    assert frame[["notebook", "run"]].values.tolist() == [["01_cnn", "plain"]]
    text = reading(frame)
    assert text.startswith("1 run(s), 2 s of training in all") and "(33%) beyond their steps" in text


def test_compute_bound_counts_the_plain_cnn_layer_by_layer():
    from bench.compute_bound import model_flops
    from labkit import models

    conv1, conv2, linear = 28 * 28 * 16 * 1 * 5 * 5, 14 * 14 * 32 * 16 * 5 * 5, 32 * 7 * 7 * 10  # multiply-adds
    forward = 2 * (conv1 + conv2 + linear)
    # backward: the gradients of the weights and of each layer's input, but none for the images themselves
    train, evaluation = model_flops(models.build("plain_cnn", seed=0), batch=4)
    assert evaluation == forward and train == 3 * forward - 2 * conv1


def test_compute_bound_counts_a_siamese_evaluation_as_labkit_evaluates_it():
    from bench.compute_bound import embed_once_flops
    from labkit import models

    # each pool image through the plain CNN encoder to its 64-d embedding, once; the head on every pair
    embed = 2 * (28 * 28 * 16 * 25 + 14 * 14 * 32 * 16 * 25 + 32 * 7 * 7 * 64)
    compare = 2 * (2 * 64 * 64 + 64 * 2)
    assert embed_once_flops(models.build("siamese", seed=0), pool=10, pairs=4) == 10 * embed + 4 * compare


def test_compute_bound_of_a_run_and_of_its_notebook(tmp_path):
    from bench.compute_bound import model_flops, notebook_table, run_row, table
    from labkit import models

    settings = {"epochs": 1, "train_size": 1280, "batch_size": 128, "test_batch_size": 128, "test_size": 10_000,
                "val_size": None}
    record = {"parameters": 28_938, "precision": "fp32", "train_seconds": 2.0, "settings": settings,
              "history": "history_plain_cnn.csv"}
    measured = [float("nan")] * 4 + [0.1] + [float("nan")] * 4 + [0.1]  # at step 5, and the final one at 10
    history = pd.DataFrame({"step": range(1, 11), "test_set_loss": measured, "val_loss": [float("nan")] * 10})
    peaks = {"fp32": 100.0, "bf16": 200.0}
    train, forward = model_flops(models.build("plain_cnn", seed=0), 128)
    row = run_row("01_cnn", "plain_cnn", record, history, peaks)
    assert row["training TFLOP"] == pytest.approx(1280 * train / 1e12)
    assert row["per-step test TFLOP"] == pytest.approx(10 * 128 * forward / 1e12)
    assert row["evaluations TFLOP"] == pytest.approx(10_000 * forward / 1e12)  # not the final measurement
    total = 1280 * train + 10 * 128 * forward + 10_000 * forward
    assert row["seconds at peak"] == pytest.approx(total / 100e9) == row["float32 seconds at peak"]
    assert row["share of peak"] == pytest.approx(total / 100e9 / 2.0)
    with pytest.raises(SystemExit, match="lenet5_modern.*out of date"):  # a map that no longer fits the run
        run_row("02_lenet5", "lenet5_modern", record, history, peaks)
    with pytest.raises(SystemExit, match="'mystery' is not in"):
        run_row("01_cnn", "mystery", record, history, peaks)

    figures, notebooks = tmp_path / "figures", tmp_path / "notebooks"
    (figures / "01_cnn").mkdir(parents=True)
    notebooks.mkdir()
    (figures / "01_cnn" / "metrics.json").write_text(json.dumps({"notebook": "01_cnn",
                                                                 "runs": {"plain_cnn": record}}))
    history.to_csv(figures / "01_cnn" / "history_plain_cnn.csv", index=False)
    timing = {"iopub.execute_input": "2026-11-26T10:00:00.000000Z", "shell.execute_reply": "2026-11-26T10:00:01Z"}
    late = {"iopub.execute_input": "2026-11-26T10:00:02Z", "shell.execute_reply": "2026-11-26T10:00:05.500000Z"}
    cells = [{"cell_type": "code", "metadata": {"execution": timing}}, {"cell_type": "markdown", "metadata": {}},
             {"cell_type": "code", "metadata": {"execution": late}}]
    (notebooks / "01_cnn.ipynb").write_text(json.dumps({"cells": cells}))
    runs = table(figures, peaks)
    frame = notebook_table(runs, notebooks)
    assert frame["notebook"].tolist() == ["01_cnn", "all"]
    first = frame.iloc[0]
    assert first["cell seconds"] == pytest.approx(5.5) and first["outside the runs"] == pytest.approx(3.5)
    assert first["least seconds"] == pytest.approx(3.5 + total / 100e9)


def test_compute_bound_share_needed_for_a_goal():
    import torch

    from bench.compute_bound import model_flops, needed_share, throughput_share
    from labkit import models
    from labkit.env import precision_name, resolve_bf16

    assert needed_share(runs_at_peak=300, outside=200, goal_seconds=800) == pytest.approx(0.5)
    assert needed_share(runs_at_peak=300, outside=900, goal_seconds=800) == math.inf
    # 3x 100 images/s of the ResNet, each with 100/128 of a test image's forward pass, at fit's auto precision
    train, forward = model_flops(models.build("resnet", seed=0), 128)
    auto = precision_name(resolve_bf16("auto", torch.device("cpu")))
    share, precision = throughput_share(100.0, {"fp32": 50.0, "bf16": 80.0})
    assert precision == auto
    assert share == pytest.approx(300 * (train + forward * 100 / 128) / ({"fp32": 50.0, "bf16": 80.0}[auto] * 1e9))

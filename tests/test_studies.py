"""Tests of studies/: each study's arithmetic and readings on made-up numbers, the quick runs of those that have one,
and `python -m studies` itself. No timing is asserted."""

import json
import math
import subprocess
import sys

import pandas as pd
import pytest

from labkit.course.requirements import accuracy_target
from studies.__main__ import RETIRED, STUDIES


def test_every_study_opens_with_its_question_and_its_dated_result():
    import ast
    from pathlib import Path

    from studies.common import method

    folder = Path(__file__).resolve().parent.parent / "studies"
    assert sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_") and p.stem != "common") == \
        sorted(STUDIES)
    for name in STUDIES:
        doc = ast.get_docstring(ast.parse((folder / f"{name}.py").read_text()))
        question, result = doc.split("\n\n")[:2]
        assert question.endswith("?"), name
        assert result.startswith("Result (") and "2026-" in result and "studies/results.md" in result, name
        assert not method(doc).startswith("Result"), name
    readme = (folder / "README.md").read_text()
    for name in RETIRED:
        assert f"### {name} (retired)" in readme and not (folder / f"{name}.py").exists()


def test_python_m_studies_lists_the_studies_and_refuses_a_retired_one():
    done = subprocess.run([sys.executable, "-m", "studies"], capture_output=True, text=True, check=True)
    assert all(name in done.stdout for name in STUDIES) and "Retired" in done.stdout
    refused = subprocess.run([sys.executable, "-m", "studies", "step_test_cost"], capture_output=True, text=True)
    assert refused.returncode != 0 and "studies/README.md" in refused.stderr
    unknown = subprocess.run([sys.executable, "-m", "studies", "nothing"], capture_output=True, text=True)
    assert unknown.returncode != 0 and "recipe_choice" in unknown.stderr


def test_run_plan_reads_the_recipe_and_the_sizes_of_a_run():
    from labkit import Recipe
    from studies.common import run_plan

    record = {"recipe": Recipe(epochs=2, lr=1e-3, batch_size=100, test_batch_size=50).record(),
              "sizes": {"train": 1000, "test": 500, "val": 50}}
    assert run_plan("01_cnn", "plain_cnn", record) == {"epochs": 2, "batch_size": 100, "test_batch_size": 50,
                                                       "train_size": 1000, "test_size": 500, "val_size": 50,
                                                       "steps": 20}


@pytest.mark.slow
@pytest.mark.parametrize("name, columns", [
    ("pairs_build", ["approach", "pairs", "pairs timed", "seconds", "seconds min–max", "set MB", "peak MB",
                     "time vs labkit", "memory vs labkit"]),
    ("eval_overhead", ["device", "lab", "model", "train items", "test items", "steps", "setting", "eval every",
                       "evaluations", "train seconds", "seconds min–max", "vs end only"]),
])
def test_quick_study_returns_its_table_of_finite_positive_numbers(real_mnist_root, name, columns):
    import importlib

    module = importlib.import_module(f"studies.{name}")
    table = module.run(quick=True)
    assert list(table.columns) == columns and len(table) > 0
    for column in table.select_dtypes("number"):
        values = table[column].tolist()
        assert all(math.isfinite(v) and v > 0 for v in values), f"{name}: {column} = {values}"
    assert module.reading(table).strip()
    if name == "eval_overhead":  # the default cadence and the evaluations as the History gives them
        for _, rows in table.groupby("lab"):
            by = rows.set_index("setting")
            assert by.loc["every step", "eval every"] == 1
            assert by.loc["every step", "evaluations"] == by.loc["every step", "steps"]
            assert by.loc["end only", "evaluations"] == 1
            assert 1 <= by.loc["default", "eval every"] <= by.loc["default", "steps"]


def test_recipe_choice_takes_the_best_mean_then_the_shorter_then_the_lower_rate():
    from studies.recipe_choice import STUDIES, chosen

    def row(accuracy, epochs, lr):
        return {"validation accuracy (mean)": accuracy, "epochs": epochs, "lr": lr}

    assert chosen([row(0.990, 5, 3e-3), row(0.991, 6, 4e-3)])["epochs"] == 6  # best mean wins
    assert chosen([row(0.9950000001, 6, 4e-3), row(0.995, 5, 4e-3)])["epochs"] == 5  # a tie: the shorter
    assert chosen([row(0.995, 5, 4e-3), row(0.995, 5, 2e-3)])["lr"] == 2e-3  # then the lower rate
    assert set(STUDIES) == {"01_cnn", "02_lenet5", "03_resnet", "04_pairs"} and STUDIES["04_pairs"].pairs


def test_seed_spread_table_has_every_seed_the_mean_the_spread_and_the_range():
    from studies.seed_spread import spread_table

    table = spread_table({("01_cnn", "plain_cnn_rotation"): {0: 0.9937, 1: 0.9932, 2: 0.9937},
                          ("05_pair_data_study", "siamese_sorted_pairs"): {0: 0.5, 1: 0.5}}).splitlines()
    assert table[0] == ("| notebook | run | seed 0 | seed 1 | seed 2 | mean | sd | mean - 2 sd | range | target | "
                        "seeds clearing it by 0.05 pt |")
    target = accuracy_target("01_cnn", "plain_cnn_rotation")
    clearing = sum(value >= target + 0.0005 - 1e-9 for value in (0.9937, 0.9932, 0.9937))
    assert table[2] == ("| 01_cnn | plain_cnn_rotation | 0.9937 | 0.9932 | 0.9937 | 0.9935 | 0.0003 | 0.9930 | "
                        f"0.9932-0.9937 | {target:.4f} | {clearing} of 3 |")
    assert table[3] == ("| 05_pair_data_study | siamese_sorted_pairs | 0.5000 | 0.5000 |  | 0.5000 | 0.0000 | 0.5000 | "
                        "0.5000-0.5000 | none |  |")


def test_seed_spread_appends_its_section_to_the_results(tmp_path):
    from studies.seed_spread import append_to_results, spread_table

    table = spread_table({("03_resnet", "resnet"): {0: 0.9962, 2: 0.9958}})
    lines = table.splitlines()
    assert lines[0].startswith("| notebook | run | seed 0 | seed 2 | mean | sd |")  # only the seeds that ran
    assert lines[2].startswith("| 03_resnet | resnet | 0.9962 | 0.9958 | 0.9960 | 0.0003 | 0.9954 | 0.9958-0.9962 |")
    results = tmp_path / "results.md"
    results.write_text("# Benchmarks\n")
    append_to_results(table, results)
    assert results.read_text().startswith("# Benchmarks\n\n## Seed spread\n") and table in results.read_text()
    assert "`studies/seed_spread.py`: Seed spread: how much does each headline accuracy move" in results.read_text()


def test_seed_spread_keeps_every_seed_measured_and_reads_back_only_this_machine_kind(tmp_path):
    from studies.seed_spread import accuracies_of, add_rows, read_rows, rows_of

    here = {"cpu": "AMD EPYC", "cpu_capability": "AVX512", "gpu": None, "cpu_threads": 2}
    other = {**here, "cpu_capability": "AVX2"}

    def metrics(seed, siamese, machine):
        return {"seed": seed, "machine": machine, "labkit_code_hash": "abc",
                "runs": {"siamese": {"test_accuracy": siamese}, "two_channel": {"test_accuracy": 0.985}}}

    path = tmp_path / "spread.json"
    add_rows(rows_of("04_pairs", metrics(0, 0.99, here), "day 1"), path)
    later = rows_of("04_pairs", metrics(1, 0.98, here), "day 1") + rows_of("04_pairs", metrics(2, 0.5, other), "day 1")
    add_rows(later, path)
    add_rows(rows_of("04_pairs", metrics(1, 0.97, here), "day 2"), path)  # measured again: the latest row wins
    rows = read_rows(path)
    assert len(rows) == 8 and {row["measured"] for row in rows} == {"day 1", "day 2"}
    assert accuracies_of(rows, here) == {("04_pairs", "siamese"): {0: 0.99, 1: 0.97},
                                         ("04_pairs", "two_channel"): {0: 0.985, 1: 0.985}}
    assert accuracies_of(rows, other) == {("04_pairs", "siamese"): {2: 0.5}, ("04_pairs", "two_channel"): {2: 0.985}}


def test_float32_targets_reads_every_accuracy_requirement_against_its_margin():
    from labkit.course.requirements import accuracy_target
    from studies.float32_targets import accuracy_rows, check_summary, reading, tables

    target = accuracy_target("03_resnet", "resnet")

    def metrics(resnet, precision):
        return {"runs": {name: {"test_accuracy": value, "precision": precision} for name, value in
                         {"resnet": resnet, "resnet_baseline": 0.99}.items()},
                "checks": [{"id": "resnet_accuracy", "status": "PASS" if resnet >= target else "FAIL"},
                           {"id": "variations_compared", "status": "PASS"}], "wall_seconds": 900.0}

    committed, float32 = metrics(0.9965, "bf16"), metrics(target + 0.0002, "fp32")  # passes, but by 2 images
    rows = accuracy_rows("03_resnet", float32, committed)
    assert [(r["run"], r["committed"], r["float32"], r["target"], r["clears by margin"]) for r in rows] == [
        ("resnet", 0.9965, target + 0.0002, target, False)]
    summary = check_summary("03_resnet", float32)
    assert summary["requirements passed"] == "2 of 2" and summary["failed"] == "none"
    text = tables(rows, [summary])
    assert f"| 03_resnet | resnet | 0.9965 (bf16) | {target + 0.0002:.4f} | {target:.4f} | NO |" in text
    short = f"not every target cleared by the margin in float32: resnet {target + 0.0002:.4f} (target {target:.4f})"
    assert short in reading(rows, [summary])
    failing = check_summary("03_resnet", metrics(target - 0.0010, "fp32"))
    assert failing["failed"] == "resnet_accuracy" and "03_resnet: resnet_accuracy" in reading([], [failing])


def test_seed_spread_uses_a_committed_run_only_from_this_machine_kind_and_code(tmp_path):
    import json

    from labkit.env import machine
    from labkit.records import code_hash
    from studies.seed_spread import accuracies_of, committed_rows

    def write(notebook, cpu, code):
        folder = tmp_path / notebook
        folder.mkdir()
        runs = {"plain_cnn": {"test_accuracy": 0.9927}, "plain_cnn_rotation": {"test_accuracy": 0.9937},
                "resnet": {"test_accuracy": 0.9965}}
        (folder / "metrics.json").write_text(json.dumps({"seed": 0, "runs": runs, "labkit_code_hash": code,
                                                         "machine": {**machine(), "cpu": cpu}, "date": "today"}))

    write("01_cnn", machine()["cpu"], code_hash())
    write("03_resnet", "another CPU", code_hash())
    rows = committed_rows(("01_cnn", "03_resnet"), tmp_path)
    assert accuracies_of(rows, machine()) == {("01_cnn", "plain_cnn"): {0: 0.9927},
                                              ("01_cnn", "plain_cnn_rotation"): {0: 0.9937}}
    assert {row["measured"] for row in rows} == {"today"}
    (tmp_path / "01_cnn" / "metrics.json").unlink()
    (tmp_path / "01_cnn").rmdir()
    write("01_cnn", machine()["cpu"], "an older code hash")
    assert committed_rows(("01_cnn",), tmp_path) == []


def test_downsampling_reads_the_best_stride_2_candidate_against_full_resolution():
    from studies.downsampling import CANDIDATES, reading, summarise

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


@pytest.mark.slow
def test_downsampling_times_both_networks_in_both_precisions(real_mnist_root):
    import torch

    from studies.downsampling import step_times

    table = step_times(torch.device("cpu"), timed=2, warmup=1, repeats=1)
    assert table[["stem stride", "precision"]].values.tolist() == [[1, "fp32"], [1, "bf16"], [2, "fp32"],
                                                                   [2, "bf16"]]
    assert (table["step ms"] > 0).all() and table["vs full resolution"].iloc[:2].tolist() == [1.0, 1.0]


def test_training_overhead_is_what_lies_beyond_the_steps_at_their_median(tmp_path):
    from studies.training_overhead import reading, run_overhead, table

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
    from labkit import models
    from studies.compute_bound import model_flops

    conv1, conv2, linear = 28 * 28 * 16 * 1 * 5 * 5, 14 * 14 * 32 * 16 * 5 * 5, 32 * 7 * 7 * 10  # multiply-adds
    forward = 2 * (conv1 + conv2 + linear)
    # backward: the gradients of the weights and of each layer's input, but none for the images themselves
    train, evaluation = model_flops(models.build("plain_cnn", seed=0), batch=4)
    assert evaluation == forward and train == 3 * forward - 2 * conv1


def test_compute_bound_counts_a_siamese_evaluation_as_labkit_evaluates_it():
    from labkit import models
    from studies.compute_bound import embed_once_flops

    # each pool image through the plain CNN encoder to its 64-d embedding, once; the head on every pair
    embed = 2 * (28 * 28 * 16 * 25 + 14 * 14 * 32 * 16 * 25 + 32 * 7 * 7 * 64)
    compare = 2 * (2 * 64 * 64 + 64 * 2)
    assert embed_once_flops(models.build("siamese", seed=0), pool=10, pairs=4) == 10 * embed + 4 * compare


def test_compute_bound_of_a_run_and_of_its_notebook(tmp_path):
    from labkit import Recipe, models
    from studies.compute_bound import model_flops, notebook_table, run_row, table

    record = {"parameters": 28_938, "precision": "fp32", "train_seconds": 2.0,
              "recipe": Recipe(epochs=1, lr=3e-3, batch_size=128, test_batch_size=128).record(),
              "sizes": {"train": 1280, "test": 10_000, "val": None}, "history": "history_plain_cnn.csv"}
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
    older = {key: value for key, value in record.items() if key not in ("recipe", "sizes")}
    with pytest.raises(SystemExit, match="without 'recipe' and 'sizes'.*make run"):
        run_row("01_cnn", "plain_cnn", {**older, "settings": {}}, history, peaks)

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

    from labkit import models
    from labkit.env import auto_precision
    from studies.compute_bound import model_flops, needed_share, throughput_share

    assert needed_share(runs_at_peak=300, outside=200, goal_seconds=800) == pytest.approx(0.5)
    assert needed_share(runs_at_peak=300, outside=900, goal_seconds=800) == math.inf
    # 3x 100 images/s of the ResNet, each with 100/128 of a test image's forward pass, at fit's auto precision
    train, forward = model_flops(models.build("resnet", seed=0), 128)
    auto = auto_precision(torch.device("cpu"))
    share, precision = throughput_share(100.0, {"fp32": 50.0, "bf16": 80.0})
    assert precision == auto
    assert share == pytest.approx(300 * (train + forward * 100 / 128) / ({"fp32": 50.0, "bf16": 80.0}[auto] * 1e9))

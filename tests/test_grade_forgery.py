"""A grade the student's kernel cannot forge: the grader measures each graded run again from its saved weights,
and checks the run's recipe and files against the profile and against each other. Each forgery of issue-style
submissions planted here must be caught (labkit.course.grade.check_run / measure_run / recipe_problems)."""

import pandas as pd
import pytest
import torch

from labkit import models
from labkit.course import grade as grading
from labkit.data import ImageSet
from labkit.evaluate import evaluate


@pytest.fixture
def saved_run(tmp_path):
    """A PlainCNN's weights saved as fit saves them, a small fake test set, and the accuracy they truly measure."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (64, 28, 28), generator=generator, dtype=torch.uint8)
    test_set = ImageSet(images, torch.randint(0, 10, (64,), generator=generator))
    model = models.build("plain_cnn", seed=0)
    torch.save(model.state_dict(), tmp_path / "weights_plain.pt")
    truth = evaluate(model, test_set, precision="fp32").accuracy
    record = {"model": type(model).__name__, "weights": "weights_plain.pt", "test_accuracy": truth,
              "precision": "fp32", "recipe": {"epochs": 2, "batch_size": 32, "channels_last": True},
              "sizes": {"train": 64, "test": 64}, "steps": 4, "interrupted": False}
    return record, test_set, truth


def history(rows: int, last_accuracy: float) -> pd.DataFrame:
    frame = pd.DataFrame({"step": range(1, rows + 1), "test_set_accuracy": [float("nan")] * rows})
    frame.loc[rows - 1, "test_set_accuracy"] = last_accuracy
    return frame


def test_a_true_record_is_verified_from_the_saved_weights(saved_run, tmp_path):
    record, test_set, truth = saved_run
    check = grading.measure_run("plain", record, tmp_path, {}, test_set)
    assert check.status == grading.VERIFIED, check.detail
    assert check.accuracy == pytest.approx(truth)


def test_rewritten_metrics_are_caught_by_measuring_again(saved_run, tmp_path):
    record, test_set, truth = saved_run
    forged = {**record, "test_accuracy": 0.9999}
    check = grading.measure_run("plain", forged, tmp_path, {}, test_set)
    assert check.status == grading.INCONSISTENT
    assert "records test accuracy 0.9999" in check.detail and f"measure {truth:.4f}" in check.detail


def test_weights_missing_or_of_another_model_earn_nothing(saved_run, tmp_path):
    record, test_set, _ = saved_run
    assert grading.measure_run("plain", {**record, "weights": ""}, tmp_path, {}, test_set).status == grading.NOT_DONE
    torch.save(models.build("lenet5", seed=0).state_dict(), tmp_path / "weights_plain.pt")
    check = grading.measure_run("plain", record, tmp_path, {}, test_set)
    assert check.status == grading.INCONSISTENT and "fit no model of class 'PlainCNN'" in check.detail


def test_a_shortened_run_is_not_the_profiles_whatever_its_numbers(saved_run):
    record, _, truth = saved_run
    short = {**record, "recipe": {**record["recipe"], "epochs": 1}, "sizes": {"train": 32, "test": 64}, "steps": 1}
    problems, disagree = grading.recipe_problems(short, history(1, truth), epochs=2, train_size=64, test_size=64)
    assert problems == ["1 epochs, the profile prescribes 2", "trained on 32 items, the profile prescribes 64"]
    assert disagree == []
    interrupted = {**record, "interrupted": True}
    assert grading.recipe_problems(interrupted, history(4, truth), 2, 64, 64)[0] == ["the run was interrupted"]


def test_a_history_that_disagrees_with_metrics_is_inconsistent(saved_run):
    record, _, truth = saved_run
    assert grading.recipe_problems(record, history(4, truth), 2, 64, 64) == ([], [])
    _, disagree = grading.recipe_problems({**record, "test_accuracy": 0.9999}, history(4, truth), 2, 64, 64)
    assert disagree == [f"the history ends at test accuracy {truth}, metrics.json records 0.9999"]
    _, disagree = grading.recipe_problems(record, history(3, truth), 2, 64, 64)  # rows cut from the history
    assert "the history holds 3 mini-batches, 2 epochs of 64 items in batches of 32 are 4" in disagree
    assert "metrics.json records 4 steps, the history holds 3" in disagree
    assert grading.recipe_problems(record, None, 2, 64, 64)[1] == ["no history file"]

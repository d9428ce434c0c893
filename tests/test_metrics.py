import numpy as np
import pandas as pd
import pytest
import torch

from labkit import metrics

CLASSES = ["a", "b", "c"]
# true a: a a b | true b: b c | true c: c c c c
TARGETS = [0, 0, 0, 1, 1, 2, 2, 2, 2]
PREDICTIONS = [0, 0, 1, 1, 2, 2, 2, 2, 2]


def test_confusion_matrix_counts_rows_true_columns_predicted():
    confusion = metrics.confusion_matrix(torch.tensor(TARGETS), torch.tensor(PREDICTIONS), CLASSES)
    assert confusion.to_numpy().tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 4]]
    assert list(confusion.index) == CLASSES and list(confusion.columns) == CLASSES
    assert (confusion.index.name, confusion.columns.name) == ("true", "predicted")


def test_confusion_matrix_keeps_classes_that_never_occur():
    confusion = metrics.confusion_matrix(np.array([0, 0]), np.array([0, 0]), CLASSES)
    assert confusion.to_numpy().tolist() == [[2, 0, 0], [0, 0, 0], [0, 0, 0]]


def test_per_class_accuracy():
    table = metrics.per_class_accuracy(TARGETS, PREDICTIONS, CLASSES)
    assert list(table.columns) == ["class", "support", "correct", "accuracy"]
    assert table["class"].tolist() == CLASSES
    assert table["support"].tolist() == [3, 2, 4]
    assert table["correct"].tolist() == [2, 1, 4]
    np.testing.assert_allclose(table["accuracy"], [2 / 3, 1 / 2, 1])


def test_classification_report_values():
    report = metrics.classification_report(TARGETS, PREDICTIONS, CLASSES)
    assert list(report.index) == CLASSES + ["accuracy", "macro avg", "weighted avg"]
    assert list(report.columns) == ["precision", "recall", "f1-score", "support"]
    np.testing.assert_allclose(report.loc[CLASSES, "precision"], [1, 1 / 2, 4 / 5])
    np.testing.assert_allclose(report.loc[CLASSES, "recall"], [2 / 3, 1 / 2, 1])
    np.testing.assert_allclose(report.loc[CLASSES, "f1-score"], [4 / 5, 1 / 2, 8 / 9])
    assert report["support"].tolist() == [3, 2, 4, 9, 9, 9]
    assert report.loc["accuracy", "f1-score"] == pytest.approx(7 / 9)
    assert report.loc["macro avg", "precision"] == pytest.approx((1 + 1 / 2 + 4 / 5) / 3)


def test_labels_outside_the_classes_are_refused():
    with pytest.raises(ValueError, match="outside the class indices"):
        metrics.confusion_matrix([0, 3], [0, 1], CLASSES)
    with pytest.raises(ValueError, match="equal length"):
        metrics.per_class_accuracy([0, 1], [0], CLASSES)


def test_most_confused_orders_by_count_and_skips_the_diagonal():
    confusion = pd.DataFrame([[50, 1, 4], [0, 40, 0], [2, 7, 30]], index=CLASSES, columns=CLASSES)
    table = metrics.most_confused(confusion, top=3)
    assert list(table.columns) == ["true", "predicted", "count", "fraction"]
    assert list(zip(table["true"], table["predicted"], table["count"])) == [("c", "b", 7), ("a", "c", 4), ("c", "a", 2)]
    assert table["fraction"].tolist() == pytest.approx([7 / 39, 4 / 55, 2 / 39])


def test_error_rate_by_digit_pair_is_symmetric_and_counts_both_orders():
    digit_pairs = torch.tensor([[1, 2], [2, 1], [1, 2], [3, 3], [3, 3]])
    targets = torch.tensor([0, 0, 0, 1, 1])
    predictions = torch.tensor([0, 1, 1, 1, 0])
    rate = metrics.error_rate_by_digit_pair(digit_pairs, targets, predictions)
    assert rate.shape == (10, 10)
    assert rate.loc[1, 2] == rate.loc[2, 1] == pytest.approx(2 / 3)
    assert rate.loc[3, 3] == pytest.approx(1 / 2)  # the diagonal is not counted twice
    assert rate.isna().sum().sum() == 100 - 3
    np.testing.assert_array_equal(rate.to_numpy(), rate.to_numpy().T)


def test_roc_of_separable_scores_has_area_one():
    curve, auc = metrics.roc(torch.tensor([0, 0, 1, 1]), torch.tensor([0.1, 0.2, 0.8, 0.9]))
    assert auc == 1.0
    assert list(curve.columns) == ["fpr", "tpr", "threshold"]
    probabilities = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9]])
    assert metrics.roc([0, 0, 1, 1], probabilities)[1] == 1.0
    assert metrics.roc([1, 1, 0, 0], probabilities)[1] == 0.0


def test_positive_fraction_per_batch_follows_the_order():
    from labkit.metrics import positive_fraction_per_batch

    targets = [0, 0, 0, 0, 1, 1, 1, 1, 1, 0]
    assert positive_fraction_per_batch(targets, 4).tolist() == [0.0, 1.0, 0.5]


def test_hardest_digit_pairs_ranks_each_unordered_pair_once():
    from labkit.metrics import error_rate_by_digit_pair, hardest_digit_pairs

    digit_pairs = torch.tensor([[7, 9], [9, 7], [2, 2], [0, 1], [7, 9]])
    targets = torch.tensor([0, 0, 1, 0, 0])
    predictions = torch.tensor([1, 0, 0, 0, 1])  # 7/9: 2 of 3 wrong; 2/2: 1 of 1 wrong; 0/1 right
    hardest = hardest_digit_pairs(error_rate_by_digit_pair(digit_pairs, targets, predictions), top=2)
    assert hardest["digits"].tolist() == ["2/2", "7/9"] and hardest["kind"].tolist() == ["same", "different"]
    assert hardest["error rate"].tolist() == pytest.approx([1.0, 2 / 3])
    with pytest.raises(ValueError, match="top must be a positive int"):
        hardest_digit_pairs(error_rate_by_digit_pair(digit_pairs, targets, predictions), top=0)


def test_accuracy_interval_is_the_binomial_normal_approximation():
    assert metrics.accuracy_interval(0.5, 100) == pytest.approx(1.96 * 0.05)
    assert metrics.accuracy_interval(0.99, 10_000) == pytest.approx(1.96 * (0.99 * 0.01 / 10_000) ** 0.5)
    assert metrics.accuracy_interval(1.0, 50) == 0.0
    for accuracy, count, named in ((1.2, 10, "accuracy"), (0.5, 0, "count"), (0.5, 2.5, "count"),
                                   (0.5, True, "count")):
        with pytest.raises(ValueError, match=named):
            metrics.accuracy_interval(accuracy, count)


def test_separated_only_outside_both_intervals():
    # on 5,000 items, 0.99 and 0.98 have intervals of about 0.0028 and 0.0039: a gap of 0.01 separates them
    assert metrics.separated(0.99, 0.98, 5_000) and metrics.separated(0.98, 0.99, 5_000)
    assert not metrics.separated(0.99, 0.988, 5_000)  # two-tenths of a point: inside the intervals
    assert not metrics.separated(0.99, 0.98, 100)  # the same gap on 100 items is noise

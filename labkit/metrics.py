"""Metrics as data: confusion matrix, per-class accuracy, classification report, ROC, accuracy intervals.

Every function takes 1-D integer predictions and targets (torch tensors on any
device, NumPy arrays or lists) and returns a pandas DataFrame; plots.py draws them.
One set of functions serves both labs: 10 digit classes, or 2 pair classes
("different", "same").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sklearn.metrics
import torch


def as_numpy(values) -> np.ndarray:
    """A NumPy array from a torch tensor (any device, with or without grad), an array or a list."""
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def _labels(targets, predictions, classes) -> tuple[np.ndarray, np.ndarray]:
    """Targets and predictions as 1-D int arrays of equal length, every value a valid class index."""
    targets, predictions = as_numpy(targets), as_numpy(predictions)
    if targets.ndim != 1 or targets.shape != predictions.shape:
        raise ValueError(
            f"targets and predictions must be 1-D of equal length, got shapes {targets.shape} and {predictions.shape}"
        )
    for name, values in (("targets", targets), ("predictions", predictions)):
        if values.size and not np.issubdtype(values.dtype, np.integer):
            raise ValueError(f"{name} must be integer class indices, got dtype {values.dtype}")
        bad = values[(values < 0) | (values >= len(classes))]
        if bad.size:
            raise ValueError(f"{name} hold {bad[0]!r}, outside the class indices 0..{len(classes) - 1} of {classes!r}")
    return targets.astype(np.int64), predictions.astype(np.int64)


def confusion_matrix(targets, predictions, classes) -> pd.DataFrame:
    """Counts: rows are the true class, columns the predicted class, both named by `classes`."""
    classes = [str(c) for c in classes]
    targets, predictions = _labels(targets, predictions, classes)
    counts = sklearn.metrics.confusion_matrix(targets, predictions, labels=range(len(classes)))
    return pd.DataFrame(
        counts,
        index=pd.Index(classes, name="true"),
        columns=pd.Index(classes, name="predicted"),
    )


def per_class_accuracy(targets, predictions, classes) -> pd.DataFrame:
    """One row per class: support (images of that class), correct, accuracy (fraction; NaN without support)."""
    confusion = confusion_matrix(targets, predictions, classes)
    support = confusion.sum(axis=1).to_numpy()
    correct = np.diag(confusion.to_numpy())
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(support > 0, correct / support, np.nan)
    return pd.DataFrame({"class": confusion.index, "support": support, "correct": correct, "accuracy": accuracy})


def classification_report(targets, predictions, classes) -> pd.DataFrame:
    """sklearn's report as a table: precision, recall, f1-score, support per class, then accuracy, macro, weighted.

    The accuracy row holds the accuracy in every score column and the total support, as one row should.
    """
    classes = [str(c) for c in classes]
    targets, predictions = _labels(targets, predictions, classes)
    report = sklearn.metrics.classification_report(
        targets, predictions, labels=range(len(classes)), target_names=classes, output_dict=True, zero_division=0
    )
    accuracy = report.pop("accuracy", None)
    table = pd.DataFrame.from_dict(report, orient="index")
    if accuracy is not None:
        row = {"precision": accuracy, "recall": accuracy, "f1-score": accuracy, "support": len(targets)}
        table = pd.concat([table.loc[classes], pd.DataFrame([row], index=["accuracy"]), table.drop(index=classes)])
    table["support"] = table["support"].astype(int)
    return table


def most_confused(confusion: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The `top` off-diagonal cells of a confusion matrix, most frequent first.

    Columns: true, predicted, count, fraction (of the images of the true class).
    """
    counts = confusion.to_numpy()
    totals = counts.sum(axis=1)
    true, predicted = np.nonzero(counts * (1 - np.eye(len(counts), dtype=counts.dtype)))
    table = pd.DataFrame({
        "true": confusion.index[true],
        "predicted": confusion.columns[predicted],
        "count": counts[true, predicted],
        "fraction": counts[true, predicted] / totals[true],
    })
    return table.sort_values("count", ascending=False, kind="stable").head(top).reset_index(drop=True)


def error_rate_by_digit_pair(digit_pairs, targets, predictions, num_digits: int = 10) -> pd.DataFrame:
    """Lab B: the error rate of pairs showing digits (i, j), counting (i, j) and (j, i) together.

    `digit_pairs` (P, 2) holds the digit of the left and right image of every pair; the result is a
    symmetric num_digits x num_digits table, NaN where no pair shows those digits.
    """
    digits = as_numpy(digit_pairs)
    if digits.ndim != 2 or digits.shape[1] != 2:
        raise ValueError(f"digit_pairs must have shape (P, 2), got {digits.shape}")
    targets, predictions = _labels(targets, predictions, ("different", "same"))
    if len(targets) != len(digits):
        raise ValueError(f"{len(digits)} digit pairs but {len(targets)} targets")
    if digits.size and (digits.min() < 0 or digits.max() >= num_digits):
        raise ValueError(f"digit_pairs hold values outside 0..{num_digits - 1}: {digits.min()}..{digits.max()}")
    pairs = np.zeros((num_digits, num_digits))
    errors = np.zeros((num_digits, num_digits))
    np.add.at(pairs, (digits[:, 0], digits[:, 1]), 1)
    np.add.at(errors, (digits[:, 0], digits[:, 1]), targets != predictions)
    pairs = pairs + pairs.T - np.diag(np.diag(pairs))
    errors = errors + errors.T - np.diag(np.diag(errors))
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(pairs > 0, errors / pairs, np.nan)
    index = pd.RangeIndex(num_digits, name="left digit")
    return pd.DataFrame(rate, index=index, columns=pd.RangeIndex(num_digits, name="right digit"))


def hardest_digit_pairs(error_rate: pd.DataFrame, top: int = 4) -> pd.DataFrame:
    """The `top` digit pairs of an error_rate_by_digit_pair table with the highest error rate, each unordered pair
    once: columns "digits" ("7/9"; "2/2" is a same-digit pair), "kind" ("same" or "different"), "error rate"."""
    if not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a positive int, got {top!r}")
    n = len(error_rate)
    rows = [(f"{i}/{j}", "same" if i == j else "different", float(error_rate.iat[i, j]))
            for i in range(n) for j in range(i, n) if not np.isnan(error_rate.iat[i, j])]
    frame = pd.DataFrame(rows, columns=["digits", "kind", "error rate"])
    return frame.sort_values("error rate", ascending=False, kind="stable").head(top).reset_index(drop=True)


def roc(targets, scores) -> tuple[pd.DataFrame, float]:
    """ROC curve (columns fpr, tpr, threshold) and its area, for binary targets and scores of class 1.

    `scores` are P(class 1), shape (N,), or class probabilities (N, 2) whose second column is used.
    """
    targets, scores = as_numpy(targets), as_numpy(scores).astype(np.float64)
    if scores.ndim == 2 and scores.shape[1] == 2:
        scores = scores[:, 1]
    if scores.ndim != 1 or scores.shape != targets.shape:
        raise ValueError(f"scores must be (N,) or (N, 2) matching {targets.shape[0]} targets, got {scores.shape}")
    if set(np.unique(targets).tolist()) != {0, 1}:
        raise ValueError(f"roc needs targets with both classes 0 and 1, got values {np.unique(targets).tolist()}")
    fpr, tpr, threshold = sklearn.metrics.roc_curve(targets, scores)
    auc = float(sklearn.metrics.roc_auc_score(targets, scores))
    return pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": threshold}), auc


def positive_fraction_per_batch(targets, batch_size: int) -> np.ndarray:
    """Fraction of targets equal to 1 in each consecutive mini-batch of `batch_size`, in the given order."""
    targets = as_numpy(targets).astype(float)
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    starts = np.arange(0, len(targets), batch_size)
    return np.add.reduceat(targets, starts) / np.diff(np.append(starts, len(targets)))


def accuracy_interval(accuracy: float, count: int, z: float = 1.96) -> float:
    """Half-width of the 95% interval (z = 1.96) of an accuracy measured on `count` items: z * sqrt(a(1 - a) / n).

    The normal approximation to the binomial: how far the accuracy could move from sampling alone, had
    another `count` items of the same kind been measured.
    """
    if not 0 <= accuracy <= 1:
        raise ValueError(f"accuracy must be in [0, 1], got {accuracy!r}")
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"count must be a positive int (the items measured), got {count!r}")
    return z * float(np.sqrt(accuracy * (1 - accuracy) / count))


def separated(first: float, second: float, count: int) -> bool:
    """True when two accuracies, each measured on `count` items, differ by more than their two 95% intervals
    together: only then is one ranked above the other, else the gap may be sampling noise."""
    return abs(first - second) > accuracy_interval(first, count) + accuracy_interval(second, count)

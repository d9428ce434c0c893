"""Interactive explorers of a run's results in a notebook: nothing trains on interaction, every update is cheap.

    digit_explorer(evaluation, test_images, train_images, train_labels)
        lab A: test images by true and predicted digit; the image, the model's probabilities, and the
        nearest training images by pixel distance
    pair_explorer(evaluation, pair_set)
        lab B: pairs by the digits they show, with P(same); a threshold slider updates the confusion
        matrix and accuracy and moves the point on the ROC curve

Each explorer is a small class of ipywidgets (8) whose observers call its methods, so a test sets
`explorer.threshold.value = 0.9` and reads the views. Pictures are PNG bytes of small Agg figures in
`widgets.Image`, texts are `widgets.HTML`: an update redraws one small figure and nothing else.

Static where nothing renders widgets: a cell's value that is an explorer offers the widget view *and*
a PNG of its current state (`_repr_mimebundle_`). JupyterLab with a kernel renders the widget; GitHub,
nbconvert without saved widget state, and untrusted notebooks fall back to the PNG. Executed without
a frontend (nbclient, papermill, nbval) the saved output keeps both, so a reader sees the initial state.
"""

from __future__ import annotations

import base64
import html
import io
from contextlib import contextmanager

import ipywidgets as widgets
import matplotlib.image
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from . import metrics
from .metrics import as_numpy
from .pairs import PairSet
from .plots import RIGHT, WRONG, _styled

DPI = 80  # pictures are looked at on screen and redrawn on every move: small and quick
NEIGHBOURS = 5
CANDIDATES = 100  # nearest by a fast float32 distance, then re-ranked by the exact integer one
CHUNK = 16384  # training images converted to float at a time: 60,000 never need 188 MB of float32 at once
ANY = "any"


# ---------------------------------------------------------------- pictures


def figure(width: float, height: float, constrained: bool = True, **subplots) -> Figure:
    """A figure outside pyplot: nothing piles up, nothing shows by itself.

    Constrained layout places labels well but solves the layout again on every draw, and a widget redraws on every
    move: rows of images are placed by hand instead.
    """
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained" if constrained else None)
    if subplots:
        fig.subplots(**subplots, squeeze=False)
    return fig


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


@_styled
def message_png(text: str, width: float = 3.6) -> bytes:
    """A picture that says `text`: shown where there is no image to show."""
    fig = figure(width, 0.5)
    fig.text(0.5, 0.5, text, ha="center", va="center")
    return png_bytes(fig)


def show_image(ax, image: np.ndarray, title: str = "", color: str = RIGHT) -> None:
    ax.imshow(image, cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
    ax.set_title(title, fontsize=7, color=color, pad=2)
    ax.set_axis_off()


@_styled
def side_by_side(lines: list[str], pictures: list[bytes]) -> bytes:
    """One PNG: `lines` of text above `pictures` (PNG bytes) placed side by side at their own pixel size."""
    images = [matplotlib.image.imread(io.BytesIO(picture), format="png") for picture in pictures]
    line_height, margin = 15, 6
    text_height = line_height * len(lines) + margin
    longest_line = max((len(line) for line in lines), default=0) * 5.5 + 2 * margin  # about 5.5 px a character
    width = int(max(sum(image.shape[1] for image in images), longest_line))
    height = max((image.shape[0] for image in images), default=0) + text_height
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    for row, line in enumerate(lines):
        fig.text(margin / width, 1 - line_height * (row + 1) / height, line, fontsize=8)
    left = 0
    for image in images:  # figimage counts pixels from the bottom left
        fig.figimage(image, xo=left, yo=height - text_height - image.shape[0])
        left += image.shape[1]
    return png_bytes(fig)


# ---------------------------------------------------------------- shared by both explorers


class Explorer:
    """A root widget (`widget`) and a static picture of the current state (`snapshot`) shown beside it."""

    widget: widgets.Widget

    def __init__(self):
        self._quiet = False

    @contextmanager
    def _changing_widgets(self):
        """Set several widgets without running their observers; the caller redraws once afterwards."""
        was_quiet, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = was_quiet

    def summary(self) -> list[str]:
        """The current state in a few lines of text."""
        raise NotImplementedError

    def pictures(self) -> list[bytes]:
        """The PNGs the widget shows now."""
        raise NotImplementedError

    def snapshot(self) -> bytes:
        """A PNG of the current state: the summary above the pictures."""
        return side_by_side(self.summary(), self.pictures())

    def _repr_mimebundle_(self, **kwargs) -> dict:
        # A frontend with a widget manager prefers the widget view; a viewer without one (GitHub,
        # nbconvert without widget state, an untrusted notebook) shows the PNG; text/plain is the last resort.
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["image/png"] = base64.b64encode(self.snapshot()).decode("ascii")
        bundle["text/plain"] = "\n".join(self.summary())
        return bundle


def _images_tensor(images, name: str) -> torch.Tensor:
    """(N, H, W) uint8 images on the CPU from a tensor, an array, or an ImageSet (its `.images`)."""
    images = getattr(images, "images", images)
    images = torch.as_tensor(as_numpy(images)) if not isinstance(images, torch.Tensor) else images.detach().cpu()
    if images.dtype != torch.uint8 or images.ndim != 3:
        raise ValueError(f"{name} must be uint8 images (N, H, W) (a tensor, an array or an ImageSet), "
                         f"got {images.dtype} {tuple(images.shape)}")
    return images


def _kept_predictions(evaluation) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if getattr(evaluation, "predictions", None) is None or getattr(evaluation, "probabilities", None) is None:
        raise ValueError(f"an explorer needs an Evaluation with predictions and probabilities, got "
                         f"{type(evaluation).__name__} without them; evaluate(model, dataset) with "
                         f"keep_predictions=True (the default)")
    return (as_numpy(evaluation.predictions).astype(np.int64), as_numpy(evaluation.targets).astype(np.int64),
            as_numpy(evaluation.probabilities).astype(np.float64))


# ---------------------------------------------------------------- lab A: nearest training images


class NearestImages:
    """Training images nearest to a query image by pixel L2 distance: one pass of matrix-vector products.

    ||t - q||^2 = ||t||^2 - 2 t.q + ||q||^2, with ||t||^2 computed once. The float32 distances pick
    candidates; their exact integer distances rank them, so an image's distance to itself is exactly 0.
    """

    def __init__(self, images, labels):
        images = _images_tensor(images, "train_images")
        self.labels = torch.as_tensor(as_numpy(labels)).long()
        if self.labels.shape != images.shape[:1]:
            raise ValueError(f"train_labels must hold one label per training image ({len(images)}), "
                             f"got shape {tuple(self.labels.shape)}")
        self.shape = tuple(images.shape[1:])
        self.flat = images.reshape(len(images), -1).contiguous()
        self.squared_norms = torch.cat([chunk.float().square().sum(1) for chunk in self.flat.split(CHUNK)])

    def nearest(self, query, k: int = NEIGHBOURS) -> tuple[torch.Tensor, torch.Tensor]:
        """Indices and L2 distances (in 0..255 pixel units) of the `k` nearest training images, nearest first."""
        query = torch.as_tensor(as_numpy(query))
        if tuple(query.shape) != self.shape:
            raise ValueError(f"query must be one image of shape {self.shape}, got {tuple(query.shape)}")
        query = query.reshape(-1)
        dots = torch.cat([chunk.float() @ query.float() for chunk in self.flat.split(CHUNK)])
        approximate = self.squared_norms - 2 * dots
        candidates = approximate.topk(min(k + CANDIDATES, len(approximate)), largest=False).indices
        exact = (self.flat[candidates].long() - query.long()).square().sum(1)
        order = torch.argsort(exact, stable=True)[:k]
        return candidates[order], exact[order].double().sqrt()


# ---------------------------------------------------------------- lab A: the digit explorer


class DigitExplorer(Explorer):
    """Test images by true and predicted digit: the image, the probabilities, the nearest training images."""

    def __init__(self, evaluation, test_images, train_images=None, train_labels=None, *, classes=None,
                 true=None, predicted=None, neighbours: int = NEIGHBOURS):
        super().__init__()
        self.predictions, self.targets, self.probabilities = _kept_predictions(evaluation)
        self.classes = [str(c) for c in (classes if classes is not None else evaluation.classes)]
        self.images = _images_tensor(test_images, "test_images").numpy()
        if len(self.images) != len(self.targets) or self.probabilities.shape != (len(self.targets), len(self.classes)):
            raise ValueError(f"the evaluation covers {len(self.targets)} images with probabilities of shape "
                             f"{self.probabilities.shape} over {len(self.classes)} classes, but test_images holds "
                             f"{len(self.images)}: pass the images the evaluation was made on")
        if (train_images is None) != (train_labels is None):
            raise ValueError("pass both train_images and train_labels (for the nearest training images), or neither")
        self.training = None if train_images is None else NearestImages(train_images, train_labels)
        self.neighbours = neighbours
        self.counts = metrics.confusion_matrix(self.targets, self.predictions, self.classes).to_numpy()
        self.matching = np.zeros(0, dtype=np.int64)

        choices = list(range(len(self.classes)))
        self.true_digit = widgets.Dropdown(description="true", options=choices)
        self.predicted_digit = widgets.Dropdown(description="predicted", options=choices)
        self.position = widgets.IntSlider(description="image", min=1, max=1, value=1, continuous_update=False)
        self.previous_button = widgets.Button(description="◀", layout=widgets.Layout(width="3em"))
        self.next_button = widgets.Button(description="▶", layout=widgets.Layout(width="3em"))
        self.status = widgets.HTML()
        self.image_view = widgets.Image(format="png")
        self.neighbour_view = widgets.Image(format="png")

        self.true_digit.observe(self._on_cell_change, names="value")
        self.predicted_digit.observe(self._on_cell_change, names="value")
        self.position.observe(self._on_position_change, names="value")
        self.previous_button.on_click(lambda _: self.step(-1))
        self.next_button.on_click(lambda _: self.step(1))
        pictures = [self.image_view] + ([self.neighbour_view] if self.training else [])
        self.widget = widgets.VBox([
            widgets.HBox([self.true_digit, self.predicted_digit]),
            widgets.HBox([self.previous_button, self.position, self.next_button]),
            self.status,
            widgets.HBox(pictures),
        ])
        default_true, default_predicted = self.most_confused_cell()
        self.select(default_true if true is None else true, default_predicted if predicted is None else predicted)

    # -- choosing

    def most_confused_cell(self) -> tuple[int, int]:
        """(true, predicted) of the most frequent mistake; the fullest cell when there is none."""
        counts = self.counts.copy()
        if counts.sum() > np.trace(counts):
            np.fill_diagonal(counts, -1)
        true, predicted = np.unravel_index(np.argmax(counts), counts.shape)
        return int(true), int(predicted)

    def select(self, true: int, predicted: int) -> None:
        """Show the test images of this true and predicted class (indices into `classes`)."""
        for name, value in (("true", true), ("predicted", predicted)):
            if not isinstance(value, (int, np.integer)) or not 0 <= value < len(self.classes):
                raise ValueError(f"{name} must be a class index in 0..{len(self.classes) - 1}, got {value!r}")
        with self._changing_widgets():
            self.true_digit.value = int(true)
            self._label_options()
            self.predicted_digit.value = int(predicted)
        self._show_cell()

    def step(self, by: int) -> None:
        """Move `by` images through the current cell, wrapping around at either end."""
        if len(self.matching):
            self.position.value = (self.position.value - 1 + by) % len(self.matching) + 1

    @property
    def current_index(self) -> int | None:
        """Index into the test set of the image shown, or None when the cell is empty."""
        return int(self.matching[self.position.value - 1]) if len(self.matching) else None

    def nearest_training_images(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Indices and pixel L2 distances of the training images nearest to test image `index`."""
        if self.training is None:
            raise ValueError("no training images: pass train_images and train_labels to digit_explorer")
        return self.training.nearest(self.images[index], self.neighbours)

    # -- observers

    def _on_cell_change(self, change) -> None:
        if self._quiet:
            return
        with self._changing_widgets():
            self._label_options()
        self._show_cell()

    def _on_position_change(self, change) -> None:
        if not self._quiet:
            self._show_image()

    def _label_options(self) -> None:
        """Dropdown labels with their image counts; the predicted ones count within the chosen true class."""
        true, predicted = self.true_digit.value, self.predicted_digit.value
        self.true_digit.options = [(f"{name} ({self.counts[i].sum():,})", i) for i, name in enumerate(self.classes)]
        self.predicted_digit.options = [(f"{name} ({self.counts[true, i]:,})", i)
                                        for i, name in enumerate(self.classes)]
        self.true_digit.value, self.predicted_digit.value = true, predicted  # new options reset the value

    # -- drawing

    def _show_cell(self) -> None:
        true, predicted = self.true_digit.value, self.predicted_digit.value
        self.matching = np.flatnonzero((self.targets == true) & (self.predictions == predicted))
        with self._changing_widgets():
            self.position.max = max(1, len(self.matching))
            self.position.value = 1
            self.position.disabled = len(self.matching) == 0
        self._show_image()

    def _show_image(self) -> None:
        true, predicted = self.classes[self.true_digit.value], self.classes[self.predicted_digit.value]
        index = self.current_index
        if index is None:
            text = f"No test image is true {true} and predicted {predicted}."
            self.status.value = html.escape(text)
            self.image_view.value = message_png(text)
            self.neighbour_view.layout.display = "none"
            return
        confidence = self.probabilities[index, self.predictions[index]]
        self.status.value = html.escape(
            f"image {self.position.value} of {len(self.matching)} that are true {true} and predicted "
            f"{predicted}: test image #{index}, P({predicted}) = {confidence:.4f}")
        self.image_view.value = self._image_png(index)
        if self.training is not None:
            self.neighbour_view.value = self._neighbour_png(index)
            self.neighbour_view.layout.display = None

    @_styled
    def _image_png(self, index: int) -> bytes:
        fig = figure(4.4, 1.7, ncols=2, width_ratios=[1, 2.2])
        image_ax, bars_ax = fig.axes
        true, predicted = self.targets[index], self.predictions[index]
        color = RIGHT if true == predicted else WRONG
        show_image(image_ax, self.images[index], f"#{index}: true {self.classes[true]}", color)
        colors = ["#8c959f"] * len(self.classes)
        colors[predicted] = color
        bars_ax.bar(range(len(self.classes)), self.probabilities[index], color=colors)
        bars_ax.set(xticks=range(len(self.classes)), xticklabels=self.classes, ylim=(0, 1),
                    title=f"probabilities: predicted {self.classes[predicted]}")
        return png_bytes(fig)

    @_styled
    def _neighbour_png(self, index: int) -> bytes:
        neighbours, distances = self.nearest_training_images(index)
        fig = figure(0.75 * len(neighbours) + 0.2, 1.7, constrained=False, ncols=len(neighbours))
        fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.78, wspace=0.12)
        fig.suptitle("nearest training images (label, L2 distance)", fontsize=8)
        for ax, neighbour, distance in zip(fig.axes, neighbours.tolist(), distances.tolist()):
            label = self.training.labels[neighbour].item()
            name = self.classes[label] if 0 <= label < len(self.classes) else str(label)
            show_image(ax, self.training.flat[neighbour].reshape(self.training.shape).numpy(),
                       f"{name}, {distance:.0f}")
        return png_bytes(fig)

    # -- static view

    def summary(self) -> list[str]:
        return ["Digit explorer (interactive in JupyterLab with a running kernel)", html.unescape(self.status.value)]

    def pictures(self) -> list[bytes]:
        with_neighbours = self.training is not None and self.current_index is not None
        shown = [self.image_view] + ([self.neighbour_view] if with_neighbours else [])
        return [bytes(view.value) for view in shown]


def digit_explorer(evaluation, test_images, train_images=None, train_labels=None, *, classes=None,
                   true=None, predicted=None, neighbours: int = NEIGHBOURS) -> DigitExplorer:
    """Lab A: browse `test_images` by true and predicted digit (an Evaluation of a classifier on them).

    Starts on the most frequent mistake unless `true` and `predicted` say otherwise. With training
    images (uint8 (N, 28, 28)) and their labels, each image comes with its `neighbours` nearest ones.
    """
    return DigitExplorer(evaluation, test_images, train_images, train_labels, classes=classes, true=true,
                         predicted=predicted, neighbours=neighbours)


# ---------------------------------------------------------------- lab B: the pair explorer


class PairExplorer(Explorer):
    """Pairs by the digits they show, with P(same); a decision threshold with its confusion matrix and ROC point.

    A pair is predicted "same" when P(same) > threshold: at 0.5 that is the model's argmax, at 1 nothing is
    "same", at 0 everything (but a P(same) of exactly 0) is.
    """

    def __init__(self, scores, targets, pair_set: PairSet, *, threshold: float = 0.5):
        super().__init__()
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
            raise ValueError(f"threshold must be a number in [0, 1], got {threshold!r}")
        scores = as_numpy(scores).astype(np.float64)
        self.scores = scores[:, 1] if scores.ndim == 2 and scores.shape[1] == 2 else scores
        self.targets = as_numpy(targets).astype(np.int64)
        if self.scores.ndim != 1 or self.scores.shape != self.targets.shape or len(self.targets) != len(pair_set):
            raise ValueError(f"scores must be P(same) (N,) or class probabilities (N, 2) for the {len(pair_set)} "
                             f"pairs of pair_set, with as many targets; got scores {scores.shape} and targets "
                             f"{self.targets.shape}")
        self.pair_set = pair_set
        self.digits = as_numpy(pair_set.digit_pairs())
        self.digit_names = [str(c) for c in pair_set.images.classes]
        self.roc_curve, self.auc = metrics.roc(self.targets, self.scores)
        self.matching = np.arange(len(self.targets))

        digit_choices = [ANY] + list(range(len(self.digit_names)))
        self.left_digit = widgets.Dropdown(description="left digit", options=digit_choices, value=ANY)
        self.right_digit = widgets.Dropdown(description="right digit", options=digit_choices, value=ANY)
        self.position = widgets.IntSlider(description="pair", min=1, max=1, value=1)
        self.pair_status = widgets.HTML()
        self.pair_view = widgets.Image(format="png")
        self.threshold = widgets.FloatSlider(description="threshold", min=0, max=1, step=0.01, value=threshold,
                                             readout_format=".2f")
        self.accuracy_label = widgets.HTML()
        self.confusion_view = widgets.HTML()
        self.roc_view = widgets.Image(format="png")
        self._roc_figure, self._roc_marker = self._draw_roc()

        self.left_digit.observe(self._on_digits_change, names="value")
        self.right_digit.observe(self._on_digits_change, names="value")
        self.position.observe(self._on_position_change, names="value")
        self.threshold.observe(self._on_threshold_change, names="value")
        self.widget = widgets.VBox([
            widgets.HBox([self.left_digit, self.right_digit, self.position]),
            self.pair_status,
            self.pair_view,
            self.threshold,
            self.accuracy_label,
            widgets.HBox([self.confusion_view, self.roc_view]),
        ])
        self._show_threshold()
        self._show_digits()

    # -- choosing

    def matching_pairs(self, left, right) -> np.ndarray:
        """Indices of the pairs showing digits `left` and `right` in either order; ANY matches every digit."""
        chosen = [digit for digit in (left, right) if digit != ANY]
        first, second = self.digits[:, 0], self.digits[:, 1]
        if not chosen:
            return np.arange(len(self.targets))
        if len(chosen) == 1:
            return np.flatnonzero((first == chosen[0]) | (second == chosen[0]))
        a, b = chosen
        return np.flatnonzero(((first == a) & (second == b)) | ((first == b) & (second == a)))

    def select_pair(self, index: int) -> None:
        """Show pair `index` of the pair set, among the pairs showing its two digits."""
        if not isinstance(index, (int, np.integer)) or not 0 <= index < len(self.targets):
            raise ValueError(f"index must be a pair index in 0..{len(self.targets) - 1}, got {index!r}")
        left, right = (int(d) for d in self.digits[index])
        with self._changing_widgets():
            self.left_digit.value, self.right_digit.value = left, right
        self._show_digits(showing=index)

    @property
    def current_index(self) -> int | None:
        """Index into the pair set of the pair shown, or None when no pair shows the chosen digits."""
        return int(self.matching[self.position.value - 1]) if len(self.matching) else None

    def predictions(self) -> np.ndarray:
        """1 (same) where P(same) > threshold, else 0."""
        return (self.scores > self.threshold.value).astype(np.int64)

    def confusion_matrix(self) -> pd.DataFrame:
        """Counts at the current threshold: rows true class, columns predicted ("different", "same")."""
        return metrics.confusion_matrix(self.targets, self.predictions(), PairSet.classes)

    def accuracy(self) -> float:
        return float((self.predictions() == self.targets).mean())

    def roc_point(self) -> tuple[float, float]:
        """(false positive rate, true positive rate) at the current threshold."""
        counts = self.confusion_matrix().to_numpy()
        return counts[0, 1] / counts[0].sum(), counts[1, 1] / counts[1].sum()

    # -- observers

    def _on_digits_change(self, change) -> None:
        if not self._quiet:
            self._show_digits()

    def _on_position_change(self, change) -> None:
        if not self._quiet:
            self._show_pair()

    def _on_threshold_change(self, change) -> None:
        self._show_threshold()
        self._show_pair_status()

    # -- drawing

    def _show_digits(self, showing: int | None = None) -> None:
        """Step through the pairs of the chosen digits, from pair `showing` (an index among them) or the first."""
        self.matching = self.matching_pairs(self.left_digit.value, self.right_digit.value)
        with self._changing_widgets():
            self.position.max = max(1, len(self.matching))
            self.position.value = 1 if showing is None else int(np.searchsorted(self.matching, showing)) + 1
            self.position.disabled = len(self.matching) == 0
        self._show_pair()

    def _show_pair(self) -> None:
        index = self.current_index
        self.pair_view.value = self._pair_png(index) if index is not None else message_png(self._no_pair_text())
        self._show_pair_status()

    def _digit_choice_text(self) -> str:
        chosen = [self.digit_names[d] for d in (self.left_digit.value, self.right_digit.value) if d != ANY]
        if not chosen:
            return "all pairs"
        return f"pairs showing a {chosen[0]}" if len(chosen) == 1 else f"pairs showing {chosen[0]} and {chosen[1]}"

    def _no_pair_text(self) -> str:
        return f"No pair in this set: no {self._digit_choice_text()}."

    def _show_pair_status(self) -> None:
        index = self.current_index
        if index is None:
            self.pair_status.value = html.escape(self._no_pair_text())
            return
        predicted = PairSet.classes[int(self.scores[index] > self.threshold.value)]
        self.pair_status.value = html.escape(
            f"pair {self.position.value} of {len(self.matching)} ({self._digit_choice_text()}): pair #{index}, "
            f"target {PairSet.classes[self.targets[index]]}, P(same) = {self.scores[index]:.4f}, "
            f"predicted {predicted} at threshold {self.threshold.value:.2f}")

    @_styled
    def _pair_png(self, index: int) -> bytes:
        left, right = (side[0].numpy() for side in self.pair_set.images_of([index]))
        fig = figure(2.4, 1.5, constrained=False, ncols=2)
        fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.78, wspace=0.08)
        left_digit, right_digit = (self.digit_names[d] for d in self.digits[index])
        fig.suptitle(f"#{index}: {PairSet.classes[self.targets[index]]}, P(same) {self.scores[index]:.2f}",
                     fontsize=8)
        show_image(fig.axes[0], left, left_digit)
        show_image(fig.axes[1], right, right_digit)
        return png_bytes(fig)

    @_styled
    def _draw_roc(self):
        """The ROC curve, drawn once; only the marker of the current threshold moves."""
        fig = figure(2.6, 2.4)
        ax = fig.add_subplot()
        ax.plot(self.roc_curve["fpr"], self.roc_curve["tpr"], color="tab:blue", lw=1.4)
        ax.plot([0, 1], [0, 1], color="#8c959f", lw=0.8, ls="--")
        ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), xlabel="false positive rate", ylabel="true positive rate",
               title=f"ROC (area {self.auc:.4f})")
        (marker,) = ax.plot([], [], "o", color=WRONG, markersize=6)
        return fig, marker

    def _show_threshold(self) -> None:
        confusion = self.confusion_matrix()
        false_positive_rate, true_positive_rate = self.roc_point()
        self.accuracy_label.value = html.escape(
            f"threshold {self.threshold.value:.2f}: accuracy {self.accuracy():.4f}, "
            f"true positive rate {true_positive_rate:.4f}, false positive rate {false_positive_rate:.4f}")
        self.confusion_view.value = confusion.to_html()
        self._roc_marker.set_data([false_positive_rate], [true_positive_rate])
        self.roc_view.value = png_bytes(self._roc_figure)

    # -- static view

    def summary(self) -> list[str]:
        counts = self.confusion_matrix().to_numpy()
        return ["Pair explorer (interactive in JupyterLab with a running kernel)",
                html.unescape(self.pair_status.value),
                html.unescape(self.accuracy_label.value),
                f"true different: {counts[0, 0]:,} predicted different, {counts[0, 1]:,} predicted same; "
                f"true same: {counts[1, 0]:,} predicted different, {counts[1, 1]:,} predicted same"]

    def pictures(self) -> list[bytes]:
        return [bytes(self.pair_view.value), bytes(self.roc_view.value)]


def pair_explorer(evaluation, pair_set: PairSet, *, threshold: float = 0.5) -> PairExplorer:
    """Lab B: explore an Evaluation of a pair model on `pair_set` (probabilities[:, 1] = P(same)).

    For scores from elsewhere: PairExplorer(scores, targets, pair_set).
    """
    predictions, targets, probabilities = _kept_predictions(evaluation)
    return PairExplorer(probabilities, targets, pair_set, threshold=threshold)

"""The explorers on tiny synthetic results: set a widget's value, check what the views show."""

import base64

import numpy as np
import pytest
import torch

from labkit.evaluate import Evaluation
from labkit.explore import ANY, NearestImages, PairExplorer, digit_explorer, pair_explorer
from labkit.pairs import PairSet

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DIGITS = tuple(str(d) for d in range(10))


def probabilities_for(predictions: torch.Tensor, classes: int, seed: int = 0) -> torch.Tensor:
    """Random class probabilities whose largest one is the given prediction."""
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(len(predictions), classes, generator=generator)
    logits[torch.arange(len(predictions)), predictions] += 10
    return logits.softmax(1)


@pytest.fixture
def digit_evaluation(tiny_digits) -> Evaluation:
    """Right on most images; every 7th image of a digit d is predicted (d + 2) % 10. No digit is predicted 1 from 4."""
    targets = tiny_digits.labels.clone()
    predictions = targets.clone()
    mistaken = torch.arange(len(targets)) % 7 == 0
    predictions[mistaken] = (targets[mistaken] + 2) % 10
    accuracy = (predictions == targets).float().mean().item()
    return Evaluation(predictions, targets, probabilities_for(predictions, 10), 0.1, accuracy, DIGITS)


@pytest.fixture
def explorer(digit_evaluation, tiny_digits):
    return digit_explorer(digit_evaluation, tiny_digits.images, tiny_digits.images, tiny_digits.labels)


# ---------------------------------------------------------------- lab A


def test_starts_on_the_most_frequent_mistake(explorer, digit_evaluation):
    true, predicted = explorer.true_digit.value, explorer.predicted_digit.value
    assert predicted == (true + 2) % 10
    assert explorer.current_index is not None


def test_choosing_a_cell_shows_only_its_images(explorer, digit_evaluation):
    explorer.true_digit.value = 3
    explorer.predicted_digit.value = 5
    targets, predictions = digit_evaluation.targets, digit_evaluation.predictions
    expected = torch.nonzero((targets == 3) & (predictions == 5)).flatten().tolist()
    assert len(expected) > 1 and explorer.position.max == len(expected)
    shown, pictures = [], set()
    for position in range(1, len(expected) + 1):
        explorer.position.value = position
        shown.append(explorer.current_index)
        pictures.add(explorer.image_view.value)
        assert f"image {position} of {len(expected)} that are true 3 and predicted 5" in explorer.status.value
    assert shown == expected
    assert len(pictures) == len(expected)  # each image draws its own picture


def test_the_dropdowns_count_the_images_of_each_choice(explorer, digit_evaluation):
    explorer.true_digit.value = 3
    expected = int(((digit_evaluation.targets == 3) & (digit_evaluation.predictions == 5)).sum())
    assert explorer.predicted_digit.options[5] == (f"5 ({expected})", 5)
    assert explorer.true_digit.options[3] == ("3 (30)", 3)


def test_step_moves_through_the_cell_and_wraps(explorer):
    explorer.select(3, 3)
    count = explorer.position.max
    first = explorer.current_index
    explorer.step(1)
    assert explorer.position.value == 2 and explorer.current_index != first
    explorer.step(-2)
    assert explorer.position.value == count
    explorer.next_button.click()
    assert explorer.current_index == first


def test_an_empty_cell_says_so(explorer):
    explorer.select(4, 1)
    assert explorer.current_index is None
    assert "No test image is true 4 and predicted 1" in explorer.status.value
    assert explorer.position.disabled
    assert bytes(explorer.image_view.value).startswith(PNG_SIGNATURE)
    assert len(explorer.pictures()) == 1  # no neighbours of no image
    explorer.select(4, 4)
    assert explorer.current_index is not None and not explorer.position.disabled
    assert len(explorer.pictures()) == 2  # the image and its neighbours again


def test_a_training_image_is_its_own_nearest_neighbour(explorer, tiny_digits):
    explorer.select(7, 9)
    index = explorer.current_index
    neighbours, distances = explorer.nearest_training_images(index)  # the test images are the training images here
    assert neighbours[0].item() == index and distances[0].item() == 0
    assert len(neighbours) == 5 and torch.all(distances[1:] > 0) and torch.all(distances.diff() >= 0)


def test_nearest_images_match_a_brute_force_search():
    generator = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (500, 28, 28), generator=generator, dtype=torch.uint8)
    query = torch.randint(0, 256, (28, 28), generator=generator, dtype=torch.uint8)
    neighbours, distances = NearestImages(images, torch.zeros(500, dtype=torch.long)).nearest(query, k=5)
    exact = (images.reshape(500, -1).double() - query.reshape(-1).double()).square().sum(1).sqrt()
    assert neighbours.tolist() == torch.argsort(exact, stable=True)[:5].tolist()
    assert torch.allclose(distances, exact[neighbours])


def test_without_training_images_there_are_no_neighbours(digit_evaluation, tiny_digits):
    explorer = digit_explorer(digit_evaluation, tiny_digits, true=2, predicted=2)  # an ImageSet works too
    assert explorer.current_index is not None
    assert len(explorer.pictures()) == 1
    with pytest.raises(ValueError, match="train_images and train_labels"):
        explorer.nearest_training_images(0)


def test_bad_inputs_are_named(digit_evaluation, tiny_digits):
    with pytest.raises(ValueError, match="test_images holds 10"):
        digit_explorer(digit_evaluation, tiny_digits.images[:10])
    with pytest.raises(ValueError, match="both train_images and train_labels"):
        digit_explorer(digit_evaluation, tiny_digits.images, tiny_digits.images)
    with pytest.raises(ValueError, match="uint8 images"):
        digit_explorer(digit_evaluation, tiny_digits.images.float())
    with pytest.raises(ValueError, match="keep_predictions=True"):
        digit_explorer(Evaluation(None, None, None, 0.1, 0.9, DIGITS), tiny_digits.images)
    explorer = digit_explorer(digit_evaluation, tiny_digits.images)
    with pytest.raises(ValueError, match=r"true must be a class index in 0..9, got 10"):
        explorer.select(10, 0)


def test_the_static_view_is_a_png_beside_the_widget(explorer):
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(PNG_SIGNATURE)
    assert "that are true" in bundle["text/plain"]


# ---------------------------------------------------------------- lab B


@pytest.fixture
def pair_set(tiny_digits) -> PairSet:
    return PairSet.build(tiny_digits, count=200, seed=0)


@pytest.fixture
def pair_scores(pair_set) -> np.ndarray:
    """P(same): higher for same-digit pairs, with overlap, so every threshold gives a different matrix."""
    generator = np.random.default_rng(0)
    targets = pair_set.targets.numpy()
    return np.clip(0.3 + 0.4 * targets + generator.normal(0, 0.2, len(targets)), 0.001, 0.999)


@pytest.fixture
def pairs(pair_scores, pair_set) -> PairExplorer:
    return PairExplorer(pair_scores, pair_set.targets, pair_set)


def test_threshold_zero_calls_every_pair_same(pairs, pair_set):
    pairs.threshold.value = 0
    confusion = pairs.confusion_matrix()
    totals = np.bincount(pair_set.targets.numpy(), minlength=2)
    assert confusion["same"].tolist() == totals.tolist() and confusion["different"].tolist() == [0, 0]
    assert pairs.roc_point() == (1.0, 1.0)


def test_threshold_one_calls_every_pair_different(pairs, pair_set):
    pairs.threshold.value = 1
    confusion = pairs.confusion_matrix()
    totals = np.bincount(pair_set.targets.numpy(), minlength=2)
    assert confusion["different"].tolist() == totals.tolist() and confusion["same"].tolist() == [0, 0]
    assert pairs.roc_point() == (0.0, 0.0)


def test_threshold_updates_accuracy_confusion_and_roc_point(pairs, pair_scores, pair_set):
    roc_before, confusion_before = pairs.roc_view.value, pairs.confusion_view.value
    pairs.threshold.value = 0.37
    expected = ((pair_scores > 0.37) == pair_set.targets.numpy()).mean()
    assert f"threshold 0.37: accuracy {expected:.4f}," in pairs.accuracy_label.value
    assert pairs.roc_view.value != roc_before and pairs.confusion_view.value != confusion_before
    assert str(pairs.confusion_matrix().loc["same", "same"]) in pairs.confusion_view.value
    targets = pair_set.targets.numpy()
    expected_point = ((pair_scores[targets == 0] > 0.37).mean(), (pair_scores[targets == 1] > 0.37).mean())
    assert pairs.roc_point() == pytest.approx(expected_point)
    assert [values[0] for values in pairs._roc_marker.get_data()] == pytest.approx(expected_point)


def test_choosing_two_digits_shows_only_their_pairs(pairs, pair_set):
    pairs.left_digit.value = 3
    pairs.right_digit.value = 5
    digits = pair_set.digit_pairs().numpy()
    expected = [i for i, (a, b) in enumerate(digits) if {a, b} == {3, 5}]
    assert len(expected) >= 1 and pairs.position.max == len(expected)
    shown = []
    for position in range(1, len(expected) + 1):
        pairs.position.value = position
        shown.append(pairs.current_index)
        assert f"pair {position} of {len(expected)} (pairs showing 3 and 5)" in pairs.pair_status.value
    assert shown == expected


def test_no_matching_pair_says_so(pairs, pair_set):
    digits = pair_set.digit_pairs().numpy()
    shown = {tuple(sorted(pair)) for pair in digits.tolist()}
    missing = next((a, b) for a in range(10) for b in range(a, 10) if (a, b) not in shown)
    pairs.left_digit.value, pairs.right_digit.value = missing
    assert pairs.current_index is None and pairs.position.disabled
    assert "No pair in this set" in pairs.pair_status.value


def test_select_pair_shows_that_pair_among_its_digits(pairs, pair_set, pair_scores):
    pairs.select_pair(17)
    assert pairs.current_index == 17
    assert {pairs.left_digit.value, pairs.right_digit.value} == set(pair_set.digit_pairs()[17].tolist())
    assert f"pair #17, target {PairSet.classes[pair_set.targets[17]]}, P(same) = {pair_scores[17]:.4f}" \
        in pairs.pair_status.value
    before = pairs.pair_status.value
    pairs.threshold.value = 0 if "predicted different" in before else 1
    assert pairs.pair_status.value != before  # the prediction follows the threshold
    pairs.left_digit.value = pairs.right_digit.value = ANY
    assert pairs.position.max == len(pair_set)


def test_pair_explorer_from_an_evaluation(pair_set, pair_scores):
    probabilities = torch.tensor(np.stack([1 - pair_scores, pair_scores], 1), dtype=torch.float32)
    predictions = probabilities.argmax(1)
    evaluation = Evaluation(predictions, pair_set.targets, probabilities, 0.5, 0.8, PairSet.classes)
    explorer = pair_explorer(evaluation, pair_set, threshold=0.5)
    assert explorer.confusion_matrix().to_numpy().trace() == int((predictions == pair_set.targets).sum())
    bundle = explorer._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]).startswith(PNG_SIGNATURE)
    assert "accuracy" in bundle["text/plain"]


def test_pair_explorer_names_bad_inputs(pair_set, pair_scores):
    with pytest.raises(ValueError, match="for the 200 pairs"):
        PairExplorer(pair_scores[:10], pair_set.targets[:10], pair_set)
    with pytest.raises(ValueError, match=r"threshold must be a number in \[0, 1\], got 2"):
        PairExplorer(pair_scores, pair_set.targets, pair_set, threshold=2)
    with pytest.raises(ValueError, match="index must be a pair index in 0..199, got 200"):
        PairExplorer(pair_scores, pair_set.targets, pair_set).select_pair(200)

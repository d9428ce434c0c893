import math

import pandas as pd
import pytest
import torch
from torch import nn

from labkit.data import Augment
from labkit.train import (
    History,
    TrainingDiverged,
    default_eval_every,
    embeds_once,
    evaluate,
    evaluation_cost,
    fit,
    load_checkpoint,
    save_checkpoint,
)


class TinyNet(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 13 * 13, classes))

    def forward(self, x):
        return self.net(x)


def tiny_fit(data, **options):
    torch.manual_seed(0)
    model = TinyNet()
    settings = dict(epochs=2, lr=3e-3, batch_size=32, seed=0, live=False, progress=False)
    settings.update(options)
    return model, fit(model, data, data, **settings)


def test_history_has_one_row_per_mini_batch(tiny_digits):
    _, history = tiny_fit(tiny_digits, eval_every=4)
    frame = history.frame
    assert isinstance(history, History) and isinstance(frame, pd.DataFrame)
    assert len(frame) == 2 * math.ceil(300 / 32) == frame["step"].max()
    assert list(frame["epoch"].unique()) == [1, 2]
    assert frame["train_loss"].notna().all()
    tested = frame.dropna(subset=["test_loss"])["step"].tolist()
    assert tested == [4, 8, 12, 16, 20]
    assert frame["test_accuracy"].dropna().between(0, 1).all()


def test_eval_every_one_records_test_loss_after_every_batch(tiny_digits):
    _, history = tiny_fit(tiny_digits, eval_every=1, epochs=1)
    assert history.frame["test_loss"].notna().all()


def test_training_learns_and_final_numbers_are_measured(tiny_digits):
    model, history = tiny_fit(tiny_digits, epochs=6)
    final = history.final
    assert set(final) == {"train_accuracy", "train_loss", "test_accuracy", "test_loss"}
    assert final["train_accuracy"] > 0.9
    measured = evaluate(model, tiny_digits)
    assert measured.accuracy == pytest.approx(final["test_accuracy"])
    assert measured.loss == pytest.approx(final["test_loss"], rel=1e-5)
    assert history.frame["train_loss"].iloc[-5:].mean() < history.frame["train_loss"].iloc[:5].mean()


def test_same_seed_same_history(tiny_digits):
    _, first = tiny_fit(tiny_digits, augment=Augment(10, 0.1))
    _, second = tiny_fit(tiny_digits, augment=Augment(10, 0.1))
    columns = ["step", "epoch", "train_loss", "test_loss", "test_accuracy", "lr"]
    pd.testing.assert_frame_equal(first.frame[columns], second.frame[columns])
    _, other = tiny_fit(tiny_digits, seed=1)
    assert not first.frame["train_loss"].equals(other.frame["train_loss"])


def test_evaluation_holds_what_the_metrics_need(tiny_digits):
    model, _ = tiny_fit(tiny_digits, epochs=1)
    result = evaluate(model, tiny_digits, batch_size=64)
    assert result.predictions.shape == result.targets.shape == (300,)
    assert result.probabilities.shape == (300, 10)
    assert torch.allclose(result.probabilities.sum(1), torch.ones(300), atol=1e-5)
    assert result.accuracy == pytest.approx((result.predictions == result.targets).float().mean().item())
    per_class = result.per_class_accuracy()
    assert per_class["support"].sum() == 300
    assert result.confusion_matrix().to_numpy().sum() == 300


class ExplodesAfter(nn.Module):
    """Returns NaN logits from the `after`-th forward pass in training mode on."""

    def __init__(self, after):
        super().__init__()
        self.inner, self.after, self.calls = TinyNet(), after, 0

    def forward(self, x):
        if self.training:
            self.calls += 1
        out = self.inner(x)
        return out * float("nan") if self.training and self.calls >= self.after else out


def test_non_finite_loss_stops_with_step_and_history(tiny_digits):
    with pytest.raises(TrainingDiverged, match=r"at step 7 \(epoch 1\); last finite loss \d") as error:
        fit(ExplodesAfter(7), tiny_digits, tiny_digits, epochs=2, lr=1e-3, batch_size=32, eval_every=5,
            live=False, progress=False)
    kept = error.value.history.frame
    assert kept["step"].tolist() == [1, 2, 3, 4, 5, 6]
    assert kept["train_loss"].map(math.isfinite).all()


@pytest.mark.parametrize("option, value, message", [
    ("epochs", 0, "epochs must be a positive int"),
    ("lr", -1.0, "lr must be a positive finite number"),
    ("batch_size", 0, "batch_size must be a positive int"),
    ("eval_every", 0, "eval_every must be a positive int"),
    ("optimizer", "adagrad", "unknown optimizer 'adagrad'; choose one of"),
    ("scheduler", "step", "unknown scheduler 'step'; choose one of"),
])
def test_bad_arguments_are_named(tiny_digits, option, value, message):
    with pytest.raises(ValueError, match=message):
        tiny_fit(tiny_digits, **{option: value})


@pytest.mark.parametrize("steps", [1, 2, 3, 4, 5, 6])
def test_one_cycle_schedule_handles_very_short_runs(tiny_digits, steps):
    subset = tiny_digits.subset(steps * 10 / 300)  # `steps` images per digit, batches of 10
    _, history = tiny_fit(subset, epochs=1, batch_size=10)
    assert len(history.frame) == steps


def test_default_eval_every_keeps_evaluation_near_a_quarter():
    # 60,000 training images, 10,000 test images, batch 128: a test pass costs ~26 steps
    every = default_eval_every(60_000, 10_000, 128)
    assert 0.2 <= (10_000 / (3 * 128)) / every <= 0.3
    assert default_eval_every(2_000, 100, 128) == 1


def test_siamese_pair_evaluation_embeds_each_image_once_with_the_forward_logits(tiny_digits):
    from labkit import models
    from labkit.data import batches
    from labkit.pairs import PairSet

    torch.manual_seed(0)
    siamese = models.build("siamese").eval()
    pairs = PairSet.build(tiny_digits, count=500, seed=0)
    passes = []
    siamese.encoder.register_forward_hook(lambda module, inputs, output: passes.append(len(inputs[0])))
    result = evaluate(siamese, pairs, batch_size=128)
    assert sum(passes) == len(tiny_digits)  # 300 encoder passes, not 2 x 500
    assert embeds_once(siamese, pairs) and evaluation_cost(siamese, pairs) == len(tiny_digits) / 2
    with torch.inference_mode():
        forward = torch.cat([siamese(*inputs) for inputs, _ in batches(pairs, 128)])
    assert torch.allclose(result.probabilities, forward.softmax(1), atol=1e-5)
    assert torch.equal(result.predictions, forward.argmax(1))
    two_channel = models.build("two_channel")
    assert not embeds_once(two_channel, pairs) and evaluation_cost(two_channel, pairs) == len(pairs)
    assert not embeds_once(siamese, tiny_digits)


def test_checkpoint_round_trip_is_atomic(tiny_digits, tmp_path):
    model, _ = tiny_fit(tiny_digits, epochs=1, checkpoint=tmp_path / "run" / "model.pt")
    restored = TinyNet()
    assert load_checkpoint(tmp_path / "run" / "model.pt", restored) == 1
    for a, b in zip(model.state_dict().values(), restored.state_dict().values()):
        assert torch.equal(a, b)
    save_checkpoint(tmp_path / "run" / "model.pt", restored)
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["model.pt"]
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt", restored)


def test_record_matches_metrics_schema(tiny_digits):
    _, history = tiny_fit(tiny_digits, epochs=1)
    record = history.record()
    assert record["model"] == "TinyNet" and record["epochs"] == 1
    assert len(record["per_class_accuracy"]) == 10
    assert 0 <= record["test_accuracy"] <= 1


def test_confident_mistakes_are_wrong_and_sorted(tiny_digits):
    model, _ = tiny_fit(tiny_digits, epochs=1)
    result = evaluate(model, tiny_digits)
    wrong = result.confident_mistakes(5)
    assert (result.predictions[wrong] != result.targets[wrong]).all()
    confidence = result.probabilities.max(1).values[wrong]
    assert (confidence[:-1] >= confidence[1:]).all()

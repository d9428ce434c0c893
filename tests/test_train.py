import json
import math
import os
import signal
import warnings

import pandas as pd
import pytest
import torch
from conftest import fit_recipe
from torch import nn

from labkit.checkpoint import load_checkpoint, save_checkpoint
from labkit.compute import Compute
from labkit.data import Augment
from labkit.evaluate import embeds_once, evaluate, evaluation_cost
from labkit.recipe import Recipe
from labkit.steps import HISTORY_COLUMNS, StepTest, TrainingDiverged
from labkit.train import EVAL_SHARE, AlreadyTrainedWarning, History, default_eval_every


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
    return model, fit_recipe(model, data, data, **settings)


def test_history_has_one_row_per_mini_batch(tiny_digits):
    _, history = tiny_fit(tiny_digits, eval_every=4)
    frame = history.frame
    assert isinstance(history, History) and isinstance(frame, pd.DataFrame)
    assert len(frame) == 2 * math.ceil(300 / 32) == frame["step"].max()
    assert list(frame["epoch"].unique()) == [1, 2]
    assert frame["train_loss"].notna().all()
    tested = frame.dropna(subset=["test_set_loss"])["step"].tolist()
    assert tested == [4, 8, 12, 16, 20]
    assert frame["test_set_accuracy"].dropna().between(0, 1).all()


def test_columns_and_test_loss_after_every_mini_batch(tiny_digits):
    _, history = tiny_fit(tiny_digits, eval_every=4)
    frame = history.frame
    assert list(frame.columns) == HISTORY_COLUMNS == [
        "step", "epoch", "train_loss", "test_loss", "test_accuracy", "test_scope", "test_set_loss",
        "test_set_accuracy", "val_loss", "val_accuracy", "lr", "seconds"]
    assert frame["test_loss"].map(math.isfinite).all() and frame["test_accuracy"].between(0, 1).all()
    assert set(frame["test_scope"]) == {"one test batch"}  # "auto" on a CPU: the whole set costs far more
    assert frame["val_loss"].isna().all() and "val_accuracy" not in history.final
    assert "one test batch of 32 items" in history.scopes["test_loss"]


def test_per_step_test_batches_leave_training_untouched_and_whole_set_matches(tiny_digits):
    _, batch = tiny_fit(tiny_digits, step_test="batch", test_batch_size=50)
    _, whole = tiny_fit(tiny_digits, step_test="whole", eval_every=4)
    assert batch.frame["train_loss"].equals(whole.frame["train_loss"])
    assert set(whole.frame["test_scope"]) == {"whole test set"}
    measured = whole.frame.dropna(subset=["test_set_loss"])
    assert measured["test_loss"].to_numpy() == pytest.approx(measured["test_set_loss"].to_numpy(), rel=1e-5)
    assert not batch.frame["test_loss"].equals(whole.frame["test_loss"])


def test_step_test_cycles_through_the_whole_test_set(tiny_digits):
    probe = StepTest(tiny_digits, 32, seed=0, step_test="batch", compute=Compute(tiny_digits.device, False, False))
    seen = torch.cat([probe.cycle[(s * 32) % 300:(s * 32) % 300 + 32] for s in range(10)])
    assert len(seen) == 320 and set(seen.tolist()) == set(range(300))


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
        fit_recipe(ExplodesAfter(7), tiny_digits, tiny_digits, epochs=2, lr=1e-3, batch_size=32, eval_every=5,
            live=False, progress=False)
    kept = error.value.history.frame
    assert kept["step"].tolist() == [1, 2, 3, 4, 5, 6]
    assert kept["train_loss"].map(math.isfinite).all()


@pytest.mark.parametrize("option, value, message", [
    ("epochs", 0, "epochs must be a positive int"),
    ("lr", -1.0, "lr must be a positive finite number"),
    ("batch_size", 0, "batch_size must be a positive int"),
    ("eval_every", 0, "eval_every must be a positive int"),
    ("optimizer", "adagrad", "optimizer must be one of"),
    ("scheduler", "plateau", "scheduler must be one of"),
    ("scheduler", "step", "scheduler 'step' needs scheduler_options"),
    ("step_test", "always", "step_test must be one of"),
    ("test_batch_size", 0, "test_batch_size must be a positive int"),
    ("precision", "yes", "precision must be one of"),
    ("augment", 10, "augment must be a labkit.Augment or None, got 10"),
    ("class_weights", [1, -1], "class_weights must be finite non-negative numbers"),
])
def test_bad_arguments_are_named(tiny_digits, option, value, message):
    with pytest.raises(ValueError, match=message):
        tiny_fit(tiny_digits, **{option: value})


@pytest.mark.parametrize("steps", [1, 2, 3, 4, 5, 6])
def test_one_cycle_schedule_handles_very_short_runs(tiny_digits, steps):
    subset = tiny_digits.subset(steps * 10 / 300)  # `steps` images per digit, batches of 10
    _, history = tiny_fit(subset, epochs=1, batch_size=10)
    assert len(history.frame) == steps


def test_default_eval_every_keeps_evaluation_near_its_share_and_at_least_once_an_epoch():
    # a large training set and a cheap test set: 4,000 items at batch 128 cost ~10 steps, so every ~208 steps
    every = default_eval_every(600_000, 4_000, 128)
    assert 0.8 * EVAL_SHARE <= (4_000 / (3 * 128)) / every <= 1.2 * EVAL_SHARE
    # 60,000 training images, 10,000 test images: a test pass costs ~26 steps, more than a twentieth of an
    # epoch of 469 steps, so the whole test set is measured once an epoch
    assert default_eval_every(60_000, 10_000, 128) == 469
    assert default_eval_every(2_000, 1, 128) == 1


def test_siamese_pair_evaluation_embeds_each_image_once_with_the_forward_logits(tiny_digits):
    from labkit import models
    from labkit.data import batches
    from labkit.pairs import PairSet

    torch.manual_seed(0)
    siamese = models.build("siamese").eval()
    pairs = PairSet.build(tiny_digits, count=500, seed=0)
    passes = []
    siamese.encoder.register_forward_hook(lambda module, inputs, output: passes.append(len(inputs[0])))
    result = evaluate(siamese, pairs, batch_size=128, precision="fp32")
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


# ---------------------------------------------------------------- stop, resume, retraining guard


class StopsAt(nn.Module):
    """TinyNet (with dropout, so resuming must restore torch's random state) whose `stop_at`-th training forward
    is interrupted: by a raised KeyboardInterrupt ("raise") or by a SIGINT as Jupyter's stop button sends ("signal")."""

    def __init__(self, stop_at=None, how="raise", inputs=1):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(inputs, 4, 3, stride=2), nn.ReLU(), nn.Flatten(), nn.Dropout(0.2),
                                 nn.Linear(4 * 13 * 13, 10 if inputs == 1 else 2))
        self.stop_at, self.how, self.calls = stop_at, how, 0

    def forward(self, *images):
        if self.training:
            self.calls += 1
            if self.calls == self.stop_at:
                if self.how == "raise":
                    raise KeyboardInterrupt
                os.kill(os.getpid(), signal.SIGINT)
        return self.net(torch.cat(images, 1))


def stop_fit(model, data, test, **options):
    settings = dict(epochs=3, lr=3e-3, batch_size=32, seed=0, live=False, progress=False, eval_every=4)
    settings.update(options)
    return fit_recipe(model, data, test, **settings)


def same_run(first, second, model_a, model_b):
    columns = [c for c in HISTORY_COLUMNS if c != "seconds"]
    pd.testing.assert_frame_equal(first.frame[columns], second.frame[columns])
    assert first.final == second.final
    assert first.epoch_seeds == second.epoch_seeds
    for a, b in zip(model_a.state_dict().values(), model_b.state_dict().values()):
        assert torch.equal(a, b)


def test_interrupt_ends_cleanly_and_resume_equals_one_run(tiny_digits, tmp_path):
    torch.manual_seed(0)
    whole = StopsAt()
    reference = stop_fit(whole, tiny_digits, tiny_digits, augment=Augment(10, 0.1))
    assert not reference.interrupted and reference.stopped_at == 30

    torch.manual_seed(0)
    stopped = StopsAt(stop_at=14)  # mid-epoch 2: steps 1-13 done
    path = tmp_path / "run.pt"
    partial = stop_fit(stopped, tiny_digits, tiny_digits, augment=Augment(10, 0.1), checkpoint=path)
    assert partial.interrupted and partial.stopped_at == 13 and len(partial.frame) == 13
    assert partial.frame["step"].tolist() == list(range(1, 14)) and "test_accuracy" in partial.final
    state = torch.load(path, weights_only=True)
    assert state["step"] == 13 and state["epoch_in_progress"] == 1 and state["batches_done"] == 3
    assert state["interrupted"] and len(state["history"]["columns"]["step"]) == 13

    resumed_model = StopsAt()
    resumed = stop_fit(resumed_model, tiny_digits, tiny_digits, augment=Augment(10, 0.1), checkpoint=path,
                       resume=True)
    same_run(reference, resumed, whole, resumed_model)


def test_stop_at_an_epoch_end_by_signal_then_resume_equals_one_run(tiny_digits, tmp_path):
    from labkit.pairs import RandomPairs

    pairs = RandomPairs(tiny_digits, 160, seed=0)  # fresh pairs each epoch, drawn with the training generator
    test = pairs.evaluation_set()
    torch.manual_seed(0)
    whole = StopsAt(inputs=2)
    reference = stop_fit(whole, pairs, test, scheduler="cosine")
    torch.manual_seed(0)
    stopped = StopsAt(stop_at=5, how="signal", inputs=2)  # the signal arrives in step 5 (the last of epoch 1)
    path = tmp_path / "pairs.pt"
    handler = signal.getsignal(signal.SIGINT)  # Python's default, or SIG_IGN in a background job
    partial = stop_fit(stopped, pairs, test, scheduler="cosine", checkpoint=path)
    assert partial.interrupted and partial.stopped_at == 5  # the step in progress completes
    assert signal.getsignal(signal.SIGINT) is handler  # the handler from before fit is back
    resumed_model = StopsAt(inputs=2)
    resumed = stop_fit(resumed_model, pairs, test, scheduler="cosine", checkpoint=path, resume=True)
    same_run(reference, resumed, whole, resumed_model)
    assert len(reference.epoch_seeds) == 3 and len(set(reference.epoch_seeds)) == 3  # one fresh draw per epoch


def test_trained_pairs_are_the_pairs_fit_trained_on(tiny_digits, monkeypatch):
    import labkit.train
    from labkit.pairs import RandomPairs

    seen = []

    def recording(data, *args, **options):  # fit's batches(), noting each epoch's set
        seen.append(data)
        return batches(data, *args, **options)

    batches = labkit.train.batches
    monkeypatch.setattr(labkit.train, "batches", recording)
    pairs = RandomPairs(tiny_digits, 96, seed=3)
    history = fit_recipe(StopsAt(inputs=2), pairs, pairs.evaluation_set(), epochs=2, lr=1e-3, batch_size=32, seed=5,
                  live=False, progress=False)
    trained = pairs.trained_pairs(history.epoch_seeds)
    assert len(seen) == 2 and len(trained) == 2 * 96
    assert torch.equal(trained.pairs, torch.cat([epoch.pairs for epoch in seen]))
    assert torch.equal(trained.targets, torch.cat([epoch.targets for epoch in seen]))
    assert not torch.equal(seen[0].pairs, seen[1].pairs)  # fresh pairs each epoch
    assert fit_recipe(StopsAt(), tiny_digits, tiny_digits, epochs=1, lr=1e-3).epoch_seeds == []


def test_second_interrupt_while_finishing_propagates(tiny_digits, monkeypatch):
    import labkit.train as train_module

    def interrupted_again(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "measure", interrupted_again)
    with pytest.raises(KeyboardInterrupt):
        stop_fit(StopsAt(stop_at=3), tiny_digits, tiny_digits)
    with train_module.StopRequest() as stop, pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)  # first: noted, training would stop after this step
        assert stop.requested
        os.kill(os.getpid(), signal.SIGINT)  # second: raised


def test_checkpoint_is_plain_data_and_names_a_different_run(tiny_digits, tmp_path):
    path = tmp_path / "run.pt"
    stop_fit(TinyNet(), tiny_digits, tiny_digits, epochs=1, checkpoint=path)
    state = torch.load(path, weights_only=True)
    assert {"model", "optimizer", "scheduler", "epoch_generator_state", "rng", "history", "run"} <= set(state)
    assert state["epoch"] == 1 and state["run"]["recipe"]["lr"] == 3e-3
    with pytest.raises(ValueError, match=r"epochs 1 in the checkpoint, 2 now; lr 0.003 in the checkpoint, 0.001 now"):
        stop_fit(TinyNet(), tiny_digits, tiny_digits, epochs=2, lr=1e-3, checkpoint=path, resume=True)
    with pytest.raises(ValueError, match="model 'TinyNet' in the checkpoint, 'StopsAt' now"):
        stop_fit(StopsAt(), tiny_digits, tiny_digits, epochs=1, checkpoint=path, resume=True)
    with pytest.raises(ValueError, match="resume=True continues from a checkpoint"):
        stop_fit(TinyNet(), tiny_digits, tiny_digits, resume=True)


def test_training_a_trained_model_again_warns(tiny_digits, tmp_path):
    model = TinyNet()
    stop_fit(model, tiny_digits, tiny_digits, epochs=1, checkpoint=tmp_path / "a.pt")
    with pytest.warns(AlreadyTrainedWarning, match=r"continues from its trained weights.*models.build\(name, seed="):
        stop_fit(model, tiny_digits, tiny_digits, epochs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stop_fit(model, tiny_digits, tiny_digits, epochs=1, checkpoint=tmp_path / "a.pt", resume=True)


def test_seeded_build_and_fit_repeat_without_global_seeding(tiny_digits):
    from labkit import models

    runs = []
    for _ in range(2):
        torch.manual_seed(123 + len(runs))  # whatever the global state, build(seed) fixes the weights
        model = models.build("plain_cnn", seed=0)
        runs.append(fit_recipe(model, tiny_digits, tiny_digits, epochs=1, lr=3e-3, batch_size=64, seed=0, live=False,
                        progress=False))
    columns = [c for c in HISTORY_COLUMNS if c != "seconds"]
    pd.testing.assert_frame_equal(runs[0].frame[columns], runs[1].frame[columns])


# ---------------------------------------------------------------- optimizers, schedules, validation, settings


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd", "adadelta", "rmsprop"])
def test_every_named_optimizer_trains(tiny_digits, name):
    _, history = tiny_fit(tiny_digits, epochs=1, optimizer=name, scheduler=None, lr=1e-2)
    assert history.frame["lr"].eq(1e-2).all() and history.recipe.record()["optimizer"] == name


def sgd_at_005(params):
    return torch.optim.SGD(params, lr=0.05)


def test_optimizer_factories_and_instances(tiny_digits):
    _, history = tiny_fit(tiny_digits, epochs=1, lr=1e-2, scheduler=None, optimizer=sgd_at_005)
    assert history.frame["lr"].eq(0.05).all() and history.recipe.record()["optimizer"] == "sgd_at_005"
    with pytest.raises(ValueError, match="optimizer must be one of .* or a callable params -> Optimizer"):
        Recipe(epochs=1, lr=1e-2, optimizer=torch.optim.Adam(TinyNet().parameters()))  # bound to one model


def test_step_lr_halves_every_k_epochs(tiny_digits):
    history = fit_recipe(TinyNet(), tiny_digits, tiny_digits, epochs=5, lr=0.01,
                         scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5),
                         batch_size=100)
    per_epoch = history.frame.groupby("epoch")["lr"].unique().map(list).tolist()
    assert per_epoch == [[0.01], [0.01], [0.005], [0.005], [0.0025]]
    _, named = tiny_fit(tiny_digits, epochs=3, batch_size=100, lr=0.01, scheduler="step",
                        scheduler_options={"step_size": 1, "gamma": 0.5})
    assert named.frame.groupby("epoch")["lr"].first().tolist() == [0.01, 0.005, 0.0025]
    _, batchwise = tiny_fit(tiny_digits, epochs=1, batch_size=50, lr=0.01, scheduler_interval="batch",
                            scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5))
    assert batchwise.frame["lr"].tolist() == [0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025]


@pytest.mark.parametrize("with_val", [True, False])
def test_sgd_with_reduce_on_plateau_steps_on_val_loss_else_train_loss(tiny_digits, with_val):
    built = []

    def plateau(optimizer):  # threshold 100 (absolute): no epoch improves on the first, patience 0: halves from the 2nd
        built.append(torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=0, threshold=100,
                                                                threshold_mode="abs"))
        return built[-1]

    val = tiny_digits.subset(0.5, seed=1) if with_val else None
    history = fit_recipe(TinyNet(), tiny_digits, tiny_digits, val=val, epochs=3, lr=0.01, optimizer="sgd",
                         scheduler=plateau, batch_size=100)
    plateau = built[0]
    assert history.frame.groupby("epoch")["lr"].first().tolist() == [0.01, 0.01, 0.005]
    first_epoch = history.frame[history.frame["epoch"] == 1]
    expected = first_epoch["val_loss"].iloc[-1] if with_val else first_epoch["train_loss"].mean()
    assert plateau.best == pytest.approx(expected)


def test_validation_set_is_measured_with_the_test_set(tiny_digits):
    val = tiny_digits.subset(0.5, seed=1)
    _, history = tiny_fit(tiny_digits, val=val, eval_every=4)
    frame = history.frame
    assert frame.dropna(subset=["val_loss"])["step"].tolist() == [4, 8, 12, 16, 20]
    assert history.final["val_accuracy"] == history.val.accuracy and history.val.predictions.shape == (150,)
    assert frame["val_loss"].iloc[-1] == pytest.approx(history.final["val_loss"])
    assert "validation set (150 items)" in history.scopes["val_loss"]
    record = history.record()
    assert "val_accuracy" not in record  # metrics.json keeps its keys; val lives in final
    assert record["sizes"] == {"train": 300, "test": 300, "val": 150}


def test_recipe_precision_and_determinism_are_recorded(tiny_digits):
    from labkit.env import seed_everything

    _, history = tiny_fit(tiny_digits, epochs=1, precision="fp32", deterministic=True, augment=Augment(10, 0.1),
                          class_weights=[1.0] * 10)
    seed_everything(0)  # deterministic algorithms off again for the other tests
    record = history.record()
    assert history.precision == record["precision"] == "fp32" and history.recipe.deterministic
    recipe = record["recipe"]
    assert recipe["precision"] == "fp32" and recipe["deterministic"] is True
    assert recipe["optimizer"] == "adam" and recipe["scheduler"] == "onecycle"
    assert recipe["augment"] == {"degrees": 10, "translate": 0.1, "flip": 0.0} and recipe["class_weights"] == [1.0] * 10
    assert recipe["step_test"] == "auto" and recipe["test_batch_size"] == 32 and record["sizes"]["val"] is None
    assert Recipe(**{**recipe, "augment": Augment(**recipe["augment"])}) == history.recipe  # the record is the recipe
    json.dumps(record)  # plain data


def test_recipe_validates_once_and_derives_variations():
    recipe = Recipe(epochs=2, lr=3e-3, seed=1)
    varied = recipe.replace(lr=1e-2)
    assert varied.lr == 1e-2 and varied.seed == 1 and recipe.lr == 3e-3
    with pytest.raises(ValueError, match="lr must be a positive finite number, got -1"):
        recipe.replace(lr=-1)
    with pytest.raises(ValueError, match="Recipe has no setting learning_rate"):
        recipe.replace(learning_rate=1e-2)
    with pytest.raises(AttributeError):
        recipe.lr = 1.0  # frozen


def test_pair_sets_get_a_per_step_test_batch(tiny_digits):
    from labkit.pairs import PairSet

    pairs = PairSet.build(tiny_digits, count=200, seed=0)
    history = fit_recipe(StopsAt(inputs=2), pairs, pairs, epochs=1, lr=1e-3, batch_size=50, live=False, progress=False)
    assert history.frame["test_loss"].map(math.isfinite).all() and len(history.frame) == 4

"""The CUDA path: the auto precision, bf16 on request, the whole test set after every step, deterministic mode,
exact resume.

Skipped where there is no CUDA GPU (CI has none); run on a GPU machine with `pytest tests/test_cuda.py`.
"""

import pytest
import torch
from test_train import StopsAt, same_run, stop_fit

from labkit import Recipe, fit, models
from labkit.data import Augment
from labkit.env import auto_precision
from labkit.steps import WHOLE_TEST_SET

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")


@pytest.fixture
def gpu_digits(tiny_digits):
    return tiny_digits.to("cuda")


def run(data, deterministic=True, **options):
    model = models.build("plain_cnn", seed=0).to("cuda")
    recipe = Recipe(epochs=2, lr=3e-3, batch_size=32, seed=0, eval_every=4, deterministic=deterministic)
    return model, fit(model, data, data, recipe.replace(**options), live=False, progress=False)


def test_auto_precision_is_float32_on_a_gpu_and_bf16_trains_on_request(gpu_digits):
    assert auto_precision("cuda") == "fp32"  # bf16 autocast measured slower for the lab's networks on a GPU
    _, history = run(gpu_digits)
    assert history.precision == "fp32"
    if torch.cuda.is_bf16_supported():
        _, history = run(gpu_digits, precision="bf16")
        assert history.precision == "bf16" and history.frame["train_loss"].notna().all()


def test_the_whole_test_set_every_step_on_request(gpu_digits):
    _, history = run(gpu_digits, step_test="whole")
    assert set(history.frame["test_scope"]) == {WHOLE_TEST_SET}
    last = history.frame.iloc[-1]  # after the last step the per-step value is the whole-set measurement
    assert last["test_loss"] == pytest.approx(last["test_set_loss"], rel=1e-4)


def test_deterministic_mode_repeats_a_run_bit_for_bit(gpu_digits):
    model_a, first = run(gpu_digits, augment=Augment(10, 0.1))
    model_b, second = run(gpu_digits, augment=Augment(10, 0.1))
    assert first.recipe.deterministic and second.recipe.deterministic
    same_run(first, second, model_a, model_b)


def test_resume_equals_one_run_in_deterministic_mode(gpu_digits, tmp_path):
    torch.manual_seed(0)
    whole = StopsAt().to("cuda")
    reference = stop_fit(whole, gpu_digits, gpu_digits, deterministic=True)
    torch.manual_seed(0)
    stopped = StopsAt(stop_at=14).to("cuda")
    path = tmp_path / "run.pt"
    partial = stop_fit(stopped, gpu_digits, gpu_digits, deterministic=True, checkpoint=path)
    assert partial.interrupted and partial.stopped_at == 13
    resumed_model = StopsAt().to("cuda")
    resumed = stop_fit(resumed_model, gpu_digits, gpu_digits, deterministic=True, checkpoint=path, resume=True)
    same_run(reference, resumed, whole, resumed_model)

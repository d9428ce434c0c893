"""Self-checks for notebook 01 (the plain CNN): the network, and a training loop written out.

    from labkit.course.selfcheck import cnn as selfcheck
    selfcheck.check_plain_cnn(PlainCNN)                 # the class: parameters, output shape, initial weights
    selfcheck.check_training_loop(losses, reference)    # per-step losses against fit's on the same seed

Each prints one "OK: ..." line or raises SelfCheckFailed saying what is wrong and what to change.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ...models import PlainCNN
from .common import Network, SelfCheckFailed, expect, keep_random_state, passed

PARAMETERS = 28_938
# Cross-entropy of scores that are already probabilities (a softmax before F.cross_entropy) never falls below this:
# -1 + log(e + 9), a correct class at probability 1 and nine others at 0.
SOFTMAX_FLOOR = math.log(math.e + 9) - 1
FEATURES = 32 * 7 * 7  # 32 maps of 7x7 after two 2x2 poolings of a 28x28 image
# The layers with parameters, in the order labkit's PlainCNN creates them: (description, type, shape, count).
LAYERS = [
    ("Conv2d(1, 16, 5, padding=2)", nn.Conv2d, dict(in_channels=1, out_channels=16, kernel_size=(5, 5)), 416),
    ("Conv2d(16, 32, 5, padding=2)", nn.Conv2d, dict(in_channels=16, out_channels=32, kernel_size=(5, 5)), 12_832),
    (f"Linear(32 * 7 * 7 = {FEATURES}, 10)", nn.Linear, dict(in_features=FEATURES, out_features=10), 15_690),
]
# Linear input sizes that come from a classic mistake, and what the mistake is.
LINEAR_INPUT_MISTAKES = {
    32 * 4 * 4: "the convolutions have no padding (28 -> 24 -> 12 -> 8 -> 4): use padding=2 so a 5x5 kernel "
                "keeps the size",
    32 * 14 * 14: "that is the size after one pooling: each block ends with a 2x2 max pooling (28 -> 14 -> 7)",
    32 * 28 * 28: "that is the size without pooling: each block ends with a 2x2 max pooling (28 -> 14 -> 7)",
    16 * 7 * 7: "that counts 16 channels, but the second convolution outputs 32",
    28 * 28: "that is the size of the input image, not of the last feature maps",
}


def _describe(module: nn.Module) -> str:
    if isinstance(module, nn.Conv2d):
        k = "x".join(map(str, module.kernel_size))
        return f"Conv2d {module.in_channels}->{module.out_channels} {k} padding {module.padding[0]}"
    if isinstance(module, nn.Linear):
        return f"Linear {module.in_features}->{module.out_features}"
    return type(module).__name__


def _check_linear_input(layers) -> None:
    for name, module, _ in layers:
        if isinstance(module, nn.Linear) and module.out_features == 10 and module.in_features != FEATURES:
            why = LINEAR_INPUT_MISTAKES.get(module.in_features, "count the values the last block outputs")
            raise SelfCheckFailed(
                f"your Linear layer ({name}) takes {module.in_features:,} inputs, but the flattened features are "
                f"32 * 7 * 7 = {FEATURES:,} values: {why}. Write nn.Linear(32 * 7 * 7, 10)")


def _explain(error: RuntimeError, message: str) -> str:
    if "mat1 and mat2" in str(error) or "shapes cannot be multiplied" in str(error):
        return (f"the Linear layer does not fit the features it receives ({error}): flatten the (B, 32, 7, 7) maps "
                f"to (B, {FEATURES}) with nn.Flatten() or x.flatten(1), and write nn.Linear(32 * 7 * 7, 10)")
    return message


NETWORK = Network("PlainCNN", PlainCNN, PARAMETERS, LAYERS, _describe,
                  order="create the first convolution, then the second, then the Linear layer",
                  created="three layers", weight_scale=0.1, explain=_explain)


def check_plain_cnn(cls) -> None:
    """`cls()` must be labkit's default plain CNN: the same layers created in the same order (so a seed gives the
    same initial weights as models.build("plain_cnn", seed=...)), 28,938 parameters, logits (B, 10)."""
    with keep_random_state():
        model, layers = NETWORK.build(cls, "check_plain_cnn(PlainCNN)")
        _check_linear_input(layers)
        NETWORK.check_count(model, layers)

        x = torch.randn(4, 1, 28, 28)
        out = NETWORK.logits(model.eval(), x)
        expect(not (torch.all(out >= 0) and torch.allclose(out.sum(1), torch.ones(4), atol=1e-4)),
               "forward returns probabilities (a softmax): return the raw scores (logits); cross-entropy applies "
               "the softmax itself")

        reference = NETWORK.check_same_start(model)
        out, expected = NETWORK.outputs_with_same_weights(model, reference, x)
        expect(torch.allclose(out, expected, atol=1e-5, rtol=1e-4),
               "with the same weights your network computes something else than labkit's: each block is "
               "convolution -> ReLU -> 2x2 max pooling, then flatten and the Linear layer (no activation after it)")
    passed(f"PlainCNN: {PARAMETERS:,} parameters (416 + 12,832 + 15,690), logits of shape (B, 10), and the same "
           f"initial weights as labkit's plain_cnn for the same seed")


# ---------------------------------------------------------------- the training loop


def _as_floats(values, name: str) -> list[float]:
    if hasattr(values, "frame"):  # a History
        values = values.frame["train_loss"]
    if hasattr(values, "tolist"):
        values = values.tolist()
    out = []
    for i, value in enumerate(values):
        if isinstance(value, torch.Tensor):
            expect(value.numel() == 1, f"{name}[{i}] is a tensor of shape {tuple(value.shape)}: append one number "
                                       f"per batch, the batch's mean loss (loss.item())")
            value = value.item()
        expect(isinstance(value, (int, float)) and not isinstance(value, bool),
               f"{name}[{i}] is a {type(value).__name__}: append loss.item(), a Python float")
        out.append(float(value))
    return out


def check_training_loop(losses, reference, rtol: float = 1e-3) -> None:
    """`losses` (one float per mini-batch, from the loop written out) must equal `reference` (the History of
    lk.fit on an identically seeded model, or its train_loss column) step by step, to `rtol` relative."""
    expect(isinstance(losses, (list, tuple)) or hasattr(losses, "tolist"),
           f"losses must be a list of numbers, one per batch, got {type(losses).__name__}")
    mine, fits = _as_floats(losses, "losses"), _as_floats(reference, "reference")
    expect(len(mine) > 0, "losses is empty: append each batch's loss (losses.append(loss.item())) in the loop")
    bad = [i for i, v in enumerate(mine) if not math.isfinite(v)]
    expect(not bad, f"the loss is not finite from step {bad[0] + 1 if bad else 0} on: the training diverged; check "
                    f"that the loss is F.cross_entropy on the logits and the learning rate is LR")
    expect(len(mine) == len(fits),
           f"losses has {len(mine)} values but the epoch has {len(fits)} mini-batches: append the loss once per "
           f"batch, inside the loop, for one pass over the batches")
    close = [math.isclose(a, b, rel_tol=rtol, abs_tol=1e-6) for a, b in zip(mine, fits)]
    if all(close):
        passed(f"your {len(mine)} per-step losses equal fit's (first {mine[0]:.4f}, last {mine[-1]:.4f}): "
               f"zero_grad, forward, loss, backward, step is what fit does for each mini-batch")
        return
    step = close.index(False)
    differs = f"step {step + 1}: yours {mine[step]:.4f}, fit's {fits[step]:.4f}"
    ratio = mine[0] / fits[0] if fits[0] else math.inf
    expect(not (step == 0 and ratio > 8),
           f"your losses are about {ratio:.0f} times fit's ({differs}): the loss is summed over the batch; fit "
           f"averages it (F.cross_entropy's default reduction='mean')")
    fits_drop = fits[0] - min(fits)
    expect(not (fits_drop > 0.5 and max(abs(v - mine[0]) for v in mine) < 0.15 * fits_drop),
           f"your loss stays where it started (about {mine[0]:.2f} at every step) while fit's falls to "
           f"{fits[-1]:.4f}: the weights are not updated. On every batch call loss.backward() and then "
           f"optimizer.step(); optimizer.zero_grad() comes before backward, not between backward and step")
    expect(not (min(mine) > SOFTMAX_FLOOR and min(fits) < SOFTMAX_FLOOR - 0.2),
           f"your loss never goes below {SOFTMAX_FLOOR:.2f} (lowest {min(mine):.4f}; fit's reaches {min(fits):.4f}): "
           f"that is the floor of cross-entropy applied to probabilities. Give F.cross_entropy the logits, the "
           f"model's raw output, with no softmax before it: cross-entropy applies the softmax itself")
    expect(step != 0,
           f"the losses differ from the first step on ({differs}), before any update: the loss itself is "
           f"computed differently. Use F.cross_entropy(model(images), targets) on the model's logits (no softmax "
           f"first: cross-entropy applies it), on the batch the loop hands you, and draw nothing else at random")
    raise SelfCheckFailed(
        f"the losses agree up to step {step} and differ from {differs}: the updates differ from fit's. Most likely "
        f"optimizer.zero_grad() is missing or misplaced: PyTorch adds each backward's gradients to the ones already "
        f"there, so without it every step uses the sum of all earlier gradients and the loss drifts and jumps. The "
        f"order is zero_grad, forward, loss, backward, step, once per batch, with one optimizer built before the loop")

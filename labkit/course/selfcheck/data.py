"""Self-checks for notebook 00 (setup and data): the normalisation statistics.

    from labkit.course.selfcheck import data as selfcheck
    selfcheck.check_normalisation(mean, std)    # "OK: ..." or SelfCheckFailed saying what to fix
"""

from __future__ import annotations

import math

import torch

from ...data import MEAN, STD
from .common import expect, passed

# Pixel statistics ([0, 1] scale) of the sets a student might use by mistake, to 4 decimals.
TEST_MEAN, TEST_STD = 0.1325, 0.3105  # the 10,000 test images
BOTH_MEAN, BOTH_STD = 0.1309, 0.3084  # the 70,000 training and test images together
PER_IMAGE_STD = 0.3015  # the mean over images of each image's own standard deviation


def _number(value, name: str) -> float:
    """`value` as a float: a Python number or a one-element tensor; else a message saying what it is."""
    if isinstance(value, torch.Tensor):
        expect(value.numel() == 1,
               f"{name} is a tensor of shape {tuple(value.shape)}, not one number: take the {name} over all the "
               f"pixels of all the images at once (e.g. pixels.{name}()), not per image or per row, then .item()")
        value = value.item()
    expect(isinstance(value, (int, float)) and not isinstance(value, bool),
           f"{name} must be a number (a Python float), got {type(value).__name__}")
    expect(math.isfinite(value), f"{name} is {value}: check for an empty tensor or a division by zero")
    return float(value)


def check_normalisation(mean, std) -> None:
    """`mean` and `std` must be the pixel mean and standard deviation of the 60,000 training images, pixels
    scaled to [0, 1]; they are compared with labkit.data.MEAN and STD to 4 decimals."""
    mean, std = _number(mean, "mean"), _number(std, "std")
    expect(mean < 1 or not math.isclose(mean, MEAN * 255, rel_tol=0.01),
           f"your mean is {mean:.1f}: did you divide the uint8 pixels by 255? MNIST stores pixels as 0..255; "
           f"the statistics are those of pixels scaled to [0, 1]")
    expect(0 <= mean <= 1, f"your mean is {mean:.4f}, outside [0, 1]: pixels scaled to [0, 1] (divide the uint8 "
                           f"images by 255) cannot average outside that range")
    expect(std > 0, f"std must be positive (yours is {std:.4f}): it measures how far pixels spread around the mean")
    expect(std < 1, f"your std is {std:.4f}: pixels in [0, 1] cannot spread that far; did you divide by 255 "
                    f"before taking the std?")
    expect(not math.isclose(std, STD ** 2, abs_tol=5e-4),
           f"your std is {std:.4f}, which is the variance (std squared): take its square root, or use .std()")
    expect(not (round(mean, 4) == TEST_MEAN and round(std, 4) == TEST_STD),
           "these are the test set's statistics: use the training set only (60,000 images); the test set must "
           "not shape any part of the preprocessing")
    expect(not (round(mean, 4) == BOTH_MEAN and round(std, 4) == BOTH_STD),
           "these are the statistics of the training and test sets together: use the training set only "
           "(60,000 images)")
    expect(round(mean, 4) == MEAN,
           f"your mean is {mean:.4f}, expected {MEAN} to 4 decimals: the mean of every pixel of the 60,000 "
           f"training images, scaled to [0, 1] (use the training set only, all of it)")
    expect(not (round(std, 4) == PER_IMAGE_STD),
           f"your std is {std:.4f}: that is the average of each image's own std; take one std over all the "
           f"pixels of all the images at once")
    expect(round(std, 4) == STD,
           f"your std is {std:.4f}, expected {STD} to 4 decimals: the standard deviation of every pixel of the "
           f"60,000 training images, scaled to [0, 1], around their common mean")
    passed(f"mean {mean:.4f} and std {std:.4f} are the training set's pixel statistics "
           f"(labkit.data.MEAN = {MEAN}, STD = {STD})")

"""labkit: the library behind the MNIST lab book.

    train = load_mnist(train=True, device=device)
    model = models.build("plain_cnn")
    history = fit(model, train, test, Recipe(epochs=5, lr=3e-3))
    history.test.per_class_accuracy()
"""

import importlib.metadata

from . import checks, metrics, models, plots, prose
from .checkpoint import load_checkpoint, save_checkpoint
from .data import Augment, ImageSet, batches, composition, load_mnist, normalize
from .env import env_report, pick_device, seed_everything
from .evaluate import Evaluation, evaluate
from .explore import DigitExplorer, PairExplorer, digit_explorer, pair_explorer
from .mnist import MNISTError, acquire_mnist, verification_table, verify_mnist
from .pairs import PairSet, RandomPairs, make_pairs
from .recipe import Recipe
from .records import figures_dir, save_figure, save_metrics
from .steps import TrainingDiverged
from .train import AlreadyTrainedWarning, History, fit, runs_table

__version__ = importlib.metadata.version("labkit")

__all__ = [
    "AlreadyTrainedWarning", "Augment", "DigitExplorer", "Evaluation", "History", "ImageSet", "MNISTError",
    "PairExplorer", "PairSet", "RandomPairs", "Recipe", "TrainingDiverged", "acquire_mnist",
    "batches", "checks", "composition", "digit_explorer", "env_report", "evaluate", "figures_dir",
    "fit", "load_checkpoint", "load_mnist", "make_pairs", "metrics", "models", "normalize", "pair_explorer",
    "pick_device", "plots", "prose", "runs_table", "save_checkpoint", "save_figure", "save_metrics", "seed_everything",
    "verification_table", "verify_mnist",
]

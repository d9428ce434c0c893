"""What every notebook leaves behind in `figures/<notebook>/`: its PNGs and one metrics.json.

    save_figure(fig, "01_cnn", "confusion")            -> figures/01_cnn/confusion.png
    save_metrics("01_cnn", {"seed": 0, "device": "cuda",
                            "runs": {"plain_cnn": run_record("PlainCNN", ...)},
                            "checks": as_records(checks)})  -> figures/01_cnn/metrics.json

Both files are written to a temporary file beside the target, then renamed, so a
reader never sees half a file. `LABKIT_FIGURES` replaces the `figures/` folder.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import uuid
from pathlib import Path

import numpy as np
import torch

REPOSITORY = Path(__file__).resolve().parent.parent
RUN_KEYS = (
    "model", "parameters", "epochs", "train_accuracy", "test_accuracy",
    "train_loss", "test_loss", "train_seconds", "per_class_accuracy",
)
SIGNIFICANT_DIGITS = 6


def _plain_name(name, what: str) -> str:
    if not isinstance(name, str) or not name or name in (".", "..") or any(c in name for c in "/\\\0"):
        raise ValueError(f"{what} must be a non-empty name without slashes or '..', like '01_cnn'; got {name!r}")
    return name


def figures_root() -> Path:
    """`<repository>/figures`, or `$LABKIT_FIGURES` when set."""
    return Path(os.environ.get("LABKIT_FIGURES") or REPOSITORY / "figures").expanduser()


def figures_dir(notebook: str) -> Path:
    """`<repository>/figures/<notebook>/` (or `$LABKIT_FIGURES/<notebook>/`), created if missing."""
    folder = figures_root() / _plain_name(notebook, "notebook")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write_atomically(path: Path, write) -> Path:
    """Call write(temporary path), then rename it to `path`; on failure remove the temporary file."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")  # opened by `write`, so the umask applies
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def save_figure(fig, notebook: str, name: str, dpi: int = 100) -> Path:
    """Write `fig` as `<name>.png` in the notebook's figures folder; return its path."""
    name = _plain_name(name.removesuffix(".png") if isinstance(name, str) else name, "figure name")
    path = figures_dir(notebook) / f"{name}.png"
    return _write_atomically(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight"))


# ---------------------------------------------------------------- metrics.json


def _plain(value):
    """JSON-ready Python values: NumPy and torch scalars become numbers, arrays lists, floats 6 significant digits."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        value = value.item() if value.numel() == 1 and value.ndim == 0 else value.tolist()
    elif isinstance(value, (np.ndarray, np.generic)):
        value = value.tolist()
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    elif hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # pandas Series and Index
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(value, (torch.device, Path)):
        return str(value)
    return value


def _fraction(run: str, key: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"run {run!r}: {key} must be a fraction in [0, 1], got {value!r}")


def _validate_run(name: str, run: dict) -> None:
    missing = [k for k in RUN_KEYS if k not in run]
    if missing:
        raise ValueError(f"run {name!r} lacks {missing}; a run needs {list(RUN_KEYS)}")
    if not isinstance(run["model"], str) or not run["model"]:
        raise ValueError(f"run {name!r}: model must be the model's class name, got {run['model']!r}")
    for key in ("parameters", "epochs"):
        if isinstance(run[key], bool) or not isinstance(run[key], int) or run[key] < 0:
            raise ValueError(f"run {name!r}: {key} must be a non-negative int, got {run[key]!r}")
    for key in ("train_accuracy", "test_accuracy"):
        _fraction(name, key, run[key])
    for key in ("train_loss", "test_loss", "train_seconds"):
        value = run[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"run {name!r}: {key} must be a finite number >= 0, got {value!r}")
    per_class = run["per_class_accuracy"]
    if not isinstance(per_class, list) or not per_class:
        raise ValueError(f"run {name!r}: per_class_accuracy must be a non-empty list, got {per_class!r}")
    for i, value in enumerate(per_class):
        _fraction(name, f"per_class_accuracy[{i}]", value)


def run_record(
    model_name: str, parameters: int, epochs: int, final: dict, train_seconds: float, per_class_accuracy
) -> dict:
    """One "runs" entry of metrics.json, validated.

    `final` holds train_accuracy, train_loss, test_accuracy, test_loss (fractions for accuracies);
    `per_class_accuracy` is a list of fractions, an array, or the per_class_accuracy() table.
    """
    missing = [k for k in ("train_accuracy", "train_loss", "test_accuracy", "test_loss") if k not in final]
    if missing:
        raise ValueError(f"final lacks {missing}; it needs train_accuracy, train_loss, test_accuracy, test_loss")
    if hasattr(per_class_accuracy, "columns") and "accuracy" in per_class_accuracy.columns:
        per_class_accuracy = per_class_accuracy["accuracy"]
    record = _plain({
        "model": model_name,
        "parameters": parameters,
        "epochs": epochs,
        **{k: final[k] for k in ("train_accuracy", "test_accuracy", "train_loss", "test_loss")},
        "train_seconds": train_seconds,
        "per_class_accuracy": per_class_accuracy,
    })
    _validate_run(str(model_name), record)
    return record


def save_metrics(notebook: str, metrics: dict) -> Path:
    """Write `figures/<notebook>/metrics.json` with notebook, seed, device, torch, runs, checks (and any extras).

    `torch` defaults to this torch's version and `checks` to []; Check objects are accepted as they are.
    """
    metrics = _plain(dict(metrics))
    if metrics.setdefault("notebook", notebook) != notebook:
        raise ValueError(f"metrics name notebook {metrics['notebook']!r} but are saved for {notebook!r}")
    metrics.setdefault("torch", torch.__version__)
    metrics.setdefault("checks", [])
    missing = [k for k in ("seed", "device", "runs") if k not in metrics]
    if missing:
        raise ValueError(f"metrics lack {missing}; they need seed, device and runs (a dict, may be empty)")
    if not isinstance(metrics["runs"], dict):
        raise ValueError(f"runs must be a dict of run name -> run_record(...), got {type(metrics['runs']).__name__}")
    for name, run in metrics["runs"].items():
        _validate_run(name, run)
    for check in metrics["checks"]:
        if not isinstance(check, dict) or not {"requirement", "passed"} <= check.keys():
            raise ValueError(f"each check needs requirement and passed, got {check!r}")
    order = ["notebook", "seed", "device", "torch", "runs", "checks"]
    metrics = {**{k: metrics[k] for k in order}, **{k: v for k, v in metrics.items() if k not in order}}
    text = json.dumps(metrics, indent=2, allow_nan=False) + "\n"
    path = figures_dir(notebook) / "metrics.json"
    return _write_atomically(path, lambda tmp: tmp.write_text(text))


def load_metrics(notebook: str) -> dict:
    """The metrics.json a notebook wrote."""
    return json.loads((figures_dir(notebook) / "metrics.json").read_text())

"""What every notebook leaves behind in `figures/<notebook>/`: its PNGs, one metrics.json, history files.

    save_figure(fig, "01_cnn", "confusion")            -> figures/01_cnn/confusion.png
    save_history("01_cnn", "plain_cnn", history.frame) -> figures/01_cnn/history_plain_cnn.csv
    save_metrics("01_cnn", {"seed": 0, "device": "cuda",
                            "runs": {"plain_cnn": run_record("PlainCNN", ...)},
                            "checks": [...], **provenance()})  -> figures/01_cnn/metrics.json

Every file is written to a temporary file beside the target, then renamed, so a
reader never sees half a file. `LABKIT_FIGURES` replaces the `figures/` folder.
`provenance()` says what made the numbers: labkit's version and code hash, the git
commit, the machine, torch, the date.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import subprocess
from pathlib import Path

import numpy as np
import torch

from .files import write_atomically

PACKAGE = Path(__file__).resolve().parent
REPOSITORY = PACKAGE.parent
RUN_KEYS = (
    "model", "parameters", "epochs", "train_accuracy", "test_accuracy",
    "train_loss", "test_loss", "train_seconds", "per_class_accuracy",
)
SIGNIFICANT_DIGITS = 6


def _plain_name(name, what: str) -> str:
    if not isinstance(name, str) or not name or name in (".", "..") or any(c in name for c in "/\\\0"):
        raise ValueError(f"{what} must be a non-empty name without slashes or '..', like '01_cnn'; got {name!r}")
    return name


EDITION_FILE = "labkit-edition.json"  # written by `labkit student` beside the student edition's notebooks


def figures_root() -> Path:
    """`$LABKIT_FIGURES` when set; else `figures/` beside a student edition (the kernel's working folder holds
    labkit-edition.json: Jupyter, nbconvert and papermill start the kernel in the notebook's folder), so a
    student's runs never write into the repository; else `<repository>/figures`."""
    if os.environ.get("LABKIT_FIGURES"):
        return Path(os.environ["LABKIT_FIGURES"]).expanduser()
    if (Path.cwd() / EDITION_FILE).is_file():
        return Path.cwd() / "figures"
    return REPOSITORY / "figures"


def figures_dir(notebook: str) -> Path:
    """`<repository>/figures/<notebook>/` (or `$LABKIT_FIGURES/<notebook>/`), created if missing."""
    folder = figures_root() / _plain_name(notebook, "notebook")
    folder.mkdir(parents=True, exist_ok=True)
    return folder




def save_figure(fig, notebook: str, name: str, dpi: int = 100) -> Path:
    """Write `fig` as `<name>.png` in the notebook's figures folder; return its path."""
    name = _plain_name(name.removesuffix(".png") if isinstance(name, str) else name, "figure name")
    path = figures_dir(notebook) / f"{name}.png"
    return write_atomically(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight"))


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

    `torch` defaults to this torch's version and `checks` to []; a check is a dict with at least
    requirement and passed (True, False, or None for a requirement that does not apply).
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
        if check["passed"] not in (True, False, None):
            raise ValueError(f"a check's passed must be true, false or null (n/a), got {check['passed']!r}")
    for key in ("sets", "pair_sets", "values", "models", "parameters"):
        if key in metrics and not isinstance(metrics[key], dict):
            raise ValueError(f"{key} must be a dict of name -> value, got {type(metrics[key]).__name__}")
    order = ["notebook", "seed", "device", "torch", "profile", "finished", "runs", "checks"]
    metrics = {**{k: metrics[k] for k in order if k in metrics}, **{k: v for k, v in metrics.items() if k not in order}}
    text = json.dumps(metrics, indent=2, allow_nan=False) + "\n"
    path = figures_dir(notebook) / "metrics.json"
    return write_atomically(path, lambda tmp: tmp.write_text(text))


def load_metrics(notebook: str) -> dict:
    """The metrics.json a notebook wrote."""
    return json.loads((figures_dir(notebook) / "metrics.json").read_text())


def save_history(notebook: str, run: str, frame) -> Path:
    """Write a run's per-mini-batch History frame as figures/<notebook>/history_<run>.csv; return its path."""
    path = figures_dir(notebook) / f"history_{_plain_name(run, 'run name')}.csv"
    return write_atomically(path, lambda tmp: frame.to_csv(tmp, index=False))


def save_weights(notebook: str, run: str, state_dict: dict | None) -> Path:
    """Write a run's final weights (a state_dict) as figures/<notebook>/weights_<run>.pt; return its path."""
    if not isinstance(state_dict, dict) or not state_dict:
        raise ValueError(f"run {run!r}: the weights to save must be a model's state_dict, got {type(state_dict)}")
    path = figures_dir(notebook) / f"weights_{_plain_name(run, 'run name')}.pt"
    return write_atomically(path, lambda tmp: torch.save(state_dict, tmp))


# ---------------------------------------------------------------- provenance


class _WithoutDocstrings(ast.NodeTransformer):
    """Drops docstrings, so that rewording one does not change the code hash (comments never reach the AST)."""

    def _strip(self, node):
        self.generic_visit(node)
        body = getattr(node, "body", None)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
        return node

    visit_Module = visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _strip


def code_hash(package: Path = PACKAGE) -> str:
    """sha256 over labkit's code (every .py under the package, labkit/course included), blind to comments,
    docstrings and formatting: each file parsed, docstrings removed, the syntax tree dumped."""
    digest = hashlib.sha256()
    for path in sorted(Path(package).rglob("*.py")):
        tree = _WithoutDocstrings().visit(ast.parse(path.read_text(), filename=str(path)))
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(ast.dump(tree, annotate_fields=True, include_attributes=False).encode() + b"\0")
    return digest.hexdigest()


def git_state(folder: Path = REPOSITORY) -> dict:
    """{"git_commit": the HEAD commit or None outside a git checkout, "git_dirty": uncommitted changes or None}."""
    def git(*args) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": None, "git_dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit.strip(), "git_dirty": None if status is None else bool(status.strip())}


def provenance() -> dict:
    """What produced a notebook's numbers: labkit's version and code hash, git commit, machine, versions, date."""
    from .env import machine

    return {
        "labkit_version": importlib.metadata.version("labkit"),
        "labkit_code_hash": code_hash(),
        **git_state(),
        "machine": machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }

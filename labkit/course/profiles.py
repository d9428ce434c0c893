"""Three ways to run the lab book, as parameters papermill injects below each notebook's `parameters` cell.

    full    the reference run: no overrides (the values typed in each notebook); every requirement graded
    quick   a student's check that the whole book works on their machine: a few minutes on 2 cores,
            accuracy requirements n/a
    smoke   the smallest run that exercises every cell (CI): well under a minute per notebook

    prepare("notebooks/01_cnn.ipynb", "smoke", "build/smoke")   -> build/smoke/01_cnn.ipynb, parameters injected

Every profile sets PROFILE, so the notebook's Report knows which requirements apply. Lab A shrinks its
training and test sets with TRAIN_FRACTION (1.0 in full); lab B its pair sets (PAIRS_PER_EPOCH, TEST_PAIRS).
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from ..files import write_atomically
from .identify import notebook_id
from .requirements import PROFILES, check_profile

OVERRIDES: dict[str, dict[str, dict]] = {
    "full": {},
    "quick": {  # the whole book in a few minutes on 2 cores (bench/results.md, "Notebook suite")
        "01_cnn": {"EPOCHS": 1, "TRAIN_FRACTION": 0.1},
        "02_lenet5": {"EPOCHS": 1, "TRAIN_FRACTION": 0.1, "REPORT_EPOCHS": 1},
        "03_resnet": {"EPOCHS": 1, "VARIATION_EPOCHS": 1, "TRAIN_FRACTION": 0.04},
        "04_pairs": {"EPOCHS": 1, "PAIRS_PER_EPOCH": 4_000, "TEST_PAIRS": 2_000, "VALIDATION_PAIRS": 1_000},
        "05_pair_data_study": {"PAIRS_PER_EPOCH": 6_000, "TEST_PAIRS": 2_000},
    },
    "smoke": {
        "01_cnn": {"EPOCHS": 1, "TRAIN_FRACTION": 0.02},
        "02_lenet5": {"EPOCHS": 1, "TRAIN_FRACTION": 0.02, "REPORT_EPOCHS": 1},
        "03_resnet": {"EPOCHS": 1, "VARIATION_EPOCHS": 1, "TRAIN_FRACTION": 0.01},
        "04_pairs": {"EPOCHS": 1, "PAIRS_PER_EPOCH": 1_000, "TEST_PAIRS": 500, "VALIDATION_PAIRS": 500},
        "05_pair_data_study": {"PAIRS_PER_EPOCH": 1_000, "TEST_PAIRS": 500},
    },
}


if set(OVERRIDES) != set(PROFILES):  # the profiles are requirements.PROFILES: one list, checked here once
    raise RuntimeError(f"labkit.course.profiles.OVERRIDES has {sorted(OVERRIDES)}, the profiles are {PROFILES}")


def parameters(profile: str, notebook: str) -> dict:
    """The parameters papermill injects into `notebook` (a lab notebook id) for `profile`, PROFILE included."""
    return {"PROFILE": check_profile(profile), **OVERRIDES[profile].get(notebook, {})}


def has_parameters_cell(notebook: nbformat.NotebookNode) -> bool:
    return any("parameters" in cell.metadata.get("tags", []) for cell in notebook.cells)


def prepare(path: str | Path, profile: str, out_dir: str | Path, extra: dict | None = None,
            notebook: str | None = None) -> Path:
    """Write a copy of the notebook at `path` into `out_dir` with the profile's parameters (and `extra`) injected
    (papermill, prepare only: nothing runs); return the copy's path. `notebook` overrides the id from the file."""
    import papermill

    path, out_dir = Path(path), Path(out_dir)
    source = nbformat.read(path, as_version=4)
    if not has_parameters_cell(source):
        raise ValueError(f"{path} has no cell tagged 'parameters'; papermill injects parameters after that cell")
    values = {**parameters(profile, notebook or notebook_id(path, source)), **(extra or {})}
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / path.name
    if target.resolve() == path.resolve():
        raise ValueError(f"the prepared copy would overwrite {path}; choose another --out folder")
    prepared = papermill.execute_notebook(str(path), None, parameters=values, prepare_only=True,
                                          progress_bar=False, log_output=False)
    return write_notebook(prepared, target)


def write_notebook(notebook: nbformat.NotebookNode, target: Path) -> Path:
    """Write `notebook` to `target` through a temporary file beside it, so no reader sees half a notebook."""
    return write_atomically(target, lambda temporary: nbformat.write(notebook, temporary))

"""Checkpoints: atomic writes, plain-data reads, and what fit needs to resume a run exactly.

save_checkpoint and load_checkpoint keep a model (and optimizer); fit writes a fuller state (format
CHECKPOINT_FORMAT) with write_checkpoint, refuses to resume another run's (check_same_run), and carries
torch's global random state across (rng_state, set_rng_state).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from .files import write_atomically

CHECKPOINT_FORMAT = "labkit-checkpoint-3"


def write_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """torch.save through a temporary file beside `path`: a reader never sees half a checkpoint."""
    return write_atomically(path, lambda temporary: torch.save(state, temporary))


def save_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer=None, epoch: int | None = None) -> Path:
    """Save model (and optimizer) state atomically: a temporary file, then a rename; never half a file."""
    return write_checkpoint(path, {"format": CHECKPOINT_FORMAT, "model": model.state_dict(), "epoch": epoch,
                                    "optimizer": optimizer.state_dict() if optimizer is not None else None})


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The checkpoint's contents as plain data (loaded with weights_only=True: no pickled objects)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return torch.load(path, map_location="cpu", weights_only=True)


def load_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer=None) -> int | None:
    """Restore model (and optimizer) from a checkpoint of fit or save_checkpoint; return its completed epochs."""
    state = read_checkpoint(path)
    model.load_state_dict(state["model"])
    if optimizer is not None and state.get("optimizer") is not None:
        optimizer.load_state_dict(state["optimizer"])
    return state.get("epoch")


def check_same_run(saved: dict, current: dict, path) -> None:
    """Refuse to resume from `path` when the run it holds (model, parameters, recipe, set sizes) is not this one."""
    differences = [f"{key} {saved.get(key)!r} in the checkpoint, {current[key]!r} now"
                   for key in ("model", "parameters", "sizes") if saved.get(key) != current[key]]
    saved_recipe = saved.get("recipe") or {}
    differences += [f"{key} {saved_recipe.get(key)!r} in the checkpoint, {value!r} now"
                    for key, value in current["recipe"].items() if saved_recipe.get(key) != value]
    if differences:
        raise ValueError(f"checkpoint {path} is from another run: {'; '.join(differences)}. Resume with the "
                         f"recipe it was saved with, or start afresh without resume=True (or another checkpoint)")


def rng_state(device: torch.device) -> dict:
    """torch's global random state (dropout draws from it), to continue a run exactly."""
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}


def set_rng_state(state: dict, device: torch.device) -> None:
    """Put back what rng_state saved."""
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)

"""Which lab notebook a file is: its metadata `labkit.notebook`, else its name.

    notebook_id("notebooks/01_cnn.ipynb")        -> "01_cnn"
    notebook_id("submissions/alice_01_cnn.ipynb") -> "01_cnn" (metadata {"labkit": {"notebook": "01_cnn"}})
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from .requirements import notebooks


def metadata_id(notebook: nbformat.NotebookNode) -> str | None:
    labkit = notebook.metadata.get("labkit", {})
    return labkit.get("notebook") if isinstance(labkit, dict) else None


def notebook_id(path: str | Path, notebook: nbformat.NotebookNode | None = None) -> str:
    """The lab notebook id of the file at `path`: metadata labkit.notebook, else the file stem,
    else the one known id the stem ends with (a renamed submission). Raises ValueError naming the known ids."""
    path = Path(path)
    notebook = notebook if notebook is not None else nbformat.read(path, as_version=4)
    known = notebooks()
    from_metadata = metadata_id(notebook)
    if from_metadata is not None:
        if from_metadata not in known:
            raise ValueError(f"{path}: metadata labkit.notebook is {from_metadata!r}; known: {', '.join(known)}")
        return from_metadata
    if path.stem in known:
        return path.stem
    endings = [n for n in known if path.stem.endswith(n)]
    if len(endings) == 1:
        return endings[0]
    raise ValueError(f"{path}: not a known lab notebook: the name {path.stem!r} matches none of {', '.join(known)} "
                     "and the notebook has no metadata labkit.notebook")

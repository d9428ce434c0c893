"""One way to write a file so that no reader ever sees half of it."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def write_atomically(path: str | os.PathLike, write) -> Path:
    """Call write(temporary path) beside `path`, then rename it to `path`; on failure remove the temporary file.

    The temporary file is opened by `write`, so it gets the permissions any new file gets (the umask applies).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path

"""Finds the shared data kit (../shared/data beside the repository), the one way the project reaches it."""

from __future__ import annotations

import os
from pathlib import Path

ENV = "ANIMGEN_SHARED_DATA"


def shared_data_dir() -> Path | None:
    """The data folder: $ANIMGEN_SHARED_DATA, else ../shared/data beside the repository or the working dir."""
    if os.environ.get(ENV):
        p = Path(os.environ[ENV]).expanduser()
        return p if p.is_dir() else None
    here = Path(__file__).resolve()
    for base in [*here.parents, Path.cwd(), *Path.cwd().parents]:
        cand = base / "shared" / "data"
        if (cand / "MANIFEST.md").is_file():
            return cand
    return None


def require_shared_data() -> Path:
    d = shared_data_dir()
    if d is None:
        raise FileNotFoundError(
            f"the shared data kit was not found: put it at ../shared/data beside the repository or set {ENV}"
        )
    return d

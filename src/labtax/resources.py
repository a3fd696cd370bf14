"""Find the project's data files (schemas/, prompts/) in a wheel or a source checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """Return the directory of data files `name` ("schemas" or "prompts").

    An installed wheel carries them in `labtax/_data/`; an editable install or a
    source checkout reads them from the repository top level (the single source).
    """
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"labtax data directory '{name}' not found next to {_PACKAGE_DIR}")

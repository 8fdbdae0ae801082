"""Owns the workbench's user cache folder, where converted demo weights and built test models live."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

CACHE_ENV_VARIABLE = "PSF_WORKBENCH_CACHE"


def workbench_cache_dir(override: str | Path | None = None) -> Path:
    """Return the cache folder: ``override``, else ``$PSF_WORKBENCH_CACHE``, else the user cache dir."""
    if override is not None:
        path = Path(override)
    elif os.environ.get(CACHE_ENV_VARIABLE):
        path = Path(os.environ[CACHE_ENV_VARIABLE])
    else:
        path = Path(platformdirs.user_cache_dir("psf-workbench"))
    path.mkdir(parents=True, exist_ok=True)
    return path

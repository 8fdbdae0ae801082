"""Atomic writes: a file or a cache folder is built under a temporary sibling name and renamed into place,
so a reader never sees it half-written; processes that need the same cache folder at once (shards, test
workers) build it once, the others wait for it."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock

COMPLETE_MARKER = ".complete"


def is_complete(folder: Path) -> bool:
    """True when ``folder`` was fully built (its completion marker exists)."""
    return (folder / COMPLETE_MARKER).is_file()


def build_folder_atomically(folder: Path, build: Callable[[Path], object]) -> Path:
    """Run ``build(tmp)`` into a temporary folder and move it to ``folder``; an interrupted build leaves no
    half-written ``folder`` behind, so a later call simply builds again. A file lock beside ``folder`` lets
    one process build while the others wait and then use its folder."""
    if is_complete(folder):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(folder.parent / f".{folder.name}.lock"):
        if is_complete(folder):  # built by another process while this one waited
            return folder
        return _build_into(folder, build)


def _build_into(folder: Path, build: Callable[[Path], object]) -> Path:
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        build(staging)
        (staging / COMPLETE_MARKER).write_text("ok\n")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return folder


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yields a temporary path beside `path`: on success it replaces `path`, on failure it goes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

"""Loading one config/split of a local copy of the Hugging Face dataset `saillab/psf-med` into plain
rows, offline only: a `save_to_disk` folder through `load_from_disk`, or local data files through
`load_dataset` with explicit `data_files`. `datasets` is imported lazily."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from flipbank.errors import RecordError

#: The configs of `saillab/psf-med`.
KNOWN_CONFIGS = ("mimic", "padchest", "vindr")

#: Data-file suffixes and the `datasets` builder that reads each.
DATA_BUILDERS = {".parquet": "parquet", ".jsonl": "json", ".json": "json", ".csv": "csv"}


def _tokens(relative: Path) -> set[str]:
    return set(re.split(r"[/\\_.\-]+", relative.as_posix().lower()))


def find_data_files(folder: Path, config: str, split: str) -> list[Path]:
    """Data files under `folder` whose relative path names the split and the config (e.g.
    `mimic/test-00000-of-00001.parquet`, `data/mimic_test.jsonl`). When no path names any known
    config, the files naming the split are taken (a folder holding one config). Hidden folders and
    `dataset_info.json`/`state.json` are ignored."""
    candidates = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        hidden = any(part.startswith(".") for part in relative.parts)
        metadata = path.name in ("dataset_info.json", "state.json", "dataset_dict.json")
        if path.is_file() and path.suffix in DATA_BUILDERS and not hidden and not metadata:
            candidates.append(relative)
    in_split = [path for path in candidates if split.lower() in _tokens(path)]
    in_config = [path for path in in_split if config.lower() in _tokens(path)]
    if in_config:
        return [folder / path for path in in_config]
    names_a_config = any(_tokens(path) & set(KNOWN_CONFIGS) for path in candidates)
    return [] if names_a_config else [folder / path for path in in_split]


def _from_disk(folder: Path, config: str, split: str) -> Any | None:
    """A dataset saved with `save_to_disk` at the folder or at folder/config, else None."""
    from datasets import load_from_disk

    for candidate in (folder / config, folder):
        if (candidate / "dataset_dict.json").is_file():
            splits = load_from_disk(str(candidate))
            if split not in splits:
                reason = f"no split {split!r} (has {sorted(splits)})"
                raise RecordError(str(candidate), "whole folder", None, reason)
            return splits[split]
        if (candidate / "state.json").is_file():
            return load_from_disk(str(candidate))
    return None


def _from_data_files(folder: Path, config: str, split: str, cache_dir: Path | None) -> Any:
    from datasets import load_dataset

    files = find_data_files(folder, config, split)
    if not files:
        reason = f"no data files for config {config!r} split {split!r}"
        raise RecordError(str(folder), "whole folder", None, reason)
    builders = Counter(DATA_BUILDERS[path.suffix] for path in files)
    if len(builders) > 1:
        raise RecordError(str(folder), "whole folder", None, f"mixed data formats: {dict(builders)}")
    builder = next(iter(builders))
    data_files = [str(path) for path in files]
    cache = None if cache_dir is None else str(cache_dir)
    return load_dataset(builder, data_files=data_files, split="train", cache_dir=cache)


def load_local_split(
    folder: Path, config: str, split: str, cache_dir: Path | None = None
) -> list[dict[str, object]]:
    """The rows of one config/split of a local `saillab/psf-med` copy, as plain dictionaries.
    `cache_dir` is where `load_dataset` caches converted data files (None: the datasets default)."""
    if not folder.is_dir():
        raise RecordError(str(folder), "whole folder", None, "not a folder")
    try:
        dataset = _from_disk(folder, config, split)
        if dataset is None:
            dataset = _from_data_files(folder, config, split, cache_dir)
        return [dict(row) for row in dataset]
    except RecordError:
        raise
    except Exception as error:  # datasets raises many unrelated types for unreadable files
        reason = f"cannot load the dataset: {type(error).__name__}: {error}"
        raise RecordError(str(folder), "whole folder", None, reason) from error

"""The on-disk store of a mining run: a config fingerprint, part files written atomically as work
progresses, and the merged rows, so an interrupted run resumes without losing or duplicating rows."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from flipbank.atomic_folder import atomic_path
from flipbank.mining_plan import JobKey
from flipbank.record_io import records_to_frame
from flipbank.records import MiningRow

CONFIG_FILE = "config.json"
PARTS_FOLDER = "parts"
ROWS_FILE = "rows.parquet"
KEY_COLUMNS = ["question_id", "variant_index", "image_condition"]


class ConfigMismatchError(ValueError):
    """Raised when a results folder was made with a different configuration."""


class MiningStore:
    """A results folder for one mining configuration."""

    def __init__(self, folder: Path, fingerprint: dict[str, object]) -> None:
        self.folder = folder
        self.fingerprint = fingerprint
        self.parts = folder / PARTS_FOLDER

    def open(self) -> MiningStore:
        """Create the folder, or check that an existing one was made with the same configuration."""
        config_path = self.folder / CONFIG_FILE
        if config_path.exists():
            existing = json.loads(config_path.read_text())
            if existing != self.fingerprint:
                changed = sorted(
                    k
                    for k in existing.keys() | self.fingerprint.keys()
                    if existing.get(k) != self.fingerprint.get(k)
                )
                raise ConfigMismatchError(
                    f"{config_path}: results were made with a different configuration "
                    f"(differs in: {', '.join(changed)}); use another output folder"
                )
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            with atomic_path(config_path) as temporary:
                temporary.write_text(json.dumps(self.fingerprint, indent=2, sort_keys=True) + "\n")
        self.parts.mkdir(exist_ok=True)
        return self

    def part_files(self) -> list[Path]:
        """Completed part files (temporary files of an interrupted write are never listed)."""
        return sorted(self.parts.glob("part-*.parquet"))

    def read_parts(self) -> pd.DataFrame:
        """All rows written so far, in part order."""
        frames = [pd.read_parquet(path) for path in self.part_files()]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=KEY_COLUMNS)

    def done_keys(self) -> set[JobKey]:
        """Keys of the jobs whose rows are already stored."""
        frame = self.read_parts()
        return {(str(q), int(v), str(c)) for q, v, c in frame[KEY_COLUMNS].itertuples(index=False)}

    def write_part(self, rows: list[MiningRow]) -> Path:
        """Store a batch of rows as the next part file, atomically."""
        return self.write_part_frame(records_to_frame(rows, MiningRow), len(self.part_files()))

    def write_part_frame(self, frame: pd.DataFrame, index: int) -> Path:
        """Store ``frame`` as part ``index``, atomically (a reader never sees a half-written part)."""
        path = self.parts / f"part-{index:06d}.parquet"
        with atomic_path(path) as temporary:
            frame.to_parquet(temporary, index=False)
        return path

    def merge(self) -> Path:
        """Write ``rows.parquet``: every part's rows, sorted by key, checked for duplicates."""
        frame = self.read_parts().sort_values(KEY_COLUMNS, kind="stable").reset_index(drop=True)
        duplicated = frame.duplicated(KEY_COLUMNS)
        if duplicated.any():
            first = frame.loc[duplicated, KEY_COLUMNS].iloc[0].tolist()
            raise RuntimeError(f"{self.parts}: duplicate rows for key {first}")
        path = self.folder / ROWS_FILE
        with atomic_path(path) as temporary:
            frame.to_parquet(temporary, index=False)
        return path


def _unsharded(fingerprint: dict[str, object]) -> dict[str, object]:
    settings = dict(fingerprint["settings"])  # type: ignore[call-overload]
    settings.pop("shard_index")
    return {**fingerprint, "settings": settings}


def merge_shards(shard_folders: list[Path], output: Path) -> Path:
    """Merge the stores of shard runs (same configuration apart from the shard) into ``output/rows.parquet``,
    sorted by key exactly as an unsharded run's rows are."""
    fingerprints = [json.loads((folder / CONFIG_FILE).read_text()) for folder in shard_folders]
    shards = sorted(int(f["settings"]["shard_index"]) for f in fingerprints)
    count = int(fingerprints[0]["settings"]["shard_count"])
    if shards != list(range(count)):
        raise ValueError(f"shards {shards} do not cover 0..{count - 1}")
    if any(_unsharded(f) != _unsharded(fingerprints[0]) for f in fingerprints):
        raise ConfigMismatchError("the shard folders were made with different configurations")
    merged = MiningStore(output, {**_unsharded(fingerprints[0]), "merged_from": count})
    merged.open()
    frames = [
        MiningStore(folder, fp).read_parts() for folder, fp in zip(shard_folders, fingerprints, strict=True)
    ]
    for index, frame in enumerate(frames):
        if len(frame):
            merged.write_part_frame(frame, index)
    return merged.merge()

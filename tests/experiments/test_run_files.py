"""The run folder's file names: named once, equal to the names the libraries write, and the newest run."""

import doctest
import os
from pathlib import Path

import experiments.run_files
from experiments import run_files
from experiments.run_folder import marker_path, newest_run_folder
from interp.provenance import PROVENANCE_FILE
from saes.ranking import FEATURES_FILE, PAIRS_FILE


def test_the_names_the_libraries_write_are_the_run_folders() -> None:
    assert f"{run_files.FEATURES_FOLDER}/{FEATURES_FILE}" == run_files.FEATURES
    assert f"{run_files.FEATURES_FOLDER}/{PAIRS_FILE}" == run_files.FEATURE_PAIRS
    assert run_files.PROVENANCE == PROVENANCE_FILE
    assert doctest.testmod(experiments.run_files).failed == 0


def test_output_path_creates_the_parent(tmp_path: Path) -> None:
    path = run_files.output_path(tmp_path, run_files.NOTA_ITEMS)
    assert path.parent.is_dir() and path == tmp_path / "nota" / "items.parquet"


def test_the_newest_run_is_the_one_whose_last_step_finished_last(tmp_path: Path) -> None:
    assert newest_run_folder(tmp_path) is None
    for name, when in (("old", 1_000), ("new", 3_000), ("no-steps", 2_000)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / run_files.STUDY_CONFIG).write_text("{}")
        os.utime(folder / run_files.STUDY_CONFIG, (when, when))
        if name != "no-steps":
            marker = marker_path(folder, "flip_study")
            marker.parent.mkdir()
            marker.write_text("{}")
            os.utime(marker, (when, when))
    (tmp_path / "not-a-run").mkdir()
    assert newest_run_folder(tmp_path) == tmp_path / "new"


def test_the_newest_run_is_found_across_roots(tmp_path: Path) -> None:
    for root, when in (("here", 5_000), ("above", 9_000)):
        folder = tmp_path / root / "runs" / f"demo-{root}"
        folder.mkdir(parents=True)
        (folder / run_files.STUDY_CONFIG).write_text("{}")
        os.utime(folder / run_files.STUDY_CONFIG, (when, when))
    roots = (tmp_path / "here" / "runs", tmp_path / "above" / "runs", tmp_path / "missing")
    assert newest_run_folder(*roots) == tmp_path / "above" / "runs" / "demo-above"

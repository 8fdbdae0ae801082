"""Content-addressed run folders and step markers: a step whose marker exists for the same configuration is
skipped, so a rerun reuses finished steps and a crashed run resumes at the step it was in."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from experiments import run_files
from experiments.study_config import StudyConfig
from experiments.study_file import RESOLVED_FILE, study_toml
from flipbank.atomic_folder import atomic_path


def run_folder_path(root: Path, config: StudyConfig) -> Path:
    """``root/<preset>-<config hash>``, the run folder of ``config`` (not created)."""
    return root / f"{config.name}-{config.content_hash()}"


def run_folder(root: Path, config: StudyConfig) -> Path:
    """``root/<preset>-<config hash>``, created with the configuration written beside the results: as JSON
    (read by the figures) and as the resolved study file, which reruns the study as it is."""
    folder = run_folder_path(root, config)
    folder.mkdir(parents=True, exist_ok=True)
    written = {
        run_files.STUDY_CONFIG: json.dumps(asdict(config), indent=2, default=str) + "\n",
        RESOLVED_FILE: study_toml(config),
    }
    for name, text in written.items():
        if not (folder / name).exists():
            with atomic_path(folder / name) as temporary:
                temporary.write_text(text)
    return folder


def marker_path(folder: Path, step: str) -> Path:
    return folder / run_files.STEP_MARKERS / f"{step}.done.json"


def step_done(folder: Path, step: str) -> bool:
    """True when ``step`` finished in this run folder."""
    return marker_path(folder, step).is_file()


def run_step(folder: Path, step: str, work: Callable[[], None], force: bool = False) -> float | None:
    """Run ``work`` unless the step is already done; write its marker (atomically) once it finished.
    Returns the seconds it took, or None when skipped."""
    if step_done(folder, step) and not force:
        print(f"[{step}] done already, skipped")
        return None
    print(f"[{step}] running")
    start = time.perf_counter()
    work()
    seconds = time.perf_counter() - start
    marker = {"step": step, "seconds": round(seconds, 2), "finished_at": datetime.now(UTC).isoformat()}
    with atomic_path(marker_path(folder, step)) as temporary:
        temporary.write_text(json.dumps(marker) + "\n")
    print(f"[{step}] finished in {seconds:.1f} s")
    return seconds


def newest_run_folder(*roots: Path) -> Path | None:
    """The run folder under any of ``roots`` whose last step finished most recently (folders without a
    finished step count by their configuration's time); None when no root holds a run folder."""
    runs = [f for root in roots for f in root.glob("*") if (f / run_files.STUDY_CONFIG).is_file()]
    if not runs:
        return None

    def last_change(folder: Path) -> float:
        markers = list((folder / run_files.STEP_MARKERS).glob("*.done.json"))
        return max(path.stat().st_mtime for path in markers or [folder / run_files.STUDY_CONFIG])

    return max(runs, key=last_change)

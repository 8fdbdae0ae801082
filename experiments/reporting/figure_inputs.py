"""Reads a study run folder into frames for the figures and the report: every result file is optional, and a
missing one is named when asked for. Also derives the per-configuration flip rate and Dangerous fraction."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from experiments import run_files
from experiments.steps.robustness_table import primary_condition
from flipbank.quadrants import Quadrant, quadrant_summary
from flipbank.uncertainty import max_probability_reliability, uncertainty_by_quadrant, uncertainty_table

#: Result files of a run folder, by the name the figures ask for them.
RESULT_FILES = {
    "robustness": run_files.ROBUSTNESS,
    "flipbank": run_files.FLIPBANK_PARQUET,
    "features": run_files.FEATURES,
    "feature_pairs": run_files.FEATURE_PAIRS,
    "feature_image_maps": run_files.FEATURE_IMAGE_MAPS,
    "patching_summary": run_files.PATCHING_SUMMARY,
    "patching_pairs": run_files.PATCHING_PAIRS,
    "layer_sweep": run_files.LAYER_SWEEP,
    "clamping": run_files.CLAMPING,
    "comparison": run_files.COMPARISON,
    "mediconfusion": run_files.MEDICONFUSION,
    "mediconfusion_delta_f": run_files.MEDICONFUSION_DELTA_F,
    "mediconfusion_patching": run_files.MEDICONFUSION_PATCHING,
    "grounding": run_files.GROUNDING,
    "attribution": run_files.ATTRIBUTION,
    "latency": run_files.LATENCY,
    "uncertainty_generated": run_files.UNCERTAINTY_GENERATED,
    "nota": run_files.NOTA,
    "nota_items": run_files.NOTA_ITEMS,
}
#: Frames derived from several files, with why they can be absent.
DERIVED_FRAMES = {
    "configurations": "fewer than two compared or clamping configurations have real and blank images mined",
    "uncertainty": f"the flip study's mined rows ({run_files.MINED_ROWS}) are not in the run folder",
    "uncertainty_by_quadrant": (
        f"the mined rows ({run_files.MINED_ROWS}) lack the real image or the reliance condition"
    ),
    "reliability": f"the flip study's mined rows ({run_files.MINED_ROWS}) are not in the run folder",
}


class MissingInputError(ValueError):
    """Raised when a figure or table needs a result file the run folder does not hold."""


@dataclass
class RunInputs:
    """The readable contents of one run folder; frames that are absent are simply not in ``frames``."""

    folder: Path
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    config: dict[str, Any] | None = None
    provenance: dict[str, Any] | None = None
    transfer: dict[str, Any] | None = None
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.frames

    def frame(self, name: str) -> pd.DataFrame:
        """The frame called ``name``, or ``MissingInputError`` naming the file that would hold it."""
        if name in DERIVED_FRAMES and name not in self.frames:
            raise MissingInputError(DERIVED_FRAMES[name])
        if name not in self.frames:
            raise MissingInputError(
                f"{RESULT_FILES.get(name, name)} not found in the run folder (step not run)"
            )
        return self.frames[name]

    @property
    def seed(self) -> int:
        return int((self.config or {}).get("seed", 0))

    @property
    def image_conditions(self) -> list[str] | None:
        """The image conditions the study was configured to mine, when its configuration is present."""
        if self.config is None or "image_conditions" not in self.config:
            return None
        return [str(condition) for condition in self.config["image_conditions"]]


def _json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _flipbank_from_jsonl(path: Path) -> pd.DataFrame | None:
    if not path.is_file() or not path.read_text(encoding="utf-8").strip():
        return None
    return pd.read_json(path, lines=True)


def configuration_summary(folder: Path, clamping: pd.DataFrame, seed: int = 0) -> pd.DataFrame | None:
    """Per clamping configuration: the flip rate (from the clamping table) and the Dangerous fraction (from
    its mined rows), both with CIs. None when fewer than two configurations have both."""
    flips = clamping[clamping["metric"] == "flip_rate"].drop_duplicates("configuration")
    rows: list[dict[str, object]] = []
    for flip in flips.itertuples(index=False):
        path = run_files.clamping_rows(folder, str(flip.configuration))
        if not path.is_file():
            continue
        mined = pd.read_parquet(path)
        if not {"real", "blank"} <= set(mined["image_condition"]):
            continue
        dangerous = quadrant_summary(mined, seed=seed).quadrants[Quadrant.DANGEROUS].fraction
        rows.append(
            {
                "configuration": flip.configuration,
                "flip_rate": flip.value,
                "flip_rate_low": flip.ci_low,
                "flip_rate_high": flip.ci_high,
                "dangerous_fraction": dangerous.value,
                "dangerous_low": dangerous.ci.low,
                "dangerous_high": dangerous.ci.high,
                "n": dangerous.n,
            }
        )
    return pd.DataFrame(rows) if len(rows) >= 2 else None


def comparison_summary(comparison: pd.DataFrame) -> pd.DataFrame | None:
    """Per (configuration, set) of the comparison step: flip rate and Dangerous fraction with CIs, in the
    shape of `configuration_summary`. None when fewer than two points have both."""
    keys = ["set", "configuration"]
    flips = comparison[comparison["metric"] == "flip_rate"].drop_duplicates(keys)
    dangerous = comparison[
        (comparison["metric"] == "quadrant_fraction") & (comparison["group"] == "dangerous")
    ]
    merged = flips.merge(dangerous.drop_duplicates(keys), on=keys, suffixes=("_flip", "_dangerous"))
    if len(merged) < 2:
        return None
    return pd.DataFrame(
        {
            "configuration": merged["configuration"] + " (" + merged["set"] + ")",
            "flip_rate": merged["value_flip"],
            "flip_rate_low": merged["ci_low_flip"],
            "flip_rate_high": merged["ci_high_flip"],
            "dangerous_fraction": merged["value_dangerous"],
            "dangerous_low": merged["ci_low_dangerous"],
            "dangerous_high": merged["ci_high_dangerous"],
            "n": merged["n_dangerous"],
        }
    )


def _configurations(root: Path, inputs: RunInputs) -> pd.DataFrame | None:
    """The compared configurations when the comparison step ran, else the clamping configurations."""
    if "comparison" in inputs.frames:
        return comparison_summary(inputs.frames["comparison"])
    if "clamping" in inputs.frames:
        return configuration_summary(root, inputs.frames["clamping"], inputs.seed)
    return None


def load_run(folder: str | Path) -> RunInputs:
    """Read every result file present in ``folder`` (see ``RESULT_FILES``), the configuration, provenance,
    transfer report and step markers."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"run folder not found: {root}")
    inputs = RunInputs(
        folder=root,
        config=_json(root / run_files.STUDY_CONFIG),
        provenance=_json(root / run_files.PROVENANCE),
        transfer=_json(root / run_files.TRANSFER),
        steps={
            path.name.removesuffix(".done.json"): _json(path) or {}
            for path in sorted((root / run_files.STEP_MARKERS).glob("*.done.json"))
        },
    )
    for name, relative in RESULT_FILES.items():
        if (root / relative).is_file():
            inputs.frames[name] = pd.read_parquet(root / relative)
    if "flipbank" not in inputs.frames:
        jsonl = _flipbank_from_jsonl(root / run_files.FLIPBANK_JSONL)
        if jsonl is not None:
            inputs.frames["flipbank"] = jsonl
    summary = _configurations(root, inputs)
    if summary is not None:
        inputs.frames["configurations"] = summary
    if (root / run_files.MINED_ROWS).is_file():
        _uncertainty_frames(pd.read_parquet(root / run_files.MINED_ROWS), inputs)
    return inputs


def _uncertainty_frames(rows: pd.DataFrame, inputs: RunInputs) -> None:
    """The uncertainty table (with the uncertainty step's generations when it ran), the reliability table of
    the maximum probability and, with the real image and the reliance condition mined, uncertainty by
    quadrant."""
    condition = primary_condition(rows)
    generated = inputs.frames.get("uncertainty_generated")
    if generated is not None:
        generated = generated.set_index("question_id")
    inputs.frames["uncertainty"] = uncertainty_table(rows, condition, inputs.seed, generated)
    inputs.frames["reliability"] = max_probability_reliability(rows, condition)
    removed = str((inputs.config or {}).get("reliance_condition", "blank"))
    if condition == "real" and removed in set(rows["image_condition"]):
        inputs.frames["uncertainty_by_quadrant"] = uncertainty_by_quadrant(
            rows, condition, removed, generated
        )

"""Reads a study run folder into frames for the figures and the report: every result file is optional, and a
missing one is named when asked for. Also derives the per-configuration flip rate and Dangerous fraction."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.robustness_table import primary_condition
from flipbank.quadrants import Quadrant, quadrant_summary
from flipbank.uncertainty import uncertainty_table

#: The flip study's mined rows, one per (question, variant, image condition), in a run folder.
MINED_ROWS = "flip_study/mining/rows.parquet"
#: Result files of a run folder, by the name the figures ask for them.
RESULT_FILES = {
    "robustness": "flip_study/robustness.parquet",
    "flipbank": "flip_study/flipbank.parquet",
    "features": "features/features.parquet",
    "feature_pairs": "features/pairs.parquet",
    "feature_image_maps": "features/image_maps.parquet",
    "patching_summary": "patching/summary.parquet",
    "patching_pairs": "patching/pairs.parquet",
    "layer_sweep": "layer_sweep.parquet",
    "clamping": "clamping.parquet",
    "comparison": "comparison.parquet",
    "mediconfusion": "mediconfusion.parquet",
    "mediconfusion_delta_f": "mediconfusion/delta_f.parquet",
    "grounding": "grounding.parquet",
    "attribution": "attribution.parquet",
    "latency": "latency.parquet",
}
FLIPBANK_JSONL = "flip_study/flipbank.jsonl"
#: Frames derived from several files, with why they can be absent.
DERIVED_FRAMES = {
    "configurations": "fewer than two compared or clamping configurations have real and blank images mined",
    "uncertainty": f"the flip study's mined rows ({MINED_ROWS}) are not in the run folder",
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


def clamping_rows_path(folder: Path, configuration: str) -> Path:
    """Where the clamping study mined a configuration's rows (its folder naming)."""
    return folder / "clamping" / configuration.replace(" ", "_").replace("+", "plus") / "rows.parquet"


def configuration_summary(folder: Path, clamping: pd.DataFrame, seed: int = 0) -> pd.DataFrame | None:
    """Per clamping configuration: the flip rate (from the clamping table) and the Dangerous fraction (from
    its mined rows), both with CIs. None when fewer than two configurations have both."""
    flips = clamping[clamping["metric"] == "flip_rate"].drop_duplicates("configuration")
    rows: list[dict[str, object]] = []
    for flip in flips.itertuples(index=False):
        path = clamping_rows_path(folder, str(flip.configuration))
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
        config=_json(root / "study_config.json"),
        provenance=_json(root / "provenance.json"),
        transfer=_json(root / "features" / "transfer.json"),
        steps={
            path.name.removesuffix(".done.json"): _json(path) or {}
            for path in sorted(root.glob("steps/*.done.json"))
        },
    )
    for name, relative in RESULT_FILES.items():
        if (root / relative).is_file():
            inputs.frames[name] = pd.read_parquet(root / relative)
    if "flipbank" not in inputs.frames:
        jsonl = _flipbank_from_jsonl(root / FLIPBANK_JSONL)
        if jsonl is not None:
            inputs.frames["flipbank"] = jsonl
    summary = _configurations(root, inputs)
    if summary is not None:
        inputs.frames["configurations"] = summary
    if (root / MINED_ROWS).is_file():
        rows = pd.read_parquet(root / MINED_ROWS)
        inputs.frames["uncertainty"] = uncertainty_table(rows, primary_condition(rows), inputs.seed)
    return inputs

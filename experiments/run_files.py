"""Every file a study writes into its run folder, named once: the steps write them through these names, and
the figures, the report, the study context and the notebook read them through the same names. Paths are
relative to the run folder; `output_path` joins one to a folder and creates its parent. Three names belong
to the libraries that write them and are repeated here so that reading a run loads no model code
(`saes.ranking.FEATURES_FILE`/`PAIRS_FILE`, `interp.provenance.PROVENANCE_FILE`; a test keeps them equal).

>>> FEATURES, clamping_rows(Path("run"), "clamp + normalisation").as_posix()
('features/features.parquet', 'run/clamping/clamp_plus_normalisation/rows.parquet')
"""

from __future__ import annotations

import re
from pathlib import Path

from flipbank.mining_store import ROWS_FILE

#: Inside a flip-study folder: the run's ``flip_study/``, or a standalone ``psf-workbench flip-study`` output.
FLIP_STUDY = "flip_study"
MINING_FOLDER = "mining"
ROBUSTNESS_FILE = "robustness.parquet"
FLIPBANK_JSONL_FILE = "flipbank.jsonl"
FLIPBANK_PARQUET_FILE = "flipbank.parquet"

STUDY_CONFIG = "study_config.json"
PROVENANCE = "provenance.json"
STEP_MARKERS = "steps"
MINED_ROWS = f"{FLIP_STUDY}/{MINING_FOLDER}/{ROWS_FILE}"
ROBUSTNESS = f"{FLIP_STUDY}/{ROBUSTNESS_FILE}"
FLIPBANK_JSONL = f"{FLIP_STUDY}/{FLIPBANK_JSONL_FILE}"
FLIPBANK_PARQUET = f"{FLIP_STUDY}/{FLIPBANK_PARQUET_FILE}"
FEATURES_FOLDER = "features"
FEATURES = f"{FEATURES_FOLDER}/features.parquet"
FEATURE_PAIRS = f"{FEATURES_FOLDER}/pairs.parquet"
FEATURE_IMAGE_MAPS = f"{FEATURES_FOLDER}/image_maps.parquet"
TRANSFER = f"{FEATURES_FOLDER}/transfer.json"
ATTRIBUTION = "attribution.parquet"
ATTRIBUTION_SUMMARY = "attribution/summary.json"
PATCHING_PAIRS = "patching/pairs.parquet"
PATCHING_SUMMARY = "patching/summary.parquet"
LAYER_SWEEP = "layer_sweep.parquet"
CLAMPING = "clamping.parquet"
CLAMPING_FOLDER = "clamping"
COMPARISON = "comparison.parquet"
COMPARISON_FOLDER = "comparison"
COMPARISON_SAE_VIEW = f"{COMPARISON_FOLDER}/sae_view.parquet"
COMPARISON_CORRELATION = f"{COMPARISON_FOLDER}/correlation.json"
GROUNDING = "grounding.parquet"
GROUNDING_SCORES = "grounding/scores.parquet"
MEDICONFUSION = "mediconfusion.parquet"
MEDICONFUSION_FOLDER = "mediconfusion"
MEDICONFUSION_DELTA_F = f"{MEDICONFUSION_FOLDER}/delta_f.parquet"
MEDICONFUSION_SKIPPED = f"{MEDICONFUSION_FOLDER}/skipped.json"
MEDICONFUSION_PATCHING = f"{MEDICONFUSION_FOLDER}/patching.parquet"
UNCERTAINTY_GENERATED = "uncertainty/generated.parquet"
NOTA = "nota.parquet"
NOTA_FOLDER = "nota"
NOTA_ITEMS = f"{NOTA_FOLDER}/items.parquet"
LATENCY = "latency.parquet"


def output_path(folder: Path, relative: str) -> Path:
    """``folder / relative``, its parent folder created."""
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def clamping_rows(folder: Path, configuration: str) -> Path:
    """Where the clamping step mines a configuration's rows (``clamp + normalisation``:
    ``clamping/clamp_plus_normalisation/rows.parquet``)."""
    return folder / CLAMPING_FOLDER / clamping_folder_name(configuration) / ROWS_FILE


def clamping_folder_name(configuration: str) -> str:
    """A clamping configuration's folder name (spaces to ``_``, ``+`` to ``plus``)."""
    return configuration.replace(" ", "_").replace("+", "plus")


def folder_name(name: str) -> str:
    """A comparison set's or configuration's name as a folder name (``clamp + normalisation``:
    ``clamp_normalisation``)."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", name).strip("_") or "unnamed"

"""Study presets: shipped study files (``experiments/studies/*.toml``). ``demo`` runs the demo VLM, its demo
SAE and the demo bank with every image condition and the configuration comparison on a CPU (the main job);
``demo-text`` the text-only Gemma 3 270M; ``tiny`` the random multimodal test model, for tests;
``medgemma-4b`` the real study on a GPU box."""

from __future__ import annotations

from experiments.study_config import StudyConfig
from experiments.study_file import read_study_file, shipped_study


def preset(name: str) -> StudyConfig:
    """The study of the shipped file ``experiments/studies/<name>.toml``."""
    return read_study_file(shipped_study(name))

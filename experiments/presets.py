"""Study presets: shipped study files (``experiments/studies/*.toml``). ``demo`` runs the embedded model, the
demo SAE and the demo bank on a CPU; ``tiny`` the random multimodal test model, for tests; ``medgemma-4b``
the real study on a GPU box."""

from __future__ import annotations

from experiments.study_config import StudyConfig
from experiments.study_file import read_study_file, shipped_study


def preset(name: str) -> StudyConfig:
    """The study of the shipped file ``experiments/studies/<name>.toml``."""
    return read_study_file(shipped_study(name))

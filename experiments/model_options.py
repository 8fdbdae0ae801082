"""The model options every experiment shares (spec, device, dtype, prompt style), as one typed config."""

from __future__ import annotations

from dataclasses import dataclass

from interp.demo_model import DEMO_MODEL_SPEC
from interp.prompts import PromptStyle, PromptTemplate


@dataclass(frozen=True)
class ModelOptions:
    """Which model to load and how to prompt it. ``device``/``dtype`` None means automatic."""

    spec: str = DEMO_MODEL_SPEC
    device: str | None = None
    dtype: str | None = None
    prompt_style: PromptStyle = PromptStyle.FEW_SHOT
    batch_size: int = 16

    @property
    def template(self) -> PromptTemplate:
        return PromptTemplate(self.prompt_style)

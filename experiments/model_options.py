"""The model options every experiment shares (spec, device, dtype, prompt style), as one typed config."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from interp.adapters import with_adapter
from interp.demo_model import DEMO_MODEL_SPEC
from interp.handle import ModelHandle
from interp.loading import load_model
from interp.prompts import PromptStyle, PromptTemplate


@dataclass(frozen=True)
class ModelConfig:
    """Which model to load and how to prompt it. ``device``/``dtype`` None means automatic; ``adapter`` is a
    PEFT adapter folder or HF id loaded onto the model (`interp.adapters.with_adapter`)."""

    spec: str = DEMO_MODEL_SPEC
    device: str | None = None
    dtype: str | None = None
    prompt_style: PromptStyle = PromptStyle.FEW_SHOT
    batch_size: int = 16
    adapter: Path | None = None

    @property
    def template(self) -> PromptTemplate:
        return PromptTemplate(self.prompt_style)


def load_handle(options: ModelConfig) -> ModelHandle:
    """The model of ``options`` loaded, with its adapter when one is named."""
    handle = load_model(options.spec, device=options.device, dtype=options.dtype)
    return handle if options.adapter is None else with_adapter(handle, options.adapter)

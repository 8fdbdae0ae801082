"""A small LoRA adapter for the tiny model, saved in PEFT's format (random B matrices, so it changes the
model)."""

from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model

from interp.loading import load_model


def write_tiny_adapter(folder: Path, layers: list[int], seed: int = 0) -> Path:
    """Save a rank-4 LoRA on ``layers`` of a freshly loaded tiny-mm into ``folder``."""
    torch.manual_seed(seed)
    config = LoraConfig(
        r=4,
        lora_alpha=8,
        target_modules=["q_proj", "v_proj", "down_proj"],
        layers_to_transform=layers,
        init_lora_weights=False,
    )
    model = load_model("tiny-mm", device="cpu", dtype="float32").model
    get_peft_model(model, config).save_pretrained(str(folder))
    return folder

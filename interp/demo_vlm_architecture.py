"""The demo vision-language model's architecture: MedGemma's class (`Gemma3ForConditionalGeneration`) around
the real Gemma 3 270M, with a small SigLIP vision tower and Gemma 3's multimodal projector, and its processor.

>>> DEMO_VLM_SHAPE.image_tokens, DEMO_VLM_SHAPE.image_size
(49, 224)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3Processor, Gemma3TextConfig

from interp.chat_template import GEMMA3_CHAT_TEMPLATE
from interp.tiny_model import gemma3_processor

LANGUAGE_MODEL_PREFIX = "model.language_model."


@dataclass(frozen=True)
class VisionShape:
    """The SigLIP tower's size: ``image_size / patch_size`` patches a side, average-pooled by Gemma 3's
    projector to ``image_tokens`` soft tokens (a square number whose side divides the patch grid)."""

    image_size: int = 224
    patch_size: int = 16
    hidden_size: int = 192
    intermediate_size: int = 768
    num_hidden_layers: int = 3
    num_attention_heads: int = 3
    image_tokens: int = 49

    def __post_init__(self) -> None:
        side = math.isqrt(self.image_tokens)
        patches = self.image_size // self.patch_size
        if side * side != self.image_tokens or self.image_size % self.patch_size or patches % side:
            raise ValueError(
                f"{self}: image_size/patch_size ({patches}) must be a multiple of sqrt(image_tokens)"
            )

    def vision_config(self) -> dict[str, int]:
        """The SigLIP vision config as Gemma3Config takes it."""
        fields = asdict(self)
        fields.pop("image_tokens")
        return fields


DEMO_VLM_SHAPE = VisionShape()


def demo_vlm_config(text_folder: Path, processor: Gemma3Processor, shape: VisionShape) -> Gemma3Config:
    """A Gemma3Config whose text part is the 270M's own config and whose image token ids are the processor's
    (MedGemma's: ``<start_of_image>`` 255999, ``<image_soft_token>`` 262144, ``<end_of_image>`` 256000)."""
    text = Gemma3TextConfig.from_pretrained(text_folder)
    tokenizer = processor.tokenizer  # type: ignore[attr-defined]
    config = Gemma3Config(
        text_config=text.to_dict(),
        vision_config=shape.vision_config(),
        mm_tokens_per_image=shape.image_tokens,
        image_token_index=tokenizer.image_token_id,
        boi_token_index=tokenizer.boi_token_id,
        eoi_token_index=tokenizer.eoi_token_id,
    )
    config.architectures = ["Gemma3ForConditionalGeneration"]
    return config


def demo_vlm_processor(text_folder: Path, shape: VisionShape) -> Gemma3Processor:
    """MedGemma's processor flow around the 270M tokenizer, with Gemma 3's chat template."""
    return gemma3_processor(
        text_folder, shape.image_size, shape.image_tokens, GEMMA3_CHAT_TEMPLATE, do_pan_and_scan=False
    )


def language_model_state(text_folder: Path) -> dict[str, torch.Tensor]:
    """The 270M's weights renamed to their place inside ``Gemma3ForConditionalGeneration`` (the output
    head is tied to the embeddings, so it is not stored)."""
    state = load_file(str(text_folder / "model.safetensors"))
    renamed = {}
    for name, tensor in state.items():
        if not name.startswith("model."):
            continue
        renamed[LANGUAGE_MODEL_PREFIX + name.removeprefix("model.")] = tensor
    return renamed


def untrained_demo_vlm(
    text_folder: Path, shape: VisionShape = DEMO_VLM_SHAPE, seed: int = 0
) -> tuple[Gemma3ForConditionalGeneration, Gemma3Processor]:
    """The architecture with the 270M's language weights in place and a seeded random vision tower and
    projector (the projector is not left at transformers' zero initialisation, which would hide images)."""
    processor = demo_vlm_processor(text_folder, shape)
    config = demo_vlm_config(text_folder, processor, shape)
    torch.manual_seed(seed)
    model = Gemma3ForConditionalGeneration(config)
    missing, _ = model.load_state_dict(language_model_state(text_folder), strict=False)
    unexpected_gaps = [name for name in missing if name.startswith(LANGUAGE_MODEL_PREFIX)]
    if unexpected_gaps:
        raise ValueError(f"{text_folder}: the 270M weights lack {unexpected_gaps[:3]}")
    model.tie_weights()
    with torch.no_grad():
        projector = model.model.multi_modal_projector.mm_input_projection_weight
        projector.normal_(0.0, 1.0 / shape.hidden_size**0.5)
    return model.eval(), processor

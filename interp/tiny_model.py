"""Builds ``tiny-mm``: a seeded random multimodal Gemma 3 with a real processor, for fast image-path tests;
`gemma3_processor` is the Gemma 3 processor it (and the MedGemma rehearsal) is built with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoTokenizer,
    Gemma3Config,
    Gemma3ForConditionalGeneration,
    Gemma3Processor,
)
from transformers.models.gemma3 import Gemma3ImageProcessorPil

from flipbank.atomic_folder import build_folder_atomically, is_complete
from flipbank.cache_dir import workbench_cache_dir
from interp.demo_model import ensure_demo_model

TINY_MODEL_SPEC = "tiny-mm"
TINY_SEED = 1234
TINY_IMAGE_SIZE = 224
TINY_IMAGE_TOKENS = 16
IMAGE_SPECIAL_TOKENS = {
    "image_token": "<image_soft_token>",
    "boi_token": "<start_of_image>",
    "eoi_token": "<end_of_image>",
}


def tiny_model_folder(cache_dir: str | Path | None = None) -> Path:
    """The folder that holds (or will hold) the saved tiny multimodal model."""
    return workbench_cache_dir(cache_dir) / TINY_MODEL_SPEC


def _tiny_config(vocab_size: int, image_token_id: int, boi_id: int, eoi_id: int) -> Gemma3Config:
    text = {
        "vocab_size": vocab_size,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 4,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "head_dim": 32,
        "sliding_window": 64,
        "layer_types": ["sliding_attention"] * 3 + ["full_attention"],
    }
    vision = {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "image_size": TINY_IMAGE_SIZE,
        "patch_size": 28,
    }
    config = Gemma3Config(
        text_config=text,
        vision_config=vision,
        mm_tokens_per_image=TINY_IMAGE_TOKENS,
        image_token_index=image_token_id,
        boi_token_index=boi_id,
        eoi_token_index=eoi_id,
    )
    config.architectures = ["Gemma3ForConditionalGeneration"]
    return config


def gemma3_processor(
    tokenizer_folder: Path,
    image_size: int,
    image_tokens: int,
    chat_template: str | None = None,
    do_pan_and_scan: bool | None = None,
) -> Gemma3Processor:
    """A ``Gemma3Processor`` around the Gemma 3 tokenizer in ``tokenizer_folder`` with the image tokens
    added: square ``image_size`` images (Gemma 3's defaults otherwise: mean and std 0.5), ``image_tokens``
    soft tokens per image, and ``chat_template`` on both tokenizer and processor when given.
    ``do_pan_and_scan`` None leaves the setting unrecorded (the processor then does not pan and scan)."""
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_folder, extra_special_tokens=IMAGE_SPECIAL_TOKENS)
    size = {"height": image_size, "width": image_size}
    options: dict[str, Any] = {} if do_pan_and_scan is None else {"do_pan_and_scan": do_pan_and_scan}
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    return Gemma3Processor(
        image_processor=Gemma3ImageProcessorPil(size=size, **options),
        tokenizer=tokenizer,
        image_seq_length=image_tokens,
        **({} if chat_template is None else {"chat_template": chat_template}),
    )


def _build_tiny(destination: Path, tokenizer_folder: Path) -> None:
    processor = gemma3_processor(tokenizer_folder, TINY_IMAGE_SIZE, TINY_IMAGE_TOKENS)
    tokenizer = processor.tokenizer  # type: ignore[attr-defined]
    config = _tiny_config(
        len(tokenizer), tokenizer.image_token_id, tokenizer.boi_token_id, tokenizer.eoi_token_id
    )
    torch.manual_seed(TINY_SEED)
    model = Gemma3ForConditionalGeneration(config).eval()
    with torch.no_grad():  # the default init zeroes the projector, which would make images invisible
        projector = model.model.multi_modal_projector.mm_input_projection_weight
        vision_width = model.config.vision_config.hidden_size  # type: ignore[union-attr]
        projector.normal_(0.0, 1.0 / vision_width**0.5)
    model.save_pretrained(destination, safe_serialization=True)
    processor.save_pretrained(destination)


def ensure_tiny_model(cache_dir: str | Path | None = None) -> Path:
    """Build and save tiny-mm once (seconds; needs the demo model's tokenizer); later calls return at once."""
    folder = tiny_model_folder(cache_dir)
    if is_complete(folder):
        return folder
    tokenizer_folder = ensure_demo_model(cache_dir)
    return build_folder_atomically(folder, lambda staging: _build_tiny(staging, tokenizer_folder))

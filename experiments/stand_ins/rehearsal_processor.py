"""The rehearsal model's processor: the Gemma 3 tokenizer (from the demo model, as for ``tiny-mm``) with the
image tokens, MedGemma's image processor settings (896 px, 256 tokens, no pan-and-scan at full scale) and
Gemma 3's published chat template."""

from __future__ import annotations

from pathlib import Path

from transformers import Gemma3Processor, PreTrainedTokenizerBase

from experiments.stand_ins.rehearsal_model import RehearsalShape, medgemma_config
from interp.chat_template import GEMMA3_CHAT_TEMPLATE
from interp.tiny_model import gemma3_processor


def _check_token_ids(tokenizer: PreTrainedTokenizerBase, shape: RehearsalShape) -> None:
    config = medgemma_config(shape)
    expected = {
        "image_token_id": config["image_token_index"],
        "boi_token_id": config["boi_token_index"],
        "eoi_token_id": config["eoi_token_index"],
    }
    found = {name: getattr(tokenizer, name, None) for name in expected}
    if found != expected:
        raise ValueError(f"the Gemma 3 tokenizer's image token ids {found} are not MedGemma's {expected}")
    vocab_size = int(config["text_config"]["vocab_size"])
    if len(tokenizer) > vocab_size:
        raise ValueError(f"tokenizer has {len(tokenizer)} tokens, the model's vocabulary only {vocab_size}")


def build_processor(tokenizer_folder: Path, shape: RehearsalShape) -> Gemma3Processor:
    """A ``Gemma3Processor`` with MedGemma's image size, image-token count, no pan-and-scan and chat
    template (`gemma3_processor`), after checking that the tokenizer's image token ids are MedGemma's."""
    processor = gemma3_processor(
        tokenizer_folder, shape.image_size, shape.image_tokens, GEMMA3_CHAT_TEMPLATE, do_pan_and_scan=False
    )
    _check_token_ids(processor.tokenizer, shape)  # type: ignore[attr-defined]
    return processor

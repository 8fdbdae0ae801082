"""Loads a model spec (HF id, local folder, ``demo-vlm``, ``gemma3-270m`` or ``tiny-mm``) into a uniform
``ModelHandle``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoProcessor,
    AutoTokenizer,
    Gemma3ForCausalLM,
    Gemma3ForConditionalGeneration,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    ProcessorMixin,
)

from interp.demo_model import DEMO_MODEL_SPEC, ensure_demo_model
from interp.demo_vlm import DEMO_VLM_SPEC, ensure_demo_vlm
from interp.handle import ModelHandle
from interp.placement import Placement, choose_placement
from interp.tiny_model import TINY_MODEL_SPEC, ensure_tiny_model

MEDGEMMA_4B = "google/medgemma-4b-it"
MULTIMODAL_MODEL_TYPES = {"gemma3"}
TEXT_MODEL_TYPES = {"gemma3_text"}


class ModelWeightsMissingError(RuntimeError):
    """Raised when a model's files are neither on disk nor downloadable; says how to get them."""


def _how_to_obtain(spec: str, cause: BaseException) -> ModelWeightsMissingError:
    offline = os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("TRANSFORMERS_OFFLINE") == "1"
    lines = [
        f"Could not load model {spec!r}: {type(cause).__name__}: {str(cause).splitlines()[0]}",
        "To obtain the weights:",
        f"  1. accept the model's licence on its Hugging Face page (https://huggingface.co/{spec});"
        " MedGemma is gated behind the Health AI Developer Foundations terms,",
        "  2. log in: `hf auth login` (or set HF_TOKEN),",
        f"  3. download once: `hf download {spec}` (fills the HF cache; later runs work offline),",
        "  or pass a local folder that holds config.json and *.safetensors.",
    ]
    if offline:
        lines.append("Offline mode is on (HF_HUB_OFFLINE=1): only the local HF cache was searched.")
    return ModelWeightsMissingError("\n".join(lines))


def resolve_spec_folder(spec: str, cache_dir: str | Path | None = None) -> str:
    """Map the built-in specs to their cached folders; any other spec is an HF id or a local path."""
    if spec == DEMO_MODEL_SPEC:
        return str(ensure_demo_model(cache_dir))
    if spec == DEMO_VLM_SPEC:
        return str(ensure_demo_vlm(cache_dir))
    if spec == TINY_MODEL_SPEC:
        return str(ensure_tiny_model(cache_dir))
    return spec


def _load_config(source: str, revision: str | None, offline: bool) -> PretrainedConfig:
    try:
        return AutoConfig.from_pretrained(source, revision=revision, local_files_only=offline)
    except (OSError, ValueError) as error:
        raise _how_to_obtain(source, error) from error


@dataclass(frozen=True)
class LoadConfig:
    """Where the files come from and how the weights are placed."""

    placement: Placement
    revision: str | None = None
    offline: bool = False
    device_map: str | None = None


def _load_weights(source: str, config: PretrainedConfig, options: LoadConfig) -> PreTrainedModel:
    model_class: type[PreTrainedModel]
    if config.model_type in MULTIMODAL_MODEL_TYPES:
        model_class = Gemma3ForConditionalGeneration
    elif config.model_type in TEXT_MODEL_TYPES:
        model_class = Gemma3ForCausalLM
    else:
        raise ValueError(
            f"{source}: model_type {config.model_type!r} is not a Gemma 3 model "
            f"(expected one of {sorted(MULTIMODAL_MODEL_TYPES | TEXT_MODEL_TYPES)})"
        )
    try:
        model = model_class.from_pretrained(
            source,
            dtype=options.placement.dtype,
            revision=options.revision or "main",
            local_files_only=options.offline,
            device_map=options.device_map,
        )
    except OSError as error:
        raise _how_to_obtain(source, error) from error
    if options.device_map is None:
        model.to(options.placement.device)  # type: ignore[arg-type]
    return model.eval()


def decoder_layers(model: PreTrainedModel) -> nn.ModuleList:
    """The decoder layers of a multimodal (``model.model.language_model.layers``) or text-only
    (``model.model.layers``) Gemma 3."""
    inner = model.model
    language_model = getattr(inner, "language_model", None)
    layers = getattr(language_model if language_model is not None else inner, "layers", None)
    if not isinstance(layers, nn.ModuleList):
        raise ValueError(f"{type(model).__name__} has no decoder layer list")
    return layers


def _input_device(model: PreTrainedModel) -> torch.device:
    return next(model.get_input_embeddings().parameters()).device


def load_model(
    spec: str = DEMO_MODEL_SPEC,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    cache_dir: str | Path | None = None,
    revision: str | None = None,
    offline: bool | None = None,
    device_map: str | None = None,
) -> ModelHandle:
    """Load ``spec`` on CUDA/bf16 when present, else CPU/fp32 (``device``/``dtype`` override; ``device_map``
    such as ``"auto"`` spreads a large model over GPUs). ``offline`` defaults to ``HF_HUB_OFFLINE``."""
    if offline is None:
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    options = LoadConfig(choose_placement(device, dtype), revision, offline, device_map)
    source = resolve_spec_folder(spec, cache_dir)
    config = _load_config(source, revision, offline)
    model = _load_weights(source, config, options)
    accepts_images = isinstance(model, Gemma3ForConditionalGeneration)
    processor: ProcessorMixin | None = None
    if accepts_images:
        processor = AutoProcessor.from_pretrained(source, revision=revision, local_files_only=offline)
        tokenizer = processor.tokenizer  # type: ignore[union-attr]
    else:
        tokenizer = AutoTokenizer.from_pretrained(source, revision=revision, local_files_only=offline)
    return handle_from_model(spec, model, tokenizer, processor, options.placement.dtype, revision)


def handle_from_model(
    spec: str,
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    processor: ProcessorMixin | None,
    dtype: torch.dtype,
    revision: str | None = None,
) -> ModelHandle:
    """A handle around a model already in memory (left padding set on its tokenizer)."""
    tokenizer.padding_side = "left"
    layers = decoder_layers(model)
    text_config = model.config.get_text_config()
    return ModelHandle(
        spec=spec,
        model=model,
        tokenizer=tokenizer,
        processor=processor,
        layers=layers,
        n_layers=len(layers),
        d_model=int(text_config.hidden_size),
        accepts_images=isinstance(model, Gemma3ForConditionalGeneration),
        device=_input_device(model),
        dtype=dtype,
        revision=revision,
    )

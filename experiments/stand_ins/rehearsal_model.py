"""The rehearsal's stand-in for MedGemma-4B: the published ``google/medgemma-4b-it`` configuration (``full``)
or the same configuration with small dimensions (``tiny``), and random bf16 weights written straight into
sharded safetensors under the published checkpoint's tensor names, one tensor at a time, so that no fp32
copy of the model and no whole model is ever held in memory."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast, get_args

import torch
from safetensors.torch import save_file
from transformers import Gemma3Config, Gemma3ForConditionalGeneration

RehearsalScale = Literal["full", "tiny"]
WEIGHTS_INDEX = "model.safetensors.index.json"
INITIALIZER_RANGE = 0.02
#: v5 module paths → the tensor names of the published checkpoint (transformers 4.50 layout), which
#: transformers maps back on load; writing these names rehearses that mapping too.
PUBLISHED_PREFIXES = (
    ("model.language_model.", "language_model.model."),
    ("model.vision_tower.", "vision_tower.vision_model."),
    ("model.multi_modal_projector.", "multi_modal_projector."),
)
TIED_WEIGHTS = frozenset({"lm_head.weight"})  # tied to the token embedding; the checkpoint has no copy


@dataclass(frozen=True)
class RehearsalShape:
    """The dimensions that differ between the scales; everything else is MedGemma-4B's published config.
    ``sae_layer`` is Gemma Scope 2's layer 17 of 34 scaled by depth."""

    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    sliding_window: int
    sliding_window_pattern: int
    vision_hidden: int
    vision_intermediate: int
    vision_layers: int
    vision_heads: int
    image_size: int
    image_tokens: int
    sae_layer: int
    sae_width: int
    max_shard_bytes: int


SHAPES: dict[RehearsalScale, RehearsalShape] = {
    # google/medgemma-4b-it: 4.300 B parameters, 8.6 GB in bf16, two shards like the published files.
    "full": RehearsalShape(
        hidden=2560,
        intermediate=10240,
        layers=34,
        heads=8,
        kv_heads=4,
        head_dim=256,
        sliding_window=1024,
        sliding_window_pattern=6,
        vision_hidden=1152,
        vision_intermediate=4304,
        vision_layers=27,
        vision_heads=16,
        image_size=896,
        image_tokens=256,
        sae_layer=17,
        sae_width=16384,
        max_shard_bytes=5 << 30,
    ),
    # Full attention at layer 3; 224 px / 14 = 16 patches a side, pooled 4×4 to 16 image tokens. The SAE is
    # 4096 wide so that the preset's feature 3818 exists; small shards exercise the sharded index.
    "tiny": RehearsalShape(
        hidden=64,
        intermediate=128,
        layers=4,
        heads=2,
        kv_heads=1,
        head_dim=32,
        sliding_window=128,
        sliding_window_pattern=4,
        vision_hidden=32,
        vision_intermediate=64,
        vision_layers=2,
        vision_heads=2,
        image_size=224,
        image_tokens=16,
        sae_layer=2,
        sae_width=4096,
        max_shard_bytes=16 << 20,
    ),
}


def parse_scale(text: str) -> RehearsalScale:
    """``text`` as a rehearsal scale (``full`` or ``tiny``)."""
    if text not in get_args(RehearsalScale):
        raise ValueError(
            f"unknown rehearsal scale {text!r}; choose one of {', '.join(get_args(RehearsalScale))}"
        )
    return cast(RehearsalScale, text)


def rehearsal_shape(scale: str) -> RehearsalShape:
    """The shape of ``scale`` (``full`` or ``tiny``)."""
    return SHAPES[parse_scale(scale)]


def _text_config(shape: RehearsalShape) -> dict[str, Any]:
    return {
        "attention_bias": False,
        "attention_dropout": 0.0,
        "attn_logit_softcapping": None,
        "cache_implementation": "hybrid",
        "final_logit_softcapping": None,
        "head_dim": shape.head_dim,
        "hidden_activation": "gelu_pytorch_tanh",
        "hidden_size": shape.hidden,
        "initializer_range": INITIALIZER_RANGE,
        "intermediate_size": shape.intermediate,
        "max_position_embeddings": 131072,
        "model_type": "gemma3_text",
        "num_attention_heads": shape.heads,
        "num_hidden_layers": shape.layers,
        "num_key_value_heads": shape.kv_heads,
        "query_pre_attn_scalar": 256,
        "rms_norm_eps": 1e-06,
        "rope_local_base_freq": 10000.0,
        "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
        "rope_theta": 1000000.0,
        "sliding_window": shape.sliding_window,
        "sliding_window_pattern": shape.sliding_window_pattern,
        "use_cache": True,
        "vocab_size": 262208,
    }


def _vision_config(shape: RehearsalShape) -> dict[str, Any]:
    return {
        "attention_dropout": 0.0,
        "hidden_act": "gelu_pytorch_tanh",
        "hidden_size": shape.vision_hidden,
        "image_size": shape.image_size,
        "intermediate_size": shape.vision_intermediate,
        "layer_norm_eps": 1e-06,
        "model_type": "siglip_vision_model",
        "num_attention_heads": shape.vision_heads,
        "num_channels": 3,
        "num_hidden_layers": shape.vision_layers,
        "patch_size": 14,
        "vision_use_head": False,
    }


def medgemma_config(shape: RehearsalShape) -> dict[str, Any]:
    """``config.json`` in the published (transformers 4.50) format: rope_scaling, rope_local_base_freq and
    sliding_window_pattern, which transformers 5 converts on load."""
    return {
        "architectures": ["Gemma3ForConditionalGeneration"],
        "boi_token_index": 255999,
        "eoi_token_index": 256000,
        "eos_token_id": [1, 106],
        "image_token_index": 262144,
        "initializer_range": INITIALIZER_RANGE,
        "mm_tokens_per_image": shape.image_tokens,
        "model_type": "gemma3",
        "text_config": _text_config(shape),
        "torch_dtype": "bfloat16",
        "transformers_version": "4.50.0.dev0",
        "vision_config": _vision_config(shape),
    }


#: Gemma 3's published generation defaults (sampling on): the workbench must ask for greedy itself.
GENERATION_CONFIG = {
    "bos_token_id": 2,
    "cache_implementation": "hybrid",
    "do_sample": True,
    "eos_token_id": [1, 106],
    "pad_token_id": 0,
    "top_k": 64,
    "top_p": 0.95,
    "transformers_version": "4.50.0.dev0",
}


def published_name(name: str) -> str:
    """The published checkpoint's name of a transformers 5 state-dict entry."""
    for prefix, published in PUBLISHED_PREFIXES:
        if name.startswith(prefix):
            return published + name.removeprefix(prefix)
    raise ValueError(f"no published name for tensor {name!r}")


def tensor_specs(config: dict[str, Any]) -> Iterator[tuple[str, torch.Size]]:
    """(transformers 5 name, shape) of every saved tensor, from a model built on the meta device."""
    with torch.device("meta"):
        model = Gemma3ForConditionalGeneration(Gemma3Config.from_dict(config))
    for name, tensor in model.state_dict().items():
        if name not in TIED_WEIGHTS:
            yield name, tensor.shape


def random_tensor(name: str, shape: torch.Size, vision_width: int, seed: int) -> torch.Tensor:
    """A seeded bf16 tensor with transformers' initial values: zero biases, zero Gemma RMSNorm weights (the
    norm scales by 1 + weight), unit SigLIP LayerNorm weights, N(0, 0.02) elsewhere, and a projector of
    N(0, 1/vision_width) (transformers starts it at zero, which would hide the images)."""
    tensor = torch.empty(shape, dtype=torch.bfloat16)
    if name.endswith(".bias"):
        return tensor.zero_()
    if "vision_tower" in name and "norm" in name:
        return tensor.fill_(1.0)
    if "norm" in name:
        return tensor.zero_()
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    generator = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))
    std = vision_width**-0.5 if name.endswith("mm_input_projection_weight") else INITIALIZER_RANGE
    return tensor.normal_(0.0, std, generator=generator)


def _shards(config: dict[str, Any], max_bytes: int, seed: int) -> Iterator[dict[str, torch.Tensor]]:
    vision_width = int(config["vision_config"]["hidden_size"])
    shard: dict[str, torch.Tensor] = {}
    size = 0
    for name, shape in tensor_specs(config):
        nbytes = 2 * shape.numel()
        if shard and size + nbytes > max_bytes:
            yield shard
            shard, size = {}, 0
        shard[published_name(name)] = random_tensor(name, shape, vision_width, seed)
        size += nbytes
    if shard:
        yield shard


def write_random_weights(folder: Path, config: dict[str, Any], max_shard_bytes: int, seed: int = 0) -> int:
    """Write seeded random bf16 weights as ``model-0000i-of-0000n.safetensors`` shards with their index;
    memory holds one shard at a time. Returns the number of parameters."""
    weight_map: dict[str, str] = {}
    names: list[str] = []
    total = 0
    for index, shard in enumerate(_shards(config, max_shard_bytes, seed), start=1):
        name = f"shard-{index}.partial"
        save_file(shard, folder / name, metadata={"format": "pt"})
        names.append(name)
        for key, tensor in shard.items():
            weight_map[key] = name
            total += tensor.numel()
        del shard
    final = {name: f"model-{i:05d}-of-{len(names):05d}.safetensors" for i, name in enumerate(names, start=1)}
    for name, target in final.items():
        (folder / name).rename(folder / target)
    document = {
        "metadata": {"total_size": 2 * total},
        "weight_map": {key: final[name] for key, name in sorted(weight_map.items())},
    }
    (folder / WEIGHTS_INDEX).write_text(json.dumps(document, indent=2) + "\n")
    return total

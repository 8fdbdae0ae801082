"""Which decoder layers a LoRA adapts, by name or by index. The paper's ranges are given on MedGemma-4B's 34
layers and scaled by depth for other models: ``targeted`` is 15–19 of 34 (the causal layers), ``early``
0–10 of 34, ``full`` every layer.

>>> resolve_lora_layers("targeted", 34), resolve_lora_layers("targeted", 18)
((15, 16, 17, 18, 19), (8, 9, 10))
>>> resolve_lora_layers("early", 18), resolve_lora_layers((2, 0), 4)
((0, 1, 2, 3, 4, 5), (0, 2))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

LayerName = Literal["targeted", "full", "early"]
LayerChoice = LayerName | tuple[int, ...]
PAPER_DEPTH = 34
PAPER_RANGES: dict[str, tuple[int, int]] = {"targeted": (15, 19), "early": (0, 10)}


def scaled_range(first: int, last: int, n_layers: int, depth: int = PAPER_DEPTH) -> tuple[int, ...]:
    """Layers ``first``–``last`` of a ``depth``-layer model mapped by relative depth onto ``n_layers``."""
    low, high = round(first * n_layers / depth), round(last * n_layers / depth)
    return tuple(range(low, min(high, n_layers - 1) + 1))


def resolve_lora_layers(choice: LayerChoice, n_layers: int) -> tuple[int, ...]:
    """The sorted layer indices of a named range or of explicit indices (checked against ``n_layers``)."""
    if isinstance(choice, str):
        if choice == "full":
            return tuple(range(n_layers))
        if choice not in PAPER_RANGES:
            raise ValueError(f"unknown layer range {choice!r}; use targeted, full, early or layer indices")
        return scaled_range(*PAPER_RANGES[choice], n_layers)
    layers = tuple(sorted(set(choice)))
    if not layers or layers[0] < 0 or layers[-1] >= n_layers:
        raise ValueError(f"LoRA layers {choice} must be indices in 0–{n_layers - 1}")
    return layers


def lora_target_pattern(layers: Sequence[int], modules: Sequence[str]) -> str:
    """A PEFT ``target_modules`` regular expression for ``modules`` of the language model's decoder
    ``layers`` (never the vision tower's, whose encoder layers share the names)."""
    indices = "|".join(str(layer) for layer in layers)
    names = "|".join(modules)
    return rf"^(?!.*vision_tower).*\blayers\.({indices})\.(self_attn|mlp)\.({names})$"

"""Chooses the device and dtype a model runs in: CUDA with bf16 when a GPU is present, else CPU with fp32."""

from __future__ import annotations

from dataclasses import dataclass

import torch

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
}


@dataclass(frozen=True)
class Placement:
    """Where a model lives and in which floating-point type it computes."""

    device: torch.device
    dtype: torch.dtype


def parse_dtype(name: str | torch.dtype) -> torch.dtype:
    """Turn a dtype name such as ``"bf16"`` or ``"float32"`` into a torch dtype."""
    if isinstance(name, torch.dtype):
        return name
    try:
        return _DTYPES[name.lower()]
    except KeyError:
        known = ", ".join(sorted(_DTYPES))
        raise ValueError(f"unknown dtype {name!r}; expected one of: {known}") from None


def choose_placement(
    device: str | torch.device | None = None, dtype: str | torch.dtype | None = None
) -> Placement:
    """Pick CUDA + bf16 when available, else CPU + fp32; explicit arguments override either choice."""
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    resolved_device = torch.device(device)
    if dtype is None:
        resolved_dtype = torch.bfloat16 if resolved_device.type == "cuda" else torch.float32
    else:
        resolved_dtype = parse_dtype(dtype)
    return Placement(device=resolved_device, dtype=resolved_dtype)
